#include "conf.h"

static struct loom_lock l;

static intptr_t user(void *arg)
{
    int n = (int)(intptr_t)arg;
    T("user %d wants", n);
    loom_lock_acquire(&l, -1);
    T("user %d holds", n);
    loom_yield();
    T("user %d releases", n);
    loom_lock_release(&l);
    return 0;
}

static intptr_t main_task(void *arg)
{
    loom_lock_init(&l);
    struct loom_task *ts[4];
    for (int i = 0; i < 4; i++)
        ts[i] = loom_spawn(user, (void *)(intptr_t)i, NULL);
    for (int i = 0; i < 4; i++)
        loom_task_join(ts[i]);
    T("locked %s", loom_lock_locked(&l) ? "True" : "False");
    loom_lock_close(&l);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
