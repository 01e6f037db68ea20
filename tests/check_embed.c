/* check_embed.c - loom as a guest: a host-owned loop (backend fd + timeout,
 * driven with LOOM_RUN_NOWAIT), loom_async, loom_run_task_threadsafe, loops
 * started in many threads at once, and the two embedding examples
 * (demos/embed/poll_host, glib_host) run as programs. Also in `make tsan`. */
#include "harness/harness.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net/stream.h"
#include "reactor/future.h"
#include "reactor/loop.h"
#include "reactor/task.h"

static bool is_poll_backend(void)
{
    const char *b = getenv("LOOM_BACKEND");
    return b && strcmp(b, "poll") == 0;
}

/* --- backend fd and timeout --- */

static void nop(void *arg) {}
static void timer_nop(struct loom_timer *t) {}
static void io_nop(struct loom_io *io, unsigned ev) {}
static intptr_t give(void *arg) { return (intptr_t)arg; }

START_TEST(test_backend_fd)
{
    struct loom_loop *loop = test_loop_new();
    int fd = loom_loop_backend_fd(loop);
    if (is_poll_backend())
        ck_assert_int_eq(fd, -ENOTSUP);
    else
        ck_assert_int_ge(fd, 0);
    test_loop_free(loop);
}
END_TEST

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Starts t for delay_ns and checks loom_loop_backend_timeout: `want` ms (the
 * delay rounded up) when read at once. The time that passes meanwhile (a loaded
 * machine, TSan) is measured rather than guessed, so the check allows exactly
 * what it permits: between ceil(delay - elapsed) and want. */
static void timer_timeout(struct loom_loop *loop, struct loom_timer *t, int64_t delay_ns, int want)
{
    int64_t t0 = mono_ns();
    loom_loop_update_time(loop); /* the timer's deadline is now >= t0 + delay_ns */
    ck_assert_int_eq(loom_timer_start(t, delay_ns), 0);
    int ms = loom_loop_backend_timeout(loop);
    int64_t left = delay_ns - (mono_ns() - t0); /* the deadline is at least this far off */
    loom_timer_stop(t);
    int lo = left > 0 ? (int)((left + 999999) / 1000000) : 0;
    ck_assert_msg(ms >= lo && ms <= want, "%d ms, expected %d-%d", ms, lo, want);
}

START_TEST(test_backend_timeout)
{
    struct loom_loop *loop = test_loop_new();
    /* A new loop has its own wake-up channel to register: 0 until it ran once. */
    ck_assert_int_ge(loom_loop_run(loop, LOOM_RUN_NOWAIT), 0);
    ck_assert_int_eq(loom_loop_backend_timeout(loop), -1); /* nothing scheduled */
    ck_assert_int_eq(loom_call_soon(loop, nop, NULL), 0);
    ck_assert_int_eq(loom_loop_backend_timeout(loop), 0); /* a call is ready */
    ck_assert_int_ge(loom_loop_run(loop, LOOM_RUN_NOWAIT), 0);
    ck_assert_int_eq(loom_loop_backend_timeout(loop), -1);
    struct loom_timer t;
    loom_timer_init(loop, &t, timer_nop);
    timer_timeout(loop, &t, LOOM_US(1500), 2); /* rounds up */
    timer_timeout(loop, &t, LOOM_SEC(5), 5000);
    /* A watcher change not yet applied: the host must run the loop at once. */
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    struct loom_io io;
    ck_assert_int_eq(loom_io_init(loop, &io, sv[0], io_nop), 0);
    ck_assert_int_eq(loom_io_start(&io, LOOM_READABLE), 0);
    ck_assert_int_eq(loom_loop_backend_timeout(loop), 0);
    ck_assert_int_ge(loom_loop_run(loop, LOOM_RUN_NOWAIT), 0);
    ck_assert_int_eq(loom_loop_backend_timeout(loop), -1);
    if (!is_poll_backend()) {
        /* Idle: the fd stays quiet and nothing asks for a wake-up. */
        struct pollfd p = {.fd = loom_loop_backend_fd(loop), .events = POLLIN};
        ck_assert_int_eq(poll(&p, 1, 50), 0);
        ck_assert_int_eq(write(sv[1], "x", 1), 1);
        ck_assert_int_eq(poll(&p, 1, 2000), 1); /* I/O makes it readable */
    }
    /* A task spawned by host code on a loop that is not running. */
    struct loom_task *task;
    ck_assert_int_eq(loom_task_spawn(loop, give, (void *)5, NULL, &task), 0);
    ck_assert_int_eq(loom_loop_backend_timeout(loop), 0);
    loom_io_close(&io);
    close(sv[0]);
    close(sv[1]);
    ck_assert_int_eq(loom_loop_run_until_complete(loop, task), 5);
    test_loop_free(loop);
}
END_TEST

/* A ping-pong over a socketpair, the loop driven only by a host poll(). */
static intptr_t pong(void *arg)
{
    struct loom_stream *s = arg;
    char line[64];
    ssize_t n = loom_stream_readline(s, line, sizeof(line), LOOM_SEC(5));
    if (n <= 0)
        return n;
    if (loom_sleep(LOOM_MS(30)) < 0) /* a timer, so the host must honour the timeout */
        return -1;
    return loom_stream_write(s, "pong\n", 5) < 0 ? -2 : 7;
}

START_TEST(test_host_driven)
{
    struct loom_loop *loop = test_loop_new();
    if (is_poll_backend()) {
        ck_assert_int_eq(loom_loop_backend_fd(loop), -ENOTSUP);
        test_loop_free(loop);
        return;
    }
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct loom_stream *s;
    ck_assert_int_eq(loom_stream_open_fd(loop, sv[0], 0, &s), 0);
    struct loom_task *t;
    ck_assert_int_eq(loom_task_spawn(loop, pong, s, NULL, &t), 0);
    ck_assert_int_eq(write(sv[1], "ping\n", 5), 5);
    struct pollfd p = {.fd = loom_loop_backend_fd(loop), .events = POLLIN};
    int wakeups = 0;
    double t0 = test_now();
    while (!loom_task_done(t) && test_now() - t0 < 5) {
        poll(&p, 1, loom_loop_backend_timeout(loop));
        wakeups++;
        ck_assert_int_ge(loom_loop_run(loop, LOOM_RUN_NOWAIT), 0);
    }
    ck_assert_int_eq(loom_task_result(t), 7);
    ck_assert_msg(wakeups < 20, "no tick, no spinning: %d wake-ups", wakeups);
    char buf[8] = {0};
    ck_assert_int_eq(read(sv[1], buf, 5), 5);
    ck_assert_str_eq(buf, "pong\n");
    loom_task_release(t);
    loom_stream_close(s);
    close(sv[1]);
    ck_assert_int_ge(loom_loop_run(loop, LOOM_RUN_NOWAIT), 0);
    test_loop_free(loop);
}
END_TEST

/* --- loom_async --- */

static int async_calls;
static void count_cb(struct loom_async *a) { async_calls++; }

START_TEST(test_async_coalesces)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_async a;
    async_calls = 0;
    ck_assert_int_eq(loom_async_init(loop, &a, count_cb), 0);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(loom_async_send(&a), 0);
    double t0 = test_now();
    while (async_calls == 0 && test_now() - t0 < 5)
        ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_ONCE), 1); /* an open async keeps it alive */
    ck_assert_int_eq(async_calls, 1);
    loom_async_close(&a);
    ck_assert_int_eq(loom_async_send(&a), -EINVAL);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    test_loop_free(loop);
}
END_TEST

struct sender {
    struct loom_async *a;
    atomic_int *sent;
};

static void *send_many(void *p)
{
    struct sender *s = p;
    for (int i = 0; i < 1000; i++) {
        atomic_fetch_add(s->sent, 1);
        loom_async_send(s->a);
    }
    return NULL;
}

static atomic_int total_sent;
static int seen_total;

static void seen_cb(struct loom_async *a)
{
    async_calls++;
    seen_total = atomic_load(&total_sent);
    if (seen_total == 4000)
        loom_async_close(a);
}

START_TEST(test_async_threads)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_async a;
    async_calls = 0;
    atomic_store(&total_sent, 0);
    ck_assert_int_eq(loom_async_init(loop, &a, seen_cb), 0);
    pthread_t th[4];
    struct sender s = {&a, &total_sent};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, send_many, &s), 0);
    /* The last send after the last count is never lost: the loop runs until
     * its callback has seen all 4000, then closes the handle and returns. */
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(seen_total, 4000);
    ck_assert_int_ge(async_calls, 1);
    ck_assert_int_le(async_calls, 4000);
    test_loop_free(loop);
}
END_TEST

/* A task awaits, with no timeout, a future that another thread resolves
 * through an async: the open async keeps the loop alive, so no deadlock. */
struct handoff {
    struct loom_async async;
    struct loom_future fut;
    atomic_int value;
};

static void handoff_cb(struct loom_async *a)
{
    struct handoff *h = (struct handoff *)a;
    loom_future_set_result(&h->fut, atomic_load(&h->value));
    loom_async_close(a);
}

static void *resolver(void *p)
{
    struct handoff *h = p;
    usleep(20000);
    atomic_store(&h->value, 99);
    loom_async_send(&h->async);
    return NULL;
}

static intptr_t awaiter(void *p)
{
    struct handoff *h = p;
    return loom_future_await(&h->fut, -1);
}

START_TEST(test_async_keeps_alive)
{
    struct loom_loop *loop = test_loop_new();
    struct handoff h;
    loom_future_init(&h.fut);
    atomic_init(&h.value, 0);
    ck_assert_int_eq(loom_async_init(loop, &h.async, handoff_cb), 0);
    struct loom_task *t;
    ck_assert_int_eq(loom_task_spawn(loop, awaiter, &h, NULL, &t), 0);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, resolver, &h), 0);
    ck_assert_int_eq(loom_loop_run_until_complete(loop, t), 99);
    pthread_join(th, NULL);
    test_loop_free(loop);
}
END_TEST

/* --- loom_run_task_threadsafe --- */

struct loop_thread {
    struct loom_loop *loop;
    struct loom_async stop;
    pthread_t th;
    atomic_int ready;
};

static void stop_cb(struct loom_async *a) { loom_async_close(a); }

static void *run_loop(void *p)
{
    struct loop_thread *lt = p;
    atomic_store(&lt->ready, 1);
    loom_loop_run(lt->loop, LOOM_RUN_DEFAULT); /* alive while lt->stop is open */
    return NULL;
}

static intptr_t slow_seven(void *arg)
{
    int rc = loom_sleep(LOOM_MS(10));
    return rc < 0 ? rc : 7;
}

static atomic_int was_cancelled;

static intptr_t forever(void *arg)
{
    int rc = loom_sleep(LOOM_SEC(30));
    if (rc == -ECANCELED)
        atomic_store(&was_cancelled, 1);
    return rc;
}

static intptr_t nested(void *arg)
{
    intptr_t r;
    return loom_run_task_threadsafe(arg, give, NULL, NULL, -1, &r); /* on the loop's thread */
}

START_TEST(test_run_task_threadsafe)
{
    struct loop_thread lt;
    lt.loop = test_loop_new();
    atomic_init(&lt.ready, 0);
    atomic_init(&was_cancelled, 0);
    ck_assert_int_eq(loom_async_init(lt.loop, &lt.stop, stop_cb), 0);
    ck_assert_int_eq(pthread_create(&lt.th, NULL, run_loop, &lt), 0);
    intptr_t r = 0;
    ck_assert_int_eq(loom_run_task_threadsafe(lt.loop, slow_seven, NULL, "seven", LOOM_SEC(5), &r),
                     0);
    ck_assert_int_eq(r, 7);
    ck_assert_int_eq(loom_run_task_threadsafe(lt.loop, forever, NULL, "forever", LOOM_MS(30), &r),
                     -ETIMEDOUT);
    ck_assert_int_eq(loom_run_task_threadsafe(lt.loop, nested, lt.loop, NULL, LOOM_SEC(5), &r), 0);
    ck_assert_int_eq(r, -EDEADLK);
    ck_assert_int_eq(loom_run_task_threadsafe(lt.loop, NULL, NULL, NULL, 0, &r), -EINVAL);
    /* The timed-out task was cancelled; wait for it through the loop. */
    double t0 = test_now();
    while (!atomic_load(&was_cancelled) && test_now() - t0 < 5)
        usleep(1000);
    ck_assert(atomic_load(&was_cancelled));
    loom_async_send(&lt.stop);
    pthread_join(lt.th, NULL);
    test_loop_free(lt.loop);
}
END_TEST

/* --- 8 loops started in 8 threads at once (TSan: the stack page size) --- */

static pthread_barrier_t barrier;

static intptr_t tiny(void *arg)
{
    loom_yield();
    return (intptr_t)arg;
}

static void *loop_thread(void *arg)
{
    pthread_barrier_wait(&barrier);
    struct loom_loop *loop;
    if (loom_loop_new(&loop, NULL) < 0)
        return (void *)1;
    struct loom_task *t[4];
    for (int i = 0; i < 4; i++)
        if (loom_task_spawn(loop, tiny, (void *)(intptr_t)i, NULL, &t[i]) < 0)
            return (void *)2;
    intptr_t sum = 0;
    loom_loop_run(loop, LOOM_RUN_DEFAULT);
    for (int i = 0; i < 4; i++) {
        sum += loom_task_result(t[i]);
        loom_task_release(t[i]);
    }
    return (void *)(intptr_t)(loom_loop_free(loop) == 0 && sum == 6 ? 0 : 3);
}

START_TEST(test_eight_loops_at_once)
{
    pthread_t th[8];
    pthread_barrier_init(&barrier, NULL, 8);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, loop_thread, NULL), 0);
    for (int i = 0; i < 8; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        ck_assert_int_eq((intptr_t)rc, 0);
    }
    pthread_barrier_destroy(&barrier);
}
END_TEST

/* --- the examples, run as programs with stdin on a pipe --- */

struct prog {
    pid_t pid;
    int in, out;
    char buf[8192];
    size_t len;
};

static void prog_start(struct prog *p, const char *rel)
{
    char path[512];
    test_build_path(rel, path, sizeof(path));
    int in[2], out[2];
    ck_assert_int_eq(pipe(in), 0);
    ck_assert_int_eq(pipe(out), 0);
    p->pid = fork();
    ck_assert_int_ge(p->pid, 0);
    if (p->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        close(in[1]);
        close(out[0]);
        setenv("LOOM_BACKEND", "epoll", 1); /* the examples need a backend fd */
        execl(path, path, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->in = in[1];
    p->out = out[0];
    p->len = 0;
    p->buf[0] = 0;
}

/* Read until needle appears after from (<= 5 s); returns where it ends. */
static const char *prog_expect(struct prog *p, size_t from, const char *needle)
{
    double t0 = test_now();
    const char *hit;
    while (!(hit = strstr(p->buf + from, needle))) {
        struct pollfd pf = {.fd = p->out, .events = POLLIN};
        ck_assert_msg(test_now() - t0 < 5 && poll(&pf, 1, 100) >= 0, "no \"%s\" in:\n%s", needle,
                      p->buf);
        if (!(pf.revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t n = read(p->out, p->buf + p->len, sizeof(p->buf) - 1 - p->len);
        ck_assert_msg(n > 0, "program ended before \"%s\":\n%s", needle, p->buf);
        p->len += (size_t)n;
        p->buf[p->len] = 0;
    }
    return hit + strlen(needle);
}

static void prog_say(struct prog *p, const char *line)
{
    ck_assert_int_eq(write(p->in, line, strlen(line)), (ssize_t)strlen(line));
}

static long stat_after(struct prog *p, const char *key)
{
    size_t from = p->len;
    prog_say(p, "stats\n");
    const char *end = prog_expect(p, from, key);
    prog_expect(p, (size_t)(end - p->buf), "\n");
    return strtol(end, NULL, 10);
}

static void check_example(const char *rel, const char *counter)
{
    struct prog p;
    prog_start(&p, rel);
    const char *port_s = prog_expect(&p, 0, "listening on 127.0.0.1:");
    prog_expect(&p, (size_t)(port_s - p.buf), "\n");
    int port = atoi(port_s);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(write(c, "hello loom\n", 11), 11);
    char reply[32] = {0};
    size_t got = 0;
    while (got < 11) {
        ssize_t n = read(c, reply + got, 11 - got);
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
    }
    ck_assert_str_eq(reply, "HELLO LOOM\n");
    /* Idle for 300 ms with a connection open: the host is not woken (no tick). */
    long w1 = stat_after(&p, counter);
    usleep(300000);
    long w2 = stat_after(&p, counter);
    ck_assert_msg(w2 - w1 <= 2, "%s went from %ld to %ld while idle", counter, w1, w2);
    close(c);
    prog_say(&p, "quit\n");
    prog_expect(&p, 0, "bye (loom_loop_free: ok)");
    int status;
    ck_assert_int_eq(waitpid(p.pid, &status, 0), p.pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x:\n%s", status, p.buf);
    close(p.in);
    close(p.out);
}

START_TEST(test_example_poll_host) { check_example("demos/embed/poll_host", "wakeups "); }
END_TEST

START_TEST(test_example_glib_host) { check_example("demos/embed/glib_host", "dispatches "); }
END_TEST

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("embed");
    TCase *tc = test_tcase(s, "host", 20);
    tcase_add_test(tc, test_backend_fd);
    tcase_add_test(tc, test_backend_timeout);
    tcase_add_test(tc, test_host_driven);
    tc = test_tcase(s, "async", 20);
    tcase_add_test(tc, test_async_coalesces);
    tcase_add_test(tc, test_async_threads);
    tcase_add_test(tc, test_async_keeps_alive);
    tc = test_tcase(s, "threadsafe", 20);
    tcase_add_test(tc, test_run_task_threadsafe);
    tcase_add_test(tc, test_eight_loops_at_once);
    tc = test_tcase(s, "examples", 30);
    tcase_add_test(tc, test_example_poll_host);
    tcase_add_test(tc, test_example_glib_host);
    return test_main(s);
}
