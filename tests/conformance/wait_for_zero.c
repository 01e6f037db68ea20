#include "conf.h"

static intptr_t slow(void *arg)
{
    if (loom_sleep(LOOM_SEC(10)) == -ECANCELED) {
        T("slow cancelled");
        return -ECANCELED;
    }
    return 0;
}

static intptr_t quick(void *arg) { return 2; }

static intptr_t main_task(void *arg)
{
    T("slow %s", st(loom_wait_for(loom_spawn(slow, NULL, NULL), 0)));
    struct loom_task *t = loom_spawn(quick, NULL, NULL);
    loom_yield();
    T("quick %s", st(loom_wait_for(t, 0)));
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
