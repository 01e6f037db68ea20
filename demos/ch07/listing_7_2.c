/* listing_7_2.c - stopping blocked threads with shutdown() (listing 7.2).
 *
 * Each client thread sits in a blocking recv(). On Ctrl-C the main thread
 * (the only one that takes SIGINT) tells every client "Stopping!" and shuts
 * its socket down: the blocked recv() returns 0 at once, the thread prints
 * why it stops and ends, and the program exits cleanly. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_7_2 [--port P]\n"
    "Threaded echo server on 127.0.0.1:P (default 8000; 0 picks one; \"listening on\n"
    "ADDR:PORT\" goes to stderr). Ctrl-C (SIGINT) sends \"Stopping!\" to every client, shuts\n"
    "the sockets down so the threads' blocked recv() returns, joins them and exits.\n";

enum { MAXCLIENTS = 64 };

struct client {
    int fd;
    pthread_t thread;
};

static struct client clients[MAXCLIENTS];
static int nclients;
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) { interrupted = 1; }

static void *client_echo_thread(void *arg)
{
    struct client *c = arg;
    char buf[2048];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n <= 0) {
            printf("Thread interrupted by %s, shutting down!\n",
                   n == 0 ? "an empty read (connection closed)" : strerror(errno));
            break;
        }
        printf("Received %zd bytes, sending!\n", n);
        if (send(c->fd, buf, (size_t)n, MSG_NOSIGNAL) < 0)
            break;
    }
    fflush(stdout);
    return NULL;
}

/* ClientEchoThread.close(): tell the client, then wake the blocked recv(). */
static void client_close(struct client *c)
{
    static const char msg[] = "Stopping!";
    send(c->fd, msg, sizeof msg - 1, MSG_NOSIGNAL);
    shutdown(c->fd, SHUT_RDWR);
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    int port = 0;
    int lfd = demo_listen("127.0.0.1", (int)demo_arg_long("--port", 8000), &port);
    DEMO_CHECK(lfd);
    fcntl(lfd, F_SETFL, 0);
    /* No SA_RESTART: the signal makes the blocking accept() return EINTR. */
    struct sigaction sa = {.sa_handler = on_sigint};
    sigaction(SIGINT, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    fprintf(stderr, "listening on 127.0.0.1:%d\n", port);
    while (!interrupted && nclients < MAXCLIENTS) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        struct client *c = &clients[nclients];
        c->fd = fd;
        pthread_sigmask(SIG_BLOCK, &block, &old); /* the thread inherits the mask */
        int rc = pthread_create(&c->thread, NULL, client_echo_thread, c);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc != 0)
            close(fd);
        else
            nclients++;
    }
    printf("Shutting down!\n");
    fflush(stdout);
    for (int i = 0; i < nclients; i++)
        client_close(&clients[i]);
    for (int i = 0; i < nclients; i++) {
        pthread_join(clients[i].thread, NULL);
        close(clients[i].fd);
    }
    close(lfd);
    printf("All %d client threads stopped.\n", nclients);
    return 0;
}
