/* listing_10_10.c - trying the retry of listing 10.9 (listing 10.10).
 *
 * Two coroutines that never succeed: one fails at once, one takes 1 s where
 * each try gets 0.1 s. Each is tried 3 times 0.1 s apart (every failure is
 * logged) before retry gives up: "Too many retries!" twice. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "listing_10_9.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_10_10\n"
    "Retries an always-failing and an always-slow (1 s) task 3 times each, with a\n"
    "0.1 s timeout and interval (all scaled): \"Too many retries!\" twice.\n";

static intptr_t always_fail(void *arg) { return -EIO; /* raise Exception("I've failed!") */ }

static intptr_t always_timeout(void *arg)
{
    return loom_sleep(demo_sec(1)); /* cancelled by wait_for after 0.1 s */
}

static intptr_t main_task(void *arg)
{
    if (retry(always_fail, NULL, 3, .1, .1) == TOO_MANY_RETRIES)
        printf("Too many retries!\n");
    if (retry(always_timeout, NULL, 3, .1, .1) == TOO_MANY_RETRIES)
        printf("Too many retries!\n");
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
