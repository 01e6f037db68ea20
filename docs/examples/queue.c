/* queue.c - producers and consumers: a bounded queue, join, and shutdown. */
#include <errno.h>
#include <stdio.h>

#include <loom/reactor/error.h>
#include <loom/reactor/task.h>
#include <loom/sync/sync.h>

static struct loom_queue orders;
static long processed;

/* A worker takes orders until the queue is shut down and empty. */
static intptr_t worker(void *arg)
{
    void *item;
    int rc;
    while ((rc = loom_queue_get(&orders, &item, LOOM_FOREVER)) == 0) {
        loom_sleep(LOOM_MS(10)); /* "process" the order */
        printf("%s: order %ld done\n", (const char *)arg, (long)(intptr_t)item);
        processed++;
        loom_queue_task_done(&orders);
    }
    return rc == -ESHUTDOWN ? 0 : rc;
}

static intptr_t amain(void *unused)
{
    loom_queue_init(&orders, 2); /* at most 2 waiting: put() waits for room */
    struct loom_task *w[2] = {loom_spawn(worker, "worker-1", NULL),
                              loom_spawn(worker, "worker-2", NULL)};
    for (long i = 1; i <= 6; i++)
        loom_queue_put(&orders, (void *)(intptr_t)i, LOOM_SEC(5));
    loom_queue_join(&orders, LOOM_SEC(5)); /* every order marked done */
    loom_queue_shutdown(&orders);          /* workers' gets now end with -ESHUTDOWN */
    int rc = loom_gather(w, 2, NULL, 0);
    loom_queue_close(&orders);
    printf("%ld orders processed\n", processed);
    return rc == 0 && processed == 6 ? 0 : -1;
}

int main(void) { return loom_run(amain, NULL) == 0 ? 0 : 1; }
