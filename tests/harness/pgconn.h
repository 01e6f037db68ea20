/* pgconn.h - connection helpers for the suites that link libloom-pg (inline:
 * the harness's .c files are linked into every suite, most without it). */
#ifndef LOOM_TESTS_HARNESS_PGCONN_H
#define LOOM_TESTS_HARNESS_PGCONN_H

#include <stdlib.h>
#include <sys/types.h>

#include "db/pg.h"
#include "harness.h"

/* Connect c to $LOOM_PG_DSN (test_pg_start sets it) or fail the test with
 * libpq's reason. */
static inline void test_pg_connect_ok(struct loom_pg *c)
{
    int rc = loom_pg_connect(c, getenv("LOOM_PG_DSN"), LOOM_SEC(10));
    ck_assert_msg(rc == 0, "connect: %s: %s", loom_strerror(rc), loom_pg_errmsg(c));
}

/* Run sql on c or fail the test with the server's message. */
static inline void test_pg_exec_ok(struct loom_pg *c, const char *sql)
{
    ssize_t rc = loom_pg_exec(c, NULL, sql);
    ck_assert_msg(rc >= 0, "%s: %s", sql, loom_pg_errmsg(c));
}

#endif
