/* micro.c - loom micro-benchmarks. Prints one "name ns_per_op" line per case,
 * the best of a few repeats, for tests/bench/run to tabulate.
 *
 *   micro [scale]   scale (default 1.0) multiplies every iteration count
 *
 * Times are this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so a busy
 * machine slows the run down but skews the figures less.
 *
 * Public API except two diagnostic cases: "switch_raw" calls the context
 * switch itself (reactor/switch.h) to show the floor under a task switch, and
 * "parkwake" uses reactor/task_internal.h, the park/wake pair that every
 * suspending call in loom is built on. */
#include "reactor/loop.h"
#include "reactor/switch.h"
#include "reactor/task.h"
#include "reactor/task_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPEATS 3

static double scale = 1.0;

/* CPU time of this thread: other processes sharing the CPU do not count. */
static int64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long iters(long n)
{
    long v = (long)(n * scale);
    return v < 100 ? 100 : v;
}

static void report(const char *name, double ns)
{
    printf("%s %.2f\n", name, ns);
    fflush(stdout);
}

/* --- the bare context switch (diagnostic) --- */

static struct loom__ctx raw_main, raw_other;

static void raw_entry(void *arg)
{
    (void)arg;
    for (;;)
        loom__ctx_switch(&raw_other, &raw_main);
}

static double bench_switch_raw(long n)
{
    static char stack[64 * 1024] __attribute__((aligned(64)));
    loom__ctx_make(&raw_other, stack, sizeof(stack), raw_entry, NULL);
    int64_t t0 = clock_ns();
    for (long i = 0; i < n; i++)
        loom__ctx_switch(&raw_main, &raw_other);
    return (double)(clock_ns() - t0) / (2.0 * n); /* two switches a round trip */
}

/* --- tasks yielding to each other --- */

struct yield_arg {
    long n;
};

static intptr_t yielder(void *p)
{
    long n = ((struct yield_arg *)p)->n;
    for (long i = 0; i < n; i++)
        if (loom_yield() < 0)
            return -1;
    return 0;
}

struct spawn_many {
    long ntasks, n;
    double ns;
};

/* ntasks tasks each yield n times; the time per yield. Since the direct
 * hand-off (task.c) a yield is one task -> task switch; before, two through
 * the scheduler, hence tests/bench's "ns per yield / 2" per switch. */
static intptr_t yield_main(void *p)
{
    struct spawn_many *sm = p;
    struct yield_arg ya = {sm->n};
    struct loom_task **t = calloc((size_t)sm->ntasks, sizeof(*t));
    for (long i = 0; i < sm->ntasks; i++)
        t[i] = loom_spawn(yielder, &ya, "y");
    int64_t t0 = clock_ns();
    loom_gather(t, (size_t)sm->ntasks, NULL, LOOM_GATHER_ALL);
    sm->ns = (double)(clock_ns() - t0) / ((double)sm->ntasks * sm->n);
    free(t);
    return 0;
}

static double bench_yield(long ntasks, long n)
{
    struct spawn_many sm = {ntasks, n / ntasks, 0};
    loom_run(yield_main, &sm);
    return sm.ns;
}

/* --- park/wake ping-pong (diagnostic: the internal primitive) --- */

struct pingpong {
    struct loom_task *peer[2];
    long n;
};

static intptr_t pp_side(void *p, int me)
{
    struct pingpong *pp = p;
    for (long i = 0; i < pp->n; i++) {
        loom_wake(pp->peer[!me], 0);
        if (loom_park(loom_task_current(), -1) < 0)
            return -1;
    }
    loom_wake(pp->peer[!me], 0);
    return 0;
}

static intptr_t pp_a(void *p) { return pp_side(p, 0); }
static intptr_t pp_b(void *p) { return pp_side(p, 1); }

static intptr_t parkwake_main(void *p)
{
    struct spawn_many *sm = p;
    struct pingpong pp = {{NULL, NULL}, sm->n};
    pp.peer[0] = loom_spawn(pp_a, &pp, "a");
    pp.peer[1] = loom_spawn(pp_b, &pp, "b");
    struct loom_task *t[2] = {pp.peer[0], pp.peer[1]};
    int64_t t0 = clock_ns();
    loom_gather(t, 2, NULL, LOOM_GATHER_ALL);
    /* Per half a wake + park (one task -> task switch each since the direct
     * hand-off, two before): the unit the figures have always been in. */
    sm->ns = (double)(clock_ns() - t0) / (2.0 * 2.0 * sm->n);
    return 0;
}

static double bench_parkwake(long n)
{
    struct spawn_many sm = {2, n, 0};
    loom_run(parkwake_main, &sm);
    return sm.ns;
}

/* --- spawn + join --- */

static intptr_t noop(void *p) { return (intptr_t)p; }

static intptr_t spawn_join_main(void *p)
{
    struct spawn_many *sm = p;
    struct loom_task **t = calloc((size_t)sm->ntasks, sizeof(*t));
    /* warm the stack and task pools first */
    for (long i = 0; i < sm->ntasks; i++)
        t[i] = loom_spawn(noop, NULL, "w");
    for (long i = 0; i < sm->ntasks; i++)
        loom_task_join(t[i]);
    int64_t t0 = clock_ns();
    for (long done = 0; done < sm->n; done += sm->ntasks) {
        for (long i = 0; i < sm->ntasks; i++)
            t[i] = loom_spawn(noop, NULL, NULL);
        for (long i = 0; i < sm->ntasks; i++)
            loom_task_join(t[i]);
    }
    sm->ns = (double)(clock_ns() - t0) / (double)sm->n;
    free(t);
    return 0;
}

static double bench_spawn_join(long batch, long n)
{
    struct spawn_many sm = {batch, (n / batch) * batch, 0};
    loom_run(spawn_join_main, &sm);
    return sm.ns;
}

/* --- timers: add + cancel (callback layer, loop not running) --- */

static void never(struct loom_timer *t) { (void)t; }
static void never_cb(void *a) { (void)a; }

static double bench_timer(long n, long background)
{
    struct loom_loop *loop;
    if (loom_loop_new(&loop, NULL) < 0)
        return -1;
    struct loom_timer *bg = calloc((size_t)background + 1, sizeof(*bg));
    for (long i = 0; i < background; i++) {
        loom_timer_init(loop, &bg[i], never);
        loom_timer_start(&bg[i], LOOM_SEC(100) + i * 997 % 100000 * 1000);
    }
    struct loom_timer t;
    loom_timer_init(loop, &t, never);
    int64_t t0 = clock_ns();
    for (long i = 0; i < n; i++) {
        loom_timer_start(&t, LOOM_SEC(10) + (i & 1023) * 1000);
        loom_timer_stop(&t);
    }
    double ns = (double)(clock_ns() - t0) / (double)n;
    for (long i = 0; i < background; i++)
        loom_timer_stop(&bg[i]);
    free(bg);
    loom_loop_free(loop);
    return ns;
}

/* call_later + handle_cancel: the asyncio-shaped API (pooled handles). */
static double bench_call_later(long n)
{
    struct loom_loop *loop;
    if (loom_loop_new(&loop, NULL) < 0)
        return -1;
    int64_t t0 = clock_ns();
    for (long i = 0; i < n; i++) {
        struct loom_handle *h;
        loom_call_later(loop, LOOM_SEC(10), never_cb, NULL, &h);
        loom_handle_cancel(h);
    }
    double ns = (double)(clock_ns() - t0) / (double)n;
    loom_loop_free(loop);
    return ns;
}

/* --- call_soon: `inflight` callbacks that each re-queue themselves --- */

struct soon {
    struct loom_loop *loop;
    long left;
};

static void soon_cb(void *p)
{
    struct soon *s = p;
    if (--s->left > 0)
        loom_call_soon(s->loop, soon_cb, s);
}

static double bench_call_soon(long inflight, long n)
{
    struct loom_loop *loop;
    if (loom_loop_new(&loop, NULL) < 0)
        return -1;
    struct soon s = {loop, n};
    for (long i = 0; i < inflight; i++)
        loom_call_soon(loop, soon_cb, &s);
    int64_t t0 = clock_ns();
    loom_loop_run(loop, LOOM_RUN_DEFAULT);
    double ns = (double)(clock_ns() - t0) / (double)(n + inflight - 1);
    loom_loop_free(loop);
    return ns;
}

/* --- driver --- */

struct micro_case {
    const char *name;
    double (*run)(long a, long n);
    long a; /* per-case parameter: task count, batch, in-flight calls... */
    long n; /* iterations at scale 1 */
};

static double run_switch_raw(long a, long n)
{
    (void)a;
    return bench_switch_raw(n);
}
static double run_parkwake(long a, long n)
{
    (void)a;
    return bench_parkwake(n);
}
static double run_call_later(long a, long n)
{
    (void)a;
    return bench_call_later(n);
}
static double run_timer(long a, long n) { return bench_timer(n, a); }

static const struct micro_case cases[] = {
    {"switch_raw", run_switch_raw, 0, 2000000},
    {"yield_2", bench_yield, 2, 1000000},
    {"yield_100", bench_yield, 100, 1000000},
    {"parkwake", run_parkwake, 0, 500000},
    {"spawn_join_1", bench_spawn_join, 1, 300000},
    {"spawn_join_100", bench_spawn_join, 100, 300000},
    {"timer_0", run_timer, 0, 2000000},
    {"timer_10k", run_timer, 10000, 2000000},
    {"call_later_cancel", run_call_later, 0, 2000000},
    {"call_soon_1", bench_call_soon, 1, 1000000},
    {"call_soon_1000", bench_call_soon, 1000, 3000000},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: micro [scale [case]]\n"
               "prints 'name ns_per_op' lines, best of %d (context switch: %s)\n",
               REPEATS, loom__ctx_kind());
        return 0;
    }
    if (argc > 1)
        scale = atof(argv[1]);
    const char *only = argc > 2 ? argv[2] : NULL;
    printf("switch_kind %s\n", loom__ctx_kind());
    double r[NCASES];
    for (size_t k = 0; k < NCASES; k++)
        r[k] = 1e300;
    for (int rep = 0; rep < REPEATS; rep++)
        for (size_t k = 0; k < NCASES; k++)
            if (!only || strcmp(only, cases[k].name) == 0) {
                double ns = cases[k].run(cases[k].a, iters(cases[k].n));
                r[k] = ns < r[k] ? ns : r[k];
            }
    for (size_t k = 0; k < NCASES; k++)
        if (!only || strcmp(only, cases[k].name) == 0)
            report(cases[k].name, r[k]);
    return 0;
}
