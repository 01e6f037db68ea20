/* listing_8_4.c - blocking stdin starves the loop (listing 8.4).
 *
 * main reads numbers with a plain blocking fgets() (Python's input()) and
 * creates a delay(N) task for each. The tasks are queued, but they can only run
 * when main suspends - and main never does: it sits in read(2) while the loop
 * is stuck inside it. So no "Starting sleep" line ever appears, however long
 * you wait. The book loops forever; here stdin's EOF ends the run and shows
 * how many tasks got to start. */
#include <stdio.h>
#include <stdlib.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_8_4\n"
    "Reads delay times from stdin with a BLOCKING read, spawning a delay(N) task for each\n"
    "(N in seconds, scaled). The tasks never start while main blocks. At EOF it reports how\n"
    "many of them ever started, cancels them and exits.\n";

static int started;

static intptr_t counted_delay(void *arg)
{
    started++;
    return demo_delay((int)(intptr_t)arg);
}

static intptr_t main_task(void *arg)
{
    char line[64];
    int spawned = 0;
    double t0 = demo_now();
    for (;;) {
        printf("Enter a time to sleep: ");
        fflush(stdout);
        if (!fgets(line, sizeof line, stdin)) /* blocks the thread, and the loop with it */
            break;
        struct loom_task *t = loom_spawn(counted_delay, (void *)(intptr_t)atoi(line), NULL);
        if (t) {
            loom_task_release(t); /* create_task without keeping a reference */
            spawned++;
        }
    }
    printf("\nstdin closed after %.2f s: %d delay task(s) created, %d started.\n", demo_now() - t0,
           spawned, started);
    /* asyncio.run would now cancel what is left; loom_run does the same. */
    return started;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    intptr_t rc = loom_run(main_task, NULL);
    DEMO_CHECK(rc);
    return 0;
}
