/* pg.h - a throwaway PostgreSQL cluster for the suites that need one.
 *
 * Nothing here runs unless a suite calls it. Call test_pg_start() once in the
 * parent, before srunner_run_all (Check forks per test): it initdb's a temp
 * dir, starts the server on a free 127.0.0.1 port with a private unix socket
 * dir (as root, the server runs as user `postgres`), creates database
 * `products` with the chapter-5 schema plus user_favorite and user_cart (rows
 * for user 3), and exports LOOM_PG_DSN. A watchdog process holds a pipe to the
 * parent and stops and removes the cluster when the parent goes away by any
 * means (exit, signal, SIGKILL). When LOOM_PG_DSN is already set, that server
 * is used and nothing is started. */
#ifndef LOOM_TESTS_HARNESS_PG_H
#define LOOM_TESTS_HARNESS_PG_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

/* Start the cluster (or adopt $LOOM_PG_DSN). Returns 0, or -1 with a message on stderr. */
int test_pg_start(void);
/* Stop and remove the cluster now (also done at exit). */
void test_pg_stop(void);
/* DSN of database db on the cluster, into buf ("host=127.0.0.1 port=.. dbname=db ..."). */
const char *test_pg_dsn(const char *db, char *buf, unsigned len);
/* The cluster's data directory ("" unless owned). */
const char *test_pg_datadir(void);
/* True when this harness owns the server (so it may stop and restart it). */
bool test_pg_owned(void);
/* Run pg_ctl with mode "stop -m immediate", "start", ...; 0 on success. Owned servers only. */
int test_pg_ctl(const char *args);
/* Run SQL on database db with psql (ON_ERROR_STOP); 0 on success. */
int test_pg_psql(const char *db, const char *sql);
/* Create an empty database (dropping an old one of that name); 0 on success. */
int test_pg_createdb(const char *db);

/* One test of a suite on the cluster; timeout_s 0: 60 s. */
struct test_pg_case {
    const char *name;
    const TTest *fn;
    double timeout_s;
};
/* The main() of a suite on the cluster: start it, one TCase per case with the
 * fd-leak fixture, run them, stop it. The exit status for main. */
int test_pg_main(const char *suite, const struct test_pg_case *cases, size_t n);

#endif
