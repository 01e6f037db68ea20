#include "conf.h"

static intptr_t inner(void *arg)
{
    if (loom_sleep(LOOM_SEC(10)) == -ECANCELED) {
        T("inner cancelled");
        return -ECANCELED;
    }
    return 0;
}

static intptr_t caller(void *arg)
{
    T("caller %s", st(loom_wait_for(loom_spawn(inner, NULL, NULL), LOOM_SEC(5))));
    return -ECANCELED;
}

static intptr_t main_task(void *arg)
{
    struct loom_task *c = loom_spawn(caller, NULL, NULL);
    loom_yield();
    loom_yield();
    loom_task_cancel(c);
    T("join %s", st(loom_task_join(c)));
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
