/* listing_5_11.c - a nested transaction (listing 5.11).
 *
 * loom_pg_begin() inside a transaction opens a SAVEPOINT; loom_pg_end() with
 * an error rolls back to it, leaving the outer transaction alive. The
 * duplicate product_color 1 is undone alone and my_new_brand commits. */
#include <stdio.h>

#include "ch05.h"
#include "db/pg.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_5_11 [--dsn CONNINFO]\n"
    "Outer transaction inserts my_new_brand; a nested one inserts a duplicate\n"
    "product_color (id 1), which fails and rolls back to its savepoint only;\n"
    "the outer transaction commits and my_new_brand is printed.\n";

static intptr_t main_task(void *arg)
{
    struct loom_pg c;
    ch05_connect(&c, ch05_dsn());
    CH05_CHECK(&c, loom_pg_begin(&c));
    CH05_CHECK(
        &c, loom_pg_query(&c, NULL, "INSERT INTO brand VALUES(DEFAULT, 'my_new_brand')", 0, NULL));
    int rc = loom_pg_begin(&c); /* SAVEPOINT */
    if (rc == 0)
        rc = (int)loom_pg_query(&c, NULL, "INSERT INTO product_color VALUES(1, 'black')", 0, NULL);
    if (loom_pg_end(&c, rc < 0 ? rc : 0) < 0)
        printf("WARNING:root:Ignoring error inserting product color: [%s] %s\n",
               loom_pg_sqlstate(&c), loom_pg_errmsg(&c));
    CH05_CHECK(&c, loom_pg_commit(&c));
    struct loom_pg_result r = {0};
    CH05_CHECK(&c, loom_pg_query(&c, &r,
                                 "SELECT brand_name FROM brand "
                                 "WHERE brand_name = 'my_new_brand'",
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
