/* listing_5_14.c - an asynchronous generator (listing 5.14).
 *
 * Python's async generator is a resumable function that may await between
 * yields. In C it is a small state struct plus a next() that runs, in the
 * consumer's task, the awaits leading to the next value: here delay(n)
 * (which suspends the task, not the thread) before yielding n. The consumer
 * is the `async for` loop. Durations scale with --scale. */
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_5_14\n"
    "A generator of positive integers below 3: before yielding n it awaits\n"
    "delay(n), so 1 and 2 arrive after ~1 s and ~3 s in total (scaled).\n";

/* async def positive_integers_async(until) */
struct positive_integers {
    int next; /* the value to yield next */
    int until;
};

/* __anext__: 1 and *out, 0 when exhausted, or an error. Suspends. */
static int positive_integers_next(struct positive_integers *g, int *out)
{
    if (g->next >= g->until)
        return 0;
    intptr_t rc = demo_delay(g->next);
    if (rc < 0)
        return (int)rc;
    *out = g->next++;
    return 1;
}

static intptr_t main_task(void *arg)
{
    struct positive_integers gen = {.next = 1, .until = 3};
    printf("<class 'async_generator'> (struct positive_integers)\n");
    int number = 0, rc;
    while ((rc = positive_integers_next(&gen, &number)) == 1)
        printf("Got number %d\n", number);
    return rc;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    double t0 = demo_now();
    DEMO_CHECK(loom_run(main_task, NULL));
    printf("Finished in %.2f sec\n", demo_now() - t0);
    return 0;
}
