/* listing_2_9.c - three tasks at once (listing 2.9).
 *
 * Three delay(3) tasks are spawned before main waits for any of them, so
 * their sleeps overlap: three Starting lines, then three End lines, and the
 * whole run takes about 3 seconds, not 9. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_9\n"
    "Spawns three delay(3) tasks (scaled), joins them one by one and prints the total\n"
    "time: about 3 s, not 9.\n";

static intptr_t main_task(void *arg)
{
    struct loom_task *sleep_for_three = loom_spawn(demo_delay_task, (void *)3, NULL);
    struct loom_task *sleep_again = loom_spawn(demo_delay_task, (void *)3, NULL);
    struct loom_task *sleep_once_more = loom_spawn(demo_delay_task, (void *)3, NULL);
    if (!sleep_for_three || !sleep_again || !sleep_once_more)
        return -ENOMEM;

    intptr_t rc = loom_task_join(sleep_for_three);
    intptr_t rc2 = loom_task_join(sleep_again);
    intptr_t rc3 = loom_task_join(sleep_once_more);
    return rc < 0 ? rc : rc2 < 0 ? rc2 : rc3 < 0 ? rc3 : 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    double start = demo_now();
    DEMO_CHECK(loom_run(main_task, NULL));
    printf("Total time: %.4f sec.\n", demo_now() - start);
    return 0;
}
