#include "conf.h"

static intptr_t quick(void *arg) { return 4; }

static intptr_t main_task(void *arg)
{
    struct loom_task *t = loom_spawn(quick, NULL, NULL);
    loom_yield();
    T("done %s", loom_task_done(t) ? "True" : "False");
    T("join %s", st(loom_task_join(t)));
    t = loom_spawn(quick, NULL, NULL);
    loom_yield();
    T("wait_for done %s", st(loom_wait_for(t, LOOM_MS(10))));
    T("gather empty %s", loom_gather(NULL, 0, NULL, 0) == 0 ? "[]" : "error");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
