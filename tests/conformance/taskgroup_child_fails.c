#include "conf.h"

static intptr_t sleeper(void *arg)
{
    if (loom_sleep(LOOM_SEC(10)) == -ECANCELED) {
        T("a sleeper cancelled");
        return -ECANCELED;
    }
    return 0;
}

static intptr_t failer(void *arg)
{
    loom_yield();
    T("failer fails");
    return FAIL;
}

static intptr_t main_task(void *arg)
{
    struct loom_taskgroup g;
    loom_taskgroup_init(&g);
    loom_taskgroup_spawn(&g, sleeper, (void *)1, NULL);
    loom_taskgroup_spawn(&g, failer, NULL, NULL);
    loom_taskgroup_spawn(&g, sleeper, (void *)2, NULL);
    if (loom_sleep(LOOM_SEC(10)) == -ECANCELED)
        T("body cancelled");
    int rc = loom_taskgroup_join(&g);
    if (rc < 0 && rc != -ECANCELED)
        T("group error");
    T("end");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
