#include "conf.h"

static struct loom_queue q;

static intptr_t getter(void *arg)
{
    int n = (int)(intptr_t)arg;
    void *x;
    if (loom_queue_get(&q, &x, -1) == -ECANCELED) {
        T("getter %d cancelled", n);
        return -ECANCELED;
    }
    T("getter %d got %ld", n, (long)(intptr_t)x);
    return n;
}

static intptr_t main_task(void *arg)
{
    loom_queue_init(&q, 0);
    struct loom_task *ts[3];
    for (int i = 0; i < 3; i++)
        ts[i] = loom_spawn(getter, (void *)(intptr_t)i, NULL);
    loom_yield();
    loom_task_cancel(ts[1]);
    loom_yield();
    loom_queue_put_nowait(&q, (void *)10);
    loom_queue_put_nowait(&q, (void *)11);
    for (int i = 0; i < 3; i++)
        T("join %s", st(loom_task_join(ts[i])));
    T("left %zu", loom_queue_size(&q));
    loom_queue_close(&q);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
