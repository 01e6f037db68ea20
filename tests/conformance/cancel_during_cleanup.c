#include "conf.h"

static intptr_t child(void *arg)
{
    if (loom_sleep(LOOM_SEC(10)) == -ECANCELED) {
        T("first cancellation; cleaning up");
        if (loom_sleep(LOOM_SEC(10)) == -ECANCELED)
            T("second cancellation during cleanup");
        return -ECANCELED;
    }
    return 0;
}

static intptr_t main_task(void *arg)
{
    struct loom_task *t = loom_spawn(child, NULL, NULL);
    loom_yield();
    loom_task_cancel(t);
    loom_yield();
    loom_task_cancel(t);
    T("join %s", st(loom_task_join(t)));
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
