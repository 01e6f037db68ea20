/* listing_2_8.c - creating a task (listing 2.8).
 *
 * loom_spawn() schedules delay(3) as a task: it starts on the next loop
 * iteration, not at once. main prints what it got back - a task handle, still
 * pending - then joins it for its result. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_8\n"
    "Spawns delay(3) (scaled) as a task, prints the handle's type and state, then joins\n"
    "it and prints \"result: 3\".\n";

static intptr_t main_task(void *arg)
{
    struct loom_task *sleep_for_three = loom_spawn(demo_delay_task, (void *)3, NULL);
    if (!sleep_for_three)
        return -ENOMEM;
    printf("type: struct loom_task <Task %s name='%s'>\n",
           loom_task_done(sleep_for_three) ? "finished" : "pending",
           loom_task_name(sleep_for_three));
    intptr_t result = loom_task_join(sleep_for_three);
    if (result < 0)
        return result;
    printf("result: %ld\n", (long)result);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
