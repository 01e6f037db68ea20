#include "conf.h"

static intptr_t child(void *arg)
{
    if (loom_sleep(LOOM_SEC(10)) == -ECANCELED) {
        T("a child cancelled");
        return -ECANCELED;
    }
    return 0;
}

static intptr_t owner(void *arg)
{
    struct loom_taskgroup g;
    loom_taskgroup_init(&g);
    loom_taskgroup_spawn(&g, child, (void *)1, NULL);
    loom_taskgroup_spawn(&g, child, (void *)2, NULL);
    T("owner joins");
    int rc = loom_taskgroup_join(&g);
    if (rc < 0)
        return rc;
    T("not reached");
    return 0;
}

static intptr_t main_task(void *arg)
{
    struct loom_task *o = loom_spawn(owner, NULL, NULL);
    loom_yield();
    loom_yield();
    loom_task_cancel(o);
    T("join %s", st(loom_task_join(o)));
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
