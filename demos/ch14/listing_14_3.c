/* listing_14_3.c - letting tasks start with sleep(0) (listing 14.3).
 *
 * A spawned task only starts when the spawner suspends. Without a yield, main
 * prints "Applying gather() to tasks:" before either delay has started; with
 * loom_yield() (sleep(0): one trip through the ready queue) after each spawn,
 * the Starting lines come first. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_14_3\n"
    "Spawns delay(1) and delay(2) (scaled) and gathers them, first without and then\n"
    "with sleep(0) after each spawn, showing where \"Applying gather() to tasks:\" lands.\n";

static intptr_t create_tasks(void *with_sleep)
{
    struct loom_task *tasks[2];
    for (int i = 0; i < 2; i++) {
        if (!(tasks[i] = loom_spawn(demo_delay_task, (void *)(intptr_t)(i + 1), NULL)))
            return -ENOMEM;
        if (with_sleep) {
            int rc = loom_yield(); /* asyncio.sleep(0) */
            if (rc < 0)
                return rc;
        }
    }
    printf("Applying gather() to tasks:\n");
    return loom_gather(tasks, 2, NULL, 0);
}

static intptr_t main_task(void *arg)
{
    printf("--- without sleep(0)\n");
    intptr_t rc = create_tasks(NULL);
    if (rc < 0)
        return rc;
    printf("--- with sleep(0)\n");
    return create_tasks((void *)1);
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
