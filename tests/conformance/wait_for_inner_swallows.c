#include "conf.h"

static intptr_t inner(void *arg)
{
    if (loom_sleep(LOOM_SEC(10)) == -ECANCELED)
        T("inner swallows the timeout's cancellation");
    return 8;
}

static intptr_t main_task(void *arg)
{
    T("wait_for %s", st(loom_wait_for(loom_spawn(inner, NULL, NULL), LOOM_MS(10))));
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
