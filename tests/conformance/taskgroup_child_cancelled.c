#include "conf.h"

static intptr_t w(void *arg)
{
    int rc = loom_sleep(LOOM_MS(10));
    if (rc < 0)
        return rc;
    T("w %d done", (int)(intptr_t)arg);
    return 0;
}

static struct loom_task *victim;

static intptr_t w2(void *arg)
{
    victim = loom_task_ref(loom_task_current());
    return w(arg);
}

static intptr_t main_task(void *arg)
{
    struct loom_taskgroup g;
    loom_taskgroup_init(&g);
    loom_taskgroup_spawn(&g, w, (void *)1, NULL);
    loom_taskgroup_spawn(&g, w2, (void *)2, NULL);
    loom_taskgroup_spawn(&g, w, (void *)3, NULL);
    loom_yield();
    loom_task_cancel(victim);
    T("cancelled one child");
    int rc = loom_taskgroup_join(&g);
    T("group %s, child cancelled %s", rc == 0 ? "ok" : "failed",
      loom_task_cancelled(victim) ? "True" : "False");
    loom_task_release(victim);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
