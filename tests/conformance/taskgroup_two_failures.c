#include "conf.h"

static intptr_t failer(void *arg)
{
    T("failer %d fails", (int)(intptr_t)arg);
    return FAIL;
}

static intptr_t main_task(void *arg)
{
    struct loom_taskgroup g;
    loom_taskgroup_init(&g);
    loom_taskgroup_spawn(&g, failer, (void *)1, NULL);
    loom_taskgroup_spawn(&g, failer, (void *)2, NULL);
    /* The public API gives the first failure only. */
    int rc = loom_taskgroup_join(&g);
    T("failures %d", rc < 0 ? 1 : 0);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
