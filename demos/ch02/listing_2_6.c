/* listing_2_6.c - the delay(n) helper (listing 2.6, util/delay_functions.py).
 *
 * demo_delay(n) (demos/common/demo.c) prints "Starting sleep for n sec...",
 * sleeps n seconds, prints "End sleeping for n sec." and returns n. Every
 * later listing uses it. If its sleep is cancelled it returns -ECANCELED at
 * once, without the End line, just as CancelledError leaves asyncio.sleep. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_6 [--seconds N]\n"
    "Awaits delay(N) (default 1, scaled) and prints its result; then starts delay(N+1)\n"
    "as a task, cancels it after N seconds and shows it ended without its End line.\n";

static intptr_t main_task(void *arg)
{
    int n = (int)(intptr_t)arg;
    intptr_t result = demo_delay(n);
    if (result < 0)
        return result;
    printf("delay(%d) returned %ld\n", n, (long)result);

    struct loom_task *longer = loom_spawn(demo_delay_task, (void *)(intptr_t)(n + 1), "delay");
    if (!longer)
        return -ENOMEM;
    int rc = loom_sleep(demo_sec(n));
    loom_task_cancel(longer);
    result = loom_task_join(longer);
    printf("delay(%d) was cancelled: %s\n", n + 1, loom_errname((int)result));
    return rc;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    long n = demo_arg_long("--seconds", 1);
    DEMO_CHECK(loom_run(main_task, (void *)(intptr_t)n));
    return 0;
}
