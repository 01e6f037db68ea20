/* listing_2_12.c - a timeout with wait_for (listing 2.12).
 *
 * loom_wait_for() waits for a task at most 1 second; on timeout it cancels the
 * task, waits until the cancellation landed and returns -ETIMEDOUT. We keep a
 * reference of our own so we can ask afterwards whether it was cancelled. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_12\n"
    "Waits for delay(3) with a 1 s timeout (scaled): prints \"Timeout!\" at about 1 s\n"
    "and \"Task was cancelled? True\".\n";

static intptr_t main_task(void *arg)
{
    struct loom_task *delay_task = loom_spawn(demo_delay_task, (void *)3, NULL);
    if (!delay_task)
        return -ENOMEM;
    loom_task_ref(delay_task); /* wait_for releases one reference */

    intptr_t result = loom_wait_for(delay_task, demo_sec(1));
    if (result == -ETIMEDOUT) {
        printf("Timeout!\n");
        printf("Task was cancelled? %s\n", loom_task_cancelled(delay_task) ? "True" : "False");
    } else {
        printf("result: %ld\n", (long)result);
    }
    loom_task_release(delay_task);
    return result == -ECANCELED ? result : 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    double start = demo_now();
    DEMO_CHECK(loom_run(main_task, NULL));
    printf("Total time: %.4f sec.\n", demo_now() - start);
    return 0;
}
