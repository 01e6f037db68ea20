/* listing_5_3.c - create the tables of listing 5.2 (listing 5.3).
 *
 * Each statement runs with loom_pg_exec() and we print the command status
 * tag the server sends back ("CREATE TABLE", "INSERT 0 1"), as asyncpg's
 * connection.execute() returns it. */
#include <stdio.h>

#include "ch05.h"
#include "db/pg.h"
#include "reactor/task.h"

static const char usage[] = "usage: listing_5_3 [--dsn CONNINFO]\n"
                            "Runs every statement of listing 5.2 on database products (--dsn or\n"
                            "$LOOM_PG_DSN), printing each statement and its status tag.\n";

static intptr_t main_task(void *arg)
{
    struct loom_pg c;
    ch05_connect(&c, ch05_dsn());
    for (size_t i = 0; i < CH05_SCHEMA_N; i++) {
        struct loom_pg_result r = {0};
        printf("%s\n", ch05_schema[i]);
        CH05_CHECK(&c, loom_pg_exec(&c, &r, ch05_schema[i]));
        printf("%s\n", loom_pg_status(&r));
        loom_pg_result_clear(&r);
    }
    loom_pg_close(&c);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
