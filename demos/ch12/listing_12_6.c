/* listing_12_6.c - priority queue of records ordered by one field (listing 12.6).
 *
 * Like listing 12.5, but the items are WorkItem records compared by priority
 * only (the book's dataclass with order=True and data excluded from the
 * comparison): the comparator looks at nothing else. */
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_12_6\n"
    "Puts WorkItem(3, Lowest), (2, Medium), (1, High) into a priority queue ordered by the\n"
    "priority field only; a worker prints them in order 1, 2, 3.\n";

struct work_item {
    int priority;
    const char *data; /* not compared */
};

static int compare_priority(const void *a, const void *b)
{
    const struct work_item *x = a, *y = b;
    return (x->priority > y->priority) - (x->priority < y->priority);
}

static struct loom_queue queue;

static intptr_t worker(void *arg)
{
    while (!loom_queue_empty(&queue)) {
        void *item;
        int rc = loom_queue_get(&queue, &item, -1);
        if (rc < 0)
            return rc;
        const struct work_item *w = item;
        printf("Processing work item WorkItem(priority=%d, data='%s')\n", w->priority, w->data);
        loom_queue_task_done(&queue);
    }
    return 0;
}

static intptr_t main_task(void *arg)
{
    static struct work_item work_items[] = {
        {3, "Lowest priority"}, {2, "Medium priority"}, {1, "High priority"}};
    loom_priority_queue_init(&queue, 0, compare_priority);
    struct loom_task *worker_task = loom_spawn(worker, NULL, "worker");
    for (int i = 0; i < 3; i++)
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
