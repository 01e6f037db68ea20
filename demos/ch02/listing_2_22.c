/* listing_2_22.c - a plain callback with call_soon (listing 2.22).
 *
 * loom_call_soon() queues a function for the next loop iteration. main then
 * awaits delay(1): the Starting line prints before main suspends, the
 * callback runs as soon as it does, and the End line comes a second later. */
#include <stdio.h>

#include "demo.h"
#include "reactor/loop.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_22\n"
    "Queues a callback with call_soon, then awaits delay(1) (scaled); prints Starting,\n"
    "\"I will be called soon!\", End, in that order.\n";

static void call_later(void *arg) { printf("I will be called soon!\n"); }

static intptr_t main_task(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    int rc = loom_call_soon(loop, call_later, NULL);
    if (rc < 0)
        return rc;
    intptr_t r = demo_delay(1);
    return r < 0 ? r : 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
