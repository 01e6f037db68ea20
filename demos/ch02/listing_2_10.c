/* listing_2_10.c - running other code while tasks sleep (listing 2.10).
 *
 * Two delay(3) tasks run while main itself sleeps twice for a second and
 * prints in between: the output interleaves and the total stays about 3 s. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_10\n"
    "Spawns two delay(3) tasks; meanwhile main prints \"Other code is executed while\n"
    "I'm waiting!\" at 1 s and 2 s (scaled). Total about 3 s.\n";

static int hello_every_second(void)
{
    for (int i = 0; i < 2; i++) {
        int rc = loom_sleep(demo_sec(1));
        if (rc < 0)
            return rc;
        printf("Other code is executed while I'm waiting!\n");
    }
    return 0;
}

static intptr_t main_task(void *arg)
{
    struct loom_task *first_delay = loom_spawn(demo_delay_task, (void *)3, NULL);
    struct loom_task *second_delay = loom_spawn(demo_delay_task, (void *)3, NULL);
    if (!first_delay || !second_delay)
        return -ENOMEM;
    int rc = hello_every_second();
    intptr_t r1 = loom_task_join(first_delay);
    intptr_t r2 = loom_task_join(second_delay);
    return rc < 0 ? rc : r1 < 0 ? r1 : r2 < 0 ? r2 : 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    double start = demo_now();
    DEMO_CHECK(loom_run(main_task, NULL));
    printf("Total time: %.4f sec.\n", demo_now() - start);
    return 0;
}
