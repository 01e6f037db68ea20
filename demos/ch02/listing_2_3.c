/* listing_2_3.c - running a coroutine (listing 2.3).
 *
 * loom_run() is asyncio.run(): it makes a loop, runs one function as a task
 * until it returns, tears the loop down and hands back the task's result. */
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_3\n"
    "Runs coroutine_add_one(1) as the main task and prints \"result = 2\".\n";

/* A task function: takes a pointer-sized argument, returns intptr_t. */
static intptr_t coroutine_add_one(void *number) { return (intptr_t)number + 1; }

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    intptr_t result = loom_run(coroutine_add_one, (void *)1);
    DEMO_CHECK(result);
    printf("result = %ld\n", (long)result);
    return 0;
}
