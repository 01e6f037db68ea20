/* listing_6_5.c - pool jobs awaited by tasks (listing 6.5).
 *
 * asyncio's run_in_executor(process_pool, ...) + gather: one task per number
 * calls loom_pool_apply(), which suspends only that task while a worker
 * counts. gather() waits for all of them and keeps the input order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "proc/proc.h"

static const char usage[] =
    "usage: listing_6_5\n"
    "Counts [BIG, 1, 3, 5, 22] in a process pool from five tasks and gathers the results\n"
    "(BIG takes ~2 s, scaled).\n";

struct call {
    struct loom_pool *pool;
    long n;
};

static int count(const void *in, size_t len, struct loom_bytes *out, void *state)
{
    long count_to;
    memcpy(&count_to, in, sizeof(count_to));
    long counter = demo_count_to(count_to);
    if (!(out->data = malloc(sizeof(counter))))
        return -ENOMEM;
    memcpy(out->data, &counter, sizeof(counter));
    out->len = sizeof(counter);
    return 0;
}

/* What run_in_executor(pool, partial(count, n)) returns, as a task. */
static intptr_t run_in_pool(void *arg)
{
    struct call *c = arg;
    struct loom_bytes r;
    int rc = loom_pool_apply(c->pool, count, &c->n, sizeof(c->n), &r, -1);
    if (rc < 0)
        return rc;
    long v;
    memcpy(&v, r.data, sizeof(v));
    free(r.data);
    return (intptr_t)v;
}

static intptr_t amain(void *arg)
{
    struct loom_pool *pool;
    DEMO_CHECK(loom_pool_new(NULL, &pool));
    struct call calls[] = {
        {pool, demo_cpu_count(2.0)}, {pool, 1}, {pool, 3}, {pool, 5}, {pool, 22}};
    enum { N = sizeof(calls) / sizeof(calls[0]) };
    struct loom_task *tasks[N];
    for (int i = 0; i < N; i++)
        tasks[i] = loom_spawn(run_in_pool, &calls[i], "count");
    intptr_t results[N];
    DEMO_CHECK(loom_gather(tasks, N, results, 0));
    printf("[");
    for (int i = 0; i < N; i++)
        printf("%s%ld", i ? ", " : "", (long)results[i]);
    printf("]\n");
    DEMO_CHECK(loom_pool_shutdown(pool, false));
    loom_pool_free(pool);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(amain, NULL);
}
