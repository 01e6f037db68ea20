#include "conf.h"

static intptr_t selfish(void *arg)
{
    loom_task_cancel(loom_task_current());
    T("still running after cancelling itself");
    if (loom_yield() == -ECANCELED) {
        T("cancelled at next suspension");
        return -ECANCELED;
    }
    return 0;
}

static intptr_t main_task(void *arg)
{
    T("join %s", st(loom_task_join(loom_spawn(selfish, NULL, NULL))));
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
