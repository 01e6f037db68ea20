/* listing_2_14.c - the basics of a future (listing 2.14).
 *
 * A future is a value that will be set later. It needs no running loop: we
 * make one in main(), look at it, set its result and read it back. */
#include <stdio.h>

#include "demo.h"
#include "reactor/future.h"

static const char usage[] =
    "usage: listing_2_14\n"
    "Makes a future without any loop, prints it (pending, done False), sets 42 and\n"
    "prints done True and the result 42.\n";

static const char *repr(const struct loom_future *f)
{
    static char buf[64];
    if (loom_future_done(f))
        snprintf(buf, sizeof buf, "<Future finished result=%ld>", (long)loom_future_result(f));
    else
        snprintf(buf, sizeof buf, "<Future pending>");
    return buf;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct loom_future my_future;
    loom_future_init(&my_future);

    printf("my_future: %s\n", repr(&my_future));
    printf("Is my_future done? %s\n", loom_future_done(&my_future) ? "True" : "False");
    DEMO_CHECK(loom_future_set_result(&my_future, 42));
    printf("Is my_future done? %s\n", loom_future_done(&my_future) ? "True" : "False");
    printf("What is the result of my_future? %ld\n", (long)loom_future_result(&my_future));
    printf("my_future: %s\n", repr(&my_future));
    return 0;
}
