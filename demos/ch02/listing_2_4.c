/* listing_2_4.c - a coroutine awaiting other coroutines (listing 2.4).
 *
 * With stackful tasks "await add_one(1)" is a plain function call: add_one
 * runs on the caller's stack and could suspend it. No new task is made, so the
 * two calls run one after the other. */
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_4\n"
    "The main task calls add_one(1) then add_one(2) directly and prints 2 and 3.\n";

static intptr_t add_one(intptr_t number) { return number + 1; }

static intptr_t main_task(void *arg)
{
    intptr_t one_plus_one = add_one(1);
    intptr_t two_plus_one = add_one(2);
    printf("%ld\n", (long)one_plus_one);
    printf("%ld\n", (long)two_plus_one);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
