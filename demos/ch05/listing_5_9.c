/* listing_5_9.c - a transaction that commits (listing 5.9).
 *
 * loom_pg_transaction(c, fn, arg) is asyncpg's `async with
 * connection.transaction()`: BEGIN, run fn, then COMMIT if fn returned >= 0,
 * else ROLLBACK. Both inserts land together. */
#include <stdio.h>

#include "ch05.h"
#include "db/pg.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_5_9 [--dsn CONNINFO]\n"
    "Inserts brand_1 and brand_2 in one transaction, commits, and prints the\n"
    "brands whose name starts with 'brand'.\n";

static int insert_two(struct loom_pg *c, void *arg)
{
    ssize_t rc = loom_pg_query(c, NULL, "INSERT INTO brand VALUES(DEFAULT, 'brand_1')", 0, NULL);
    if (rc >= 0)
        rc = loom_pg_query(c, NULL, "INSERT INTO brand VALUES(DEFAULT, 'brand_2')", 0, NULL);
    return rc < 0 ? (int)rc : 0;
}

static intptr_t main_task(void *arg)
{
    struct loom_pg c;
    ch05_connect(&c, ch05_dsn());
    CH05_CHECK(&c, loom_pg_transaction(&c, insert_two, NULL));
    struct loom_pg_result r = {0};
    CH05_CHECK(&c, loom_pg_query(&c, &r,
                                 "SELECT brand_name FROM brand "
                                 "WHERE brand_name LIKE 'brand%'",
                                 0, NULL));
    for (int i = 0; i < loom_pg_nrows(&r); i++)
        ch05_print_record(&r, i);
    loom_pg_result_clear(&r);
    loom_pg_close(&c);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
