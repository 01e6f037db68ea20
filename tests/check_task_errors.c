/* check_task_errors.c - errors nobody retrieved (the loop's exception handler)
 * and every failure of a TaskGroup. */
#include "harness/harness.h"

#include <errno.h>
#include <string.h>

#include "reactor/task.h"

/* --- what the handler saw --- */

static int ncalls;
static char seen_name[64], seen_msg[64];
static int seen_error;
static char logbuf[2048];

static void record(struct loom_loop *loop, const struct loom_error_context *ctx, void *arg)
{
    ck_assert_ptr_eq(arg, &ncalls);
    ncalls++;
    seen_error = ctx->error;
    snprintf(seen_msg, sizeof(seen_msg), "%s", ctx->message);
    snprintf(seen_name, sizeof(seen_name), "%s", ctx->task ? loom_task_name(ctx->task) : "-");
}

static void capture_log(void *arg, const char *msg)
{
    size_t len = strlen(logbuf);
    snprintf(logbuf + len, sizeof(logbuf) - len, "%s\n", msg);
}

static void reset(void)
{
    ncalls = seen_error = 0;
    seen_name[0] = seen_msg[0] = logbuf[0] = 0;
}

static intptr_t returner(void *arg)
{
    loom_yield();
    return (intptr_t)arg;
}

static intptr_t forever(void *arg) { return loom_sleep(LOOM_SEC(60)); }

/* --- detached tasks --- */

static intptr_t detached_main(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    loom_loop_set_exception_handler(loop, record, &ncalls);
    void *a = NULL;
    ck_assert_ptr_eq(loom_loop_get_exception_handler(loop, &a), record);
    ck_assert_ptr_eq(a, &ncalls);
    loom_task_release(loom_spawn(returner, (void *)-EIO, "doomed"));
    loom_task_release(loom_spawn(returner, (void *)7, "fine"));
    struct loom_task *c = loom_spawn(forever, NULL, "cancelled");
    loom_task_cancel(c);
    loom_task_release(c);
    for (int i = 0; i < 3; i++)
        loom_yield();
    /* Reported once, as it ended: a failure only, never a result or a cancellation. */
    ck_assert_int_eq(ncalls, 1);
    ck_assert_str_eq(seen_name, "doomed");
    ck_assert_str_eq(seen_msg, "Task exception was never retrieved");
    ck_assert_int_eq(seen_error, -EIO);
    return 0;
}

START_TEST(test_detached_failure_reported)
{
    reset();
    ck_assert_int_eq(test_run_task(detached_main, NULL), 0);
    ck_assert_int_eq(ncalls, 1);
}
END_TEST

static intptr_t default_main(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    loom_loop_set_log(loop, capture_log, NULL);
    ck_assert_ptr_null(loom_loop_get_exception_handler(loop, NULL));
    loom_task_release(loom_spawn(returner, (void *)-ECONNRESET, "peer"));
    for (int i = 0; i < 3; i++)
        loom_yield();
    return 0;
}

START_TEST(test_default_handler_logs_one_line)
{
    reset();
    ck_assert_int_eq(test_run_task(default_main, NULL), 0);
    char want[160];
    snprintf(want, sizeof(want), "Task exception was never retrieved: task \"peer\": %s\n",
             loom_strerror(-ECONNRESET));
    ck_assert_str_eq(logbuf, want);
}
END_TEST

static void silent(struct loom_loop *loop, const struct loom_error_context *ctx, void *arg) {}

static intptr_t silenced_main(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    loom_loop_set_log(loop, capture_log, NULL);
    loom_loop_set_exception_handler(loop, silent, NULL);
    loom_task_release(loom_spawn(returner, (void *)-EIO, NULL));
    /* Restoring the default: the next one is logged. */
    for (int i = 0; i < 3; i++)
        loom_yield();
    ck_assert_str_eq(logbuf, "");
    loom_loop_set_exception_handler(loop, NULL, NULL);
    loom_task_release(loom_spawn(returner, (void *)-EIO, "later"));
    for (int i = 0; i < 3; i++)
        loom_yield();
    ck_assert_ptr_nonnull(strstr(logbuf, "task \"later\""));
    return 0;
}

START_TEST(test_silenced_and_restored)
{
    reset();
    ck_assert_int_eq(test_run_task(silenced_main, NULL), 0);
}
END_TEST

/* --- retrieved results are not reported --- */

static intptr_t retrieved_main(void *arg)
{
    loom_loop_set_exception_handler(loom_loop_current(), record, &ncalls);
    struct loom_task *t = loom_spawn(returner, (void *)-EIO, NULL);
    ck_assert_int_eq(loom_task_join(t), -EIO);
    t = loom_spawn(returner, (void *)-EIO, NULL);
    ck_assert_int_eq(loom_wait_for(t, LOOM_SEC(5)), -EIO);
    /* gather returns at the first error; a later failure is gather's too (asyncio). */
    struct loom_task *g[2] = {loom_spawn(returner, (void *)-EIO, NULL),
                              loom_spawn(forever, NULL, NULL)};
    struct loom_task *left = loom_task_ref(g[1]);
    ck_assert_int_eq(loom_gather(g, 2, NULL, 0), -EIO);
    loom_task_cancel(left);
    ck_assert_int_eq(loom_task_join(left), -ECANCELED);
    t = loom_spawn(returner, (void *)-EIO, NULL);
    while (!loom_task_done(t))
        loom_yield();
    ck_assert_int_eq(loom_task_result(t), -EIO);
    loom_task_release(t);
    return 0;
}

START_TEST(test_retrieved_not_reported)
{
    reset();
    ck_assert_int_eq(test_run_task(retrieved_main, NULL), 0);
    ck_assert_int_eq(ncalls, 0);
}
END_TEST

/* --- a handle still held when the loop is freed --- */

START_TEST(test_held_handle_reported_at_free)
{
    reset();
    struct loom_loop *loop = test_loop_new();
    loom_loop_set_exception_handler(loop, record, &ncalls);
    struct loom_task *failed, *ok;
    struct loom_task_options o = {.name = "held"};
    ck_assert_int_eq(loom_task_spawn(loop, returner, (void *)-EPIPE, &o, &failed), 0);
    ck_assert_int_eq(loom_task_spawn(loop, returner, (void *)1, NULL, &ok), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_int_eq(ncalls, 0); /* held: someone may still look */
    test_loop_free(loop);
    ck_assert_int_eq(ncalls, 1); /* the last moment the loop exists */
    ck_assert_str_eq(seen_name, "held");
    ck_assert_int_eq(seen_error, -EPIPE);
    ck_assert_int_eq(loom_task_result(failed), -EPIPE);
    loom_task_release(failed);
    loom_task_release(ok);
    ck_assert_int_eq(ncalls, 1);
}
END_TEST

/* Released before the loop is freed, unread: reported at the release. */
START_TEST(test_release_unread_reported)
{
    reset();
    struct loom_loop *loop = test_loop_new();
    loom_loop_set_exception_handler(loop, record, &ncalls);
    struct loom_task *t;
    ck_assert_int_eq(loom_task_spawn(loop, returner, (void *)-EIO, NULL, &t), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    loom_task_release(t);
    ck_assert_int_eq(ncalls, 1);
    test_loop_free(loop);
    ck_assert_int_eq(ncalls, 1);
}
END_TEST

/* --- every failure of a TaskGroup --- */

static intptr_t group_main(void *arg)
{
    loom_loop_set_exception_handler(loom_loop_current(), record, &ncalls);
    struct loom_taskgroup g;
    ck_assert_int_eq(loom_taskgroup_init(&g), 0);
    ck_assert_int_eq(loom_taskgroup_spawn(&g, returner, (void *)-EIO, "a"), 0);
    ck_assert_int_eq(loom_taskgroup_spawn(&g, returner, (void *)5, "b"), 0);
    ck_assert_int_eq(loom_taskgroup_spawn(&g, returner, (void *)-EPIPE, "c"), 0);
    ck_assert_int_eq(loom_taskgroup_spawn(&g, forever, NULL, "d"), 0);
    struct loom_task_failure f[4];
    size_t n = 99;
    /* a, b, c take their first step before the group reacts to a's failure (as
     * asyncio's done callbacks); d is cancelled, which is no failure. */
    ck_assert_int_eq(loom_taskgroup_join_failures(&g, f, 4, &n), -EIO);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(f[0].name, "a");
    ck_assert_int_eq(f[0].error, -EIO);
    ck_assert_str_eq(f[1].name, "c");
    ck_assert_int_eq(f[1].error, -EPIPE);

    /* max smaller than the count: the first max copied, the count complete. */
    ck_assert_int_eq(loom_taskgroup_init(&g), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(loom_taskgroup_spawn(&g, returner, (void *)(intptr_t) - (EIO + i), NULL),
                         0);
    ck_assert_int_eq(loom_taskgroup_join_failures(&g, f, 1, &n), -EIO);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(f[0].error, -EIO);

    /* No failure: 0 and none. */
    ck_assert_int_eq(loom_taskgroup_init(&g), 0);
    ck_assert_int_eq(loom_taskgroup_spawn(&g, returner, (void *)1, NULL), 0);
    ck_assert_int_eq(loom_taskgroup_join_failures(&g, NULL, 0, &n), 0);
    ck_assert_uint_eq(n, 0);
    return 0;
}

START_TEST(test_taskgroup_every_failure)
{
    reset();
    ck_assert_int_eq(test_run_task(group_main, NULL), 0);
    ck_assert_int_eq(ncalls, 0); /* the group retrieved them */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("task_errors");
    TCase *tc = test_tcase_fd(s, "unretrieved", 10);
    tcase_add_test(tc, test_detached_failure_reported);
    tcase_add_test(tc, test_default_handler_logs_one_line);
    tcase_add_test(tc, test_silenced_and_restored);
    tcase_add_test(tc, test_retrieved_not_reported);
    tcase_add_test(tc, test_held_handle_reported_at_free);
    tcase_add_test(tc, test_release_unread_reported);
    tc = test_tcase_fd(s, "taskgroup", 10);
    tcase_add_test(tc, test_taskgroup_every_failure);
    return test_main(s);
}
