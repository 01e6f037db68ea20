#include "conf.h"

static intptr_t child(void *arg)
{
    int n = (int)(intptr_t)arg;
    if (loom_sleep(LOOM_SEC(10)) == -ECANCELED) {
        T("child %d cancelled at teardown", n);
        loom_yield();
        T("child %d cleanup done", n);
        return -ECANCELED;
    }
    return 0;
}

static intptr_t main_task(void *arg)
{
    loom_task_spawn(NULL, child, (void *)1, NULL, NULL);
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
