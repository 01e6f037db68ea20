#include "conf.h"

static intptr_t inner(void *arg)
{
    if (loom_sleep(LOOM_SEC(10)) == -ECANCELED) {
        T("inner cancelled");
        return -ECANCELED;
    }
    return 0;
}

static intptr_t outer(void *arg)
{
    struct loom_task *i = loom_spawn(inner, NULL, NULL);
    loom_task_ref(i);
    T("outer awaits inner");
    intptr_t r = loom_task_join(i);
    T("outer got %s inner cancelled %s", st(r), loom_task_cancelled(i) ? "True" : "False");
    loom_task_release(i);
    return -ECANCELED;
}

static intptr_t main_task(void *arg)
{
    struct loom_task *o = loom_spawn(outer, NULL, NULL);
    loom_yield();
    loom_yield();
    loom_task_cancel(o);
    T("main join %s", st(loom_task_join(o)));
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
