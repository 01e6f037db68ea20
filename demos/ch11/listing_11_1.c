/* listing_11_1.c - no race without a suspension point (listing 11.1).
 *
 * Rounds of 100 tasks each sleep, then bump a global counter. All tasks run on
 * one thread and counter = counter + 1 never suspends in the middle, so every
 * round ends with exactly 100: a single-threaded reactor needs no lock here. */
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_11_1 [--rounds N]\n"
    "Runs N rounds (default 1000) of 100 tasks that sleep 0.01 s (scaled) and then add one\n"
    "to a shared counter; prints \"Counter is 100\" after each round.\n";

static int counter;

static intptr_t increment(void *arg)
{
    int rc = loom_sleep(demo_sec(0.01));
    if (rc < 0)
        return rc;
    counter = counter + 1; /* no suspension between the read and the write */
    return 0;
}

static intptr_t main_task(void *arg)
{
    long rounds = demo_arg_long("--rounds", 1000);
    for (long r = 0; r < rounds; r++) {
        struct loom_task *tasks[100];
        for (int i = 0; i < 100; i++)
            tasks[i] = loom_spawn(increment, NULL, NULL);
        DEMO_CHECK(loom_gather(tasks, 100, NULL, 0));
        printf("Counter is %d\n", counter);
        if (counter != 100) {
            fprintf(stderr, "AssertionError: counter is %d\n", counter);
            return 1;
        }
        counter = 0;
    }
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
