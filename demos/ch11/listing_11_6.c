/* listing_11_6.c - a semaphore lets two in at a time (listing 11.6).
 *
 * Four operations of 2 s share Semaphore(2): two run, two wait, and the whole
 * takes about 4 s instead of 2 (no limit) or 8 (a lock). */
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_11_6\n"
    "Four tasks each hold a Semaphore(2) for 2 s (scaled): two at a time, about 4 s in all.\n";

static struct loom_semaphore semaphore;

static intptr_t operation(void *arg)
{
    printf("Waiting to acquire semaphore...\n");
    int rc = loom_semaphore_acquire(&semaphore, -1);
    if (rc < 0)
        return rc;
    printf("Semaphore acquired!\n");
    rc = loom_sleep(demo_sec(2));
    printf("Releasing semaphore\n");
    loom_semaphore_release(&semaphore);
    return rc;
}

static intptr_t main_task(void *arg)
{
    loom_semaphore_init(&semaphore, 2);
    double t0 = demo_now();
    struct loom_task *tasks[4];
    for (int i = 0; i < 4; i++)
        tasks[i] = loom_spawn(operation, NULL, NULL);
    DEMO_CHECK(loom_gather(tasks, 4, NULL, 0));
    printf("All done in %.2f s\n", demo_now() - t0);
    loom_semaphore_close(&semaphore);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
