/* check_task_cancel.c - cancellation details (messages, cancelling/uncancel,
 * TaskGroup taking its own request back), eager tasks and cancellable call
 * handles. */
#include "harness/harness.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reactor/task.h"

static char trace[512];

static void tr(const char *s)
{
    size_t len = strlen(trace);
    snprintf(trace + len, sizeof(trace) - len, "%s%s", len ? " " : "", s);
}

static intptr_t sleeper(void *arg) { return loom_sleep(LOOM_SEC(10)); }

/* --- cancel messages --- */

static intptr_t reads_message(void *arg)
{
    int rc = loom_sleep(LOOM_SEC(10));
    const char *msg = loom_task_cancel_message(loom_task_current());
    snprintf(arg, 64, "%d %s", rc, msg ? msg : "(none)");
    return rc;
}

static intptr_t message_main(void *arg)
{
    char got[64] = "";
    struct loom_task *t = loom_spawn(reads_message, got, NULL);
    ck_assert_ptr_null(loom_task_cancel_message(t)); /* never cancelled */
    loom_yield();
    ck_assert(loom_task_cancel_msg(t, "shutting down"));
    loom_task_ref(t);
    ck_assert_int_eq(loom_task_join(t), -ECANCELED);
    char want[64];
    snprintf(want, sizeof(want), "%d shutting down", -ECANCELED);
    ck_assert_str_eq(got, want);
    /* Done: a new request changes nothing. */
    ck_assert(!loom_task_cancel_msg(t, "again"));
    ck_assert_str_eq(loom_task_cancel_message(t), "shutting down");
    loom_task_release(t);

    /* A later request without a message replaces the message; long ones are cut. */
    t = loom_spawn(sleeper, NULL, NULL);
    char longmsg[200];
    memset(longmsg, 'x', sizeof(longmsg) - 1);
    longmsg[sizeof(longmsg) - 1] = 0;
    loom_task_cancel_msg(t, longmsg);
    ck_assert_uint_eq(strlen(loom_task_cancel_message(t)), 63);
    loom_task_cancel(t);
    ck_assert_ptr_null(loom_task_cancel_message(t));
    ck_assert_int_eq(loom_task_join(t), -ECANCELED);
    return 0;
}

START_TEST(test_cancel_message) { ck_assert_int_eq(test_run_task(message_main, NULL), 0); }
END_TEST

/* --- cancelling / uncancel --- */

static intptr_t counts_main(void *arg)
{
    struct loom_task *me = loom_task_current();
    ck_assert_uint_eq(loom_task_cancelling(me), 0);
    ck_assert_uint_eq(loom_task_uncancel(me), 0); /* never below 0 */
    struct loom_task *t = loom_spawn(sleeper, NULL, NULL);
    loom_yield();
    ck_assert(loom_task_cancel(t));
    ck_assert(loom_task_cancel(t));
    ck_assert(loom_task_cancel(t));
    ck_assert_uint_eq(loom_task_cancelling(t), 3);
    ck_assert_uint_eq(loom_task_uncancel(t), 2);
    loom_task_ref(t);
    ck_assert_int_eq(loom_task_join(t), -ECANCELED); /* delivered once, all the same */
    ck_assert(!loom_task_cancel(t));
    ck_assert_uint_eq(loom_task_cancelling(t), 2);
    loom_task_release(t);
    return 0;
}

START_TEST(test_cancelling_uncancel) { ck_assert_int_eq(test_run_task(counts_main, NULL), 0); }
END_TEST

/* --- TaskGroup: its own cancellation of the owner is taken back --- */

static intptr_t fail_soon(void *arg)
{
    loom_yield();
    return -EIO;
}

static intptr_t group_own_main(void *arg)
{
    struct loom_task *me = loom_task_current();
    struct loom_taskgroup g;
    ck_assert_int_eq(loom_taskgroup_init(&g), 0);
    ck_assert_int_eq(loom_taskgroup_spawn(&g, fail_soon, NULL, NULL), 0);
    ck_assert_int_eq(loom_sleep(LOOM_SEC(10)), -ECANCELED); /* the group stopped the body */
    ck_assert_uint_eq(loom_task_cancelling(me), 1);
    ck_assert_int_eq(loom_taskgroup_join(&g), -EIO);
    ck_assert_uint_eq(loom_task_cancelling(me), 0);
    ck_assert_int_eq(loom_yield(), 0); /* nothing left to deliver */
    return 0;
}

static intptr_t cancel_owner_then_uncancel(void *arg)
{
    struct loom_task *owner = arg;
    loom_task_cancel(owner);
    return 0;
}

/* The body handled an outside cancellation and took it back: the group is not cancelled. */
static intptr_t group_outside_handled_main(void *arg)
{
    struct loom_task *me = loom_task_current();
    struct loom_taskgroup g;
    ck_assert_int_eq(loom_taskgroup_init(&g), 0);
    ck_assert_int_eq(loom_taskgroup_spawn(&g, cancel_owner_then_uncancel, me, NULL), 0);
    ck_assert_int_eq(loom_sleep(LOOM_SEC(10)), -ECANCELED);
    ck_assert_uint_eq(loom_task_uncancel(me), 0);
    ck_assert_int_eq(loom_taskgroup_spawn(&g, fail_soon, NULL, NULL), 0);
    ck_assert_int_eq(loom_taskgroup_join(&g), -EIO); /* the child's failure, not -ECANCELED */

    /* Not taken back: the join cancels the children and says -ECANCELED. */
    ck_assert_int_eq(loom_taskgroup_init(&g), 0);
    ck_assert_int_eq(loom_taskgroup_spawn(&g, cancel_owner_then_uncancel, me, NULL), 0);
    ck_assert_int_eq(loom_taskgroup_spawn(&g, sleeper, NULL, NULL), 0);
    ck_assert_int_eq(loom_sleep(LOOM_SEC(10)), -ECANCELED);
    ck_assert_int_eq(loom_taskgroup_join(&g), -ECANCELED);
    ck_assert_uint_eq(loom_task_cancelling(me), 1);
    return 0;
}

START_TEST(test_taskgroup_uncancel)
{
    ck_assert_int_eq(test_run_task(group_own_main, NULL), 0);
    ck_assert_int_eq(test_run_task(group_outside_handled_main, NULL), 0);
}
END_TEST

/* --- eager tasks --- */

static intptr_t eager_child(void *arg)
{
    tr("child-step1");
    loom_yield();
    tr("child-step2");
    return 7;
}

static intptr_t eager_quick(void *arg)
{
    tr("quick");
    return 3;
}

static intptr_t other(void *arg)
{
    tr("other");
    return 0;
}

static intptr_t eager_main(void *arg)
{
    trace[0] = 0;
    struct loom_task *o = loom_spawn(other, NULL, NULL); /* ready before the eager child */
    struct loom_task_options opt = {.name = "eager", .eager = true};
    struct loom_task *t, *q;
    tr("before");
    ck_assert_int_eq(loom_task_spawn(NULL, eager_child, NULL, &opt, &t), 0);
    tr("after");
    ck_assert(!loom_task_done(t));
    ck_assert_int_eq(loom_task_spawn(NULL, eager_quick, NULL, &opt, &q), 0);
    ck_assert(loom_task_done(q)); /* ended without suspending: done at once */
    ck_assert_int_eq(loom_task_result(q), 3);
    loom_task_release(q);
    ck_assert_int_eq(loom_task_join(t), 7);
    loom_task_join(o);
    ck_assert_str_eq(trace, "before child-step1 after quick other child-step2");
    /* The spawn is no cancellation point for the caller. */
    loom_task_cancel(loom_task_current());
    ck_assert_int_eq(loom_task_spawn(NULL, eager_quick, NULL, &opt, NULL), 0);
    ck_assert_int_eq(loom_yield(), -ECANCELED);
    return 0;
}

START_TEST(test_eager_from_task) { ck_assert_int_eq(test_run_task(eager_main, NULL), 0); }
END_TEST

static struct loom_task *from_cb;

static void spawn_in_callback(void *arg)
{
    struct loom_task_options opt = {.eager = true};
    tr("cb-before");
    ck_assert_int_eq(loom_task_spawn(arg, eager_child, NULL, &opt, &from_cb), 0);
    tr("cb-after");
}

START_TEST(test_eager_from_callback_and_host)
{
    struct loom_loop *loop = test_loop_new();
    trace[0] = 0;
    /* Host code, loop not running: eager is ignored, the task waits its turn. */
    struct loom_task_options opt = {.eager = true};
    struct loom_task *t;
    ck_assert_int_eq(loom_task_spawn(loop, eager_quick, NULL, &opt, &t), 0);
    ck_assert(!loom_task_done(t));
    ck_assert_int_eq(loom_loop_run_until_complete(loop, t), 3);
    ck_assert_str_eq(trace, "quick");
    trace[0] = 0;
    ck_assert_int_eq(loom_call_soon(loop, spawn_in_callback, loop), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_NOWAIT), 1); /* the callback, inside it step 1 */
    ck_assert_str_eq(trace, "cb-before child-step1 cb-after");
    ck_assert_int_eq(loom_loop_run_until_complete(loop, from_cb), 7);
    ck_assert_str_eq(trace, "cb-before child-step1 cb-after child-step2");
    test_loop_free(loop);
}
END_TEST

/* --- cancellable call handles --- */

static int calls;
static struct loom_call self_ref;

static void count_cb(void *arg) { calls += (int)(intptr_t)arg; }

static void cancels_itself(void *arg)
{
    ck_assert(!loom_call_pending(&self_ref));
    ck_assert(!loom_call_cancel(&self_ref)); /* running: too late */
    calls += 100;
}

START_TEST(test_call_handles)
{
    struct loom_loop *loop = test_loop_new();
    calls = 0;
    struct loom_call a, b, c, none;
    memset(&none, 0, sizeof(none));
    ck_assert(!loom_call_pending(&none));
    ck_assert(!loom_call_cancel(&none));
    ck_assert_int_eq(loom_call_soon_handle(loop, count_cb, (void *)1, &a), 0);
    ck_assert_int_eq(loom_call_soon_handle(loop, count_cb, (void *)2, &b), 0);
    ck_assert(loom_call_pending(&b));
    ck_assert(loom_call_cancel(&b));
    ck_assert(!loom_call_cancel(&b)); /* twice: nothing */
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_int_eq(calls, 1);
    ck_assert(!loom_call_cancel(&a)); /* ran */
    /* The new call reuses a pooled record: the stale references leave it alone. */
    ck_assert_int_eq(loom_call_soon_handle(loop, count_cb, (void *)4, &c), 0);
    ck_assert(c._h == a._h || c._h == b._h);
    ck_assert(!loom_call_cancel(&a));
    ck_assert(!loom_call_cancel(&b));
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_int_eq(calls, 5);
    ck_assert_int_eq(loom_call_soon_handle(loop, cancels_itself, NULL, &self_ref), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_int_eq(calls, 105);

    /* call_later: cancelled before it falls due, and once due but not yet run. */
    ck_assert_int_eq(loom_call_later_handle(loop, LOOM_MS(1), count_cb, (void *)1000, &a), 0);
    ck_assert(loom_call_cancel(&a));
    ck_assert_int_eq(loom_call_later_handle(loop, 0, count_cb, (void *)1000, &b), 0);
    ck_assert_int_eq(loom_call_soon_handle(loop, count_cb, (void *)0, NULL), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_int_eq(calls, 1105); /* b ran, a did not */
    ck_assert(!loom_call_cancel(&b));
    test_loop_free(loop);
}
END_TEST

static struct loom_call due_ref;
static void cancel_due(void *arg) { ck_assert(loom_call_cancel(&due_ref)); }

/* A timer that fell due sits on the ready queue: cancelling it there works. */
START_TEST(test_call_later_cancel_while_due)
{
    struct loom_loop *loop = test_loop_new();
    calls = 0;
    ck_assert_int_eq(loom_call_later_handle(loop, 0, cancel_due, NULL, NULL), 0);
    ck_assert_int_eq(loom_call_later_handle(loop, 0, count_cb, (void *)1, &due_ref), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_int_eq(calls, 0);
    test_loop_free(loop);
}
END_TEST

/* Thousands of referenced calls: the records stay valid for stale cancels. */
START_TEST(test_call_handles_many)
{
    struct loom_loop *loop = test_loop_new();
    enum { N = 6000 };
    struct loom_call *refs = calloc(N, sizeof(*refs));
    calls = 0;
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(loom_call_soon_handle(loop, count_cb, (void *)1, &refs[i]), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_int_eq(calls, N);
    for (int i = 0; i < N; i++)
        ck_assert(!loom_call_cancel(&refs[i]));
    free(refs);
    test_loop_free(loop);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("task_cancel");
    TCase *tc = test_tcase_fd(s, "cancel", 10);
    tcase_add_test(tc, test_cancel_message);
    tcase_add_test(tc, test_cancelling_uncancel);
    tcase_add_test(tc, test_taskgroup_uncancel);
    tc = test_tcase_fd(s, "eager", 10);
    tcase_add_test(tc, test_eager_from_task);
    tcase_add_test(tc, test_eager_from_callback_and_host);
    tc = test_tcase_fd(s, "call_handle", 10);
    tcase_add_test(tc, test_call_handles);
    tcase_add_test(tc, test_call_later_cancel_while_due);
    tcase_add_test(tc, test_call_handles_many);
    return test_main(s);
}
