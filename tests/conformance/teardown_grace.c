#include "conf.h"

static intptr_t stubborn(void *arg)
{
    if (loom_sleep(LOOM_SEC(10)) == -ECANCELED)
        T("stubborn ignores the teardown cancellation");
    for (int i = 0; i < 10; i++)
        if (loom_sleep(LOOM_MS(100)) == -ECANCELED) {
            T("stubborn cancelled again");
            return -ECANCELED;
        }
    T("stubborn finished its work");
    return 0;
}

static intptr_t main_task(void *arg)
{
    loom_task_spawn(NULL, stubborn, NULL, NULL, NULL);
    loom_yield();
    T("main returns");
    return 0;
}

int main(void)
{
    int rc = (int)loom_run(main_task, NULL);
    T("after run");
    return rc;
}
