/* listing_5_15.c - stream a table through a server-side cursor (listing 5.15).
 *
 * loom_pg_cursor_open() DECLAREs a cursor inside the transaction and
 * loom_pg_cursor_next() FETCHes it in batches (50 rows per round trip, as
 * asyncpg's prefetch), so only one batch is ever in memory however large
 * the table. */
#include <stdio.h>

#include "ch05.h"
#include "db/pg.h"
#include "reactor/task.h"

static const char usage[] = "usage: listing_5_15 [--dsn CONNINFO]\n"
                            "Prints every product through a cursor fetched 50 rows at a time.\n";

static intptr_t main_task(void *arg)
{
    struct loom_pg c;
    ch05_connect(&c, ch05_dsn());
    CH05_CHECK(&c, loom_pg_begin(&c));
    struct loom_pg_cursor cur;
    CH05_CHECK(&c, loom_pg_cursor_open(&c, &cur, "SELECT product_id, product_name FROM product", 0,
                                       NULL, 50));
    int rc;
    while ((rc = loom_pg_cursor_next(&cur)) == 1)
        ch05_print_record(loom_pg_cursor_result(&cur), loom_pg_cursor_row(&cur));
    CH05_CHECK(&c, rc);
    CH05_CHECK(&c, loom_pg_cursor_close(&cur));
    CH05_CHECK(&c, loom_pg_commit(&c));
    loom_pg_close(&c);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
