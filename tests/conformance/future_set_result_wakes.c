#include "conf.h"

static struct loom_future f;

static intptr_t waiter(void *arg)
{
    T("waiter %d got %s", (int)(intptr_t)arg, st(loom_future_await(&f, -1)));
    return 0;
}

static intptr_t main_task(void *arg)
{
    loom_future_init(&f);
    struct loom_task *ts[3];
    for (int i = 0; i < 3; i++)
        ts[i] = loom_spawn(waiter, (void *)(intptr_t)i, NULL);
    loom_yield();
    loom_future_set_result(&f, 5);
    T("set");
    for (int i = 0; i < 3; i++)
        loom_task_join(ts[i]);
    T("end");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
