#include "conf.h"

static struct loom_queue q;

static intptr_t producer(void *arg)
{
    for (intptr_t i = 0; i < 5; i++) {
        loom_queue_put(&q, (void *)(i + 1), -1);
        T("put %ld size %zu", (long)i, loom_queue_size(&q));
    }
    loom_queue_put(&q, NULL, -1);
    return 0;
}

static intptr_t consumer(void *arg)
{
    for (;;) {
        void *x;
        loom_queue_get(&q, &x, -1);
        loom_queue_task_done(&q);
        if (!x)
            break;
        T("got %ld", (long)(intptr_t)x - 1);
    }
    return 0;
}

static intptr_t main_task(void *arg)
{
    loom_queue_init(&q, 2);
    struct loom_task *c = loom_spawn(consumer, NULL, NULL);
    struct loom_task *p = loom_spawn(producer, NULL, NULL);
    loom_task_join(p);
    loom_task_join(c);
    loom_queue_join(&q, -1);
    T("end");
    loom_queue_close(&q);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
