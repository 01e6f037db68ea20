/* check_net.c - sockets: connect over IPv4, IPv6, names and Unix paths,
 * refused connections, resolution timeouts that leak nothing, accept that
 * survives EMFILE, a peer reset in the middle of a write, socket options. */
#include "harness/harness.h"
#include "reactor/heap.h" /* loom__heap_fail_after: fault injection */

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/stream.h"
#include "net/tcp.h"
#include "net/transport.h"
#include "reactor/task.h"

struct accept_one {
    struct loom_listener *l;
    struct loom_stream *s;
};

/* Accept one connection, answer one line with "echo: <line>", close. */
static intptr_t serve_one(void *arg)
{
    struct accept_one *a = arg;
    int rc = loom_listener_accept_stream(a->l, LOOM_SEC(5), &a->s);
    if (rc < 0)
        return rc;
    /* The accepted side has Nagle off too (set on it, or inherited from the
     * listener). */
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int nd = 0, fd = loom_stream_fd(a->s);
    socklen_t ndlen = sizeof nd;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
        return -errno;
    if (ss.ss_family != AF_UNIX &&
        (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nd, &ndlen) < 0 || nd != 1))
        return -EPROTO;
    char line[128], out[160];
    ssize_t n = loom_stream_readline(a->s, line, sizeof line, LOOM_SEC(5));
    if (n > 0) {
        int m = snprintf(out, sizeof out, "echo: %s", line);
        loom_stream_write(a->s, out, (size_t)m);
        n = loom_stream_flush(a->s, LOOM_SEC(5));
    }
    loom_stream_close(a->s);
    return n < 0 ? n : 0;
}

/* Listen on host, connect to connect_host, one round trip. */
static void round_trip(const char *host, const char *connect_host, unsigned flags)
{
    struct loom_listener l;
    ck_assert_int_eq(loom_tcp_listen(loom_loop_current(), &l, host, 0, 0, flags), 0);
    int port = loom_listener_port(&l);
    ck_assert_int_gt(port, 0);
    ck_assert_int_ne(fcntl(l.fd, F_GETFD) & FD_CLOEXEC, 0);
    struct accept_one a = {&l, NULL};
    struct loom_task *srv = loom_spawn(serve_one, &a, "server");
    struct loom_stream *c;
    ck_assert_int_eq(loom_tcp_connect(connect_host, port, LOOM_SEC(5), &c), 0);
    int fd = loom_stream_fd(c);
    ck_assert_int_ne(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    int nd = 0;
    socklen_t len = sizeof nd;
    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nd, &len);
    ck_assert_int_eq(nd, 1);
    char buf[128];
    ck_assert_int_eq(loom_stream_peername(c, buf, sizeof buf), 0);
    char want[64];
    snprintf(want, sizeof want, ":%d", port);
    ck_assert_contains(buf, want);
    ck_assert_int_eq(loom_stream_write(c, "hi\n", 3), 0);
    ck_assert_int_eq(loom_stream_readline(c, buf, sizeof buf, LOOM_SEC(5)), 9);
    ck_assert_str_eq(buf, "echo: hi\n");
    ck_assert_int_eq(loom_stream_readline(c, buf, sizeof buf, LOOM_SEC(5)), LOOM_EOF);
    ck_assert_int_eq(loom_task_join(srv), 0);
    loom_stream_close(c);
    loom_listener_close(&l);
}

static intptr_t ipv4_main(void *arg)
{
    round_trip("127.0.0.1", "127.0.0.1", 0);
    round_trip("127.0.0.1", "localhost", 0); /* resolved on the executor */
    round_trip("127.0.0.1", "127.0.0.1", LOOM_LISTEN_REUSEPORT);
    return 0;
}

static bool have_ipv6(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static intptr_t ipv6_main(void *arg)
{
    if (!have_ipv6())
        return 0; /* no ::1 in this sandbox */
    round_trip("::1", "::1", LOOM_LISTEN_V6ONLY);
    return 0;
}

static intptr_t unix_main(void *arg)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/loom-net-%d.sock", (int)getpid());
    struct loom_listener l;
    ck_assert_int_eq(loom_unix_listen(loom_loop_current(), &l, path, 0, LOOM_LISTEN_UNLINK), 0);
    struct accept_one a = {&l, NULL};
    struct loom_task *srv = loom_spawn(serve_one, &a, "server");
    struct loom_stream *c;
    ck_assert_int_eq(loom_unix_connect(path, LOOM_SEC(5), &c), 0);
    char buf[128];
    ck_assert_int_eq(loom_stream_peername(c, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, path);
    ck_assert_int_eq(loom_stream_write(c, "unix\n", 5), 0);
    ck_assert_int_eq(loom_stream_readline(c, buf, sizeof buf, LOOM_SEC(5)), 11);
    ck_assert_int_eq(loom_task_join(srv), 0);
    loom_stream_close(c);
    loom_listener_close(&l);
    ck_assert_int_ne(access(path, F_OK), 0); /* unlinked */
    ck_assert_int_eq(loom_unix_connect(path, LOOM_SEC(5), &c), -ENOENT);
    return 0;
}

static intptr_t errors_main(void *arg)
{
    /* A port nobody listens on: bind one, close it, connect. */
    struct loom_listener l;
    ck_assert_int_eq(loom_tcp_listen(loom_loop_current(), &l, "127.0.0.1", 0, 0, 0), 0);
    int port = loom_listener_port(&l);
    loom_listener_close(&l);
    struct loom_stream *c;
    ck_assert_int_eq(loom_tcp_connect("127.0.0.1", port, LOOM_SEC(5), &c), -ECONNREFUSED);
    ck_assert_int_eq(loom_tcp_connect("no-such-host.invalid", 80, LOOM_SEC(5), &c), LOOM_EDNS);
    /* A resolution abandoned at once (timeout 0) or cancelled leaks nothing (LSan). */
    struct addrinfo *res;
    ck_assert_int_eq(loom_resolve("localhost", 80, SOCK_STREAM, 0, &res), -ETIMEDOUT);
    ck_assert_int_eq(loom_resolve("localhost", 80, SOCK_STREAM, LOOM_SEC(5), &res), 0);
    freeaddrinfo(res);
    /* Listening twice on one port without REUSEPORT. */
    ck_assert_int_eq(loom_tcp_listen(loom_loop_current(), &l, "127.0.0.1", 0, 0, 0), 0);
    struct loom_listener l2;
    ck_assert_int_eq(
        loom_tcp_listen(loom_loop_current(), &l2, "127.0.0.1", loom_listener_port(&l), 0, 0),
        -EADDRINUSE);
    /* Accept with a timeout. */
    ck_assert_int_eq(loom_listener_accept(&l, LOOM_MS(20)), -ETIMEDOUT);
    loom_listener_close(&l);
    /* Let the abandoned resolution finish before the loop is checked for leftovers. */
    loom_sleep(LOOM_MS(100));
    return 0;
}

static intptr_t connect_task(void *arg)
{
    struct loom_stream *c;
    int rc = loom_tcp_connect("127.0.0.1", (int)(intptr_t)arg, -1, &c);
    if (rc == 0)
        loom_stream_close(c);
    return rc;
}

/* A listener whose accept queue is full drops SYNs: connects hang until their
 * timeout or a cancel, and leave no fd behind (the fixture counts them). */
static intptr_t connect_timeout_main(void *arg)
{
    struct loom_listener l;
    ck_assert_int_eq(loom_tcp_listen(loom_loop_current(), &l, "127.0.0.1", 0, 1, 0), 0);
    int port = loom_listener_port(&l);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fill[8];
    for (int i = 0; i < 8; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        connect(fill[i], (struct sockaddr *)&a, sizeof a);
    }
    loom_sleep(LOOM_MS(20));
    struct loom_stream *c;
    double t0 = test_now();
    ck_assert_int_eq(loom_tcp_connect("127.0.0.1", port, LOOM_MS(100), &c), -ETIMEDOUT);
    ck_assert(test_now() - t0 >= 0.09);
    struct loom_task *t = loom_spawn(connect_task, (void *)(intptr_t)port, "connect");
    loom_sleep(LOOM_MS(10));
    ck_assert_int_eq(loom_wait_for(t, 0), -ETIMEDOUT); /* cancelled mid-connect */
    for (int i = 0; i < 8; i++)
        close(fill[i]);
    loom_listener_close(&l);
    return 0;
}

/* Accept while the process is out of fds: accepting pauses (no spin) and
 * recovers once fds are free again. */
/* A listener with one client waiting in its backlog (a blocking connect
 * completes in the kernel without accept), then every fd used up; *cfd is the
 * client, the hogged fds go to hog (returns how many). */
static int listen_then_exhaust(struct loom_listener *l, int *cfd, int hog[4096])
{
    ck_assert_int_eq(loom_tcp_listen(loom_loop_current(), l, "127.0.0.1", 0, 0, 0), 0);
    *cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)loom_listener_port(l)),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(*cfd, (struct sockaddr *)&a, sizeof a), 0);
    int nhog = 0;
    while (nhog < 4096) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            break;
        hog[nhog++] = fd;
    }
    ck_assert_int_lt(nhog, 4096);
    return nhog;
}

static intptr_t emfile_main(void *arg)
{
    struct loom_listener l;
    int cfd, hog[4096];
    int nhog = listen_then_exhaust(&l, &cfd, hog);
    double t0 = test_now();
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    ck_assert_int_eq(loom_listener_accept(&l, LOOM_MS(350)), -ETIMEDOUT);
    getrusage(RUSAGE_SELF, &r1);
    double cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) +
                 (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6 +
                 (double)(r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
                 (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
    ck_assert_msg(cpu < 0.15, "accept spun: %.3f s CPU in %.3f s", cpu, test_now() - t0);
    /* Free fds: the paused accept resumes within the retry period. */
    for (int i = 0; i < nhog; i++)
        close(hog[i]);
    int fd = loom_listener_accept(&l, LOOM_SEC(2));
    ck_assert_int_ge(fd, 0);
    close(fd);
    close(cfd);
    loom_listener_close(&l);
    return 0;
}

/* Out of fds and the resume timer cannot be armed (injected ENOMEM): accept
 * must not pause for ever; it reports the error, and the next call accepts
 * once fds are free. */
static intptr_t emfile_arm_fail_main(void *arg)
{
    struct loom_listener l;
    int cfd, hog[4096];
    int nhog = listen_then_exhaust(&l, &cfd, hog);
    loom__heap_fail_after = 1; /* the retry timer's insert fails */
    int rc = loom_listener_accept(&l, LOOM_SEC(5));
    loom__heap_fail_after = 0;
    ck_assert_int_eq(rc, -EMFILE);
    for (int i = 0; i < nhog; i++)
        close(hog[i]);
    int fd = loom_listener_accept(&l, LOOM_SEC(2));
    ck_assert_int_ge(fd, 0);
    close(fd);
    close(cfd);
    loom_listener_close(&l);
    return 0;
}

/* The peer resets the connection while we write: an error, no SIGPIPE. */
static intptr_t rst_main(void *arg)
{
    struct loom_listener l;
    ck_assert_int_eq(loom_tcp_listen(loom_loop_current(), &l, "127.0.0.1", 0, 0, 0), 0);
    struct loom_stream *c, *s;
    ck_assert_int_eq(loom_tcp_connect("127.0.0.1", loom_listener_port(&l), LOOM_SEC(5), &c), 0);
    ck_assert_int_eq(loom_listener_accept_stream(&l, LOOM_SEC(5), &s), 0);
    static char chunk[65536];
    ck_assert_int_eq(loom_stream_write(s, chunk, sizeof chunk), 0);
    loom_stream_abort(c); /* RST */
    int rc = 0;
    for (int i = 0; i < 1000 && rc == 0; i++) {
        rc = loom_stream_write(s, chunk, sizeof chunk);
        if (rc == 0)
            rc = loom_stream_drain(s, LOOM_SEC(2));
    }
    ck_assert_msg(rc == -ECONNRESET || rc == -EPIPE, "got %s", loom_errname(rc));
    char buf[16];
    ssize_t n = loom_stream_read_some(s, buf, sizeof buf, LOOM_SEC(2));
    ck_assert(n == -ECONNRESET || n == LOOM_EOF);
    loom_stream_close(s);
    loom_listener_close(&l);
    return 0;
}

/* Listing 8.1 style: a protocol that sends a request on connect, collects the
 * answer and ends at EOF. */
struct collect {
    char buf[256];
    size_t len;
    int lost;
};

static void c_made(struct loom_transport *t, void *arg) { loom_transport_write(t, "GET\n", 4); }
static void c_data(struct loom_transport *t, const void *d, size_t n, void *arg)
{
    struct collect *c = arg;
    memcpy(c->buf + c->len, d, n);
    c->len += n;
}
static void c_lost(struct loom_transport *t, int err, void *arg)
{
    ((struct collect *)arg)->lost = err ? err : 1;
}
static const struct loom_protocol collect_proto = {c_made, c_data, NULL, c_lost,
                                                   NULL,   NULL,   NULL, NULL};

static intptr_t transport_connect_main(void *arg)
{
    struct loom_listener l;
    ck_assert_int_eq(loom_tcp_listen(loom_loop_current(), &l, "127.0.0.1", 0, 0, 0), 0);
    struct accept_one a = {&l, NULL};
    struct loom_task *srv = loom_spawn(serve_one, &a, "server");
    struct collect c = {0};
    ck_assert_int_eq(loom_transport_connect("127.0.0.1", loom_listener_port(&l), LOOM_SEC(5),
                                            &collect_proto, &c, NULL),
                     0);
    for (int i = 0; i < 500 && !c.lost; i++)
        loom_sleep(LOOM_MS(2));
    ck_assert_int_eq(c.lost, 1);
    ck_assert_int_eq(c.len, 10);
    ck_assert(!memcmp(c.buf, "echo: GET\n", 10));
    ck_assert_int_eq(loom_task_join(srv), 0);
    loom_listener_close(&l);
    return 0;
}

static intptr_t options_main(void *arg)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(loom_tcp_set_nodelay(fd, true), 0);
    ck_assert_int_eq(loom_tcp_set_keepalive(fd, true, 30, 5, 3), 0);
    ck_assert_int_eq(loom_socket_set_buffers(fd, 65536, 65536), 0);
    ck_assert_int_eq(loom_socket_set_linger0(fd), 0);
    close(fd);
    ck_assert_int_eq(loom_tcp_set_nodelay(-1, true), -EBADF);
    return 0;
}

START_TEST(test_ipv4) { ck_assert_int_eq(test_run_task(ipv4_main, NULL), 0); }
END_TEST
START_TEST(test_ipv6) { ck_assert_int_eq(test_run_task(ipv6_main, NULL), 0); }
END_TEST
START_TEST(test_unix) { ck_assert_int_eq(test_run_task(unix_main, NULL), 0); }
END_TEST
START_TEST(test_errors) { ck_assert_int_eq(test_run_task(errors_main, NULL), 0); }
END_TEST
START_TEST(test_connect_timeout) { ck_assert_int_eq(test_run_task(connect_timeout_main, NULL), 0); }
END_TEST
START_TEST(test_emfile)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = 256; /* small, so running out is quick */
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    ck_assert_int_eq(test_run_task(emfile_main, NULL), 0);
}
END_TEST
START_TEST(test_emfile_arm_fail)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = 256;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    ck_assert_int_eq(test_run_task(emfile_arm_fail_main, NULL), 0);
}
END_TEST
START_TEST(test_rst)
{
    signal(SIGPIPE, SIG_DFL);
    ck_assert_int_eq(test_run_task(rst_main, NULL), 0);
}
END_TEST
START_TEST(test_transport_connect)
{
    ck_assert_int_eq(test_run_task(transport_connect_main, NULL), 0);
}
END_TEST
START_TEST(test_options) { ck_assert_int_eq(test_run_task(options_main, NULL), 0); }
END_TEST

int main(void)
{
    Suite *s = suite_create("net");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"ipv4", test_ipv4},
        {"ipv6", test_ipv6},
        {"unix", test_unix},
        {"errors", test_errors},
        {"emfile", test_emfile},
        {"rst", test_rst},
        {"emfile_arm_fail", test_emfile_arm_fail},
        {"options", test_options},
        {"connect_timeout", test_connect_timeout},
        {"transport_connect", test_transport_connect},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = test_tcase(s, cases[i].name, 20);
        tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
        tcase_add_test(tc, cases[i].fn);
    }
    return test_main(s);
}
