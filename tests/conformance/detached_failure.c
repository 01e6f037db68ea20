#include "conf.h"

static intptr_t doomed(void *arg)
{
    loom_yield();
    T("doomed fails");
    return FAIL;
}

static intptr_t main_task(void *arg)
{
    /* loom has no loop-level handler for errors nobody retrieved (yet). */
    struct loom_task *t = loom_spawn(doomed, NULL, "doomed");
    loom_task_release(t);
    for (int i = 0; i < 3; i++)
        loom_yield();
    T("main ends");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
