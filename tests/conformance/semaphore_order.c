#include "conf.h"

static struct loom_semaphore s;

static intptr_t user(void *arg)
{
    int n = (int)(intptr_t)arg;
    loom_semaphore_acquire(&s, -1);
    T("user %d in", n);
    loom_yield();
    loom_yield();
    T("user %d out", n);
    loom_semaphore_release(&s);
    return 0;
}

static intptr_t main_task(void *arg)
{
    loom_semaphore_init(&s, 2);
    struct loom_task *ts[5];
    for (int i = 0; i < 5; i++)
        ts[i] = loom_spawn(user, (void *)(intptr_t)i, NULL);
    for (int i = 0; i < 5; i++)
        loom_task_join(ts[i]);
    T("locked %s", loom_semaphore_locked(&s) ? "True" : "False");
    loom_semaphore_close(&s);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
