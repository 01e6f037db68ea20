/* listing_5_12.c - managing a transaction by hand (listing 5.12).
 *
 * Explicit loom_pg_begin(), two inserts, then loom_pg_commit() when both
 * succeeded or loom_pg_rollback() when one failed: the same calls that
 * loom_pg_transaction() makes, written out. */
#include <stdio.h>

#include "ch05.h"
#include "db/pg.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_5_12 [--dsn CONNINFO]\n"
    "Starts a transaction, inserts brand_1 and brand_2, commits (rolls back on\n"
    "an error) and prints the brands whose name starts with 'brand'.\n";

static intptr_t main_task(void *arg)
{
    struct loom_pg c;
    ch05_connect(&c, ch05_dsn());
    CH05_CHECK(&c, loom_pg_begin(&c));
    ssize_t rc = loom_pg_query(&c, NULL, "INSERT INTO brand VALUES(DEFAULT, 'brand_1')", 0, NULL);
    if (rc >= 0)
        rc = loom_pg_query(&c, NULL, "INSERT INTO brand VALUES(DEFAULT, 'brand_2')", 0, NULL);
    if (rc < 0) {
        printf("Errors, rolling back transaction! (%s)\n", loom_pg_errmsg(&c));
        CH05_CHECK(&c, loom_pg_rollback(&c));
    } else {
        printf("No errors, committing transaction!\n");
        CH05_CHECK(&c, loom_pg_commit(&c));
    }
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
