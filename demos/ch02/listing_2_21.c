/* listing_2_21.c - making a loop by hand (listing 2.21).
 *
 * What loom_run() does, spelled out: create a loop, spawn main on it, run the
 * loop until that task completes, then free the loop (which fails with -EBUSY
 * if anything were still registered). */
#include <stdio.h>

#include "demo.h"
#include "reactor/loop.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_21\n"
    "Creates a loop, runs main (which sleeps 1 s, scaled) until complete, frees it.\n";

static intptr_t main_task(void *arg)
{
    printf("main: sleeping for 1 sec...\n");
    int rc = loom_sleep(demo_sec(1));
    if (rc < 0)
        return rc;
    printf("main: done sleeping\n");
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct loom_loop *loop;
    DEMO_CHECK(loom_loop_new(&loop, NULL));
    printf("Created a loop (backend %s)\n", loom_loop_backend(loop));

    struct loom_task *t;
    DEMO_CHECK(loom_task_spawn(loop, main_task, NULL, NULL, &t));
    intptr_t result = loom_loop_run_until_complete(loop, t);
    printf("run_until_complete returned %ld\n", (long)result);

    DEMO_CHECK(loom_loop_free(loop));
    printf("Loop closed\n");
    return 0;
}
