/* listing_7_1.c - a thread per connection echo server (listing 7.1).
 *
 * Blocking sockets, one thread per client: accept() in the main thread, and
 * each client's thread loops on recv/send. The book's version never checks
 * for recv() returning 0, so a disconnected client leaves its thread spinning
 * forever; here the thread notices the empty read and ends (the fix). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_7_1 [--port P] [--clients N]\n"
    "Echo server on 127.0.0.1:P (default 8000; 0 picks one; \"listening on ADDR:PORT\" goes to\n"
    "stderr), a thread per connection. --clients N: exit once N clients came and went.\n";

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gone = PTHREAD_COND_INITIALIZER;
static int finished;

static void *echo(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[2048];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        printf("Received %zd bytes on thread %d\n", n, gettid());
        fflush(stdout);
        if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) < 0)
            break;
    }
    /* The book's loop would spin here forever on b'' after a disconnect. */
    printf("Client disconnected (recv returned %zd); thread %d ends\n", n, gettid());
    fflush(stdout);
    close(fd);
    pthread_mutex_lock(&mu);
    finished++;
    pthread_cond_signal(&gone);
    pthread_mutex_unlock(&mu);
    return NULL;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    long clients = demo_arg_long("--clients", -1);
    int port = 0;
    int lfd = demo_listen("127.0.0.1", (int)demo_arg_long("--port", 8000), &port);
    DEMO_CHECK(lfd);
    fcntl(lfd, F_SETFL, 0); /* blocking accept(), as in the book */
    fprintf(stderr, "listening on 127.0.0.1:%d\n", port);
    for (long accepted = 0; clients < 0 || accepted < clients; accepted++) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        int fd = accept(lfd, (struct sockaddr *)&peer, &len);
        if (fd < 0)
            continue;
        printf("Connection from %s:%d\n", inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
        fflush(stdout);
        pthread_t t;
        if (pthread_create(&t, NULL, echo, (void *)(intptr_t)fd) != 0) {
            close(fd);
            continue;
        }
        pthread_detach(t); /* the book's daemon threads */
    }
    pthread_mutex_lock(&mu);
    while (finished < clients)
        pthread_cond_wait(&gone, &mu);
    pthread_mutex_unlock(&mu);
    close(lfd);
    return 0;
}
