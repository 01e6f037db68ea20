#include "conf.h"

static struct loom_semaphore s;

static intptr_t user(void *arg)
{
    int n = (int)(intptr_t)arg;
    if (loom_semaphore_acquire(&s, -1) == -ECANCELED) {
        T("user %d cancelled", n);
        return -ECANCELED;
    }
    T("user %d in", n);
    loom_semaphore_release(&s);
    return n;
}

static intptr_t main_task(void *arg)
{
    loom_semaphore_init(&s, 0);
    struct loom_task *ts[3];
    for (int i = 0; i < 3; i++)
        ts[i] = loom_spawn(user, (void *)(intptr_t)i, NULL);
    loom_yield();
    loom_task_cancel(ts[0]);
    loom_semaphore_release(&s);
    for (int i = 0; i < 3; i++)
        T("join %s", st(loom_task_join(ts[i])));
    T("locked %s", loom_semaphore_locked(&s) ? "True" : "False");
    loom_semaphore_close(&s);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
