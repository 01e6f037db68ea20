#include "conf.h"

static struct loom_lock l;
static struct loom_condition c;

static intptr_t waiter(void *arg)
{
    int n = (int)(intptr_t)arg;
    loom_condition_acquire(&c, -1);
    T("waiter %d waits", n);
    loom_condition_wait(&c, -1);
    T("waiter %d notified", n);
    loom_condition_release(&c);
    return 0;
}

static intptr_t main_task(void *arg)
{
    loom_lock_init(&l);
    loom_condition_init(&c, &l);
    struct loom_task *ts[4];
    for (int i = 0; i < 4; i++)
        ts[i] = loom_spawn(waiter, (void *)(intptr_t)i, NULL);
    loom_yield();
    loom_condition_acquire(&c, -1);
    T("notify 1");
    loom_condition_notify(&c, 1);
    loom_condition_release(&c);
    loom_yield();
    loom_yield();
    loom_condition_acquire(&c, -1);
    T("notify_all");
    loom_condition_notify_all(&c);
    loom_condition_release(&c);
    for (int i = 0; i < 4; i++)
        loom_task_join(ts[i]);
    T("end");
    loom_condition_close(&c);
    loom_lock_close(&l);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
