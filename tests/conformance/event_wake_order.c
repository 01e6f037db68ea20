#include "conf.h"

static struct loom_event e;

static intptr_t waiter(void *arg)
{
    T("waiter %d waits", (int)(intptr_t)arg);
    loom_event_wait(&e, -1);
    T("waiter %d woke", (int)(intptr_t)arg);
    return 0;
}

static intptr_t main_task(void *arg)
{
    loom_event_init(&e);
    struct loom_task *ts[3];
    for (int i = 0; i < 3; i++)
        ts[i] = loom_spawn(waiter, (void *)(intptr_t)i, NULL);
    loom_yield();
    T("set");
    loom_event_set(&e);
    T("is_set %s", loom_event_is_set(&e) ? "True" : "False");
    loom_event_clear(&e);
    T("cleared");
    for (int i = 0; i < 3; i++)
        loom_task_join(ts[i]);
    T("wait on set event");
    loom_event_set(&e);
    loom_event_wait(&e, -1);
    T("end");
    loom_event_close(&e);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
