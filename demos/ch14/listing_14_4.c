/* listing_14_4.c - the same server on every reactor backend (listing 14.4).
 *
 * The book swaps asyncio's loop for uvloop with one call. loom picks its
 * backend at run time (loom_loop_options.backend or $LOOM_BACKEND), so the
 * same one-line echo server - read a line, write it back, close - runs on
 * epoll, poll and kqueue (where the system has it) without a code change, and
 * a client thread times each one. (Sockets go through demo.h's loom_io +
 * future helpers until net/ streams land.) */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "reactor/loop.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_14_4 [--port N] [--clients N] [--serve BACKEND]\n"
    "For each backend (epoll, poll, kqueue if present) serves a one-line echo server\n"
    "on 127.0.0.1:N (default 9000; 0 picks one) to N clients in turn (default 200),\n"
    "checks every echo and prints the times side by side.\n"
    "--serve BACKEND: just serve on that backend until killed (try: nc 127.0.0.1 9000).\n";

struct run {
    int port;       /* asked for, then bound */
    int nclients;   /* -1: serve forever */
    int echoed;     /* clients that got their line back */
    double elapsed; /* seconds for all clients */
    const char *backend;
    pthread_t client_thread;
};

static int active;              /* connection tasks running */
static bool draining;           /* the server stopped accepting */
static struct loom_future idle; /* resolved when active drops to 0 while draining */

static intptr_t connected(void *arg)
{
    struct demo_fd *conn = arg;
    char line[256];
    ssize_t n = demo_fd_readline(conn, line, sizeof line);
    int rc = n > 0 ? demo_fd_write_all(conn, line, (size_t)n) : (int)n;
    demo_fd_close(conn);
    free(conn);
    if (--active == 0 && draining)
        loom_future_set_result(&idle, 0);
    return rc;
}

/* The client thread: one connection after another, each sends a line and checks the echo. */
static void *clients(void *arg)
{
    struct run *r = arg;
    double start = demo_now();
    for (int i = 0; i < r->nclients; i++) {
        char msg[64], back[64] = "";
        int fd = demo_connect(r->port), len = snprintf(msg, sizeof msg, "line %d\n", i);
        if (fd < 0 || write(fd, msg, (size_t)len) != len)
            break;
        ssize_t got = 0, k;
        while ((k = read(fd, back + got, sizeof back - 1 - (size_t)got)) > 0)
            got += k;
        close(fd);
        r->echoed += got == len && memcmp(back, msg, (size_t)len) == 0;
    }
    r->elapsed = demo_now() - start;
    return NULL;
}

static intptr_t start_server(void *arg)
{
    struct run *r = arg;
    r->backend = loom_loop_backend(loom_loop_current());
    struct demo_fd server;
    loom_future_init(&idle);
    draining = false;
    int fd = demo_listen("127.0.0.1", r->port, &r->port), rc = 0;
    if (fd < 0 || (fd = demo_fd_init(&server, fd)) < 0)
        return fd;
    fprintf(stderr, "%s: listening on 127.0.0.1:%d\n", r->backend, r->port);
    if (r->nclients > 0 && (rc = -pthread_create(&r->client_thread, NULL, clients, r)) < 0)
        r->nclients = 0;
    for (int i = 0; r->nclients < 0 || i < r->nclients; i++) {
        char ip[64];
        int peer_port, cfd = demo_fd_accept(&server, ip, sizeof ip, &peer_port);
        struct demo_fd *conn = malloc(sizeof *conn);
        if ((rc = cfd) < 0 || (rc = conn ? demo_fd_init(conn, cfd) : -ENOMEM) < 0) {
            free(conn);
            break;
        }
        active++;
        loom_task_release(loom_spawn(connected, conn, "connected"));
    }
    demo_fd_close(&server);
    draining = true;
    if (active > 0) /* let the last connections finish their echo */
        loom_future_await(&idle, LOOM_FOREVER);
    return rc;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    int port = (int)demo_arg_long("--port", 9000);
    const char *serve = demo_arg_str("--serve", NULL);
    if (serve) {
        struct run r = {.port = port, .nclients = -1};
        DEMO_CHECK(loom_run_with(&(struct loom_loop_options){.backend = serve}, start_server, &r));
        return 0;
    }
    static const char *const backends[] = {"epoll", "poll", "kqueue"};
    struct run runs[3];
    for (int i = 0; i < 3; i++) {
        runs[i] = (struct run){.port = port, .nclients = (int)demo_arg_long("--clients", 200)};
        struct loom_loop_options opt = {.backend = backends[i]};
        intptr_t rc = loom_run_with(&opt, start_server, &runs[i]);
        if (rc == -EINVAL) {
            printf("%-6s  not available on this system\n", backends[i]);
            runs[i].nclients = 0;
            continue;
        }
        pthread_join(runs[i].client_thread, NULL);
        DEMO_CHECK(rc);
        printf("%-6s  echoed %d/%d one-line clients in %.4f sec (%.1f us per client)\n",
               runs[i].backend, runs[i].echoed, runs[i].nclients, runs[i].elapsed,
               runs[i].elapsed * 1e6 / runs[i].nclients);
    }
    for (int i = 1; i < 3; i++)
        if (runs[i].nclients > 0)
            printf("%s / epoll time ratio: %.2f\n", runs[i].backend,
                   runs[i].elapsed / runs[0].elapsed);
    return 0;
}
