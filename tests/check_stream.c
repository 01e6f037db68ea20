/* check_stream.c - buffered streams over socketpairs, pipes, files and
 * /dev/null: every read flavour and its limit, dribbled input, timeouts and
 * cancellation that lose no byte, write coalescing, drain watermarks,
 * half-close, close while waiting, and the callback transport API. */
#include "harness/harness.h"
#include "harness/netclient.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/stream.h"
#include "net/transport.h"
#include "reactor/task.h"

/* --- helpers --- */

/* A connected pair of streams over a socketpair. */
static void stream_pair(struct loom_stream **a, struct loom_stream **b)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(loom_stream_open_fd(loom_loop_current(), sv[0], 0, a), 0);
    ck_assert_int_eq(loom_stream_open_fd(loom_loop_current(), sv[1], 0, b), 0);
}

struct dribble {
    struct loom_stream *s;
    const char *data;
    size_t len;
    bool eof; /* write_eof at the end */
};

/* Write d->data one byte per loop iteration. */
static intptr_t dribbler(void *arg)
{
    struct dribble *d = arg;
    for (size_t i = 0; i < d->len; i++) {
        int rc = loom_stream_write(d->s, d->data + i, 1);
        if (rc < 0)
            return rc;
        if ((rc = loom_sleep(LOOM_US(50))) < 0)
            return rc;
    }
    return d->eof ? loom_stream_write_eof(d->s) : 0;
}

/* --- readline / readuntil / readexactly / read --- */

static intptr_t dribbled_lines_main(void *arg)
{
    struct loom_stream *a, *b;
    stream_pair(&a, &b);
    struct dribble d = {a, "one\ntwo\r\nthree\nlast", 19, true};
    struct loom_task *w = loom_spawn(dribbler, &d, "dribbler");
    char buf[64];
    ck_assert_int_eq(loom_stream_readline(b, buf, sizeof buf, LOOM_SEC(5)), 4);
    ck_assert_str_eq(buf, "one\n");
    ck_assert_int_eq(loom_stream_readuntil(b, "\r\n", 2, buf, sizeof buf, LOOM_SEC(5)), 5);
    ck_assert_str_eq(buf, "two\r\n");
    const char *view;
    ck_assert_int_eq(loom_stream_readline_view(b, &view, LOOM_SEC(5)), 6);
    ck_assert(!memcmp(view, "three\n", 6));
    ck_assert_int_eq(loom_stream_readline(b, buf, sizeof buf, LOOM_SEC(5)), 4);
    ck_assert_str_eq(buf, "last"); /* unterminated last line */
    ck_assert_int_eq(loom_stream_readline(b, buf, sizeof buf, LOOM_SEC(5)), LOOM_EOF);
    ck_assert(loom_stream_at_eof(b));
    ck_assert_int_eq(loom_task_join(w), 0);
    loom_stream_close(a);
    loom_stream_close(b);
    return 0;
}

static intptr_t limit_main(void *arg)
{
    struct loom_stream *a, *b;
    stream_pair(&a, &b);
    ck_assert_int_eq(loom_stream_write(a, "0123456789abcdef\nxy", 19), 0);
    char buf[64];
    /* 17 bytes with the newline do not fit in 10 - 1: fails, keeps everything. */
    ck_assert_int_eq(loom_stream_readline(b, buf, 10, LOOM_SEC(5)), LOOM_ELIMIT);
    ck_assert_int_eq(loom_stream_buffered(b), 19);
    ck_assert_int_eq(loom_stream_readuntil(b, "ef", 2, buf, 8, LOOM_SEC(5)), LOOM_ELIMIT);
    ck_assert_int_eq(loom_stream_readline(b, buf, 18, LOOM_SEC(5)), 17);
    ck_assert_str_eq(buf, "0123456789abcdef\n");
    /* A limit reached before the separator arrives, with more coming later. */
    loom_stream_set_limit(b, 4);
    const char *view;
    ck_assert_int_eq(loom_stream_write(a, "abcdef", 6), 0);
    ck_assert_int_eq(loom_stream_readline_view(b, &view, LOOM_SEC(5)), LOOM_ELIMIT);
    ck_assert_int_eq(loom_stream_read_some(b, buf, sizeof buf, LOOM_SEC(5)), 8);
    ck_assert(!memcmp(buf, "xyabcdef", 8));
    /* read-to-EOF with too small a buffer: LOOM_ELIMIT, nothing consumed. */
    ck_assert_int_eq(loom_stream_write(a, "0123456789", 10), 0);
    ck_assert_int_eq(loom_stream_write_eof(a), 0);
    ck_assert_int_eq(loom_stream_read(b, buf, 5, LOOM_SEC(5)), LOOM_ELIMIT);
    ck_assert_int_eq(loom_stream_read(b, buf, sizeof buf, LOOM_SEC(5)), 10);
    ck_assert_int_eq(loom_stream_read(b, buf, sizeof buf, LOOM_SEC(5)), 0);
    loom_stream_close(a);
    loom_stream_close(b);
    return 0;
}

static intptr_t exactly_main(void *arg)
{
    struct loom_stream *a, *b;
    stream_pair(&a, &b);
    static char big[200000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7);
    struct dribble d = {a, big, sizeof big, true};
    ck_assert_int_eq(loom_stream_write(a, big, sizeof big), 0); /* more than a socket buffer */
    char *got = malloc(sizeof big);
    ck_assert_int_eq(loom_stream_readexactly(b, got, sizeof big, LOOM_SEC(5)), sizeof big);
    ck_assert(!memcmp(got, big, sizeof big));
    d.len = 3;
    struct loom_task *w = loom_spawn(dribbler, &d, "dribbler");
    ck_assert_int_eq(loom_stream_readexactly(b, got, 5, LOOM_SEC(5)), LOOM_EOF);
    ck_assert_int_eq(loom_stream_buffered(b), 3); /* partial data kept */
    ck_assert_int_eq(loom_task_join(w), 0);
    free(got);
    loom_stream_close(a);
    loom_stream_close(b);
    return 0;
}

/* --- timeouts and cancellation lose nothing --- */

static intptr_t reader_task(void *arg)
{
    char buf[64];
    return loom_stream_readline(arg, buf, sizeof buf, -1);
}

static intptr_t cancel_main(void *arg)
{
    struct loom_stream *a, *b;
    stream_pair(&a, &b);
    char buf[64];
    double t0 = test_now();
    ck_assert_int_eq(loom_stream_write(a, "par", 3), 0);
    ck_assert_int_eq(loom_stream_readline(b, buf, sizeof buf, LOOM_MS(50)), -ETIMEDOUT);
    ck_assert(test_now() - t0 >= 0.045);
    ck_assert_int_eq(loom_stream_readline(b, buf, sizeof buf, 0), -ETIMEDOUT);
    /* Cancel a reader in the middle of its line. */
    struct loom_task *r = loom_spawn(reader_task, b, "reader");
    loom_sleep(LOOM_MS(5));
    ck_assert_int_eq(loom_stream_write(a, "ti", 2), 0);
    loom_sleep(LOOM_MS(5));
    ck_assert_int_eq(loom_wait_for(r, 0), -ETIMEDOUT); /* cancels it */
    /* An idle timeout set on the stream applies when -1 is passed. */
    loom_stream_set_timeout(b, LOOM_MS(20));
    ck_assert_int_eq(loom_stream_readline(b, buf, sizeof buf, -1), -ETIMEDOUT);
    loom_stream_set_timeout(b, -1);
    ck_assert_int_eq(loom_stream_write(a, "al\n", 3), 0);
    ck_assert_int_eq(loom_stream_readline(b, buf, sizeof buf, LOOM_SEC(5)), 8);
    ck_assert_str_eq(buf, "partial\n");
    loom_stream_close(a);
    loom_stream_close(b);
    return 0;
}

static intptr_t close_waiting_main(void *arg)
{
    struct loom_stream *a, *b;
    stream_pair(&a, &b);
    struct loom_task *r = loom_spawn(reader_task, b, "reader");
    loom_sleep(LOOM_MS(5));
    loom_stream_close(b); /* the parked reader gets -EBADF; the memory outlives it */
    ck_assert_int_eq(loom_task_join(r), -EBADF);
    char buf[8];
    ck_assert_int_eq(loom_stream_read_some(a, buf, sizeof buf, LOOM_SEC(5)), LOOM_EOF);
    loom_stream_close(a);
    return 0;
}

/* --- writing: coalescing, watermarks, half-close, errors --- */

static intptr_t drain_main(void *arg)
{
    struct loom_stream *a, *b;
    stream_pair(&a, &b);
    loom_stream_set_write_limits(a, 64 * 1024, 16 * 1024);
    static char chunk[4096];
    size_t sent = 0;
    /* The peer does not read: the buffer fills past the high watermark. */
    while (loom_stream_write_buffered(a) <= 64 * 1024) {
        ck_assert_int_eq(loom_stream_write(a, chunk, sizeof chunk), 0);
        sent += sizeof chunk;
    }
    ck_assert_int_eq(loom_stream_drain(a, LOOM_MS(30)), -ETIMEDOUT);
    ck_assert_int_gt(loom_stream_write_buffered(a), 64 * 1024); /* nothing lost */
    /* A reader empties it; drain returns once at or below the low watermark. */
    struct dribble d = {0};
    (void)d;
    char *sink = malloc(sent);
    size_t got = 0;
    struct loom_task *t = NULL;
    (void)t;
    while (got < sent) {
        ssize_t n = loom_stream_read_some(b, sink + got, sent - got, LOOM_SEC(5));
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
        if (loom_stream_write_buffered(a) <= 16 * 1024)
            break;
    }
    ck_assert_int_eq(loom_stream_drain(a, LOOM_SEC(5)), 0);
    ck_assert_int_eq(loom_stream_flush(a, 0) == 0 || loom_stream_write_buffered(a) > 0, 1);
    while (got < sent) {
        ssize_t n = loom_stream_read_some(b, sink + got, sent - got, LOOM_SEC(5));
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
    }
    ck_assert_int_eq(loom_stream_flush(a, LOOM_SEC(5)), 0);
    ck_assert_int_eq(loom_stream_write_buffered(a), 0);
    free(sink);
    loom_stream_close(a);
    loom_stream_close(b);
    return 0;
}

static intptr_t half_close_main(void *arg)
{
    struct loom_stream *a, *b;
    stream_pair(&a, &b);
    char buf[64];
    ck_assert_int_eq(loom_stream_write(a, "question\n", 9), 0);
    ck_assert_int_eq(loom_stream_write_eof(a), 0);
    ck_assert_int_eq(loom_stream_write(a, "x", 1), -ESHUTDOWN);
    ck_assert_int_eq(loom_stream_read(b, buf, sizeof buf, LOOM_SEC(5)), 9);
    /* b still writes to a, which still reads: half-close both ways. */
    ck_assert_int_eq(loom_stream_write(b, "answer\n", 7), 0);
    ck_assert_int_eq(loom_stream_write_eof(b), 0);
    ck_assert_int_eq(loom_stream_readline(a, buf, sizeof buf, LOOM_SEC(5)), 7);
    ck_assert_int_eq(loom_stream_readline(a, buf, sizeof buf, LOOM_SEC(5)), LOOM_EOF);
    loom_stream_close(a);
    loom_stream_close(b);
    return 0;
}

static intptr_t epipe_main(void *arg)
{
    struct loom_stream *a, *b;
    stream_pair(&a, &b);
    loom_stream_close(b);
    static char big[1 << 20];
    int rc = loom_stream_write(a, big, sizeof big);
    if (rc == 0)
        rc = loom_stream_flush(a, LOOM_SEC(5));
    ck_assert_msg(rc == -EPIPE || rc == -ECONNRESET, "got %s", loom_errname(rc));
    ck_assert_int_eq(loom_stream_write(a, "x", 1), rc); /* sticky */
    loom_stream_close(a);
    /* The same on a pipe (SIGPIPE would kill the test). */
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    close(p[0]);
    ck_assert_int_eq(loom_stream_open_fd(loom_loop_current(), p[1], 0, &a), 0);
    ck_assert_int_eq(loom_stream_write(a, "x", 1), -EPIPE);
    loom_stream_close(a);
    return 0;
}

/* A peer that answers, then resets while we still write (a server refusing
 * an upload): the write reports the reset; reads return the answer the
 * kernel holds, then the reset - not a clean EOF, and not the reset at once. */
static intptr_t reset_after_answer_main(void *arg)
{
    int port, l = test_listen(1, &port);
    int c = test_dial(port);
    int peer = accept(l, NULL, NULL);
    ck_assert_int_ge(peer, 0);
    close(l);
    struct loom_stream *a;
    ck_assert_int_eq(loom_stream_open_fd(loom_loop_current(), c, 0, &a), 0);
    ck_assert_int_eq(write(peer, "answer\n", 7), 7);
    struct linger lg = {1, 0};
    ck_assert_int_eq(setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(peer); /* RST */
    static char big[1 << 20];
    int rc = loom_stream_write(a, big, sizeof big);
    if (rc == 0)
        rc = loom_stream_flush(a, LOOM_SEC(5));
    ck_assert_msg(rc == -ECONNRESET, "write: got %s", loom_errname(rc));
    char buf[64];
    ck_assert_int_eq(loom_stream_readline(a, buf, sizeof buf, LOOM_SEC(5)), 7);
    ck_assert_int_eq(memcmp(buf, "answer\n", 7), 0);
    ck_assert_int_eq(loom_stream_readline(a, buf, sizeof buf, LOOM_SEC(5)), -ECONNRESET);
    loom_stream_close(a);
    return 0;
}

/* --- other fds --- */

static intptr_t pipe_file_main(void *arg)
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    struct loom_stream *r, *w;
    ck_assert_int_eq(loom_stream_open_fd(loom_loop_current(), p[0], 0, &r), 0);
    ck_assert_int_eq(loom_stream_open_fd(loom_loop_current(), p[1], 0, &w), 0);
    struct dribble d = {w, "through a pipe\n", 15, true};
    struct loom_task *t = loom_spawn(dribbler, &d, "dribbler");
    char buf[64];
    ck_assert_int_eq(loom_stream_readline(r, buf, sizeof buf, LOOM_SEC(5)), 15);
    ck_assert_int_eq(loom_task_join(t), 0);
    ck_assert_int_eq(loom_stream_readline(r, buf, sizeof buf, LOOM_SEC(5)), LOOM_EOF);
    loom_stream_close(r);
    loom_stream_close(w);
    /* A regular file cannot be polled: read straight through. */
    char path[] = "/tmp/loom-stream-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    ck_assert_int_eq(write(fd, "a\nb\n", 4), 4);
    lseek(fd, 0, SEEK_SET);
    ck_assert_int_eq(loom_stream_open_fd(loom_loop_current(), fd, 0, &r), 0);
    ck_assert_int_eq(loom_stream_readline(r, buf, sizeof buf, LOOM_SEC(5)), 2);
    ck_assert_int_eq(loom_stream_readline(r, buf, sizeof buf, LOOM_SEC(5)), 2);
    ck_assert_int_eq(loom_stream_readline(r, buf, sizeof buf, LOOM_SEC(5)), LOOM_EOF);
    loom_stream_close(r);
    /* /dev/null borrowed: EOF at once, the fd stays open and blocking. */
    fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    ck_assert_int_eq(loom_stream_open_fd(loom_loop_current(), fd, LOOM_STREAM_BORROW, &r), 0);
    ck_assert_int_eq(loom_stream_read_some(r, buf, sizeof buf, LOOM_SEC(5)), LOOM_EOF);
    ck_assert_int_eq(loom_stream_write(r, "gone", 4), 0);
    loom_stream_close(r);
    ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    close(fd);
    return 0;
}

static intptr_t names_main(void *arg)
{
    struct loom_stream *a, *b;
    stream_pair(&a, &b);
    char buf[64];
    ck_assert_int_eq(loom_stream_peername(a, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, ""); /* unnamed Unix socket */
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    struct loom_stream *r;
    ck_assert_int_eq(loom_stream_open_fd(loom_loop_current(), p[0], 0, &r), 0);
    ck_assert_int_eq(loom_stream_peername(r, buf, sizeof buf), -ENOTSOCK);
    loom_stream_close(r);
    close(p[1]);
    loom_stream_close(a);
    loom_stream_close(b);
    return 0;
}

START_TEST(test_dribbled_lines) { ck_assert_int_eq(test_run_task(dribbled_lines_main, NULL), 0); }
END_TEST
START_TEST(test_limits) { ck_assert_int_eq(test_run_task(limit_main, NULL), 0); }
END_TEST
START_TEST(test_exactly) { ck_assert_int_eq(test_run_task(exactly_main, NULL), 0); }
END_TEST
START_TEST(test_cancel_keeps_bytes) { ck_assert_int_eq(test_run_task(cancel_main, NULL), 0); }
END_TEST
START_TEST(test_close_while_waiting)
{
    ck_assert_int_eq(test_run_task(close_waiting_main, NULL), 0);
}
END_TEST
START_TEST(test_drain) { ck_assert_int_eq(test_run_task(drain_main, NULL), 0); }
END_TEST
START_TEST(test_half_close) { ck_assert_int_eq(test_run_task(half_close_main, NULL), 0); }
END_TEST
START_TEST(test_epipe)
{
    signal(SIGPIPE, SIG_DFL); /* prove that nothing raises it */
    ck_assert_int_eq(test_run_task(epipe_main, NULL), 0);
}
END_TEST
START_TEST(test_pipe_file) { ck_assert_int_eq(test_run_task(pipe_file_main, NULL), 0); }
END_TEST
START_TEST(test_names) { ck_assert_int_eq(test_run_task(names_main, NULL), 0); }
END_TEST

/* --- a custom transport (what TLS will plug in): XOR over a socketpair --- */

struct xor_ctx {
    int fd;
    int closed;
};

static ssize_t xor_read(void *ctx, void *buf, size_t len, unsigned *wait)
{
    struct xor_ctx *x = ctx;
    ssize_t n = read(x->fd, buf, len);
    if (n < 0) {
        *wait = LOOM_READABLE;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    for (ssize_t i = 0; i < n; i++)
        ((char *)buf)[i] ^= 0x5a;
    return n;
}

static ssize_t xor_writev(void *ctx, const struct iovec *iov, int iovcnt, unsigned *wait)
{
    struct xor_ctx *x = ctx;
    char tmp[4096];
    size_t n = iov[0].iov_len < sizeof tmp ? iov[0].iov_len : sizeof tmp; /* partial is fine */
    for (size_t i = 0; i < n; i++)
        tmp[i] = ((const char *)iov[0].iov_base)[i] ^ 0x5a;
    ssize_t w = send(x->fd, tmp, n, MSG_NOSIGNAL);
    if (w < 0) {
        *wait = LOOM_WRITABLE;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    return w;
}

static int xor_shutdown(void *ctx) { return shutdown(((struct xor_ctx *)ctx)->fd, SHUT_WR); }
static void xor_close(void *ctx)
{
    struct xor_ctx *x = ctx;
    close(x->fd);
    x->closed++;
}

static const struct loom_stream_ops xor_ops = {xor_read, xor_writev, xor_shutdown, xor_close};

static intptr_t custom_main(void *arg)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
    struct xor_ctx xa = {sv[0], 0}, xb = {sv[1], 0};
    struct loom_stream *a, *b;
    ck_assert_int_eq(loom_stream_open(loom_loop_current(), sv[0], &xor_ops, &xa, 0, &a), 0);
    ck_assert_int_eq(loom_stream_open(loom_loop_current(), sv[1], &xor_ops, &xb, 0, &b), 0);
    static char big[300000];
    memset(big, 'q', sizeof big);
    big[sizeof big - 1] = '\n';
    ck_assert_int_eq(loom_stream_write(a, big, sizeof big), 0); /* many partial writes */
    char *got = malloc(sizeof big + 1);
    ck_assert_int_eq(loom_stream_readline(b, got, sizeof big + 1, LOOM_SEC(5)), sizeof big);
    ck_assert(!memcmp(got, big, sizeof big));
    ck_assert_int_eq(loom_stream_write_eof(a), 0);
    ck_assert_int_eq(loom_stream_read_some(b, got, 10, LOOM_SEC(5)), LOOM_EOF);
    ck_assert_int_eq(loom_stream_fd(a), sv[0]);
    free(got);
    loom_stream_close(a);
    loom_stream_close(b);
    ck_assert_int_eq(xa.closed + xb.closed, 2);
    return 0;
}

START_TEST(test_custom_transport) { ck_assert_int_eq(test_run_task(custom_main, NULL), 0); }
END_TEST

/* --- transports and protocols --- */

struct proto_log {
    char data[256];
    size_t len;
    int made, eof, lost, lost_err, paused, resumed;
};

static void p_made(struct loom_transport *t, void *arg) { ((struct proto_log *)arg)->made++; }
static void p_data(struct loom_transport *t, const void *d, size_t n, void *arg)
{
    struct proto_log *l = arg;
    memcpy(l->data + l->len, d, n);
    l->len += n;
    loom_transport_write(t, d, n); /* echo */
}
static bool p_eof(struct loom_transport *t, void *arg)
{
    ((struct proto_log *)arg)->eof++;
    loom_transport_write(t, "bye\n", 4);
    return false; /* close (after the flush) */
}
static void p_lost(struct loom_transport *t, int err, void *arg)
{
    struct proto_log *l = arg;
    l->lost++;
    l->lost_err = err;
}

static const struct loom_protocol echo_proto = {p_made, p_data, p_eof, p_lost,
                                                NULL,   NULL,   NULL,  NULL};

static intptr_t transport_main(void *arg)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
    struct proto_log log = {0};
    struct loom_transport *t;
    ck_assert_int_eq(loom_transport_open_fd(loom_loop_current(), sv[0], &echo_proto, &log, &t), 0);
    struct loom_stream *peer;
    ck_assert_int_eq(loom_stream_open_fd(loom_loop_current(), sv[1], 0, &peer), 0);
    ck_assert_int_eq(loom_stream_write(peer, "hello\n", 6), 0);
    char buf[64];
    ck_assert_int_eq(loom_stream_readline(peer, buf, sizeof buf, LOOM_SEC(5)), 6);
    ck_assert_int_eq(log.made, 1);
    loom_transport_pause_reading(t);
    ck_assert_int_eq(loom_stream_write(peer, "later\n", 6), 0);
    ck_assert_int_eq(loom_stream_readline(peer, buf, sizeof buf, LOOM_MS(30)), -ETIMEDOUT);
    loom_transport_resume_reading(t);
    ck_assert_int_eq(loom_stream_readline(peer, buf, sizeof buf, LOOM_SEC(5)), 6);
    ck_assert_int_eq(loom_stream_write_eof(peer), 0);
    ck_assert_int_eq(loom_stream_readline(peer, buf, sizeof buf, LOOM_SEC(5)), 4);
    ck_assert_str_eq(buf, "bye\n");
    ck_assert_int_eq(loom_stream_readline(peer, buf, sizeof buf, LOOM_SEC(5)), LOOM_EOF);
    for (int i = 0; i < 100 && !log.lost; i++)
        loom_sleep(LOOM_MS(1));
    ck_assert_int_eq(log.eof, 1);
    ck_assert_int_eq(log.lost, 1);
    ck_assert_int_eq(log.lost_err, 0);
    ck_assert_int_eq(log.len, 12);
    loom_stream_close(peer);
    return 0;
}

static void w_pause(struct loom_transport *t, void *arg) { ((struct proto_log *)arg)->paused++; }
static void w_resume(struct loom_transport *t, void *arg) { ((struct proto_log *)arg)->resumed++; }
static const struct loom_protocol flow_proto = {p_made,  NULL,     NULL, p_lost,
                                                w_pause, w_resume, NULL, NULL};

static intptr_t transport_flow_main(void *arg)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
    struct proto_log log = {0};
    struct loom_transport *t;
    ck_assert_int_eq(loom_transport_open_fd(loom_loop_current(), sv[0], &flow_proto, &log, &t), 0);
    loom_transport_set_write_buffer_limits(t, 8192, 1024);
    static char chunk[65536];
    while (!log.paused)
        ck_assert_int_eq(loom_transport_write(t, chunk, sizeof chunk), 0);
    size_t total = 0;
    while (loom_transport_get_write_buffer_size(t) > 0 || total == 0) {
        char buf[65536];
        ssize_t n = read(sv[1], buf, sizeof buf);
        if (n > 0)
            total += (size_t)n;
        loom_yield();
    }
    ck_assert_int_eq(log.resumed, 1);
    loom_transport_abort(t);
    for (int i = 0; i < 100 && !log.lost; i++)
        loom_yield();
    ck_assert_int_eq(log.lost, 1);
    close(sv[1]);
    return 0;
}

START_TEST(test_reset_after_answer)
{
    ck_assert_int_eq(test_run_task(reset_after_answer_main, NULL), 0);
}
END_TEST

START_TEST(test_transport) { ck_assert_int_eq(test_run_task(transport_main, NULL), 0); }
END_TEST
START_TEST(test_transport_flow) { ck_assert_int_eq(test_run_task(transport_flow_main, NULL), 0); }
END_TEST

int main(void)
{
    Suite *s = suite_create("stream");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"dribbled_lines", test_dribbled_lines},
        {"limits", test_limits},
        {"exactly", test_exactly},
        {"cancel_keeps_bytes", test_cancel_keeps_bytes},
        {"close_waiting", test_close_while_waiting},
        {"drain", test_drain},
        {"half_close", test_half_close},
        {"epipe", test_epipe},
        {"reset_after_answer", test_reset_after_answer},
        {"pipe_file", test_pipe_file},
        {"names", test_names},
        {"transport", test_transport},
        {"transport_flow", test_transport_flow},
        {"custom_transport", test_custom_transport},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = test_tcase(s, cases[i].name, 20);
        tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
        tcase_add_test(tc, cases[i].fn);
    }
    return test_main(s);
}
