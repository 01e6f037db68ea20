/* listing_11_2.c - a race across a suspension point (listing 11.2).
 *
 * Now each task reads the counter, sleeps, and writes back what it read plus
 * one. All 100 tasks read 0 before any of them writes, so the round ends with
 * "Counter is 1" and the check fails at once, as the book's assert does. */
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_11_2 [--rounds N]\n"
    "Like listing 11.1, but each task reads the counter, sleeps 0.01 s (scaled), then writes\n"
    "the value it read plus one. Prints \"Counter is 1\" and fails the check (exit status 1).\n";

static int counter;

static intptr_t increment(void *arg)
{
    int temp_counter = counter;
    temp_counter = temp_counter + 1;
    int rc = loom_sleep(demo_sec(0.01)); /* every other task runs here */
    if (rc < 0)
        return rc;
    counter = temp_counter;
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
            fprintf(stderr, "AssertionError: counter is %d, expected 100\n", counter);
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
