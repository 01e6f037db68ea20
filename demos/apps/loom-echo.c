/* loom-echo - an echo server: TCP (every byte back to its sender), with --ws
 * WebSocket (every text and binary message back as it came, on any path), or
 * with --udp UDP (every datagram back to its sender, in recvmmsg/sendmmsg
 * batches). A task per connection, graceful shutdown on SIGINT/SIGTERM, and
 * --workers N loops on one SO_REUSEPORT port (TCP and WebSocket). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/opts.h"
#include "net/http_server.h"
#include "net/server.h"
#include "net/stream.h"
#include "net/udp.h"
#include "net/ws.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: loom-echo [--ws | --udp] [--host ADDR] [--port N] [--workers N] [--backend NAME]\n"
    "                 [--max-connections N] [--max-message BYTES] [--idle-timeout SEC]\n"
    "                 [--grace SEC]\n"
    "Echoes every byte back to its sender; with --ws, every WebSocket message; with\n"
    "--udp, every datagram. Prints \"listening on HOST:PORT\" once it accepts.\n"
    "  --ws                 WebSocket echo (RFC 6455) on any path instead of raw TCP\n"
    "  --udp                UDP echo, in one loop (the connection options are for TCP)\n"
    "  --host ADDR          address to listen on (default 127.0.0.1)\n"
    "  --port N             port (default 8000; 0 picks a free one)\n"
    "  --workers N          N threads, each with its own loop, sharing the port (default 1)\n"
    "  --backend NAME       epoll, poll, kqueue or io_uring (default: $LOOM_BACKEND or the\n"
    "                       best; io_uring falls back to epoll where refused)\n"
    "  --max-connections N  at most N clients at once; others wait (default: no limit;\n"
    "                       with --ws 1000, since each may hold a message being received)\n"
    "  --max-message BYTES  --ws: largest message (default 1048576; a bigger one closes\n"
    "                       with 1009). Memory is about max-connections x max-message.\n"
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

static int64_t idle_timeout;
static struct loom_ws_options ws_opt;

/* WebSocket: every message back as it came, until the peer closes. */
static int ws_echo(struct loom_http_req *req, struct loom_http_reply *rep, void *arg)
{
    struct loom_ws *ws;
    int rc = loom_http_ws_accept(req, rep, &ws_opt, &ws);
    if (rc < 0)
        return rc == LOOM_EWS ? 0 : rc; /* not a WebSocket handshake: answered already */
    struct loom_ws_message m;
    while ((rc = loom_ws_recv(ws, &m, idle_timeout)) == LOOM_WS_TEXT || rc == LOOM_WS_BINARY)
        if ((rc = loom_ws_send(ws, m.type, m.data, m.len, LOOM_SEC(30))) < 0)
            break;
    int code = rc == LOOM_EOF || rc == -ETIMEDOUT ? 1000 : 1011;
    loom_ws_close(ws, code, NULL, LOOM_SEC(5));
    return 0;
}

static void on_listening(struct loom_server *srv, void *arg)
{
    char name[128];
    if (loom_server_name(srv, name, sizeof name) == 0)
        printf("listening on %s\n", name);
    fflush(stdout);
}

static int serve_ws(const struct loom_server_options *net, const struct loom_loop_options *lo,
                    unsigned workers)
{
    struct loom_http_router *router;
    int rc = loom_http_router_new(&router);
    if (rc == 0 && (rc = loom_http_route(router, "*", "/", ws_echo, NULL)) == 0)
        rc = loom_http_route(router, "*", "/{path...}", ws_echo, NULL);
    struct loom_http_server_options o = {.net = *net, .loop = *lo};
    if (rc == 0)
        rc = loom_http_server_run(&o, router, workers);
    loom_http_router_free(router);
    return rc;
}

/* --- UDP --- */

enum { UDP_BATCH = 32 };

struct udp_echo {
    const char *host;
    int port;
    struct loom_udp *u;
    struct loom_signal sig[2];
};

static void udp_stop(struct loom_signal *sig, int signum)
{
    struct udp_echo *e = sig->data;
    loom_udp_close(e->u); /* the echo task's recv returns -EBADF */
    e->u = NULL;
    loom_signal_stop(&e->sig[0]);
    loom_signal_stop(&e->sig[1]);
}

/* Each batch goes back to its senders as received; a datagram the kernel
 * refuses to send (a full buffer for a second) is dropped, as UDP may. */
static int udp_echo_batches(struct loom_udp *u, struct loom_dgram *m, char *bufs)
{
    for (;;) {
        for (int i = 0; i < UDP_BATCH; i++)
            m[i] = (struct loom_dgram){.buf = bufs + (size_t)i * 65536, .len = 65536};
        int n = loom_udp_recv_batch(u, m, UDP_BATCH, -1);
        if (n == -EBADF)
            return 0; /* closed by a signal */
        if (n < 0)
            return n;
        for (int sent = 0; sent < n;) {
            int k = loom_udp_send_batch(u, m + sent, (unsigned)(n - sent), LOOM_SEC(1));
            if (k == -EBADF)
                return 0;
            sent += k > 0 ? k : 1;
        }
    }
}

static intptr_t udp_main(void *arg)
{
    struct udp_echo *e = arg;
    struct loom_loop *loop = loom_loop_current();
    int rc = loom_udp_open(loop, e->host, e->port, 0, &e->u);
    if (rc < 0)
        return rc;
    char name[128];
    if (loom_udp_sockname(e->u, name, sizeof name) == 0)
        printf("listening on %s\n", name);
    fflush(stdout);
    for (int i = 0; i < 2; i++) {
        loom_signal_init(loop, &e->sig[i], udp_stop);
        e->sig[i].data = e;
        loom_signal_start(&e->sig[i], i ? SIGTERM : SIGINT);
    }
    struct loom_dgram *m = calloc(UDP_BATCH, sizeof(*m));
    char *bufs = malloc((size_t)UDP_BATCH * 65536);
    rc = m && bufs ? udp_echo_batches(e->u, m, bufs) : -ENOMEM;
    free(m);
    free(bufs);
    if (e->u)
        udp_stop(&e->sig[0], 0);
    return rc;
}

static int serve_udp(const char *host, int port, const struct loom_loop_options *lo)
{
    struct udp_echo e = {.host = host, .port = port};
    return (int)loom_run_with(lo, udp_main, &e);
}

int main(int argc, char **argv)
{
    opts_init(argc, argv, usage);
    idle_timeout = opts_seconds("--idle-timeout", 0, 0, 86400);
    struct loom_server_options opt = {
        .host = opts_host("--host", "127.0.0.1"),
        .port = opts_port("--port", 8000, true),
        .max_connections = (size_t)opts_long("--max-connections", 0, 0, 10000000),
        .idle_timeout_ns = idle_timeout,
        .grace_ns = opts_seconds("--grace", 5, 0, 3600),
        .handle_signals = true,
        .on_listening = on_listening,
    };
    if (!idle_timeout)
        idle_timeout = -1;
    const char *backend = opts_str("--backend", NULL);
    if (backend && strcmp(backend, "epoll") && strcmp(backend, "poll") &&
        strcmp(backend, "kqueue") && strcmp(backend, "io_uring"))
        opts_fail("--backend: '%s' is not one of epoll, poll, kqueue, io_uring", backend);
    /* Connection tasks use the loop's default stack, which is cached for reuse:
     * 64 KiB is plenty for a handler, and only the touched pages cost memory. */
    struct loom_loop_options lo = {.backend = backend, .stack_size = 64 * 1024};
    unsigned workers = (unsigned)opts_long("--workers", 1, 1, 1024);
    bool udp = opts_flag("--udp"), ws = opts_flag("--ws");
    ws_opt.max_message = (uint64_t)opts_long("--max-message", 1 << 20, 125, 1L << 30);
    if (ws && !opts_str("--max-connections", NULL))
        opt.max_connections = 1000;
    if (udp && ws)
        opts_fail("--udp and --ws exclude each other");
    if (udp && (workers > 1 || opt.max_connections || opt.idle_timeout_ns))
        opts_fail("--udp: --workers, --max-connections and --idle-timeout are for TCP");
    int rc = udp  ? serve_udp(opt.host, opt.port, &lo)
             : ws ? serve_ws(&opt, &lo, workers)
                  : loom_server_run(&opt, &lo, workers, echo, NULL);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot serve on %s:%d: %s\n", opts_prog(), opt.host, opt.port,
                loom_strerror(rc));
        return 1;
    }
    return 0;
}
