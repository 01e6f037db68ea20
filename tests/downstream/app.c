/* tests/downstream/app.c - a program outside the tree, built by tests/downstream/run
 * against an installed loom through pkg-config, as C (gcc -std=c11) and as C++
 * (g++ -std=c++17), shared and static, with and without loom-pg (-DWITH_PG).
 * Two tasks ping-pong a line over a socketpair as streams, a datagram goes round
 * over UDP and a task waits for an fd to become readable; the pg build also
 * connects to a server that does not exist and must get a clean error. Prints
 * "downstream ok" and exits 0 when all of it worked. */
#include <loom.h>            /* the umbrella */
#include <loom/net/stream.h> /* a module header by its installed path */
#ifdef WITH_PG
#include <loom/pg.h> /* loom.h + the PostgreSQL adapter */
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __cplusplus
#include <string>
#endif

static intptr_t echo_once(void *arg)
{
    struct loom_stream *s = (struct loom_stream *)arg;
    char line[64];
    ssize_t n = loom_stream_readline(s, line, sizeof line, LOOM_SEC(5));
    if (n < 0)
        return n;
    for (ssize_t i = 0; i < n; i++)
        if (line[i] >= 'a' && line[i] <= 'z')
            line[i] = (char)(line[i] - 'a' + 'A');
    int rc = loom_stream_write(s, line, (size_t)n);
    if (rc == 0)
        rc = loom_stream_drain(s, LOOM_SEC(5));
    return rc;
}

static intptr_t amain(void *unused)
{
    (void)unused;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return -1;
    struct loom_loop *loop = loom_loop_current();
    struct loom_stream *a = NULL, *b = NULL;
    if (loom_stream_open_fd(loop, sv[0], 0, &a) < 0 || loom_stream_open_fd(loop, sv[1], 0, &b) < 0)
        return -2;
    struct loom_task *t = loom_spawn(echo_once, b, "echo");
    if (!t)
        return -3;
    char reply[64];
    ssize_t n = -1;
    if (loom_stream_write(a, "ping\n", 5) == 0)
        n = loom_stream_readline(a, reply, sizeof reply, LOOM_SEC(5));
    intptr_t trc = loom_task_join(t);
    loom_stream_close(a);
    loom_stream_close(b);
    if (n != 5 || memcmp(reply, "PING\n", 5) != 0 || trc != 0) {
        fprintf(stderr, "downstream: echo failed: read %zd, task %s\n", n, loom_strerror((int)trc));
        return -4;
    }
#ifdef __cplusplus
    std::string backend = loom_loop_backend(loop);
    printf("echo ok (C++, backend %s)\n", backend.c_str());
#else
    printf("echo ok (C, backend %s)\n", loom_loop_backend(loop));
#endif
    /* UDP and a task-level fd wait (net/udp.h, net/fdio.h). */
    struct loom_udp *u = NULL;
    int pv[2];
    if (loom_udp_open(loop, "127.0.0.1", 0, 0, &u) < 0 ||
        loom_udp_connect(u, "127.0.0.1", loom_udp_port(u)) < 0 ||
        loom_udp_send(u, "dgram", 5, LOOM_SEC(1)) != 5 ||
        loom_udp_recv(u, reply, sizeof reply, LOOM_SEC(5)) != 5 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pv) < 0) {
        fprintf(stderr, "downstream: UDP round trip failed\n");
        return -6;
    }
    loom_udp_close(u);
    int ready = loom_fd_wait(pv[0], LOOM_READABLE, LOOM_MS(10)); /* nothing yet */
    if (write(pv[1], "x", 1) == 1 && ready == -ETIMEDOUT)
        ready = loom_fd_wait(pv[0], LOOM_READABLE, LOOM_SEC(5));
    close(pv[0]);
    close(pv[1]);
    if (ready != LOOM_READABLE) {
        fprintf(stderr, "downstream: fd wait returned %d\n", ready);
        return -7;
    }
    printf("udp and fd wait ok\n");
    /* A scoped deadline bounds a call that takes no timeout (reactor/task.h). */
    struct loom_timeout scope;
    loom_timeout_enter(&scope, LOOM_MS(20));
    int slept = loom_sleep(LOOM_SEC(10));
    if (!loom_timeout_exit(&scope) || slept != -ETIMEDOUT) {
        fprintf(stderr, "downstream: scoped deadline: sleep returned %d\n", slept);
        return -8;
    }
    printf("scoped deadline ok\n");
#ifdef WITH_PG
    /* No server there: libpq must fail to connect and loom must say so cleanly. */
    struct loom_pg c;
    memset(&c, 0, sizeof c);
    int rc = loom_pg_connect(&c, "host=/nonexistent-loom-downstream port=1 dbname=x", LOOM_SEC(5));
    if (rc != LOOM_EPG) {
        fprintf(stderr, "downstream: pg connect to nowhere returned %s\n", loom_strerror(rc));
        return -5;
    }
    printf("pg ok (connect to nowhere: %s)\n",
           loom_pg_errmsg(&c) ? "refused with a message" : "refused");
#endif
    return 0;
}

int main(void)
{
    intptr_t rc = loom_run(amain, NULL);
    if (rc != 0) {
        fprintf(stderr, "downstream: failed (%ld)\n", (long)rc);
        return 1;
    }
    puts("downstream ok");
    return 0;
}
