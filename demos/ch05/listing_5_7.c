/* listing_5_7.c - two queries at once on a pool (listing 5.7).
 *
 * A loom_pg_pool of 6 connections; two tasks each acquire a connection, run
 * the product-100 join and release it, gathered with loom_gather(). Because
 * each has its own connection, the two queries run on the server at the
 * same time. */
#include <stdio.h>

#include "ch05.h"
#include "db/pg.h"
#include "reactor/task.h"

static const char usage[] = "usage: listing_5_7 [--dsn CONNINFO]\n"
                            "Opens a pool of 6 connections and runs the product-100 join twice\n"
                            "concurrently, printing the first row of each result.\n";

static struct loom_pg_pool pool;

static intptr_t query_product(void *arg)
{
    struct loom_pg *c;
    int rc = loom_pg_pool_acquire(&pool, &c, LOOM_SEC(10));
    if (rc < 0)
        return rc;
    struct loom_pg_result r = {0};
    ssize_t n = loom_pg_query(c, &r, CH05_PRODUCT_QUERY, 0, NULL);
    if (n > 0)
        ch05_print_record(&r, 0);
    else if (n < 0)
        fprintf(stderr, "query: %s\n", loom_pg_errmsg(c));
    loom_pg_result_clear(&r);
    loom_pg_pool_release(&pool, c);
    return n < 0 ? n : 0;
}

static intptr_t main_task(void *arg)
{
    struct loom_pg_pool_options o = {.conninfo = ch05_dsn(), .min_size = 6, .max_size = 6};
    int rc = loom_pg_pool_open(&pool, &o);
    if (rc < 0) {
        fprintf(stderr, "pool: %s\n", loom_pg_pool_errmsg(&pool));
        return rc;
    }
    struct loom_task *t[2] = {loom_spawn(query_product, NULL, "q1"),
                              loom_spawn(query_product, NULL, "q2")};
    rc = loom_gather(t, 2, NULL, 0);
    loom_pg_pool_close(&pool, LOOM_SEC(5));
    return rc;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
