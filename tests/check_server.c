/* check_server.c - stream servers in-process: a task per connection,
 * tracking and max-connections, idle timeouts, graceful shutdown that answers
 * what was already read and cancels the rest, backpressure against a client
 * that never reads, and many concurrent connections (10,000 on epoll). */
#include "harness/harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/server.h"
#include "net/stream.h"
#include "net/tcp.h"
#include "reactor/task.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static struct loom_server *start(struct loom_server_options *o, loom_server_handler h, void *arg)
{
    struct loom_server *srv;
    if (!o->host)
        o->host = "127.0.0.1";
    ck_assert_int_eq(loom_server_start(loom_loop_current(), o, h, arg, &srv), 0);
    return srv;
}

static struct loom_stream *dial(struct loom_server *srv)
{
    struct loom_stream *c;
    int rc = loom_tcp_connect("127.0.0.1", loom_server_port(srv), LOOM_SEC(5), &c);
    ck_assert_msg(rc == 0, "connect: %s", loom_strerror(rc));
    return c;
}

/* Wait (bounded) until the server has n connections. */
static void wait_conns(struct loom_server *srv, size_t n)
{
    for (int i = 0; i < 5000 && loom_server_connections(srv) != n; i++)
        loom_sleep(LOOM_MS(1));
    ck_assert_int_eq(loom_server_connections(srv), n);
}

static int lines_read; /* by line_echo, in all connections */

/* Wait (bounded) until line_echo has read n lines in all. */
static void wait_lines(int n)
{
    for (int i = 0; i < 5000 && lines_read < n; i++)
        loom_sleep(LOOM_MS(1));
    ck_assert_int_eq(lines_read, n);
}

/* Line echo: "x\n" -> "x\n"; sleeps first if the line starts with "slow". */
static intptr_t line_echo(struct loom_stream *s, void *arg)
{
    char line[256];
    for (;;) {
        ssize_t n = loom_stream_readline(s, line, sizeof line, -1);
        if (n < 0)
            return n == LOOM_EOF ? 0 : n;
        lines_read++;
        if (!strncmp(line, "slow", 4)) {
            int rc = loom_sleep(LOOM_MS(100));
            if (rc < 0)
                return rc;
        }
        if (!strncmp(line, "stuck", 5))
            return loom_sleep(LOOM_SEC(60)); /* ignores shutdown: gets cancelled */
        loom_stream_write(s, line, (size_t)n);
        int rc = loom_stream_drain(s, -1);
        if (rc < 0)
            return rc;
    }
}

static void expect_line(struct loom_stream *c, const char *want)
{
    char buf[256];
    ssize_t n = loom_stream_readline(c, buf, sizeof buf, LOOM_SEC(5));
    ck_assert_msg(n > 0, "readline: %s", loom_strerror((int)n));
    ck_assert_str_eq(buf, want);
}

/* --- basics --- */

static intptr_t basic_main(void *arg)
{
    struct loom_server_options o = {0};
    struct loom_server *srv = start(&o, line_echo, NULL);
    struct loom_stream *c[20];
    for (int i = 0; i < 20; i++)
        c[i] = dial(srv);
    for (int i = 0; i < 20; i++) {
        char msg[32];
        snprintf(msg, sizeof msg, "hello %d\n", i);
        ck_assert_int_eq(loom_stream_write(c[i], msg, strlen(msg)), 0);
    }
    for (int i = 0; i < 20; i++) {
        char msg[32];
        snprintf(msg, sizeof msg, "hello %d\n", i);
        expect_line(c[i], msg);
    }
    wait_conns(srv, 20);
    ck_assert_int_eq(loom_server_accepted(srv), 20);
    for (int i = 0; i < 20; i++)
        loom_stream_close(c[i]);
    wait_conns(srv, 0);
    ck_assert_int_eq(loom_server_shutdown(srv, LOOM_SEC(1)), 0);
    loom_server_free(srv);
    return 0;
}

static intptr_t max_conns_main(void *arg)
{
    struct loom_server_options o = {.max_connections = 2};
    struct loom_server *srv = start(&o, line_echo, NULL);
    struct loom_stream *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = dial(srv); /* the third waits in the kernel's backlog */
    wait_conns(srv, 2);
    loom_sleep(LOOM_MS(30));
    ck_assert_int_eq(loom_server_connections(srv), 2);
    ck_assert_int_eq(loom_stream_write(c[2], "third\n", 6), 0);
    char buf[32];
    ck_assert_int_eq(loom_stream_readline(c[2], buf, sizeof buf, LOOM_MS(30)), -ETIMEDOUT);
    loom_stream_close(c[0]);
    expect_line(c[2], "third\n"); /* accepted once a slot freed */
    loom_stream_close(c[1]);
    loom_stream_close(c[2]);
    ck_assert_int_eq(loom_server_shutdown(srv, LOOM_SEC(1)), 0);
    loom_server_free(srv);
    return 0;
}

static intptr_t idle_main(void *arg)
{
    struct loom_server_options o = {.idle_timeout_ns = LOOM_MS(50)};
    struct loom_server *srv = start(&o, line_echo, NULL);
    struct loom_stream *c = dial(srv);
    ck_assert_int_eq(loom_stream_write(c, "a\n", 2), 0);
    expect_line(c, "a\n");
    double t0 = test_now();
    char buf[16];
    ck_assert_int_eq(loom_stream_readline(c, buf, sizeof buf, LOOM_SEC(5)), LOOM_EOF);
    double dt = test_now() - t0;
    ck_assert_msg(dt >= 0.04 && dt < 2.0, "idle close after %.3f s", dt);
    loom_stream_close(c);
    ck_assert_int_eq(loom_server_shutdown(srv, LOOM_SEC(1)), 0);
    loom_server_free(srv);
    return 0;
}

/* --- graceful shutdown --- */

static intptr_t shutdown_main(void *arg)
{
    lines_read = 0;
    struct loom_server_options o = {.grace_ns = LOOM_MS(300)};
    struct loom_server *srv = start(&o, line_echo, NULL);
    int port = loom_server_port(srv);
    struct loom_stream *idle = dial(srv), *busy = dial(srv), *stuck = dial(srv);
    wait_conns(srv, 3);
    /* "slow" is being worked on when the shutdown starts: it is still answered. */
    ck_assert_int_eq(loom_stream_write(busy, "slow 1\n", 7), 0);
    ck_assert_int_eq(loom_stream_write(stuck, "stuck\n", 6), 0);
    wait_lines(2); /* both handlers are at work when the shutdown starts */
    double t0 = test_now();
    int cancelled = loom_server_shutdown(srv, -1);
    double dt = test_now() - t0;
    ck_assert_int_eq(cancelled, 1); /* only "stuck" */
    ck_assert_msg(dt >= 0.25 && dt < 2.0, "shutdown took %.3f s", dt);
    expect_line(busy, "slow 1\n");
    char buf[16];
    ck_assert_int_eq(loom_stream_readline(busy, buf, sizeof buf, LOOM_SEC(5)), LOOM_EOF);
    ck_assert_int_eq(loom_stream_readline(idle, buf, sizeof buf, LOOM_SEC(5)), LOOM_EOF);
    ck_assert_int_eq(loom_server_connections(srv), 0);
    /* No longer listening. */
    struct loom_stream *c;
    ck_assert_int_eq(loom_tcp_connect("127.0.0.1", port, LOOM_SEC(5), &c), -ECONNREFUSED);
    loom_stream_close(idle);
    loom_stream_close(busy);
    loom_stream_close(stuck);
    loom_server_free(srv);
    return 0;
}

static intptr_t stopper(void *arg)
{
    struct loom_stream *c = dial(arg);
    ck_assert_int_eq(loom_stream_write(c, "x\n", 2), 0);
    expect_line(c, "x\n");
    loom_server_stop(arg);
    char buf[8];
    ssize_t n = loom_stream_readline(c, buf, sizeof buf, LOOM_SEC(5));
    loom_stream_close(c);
    return n;
}

static intptr_t serve_forever_main(void *arg)
{
    struct loom_server_options o = {0};
    struct loom_server *srv = start(&o, line_echo, NULL);
    struct loom_task *t = loom_spawn(stopper, srv, "stopper");
    ck_assert_int_eq(loom_server_serve_forever(srv), 0);
    ck_assert_int_eq(loom_task_join(t), LOOM_EOF);
    loom_server_free(srv);
    return 0;
}

/* Stop once, wait until the shutdown gives its grace, stop again. */
static intptr_t impatient(void *arg)
{
    struct loom_server *srv = arg;
    struct loom_stream *c = dial(srv);
    ck_assert_int_eq(loom_stream_write(c, "stuck\n", 6), 0);
    wait_lines(1);
    loom_server_stop(srv);
    for (int i = 0; i < 5000 && !loom_server_stopping(srv); i++)
        loom_sleep(LOOM_MS(1));
    ck_assert(loom_server_stopping(srv));
    loom_sleep(LOOM_MS(50)); /* well into the grace period */
    loom_server_stop(srv);
    loom_stream_close(c);
    return 0;
}

/* A second stop during the grace period ends it at once: the handler still
 * at work is cancelled (an impatient second Ctrl-C; it used to be ignored
 * until the grace ran out). */
static intptr_t stop_twice_main(void *arg)
{
    lines_read = 0;
    struct loom_server_options o = {.grace_ns = LOOM_SEC(30)};
    struct loom_server *srv = start(&o, line_echo, NULL);
    struct loom_task *t = loom_spawn(impatient, srv, "impatient");
    double t0 = test_now();
    ck_assert_int_eq(loom_server_serve_forever(srv), 0);
    double dt = test_now() - t0;
    ck_assert_msg(dt < 5, "serve_forever took %.2f s after the second stop", dt);
    ck_assert_int_eq(loom_task_join(t), 0);
    ck_assert_int_eq(loom_server_connections(srv), 0);
    loom_server_free(srv);
    return 0;
}

static intptr_t unix_main(void *arg)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/loom-srv-%d.sock", (int)getpid());
    struct loom_server_options o = {.unix_path = path};
    struct loom_server *srv;
    ck_assert_int_eq(loom_server_start(loom_loop_current(), &o, line_echo, NULL, &srv), 0);
    char name[128];
    ck_assert_int_eq(loom_server_name(srv, name, sizeof name), 0);
    ck_assert_str_eq(name, path);
    struct loom_stream *c;
    ck_assert_int_eq(loom_unix_connect(path, LOOM_SEC(5), &c), 0);
    ck_assert_int_eq(loom_stream_write(c, "over unix\n", 10), 0);
    expect_line(c, "over unix\n");
    loom_stream_close(c);
    ck_assert_int_eq(loom_server_shutdown(srv, LOOM_SEC(1)), 0);
    loom_server_free(srv);
    ck_assert_int_ne(access(path, F_OK), 0);
    return 0;
}

/* --- backpressure: a client that never reads --- */

static size_t max_buffered;

static intptr_t flood(struct loom_stream *s, void *arg)
{
    static char chunk[16384];
    for (;;) {
        int rc = loom_stream_write(s, chunk, sizeof chunk);
        size_t b = loom_stream_write_buffered(s);
        max_buffered = b > max_buffered ? b : max_buffered;
        if (rc == 0)
            rc = loom_stream_drain(s, -1);
        if (rc < 0)
            return rc;
    }
}

static intptr_t backpressure_main(void *arg)
{
    struct loom_server_options o = {0};
    struct loom_server *srv = start(&o, flood, NULL);
    struct loom_stream *c = dial(srv);
    wait_conns(srv, 1);
    loom_sleep(LOOM_MS(200)); /* the client reads nothing meanwhile */
    ck_assert_int_gt(max_buffered, 0);
    ck_assert_msg(max_buffered <= LOOM_STREAM_HIGH_WATER + 16384, "buffered %zu", max_buffered);
    /* Reading resumes the flow. */
    static char buf[65536];
    size_t got = 0;
    while (got < 4 * 1024 * 1024) {
        ssize_t n = loom_stream_read_some(c, buf, sizeof buf, LOOM_SEC(5));
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
    }
    loom_stream_close(c);
    ck_assert_int_eq(loom_server_shutdown(srv, LOOM_SEC(1)), 0);
    loom_server_free(srv);
    return 0;
}

/* --- many connections --- */

/* The client side of test_many, in a child process (its own fd table): open n
 * blocking connections, one ping round trip on each, report "ok" on ctl, wait
 * for a byte on ctl, close everything. */
static void many_clients(int port, int n, int ctl)
{
    int *fds = calloc((size_t)n, sizeof(int));
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    for (int i = 0; i < n; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&a, sizeof a) < 0)
            _exit(10);
    }
    for (int i = 0; i < n; i++)
        if (write(fds[i], "ping\n", 5) != 5)
            _exit(11);
    for (int i = 0; i < n; i++) {
        char buf[8];
        size_t got = 0;
        while (got < 5) {
            ssize_t r = read(fds[i], buf + got, 5 - got);
            if (r <= 0)
                _exit(12);
            got += (size_t)r;
        }
    }
    if (write(ctl, "ok", 2) != 2)
        _exit(13);
    char b;
    if (read(ctl, &b, 1) < 0)
        _exit(14);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    _exit(0);
}

static intptr_t many_main(void *arg)
{
    int n = (int)(intptr_t)arg;
    struct loom_server_options o = {.backlog = 4096};
    struct loom_server *srv = start(&o, line_echo, NULL);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    long rss0 = test_rss_kib(0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(sv[0]);
        many_clients(loom_server_port(srv), n, sv[1]);
    }
    close(sv[1]);
    struct loom_stream *ctl;
    ck_assert_int_eq(loom_stream_open_fd(loom_loop_current(), sv[0], 0, &ctl), 0);
    char ok[3];
    ck_assert_int_eq(loom_stream_readexactly(ctl, ok, 2, LOOM_SEC(40)), 2);
    ck_assert_int_eq(loom_server_connections(srv), n);
    long rss1 = test_rss_kib(0);
    double per = (double)(rss1 - rss0) / n;
    fprintf(stderr, "%d connections on %s: %.2f KiB RSS per idle server connection\n", n,
            loom_loop_backend(loom_loop_current()), per);
    /* Target 8 KiB including the task's stack; ASan's redzones and shadow inflate it. */
    ck_assert_msg(UNDER_ASAN || per <= 8, "%.2f KiB per connection", per);
    ck_assert_int_eq(loom_stream_write(ctl, "x", 1), 0);
    for (int i = 0; i < 20000 && loom_server_connections(srv); i++)
        loom_sleep(LOOM_MS(1));
    ck_assert_int_eq(loom_server_connections(srv), 0);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    loom_stream_close(ctl);
    ck_assert_int_eq(loom_server_shutdown(srv, LOOM_SEC(1)), 0);
    loom_server_free(srv);
    return 0;
}

START_TEST(test_basic) { ck_assert_int_eq(test_run_task(basic_main, NULL), 0); }
END_TEST
START_TEST(test_max_conns) { ck_assert_int_eq(test_run_task(max_conns_main, NULL), 0); }
END_TEST
START_TEST(test_idle) { ck_assert_int_eq(test_run_task(idle_main, NULL), 0); }
END_TEST
START_TEST(test_shutdown) { ck_assert_int_eq(test_run_task(shutdown_main, NULL), 0); }
END_TEST
START_TEST(test_serve_forever) { ck_assert_int_eq(test_run_task(serve_forever_main, NULL), 0); }
END_TEST
START_TEST(test_unix) { ck_assert_int_eq(test_run_task(unix_main, NULL), 0); }
END_TEST
START_TEST(test_stop_twice) { ck_assert_int_eq(test_run_task(stop_twice_main, NULL), 0); }
END_TEST
START_TEST(test_backpressure) { ck_assert_int_eq(test_run_task(backpressure_main, NULL), 0); }
END_TEST

/* 10,000 connections on epoll (the clients in a child process).
 * The poll backend scans every fd on each wait, O(n) per iteration, so there
 * the same test runs with 1,000 connections to stay fast. */
START_TEST(test_many)
{
    const char *be = getenv("LOOM_BACKEND");
    /* 10,000 where the backend scales (poll is O(n) per wait); io_uring's
     * fixed 2 MiB of receive buffers per loop would be 2 KiB of 1,000. */
    int n = be && (!strcmp(be, "epoll") || !strcmp(be, "io_uring")) ? 10000 : 1000;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rlim_t want = (rlim_t)(n + 200); /* the clients are in a child process */
    if (rl.rlim_max < want && rl.rlim_max != RLIM_INFINITY) {
        struct rlimit up = {want, want}; /* root may raise the hard limit */
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl = up;
    }
    if (rl.rlim_max < want && rl.rlim_max != RLIM_INFINITY)
        n = (int)(rl.rlim_max - 200); /* as many as the hard limit allows */
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    ck_assert_int_eq(test_run_task(many_main, (void *)(intptr_t)n), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("server");
    struct {
        const char *name;
        const TTest *fn;
        double timeout;
    } cases[] = {
        {"basic", test_basic, 20},
        {"max_conns", test_max_conns, 20},
        {"idle", test_idle, 20},
        {"shutdown", test_shutdown, 20},
        {"serve_forever", test_serve_forever, 20},
        {"stop_twice", test_stop_twice, 40},
        {"backpressure", test_backpressure, 20},
        {"unix", test_unix, 20},
        {"many", test_many, 60},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = test_tcase(s, cases[i].name, cases[i].timeout);
        tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
        tcase_add_test(tc, cases[i].fn);
    }
    return test_main(s);
}
