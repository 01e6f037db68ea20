/* listing_5_4.c - insert two brands and read every brand back (listing 5.4).
 *
 * loom_pg_query() sends a statement with parameters (none here) and fills a
 * result; ch05_print_record() prints each row as asyncpg prints a Record. */
#include <stdio.h>

#include "ch05.h"
#include "db/pg.h"
#include "reactor/task.h"

static const char usage[] = "usage: listing_5_4 [--dsn CONNINFO]\n"
                            "Inserts brands Levis and Seven, then prints every row of brand.\n";

static intptr_t main_task(void *arg)
{
    struct loom_pg c;
    ch05_connect(&c, ch05_dsn());
    CH05_CHECK(&c, loom_pg_query(&c, NULL, "INSERT INTO brand VALUES(DEFAULT, 'Levis')", 0, NULL));
    CH05_CHECK(&c, loom_pg_query(&c, NULL, "INSERT INTO brand VALUES(DEFAULT, 'Seven')", 0, NULL));
    struct loom_pg_result r = {0};
    CH05_CHECK(&c, loom_pg_query(&c, &r, "SELECT brand_id, brand_name FROM brand", 0, NULL));
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
