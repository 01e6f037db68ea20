/* embed_host.c - the embedded round trip (issue 17, item 7): an echo server
 * run by loom or by libuv inside the same plain poll() host loop, which waits
 * on the library's backend fd with the library's timeout and then runs one
 * non-blocking iteration (loom_loop_run NOWAIT / uv_run NOWAIT). A client
 * thread with a blocking socket does N 64-byte round trips over loopback;
 * then the host idles 1 s and counts its wake-ups.
 *
 *   embed_host loom|uv [round_trips]
 * prints "rt_us <x>" (wall), "cpu_us <x>" (process CPU, host and client, per round
 * trip: steadier than wall time on a busy machine) and "idle_wakeups_per_s <n>". */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "net/server.h"
#include "net/stream.h"
#include "reactor/loop.h"

static int port, ctl[2], nrt = 20000;
static atomic_int port_ready;
static double rt_us, cpu_us;

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }

/* --- the client: N round trips, then 1 s idle, then it tells the host to stop --- */

static void *client(void *arg)
{
    while (!atomic_load(&port_ready))
        usleep(1000);
    int c = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        exit(3);
    char buf[64];
    memset(buf, 'x', sizeof(buf));
    double t0 = now_s(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; i < nrt; i++) {
        if (write(c, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
            exit(4);
        for (size_t got = 0; got < sizeof(buf);) {
            ssize_t n = read(c, buf + got, sizeof(buf) - got);
            if (n <= 0)
                exit(5);
            got += (size_t)n;
        }
    }
    rt_us = (now_s() - t0) / nrt * 1e6;
    cpu_us = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) / nrt * 1e6; /* host + client */
    if (write(ctl[1], "i", 1) != 1) /* idle phase starts (connection stays open) */
        exit(6);
    sleep(1);
    if (write(ctl[1], "q", 1) != 1)
        exit(6);
    close(c);
    return NULL;
}

/* --- loom's server --- */

static intptr_t echo(struct loom_stream *s, void *arg)
{
    char buf[4096];
    ssize_t n;
    while ((n = loom_stream_read_some(s, buf, sizeof(buf), -1)) > 0)
        if (loom_stream_write(s, buf, (size_t)n) < 0)
            break;
    return 0;
}

/* --- libuv's server --- */

static void uv_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    static char buf[4096];
    *b = uv_buf_init(buf, sizeof(buf));
}

static void uv_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    if (n > 0) {
        uv_buf_t out = uv_buf_init(b->base, (unsigned)n);
        uv_try_write(s, &out, 1); /* 64 bytes always fit in an empty socket buffer */
    } else if (n < 0) {
        uv_close((uv_handle_t *)s, (uv_close_cb)free);
    }
}

static void uv_on_conn(uv_stream_t *srv, int status)
{
    uv_tcp_t *c = malloc(sizeof(*c));
    uv_tcp_init(srv->loop, c);
    if (uv_accept(srv, (uv_stream_t *)c) == 0) {
        int one = 1;
        uv_tcp_nodelay(c, one);
        uv_read_start((uv_stream_t *)c, uv_alloc, uv_on_read);
    }
}

/* --- the host: one poll() loop for either library --- */

struct guest {
    int (*fd)(void *);
    int (*timeout)(void *);
    void (*run)(void *);
    void *self;
};

static int loom_fd(void *l) { return loom_loop_backend_fd(l); }
static int loom_to(void *l) { return loom_loop_backend_timeout(l); }
static void loom_go(void *l) { loom_loop_run(l, LOOM_RUN_NOWAIT); }
static int uv_fd(void *l) { return uv_backend_fd(l); }
static int uv_to(void *l) { return uv_backend_timeout(l); }
static void uv_go(void *l) { uv_run(l, UV_RUN_NOWAIT); }

static void host(const struct guest *g)
{
    struct pollfd fds[2] = {{.fd = ctl[0], .events = POLLIN},
                            {.fd = g->fd(g->self), .events = POLLIN}};
    long wakeups = 0, idle_from = -1;
    double idle_t0 = 0;
    for (;;) {
        poll(fds, 2, g->timeout(g->self));
        wakeups++;
        if (fds[0].revents & POLLIN) {
            char c;
            if (read(ctl[0], &c, 1) == 1 && c == 'i') {
                idle_from = wakeups;
                idle_t0 = now_s();
            } else {
                double secs = now_s() - idle_t0;
                /* not counting the two control wake-ups */
                printf("rt_us %.2f\ncpu_us %.2f\nidle_wakeups_per_s %.1f\n", rt_us, cpu_us,
                       (double)(wakeups - idle_from - 1) / secs);
                return;
            }
        }
        g->run(g->self);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    if (argc > 2)
        nrt = atoi(argv[2]);
    if (pipe(ctl) < 0)
        return 1;
    pthread_t th;
    pthread_create(&th, NULL, client, NULL);
    if (strcmp(argv[1], "loom") == 0) {
        struct loom_loop *loop;
        struct loom_server *srv;
        struct loom_server_options opt = {0};
        struct loom_loop_options lopt = {.backend = "epoll"};
        if (loom_loop_new(&loop, &lopt) < 0 || loom_server_start(loop, &opt, echo, NULL, &srv) < 0)
            return 1;
        port = loom_server_port(srv);
        atomic_store(&port_ready, 1);
        host(&(struct guest){loom_fd, loom_to, loom_go, loop});
    } else {
        uv_loop_t *loop = uv_default_loop();
        static uv_tcp_t srv;
        struct sockaddr_in sa;
        uv_ip4_addr("127.0.0.1", 0, &sa);
        uv_tcp_init(loop, &srv);
        uv_tcp_bind(&srv, (struct sockaddr *)&sa, 0);
        if (uv_listen((uv_stream_t *)&srv, 128, uv_on_conn) < 0)
            return 1;
        int len = sizeof(sa);
        uv_tcp_getsockname(&srv, (struct sockaddr *)&sa, &len);
        port = ntohs(sa.sin_port);
        atomic_store(&port_ready, 1);
        host(&(struct guest){uv_fd, uv_to, uv_go, loop});
    }
    pthread_join(th, NULL);
    return 0;
}
