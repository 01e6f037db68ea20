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
    size_t n = 0;
    loom_taskgroup_join_failures(&g, NULL, 0, &n);
    T("failures %zu", n);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
