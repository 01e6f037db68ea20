/* listing_11_8.c - releasing a semaphore too often (listing 11.8).
 *
 * A plain Semaphore counts releases, not holders: each acquire below releases
 * twice, and a one-off release adds one more. After the first round the count
 * is 5 instead of 2, so in the second round all three acquires get in at once. */
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_11_8\n"
    "Semaphore(2): two tasks acquire, hold 5 s (scaled) and release twice; a third releases\n"
    "once. Then three acquires all run at once: the extra releases raised the limit.\n";

static struct loom_semaphore semaphore;

static intptr_t acquire(void *arg)
{
    printf("Waiting to acquire\n");
    int rc = loom_semaphore_acquire(&semaphore, -1);
    if (rc < 0)
        return rc;
    printf("Acquired\n");
    rc = loom_sleep(demo_sec(5));
    printf("Releasing\n");
    loom_semaphore_release(&semaphore); /* the async with's release ... */
    loom_semaphore_release(&semaphore); /* ... and one too many */
    return rc;
}

static intptr_t release(void *arg)
{
    printf("Releasing as a one off!\n");
    loom_semaphore_release(&semaphore);
    printf("Released as a one off!\n");
    return 0;
}

static intptr_t main_task(void *arg)
{
    loom_semaphore_init(&semaphore, 2);
    printf("Acquiring twice, releasing three times...\n");
    struct loom_task *t[3] = {loom_spawn(acquire, NULL, NULL), loom_spawn(acquire, NULL, NULL),
                              loom_spawn(release, NULL, NULL)};
    DEMO_CHECK(loom_gather(t, 3, NULL, 0));
    printf("Semaphore value is now %zu\n", loom_semaphore_value(&semaphore));
    printf("Acquiring three times...\n");
    double t0 = demo_now();
    for (int i = 0; i < 3; i++)
        t[i] = loom_spawn(acquire, NULL, NULL);
    DEMO_CHECK(loom_gather(t, 3, NULL, 0));
    printf("Three acquires finished in %.2f s (together, not one after another)\n",
           demo_now() - t0);
    loom_semaphore_close(&semaphore);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
