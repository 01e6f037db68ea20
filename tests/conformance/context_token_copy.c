#include "conf.h"

/* Context variables: a reset token restores the value (or no value), works
 * once, and is refused in another task's context; a copied context is a
 * snapshot that loom_context_run executes in, keeping its sets; a task
 * spawned inside the run inherits the copy. */

static struct loom_ctxvar user = {"user", (void *)"nobody"};
#define USER ((const char *)loom_ctxvar_get(&user))

static intptr_t inside(void *arg)
{
    (void)arg;
    T("inside run: %s", USER);
    loom_ctxvar_set(&user, "erin");
    return 7;
}

static intptr_t child(void *arg)
{
    T("child sees: %s", USER);
    T("child reset: %s", loom_ctxvar_reset(arg) == 0 ? "ok" : "refused");
    return 0;
}

static intptr_t late(void *arg)
{
    (void)arg;
    loom_sleep(LOOM_MS(10));
    T("spawned in run sees: %s", USER);
    return 0;
}

static intptr_t spawn_inside(void *arg)
{
    (void)arg;
    return (intptr_t)loom_spawn(late, NULL, NULL);
}

static intptr_t main_task(void *arg)
{
    (void)arg;
    struct loom_ctxvar_token t1, t2, tok;
    loom_ctxvar_set_token(&user, "alice", &t1);
    loom_ctxvar_set_token(&user, "bob", &t2);
    T("now: %s", USER);
    loom_ctxvar_reset(&t2);
    T("after reset: %s", USER);
    T("second reset: %s", loom_ctxvar_reset(&t2) == 0 ? "ok" : "refused");
    loom_ctxvar_reset(&t1);
    T("after first reset: %s", USER);

    loom_ctxvar_set_token(&user, "carol", &tok);
    loom_task_join(loom_spawn(child, &tok, NULL));
    T("parent still: %s", USER);
    loom_ctxvar_reset(&tok);

    loom_ctxvar_set(&user, "dave");
    struct loom_context *ctx = loom_context_copy();
    loom_ctxvar_set(&user, "frank");
    T("copy holds: %s", (const char *)loom_context_get(ctx, &user));
    T("run returns: %ld", (long)loom_context_run(ctx, inside, NULL));
    T("caller keeps: %s", USER);
    T("copy now: %s", (const char *)loom_context_get(ctx, &user));
    struct loom_task *t = (struct loom_task *)loom_context_run(ctx, spawn_inside, NULL);
    loom_task_join(t);
    T("end: %s", USER);
    loom_context_free(ctx);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
