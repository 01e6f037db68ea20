#include "conf.h"

static intptr_t quick(void *arg) { return 6; }

static intptr_t main_task(void *arg)
{
    struct loom_task *t = loom_spawn(quick, NULL, NULL);
    loom_yield();
    T("shield of a finished task %s", st(loom_task_join(loom_shield(t))));
    loom_task_release(t);
    t = loom_spawn(quick, NULL, NULL);
    T("shield before start %s", st(loom_task_join(loom_shield(t))));
    loom_task_release(t);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
