/* check_timeout.c - deadline scopes (asyncio.timeout): every suspending call
 * inside honours the scope, nested scopes take the earliest deadline, a call's
 * own shorter timeout still wins, a passed scope fails every later wait at
 * once, and the calls that take no timeout (join, gather, TaskGroup join,
 * wait) are bounded by it, cancelling what they awaited. */
#include "harness/harness.h"

#include <errno.h>
#include <stdio.h>

#include "reactor/task.h"
#include "sync/sync.h"

static double elapsed_since(double t0) { return test_now() - t0; }

/* Sleeps 10 s unless cancelled; records that it saw the cancellation. */
static intptr_t sleeper(void *arg)
{
    int *cancelled = arg;
    int rc = loom_sleep(LOOM_SEC(10));
    if (rc == -ECANCELED && cancelled)
        (*cancelled)++;
    return rc;
}

static intptr_t sleep_main(void *arg)
{
    struct loom_timeout to;
    ck_assert_int_eq(loom_timeout_enter(&to, LOOM_MS(50)), 0);
    double t0 = test_now();
    ck_assert_int_eq(loom_sleep(LOOM_SEC(10)), -ETIMEDOUT);
    ck_assert_double_lt(elapsed_since(t0), 2.0);
    ck_assert(loom_timeout_expired(&to));
    /* Passed: every later wait in the scope fails at once. */
    t0 = test_now();
    ck_assert_int_eq(loom_sleep(LOOM_SEC(10)), -ETIMEDOUT);
    struct loom_queue q;
    loom_queue_init(&q, 0);
    void *item;
    ck_assert_int_eq(loom_queue_get(&q, &item, -1), -ETIMEDOUT);
    loom_queue_close(&q);
    ck_assert_double_lt(elapsed_since(t0), 1.0);
    ck_assert(loom_timeout_exit(&to));
    /* Out of the scope, waits are whole again. */
    ck_assert_int_eq(loom_sleep(LOOM_MS(10)), 0);
    return 0;
}

static intptr_t nested_main(void *arg)
{
    struct loom_timeout outer, inner;
    ck_assert_int_eq(loom_timeout_enter(&outer, LOOM_SEC(5)), 0);
    ck_assert_int_eq(loom_timeout_enter(&inner, LOOM_MS(50)), 0);
    ck_assert_int_eq(loom_sleep(LOOM_SEC(10)), -ETIMEDOUT);
    ck_assert(loom_timeout_exit(&inner));
    ck_assert(!loom_timeout_expired(&outer));
    ck_assert_int_eq(loom_sleep(LOOM_MS(10)), 0); /* the outer scope still has time */
    /* An inner scope later than the outer: the outer's deadline applies. */
    loom_timeout_reschedule(&outer, loom_loop_now(loom_loop_current()) + LOOM_MS(50));
    ck_assert_int_eq(loom_timeout_enter(&inner, LOOM_SEC(5)), 0);
    ck_assert_int_eq(loom_sleep(LOOM_SEC(10)), -ETIMEDOUT);
    ck_assert(!loom_timeout_exit(&inner));
    ck_assert(loom_timeout_exit(&outer));
    return 0;
}

/* A call's own earlier timeout wins and does not expire the scope. */
static intptr_t own_timeout_main(void *arg)
{
    struct loom_timeout to;
    ck_assert_int_eq(loom_timeout_enter(&to, LOOM_SEC(5)), 0);
    struct loom_queue q;
    loom_queue_init(&q, 0);
    void *item;
    ck_assert_int_eq(loom_queue_get(&q, &item, LOOM_MS(20)), -ETIMEDOUT);
    ck_assert(!loom_timeout_expired(&to));
    loom_queue_close(&q);
    ck_assert(!loom_timeout_exit(&to));
    /* No deadline yet, then one. */
    ck_assert_int_eq(loom_timeout_enter(&to, -1), 0);
    ck_assert_int_eq(loom_timeout_when(&to), -1);
    loom_timeout_reschedule(&to, loom_loop_now(loom_loop_current()) + LOOM_MS(30));
    ck_assert_int_eq(loom_sleep(LOOM_SEC(10)), -ETIMEDOUT);
    ck_assert(loom_timeout_exit(&to));
    return 0;
}

/* join, gather, wait and TaskGroup join take no timeout: a scope bounds them
 * and the awaited tasks are cancelled (and finish) as in asyncio. */
static intptr_t bounded_main(void *arg)
{
    int cancelled = 0;
    struct loom_timeout to;
    struct loom_task *t = loom_spawn(sleeper, &cancelled, "sleeper");
    ck_assert_int_eq(loom_timeout_enter(&to, LOOM_MS(50)), 0);
    ck_assert_int_eq(loom_task_join(t), -ETIMEDOUT);
    ck_assert(loom_timeout_exit(&to));
    ck_assert_int_eq(cancelled, 1);

    struct loom_task *ts[2] = {loom_spawn(sleeper, &cancelled, "g1"),
                               loom_spawn(sleeper, &cancelled, "g2")};
    ck_assert_int_eq(loom_timeout_enter(&to, LOOM_MS(50)), 0);
    ck_assert_int_eq(loom_gather(ts, 2, NULL, 0), -ETIMEDOUT);
    ck_assert(loom_timeout_exit(&to));
    ck_assert_int_eq(cancelled, 3);

    struct loom_task *w = loom_spawn(sleeper, &cancelled, "w");
    ck_assert_int_eq(loom_timeout_enter(&to, LOOM_MS(50)), 0);
    ck_assert_int_eq(loom_wait(&w, 1, LOOM_ALL_COMPLETED, -1), -ETIMEDOUT);
    ck_assert(loom_timeout_exit(&to));
    loom_task_cancel(w);
    ck_assert_int_eq(loom_task_join(w), -ECANCELED);
    ck_assert_int_eq(cancelled, 4);

    struct loom_taskgroup g;
    ck_assert_int_eq(loom_taskgroup_init(&g), 0);
    ck_assert_int_eq(loom_taskgroup_spawn(&g, sleeper, &cancelled, "c1"), 0);
    ck_assert_int_eq(loom_taskgroup_spawn(&g, sleeper, &cancelled, "c2"), 0);
    ck_assert_int_eq(loom_timeout_enter(&to, LOOM_MS(50)), 0);
    double t0 = test_now();
    ck_assert_int_eq(loom_taskgroup_join(&g), -ETIMEDOUT);
    ck_assert_double_lt(elapsed_since(t0), 2.0);
    ck_assert(loom_timeout_exit(&to));
    ck_assert_int_eq(cancelled, 6);
    return 0;
}

START_TEST(test_sleep) { ck_assert_int_eq(test_run_task(sleep_main, NULL), 0); }
END_TEST
START_TEST(test_nested) { ck_assert_int_eq(test_run_task(nested_main, NULL), 0); }
END_TEST
START_TEST(test_own_timeout) { ck_assert_int_eq(test_run_task(own_timeout_main, NULL), 0); }
END_TEST
START_TEST(test_bounded) { ck_assert_int_eq(test_run_task(bounded_main, NULL), 0); }
END_TEST
START_TEST(test_outside_task)
{
    struct loom_timeout to;
    ck_assert_int_eq(loom_timeout_enter(&to, LOOM_MS(50)), -EPERM);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("timeout");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"sleep", test_sleep},
        {"nested", test_nested},
        {"own_timeout", test_own_timeout},
        {"bounded", test_bounded},
        {"outside_task", test_outside_task},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = test_tcase(s, cases[i].name, 20);
        tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
        tcase_add_test(tc, cases[i].fn);
    }
    return test_main(s);
}
