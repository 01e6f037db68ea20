/* check_loop.c - the callback layer of the reactor: deferred calls, timers,
 * I/O watchers, run modes, signals, backend selection and debug logging.
 * Nothing here uses tasks: the loop must be usable without coroutines. */
#include "harness/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reactor/task.h"

/* --- a small record of what ran, in order --- */

static int order[64];
static int norder;

static void note(void *arg) { order[norder++] = (int)(intptr_t)arg; }

static void reset(void) { norder = 0; }

static void expect_order(const int *want, int n)
{
    ck_assert_int_eq(norder, n);
    for (int i = 0; i < n; i++)
        ck_assert_msg(order[i] == want[i], "position %d: got %d, want %d", i, order[i], want[i]);
}

/* --- call_soon --- */

static void soon_again(void *arg)
{
    note(arg);
    loom_call_soon(loom_loop_current(), note, (void *)(intptr_t)99);
}

START_TEST(test_call_soon_fifo)
{
    struct loom_loop *loop = test_loop_new();
    reset();
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(loom_call_soon(loop, note, (void *)(intptr_t)i), 0);
    ck_assert_int_eq(loom_call_soon(loop, soon_again, (void *)(intptr_t)5), 0);
    ck_assert_int_eq(loom_call_soon(loop, note, (void *)(intptr_t)6), 0);
    /* One iteration runs what was queued before it began; 99 waits for the next. */
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_NOWAIT), 1);
    expect_order((int[]){0, 1, 2, 3, 4, 5, 6}, 7);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    expect_order((int[]){0, 1, 2, 3, 4, 5, 6, 99}, 8);
    test_loop_free(loop);
}
END_TEST

/* --- call_later / call_at --- */

START_TEST(test_call_later_order)
{
    struct loom_loop *loop = test_loop_new();
    reset();
    double t0 = test_now();
    loom_loop_update_time(loop);
    int64_t now = loom_loop_now(loop);
    ck_assert_int_eq(loom_call_later(loop, LOOM_MS(150), note, (void *)3, NULL), 0);
    ck_assert_int_eq(loom_call_later(loop, LOOM_MS(10), note, (void *)1, NULL), 0);
    ck_assert_int_eq(loom_call_at(loop, now + LOOM_MS(100), note, (void *)2, NULL), 0);
    /* Ties fire in the order they were added. */
    for (int i = 10; i < 15; i++)
        ck_assert_int_eq(loom_call_at(loop, now + LOOM_MS(50), note, (void *)(intptr_t)i, NULL), 0);
    ck_assert_int_eq(loom_call_later(loop, -5, note, (void *)0, NULL), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    double dt = test_now() - t0;
    expect_order((int[]){0, 1, 10, 11, 12, 13, 14, 2, 3}, 9);
    ck_assert_msg(dt >= 0.149 && dt < 2.0, "took %.3f s", dt);
    test_loop_free(loop);
}
END_TEST

/* A delay counts from when it is asked for, not from the iteration's start. */
static double later_asked, later_fired;

static void later_fired_cb(void *arg) { later_fired = test_now(); }

static void busy_then_later(void *arg)
{
    double t0 = test_now();
    while (test_now() - t0 < 0.03)
        ;
    later_asked = test_now();
    loom_call_later(loom_loop_current(), LOOM_MS(20), later_fired_cb, NULL, NULL);
}

START_TEST(test_call_later_fresh_clock)
{
    struct loom_loop *loop = test_loop_new();
    loom_call_soon(loop, busy_then_later, NULL);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_msg(later_fired - later_asked >= 0.0195, "fired %.4f s after the call",
                  later_fired - later_asked);
    test_loop_free(loop);
}
END_TEST

START_TEST(test_handle_cancel)
{
    struct loom_loop *loop = test_loop_new();
    reset();
    struct loom_handle *a, *b, *c;
    ck_assert_int_eq(loom_call_later(loop, LOOM_MS(5), note, (void *)1, &a), 0);
    ck_assert_int_eq(loom_call_later(loop, LOOM_MS(5), note, (void *)2, &b), 0);
    ck_assert_int_eq(loom_call_later(loop, LOOM_MS(5), note, (void *)3, &c), 0);
    loom_handle_cancel(b);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    expect_order((int[]){1, 3}, 2);
    /* Cancelling every pending call leaves nothing alive. */
    ck_assert_int_eq(loom_call_later(loop, LOOM_SEC(100), note, (void *)4, &a), 0);
    loom_handle_cancel(a);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    expect_order((int[]){1, 3}, 2);
    test_loop_free(loop);
}
END_TEST

/* A huge delay means "never", not a wrapped deadline in the past. */
START_TEST(test_call_later_huge_delay)
{
    struct loom_loop *loop = test_loop_new();
    reset();
    struct loom_handle *h;
    ck_assert_int_eq(loom_call_later(loop, INT64_MAX, note, (void *)1, &h), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_NOWAIT), 1);
    ck_assert_int_eq(norder, 0);
    loom_handle_cancel(h);
    struct loom_timer t;
    loom_timer_init(loop, &t, NULL);
    ck_assert_int_eq(loom_timer_start(&t, INT64_MAX - 1), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_NOWAIT), 1);
    loom_timer_stop(&t);
    test_loop_free(loop);
}
END_TEST

/* --- timers --- */

static int timer_fired;

static void count_timer(struct loom_timer *t)
{
    timer_fired++;
    (void)t;
}

static void restart_timer(struct loom_timer *t)
{
    if (++timer_fired < 3)
        loom_timer_start(t, 0);
}

START_TEST(test_timer_start_stop_restart)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_timer t;
    timer_fired = 0;
    loom_timer_init(loop, &t, count_timer);
    ck_assert(!loom_timer_active(&t));
    ck_assert_int_eq(loom_timer_start(&t, LOOM_MS(5)), 0);
    ck_assert(loom_timer_active(&t));
    loom_timer_stop(&t);
    loom_timer_stop(&t); /* twice is fine */
    ck_assert(!loom_timer_active(&t));
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_int_eq(timer_fired, 0);
    /* Restart moves the deadline: fires once, at the later time. */
    ck_assert_int_eq(loom_timer_start(&t, LOOM_MS(5)), 0);
    ck_assert_int_eq(loom_timer_start(&t, LOOM_MS(30)), 0);
    double t0 = test_now();
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_int_eq(timer_fired, 1);
    ck_assert_msg(test_now() - t0 >= 0.029, "fired early");
    ck_assert(!loom_timer_active(&t));
    /* A timer restarted with no delay from its callback fires on the next iteration. */
    timer_fired = 0;
    t.cb = restart_timer;
    ck_assert_int_eq(loom_timer_start(&t, 0), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_NOWAIT), 1);
    ck_assert_int_eq(timer_fired, 1);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_int_eq(timer_fired, 3);
    test_loop_free(loop);
}
END_TEST

#define NTIMERS 1000000

struct big {
    int64_t base;
    int64_t last_when;
    intptr_t last_i;
    int fired;
    int out_of_order;
};
static struct big big;

static int64_t big_when(intptr_t i) { return big.base + (i * 7919 % 1000) * 1000; }

static void big_cb(void *arg)
{
    intptr_t i = (intptr_t)arg;
    int64_t when = big_when(i);
    if (i % 2 == 1 || when < big.last_when || (when == big.last_when && i < big.last_i))
        big.out_of_order++;
    big.last_when = when;
    big.last_i = i;
    big.fired++;
}

START_TEST(test_million_timers)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_handle **h = malloc(NTIMERS * sizeof(*h));
    ck_assert_ptr_nonnull(h);
    memset(&big, 0, sizeof(big));
    big.base = loom_loop_now(loop) + LOOM_MS(50);
    big.last_i = -1;
    for (intptr_t i = 0; i < NTIMERS; i++)
        ck_assert_int_eq(loom_call_at(loop, big_when(i), big_cb, (void *)i, &h[i]), 0);
    for (intptr_t i = 1; i < NTIMERS; i += 2)
        loom_handle_cancel(h[i]);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_int_eq(big.fired, NTIMERS / 2);
    ck_assert_int_eq(big.out_of_order, 0);
    free(h);
    test_loop_free(loop);
}
END_TEST

/* --- I/O watchers --- */

static void nonblocking_pair(int sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

struct io_rec {
    int calls;
    unsigned last;
    char buf[16];
    ssize_t got;
};

static void io_record(struct loom_io *io, unsigned revents)
{
    struct io_rec *r = io->data;
    r->calls++;
    r->last = revents;
    if (revents & LOOM_READABLE) {
        ssize_t n = read(io->fd, r->buf, sizeof(r->buf));
        if (n > 0)
            r->got += n;
        if (n == 0) /* end of stream: stop asking */
            loom_io_stop(io, LOOM_READABLE);
    }
    if (revents & LOOM_WRITABLE)
        loom_io_stop(io, LOOM_WRITABLE);
}

START_TEST(test_io_readable_writable)
{
    test_fd_mark();
    struct loom_loop *loop = test_loop_new();
    int sv[2];
    nonblocking_pair(sv);
    struct loom_io io;
    struct io_rec rec = {0};
    ck_assert_int_eq(loom_io_init(loop, &io, sv[0], io_record), 0);
    io.data = &rec;
    ck_assert_int_eq(loom_io_start(&io, LOOM_WRITABLE), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_ONCE), 0);
    ck_assert_int_eq(rec.calls, 1);
    ck_assert_uint_eq(rec.last, LOOM_WRITABLE);
    /* Readable: nothing until the peer writes. */
    ck_assert_int_eq(loom_io_start(&io, LOOM_READABLE), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_NOWAIT), 1);
    ck_assert_int_eq(rec.calls, 1);
    ck_assert_int_eq(write(sv[1], "hello", 5), 5);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_ONCE), 1);
    ck_assert_int_eq(rec.calls, 2);
    ck_assert_uint_eq(rec.last, LOOM_READABLE);
    ck_assert_int_eq(rec.got, 5);
    /* Stop: data pending but no callback. */
    ck_assert_int_eq(write(sv[1], "x", 1), 1);
    loom_io_stop(&io, LOOM_READABLE);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_NOWAIT), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_NOWAIT), 0);
    ck_assert_int_eq(rec.calls, 2);
    /* Start again: level-triggered, the pending byte is reported. */
    loom_io_start(&io, LOOM_READABLE);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_ONCE), 1);
    ck_assert_int_eq(rec.calls, 3);
    ck_assert_int_eq(rec.got, 6);
    /* Hang-up is reported as readable; the read sees EOF and stops. */
    close(sv[1]);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_int_eq(rec.calls, 4);
    loom_io_close(&io);
    close(sv[0]);
    test_loop_free(loop);
    test_fd_check();
}
END_TEST

struct closer {
    struct loom_io io[2];
    int fds[2][2];
    int calls[2];
};

static void close_other(struct loom_io *io, unsigned revents)
{
    struct closer *c = io->data;
    int me = io == &c->io[0] ? 0 : 1, other = 1 - me;
    c->calls[me]++;
    char b;
    while (read(io->fd, &b, 1) > 0)
        ;
    if (c->fds[other][0] >= 0) { /* close the other watcher and its fd while its event is queued */
        loom_io_close(&c->io[other]);
        close(c->fds[other][0]);
        close(c->fds[other][1]);
        c->fds[other][0] = -1;
    }
    loom_io_stop(io, LOOM_READABLE);
}

START_TEST(test_io_close_pending)
{
    test_fd_mark();
    struct loom_loop *loop = test_loop_new();
    struct closer c = {0};
    for (int i = 0; i < 2; i++) {
        nonblocking_pair(c.fds[i]);
        ck_assert_int_eq(loom_io_init(loop, &c.io[i], c.fds[i][0], close_other), 0);
        c.io[i].data = &c;
        loom_io_start(&c.io[i], LOOM_READABLE);
        ck_assert_int_eq(write(c.fds[i][1], "x", 1), 1);
    }
    /* Arm both, then make both ready in the same poll. */
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_ONCE), 0);
    ck_assert_int_eq(c.calls[0] + c.calls[1], 1);
    int survivor = c.calls[0] ? 0 : 1;
    loom_io_close(&c.io[survivor]);
    close(c.fds[survivor][0]);
    close(c.fds[survivor][1]);
    /* The closed fd number is reused by a new watcher, which must work. */
    int sv[2];
    nonblocking_pair(sv);
    struct loom_io io;
    struct io_rec rec = {0};
    ck_assert_int_eq(loom_io_init(loop, &io, sv[0], io_record), 0);
    io.data = &rec;
    loom_io_start(&io, LOOM_READABLE);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_NOWAIT), 1);
    ck_assert_int_eq(rec.calls, 0);
    ck_assert_int_eq(write(sv[1], "abc", 3), 3);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_ONCE), 1);
    ck_assert_int_eq(rec.got, 3);
    loom_io_close(&io);
    close(sv[0]);
    close(sv[1]);
    test_loop_free(loop);
    test_fd_check();
}
END_TEST

/* A watcher stopped lazily stays armed in the backend; reusing its fd number for
 * another file after close must not inherit the old registration. */
START_TEST(test_io_fd_reuse_after_lazy_stop)
{
    test_fd_mark();
    struct loom_loop *loop = test_loop_new();
    int a[2];
    nonblocking_pair(a);
    struct loom_io io;
    struct io_rec rec = {0};
    ck_assert_int_eq(loom_io_init(loop, &io, a[0], io_record), 0);
    io.data = &rec;
    loom_io_start(&io, LOOM_READABLE | LOOM_WRITABLE);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_ONCE), 1); /* writable fired and stopped */
    loom_io_stop(&io, LOOM_READABLE);
    loom_io_close(&io);
    int fd = a[0];
    close(a[0]);
    close(a[1]);
    int b[2];
    nonblocking_pair(b);
    ck_assert_int_eq(b[0], fd);
    rec = (struct io_rec){0};
    ck_assert_int_eq(loom_io_init(loop, &io, b[0], io_record), 0);
    io.data = &rec;
    loom_io_start(&io, LOOM_READABLE);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_NOWAIT), 1);
    ck_assert_int_eq(rec.calls, 0);
    ck_assert_int_eq(write(b[1], "z", 1), 1);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_ONCE), 1);
    ck_assert_int_eq(rec.calls, 1);
    ck_assert_uint_eq(rec.last, LOOM_READABLE);
    loom_io_close(&io);
    close(b[0]);
    close(b[1]);
    test_loop_free(loop);
    test_fd_check();
}
END_TEST

/* A regular file cannot be watched with epoll (EPERM): the failure is reported
 * as readiness, once per iteration even if the callback asks again. */
static void rearm(struct loom_io *io, unsigned revents)
{
    struct io_rec *r = io->data;
    r->calls++;
    r->last = revents;
    loom_io_start(io, LOOM_READABLE);
}

START_TEST(test_io_unwatchable_fd)
{
    test_fd_mark();
    struct loom_loop *loop = test_loop_new();
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    struct loom_io io;
    struct io_rec rec = {0};
    ck_assert_int_eq(loom_io_init(loop, &io, fileno(f), rearm), 0);
    io.data = &rec;
    loom_io_start(&io, LOOM_READABLE);
    loom_loop_run(loop, LOOM_RUN_NOWAIT);
    ck_assert_int_eq(rec.calls, 1);
    ck_assert(rec.last & LOOM_READABLE);
    loom_loop_run(loop, LOOM_RUN_NOWAIT);
    ck_assert_int_eq(rec.calls, 2);
    loom_io_close(&io);
    fclose(f);
    test_loop_free(loop);
    test_fd_check();
}
END_TEST

/* --- run modes, stop, free --- */

START_TEST(test_run_modes)
{
    struct loom_loop *loop = test_loop_new();
    reset();
    /* Nothing alive: every mode returns 0 at once. */
    double t0 = test_now();
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_ONCE), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_NOWAIT), 0);
    ck_assert(test_now() - t0 < 0.5);
    /* NOWAIT does not wait for a timer; ONCE does. */
    ck_assert_int_eq(loom_call_later(loop, LOOM_MS(20), note, (void *)1, NULL), 0);
    ck_assert_int_eq(loom_call_later(loop, LOOM_MS(500), note, (void *)2, NULL), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_NOWAIT), 1);
    ck_assert_int_eq(norder, 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_ONCE), 1);
    expect_order((int[]){1}, 1);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    expect_order((int[]){1, 2}, 2);
    ck_assert(loom_loop_current() == NULL);
    test_loop_free(loop);
}
END_TEST

static void stopper(void *arg) { loom_loop_stop(arg); }

static void check_current(void *arg)
{
    ck_assert_ptr_eq(loom_loop_current(), arg);
    ck_assert_int_eq(loom_loop_run(arg, LOOM_RUN_ONCE), -EBUSY); /* not re-entrant */
}

START_TEST(test_loop_stop)
{
    struct loom_loop *loop = test_loop_new();
    reset();
    struct loom_handle *h;
    ck_assert_int_eq(loom_call_later(loop, LOOM_SEC(100), note, (void *)9, &h), 0);
    ck_assert_int_eq(loom_call_soon(loop, check_current, loop), 0);
    ck_assert_int_eq(loom_call_later(loop, LOOM_MS(10), stopper, loop, NULL), 0);
    double t0 = test_now();
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 1);
    ck_assert(test_now() - t0 < 5);
    /* stop before run: one iteration, then return. */
    loom_loop_stop(loop);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 1);
    loom_handle_cancel(h);
    ck_assert_int_eq(norder, 0);
    test_loop_free(loop);
}
END_TEST

static void noop_signal(struct loom_signal *s, int signum)
{
    (void)s;
    (void)signum;
}

START_TEST(test_loop_free_busy)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_timer t;
    loom_timer_init(loop, &t, count_timer);
    loom_timer_start(&t, LOOM_SEC(10));
    ck_assert_int_eq(loom_loop_free(loop), -EBUSY);
    loom_timer_stop(&t);

    int sv[2];
    nonblocking_pair(sv);
    struct loom_io io;
    loom_io_init(loop, &io, sv[0], io_record);
    loom_io_start(&io, LOOM_READABLE);
    ck_assert_int_eq(loom_loop_free(loop), -EBUSY);
    loom_io_close(&io);
    close(sv[0]);
    close(sv[1]);

    struct loom_signal s;
    loom_signal_init(loop, &s, noop_signal);
    ck_assert_int_eq(loom_signal_start(&s, SIGUSR2), 0);
    ck_assert_int_eq(loom_loop_free(loop), -EBUSY);
    loom_signal_stop(&s);

    ck_assert_int_eq(loom_call_soon(loop, note, NULL), 0);
    ck_assert_int_eq(loom_loop_free(loop), -EBUSY);
    reset();
    loom_loop_run(loop, LOOM_RUN_DEFAULT);
    test_loop_free(loop);
}
END_TEST

/* --- a program of callbacks alone: a ping-pong over a socketpair with a timeout --- */

struct pingpong {
    struct loom_loop *loop;
    struct loom_io a, b;
    struct loom_timer deadline;
    int rounds;
    bool timed_out;
};

static void pp_close(struct pingpong *p)
{
    loom_io_close(&p->a);
    loom_io_close(&p->b);
    loom_timer_stop(&p->deadline);
}

static void pp_read(struct loom_io *io, unsigned revents)
{
    struct pingpong *p = io->data;
    char c;
    if (read(io->fd, &c, 1) != 1)
        return;
    if (io == &p->a && ++p->rounds == 1000) {
        pp_close(p);
        return;
    }
    ck_assert_int_eq(write(io->fd, &c, 1), 1);
}

static void pp_timeout(struct loom_timer *t)
{
    struct pingpong *p = t->data;
    p->timed_out = true;
    pp_close(p);
}

START_TEST(test_callbacks_only_program)
{
    test_fd_mark();
    struct loom_loop *loop = test_loop_new();
    int sv[2];
    nonblocking_pair(sv);
    struct pingpong p = {.loop = loop};
    loom_io_init(loop, &p.a, sv[0], pp_read);
    loom_io_init(loop, &p.b, sv[1], pp_read);
    p.a.data = p.b.data = &p;
    loom_io_start(&p.a, LOOM_READABLE);
    loom_io_start(&p.b, LOOM_READABLE);
    loom_timer_init(loop, &p.deadline, pp_timeout);
    p.deadline.data = &p;
    loom_timer_start(&p.deadline, LOOM_SEC(20));
    ck_assert_int_eq(write(sv[0], "!", 1), 1);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert(!p.timed_out);
    ck_assert_int_eq(p.rounds, 1000);
    ck_assert_ptr_null(loom_task_current());
    close(sv[0]);
    close(sv[1]);
    test_loop_free(loop);
    test_fd_check();
}
END_TEST

/* --- signals --- */

struct sigrec {
    int count, signum;
    struct loom_loop *loop_seen;
};

static void on_sig(struct loom_signal *s, int signum)
{
    struct sigrec *r = s->data;
    r->count++;
    r->signum = signum;
    r->loop_seen = loom_loop_current();
    loom_signal_stop(s);
}

static void send_usr1(void *arg)
{
    kill(getpid(), SIGUSR1);
    (void)arg;
}

START_TEST(test_signal_delivered_on_loop)
{
    test_fd_mark();
    struct loom_loop *loop = test_loop_new();
    struct loom_signal s;
    struct sigrec rec = {0};
    loom_signal_init(loop, &s, on_sig);
    s.data = &rec;
    ck_assert_int_eq(loom_signal_start(&s, 0), -EINVAL);
    ck_assert_int_eq(loom_signal_start(&s, SIGKILL), -EINVAL);
    ck_assert_int_eq(loom_signal_start(&s, SIGUSR1), 0);
    raise(SIGUSR1);
    struct loom_timer guard;
    loom_timer_init(loop, &guard, count_timer);
    loom_timer_start(&guard, LOOM_SEC(10));
    while (rec.count == 0 && loom_timer_active(&guard))
        loom_loop_run(loop, LOOM_RUN_ONCE);
    ck_assert_int_eq(rec.count, 1);
    ck_assert_int_eq(rec.signum, SIGUSR1);
    ck_assert_ptr_eq(rec.loop_seen, loop);
    /* Again, sent from a callback with kill(). */
    ck_assert_int_eq(loom_signal_start(&s, SIGUSR1), 0);
    loom_call_soon(loop, send_usr1, NULL);
    while (rec.count == 1 && loom_timer_active(&guard))
        loom_loop_run(loop, LOOM_RUN_ONCE);
    ck_assert_int_eq(rec.count, 2);
    loom_timer_stop(&guard);
    test_loop_free(loop);
    test_fd_check();
}
END_TEST

/* A task parked on a future is woken by a signal through the signal callback. */
static struct loom_future sig_future;

static void sig_to_future(struct loom_signal *s, int signum)
{
    loom_future_set_result(&sig_future, signum);
    loom_signal_stop(s);
}

static intptr_t wait_signal_task(void *arg)
{
    struct loom_signal *s = arg;
    loom_call_later(loom_loop_current(), LOOM_MS(20), send_usr1, NULL, NULL);
    intptr_t r = loom_future_await(&sig_future, LOOM_SEC(10));
    ck_assert(!loom_list_linked(&s->_node));
    return r;
}

START_TEST(test_signal_wakes_parked_task)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_signal s;
    loom_future_init(&sig_future);
    loom_signal_init(loop, &s, sig_to_future);
    ck_assert_int_eq(loom_signal_start(&s, SIGUSR1), 0);
    struct loom_task *t;
    ck_assert_int_eq(loom_task_spawn(loop, wait_signal_task, &s, NULL, &t), 0);
    ck_assert_int_eq(loom_loop_run_until_complete(loop, t), SIGUSR1);
    test_loop_free(loop);
}
END_TEST

/* A signal watched from inside a task stays blocked (signalfd) in every
 * context: the ucontext switch must not restore a stale signal mask. */
static intptr_t watch_in_task(void *arg)
{
    struct loom_signal *s = arg;
    loom_future_init(&sig_future);
    ck_assert_int_eq(loom_signal_start(s, SIGUSR1), 0);
    ck_assert_int_eq(loom_yield(), 0);                    /* back to the scheduler and here again */
    loom_call_soon(loom_loop_current(), send_usr1, NULL); /* sent from the scheduler */
    return loom_future_await(&sig_future, LOOM_SEC(10));
}

static intptr_t raise_in_task(void *arg)
{
    kill(getpid(), SIGUSR1);
    return loom_future_await(&sig_future, LOOM_SEC(10));
}

START_TEST(test_signal_watched_from_task)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_signal s;
    loom_signal_init(loop, &s, sig_to_future);
    struct loom_task *t;
    ck_assert_int_eq(loom_task_spawn(loop, watch_in_task, &s, NULL, &t), 0);
    ck_assert_int_eq(loom_loop_run_until_complete(loop, t), SIGUSR1);
    /* Watched from a callback, raised inside a task made before the watch. */
    loom_future_init(&sig_future);
    ck_assert_int_eq(loom_task_spawn(loop, raise_in_task, NULL, NULL, &t), 0);
    ck_assert_int_eq(loom_signal_start(&s, SIGUSR1), 0);
    ck_assert_int_eq(loom_loop_run_until_complete(loop, t), SIGUSR1);
    test_loop_free(loop);
}
END_TEST

/* A callback stopping every watcher (the usual shutdown) must not derail delivery. */
static struct loom_signal *all_watchers[2];

static void stop_all(struct loom_signal *s, int signum)
{
    struct sigrec *r = s->data;
    r->count++;
    loom_signal_stop(all_watchers[0]);
    loom_signal_stop(all_watchers[1]);
}

START_TEST(test_signal_callback_stops_others)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_signal a, b;
    struct sigrec ra = {0}, rb = {0};
    loom_signal_init(loop, &a, stop_all);
    loom_signal_init(loop, &b, stop_all);
    a.data = &ra;
    b.data = &rb;
    all_watchers[0] = &a;
    all_watchers[1] = &b;
    ck_assert_int_eq(loom_signal_start(&a, SIGUSR1), 0);
    ck_assert_int_eq(loom_signal_start(&b, SIGUSR2), 0);
    raise(SIGUSR1);
    for (int i = 0; i < 100 && ra.count == 0; i++)
        loom_loop_run(loop, LOOM_RUN_ONCE);
    ck_assert_int_eq(ra.count, 1);
    ck_assert_int_eq(rb.count, 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_NOWAIT), 0); /* nothing left */
    test_loop_free(loop);
}
END_TEST

/* Stopping a watcher restores the default disposition; two watchers share a signal. */
START_TEST(test_signal_two_watchers)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_signal s1, s2;
    struct sigrec r1 = {0}, r2 = {0};
    loom_signal_init(loop, &s1, on_sig);
    loom_signal_init(loop, &s2, on_sig);
    s1.data = &r1;
    s2.data = &r2;
    ck_assert_int_eq(loom_signal_start(&s1, SIGUSR2), 0);
    ck_assert_int_eq(loom_signal_start(&s2, SIGUSR2), 0);
    raise(SIGUSR2);
    for (int i = 0; i < 100 && r1.count + r2.count < 2; i++)
        loom_loop_run(loop, LOOM_RUN_ONCE);
    ck_assert_int_eq(r1.count, 1);
    ck_assert_int_eq(r2.count, 1);
    /* Both stopped: the signal is no longer caught (blocked or handled by us). */
    struct sigaction sa;
    sigaction(SIGUSR2, NULL, &sa);
    ck_assert_ptr_eq((void *)sa.sa_handler, (void *)SIG_DFL);
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    ck_assert(!sigismember(&cur, SIGUSR2));
    test_loop_free(loop);
}
END_TEST

/* --- backends --- */

START_TEST(test_backend_selection)
{
    struct loom_loop *loop;
    struct loom_loop_options opt = {.backend = "poll"};
    ck_assert_int_eq(loom_loop_new(&loop, &opt), 0);
    ck_assert_str_eq(loom_loop_backend(loop), "poll");
    ck_assert_int_eq(loom_loop_free(loop), 0);
#ifdef __linux__
    opt.backend = "epoll";
    ck_assert_int_eq(loom_loop_new(&loop, &opt), 0);
    ck_assert_str_eq(loom_loop_backend(loop), "epoll");
    ck_assert_int_eq(loom_loop_free(loop), 0);
#endif
    opt.backend = "bogus";
    ck_assert_int_eq(loom_loop_new(&loop, &opt), -EINVAL);
    setenv("LOOM_BACKEND", "bogus", 1);
    ck_assert_int_eq(loom_loop_new(&loop, NULL), -EINVAL);
    setenv("LOOM_BACKEND", "poll", 1);
    ck_assert_int_eq(loom_loop_new(&loop, NULL), 0);
    ck_assert_str_eq(loom_loop_backend(loop), "poll");
    ck_assert_int_eq(loom_loop_free(loop), 0);
    /* The option wins over the environment. */
    opt.backend = "poll";
    setenv("LOOM_BACKEND", "bogus", 1);
    ck_assert_int_eq(loom_loop_new(&loop, &opt), 0);
    ck_assert_int_eq(loom_loop_free(loop), 0);
    unsetenv("LOOM_BACKEND");
    ck_assert_int_eq(loom_loop_new(&loop, NULL), 0);
    ck_assert_int_eq(loom_loop_free(loop), 0);
}
END_TEST

/* The suite runs once per backend: the loop really uses the one asked for. */
START_TEST(test_backend_from_env)
{
    const char *want = getenv("LOOM_BACKEND");
    struct loom_loop *loop = test_loop_new();
    if (want && *want)
        ck_assert_str_eq(loom_loop_backend(loop), want);
    test_loop_free(loop);
}
END_TEST

/* --- debug logging --- */

static char logbuf[4096];

static void capture_log(void *arg, const char *msg)
{
    size_t len = strlen(logbuf);
    snprintf(logbuf + len, sizeof(logbuf) - len, "%s|%s\n", (const char *)arg, msg);
}

static void slow_callback(void *arg)
{
    double t0 = test_now();
    while (test_now() - t0 < 0.02)
        ;
    (void)arg;
}

START_TEST(test_debug_log)
{
    struct loom_loop *loop;
    struct loom_loop_options opt = {.debug = 1, .slow_step_ns = LOOM_MS(5)};
    ck_assert_int_eq(loom_loop_new(&loop, &opt), 0);
    ck_assert(loom_loop_debug(loop));
    logbuf[0] = 0;
    loom_loop_set_log(loop, capture_log, "tag");
    loom_call_soon(loop, slow_callback, NULL);
    loom_call_soon(loop, note, NULL);
    reset();
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_contains(logbuf, "tag|Executing callback took 0.0");
    ck_assert_int_eq(loom_loop_free(loop), 0);
    /* Debug mode from the environment. */
    setenv("LOOM_DEBUG", "1", 1);
    ck_assert_int_eq(loom_loop_new(&loop, NULL), 0);
    ck_assert(loom_loop_debug(loop));
    ck_assert_int_eq(loom_loop_free(loop), 0);
    setenv("LOOM_DEBUG", "0", 1);
    ck_assert_int_eq(loom_loop_new(&loop, NULL), 0);
    ck_assert(!loom_loop_debug(loop));
    ck_assert_int_eq(loom_loop_free(loop), 0);
}
END_TEST

/* --- error codes --- */

START_TEST(test_error_names)
{
    ck_assert_str_eq(loom_errname(-ECANCELED), "ECANCELED");
    ck_assert_str_eq(loom_errname(-EAGAIN), "EAGAIN");
    ck_assert_str_eq(loom_errname(LOOM_EOF), "LOOM_EOF");
    ck_assert_str_eq(loom_errname(LOOM_EDEADLOCK), "LOOM_EDEADLOCK");
    ck_assert_str_eq(loom_errname(0), "OK");
    ck_assert_str_eq(loom_errname(-3999), "E?");
    ck_assert_str_eq(loom_strerror(LOOM_EOF), "end of stream");
    ck_assert_str_eq(loom_strerror(-ETIMEDOUT), strerror(ETIMEDOUT));
    ck_assert_str_eq(loom_strerror(-5000), "unknown error");
    ck_assert_str_eq(loom_strerror(0), "success");
}
END_TEST

/* --- ref / unref, dump --- */

START_TEST(test_ref_and_dump)
{
    struct loom_loop *loop = test_loop_new();
    loom_loop_ref(loop);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_NOWAIT), 1);
    ck_assert_int_eq(loom_loop_free(loop), -EBUSY);
    loom_loop_unref(loop);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    struct loom_signal s;
    loom_signal_init(loop, &s, noop_signal);
    loom_signal_start(&s, SIGUSR2);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    loom_loop_dump(loop, f);
    fclose(f);
    ck_assert_contains(text, "signal 12");
    free(text);
    loom_signal_stop(&s);
    test_loop_free(loop);
}
END_TEST

/* A TCase whose tests must leave the fd count unchanged. */
int main(void)
{
    Suite *s = suite_create("loop");
    TCase *tc = test_tcase_fd(s, "call_soon", 10);
    tcase_add_test(tc, test_call_soon_fifo);
    tc = test_tcase_fd(s, "call_later", 10);
    tcase_add_test(tc, test_call_later_order);
    tcase_add_test(tc, test_handle_cancel);
    tcase_add_test(tc, test_call_later_huge_delay);
    tcase_add_test(tc, test_call_later_fresh_clock);
    tc = test_tcase_fd(s, "timers", 40);
    tcase_add_test(tc, test_timer_start_stop_restart);
    tcase_add_test(tc, test_million_timers);
    tc = test_tcase_fd(s, "io", 10);
    tcase_add_test(tc, test_io_readable_writable);
    tcase_add_test(tc, test_io_close_pending);
    tcase_add_test(tc, test_io_fd_reuse_after_lazy_stop);
    tcase_add_test(tc, test_io_unwatchable_fd);
    tc = test_tcase_fd(s, "run", 10);
    tcase_add_test(tc, test_run_modes);
    tcase_add_test(tc, test_loop_stop);
    tcase_add_test(tc, test_loop_free_busy);
    tcase_add_test(tc, test_ref_and_dump);
    tc = test_tcase_fd(s, "callbacks_only", 30);
    tcase_add_test(tc, test_callbacks_only_program);
    tc = test_tcase_fd(s, "signals", 20);
    tcase_add_test(tc, test_signal_delivered_on_loop);
    tcase_add_test(tc, test_signal_wakes_parked_task);
    tcase_add_test(tc, test_signal_watched_from_task);
    tcase_add_test(tc, test_signal_callback_stops_others);
    tcase_add_test(tc, test_signal_two_watchers);
    tc = test_tcase_fd(s, "backend", 10);
    tcase_add_test(tc, test_backend_selection);
    tcase_add_test(tc, test_backend_from_env);
    tc = test_tcase_fd(s, "debug", 10);
    tcase_add_test(tc, test_debug_log);
    tc = test_tcase_fd(s, "errors", 10);
    tcase_add_test(tc, test_error_names);
    return test_main(s);
}
