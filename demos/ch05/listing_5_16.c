/* listing_5_16.c - move a cursor and fetch a page (listing 5.16).
 *
 * loom_pg_cursor_move() skips rows on the server (MOVE FORWARD 500: nothing
 * is sent back but the count) and loom_pg_cursor_fetch() reads exactly the
 * next 100. */
#include <stdio.h>

#include "ch05.h"
#include "db/pg.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_5_16 [--dsn CONNINFO]\n"
    "Opens a cursor over products, skips 500 rows and prints the next 100.\n";

static intptr_t main_task(void *arg)
{
    struct loom_pg c;
    ch05_connect(&c, ch05_dsn());
    CH05_CHECK(&c, loom_pg_begin(&c));
    struct loom_pg_cursor cur;
    CH05_CHECK(&c, loom_pg_cursor_open(&c, &cur, "SELECT product_id, product_name FROM product", 0,
                                       NULL, 0));
    CH05_CHECK(&c, loom_pg_cursor_move(&cur, 500));
    struct loom_pg_result r = {0};
    CH05_CHECK(&c, loom_pg_cursor_fetch(&cur, 100, &r));
    for (int i = 0; i < loom_pg_nrows(&r); i++)
        ch05_print_record(&r, i);
    loom_pg_result_clear(&r);
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
