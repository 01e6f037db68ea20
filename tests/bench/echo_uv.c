/* echo_uv.c - the echo server with libuv, written the careful way: one shared
 * read buffer, uv_try_write first, and only what does not fit is copied for a
 * uv_write (reading pauses until it is flushed).
 *
 *   echo_uv PORT      listens on 127.0.0.1:PORT; SIGTERM ends it */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

static char buf[65536];

struct conn {
    uv_tcp_t tcp;
    uv_write_t req;
    char *pending;
};

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)h;
    (void)suggested;
    *b = uv_buf_init(buf, sizeof(buf));
}

static void on_close(uv_handle_t *h)
{
    struct conn *c = (struct conn *)h;
    free(c->pending);
    free(c);
}

static void on_written(uv_write_t *req, int status)
{
    struct conn *c = req->data;
    free(c->pending);
    c->pending = NULL;
    if (status < 0) {
        uv_close((uv_handle_t *)&c->tcp, on_close);
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct conn *c = (struct conn *)s;
    if (n < 0) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    if (n == 0)
        return;
    uv_buf_t out = uv_buf_init(b->base, (unsigned)n);
    int w = uv_try_write(s, &out, 1);
    if (w == n)
        return;
    if (w < 0 && w != UV_EAGAIN) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    size_t done = w > 0 ? (size_t)w : 0, rest = (size_t)n - done;
    c->pending = malloc(rest);
    memcpy(c->pending, b->base + done, rest);
    uv_buf_t wb = uv_buf_init(c->pending, (unsigned)rest);
    c->req.data = c;
    uv_read_stop(s);
    uv_write(&c->req, s, &wb, 1, on_written);
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    struct conn *c = calloc(1, sizeof(*c));
    uv_tcp_init(server->loop, &c->tcp);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        uv_close((uv_handle_t *)&c->tcp, on_close);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int main(int argc, char **argv)
{
    if (argc != 2 || !strcmp(argv[1], "--help")) {
        printf("usage: echo_uv PORT\n");
        return argc == 2 ? 0 : 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t server;
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", atoi(argv[1]), &sa);
    uv_tcp_init(loop, &server);
    int rc = uv_tcp_bind(&server, (const struct sockaddr *)&sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&server, SOMAXCONN, on_connection);
    if (rc < 0) {
        fprintf(stderr, "echo_uv: listen: %s\n", uv_strerror(rc));
        return 1;
    }
    printf("listening on 127.0.0.1:%s\n", argv[1]);
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
