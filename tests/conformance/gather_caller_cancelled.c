#include "conf.h"

static intptr_t w(void *arg)
{
    if (loom_sleep(LOOM_SEC(10)) == -ECANCELED) {
        T("w %d cancelled", (int)(intptr_t)arg);
        return -ECANCELED;
    }
    return 0;
}

static intptr_t caller(void *arg)
{
    struct loom_task *ts[2] = {loom_spawn(w, (void *)1, NULL), loom_spawn(w, (void *)2, NULL)};
    T("caller %s", st(loom_gather(ts, 2, NULL, 0)));
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
