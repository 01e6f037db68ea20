/* listing_11_4.c - a lock serialises two coroutines (listing 11.4).
 *
 * b and a both want the lock; b asks first and gets it, a waits the 2 s b
 * spends in its critical section, then takes its own 2 s: about 4 s in all. */
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_11_4\n"
    "Two tasks (b, then a) each hold one lock for 2 s (scaled, via delay(2)); the second\n"
    "waits for the first. Prints the total, about 4 s.\n";

static struct loom_lock lock;

static intptr_t critical(void *arg)
{
    const char *name = arg;
    printf("Coroutine %s waiting to acquire the lock\n", name);
    int rc = loom_lock_acquire(&lock, -1);
    if (rc < 0)
        return rc;
    printf("Coroutine %s is in the critical section\n", name);
    rc = (int)demo_delay(2);
    loom_lock_release(&lock);
    printf("Coroutine %s released the lock\n", name);
    return rc < 0 ? rc : 0;
}

static intptr_t main_task(void *arg)
{
    loom_lock_init(&lock);
    double t0 = demo_now();
    struct loom_task *tasks[] = {loom_spawn(critical, "b", "b"), loom_spawn(critical, "a", "a")};
    DEMO_CHECK(loom_gather(tasks, 2, NULL, 0));
    printf("Both finished in %.2f s\n", demo_now() - t0);
    loom_lock_close(&lock);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
