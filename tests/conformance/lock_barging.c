#include "conf.h"

static struct loom_lock l;

static intptr_t waiter(void *arg)
{
    loom_lock_acquire(&l, -1);
    T("waiter got the lock");
    loom_lock_release(&l);
    return 0;
}

static intptr_t main_task(void *arg)
{
    loom_lock_init(&l);
    loom_lock_acquire(&l, -1);
    struct loom_task *w = loom_spawn(waiter, NULL, NULL);
    loom_yield();
    loom_lock_release(&l);
    T("main released; locked %s", loom_lock_locked(&l) ? "True" : "False");
    loom_lock_acquire(&l, -1);
    T("main re-acquired");
    loom_lock_release(&l);
    loom_task_join(w);
    loom_lock_close(&l);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
