/* check_context.c - context variables beyond get/set: reset tokens (asyncio's
 * Token), copies of a context and Context.run. */
#include "harness/harness.h"

#include <errno.h>

#include "reactor/task.h"

static struct loom_ctxvar user = {"user", (void *)"nobody"};
static struct loom_ctxvar depth = {"depth", (void *)0};

#define GET(v) ((const char *)loom_ctxvar_get(&(v)))

/* A reset puts back the old value, or no value at all; a token works once. */
static intptr_t tokens_main(void *arg)
{
    (void)arg;
    struct loom_ctxvar_token t1, t2;
    ck_assert_int_eq(loom_ctxvar_set_token(&user, "alice", &t1), 0);
    ck_assert(!t1.had_value);
    ck_assert_int_eq(loom_ctxvar_set_token(&user, "bob", &t2), 0);
    ck_assert(t2.had_value);
    ck_assert_str_eq(t2.old_value, "alice");
    ck_assert_str_eq(GET(user), "bob");
    ck_assert_int_eq(loom_ctxvar_reset(&t2), 0);
    ck_assert_str_eq(GET(user), "alice");
    ck_assert_int_eq(loom_ctxvar_reset(&t2), -EALREADY);
    ck_assert_int_eq(loom_ctxvar_reset(&t1), 0);
    ck_assert_str_eq(GET(user), "nobody"); /* unset: the default again */
    return 0;
}

START_TEST(test_tokens) { ck_assert_int_eq(test_run_task(tokens_main, NULL), 0); }
END_TEST

/* A token from another task's context is refused, and resetting in a child
 * does not touch the parent's value. */
static struct loom_ctxvar_token parent_tok;

static intptr_t child_resets(void *arg)
{
    (void)arg;
    ck_assert_str_eq(GET(user), "carol"); /* inherited */
    return loom_ctxvar_reset(&parent_tok);
}

static intptr_t foreign_main(void *arg)
{
    (void)arg;
    ck_assert_int_eq(loom_ctxvar_set_token(&user, "carol", &parent_tok), 0);
    struct loom_task *t = loom_spawn(child_resets, NULL, "child");
    ck_assert_int_eq(loom_task_join(t), -EINVAL);
    ck_assert_str_eq(GET(user), "carol");
    ck_assert_int_eq(loom_ctxvar_reset(&parent_tok), 0);
    ck_assert_str_eq(GET(user), "nobody");
    return 0;
}

START_TEST(test_token_other_context) { ck_assert_int_eq(test_run_task(foreign_main, NULL), 0); }
END_TEST

/* A copy is a snapshot; run executes in it and its sets stay in it. */
static intptr_t in_copy(void *arg)
{
    struct loom_context *ctx = arg;
    ck_assert_str_eq(GET(user), "dave"); /* the snapshot's value */
    ck_assert_int_eq(loom_ctxvar_set(&user, "erin"), 0);
    ck_assert_int_eq(loom_ctxvar_set(&depth, (void *)1), 0);
    ck_assert_int_eq(loom_context_run(ctx, in_copy, ctx), -EBUSY); /* already entered */
    return 7;
}

static intptr_t copy_main(void *arg)
{
    (void)arg;
    ck_assert_int_eq(loom_ctxvar_set(&user, "dave"), 0);
    struct loom_context *ctx = loom_context_copy();
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(loom_ctxvar_set(&user, "frank"), 0); /* after the copy */
    ck_assert_str_eq(loom_context_get(ctx, &user), "dave");
    ck_assert_int_eq(loom_context_run(ctx, in_copy, ctx), 7);
    ck_assert_str_eq(GET(user), "frank"); /* the caller's context is untouched */
    ck_assert_ptr_null(loom_ctxvar_get(&depth));
    ck_assert_str_eq(loom_context_get(ctx, &user), "erin"); /* the run's sets stay in ctx */
    ck_assert_int_eq((intptr_t)loom_context_get(ctx, &depth), 1);
    loom_context_free(ctx);
    return 0;
}

START_TEST(test_copy_run) { ck_assert_int_eq(test_run_task(copy_main, NULL), 0); }
END_TEST

/* Tasks spawned inside a run inherit the copy, even after run returned and
 * the copy was freed; a run that suspends keeps its context across the wait. */
static intptr_t report_user(void *arg)
{
    (void)arg;
    loom_sleep(LOOM_MS(5));
    return (intptr_t)GET(user);
}

static intptr_t spawn_inside(void *arg)
{
    struct loom_task **out = arg;
    *out = loom_spawn(report_user, NULL, "inherits");
    ck_assert_int_eq(loom_sleep(LOOM_MS(1)), 0);
    return (intptr_t)GET(user);
}

static intptr_t spawn_main(void *arg)
{
    (void)arg;
    ck_assert_int_eq(loom_ctxvar_set(&user, "gina"), 0);
    struct loom_context *ctx = loom_context_copy();
    ck_assert_int_eq(loom_ctxvar_set(&user, "hank"), 0);
    struct loom_task *child = NULL;
    ck_assert_str_eq((const char *)loom_context_run(ctx, spawn_inside, &child), "gina");
    loom_context_free(ctx);
    ck_assert_str_eq((const char *)loom_task_join(child), "gina");
    ck_assert_str_eq(GET(user), "hank");
    return 0;
}

START_TEST(test_run_spawns) { ck_assert_int_eq(test_run_task(spawn_main, NULL), 0); }
END_TEST

/* Without a loop there is no context to change; a copy is empty. */
START_TEST(test_no_loop)
{
    struct loom_ctxvar_token t;
    ck_assert_int_eq(loom_ctxvar_set_token(&user, "x", &t), -EPERM);
    struct loom_context *ctx = loom_context_copy();
    ck_assert_ptr_nonnull(ctx);
    ck_assert_str_eq(loom_context_get(ctx, &user), "nobody");
    ck_assert_int_eq(loom_context_run(ctx, report_user, NULL), -EPERM);
    loom_context_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("context");
    TCase *tc = test_tcase_fd(s, "context", 10);
    tcase_add_test(tc, test_tokens);
    tcase_add_test(tc, test_token_other_context);
    tcase_add_test(tc, test_copy_run);
    tcase_add_test(tc, test_run_spawns);
    tcase_add_test(tc, test_no_loop);
    return test_main(s);
}
