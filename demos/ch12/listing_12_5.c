/* listing_12_5.c - a priority queue of (priority, text) pairs (listing 12.5).
 *
 * Items are put lowest priority first; the PriorityQueue hands them out by
 * the caller's comparator (smallest priority number first): 1, 2, 3. */
#include <stdio.h>
#include <string.h>

#include "demo.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_12_5\n"
    "Puts (3, Lowest), (2, Medium), (1, High) into a priority queue; a worker prints them\n"
    "in priority order 1, 2, 3.\n";

struct pair {
    int priority;
    const char *text;
};

/* Tuples compare field by field. */
static int compare_pairs(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    return strcmp(x->text, y->text);
}

static struct loom_queue queue;

static intptr_t worker(void *arg)
{
    while (!loom_queue_empty(&queue)) {
        void *item;
        int rc = loom_queue_get(&queue, &item, -1);
        if (rc < 0)
            return rc;
        const struct pair *work_item = item;
        printf("Processing work item (%d, '%s')\n", work_item->priority, work_item->text);
        loom_queue_task_done(&queue);
    }
    return 0;
}

static intptr_t main_task(void *arg)
{
    static struct pair work_items[] = {
        {3, "Lowest priority"}, {2, "Medium priority"}, {1, "High priority"}};
    loom_priority_queue_init(&queue, 0, compare_pairs);
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
