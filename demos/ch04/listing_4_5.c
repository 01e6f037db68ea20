/* listing_4_5.c - create every task first, then await them (listing 4.5).
 *
 * The three delay tasks (3, 2 and 1 s) are all created before the first await,
 * so they sleep at the same time: main takes about as long as the longest, 3 s. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_4_5\n"
    "Creates delay(3), delay(2), delay(1) tasks, then awaits them in turn: they run\n"
    "concurrently, main takes about 3 s (scaled).\n";

static intptr_t main_body(void *arg)
{
    static const int delay_times[] = {3, 2, 1};
    struct loom_task *tasks[3];
    for (int i = 0; i < 3; i++)
        if (!(tasks[i] = loom_spawn(demo_delay_task, (void *)(intptr_t)delay_times[i], NULL)))
            return -ENOMEM;
    for (int i = 0; i < 3; i++)
        DEMO_CHECK(loom_task_join(tasks[i]));
    return 0;
}

static intptr_t main_task(void *arg) { return demo_timed("main", "() {}", main_body, NULL); }

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
