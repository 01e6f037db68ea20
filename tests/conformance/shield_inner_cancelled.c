#include "conf.h"

static intptr_t inner(void *arg) { return loom_sleep(LOOM_SEC(10)); }

static intptr_t outer(void *arg)
{
    T("outer %s", st(loom_task_join(loom_shield(arg))));
    return 1;
}

static intptr_t main_task(void *arg)
{
    struct loom_task *i = loom_spawn(inner, NULL, NULL);
    struct loom_task *o = loom_spawn(outer, i, NULL);
    loom_yield();
    loom_task_cancel(i);
    T("outer join %s", st(loom_task_join(o)));
    T("inner cancelled %s", loom_task_cancelled(i) ? "True" : "False");
    loom_task_release(i);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
