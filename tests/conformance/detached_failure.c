#include "conf.h"

static intptr_t doomed(void *arg)
{
    loom_yield();
    T("doomed fails");
    return FAIL;
}

static void handler(struct loom_loop *loop, const struct loom_error_context *ctx, void *arg)
{
    T("handler: %s %s", ctx->message, loom_task_name(ctx->task));
}

static intptr_t main_task(void *arg)
{
    loom_loop_set_exception_handler(loom_loop_current(), handler, NULL);
    struct loom_task *t = loom_spawn(doomed, NULL, "doomed");
    loom_task_release(t);
    for (int i = 0; i < 3; i++)
        loom_yield();
    T("main ends");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
