/* listing_5_10.c - a transaction rolled back by an error (listing 5.10).
 *
 * The second insert of brand 9999 violates the primary key; the block's
 * error code flows into loom_pg_end(), which rolls back instead of
 * committing, so the first insert disappears too. The error is logged with
 * its SQLSTATE, message and detail from the connection's accessors. */
#include <stdio.h>

#include "ch05.h"
#include "db/pg.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_5_10 [--dsn CONNINFO]\n"
    "Inserts brand 9999 twice in one transaction: the unique violation rolls\n"
    "the transaction back, so querying for big_brand finds nothing.\n";

static intptr_t main_task(void *arg)
{
    struct loom_pg c;
    ch05_connect(&c, ch05_dsn());
    const char *insert = "INSERT INTO brand VALUES(9999, 'big_brand')";
    int rc = loom_pg_begin(&c);
    if (rc == 0)
        rc = (int)loom_pg_query(&c, NULL, insert, 0, NULL);
    if (rc >= 0)
        rc = (int)loom_pg_query(&c, NULL, insert, 0, NULL);
    rc = loom_pg_end(&c, rc < 0 ? rc : 0); /* rollback on error, else commit */
    if (rc < 0)
        printf("ERROR:root:Error while running transaction\n"
               "asyncpg.exceptions.UniqueViolationError [%s]: %s\nDETAIL:  %s\n",
               loom_pg_sqlstate(&c), loom_pg_errmsg(&c), loom_pg_errdetail(&c));
    struct loom_pg_result r = {0};
    CH05_CHECK(&c, loom_pg_query(&c, &r,
                                 "SELECT brand_name FROM brand "
                                 "WHERE brand_name LIKE 'big_%'",
                                 0, NULL));
    printf("Query result was: [");
    for (int i = 0; i < loom_pg_nrows(&r); i++)
        printf("%s'%s'", i ? ", " : "", loom_pg_text(&r, i, 0));
    printf("]\n");
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
