#include "conf.h"

static void cb(void *arg) { T("%s", (const char *)arg); }
static void fcb(struct loom_future *f, void *arg) { T("%s", (const char *)arg); }

static intptr_t waiter(void *arg)
{
    intptr_t r = loom_future_await(arg, -1);
    T("waiter got %ld", (long)r);
    return 0;
}

static intptr_t main_task(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    struct loom_future f;
    struct loom_future_callback c1, c2;
    loom_future_init(&f);
    struct loom_task *w = loom_spawn(waiter, &f, NULL);
    loom_yield();
    loom_future_add_done_callback(&f, &c1, fcb, "cb 1");
    loom_future_add_done_callback(&f, &c2, fcb, "cb 2");
    loom_call_soon(loop, cb, "soon before");
    loom_future_set_result(&f, 7);
    loom_call_soon(loop, cb, "soon after");
    T("main set");
    loom_yield();
    T("main resumed");
    loom_task_join(w);
    T("end");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
