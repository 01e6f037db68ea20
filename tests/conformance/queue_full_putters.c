#include "conf.h"

static struct loom_queue q;

static intptr_t putter(void *arg)
{
    T("putter %d waits", (int)(intptr_t)arg);
    loom_queue_put(&q, arg, -1);
    T("putter %d put", (int)(intptr_t)arg);
    return 0;
}

static intptr_t main_task(void *arg)
{
    loom_queue_init(&q, 1);
    loom_queue_put_nowait(&q, (void *)0);
    struct loom_task *ts[3];
    for (int i = 0; i < 3; i++)
        ts[i] = loom_spawn(putter, (void *)(intptr_t)(i + 1), NULL);
    loom_yield();
    for (int i = 0; i < 4; i++) {
        void *x;
        loom_queue_get(&q, &x, -1);
        T("get %d", (int)(intptr_t)x);
        loom_yield();
    }
    for (int i = 0; i < 3; i++)
        loom_task_join(ts[i]);
    T("empty %s", loom_queue_empty(&q) ? "True" : "False");
    loom_queue_close(&q);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
