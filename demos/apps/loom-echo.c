/* loom-echo - a TCP echo server: a task per connection, graceful shutdown on
 * SIGINT/SIGTERM, and --workers N loops on one SO_REUSEPORT port. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "net/server.h"
#include "net/stream.h"

static const char usage[] =
    "usage: loom-echo [--host ADDR] [--port N] [--workers N] [--backend NAME]\n"
    "                 [--max-connections N] [--idle-timeout SEC] [--grace SEC]\n"
    "Echoes every byte back to its sender. Prints \"listening on HOST:PORT\" once it accepts.\n"
    "  --host ADDR          address to listen on (default 127.0.0.1)\n"
    "  --port N             port (default 8000; 0 picks a free one)\n"
    "  --workers N          N threads, each with its own loop, sharing the port (default 1)\n"
    "  --backend NAME       epoll, poll or kqueue (default: $LOOM_BACKEND or the best)\n"
    "  --max-connections N  at most N clients at once; others wait (default: no limit)\n"
    "  --idle-timeout SEC   drop a client silent for SEC seconds (default: never)\n"
    "  --grace SEC          on SIGINT/SIGTERM, time given to finish (default 5)\n"
    "SIGINT/SIGTERM: stop accepting, answer what was already received, exit 0.";

/* Echo until EOF, then send what is left and close (half-close friendly). */
static intptr_t echo(struct loom_stream *s, void *arg)
{
    for (;;) {
        const void *data;
        ssize_t n = loom_stream_read_view(s, &data, 64 * 1024, -1);
        if (n == LOOM_EOF)
            return loom_stream_flush(s, LOOM_SEC(5));
        if (n < 0)
            return n;
        int rc = loom_stream_write(s, data, (size_t)n);
        if (rc == 0)
            rc = loom_stream_drain(s, -1); /* a client that does not read stalls only itself */
        if (rc < 0)
            return rc;
    }
}

static void on_listening(struct loom_server *srv, void *arg)
{
    char name[128];
    if (loom_server_name(srv, name, sizeof name) == 0)
        printf("listening on %s\n", name);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct loom_server_options opt = {
        .host = demo_arg_str("--host", "127.0.0.1"),
        .port = (int)demo_arg_long("--port", 8000),
        .max_connections = (size_t)demo_arg_long("--max-connections", 0),
        .idle_timeout_ns = LOOM_SEC(atof(demo_arg_str("--idle-timeout", "0"))),
        .grace_ns = LOOM_SEC(atof(demo_arg_str("--grace", "5"))),
        .handle_signals = true,
        .on_listening = on_listening,
    };
    /* Connection tasks use the loop's default stack, which is cached for reuse:
     * 64 KiB is plenty for a handler, and only the touched pages cost memory. */
    struct loom_loop_options lo = {.backend = demo_arg_str("--backend", NULL),
                                   .stack_size = 64 * 1024};
    long workers = demo_arg_long("--workers", 1);
    int rc = loom_server_run(&opt, &lo, workers > 0 ? (unsigned)workers : 1, echo, NULL);
    if (rc < 0) {
        fprintf(stderr, "loom-echo: %s\n", loom_strerror(rc));
        return 1;
    }
    return 0;
}
