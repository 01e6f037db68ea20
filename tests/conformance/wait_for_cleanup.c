#include "conf.h"

static intptr_t inner(void *arg)
{
    if (loom_sleep(LOOM_SEC(10)) == -ECANCELED) {
        T("inner cleanup starts");
        loom_sleep(LOOM_MS(10));
        loom_yield();
        T("inner cleanup done");
        return -ECANCELED;
    }
    return 0;
}

static intptr_t main_task(void *arg)
{
    T("wait_for %s", st(loom_wait_for(loom_spawn(inner, NULL, NULL), LOOM_MS(10))));
    T("end");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
