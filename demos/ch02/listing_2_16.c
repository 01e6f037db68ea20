/* listing_2_16.c - a timing wrapper (listing 2.16, util/async_timed.py).
 *
 * demo_timed(name, args, fn, arg) (demos/common/demo.c) is the book's
 * @async_timed decorator: it prints "Calling <name> with arguments <args>",
 * runs fn in the calling task (which may suspend) and prints
 * "<name> completed in X.XXXX sec.". Here it wraps delay(1) and delay(2). */
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_16\n"
    "Times delay(1) and delay(2) (scaled) with the async_timed wrapper: each prints\n"
    "\"Calling delay with arguments (N,) {}\" and \"delay completed in X.XXXX sec.\".\n";

static intptr_t main_task(void *arg)
{
    intptr_t r = demo_timed("delay", "(1,) {}", demo_delay_task, (void *)1);
    if (r < 0)
        return r;
    r = demo_timed("delay", "(2,) {}", demo_delay_task, (void *)2);
    return r < 0 ? r : 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
