#include "conf.h"

static intptr_t child(void *arg)
{
    for (int i = 0; i < 3; i++) {
        if (loom_sleep(LOOM_SEC(10)) == -ECANCELED)
            T("cancelled at %d", i);
        else
            T("slept %d", i);
    }
    return 3;
}

static intptr_t main_task(void *arg)
{
    struct loom_task *t = loom_spawn(child, NULL, NULL);
    loom_yield();
    loom_task_cancel(t);
    loom_task_cancel(t);
    loom_yield();
    T("after first delivery");
    loom_task_cancel(t);
    loom_yield();
    loom_task_cancel(t);
    T("join %s", st(loom_task_join(t)));
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
