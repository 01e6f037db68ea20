/* listing_11_9.c - a bounded semaphore refuses an extra release (listing 11.9).
 *
 * BoundedSemaphore(1): acquire, release, release. The second release would
 * push the count past its start, so it fails (asyncio raises ValueError; loom
 * returns -EOVERFLOW and leaves the count alone). */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_11_9\n"
    "BoundedSemaphore(1): acquire, release, release; the second release fails (exit status 1).\n";

static intptr_t main_task(void *arg)
{
    struct loom_semaphore semaphore;
    loom_bounded_semaphore_init(&semaphore, 1);
    DEMO_CHECK(loom_semaphore_acquire(&semaphore, -1));
    printf("Acquired\n");
    DEMO_CHECK(loom_semaphore_release(&semaphore));
    printf("Released once\n");
    int rc = loom_semaphore_release(&semaphore);
    loom_semaphore_close(&semaphore);
    if (rc == -EOVERFLOW) {
        fprintf(stderr, "ValueError: BoundedSemaphore released too many times (%s)\n",
                loom_errname(rc));
        return 1;
    }
    printf("Released twice (unexpected)\n");
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
