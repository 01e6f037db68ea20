/* echo.c - streams and servers: an echo server, and a client talking to it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <loom/net/server.h>
#include <loom/net/stream.h>
#include <loom/net/tcp.h>
#include <loom/reactor/error.h>
#include <loom/reactor/task.h>

/* Runs in a task of its own for each connection: echo lines until EOF. */
static intptr_t echo(struct loom_stream *s, void *arg)
{
    char line[1024];
    ssize_t n;
    while ((n = loom_stream_readline(s, line, sizeof line, LOOM_SEC(30))) > 0) {
        int rc = loom_stream_write(s, line, (size_t)n); /* queued, never waits */
        if (rc == 0)
            rc = loom_stream_drain(s, LOOM_SEC(30)); /* waits if the peer reads slowly */
        if (rc < 0)
            return rc;
    }
    return n == LOOM_EOF ? 0 : n; /* the server closes the stream after we return */
}

static intptr_t amain(void *unused)
{
    struct loom_server_options opt = {.host = "127.0.0.1", .port = 0}; /* 0: any free port */
    struct loom_server *srv;
    int rc = loom_server_start(loom_loop_current(), &opt, echo, NULL, &srv);
    if (rc < 0)
        return rc;

    struct loom_stream *c = NULL;
    rc = loom_tcp_connect("127.0.0.1", loom_server_port(srv), LOOM_SEC(5), &c);
    for (int i = 0; rc == 0 && i < 3; i++) {
        char msg[32], reply[64];
        int len = snprintf(msg, sizeof msg, "message %d\n", i);
        rc = loom_stream_write(c, msg, (size_t)len);
        ssize_t n = rc < 0 ? rc : loom_stream_readline(c, reply, sizeof reply, LOOM_SEC(5));
        if (n < 0)
            rc = (int)n;
        else if (strcmp(reply, msg) != 0)
            rc = -EPROTO;
        else
            printf("echoed: %s", reply);
    }
    if (c)
        loom_stream_close(c);
    loom_server_shutdown(srv, LOOM_SEC(1)); /* stop accepting, let handlers finish */
    loom_server_free(srv);
    return rc;
}

int main(void) { return loom_run(amain, NULL) == 0 ? 0 : 1; }
