#include "conf.h"

static void fcb(struct loom_future *f, void *arg)
{
    T("future callback, cancelled %s", loom_future_cancelled(f) ? "True" : "False");
}

static intptr_t child(void *arg)
{
    struct loom_future *f = arg;
    intptr_t r = loom_future_await(f, -1);
    if (r == -ECANCELED)
        T("child sees cancellation; future cancelled %s",
          loom_future_cancelled(f) ? "True" : "False");
    return r;
}

static intptr_t main_task(void *arg)
{
    struct loom_future f;
    struct loom_future_callback c;
    loom_future_init(&f);
    loom_future_add_done_callback(&f, &c, fcb, NULL);
    struct loom_task *t = loom_spawn(child, &f, NULL);
    loom_yield();
    loom_task_cancel(t);
    T("after cancel(): future cancelled %s", loom_future_cancelled(&f) ? "True" : "False");
    T("join %s", st(loom_task_join(t)));
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
