/* listing_5_1.c - connect to Postgres without blocking and print its version
 * (listing 5.1).
 *
 * loom_pg_connect() drives libpq's PQconnectStartParams/PQconnectPoll from the
 * loop: each step waits for the socket in the task, so other tasks run while
 * the connection (TCP, startup, SCRAM authentication) is set up. */
#include <stdio.h>

#include "ch05.h"
#include "db/pg.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_5_1 [--dsn CONNINFO]\n"
    "Connects to database `postgres` (--dsn or $LOOM_PG_DSN with dbname=postgres),\n"
    "prints the server version and closes the connection.\n";

static intptr_t main_task(void *arg)
{
    char dsn[1024];
    snprintf(dsn, sizeof dsn, "%s dbname=postgres", ch05_dsn());
    struct loom_pg c;
    ch05_connect(&c, dsn);
    int v = loom_pg_server_version(&c);
    printf("Connected! Postgres version is ServerVersion(major=%d, minor=%d, micro=0, "
           "releaselevel='final', serial=0)\n",
           v / 10000, v % 100);
    loom_pg_close(&c);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
