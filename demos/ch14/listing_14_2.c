/* listing_14_2.c - a server keeping each client's address in a context variable
 * (listing 14.2).
 *
 * The accept loop spawns client_connected() per connection; it stores the
 * peer address in the context variable user_address and spawns
 * listen_for_messages(). A child task inherits its parent's context, so each
 * reader sees its own client's address without passing it around. (Sockets are
 * waited on through demo.h's loom_io + future helpers until net/ streams land.) */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_14_2 [--port N] [--clients N]\n"
    "Serves on 127.0.0.1:N (default 9000; 0 picks one) and prints each line received\n"
    "with the sender's address, read from a context variable. --clients N: start N\n"
    "clients in a thread (each sends two lines naming its own port) and exit after\n"
    "they are served; without it the server runs until killed.\n";

static struct loom_ctxvar user_address = {"user_address", NULL};

struct config {
    int port;     /* --port, then the bound port */
    int nclients; /* --clients, or -1: serve forever */
    pthread_t client_thread;
};

static void *clients(void *arg);

static intptr_t listen_for_messages(void *arg)
{
    struct demo_fd *conn = arg;
    char line[256];
    ssize_t n;
    while ((n = demo_fd_readline(conn, line, sizeof line)) > 0) {
        line[strcspn(line, "\r\n")] = 0;
        printf("Received message '%s' from %s\n", line, (char *)loom_ctxvar_get(&user_address));
    }
    demo_fd_close(conn);
    free(conn);
    return n < 0 ? n : 0;
}

/* Runs once per connection; owns conn until it hands it to the reader. */
static intptr_t client_connected(void *arg)
{
    struct demo_fd *conn = arg;
    char *peer = conn->buf; /* "(ip, port)" prepared by the acceptor */
    char *address = strdup(peer);
    conn->len = 0;
    loom_ctxvar_set(&user_address, address);
    printf("Client connected: %s\n", address);
    struct loom_task *reader = loom_spawn(listen_for_messages, conn, "listen_for_messages");
    intptr_t rc = reader ? loom_task_join(reader) : -ENOMEM;
    free(address);
    return rc;
}

static intptr_t start_server(void *arg)
{
    struct config *cfg = arg;
    struct demo_fd server;
    int fd = demo_listen("127.0.0.1", cfg->port, &cfg->port);
    if (fd < 0 || (fd = demo_fd_init(&server, fd)) < 0)
        return fd;
    fprintf(stderr, "listening on 127.0.0.1:%d\n", cfg->port);
    if (cfg->nclients > 0 && (fd = -pthread_create(&cfg->client_thread, NULL, clients, cfg)))
        cfg->nclients = 0;
    struct loom_task *served[64];
    int nserved = 0, rc = 0;
    for (int i = 0; cfg->nclients < 0 || (i < cfg->nclients && i < 64); i++) {
        char ip[64];
        int peer_port, cfd = demo_fd_accept(&server, ip, sizeof ip, &peer_port);
        struct demo_fd *conn = malloc(sizeof *conn);
        if ((rc = cfd) < 0 || (rc = conn ? demo_fd_init(conn, cfd) : -ENOMEM) < 0) {
            free(conn);
            break;
        }
        snprintf(conn->buf, sizeof conn->buf, "('%s', %d)", ip, peer_port);
        struct loom_task *t = loom_spawn(client_connected, conn, "client_connected");
        if (nserved < 64 && cfg->nclients > 0)
            served[nserved++] = t; /* one-shot mode waits for them below */
        else
            loom_task_release(t);
    }
    demo_fd_close(&server);
    int grc = loom_gather(served, (size_t)nserved, NULL, 0);
    return fd < 0 ? fd : rc < 0 ? rc : grc;
}

/* --clients: all connect first, then each sends "hello" and, in a second round,
 * "bye", so the server's readers interleave. Each line names its sender's port. */
static void *clients(void *arg)
{
    struct config *cfg = arg;
    int fds[64], n = cfg->nclients < 64 ? cfg->nclients : 64;
    for (int i = 0; i < n; i++)
        fds[i] = demo_connect(cfg->port);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < n && fds[i] >= 0; i++) {
            char msg[64];
            int len = snprintf(msg, sizeof msg, "%s from port %d\n", round ? "bye" : "hello",
                               demo_local_port(fds[i]));
            if (round == 2)
                close(fds[i]);
            else if (write(fds[i], msg, (size_t)len) != len)
                perror("client write");
        }
        usleep(20000); /* let the server print this round first */
    }
    return NULL;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct config cfg = {.port = (int)demo_arg_long("--port", 9000),
                         .nclients = (int)demo_arg_long("--clients", -1)};
    intptr_t rc = loom_run(start_server, &cfg);
    if (cfg.nclients > 0)
        pthread_join(cfg.client_thread, NULL);
    DEMO_CHECK(rc);
    return 0;
}
