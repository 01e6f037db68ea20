/* listing_2_13.c - shielding a task from a timeout (listing 2.13).
 *
 * loom_shield() wraps the task in a new one; wait_for's timeout cancels only
 * the wrapper, so delay(10) keeps running and main can still join it. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_13\n"
    "wait_for(shield(delay(10)), 5 s) (scaled): the timeout message comes at 5 s, the\n"
    "task keeps running and its result 10 is printed at about 10 s.\n";

static intptr_t main_task(void *arg)
{
    struct loom_task *task = loom_spawn(demo_delay_task, (void *)10, NULL);
    if (!task)
        return -ENOMEM;
    struct loom_task *shielded = loom_shield(task);
    if (!shielded)
        return -ENOMEM;

    intptr_t result = loom_wait_for(shielded, demo_sec(5));
    if (result == -ETIMEDOUT) {
        printf("Task took longer than five seconds, it will finish soon!\n");
        result = loom_task_join(task);
    } else {
        loom_task_release(task);
    }
    if (result < 0)
        return result;
    printf("%ld\n", (long)result);
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
