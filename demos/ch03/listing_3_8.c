/* listing_3_8.c - an echo server with a task per connection (listing 3.8).
 *
 * The selector loop of 3.7 is now hidden inside loom: accept and read are
 * suspending calls, so the code reads like the blocking 3.3 again, yet one
 * quiet client stalls nobody. The accept loop spawns an echo task for every
 * client; while a task waits for data the loop runs the others. */
#include <stdio.h>

#include "demo.h"
#include "net/stream.h"
#include "net/tcp.h"
#include "reactor/task.h"

#define MAX_CLIENTS 1024

static const char usage[] =
    "usage: listing_3_8 [--host ADDR] [--port N] [--clients N]\n"
    "Echo server on 127.0.0.1:8000 (--host ADDR, --port N; port 0 picks a free port;\n"
    "\"listening on ADDR:PORT\" goes to stderr), a task per connection.\n"
    "--clients N: accept N clients, wait for their echo tasks, exit (default: forever).\n";

/* echo(): read what is there (at most 1024 bytes) and send it back, until EOF. */
static intptr_t echo(void *arg)
{
    struct loom_stream *s = arg;
    char buf[1024];
    ssize_t n;
    while ((n = loom_stream_read_some(s, buf, sizeof buf, -1)) > 0) {
        int rc = loom_stream_write(s, buf, (size_t)n);
        if (rc == 0)
            rc = loom_stream_drain(s, -1); /* sock_sendall: wait if the client is slow */
        if (rc < 0) {
            n = rc;
            break;
        }
    }
    loom_stream_close(s);
    return n == LOOM_EOF ? 0 : n;
}

/* listen_for_connection(): accept forever, a new echo task per client. */
static intptr_t main_task(void *arg)
{
    struct loom_listener l;
    const char *host = demo_arg_str("--host", "127.0.0.1");
    long max_clients = demo_arg_long("--clients", 0), n = 0;
    if (max_clients > MAX_CLIENTS)
        max_clients = MAX_CLIENTS;
    static struct loom_task *tasks[MAX_CLIENTS];
    DEMO_CHECK(
        loom_tcp_listen(loom_loop_current(), &l, host, (int)demo_arg_long("--port", 8000), 0, 0));
    fprintf(stderr, "listening on %s:%d\n", host, loom_listener_port(&l));
    int rc = 0;
    while (max_clients <= 0 || n < max_clients) {
        struct loom_stream *s;
        rc = loom_listener_accept_stream(&l, -1, &s); /* suspends, the loop runs on */
        if (rc < 0)
            break;
        char peer[64] = "?";
        loom_stream_peername(s, peer, sizeof peer);
        printf("Got a connection from %s\n", peer);
        struct loom_task *t = loom_spawn(echo, s, "echo");
        if (!t) {
            loom_stream_close(s);
            continue;
        }
        if (max_clients > 0)
            tasks[n++] = t; /* joined below */
        else
            loom_task_release(t); /* detached, like create_task without a reference */
    }
    loom_listener_close(&l);
    if (n > 0 && rc == 0) {
        printf("Accepted %ld clients; waiting for their echo tasks.\n", n);
        rc = loom_gather(tasks, (size_t)n, NULL, LOOM_GATHER_ALL);
        printf("All echo tasks finished.\n");
    }
    return rc;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
