/* listing_5_8.c - synchronous vs concurrent queries on a pool (listing 5.8).
 *
 * The same product-100 join N times (default 20,000): first one after the
 * other, each awaited before the next, then as N tasks gathered over the
 * 6-connection pool, so six queries are always in flight. Each connection
 * prepares the join once (the statement cache) and reuses it. Tasks are
 * gathered in waves of 1,000 so that N stacks are never alive at once. */
#include <stdio.h>

#include "ch05.h"
#include "db/pg.h"
#include "reactor/task.h"

static const char usage[] = "usage: listing_5_8 [--dsn CONNINFO] [--count N]\n"
                            "Runs the product-100 join N times (default 20000) sequentially, then\n"
                            "concurrently over a pool of 6, and prints both durations.\n";

static struct loom_pg_pool pool;
static char first_error[2 * LOOM_PG_ERRMSG]; /* why the first failed query failed */

/* Keep the first failure's text: the run reports it instead of a timing. */
static void note_error(int rc, const char *msg)
{
    if (!first_error[0])
        snprintf(first_error, sizeof first_error, "%s", ch05_why(rc, msg));
}

static intptr_t query_product(void *arg)
{
    struct loom_pg *c;
    int rc = loom_pg_pool_acquire(&pool, &c, LOOM_SEC(30));
    if (rc < 0) {
        note_error(rc, loom_pg_pool_errmsg(&pool));
        return rc;
    }
    ssize_t n = loom_pg_query(c, NULL, CH05_PRODUCT_QUERY, 0, NULL);
    if (n < 0)
        note_error((int)n, loom_pg_errmsg(c));
    loom_pg_pool_release(&pool, c);
    return n < 0 ? n : 0;
}

/* Run the queries concurrently, in waves; 0 or the first failure. */
static int run_concurrently(long count)
{
    static struct loom_task *wave[1000];
    static intptr_t results[1000];
    for (long done = 0; done < count;) {
        long n = count - done < 1000 ? count - done : 1000;
        for (long i = 0; i < n; i++)
            wave[i] = loom_spawn(query_product, NULL, NULL);
        int rc = loom_gather(wave, (size_t)n, results, LOOM_GATHER_ALL);
        for (long i = 0; i < n && rc == 0; i++)
            rc = (int)results[i];
        if (rc < 0)
            return rc;
        done += n;
    }
    return 0;
}

static intptr_t main_task(void *arg)
{
    long count = demo_arg_long("--count", 20000);
    struct loom_pg_pool_options o = {.conninfo = ch05_dsn(), .min_size = 6, .max_size = 6};
    int rc = loom_pg_pool_open(&pool, &o);
    if (rc < 0) {
        fprintf(stderr, "pool: %s\n", loom_pg_pool_errmsg(&pool));
        return rc;
    }
    double t0 = demo_now();
    for (long i = 0; i < count && rc == 0; i++)
        rc = (int)query_product(NULL);
    if (rc == 0) {
        printf("Running %ld queries synchronously took %.4f sec\n", count, demo_now() - t0);
        t0 = demo_now();
        rc = run_concurrently(count);
    }
    if (rc == 0)
        printf("Running %ld queries concurrently took %.4f sec\n", count, demo_now() - t0);
    else /* a failed run has no timing to show */
        fprintf(stderr, "error: a query failed: %s\n", first_error);
    loom_pg_pool_close(&pool, LOOM_SEC(5));
    return rc;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return loom_run(main_task, NULL) < 0 ? 1 : 0;
}
