/* check_fdio.c - task-level fd I/O: readiness waits (timeout, cancel, outside a
 * task), sock_recv/sendall under backpressure and to a vanished peer,
 * sock_accept/sock_connect, SCM_RIGHTS fd passing (and a flood of fds past the
 * room), sendfile to a socket stream and through a custom transport, and
 * getnameinfo. */
#include "harness/harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/fdio.h"
#include "net/stream.h"
#include "net/tcp.h"
#include "reactor/task.h"

static void nb_pair(int sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

/* --- readiness waits --- */

struct delayed {
    int fd;
    int64_t delay;
};

static intptr_t write_later(void *arg)
{
    struct delayed *d = arg;
    loom_sleep(d->delay);
    return write(d->fd, "x", 1);
}

static intptr_t wait_task(void *arg)
{
    return loom_fd_wait((int)(intptr_t)arg, LOOM_READABLE, LOOM_SEC(5));
}

static intptr_t wait_main(void *arg)
{
    int sv[2];
    nb_pair(sv);
    ck_assert_int_eq(loom_fd_wait(sv[0], 0, -1), -EINVAL);
    ck_assert_int_eq(loom_fd_wait(-1, LOOM_READABLE, -1), -EBADF);
    ck_assert_int_eq(loom_fd_wait(sv[0], LOOM_READABLE, 0), -ETIMEDOUT);
    ck_assert_int_eq(loom_fd_wait(sv[0], LOOM_WRITABLE, 0), LOOM_WRITABLE);
    double t0 = test_now();
    ck_assert_int_eq(loom_fd_wait(sv[0], LOOM_READABLE, LOOM_MS(50)), -ETIMEDOUT);
    double dt = test_now() - t0;
    ck_assert_msg(dt >= 0.045 && dt < 2, "waited %.3f s", dt);
    struct delayed d = {sv[1], LOOM_MS(20)};
    struct loom_task *w = loom_spawn(write_later, &d, "writer");
    ck_assert_int_eq(loom_fd_wait(sv[0], LOOM_READABLE | LOOM_WRITABLE, LOOM_SEC(5)) &
                         LOOM_WRITABLE,
                     LOOM_WRITABLE);
    ck_assert_int_eq(loom_fd_wait(sv[0], LOOM_READABLE, LOOM_SEC(5)), LOOM_READABLE);
    ck_assert_int_eq(loom_task_join(w), 1);
    char c;
    ck_assert_int_eq(read(sv[0], &c, 1), 1);
    /* Cancelled while waiting; the fd is free for the next wait. */
    struct loom_task *t = loom_spawn(wait_task, (void *)(intptr_t)sv[0], "waiter");
    loom_yield();
    loom_task_cancel(t);
    ck_assert_int_eq(loom_task_join(t), -ECANCELED);
    /* A hang-up is reported as readable. */
    close(sv[1]);
    ck_assert_int_eq(loom_fd_wait(sv[0], LOOM_READABLE, LOOM_SEC(5)) & LOOM_READABLE,
                     LOOM_READABLE);
    ck_assert_int_eq(loom_sock_recv(sv[0], &c, 1, LOOM_SEC(1)), 0);
    close(sv[0]);
    return 0;
}

START_TEST(test_wait) { ck_assert_int_eq(test_run_task(wait_main, NULL), 0); }
END_TEST

START_TEST(test_outside_task)
{
    int sv[2];
    nb_pair(sv);
    ck_assert_int_eq(loom_fd_wait(sv[0], LOOM_READABLE, -1), -EPERM);
    char c;
    ck_assert_int_eq(loom_sock_recv(sv[0], &c, 1, -1), -EPERM);
    ck_assert_int_eq(loom_sock_sendall(sv[1], "y", 1, -1, NULL), 0); /* no wait needed */
    ck_assert_int_eq(loom_sock_recv(sv[0], &c, 1, -1), 1);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

/* --- recv / sendall --- */

enum { BIG = 4 << 20 };

struct sink {
    int fd;
    size_t got;
    unsigned sum;
};

static intptr_t sink_task(void *arg)
{
    struct sink *s = arg;
    char buf[8192];
    for (;;) {
        ssize_t n = loom_sock_recv(s->fd, buf, sizeof buf, LOOM_SEC(10));
        if (n <= 0)
            return n;
        for (ssize_t i = 0; i < n; i++)
            s->sum = s->sum * 31 + (unsigned char)buf[i];
        s->got += (size_t)n;
    }
}

static intptr_t sendall_main(void *arg)
{
    int sv[2];
    nb_pair(sv);
    char *data = malloc(BIG);
    unsigned sum = 0;
    for (size_t i = 0; i < BIG; i++) {
        data[i] = (char)(i * 7 + i / 4096);
        sum = sum * 31 + (unsigned char)data[i];
    }
    struct sink s = {sv[1], 0, 0};
    struct loom_task *t = loom_spawn(sink_task, &s, "sink");
    size_t sent = 0;
    ck_assert_int_eq(loom_sock_sendall(sv[0], data, BIG, LOOM_SEC(10), &sent), 0);
    ck_assert_uint_eq(sent, BIG);
    shutdown(sv[0], SHUT_WR);
    ck_assert_int_eq(loom_task_join(t), 0);
    ck_assert_uint_eq(s.got, BIG);
    ck_assert_uint_eq(s.sum, sum);
    /* Our side is shut down for writing. */
    ck_assert_int_eq(loom_sock_sendall(sv[0], data, 1, LOOM_SEC(1), &sent), -EPIPE);
    close(sv[0]);
    close(sv[1]);
    /* A peer that never reads: the send times out with what went counted. */
    nb_pair(sv);
    ck_assert_int_eq(loom_sock_sendall(sv[0], data, BIG, LOOM_MS(50), &sent), -ETIMEDOUT);
    ck_assert_uint_gt(sent, 0);
    ck_assert_uint_lt(sent, BIG);
    /* The peer vanishes: -EPIPE, and no SIGPIPE kills us (SIG_DFL is set). */
    close(sv[1]);
    ck_assert_int_eq(loom_sock_sendall(sv[0], data, BIG, LOOM_SEC(1), &sent), -EPIPE);
    close(sv[0]);
    free(data);
    return 0;
}

START_TEST(test_sendall)
{
    signal(SIGPIPE, SIG_DFL);
    ck_assert_int_eq(test_run_task(sendall_main, NULL), 0);
}
END_TEST

/* --- accept / connect --- */

static int listen_any(struct sockaddr_in *a)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(l, (struct sockaddr *)a, sizeof *a), 0);
    socklen_t len = sizeof *a;
    ck_assert_int_eq(getsockname(l, (struct sockaddr *)a, &len), 0);
    return l;
}

static intptr_t accept_task(void *arg)
{
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    int c = loom_sock_accept((int)(intptr_t)arg, &peer, &len, LOOM_SEC(5));
    if (c < 0)
        return c;
    ck_assert_int_eq(peer.ss_family, AF_INET);
    ck_assert_int_ne(fcntl(c, F_GETFL) & O_NONBLOCK, 0);
    ck_assert_int_ne(fcntl(c, F_GETFD) & FD_CLOEXEC, 0);
    int rc = loom_sock_sendall(c, "hi", 2, LOOM_SEC(5), NULL);
    close(c);
    return rc;
}

static intptr_t connect_main(void *arg)
{
    struct sockaddr_in a;
    int l = listen_any(&a);
    ck_assert_int_eq(listen(l, 8), 0);
    ck_assert_int_eq(loom_sock_accept(l, NULL, NULL, LOOM_MS(20)), -ETIMEDOUT);
    struct loom_task *t = loom_spawn(accept_task, (void *)(intptr_t)l, "acceptor");
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(loom_sock_connect(c, (struct sockaddr *)&a, sizeof a, LOOM_SEC(5)), 0);
    char buf[4];
    ck_assert_int_eq(loom_sock_recv(c, buf, sizeof buf, LOOM_SEC(5)), 2);
    ck_assert_mem_eq(buf, "hi", 2);
    ck_assert_int_eq(loom_task_join(t), 0);
    close(c);
    close(l);
    /* Nobody listens on a bound port: refused. */
    l = listen_any(&a);
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(loom_sock_connect(c, (struct sockaddr *)&a, sizeof a, LOOM_SEC(5)),
                     -ECONNREFUSED);
    close(c);
    close(l);
    return 0;
}

START_TEST(test_connect) { ck_assert_int_eq(test_run_task(connect_main, NULL), 0); }
END_TEST

/* --- SCM_RIGHTS --- */

static intptr_t fds_main(void *arg)
{
    int sv[2], p[2];
    nb_pair(sv);
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    int pass[2] = {p[0], p[1]};
    ck_assert_int_eq(loom_sock_sendmsg_fds(sv[0], "fds", 3, pass, 2, LOOM_SEC(1)), 3);
    ck_assert_int_eq(loom_sock_sendmsg_fds(sv[0], "", 0, pass, 2, LOOM_SEC(1)), -EINVAL);
    ck_assert_int_eq(loom_sock_sendmsg_fds(sv[0], "x", 1, pass, LOOM_FDIO_MAX_FDS + 1, -1),
                     -EINVAL);
    int got[4] = {-1, -1, -1, -1};
    size_t n = 4;
    char buf[8];
    ck_assert_int_eq(loom_sock_recvmsg_fds(sv[1], buf, sizeof buf, got, &n, LOOM_SEC(5)), 3);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_ne(fcntl(got[0], F_GETFD) & FD_CLOEXEC, 0);
    /* The copies are the same pipe: write through one, read the original. */
    ck_assert_int_eq(write(got[1], "ok", 2), 2);
    ck_assert_int_eq(read(p[0], buf, 2), 2);
    ck_assert_mem_eq(buf, "ok", 2);
    close(got[0]);
    close(got[1]);
    /* More fds than room: the extra ones are closed, not leaked (the fixture
     * counts fds). */
    int many[8];
    for (int i = 0; i < 8; i++)
        many[i] = i % 2 ? p[1] : p[0];
    ck_assert_int_eq(loom_sock_sendmsg_fds(sv[0], "m", 1, many, 8, LOOM_SEC(1)), 1);
    n = 1;
    ck_assert_int_eq(loom_sock_recvmsg_fds(sv[1], buf, sizeof buf, got, &n, LOOM_SEC(5)), 1);
    ck_assert_uint_eq(n, 1);
    close(got[0]);
    /* Plain data, no fds. */
    ck_assert_int_eq(loom_sock_sendmsg_fds(sv[0], "plain", 5, NULL, 0, LOOM_SEC(1)), 5);
    n = 4;
    ck_assert_int_eq(loom_sock_recvmsg_fds(sv[1], buf, sizeof buf, got, &n, LOOM_SEC(5)), 5);
    ck_assert_uint_eq(n, 0);
    n = 4;
    ck_assert_int_eq(loom_sock_recvmsg_fds(sv[1], buf, sizeof buf, got, &n, LOOM_MS(10)),
                     -ETIMEDOUT);
    close(p[0]);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
    return 0;
}

START_TEST(test_fds) { ck_assert_int_eq(test_run_task(fds_main, NULL), 0); }
END_TEST

/* --- sendfile --- */

enum { FSIZE = 3 << 20 };

static int make_file(char *data)
{
    char path[] = "/tmp/loom-fdio-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    for (size_t i = 0; i < FSIZE; i++)
        data[i] = (char)(i * 13 + (i >> 12));
    ck_assert_int_eq(write(fd, data, FSIZE), FSIZE);
    return fd;
}

struct reader {
    struct loom_stream *s;
    char *buf;
    size_t cap;
    ssize_t got;
};

static intptr_t read_all(void *arg)
{
    struct reader *r = arg;
    r->got = loom_stream_read(r->s, r->buf, r->cap, LOOM_SEC(10));
    return 0;
}

/* A transport that is not the built-in one: forces the copying path. */
static ssize_t pt_read(void *ctx, void *buf, size_t len, unsigned *wait)
{
    ssize_t n = read(*(int *)ctx, buf, len);
    *wait = LOOM_READABLE;
    return n >= 0 ? n : (errno == EAGAIN ? -EAGAIN : -errno);
}
static ssize_t pt_writev(void *ctx, const struct iovec *iov, int iovcnt, unsigned *wait)
{
    ssize_t n = writev(*(int *)ctx, iov, iovcnt);
    *wait = LOOM_WRITABLE;
    return n >= 0 ? n : (errno == EAGAIN ? -EAGAIN : -errno);
}
static void pt_close(void *ctx) { close(*(int *)ctx); }
static const struct loom_stream_ops pt_ops = {pt_read, pt_writev, NULL, pt_close};

static intptr_t sendfile_main(void *arg)
{
    bool custom = arg != NULL;
    char *data = malloc(FSIZE), *back = malloc(FSIZE + 16);
    int file = make_file(data);
    int sv[2];
    nb_pair(sv);
    struct loom_loop *loop = loom_loop_current();
    struct loom_stream *out, *in;
    static int pt_fd;
    pt_fd = sv[0];
    if (custom)
        ck_assert_int_eq(loom_stream_open(loop, sv[0], &pt_ops, &pt_fd, 0, &out), 0);
    else
        ck_assert_int_eq(loom_stream_open_fd(loop, sv[0], 0, &out), 0);
    ck_assert_int_eq(loom_stream_open_fd(loop, sv[1], 0, &in), 0);
    struct reader r = {in, back, FSIZE + 16, 0};
    struct loom_task *t = loom_spawn(read_all, &r, "reader");
    /* Buffered output goes first, then the file from offset 100 to its end. */
    ck_assert_int_eq(loom_stream_write(out, "HEAD", 4), 0);
    ck_assert_int_eq(loom_sendfile(out, file, 100, 0, LOOM_SEC(10)), FSIZE - 100);
    /* A range, and a count past the end of the file (short). */
    ck_assert_int_eq(loom_sendfile(out, file, 0, 10, LOOM_SEC(10)), 10);
    ck_assert_int_eq(loom_sendfile(out, file, FSIZE - 2, 50, LOOM_SEC(10)), 2);
    ck_assert_int_eq(loom_sendfile(out, file, FSIZE, 0, LOOM_SEC(10)), 0);
    ck_assert_int_eq(lseek(file, 0, SEEK_CUR), FSIZE); /* its position is untouched */
    ck_assert_int_eq(loom_stream_write_eof(out), custom ? -ENOTSUP : 0);
    if (custom) {
        loom_stream_close(out);
        out = NULL;
    }
    loom_task_join(t);
    ck_assert_int_eq(r.got, 4 + FSIZE - 100 + 10 + 2);
    ck_assert_mem_eq(back, "HEAD", 4);
    ck_assert_int_eq(memcmp(back + 4, data + 100, FSIZE - 100), 0);
    ck_assert_int_eq(memcmp(back + 4 + FSIZE - 100, data, 10), 0);
    ck_assert_int_eq(memcmp(back + 4 + FSIZE - 100 + 10, data + FSIZE - 2, 2), 0);
    loom_stream_close(in);
    if (out) {
        /* The reader is gone and never reads: times out, then the peer vanishes. */
        int sv2[2];
        nb_pair(sv2);
        struct loom_stream *slow;
        ck_assert_int_eq(loom_stream_open_fd(loop, sv2[0], 0, &slow), 0);
        ck_assert_int_eq(loom_sendfile(slow, file, 0, 0, LOOM_MS(50)), -ETIMEDOUT);
        close(sv2[1]);
        ssize_t rc = loom_sendfile(slow, file, 0, 0, LOOM_SEC(5));
        ck_assert_msg(rc == -EPIPE || rc == -ECONNRESET, "sendfile to a closed peer: %zd", rc);
        loom_stream_close(slow);
        loom_stream_close(out);
    }
    close(file);
    free(data);
    free(back);
    return 0;
}

START_TEST(test_sendfile)
{
    signal(SIGPIPE, SIG_DFL);
    ck_assert_int_eq(test_run_task(sendfile_main, NULL), 0);
}
END_TEST
START_TEST(test_sendfile_copy) { ck_assert_int_eq(test_run_task(sendfile_main, "custom"), 0); }
END_TEST

/* --- getnameinfo --- */

static intptr_t nameinfo_main(void *arg)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    ck_assert_int_eq(loom_getnameinfo((struct sockaddr *)&a, sizeof a, host, sizeof host, serv,
                                      sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV, LOOM_SEC(5)),
                     0);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_str_eq(serv, "80");
    /* The name from /etc/hosts and the service from /etc/services. */
    ck_assert_int_eq(loom_getnameinfo((struct sockaddr *)&a, sizeof a, host, sizeof host, serv,
                                      sizeof serv, 0, LOOM_SEC(10)),
                     0);
    ck_assert_msg(!strcmp(host, "localhost") || !strncmp(host, "localhost.", 10), "host %s", host);
    ck_assert_str_eq(serv, "http");
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(5353)};
    a6.sin6_addr = in6addr_loopback;
    ck_assert_int_eq(loom_getnameinfo((struct sockaddr *)&a6, sizeof a6, host, sizeof host, NULL, 0,
                                      NI_NUMERICHOST, LOOM_SEC(5)),
                     0);
    ck_assert_str_eq(host, "::1");
    char tiny[4];
    ck_assert_int_eq(loom_getnameinfo((struct sockaddr *)&a, sizeof a, tiny, sizeof tiny, NULL, 0,
                                      NI_NUMERICHOST, LOOM_SEC(5)),
                     -ENOSPC);
    ck_assert_int_eq(loom_getnameinfo(NULL, 0, host, sizeof host, NULL, 0, 0, -1), -EINVAL);
    /* 192.0.2.1 (TEST-NET) has no name: NI_NAMEREQD fails. */
    a.sin_addr.s_addr = inet_addr("192.0.2.1");
    int rc = loom_getnameinfo((struct sockaddr *)&a, sizeof a, host, sizeof host, NULL, 0,
                              NI_NAMEREQD, LOOM_SEC(10));
    ck_assert_msg(rc == LOOM_EDNS || rc == -ETIMEDOUT, "rc %d", rc);
    return 0;
}

START_TEST(test_nameinfo) { ck_assert_int_eq(test_run_task(nameinfo_main, NULL), 0); }
END_TEST

START_TEST(test_nameinfo_outside)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    char host[64];
    ck_assert_int_eq(loom_getnameinfo((struct sockaddr *)&a, sizeof a, host, sizeof host, NULL, 0,
                                      NI_NUMERICHOST, -1),
                     -EPERM);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fdio");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"wait", test_wait},
        {"outside_task", test_outside_task},
        {"sendall", test_sendall},
        {"connect", test_connect},
        {"fds", test_fds},
        {"sendfile", test_sendfile},
        {"sendfile_copy", test_sendfile_copy},
        {"nameinfo", test_nameinfo},
        {"nameinfo_outside", test_nameinfo_outside},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = test_tcase(s, cases[i].name, 30);
        tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
        tcase_add_test(tc, cases[i].fn);
    }
    return test_main(s);
}
