#include "conf.h"

static int cmp(const void *a, const void *b)
{
    intptr_t x = (intptr_t)a, y = (intptr_t)b;
    return (x > y) - (x < y);
}

static void drain(struct loom_queue *q, const char *name)
{
    static const intptr_t in[] = {3, 1, 4, 1, 5};
    for (int i = 0; i < 5; i++)
        loom_queue_put_nowait(q, (void *)in[i]);
    void *o[5];
    for (int i = 0; i < 5; i++)
        loom_queue_get_nowait(q, &o[i]);
    T("%s %ld %ld %ld %ld %ld", name, (long)(intptr_t)o[0], (long)(intptr_t)o[1],
      (long)(intptr_t)o[2], (long)(intptr_t)o[3], (long)(intptr_t)o[4]);
    loom_queue_close(q);
}

static intptr_t main_task(void *arg)
{
    struct loom_queue q;
    loom_lifo_queue_init(&q, 0);
    drain(&q, "LifoQueue");
    loom_priority_queue_init(&q, 0, cmp);
    drain(&q, "PriorityQueue");
    loom_queue_init(&q, 1);
    loom_queue_put_nowait(&q, (void *)1);
    if (loom_queue_put_nowait(&q, (void *)2) == -EAGAIN)
        T("full");
    void *x;
    loom_queue_get_nowait(&q, &x);
    if (loom_queue_get_nowait(&q, &x) == -EAGAIN)
        T("empty");
    loom_queue_close(&q);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
