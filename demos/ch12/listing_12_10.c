/* listing_12_10.c - a LIFO queue (listing 12.10).
 *
 * Five WorkItems go into a LifoQueue; they come out last in, first out
 * (order field 5, 4, 3, 2, 1). Their priority field is ignored: a LIFO queue
 * only looks at insertion order. */
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_12_10\n"
    "Puts 5 work items (order 1..5) into a LIFO queue; a worker prints them in reverse\n"
    "insertion order, ignoring their priorities.\n";

struct work_item {
    int priority;
    int order;
    const char *data;
};

static struct loom_queue queue;

static intptr_t worker(void *arg)
{
    while (!loom_queue_empty(&queue)) {
        void *item;
        int rc = loom_queue_get(&queue, &item, -1);
        if (rc < 0)
            return rc;
        const struct work_item *w = item;
        printf("Processing work item WorkItem(priority=%d, order=%d, data='%s')\n", w->priority,
               w->order, w->data);
        loom_queue_task_done(&queue);
    }
    return 0;
}

static intptr_t main_task(void *arg)
{
    static struct work_item work_items[] = {{3, 1, "Lowest priority"},
                                            {3, 2, "Lowest priority second"},
                                            {3, 3, "Lowest priority third"},
                                            {2, 4, "Medium priority"},
                                            {1, 5, "High priority"}};
    loom_lifo_queue_init(&queue, 0);
    struct loom_task *worker_task = loom_spawn(worker, NULL, "worker");
    for (int i = 0; i < 5; i++)
        DEMO_CHECK(loom_queue_put_nowait(&queue, &work_items[i]));
    DEMO_CHECK(loom_queue_join(&queue, -1));
    DEMO_CHECK(loom_task_join(worker_task));
    loom_queue_close(&queue);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
