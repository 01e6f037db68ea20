/* listing_5_17.c - take the first n items of a cursor (listing 5.17).
 *
 * take(gen, n) of the book wraps an async generator and stops after n
 * items. Here the generator is the cursor itself: take() pulls rows with
 * loom_pg_cursor_next() and simply stops asking after 5, and closing the
 * cursor tells the server to forget the rest (nothing more is fetched). */
#include <stdio.h>

#include "ch05.h"
#include "db/pg.h"
#include "reactor/task.h"

static const char usage[] = "usage: listing_5_17 [--dsn CONNINFO]\n"
                            "Prints the first 5 products of a cursor and stops early.\n";

/* async def take(generator, to_take): yields at most to_take items. */
static int take(struct loom_pg_cursor *cur, int to_take)
{
    int rc = 0;
    for (int i = 0; i < to_take && (rc = loom_pg_cursor_next(cur)) == 1; i++)
        ch05_print_record(loom_pg_cursor_result(cur), loom_pg_cursor_row(cur));
    return rc < 0 ? rc : 0;
}

static intptr_t main_task(void *arg)
{
    struct loom_pg c;
    ch05_connect(&c, ch05_dsn());
    CH05_CHECK(&c, loom_pg_begin(&c));
    struct loom_pg_cursor cur;
    CH05_CHECK(&c, loom_pg_cursor_open(&c, &cur, "SELECT product_id, product_name FROM product", 0,
                                       NULL, 0));
    CH05_CHECK(&c, take(&cur, 5));
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
