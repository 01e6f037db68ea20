/* listing_2_17.c - timing two concurrent tasks (listing 2.17).
 *
 * delay(2) and delay(3), each wrapped by the timer, run as tasks; main is
 * timed too and completes in about 3 s, the longer of the two. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_17\n"
    "Runs timed delay(2) and delay(3) tasks (scaled); main completes in about 3 s.\n";

static intptr_t timed_delay(void *seconds)
{
    char args[32];
    snprintf(args, sizeof args, "(%d,) {}", (int)(intptr_t)seconds);
    return demo_timed("delay", args, demo_delay_task, seconds);
}

static intptr_t main_body(void *arg)
{
    struct loom_task *task_one = loom_spawn(timed_delay, (void *)2, NULL);
    struct loom_task *task_two = loom_spawn(timed_delay, (void *)3, NULL);
    if (!task_one || !task_two)
        return -ENOMEM;
    intptr_t r1 = loom_task_join(task_one);
    intptr_t r2 = loom_task_join(task_two);
    return r1 < 0 ? r1 : r2 < 0 ? r2 : 0;
}

static intptr_t main_task(void *arg) { return demo_timed("main", "() {}", main_body, NULL); }

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
