#include "conf.h"

static struct loom_lock l;
static struct loom_condition c;

static intptr_t waiter(void *arg)
{
    int n = (int)(intptr_t)arg;
    loom_condition_acquire(&c, -1);
    if (loom_condition_wait(&c, -1) == -ECANCELED) {
        T("waiter %d cancelled, holds lock %s", n, loom_lock_locked(&l) ? "True" : "False");
        loom_condition_release(&c);
        return -ECANCELED;
    }
    T("waiter %d notified", n);
    loom_condition_release(&c);
    return n;
}

static intptr_t main_task(void *arg)
{
    loom_lock_init(&l);
    loom_condition_init(&c, &l);
    struct loom_task *ts[3];
    for (int i = 0; i < 3; i++)
        ts[i] = loom_spawn(waiter, (void *)(intptr_t)i, NULL);
    loom_yield();
    loom_task_cancel(ts[0]);
    loom_condition_acquire(&c, -1);
    /* asyncio's notify returns None. */
    loom_condition_notify(&c, 1);
    T("notify 1 -> None");
    loom_condition_release(&c);
    for (int i = 0; i < 2; i++)
        T("join %s", st(loom_task_join(ts[i])));
    loom_condition_acquire(&c, -1);
    loom_condition_notify_all(&c);
    loom_condition_release(&c);
    T("join %s", st(loom_task_join(ts[2])));
    loom_condition_close(&c);
    loom_lock_close(&l);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
