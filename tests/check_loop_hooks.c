/* check_loop_hooks.c - prepare/check/idle hooks (libuv's watchers). */
#include "harness/harness.h"

#include <errno.h>
#include <string.h>

#include "reactor/task.h"

static char trace[1024];

static void tr(const char *s)
{
    size_t len = strlen(trace);
    snprintf(trace + len, sizeof(trace) - len, "%s%s", len ? " " : "", s);
}

/* --- order within an iteration --- */

static int left;

static void on_prepare(struct loom_hook *h) { tr("prepare"); }

static void on_check(struct loom_hook *h)
{
    tr("check");
    if (--left == 0) {
        loom_hook_stop(h);
        loom_hook_stop(h->data); /* the prepare hook, from here */
    }
}

static void on_soon(void *arg) { tr("soon"); }

START_TEST(test_order)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_hook p, c;
    loom_hook_init(loop, &p, LOOM_HOOK_PREPARE);
    loom_hook_init(loop, &c, LOOM_HOOK_CHECK);
    c.data = &p;
    ck_assert_int_eq(loom_hook_start(&p, NULL), -EINVAL);
    ck_assert_int_eq(loom_hook_start(&p, on_prepare), 0);
    ck_assert_int_eq(loom_hook_start(&c, on_check), 0);
    ck_assert_int_eq(loom_hook_start(&c, on_check), 0); /* twice: once per iteration all the same */
    ck_assert(loom_hook_active(&p));
    loom_call_soon(loop, on_soon, NULL);
    left = 2;
    trace[0] = 0;
    /* Started hooks keep the loop alive (like libuv's, they do not stop the
     * poll from sleeping); the check hook stops both in the second iteration. */
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_NOWAIT), 1);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_NOWAIT), 0);
    ck_assert_str_eq(trace, "prepare check soon prepare check");
    ck_assert(!loom_hook_active(&p) && !loom_hook_active(&c));
    test_loop_free(loop);
}
END_TEST

/* --- idle: the loop does not sleep while one is started --- */

static int idle_runs;

static void count_idle(struct loom_hook *h) { idle_runs++; }

static void timer_fired(struct loom_timer *t) { tr("timer"); }

START_TEST(test_idle_spins_then_sleeps)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_hook i;
    struct loom_timer t;
    loom_hook_init(loop, &i, LOOM_HOOK_IDLE);
    loom_timer_init(loop, &t, timer_fired);
    loom_timer_start(&t, LOOM_MS(300));
    ck_assert_int_eq(loom_hook_start(&i, count_idle), 0);
    ck_assert_int_eq(loom_loop_backend_timeout(loop), 0); /* an embedding host must not sleep */
    idle_runs = 0;
    trace[0] = 0;
    double t0 = test_now();
    /* 50 iterations, none waiting for the timer 300 ms away. */
    while (idle_runs < 50)
        ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_ONCE), 1);
    ck_assert(test_now() - t0 < 0.25);
    ck_assert_str_eq(trace, "");
    loom_hook_stop(&i);
    ck_assert_int_ne(loom_loop_backend_timeout(loop), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0); /* now it sleeps until the timer */
    ck_assert_str_eq(trace, "timer");
    ck_assert_int_eq(idle_runs, 50);
    test_loop_free(loop);
}
END_TEST

/* --- a hook stopped by an earlier one in the same pass does not run --- */

static struct loom_hook pair[2];
static void first(struct loom_hook *h)
{
    tr("first");
    loom_hook_stop(&pair[1]);
    loom_hook_stop(h);
}
static void second(struct loom_hook *h) { tr("second"); }

START_TEST(test_stop_other_in_pass)
{
    struct loom_loop *loop = test_loop_new();
    for (int k = 0; k < 2; k++)
        loom_hook_init(loop, &pair[k], LOOM_HOOK_PREPARE);
    loom_hook_start(&pair[0], first);
    loom_hook_start(&pair[1], second);
    trace[0] = 0;
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_str_eq(trace, "first");
    loom_hook_stop(&pair[0]); /* stopped already: no-op */
    test_loop_free(loop);
}
END_TEST

/* --- hooks and tasks: a check hook sees the loop between task steps --- */

static int checks;
static void count_check(struct loom_hook *h) { checks++; }

static intptr_t yields(void *arg)
{
    for (int i = 0; i < 5; i++)
        loom_yield();
    return 0;
}

START_TEST(test_hooks_with_tasks)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_hook c;
    loom_hook_init(loop, &c, LOOM_HOOK_CHECK);
    loom_hook_start(&c, count_check);
    checks = 0;
    struct loom_task *t;
    ck_assert_int_eq(loom_task_spawn(loop, yields, NULL, NULL, &t), 0);
    ck_assert_int_eq(loom_loop_run_until_complete(loop, t), 0);
    ck_assert_int_eq(checks, 6); /* one per iteration: the first step and five yields */
    loom_hook_stop(&c);
    test_loop_free(loop);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loop_hooks");
    TCase *tc = test_tcase_fd(s, "hooks", 10);
    tcase_add_test(tc, test_order);
    tcase_add_test(tc, test_idle_spins_then_sleeps);
    tcase_add_test(tc, test_stop_other_in_pass);
    tcase_add_test(tc, test_hooks_with_tasks);
    return test_main(s);
}
