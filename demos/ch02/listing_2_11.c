/* listing_2_11.c - cancelling a task (listing 2.11).
 *
 * main polls a delay(10) task once a second and cancels it after 5 seconds.
 * Cancellation is a request: the task gets -ECANCELED from its sleep on the
 * next loop iteration, so it is still "not done" right after the cancel.
 * Joining it then reports the cancellation. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_11\n"
    "Polls a delay(10) task every second (\"Task is not done...\"), cancels it at 5 s\n"
    "(scaled); joining it prints \"Task was cancelled.\" at about 6 s.\n";

static intptr_t main_task(void *arg)
{
    struct loom_task *long_task = loom_spawn(demo_delay_task, (void *)10, NULL);
    if (!long_task)
        return -ENOMEM;

    int seconds_elapsed = 0;
    while (!loom_task_done(long_task)) {
        printf("Task is not done, checking again in a second...\n");
        int rc = loom_sleep(demo_sec(1));
        if (rc < 0) {
            loom_task_release(long_task);
            return rc;
        }
        seconds_elapsed++;
        if (seconds_elapsed == 5) {
            printf("Cancelling the task after %d sec.\n", seconds_elapsed);
            loom_task_cancel(long_task);
        }
    }

    intptr_t result = loom_task_join(long_task);
    if (result == -ECANCELED)
        printf("Task was cancelled.\n");
    else
        printf("Task finished with %ld\n", (long)result);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    double start = demo_now();
    DEMO_CHECK(loom_run(main_task, NULL));
    printf("Total time: %.4f sec.\n", demo_now() - start);
    return 0;
}
