#include "conf.h"

static intptr_t inner(void *arg)
{
    loom_sleep(LOOM_MS(10));
    T("inner finished");
    return 9;
}

static intptr_t outer(void *arg)
{
    T("outer %s", st(loom_task_join(loom_shield(arg))));
    return -ECANCELED;
}

static intptr_t main_task(void *arg)
{
    struct loom_task *i = loom_spawn(inner, NULL, NULL);
    struct loom_task *o = loom_spawn(outer, i, NULL);
    loom_yield();
    loom_task_cancel(o);
    T("outer join %s", st(loom_task_join(o)));
    T("inner done yet %s", loom_task_done(i) ? "True" : "False");
    T("inner join %s", st(loom_task_join(i)));
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
