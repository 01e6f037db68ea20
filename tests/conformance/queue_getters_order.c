#include "conf.h"

static struct loom_queue q;

static intptr_t getter(void *arg)
{
    void *x;
    loom_queue_get(&q, &x, -1);
    T("getter %d got %s", (int)(intptr_t)arg, (const char *)x);
    return 0;
}

static intptr_t main_task(void *arg)
{
    loom_queue_init(&q, 0);
    struct loom_task *ts[3];
    for (int i = 0; i < 3; i++)
        ts[i] = loom_spawn(getter, (void *)(intptr_t)i, NULL);
    loom_yield();
    loom_queue_put_nowait(&q, "a");
    loom_queue_put_nowait(&q, "b");
    loom_queue_put_nowait(&q, "c");
    T("put three; size %zu", loom_queue_size(&q));
    for (int i = 0; i < 3; i++)
        loom_task_join(ts[i]);
    T("end");
    loom_queue_close(&q);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
