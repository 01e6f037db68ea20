#include "conf.h"

static struct loom_lock l;

static intptr_t waiter(void *arg)
{
    int n = (int)(intptr_t)arg;
    if (loom_lock_acquire(&l, -1) == -ECANCELED) {
        T("waiter %d cancelled", n);
        return -ECANCELED;
    }
    T("waiter %d holds", n);
    loom_lock_release(&l);
    return n;
}

static intptr_t main_task(void *arg)
{
    loom_lock_init(&l);
    loom_lock_acquire(&l, -1);
    struct loom_task *ts[3];
    for (int i = 0; i < 3; i++)
        ts[i] = loom_spawn(waiter, (void *)(intptr_t)i, NULL);
    loom_yield();
    loom_task_cancel(ts[0]);
    loom_yield();
    loom_lock_release(&l);
    for (int i = 0; i < 3; i++)
        T("join %s", st(loom_task_join(ts[i])));
    T("locked %s", loom_lock_locked(&l) ? "True" : "False");
    loom_lock_close(&l);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
