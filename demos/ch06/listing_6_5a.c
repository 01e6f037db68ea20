/* listing_6_5a.c - results as they complete, with a timeout (not in the book's text).
 *
 * Listing 6.5 with as_completed(timeout=3) instead of gather: the small counts
 * print at once, in completion order; the big count takes longer than 3 s, so
 * as_completed reports a timeout for it and we print "Timeout!". The pool is
 * then shut down with cancel, which kills the worker still counting. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "proc/proc.h"

static const char usage[] =
    "usage: listing_6_5a\n"
    "Counts [BIG, 1, 3, 5, 22] in a process pool and prints results as they complete,\n"
    "with a 3 s timeout (scaled); BIG takes ~6 s (scaled), so it times out.\n";

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
        {pool, demo_cpu_count(6.0)}, {pool, 1}, {pool, 3}, {pool, 5}, {pool, 22}};
    enum { N = sizeof(calls) / sizeof(calls[0]) };
    struct loom_task *tasks[N];
    for (int i = 0; i < N; i++)
        tasks[i] = loom_spawn(run_in_pool, &calls[i], "count");
    struct loom_as_completed it;
    DEMO_CHECK(loom_as_completed_init(&it, tasks, N, demo_sec(3)));
    struct loom_task *done;
    int rc;
    while ((rc = loom_as_completed_next(&it, &done)) != 0) {
        if (rc == -ETIMEDOUT)
            printf("Timeout!\n");
        else if (rc > 0)
            printf("%ld\n", (long)loom_task_result(done));
        else
            DEMO_CHECK(rc);
    }
    loom_as_completed_close(&it);
    DEMO_CHECK(loom_pool_shutdown(pool, true)); /* kill the worker still counting */
    for (int i = 0; i < N; i++)
        loom_task_join(tasks[i]); /* the big one ends with -ECANCELED */
    loom_pool_free(pool);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(amain, NULL);
}
