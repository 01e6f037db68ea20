#include "conf.h"

/* A TaskGroup that cancels its owner because a child failed takes that request
 * back (uncancel) when it exits: the owner's cancelling() is 0 again. */

static intptr_t failer(void *arg)
{
    loom_yield();
    T("child fails");
    return FAIL;
}

static intptr_t main_task(void *arg)
{
    struct loom_task *me = loom_task_current();
    struct loom_taskgroup g;
    loom_taskgroup_init(&g);
    loom_taskgroup_spawn(&g, failer, NULL, NULL);
    if (loom_sleep(LOOM_SEC(10)) == -ECANCELED)
        T("body cancelled, cancelling %u", loom_task_cancelling(me));
    if (loom_taskgroup_join(&g) == FAIL)
        T("group failed");
    T("cancelling after the group %u", loom_task_cancelling(me));
    loom_yield();
    T("main goes on");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
