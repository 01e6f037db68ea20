/* listing_9_9.c - a Starlette WebSocket endpoint counting users (listing 9.9),
 * serving the page of listing 9.10 (counter.html) at /.
 *
 * UserCounter: each connection to /counter joins the room of sockets and
 * everyone is sent the new count; when it closes (or fails) it leaves and the
 * others get the count again. Input is ignored (on_receive: pass).
 *
 * The book sends to every socket concurrently and drops those that fail, so a
 * dead peer cannot hold the others up. loom's broadcast does that with flow
 * control: the count is queued for every reader at once, a socket too far
 * behind skips it, and one that takes nothing of what it was sent for --stall
 * seconds is dropped (its handler is cancelled, it leaves, the others are told). */
#include <sys/uio.h>

#include "ch09.h"
#include "net/broadcast.h"
#include "net/ws.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_9_9 " CH09_HOST_OPTS " [--stall SEC]\n"
    "WebSocket /counter on 127.0.0.1:8000 (--host ADDR, --port N; 0 picks a free port;\n"
    "prints \"listening on ADDR:PORT\"): every connect and disconnect sends all users the\n"
    "number connected. GET / is the page of listing 9.10 showing that count. A user whose\n"
    "socket takes nothing for --stall SEC seconds (default 10) is dropped.\n"
    "SIGINT/SIGTERM stop it.\n";

/* counter.html, embedded at build time (the make runs from the project's root). */
__asm__(".pushsection .rodata\n"
        ".globl ch09_counter_html\n.hidden ch09_counter_html\n"
        ".globl ch09_counter_html_end\n.hidden ch09_counter_html_end\n"
        "ch09_counter_html:\n.incbin \"demos/ch09/counter.html\"\n"
        "ch09_counter_html_end:\n.byte 0\n"
        ".popsection\n");
extern const char ch09_counter_html[], ch09_counter_html_end[];

struct user {
    struct loom_broadcast_member member; /* in sockets */
    struct loom_task *task;              /* its handler, cancelled if it stalls */
};

static struct loom_broadcast sockets; /* UserCounter.sockets */

/* Frame each message as one WebSocket text frame (a server sends unmasked). */
static int send_text(struct loom_stream *s, const void *data, size_t len, void *arg)
{
    uint8_t head[LOOM_WS_MAX_HEADER];
    struct iovec iov[2] = {{head, loom_ws_frame_header(head, LOOM_WS_TEXT, true, len, NULL)},
                           {(void *)data, len}};
    return loom_stream_writev(s, iov, 2);
}

/* A socket that failed or stalled: its handler ends, which tells the others. */
static void on_drop(struct loom_broadcast_member *m, int reason, const char *why, void *arg)
{
    printf("Dropping a user: %s\n", why);
    fflush(stdout);
    loom_task_cancel(((struct user *)m->data)->task);
}

/* Queue the count for every user at once without waiting for anyone: a user
 * whose socket is over the high watermark misses this count (a later one
 * reaches it; if it takes nothing for --stall seconds it is dropped), so no
 * handler ever waits on another user's socket (the book awaits every send). */
static void send_count(void)
{
    size_t count = loom_broadcast_count(&sockets);
    if (count > 0) {
        char count_str[24];
        int len = snprintf(count_str, sizeof count_str, "%zu", count);
        loom_broadcast_send(&sockets, NULL, count_str, (size_t)len, 0);
    }
}

static int user_counter(struct loom_http_req *req, struct loom_http_reply *rep, void *arg)
{
    /* A peer that vanished without a word is found by a ping after 30 s of
     * silence (and dropped if 20 s pass without an answer), so it leaves. */
    struct loom_ws_options wo = {.ping_interval_ns = LOOM_SEC(30)};
    struct loom_ws *websocket;
    if (loom_http_ws_accept(req, rep, &wo, &websocket) < 0)
        return 0; /* not a WebSocket handshake: answered already */
    /* on_connect */
    struct user u = {.member.data = &u, .task = loom_task_current()};
    int rc = loom_broadcast_join(&sockets, &u.member, loom_http_req_stream(req), send_text, NULL);
    if (rc < 0) {
        loom_ws_close(websocket, LOOM_WS_INTERNAL_ERROR, NULL, LOOM_SEC(1));
        return rc;
    }
    send_count();
    /* on_receive: pass */
    struct loom_ws_message m;
    while ((rc = loom_ws_recv(websocket, &m, -1)) == LOOM_WS_TEXT || rc == LOOM_WS_BINARY)
        ;
    /* on_disconnect */
    loom_broadcast_leave(&u.member);
    send_count();
    loom_ws_close(websocket, LOOM_WS_NORMAL, NULL, LOOM_SEC(2));
    return 0;
}

/* Listing 9.10's page. */
static int page(struct loom_http_req *req, struct loom_http_reply *rep, void *arg)
{
    return loom_http_reply_send(rep, 200, "text/html; charset=utf-8", ch09_counter_html,
                                (size_t)(ch09_counter_html_end - ch09_counter_html));
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    const char *stall = demo_arg_str("--stall", "10");
    char *end;
    double stall_s = strtod(stall, &end);
    if (*end || !(stall_s > 0 && stall_s <= 3600)) {
        fprintf(stderr, "listing_9_9: --stall must be a number of seconds in (0, 3600]\n");
        return 2;
    }
    struct loom_broadcast_options bo = {.stall_timeout_ns = (int64_t)(stall_s * 1e9),
                                        .on_drop = on_drop};
    loom_broadcast_init(&sockets, &bo);
    struct loom_http_router *routes;
    DEMO_CHECK(loom_http_router_new(&routes));
    DEMO_CHECK(loom_http_route(routes, "GET", "/counter", user_counter, NULL));
    DEMO_CHECK(loom_http_route(routes, "GET", "/", page, NULL));
    struct loom_http_server_options opt = ch09_server_options(8000);
    DEMO_CHECK(loom_http_server_run(&opt, routes, 1));
    loom_broadcast_close(&sockets);
    loom_http_router_free(routes);
    return 0;
}
