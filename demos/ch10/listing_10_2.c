/* listing_10_2.c - the user_favorite table and its rows (listing 10.2).
 *
 * Which products each user marked as a favorite, for the favorites service
 * of listing 10.5; users 1 and 3 get three each (the backend-for-frontend of
 * listing 10.8 asks for user 3). Each statement is printed with the status
 * tag the server answers, as listing 5.3 does. Safe to run twice: the table
 * is made only if missing and rows already there are skipped. */
#include <stdio.h>

#include "ch05/ch05.h"
#include "db/pg.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_10_2 [--dsn CONNINFO]\n"
    "Creates table user_favorite in the products database (--dsn or $LOOM_PG_DSN,\n"
    "filled by listings 5.3-5.6) and inserts favorites for users 1 and 3.\n";

static const char *const statements[] = {
    ("CREATE TABLE IF NOT EXISTS user_favorite(user_id INT NOT NULL, product_id INT NOT NULL, "
     "FOREIGN KEY (product_id) REFERENCES product(product_id), UNIQUE (user_id, product_id))"),
    "INSERT INTO user_favorite VALUES (1, 1) ON CONFLICT DO NOTHING",
    "INSERT INTO user_favorite VALUES (1, 2) ON CONFLICT DO NOTHING",
    "INSERT INTO user_favorite VALUES (1, 3) ON CONFLICT DO NOTHING",
    "INSERT INTO user_favorite VALUES (3, 1) ON CONFLICT DO NOTHING",
    "INSERT INTO user_favorite VALUES (3, 2) ON CONFLICT DO NOTHING",
    "INSERT INTO user_favorite VALUES (3, 3) ON CONFLICT DO NOTHING",
};

static intptr_t main_task(void *arg)
{
    struct loom_pg c;
    ch05_connect(&c, ch05_dsn());
    for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) {
        struct loom_pg_result r = {0};
        printf("%s\n", statements[i]);
        CH05_CHECK(&c, loom_pg_exec(&c, &r, statements[i]));
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
