/* udp_echo_uv.c - the libuv peer of `loom-echo --udp` for tests/bench/udp_run:
 * every datagram straight back to its sender, with libuv's fastest receive
 * path (UV_UDP_RECVMMSG, 64 KiB buffer chunks) and uv_udp_try_send (no
 * request allocation, as loom sends from the task at once).
 *
 *   udp_echo_uv PORT        prints "listening on 127.0.0.1:PORT"; SIGTERM ends it */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

static char slab[32 * 65536]; /* one recvmmsg batch */
static int slab_busy;

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    if (slab_busy) { /* libuv asks again before the batch is done: should not happen */
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    slab_busy = 1;
    *buf = uv_buf_init(slab, sizeof slab);
}

static void on_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags)
{
    if (n > 0 && from) {
        uv_buf_t b = uv_buf_init(buf->base, (unsigned)n);
        uv_udp_try_send(u, &b, 1, from); /* a full buffer drops it, as UDP may */
    }
    /* The slab is free once libuv says the batch is over (MMSG_FREE), or after a
     * single datagram that did not come from a batch. */
    if (flags & UV_UDP_MMSG_FREE || !(flags & UV_UDP_MMSG_CHUNK))
        slab_busy = 0;
}

static void on_signal(uv_signal_t *s, int signum) { uv_stop(s->loop); }

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 0;
    uv_loop_t *loop = uv_default_loop();
    uv_udp_t u;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", port, &a);
    if (uv_udp_init_ex(loop, &u, AF_INET | UV_UDP_RECVMMSG) ||
        uv_udp_bind(&u, (struct sockaddr *)&a, 0) || uv_udp_recv_start(&u, on_alloc, on_recv)) {
        fprintf(stderr, "udp_echo_uv: cannot serve on port %d\n", port);
        return 1;
    }
    struct sockaddr_in me;
    int len = sizeof me;
    uv_udp_getsockname(&u, (struct sockaddr *)&me, &len);
    printf("listening on 127.0.0.1:%d\n", ntohs(me.sin_port));
    fflush(stdout);
    uv_signal_t sig;
    uv_signal_init(loop, &sig);
    uv_signal_start(&sig, on_signal, SIGTERM);
    uv_run(loop, UV_RUN_DEFAULT);
    return 0;
}
