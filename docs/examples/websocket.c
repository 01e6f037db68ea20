/* websocket.c - a WebSocket echo endpoint on the HTTP server, and a client. */
#include <stdio.h>
#include <string.h>

#include <loom/net/http_server.h>
#include <loom/net/tcp.h>
#include <loom/net/ws.h>
#include <loom/reactor/error.h>
#include <loom/reactor/task.h>

/* GET /echo upgraded to a WebSocket: send every message back, until the peer closes. */
static int ws_echo(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    struct loom_ws *ws;
    int rc = loom_http_ws_accept(req, res, NULL, &ws); /* answers 101, or an error status */
    if (rc < 0)
        return rc;
    struct loom_ws_message msg;
    while ((rc = loom_ws_recv(ws, &msg, LOOM_SEC(30))) >= 0)
        if (loom_ws_send(ws, msg.type, msg.data, msg.len, LOOM_SEC(30)) < 0)
            break;
    loom_ws_close(ws, 1000, NULL, LOOM_SEC(1));
    return rc == LOOM_EOF ? 0 : rc;
}

/* A client: connect, upgrade, send two messages and read the echoes, close. */
static int client(int port)
{
    struct loom_stream *s;
    int rc = loom_tcp_connect("127.0.0.1", port, LOOM_SEC(5), &s);
    if (rc < 0)
        return rc;
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    struct loom_ws_client_options o = {.host = host, .path = "/echo"};
    struct loom_ws *ws;
    rc = loom_ws_connect(s, &o, NULL, &ws);
    if (rc < 0) {
        loom_stream_close(s); /* on failure the stream is still ours */
        return rc;
    }
    const char *words[] = {"hello", "websocket"};
    for (int i = 0; i < 2 && rc >= 0; i++) {
        struct loom_ws_message msg;
        rc = loom_ws_send_text(ws, words[i], strlen(words[i]));
        if (rc == 0)
            rc = loom_ws_recv(ws, &msg, LOOM_SEC(5));
        if (rc == LOOM_WS_TEXT)
            printf("echoed: %s\n", (const char *)msg.data);
    }
    int closed = loom_ws_close(ws, 1000, "bye", LOOM_SEC(5)); /* the close handshake */
    return rc < 0 ? rc : closed;
}

static intptr_t amain(void *unused)
{
    struct loom_http_router *router;
    int rc = loom_http_router_new(&router);
    if (rc < 0)
        return rc;
    loom_http_route(router, "GET", "/echo", ws_echo, NULL);
    struct loom_http_server_options opt = {.net = {.host = "127.0.0.1", .port = 0}};
    struct loom_http_server *srv = NULL;
    rc = loom_http_server_start(loom_loop_current(), &opt, router, &srv);
    if (rc == 0) {
        rc = client(loom_http_server_port(srv));
        loom_http_server_shutdown(srv, LOOM_SEC(1));
        loom_http_server_free(srv);
    }
    loom_http_router_free(router);
    if (rc < 0)
        fprintf(stderr, "failed: %s\n", loom_strerror(rc));
    return rc;
}

int main(void) { return loom_run(amain, NULL) == 0 ? 0 : 1; }
