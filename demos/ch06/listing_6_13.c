/* listing_6_13.c - a pool initializer receiving shared memory (listing 6.13).
 *
 * The shared double is created before the pool forks its workers; the
 * initializer, run once in each worker, stores the pointer as that worker's
 * state, and a job increments the value under the region's lock. The parent
 * sees the increment because the memory is MAP_SHARED. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "proc/proc.h"

static const char usage[] =
    "usage: listing_6_13\n"
    "Hands a shared double to every pool worker through the initializer, increments it\n"
    "once in a worker, prints counter.value=1.0.\n";

static int init(void *arg, void **state)
{
    *state = arg; /* global shared_counter; shared_counter = cnt */
    return 0;
}

static int increment(const void *in, size_t len, struct loom_bytes *out, void *state)
{
    struct loom_shared *shared_counter = state;
    int rc = loom_shared_lock(shared_counter);
    if (rc < 0)
        return rc;
    *(double *)loom_shared_data(shared_counter) += 1;
    return loom_shared_unlock(shared_counter);
}

static intptr_t amain(void *arg)
{
    struct loom_shared *counter;
    DEMO_CHECK(loom_shared_new(sizeof(double), &counter));
    struct loom_pool_options opt = {.init = init, .init_arg = counter};
    struct loom_pool *pool;
    DEMO_CHECK(loom_pool_new(&opt, &pool));
    DEMO_CHECK(loom_pool_apply(pool, increment, NULL, 0, NULL, -1));
    printf("counter.value=%.1f\n", *(double *)loom_shared_data(counter));
    DEMO_CHECK(loom_pool_shutdown(pool, false));
    loom_pool_free(pool);
    loom_shared_free(counter);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(amain, NULL);
}
