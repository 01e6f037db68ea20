/* check_pg.c - the PostgreSQL adapter and pool against a real server (the
 * harness's throwaway cluster, or $LOOM_PG_DSN). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/pg.h"
#include "harness/harness.h"
#include "harness/pg.h"
#include "harness/pgconn.h"
#include "reactor/executor.h"
#include "reactor/task.h"

static const char *dsn(void) { return getenv("LOOM_PG_DSN"); }

/* --- connect errors --- */

static intptr_t connect_errors_main(void *arg)
{
    struct loom_pg c;
    char bad[600];
    snprintf(bad, sizeof bad, "%s port=1", dsn());
    int rc = loom_pg_connect(&c, bad, LOOM_SEC(5));
    ck_assert_int_eq(rc, LOOM_EPG);
    ck_assert_msg(strstr(loom_pg_errmsg(&c), "refused"), "msg: %s", loom_pg_errmsg(&c));
    snprintf(bad, sizeof bad, "%s password=wrong", dsn());
    rc = loom_pg_connect(&c, bad, LOOM_SEC(5));
    if (test_pg_owned()) {
        ck_assert_int_eq(rc, LOOM_EPG);
        ck_assert_msg(strstr(loom_pg_errmsg(&c), "password authentication failed"), "msg: %s",
                      loom_pg_errmsg(&c));
    } else if (rc == 0) {
        loom_pg_close(&c);
    }
    /* a server that accepts TCP but never answers: the timeout ends the connect */
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t slen = sizeof sa;
    ck_assert(bind(lfd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(lfd, 4) == 0);
    ck_assert(getsockname(lfd, (struct sockaddr *)&sa, &slen) == 0);
    snprintf(bad, sizeof bad, "%s port=%d", dsn(), ntohs(sa.sin_port));
    double t0 = test_now();
    ck_assert_int_eq(loom_pg_connect(&c, bad, LOOM_MS(300)), -ETIMEDOUT);
    double dt = test_now() - t0;
    ck_assert_msg(dt > 0.25 && dt < 2.0, "connect timeout took %.3f s", dt);
    ck_assert_msg(strstr(loom_pg_errmsg(&c), "timeout"), "msg: %s", loom_pg_errmsg(&c));
    close(lfd);
    snprintf(bad, sizeof bad, "%s dbname=no_such_db", dsn());
    ck_assert_int_eq(loom_pg_connect(&c, bad, LOOM_SEC(5)), LOOM_EPG);
    ck_assert_msg(strstr(loom_pg_errmsg(&c), "no_such_db"), "msg: %s", loom_pg_errmsg(&c));
    return 0;
}

START_TEST(connect_errors) { ck_assert_int_eq(test_run_task(connect_errors_main, NULL), 0); }
END_TEST

/* --- queries, results, errors --- */

static intptr_t query_main(void *arg)
{
    struct loom_pg c;
    test_pg_connect_ok(&c);
    ck_assert_int_ge(loom_pg_server_version(&c), 140000);
    struct loom_pg_result r = {0};
    const char *p[] = {"41", "hello", NULL};
    ssize_t n = loom_pg_query(&c, &r,
                              "SELECT $1::int + 1 AS answer, $2::text AS word, $3::text AS nothing,"
                              " 2.5::float8 AS d, true AS yes, 9000000000::int8 AS big",
                              3, p);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(loom_pg_int(&r, 0, loom_pg_col(&r, "answer")), 42);
    ck_assert_str_eq(loom_pg_text(&r, 0, loom_pg_col(&r, "word")), "hello");
    ck_assert(loom_pg_isnull(&r, 0, loom_pg_col(&r, "nothing")));
    ck_assert(loom_pg_double(&r, 0, loom_pg_col(&r, "d")) == 2.5);
    ck_assert(loom_pg_bool(&r, 0, loom_pg_col(&r, "yes")));
    ck_assert(loom_pg_int64(&r, 0, loom_pg_col(&r, "big")) == 9000000000LL);
    ck_assert_int_eq(loom_pg_col(&r, "missing"), -1);
    loom_pg_result_clear(&r);
    /* the cached statement is reused: a second run gives the same */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(loom_pg_query(&c, NULL, "SELECT $1::int", 1, p), 1);
    test_pg_exec_ok(&c, "DROP TABLE IF EXISTS t_q; CREATE TABLE t_q(id int primary key, v text)");
    ck_assert_int_eq(loom_pg_exec(&c, NULL,
                                  "INSERT INTO t_q SELECT g, 'x' FROM "
                                  "generate_series(1, 7) g"),
                     7);
    ck_assert_int_eq(
        loom_pg_query(&c, NULL, "UPDATE t_q SET v = 'y' WHERE id > $1", 1, (const char *[]){"4"}),
        3);
    ck_assert_int_eq(loom_pg_query(&c, NULL, "INSERT INTO t_q VALUES(1, 'dup')", 0, NULL),
                     LOOM_EPG);
    ck_assert_str_eq(loom_pg_sqlstate(&c), "23505");
    ck_assert_msg(strstr(loom_pg_errdetail(&c), "(id)=(1)"), "detail %s", loom_pg_errdetail(&c));
    ck_assert_int_eq(loom_pg_exec(&c, NULL, "SELEC 1"), LOOM_EPG);
    ck_assert_str_eq(loom_pg_sqlstate(&c), "42601");
    ck_assert_int_eq(loom_pg_query(&c, &r, "SELECT count(*) FROM t_q WHERE v = 'y'", 0, NULL), 1);
    ck_assert_int_eq(loom_pg_int(&r, 0, 0), 3);
    ck_assert_str_eq(loom_pg_sqlstate(&c), "");
    loom_pg_result_clear(&r);
    test_pg_exec_ok(&c, "DROP TABLE t_q");
    /* a cached statement whose result type changed under it is prepared again */
    test_pg_exec_ok(
        &c, "DROP TABLE IF EXISTS t_q2; CREATE TABLE t_q2(a int); INSERT INTO t_q2 VALUES(1)");
    ck_assert_int_eq(loom_pg_query(&c, NULL, "SELECT * FROM t_q2", 0, NULL), 1);
    test_pg_exec_ok(&c, "ALTER TABLE t_q2 ADD b int");
    ck_assert_int_eq(loom_pg_query(&c, &r, "SELECT * FROM t_q2", 0, NULL), 1);
    ck_assert_int_eq(loom_pg_ncols(&r), 2);
    loom_pg_result_clear(&r);
    test_pg_exec_ok(&c, "DROP TABLE t_q2");
    loom_pg_close(&c);
    return 0;
}

START_TEST(query) { ck_assert_int_eq(test_run_task(query_main, NULL), 0); }
END_TEST

/* --- transactions --- */

static int insert(struct loom_pg *c, const char *table, const char *id)
{
    char sql[96];
    snprintf(sql, sizeof sql, "INSERT INTO %s VALUES($1)", table);
    ssize_t rc = loom_pg_query(c, NULL, sql, 1, (const char *[]){id});
    return rc < 0 ? (int)rc : 0;
}

static int count(struct loom_pg *c, const char *sql)
{
    struct loom_pg_result r = {0};
    ck_assert_int_eq(loom_pg_query(c, &r, sql, 0, NULL), 1);
    int n = loom_pg_int(&r, 0, 0);
    loom_pg_result_clear(&r);
    return n;
}

static intptr_t txn_main(void *arg)
{
    struct loom_pg c;
    test_pg_connect_ok(&c);
    test_pg_exec_ok(&c, "DROP TABLE IF EXISTS t_tx; CREATE TABLE t_tx(id int primary key)");
    /* rollback on error: the natural path is rc = loom_pg_end(c, rc) */
    int rc = loom_pg_begin(&c);
    ck_assert_int_eq(rc, 0);
    rc = insert(&c, "t_tx", "1");
    if (rc == 0)
        rc = insert(&c, "t_tx", "1");
    ck_assert_int_eq(loom_pg_end(&c, rc), LOOM_EPG);
    ck_assert_str_eq(loom_pg_sqlstate(&c), "23505");
    ck_assert_int_eq(loom_pg_depth(&c), 0);
    ck_assert_int_eq(count(&c, "SELECT count(*) FROM t_tx"), 0);
    /* nested: the savepoint rolls back, the outer level commits */
    ck_assert_int_eq(loom_pg_begin(&c), 0);
    ck_assert_int_eq(insert(&c, "t_tx", "1"), 0);
    ck_assert_int_eq(loom_pg_begin(&c), 0);
    ck_assert_int_eq(loom_pg_depth(&c), 2);
    ck_assert_int_eq(insert(&c, "t_tx", "2"), 0);
    ck_assert_int_eq(loom_pg_begin(&c), 0);
    rc = insert(&c, "t_tx", "1");
    ck_assert_int_eq(loom_pg_end(&c, rc), LOOM_EPG); /* innermost savepoint */
    ck_assert_int_eq(loom_pg_end(&c, 0), 0);         /* keeps id 2 */
    ck_assert_int_eq(loom_pg_begin(&c), 0);
    ck_assert_int_eq(insert(&c, "t_tx", "3"), 0);
    ck_assert_int_eq(loom_pg_rollback(&c), 0); /* drops id 3 */
    ck_assert_int_eq(loom_pg_commit(&c), 0);
    ck_assert_int_eq(loom_pg_depth(&c), 0);
    ck_assert_int_eq(count(&c, "SELECT count(*) FROM t_tx"), 2);
    ck_assert_int_eq(count(&c, "SELECT sum(id) FROM t_tx"), 3);
    /* COMMIT of an aborted transaction is an error, not a silent rollback */
    ck_assert_int_eq(loom_pg_begin(&c), 0);
    ck_assert_int_eq(insert(&c, "t_tx", "1"), LOOM_EPG);
    ck_assert_int_eq(loom_pg_commit(&c), LOOM_EPG);
    ck_assert_int_eq(loom_pg_depth(&c), 0);
    test_pg_exec_ok(&c, "DROP TABLE t_tx");
    loom_pg_close(&c);
    return 0;
}

START_TEST(transactions) { ck_assert_int_eq(test_run_task(txn_main, NULL), 0); }
END_TEST

/* --- pool: 100 tasks x 100 queries through 10 connections --- */

static struct loom_pg_pool pool;

static intptr_t hundred_queries(void *arg)
{
    intptr_t id = (intptr_t)arg;
    for (int i = 0; i < 100; i++) {
        struct loom_pg *c;
        int rc = loom_pg_pool_acquire(&pool, &c, LOOM_SEC(10));
        if (rc < 0)
            return rc;
        char a[24];
        snprintf(a, sizeof a, "%ld", (long)(id * 1000 + i));
        struct loom_pg_result r = {0};
        ssize_t n = loom_pg_query(c, &r, "SELECT $1::int * 2", 1, (const char *[]){a});
        bool ok = n == 1 && loom_pg_int(&r, 0, 0) == (id * 1000 + i) * 2;
        loom_pg_result_clear(&r);
        loom_pg_pool_release(&pool, c);
        if (!ok)
            return -EPROTO;
        if (loom_pg_pool_size(&pool) > 10)
            return -E2BIG;
    }
    return 0;
}

static intptr_t pool_main(void *arg)
{
    struct loom_pg_pool_options o = {.conninfo = dsn(), .min_size = 2, .max_size = 10};
    ck_assert_int_eq(loom_pg_pool_open(&pool, &o), 0);
    struct loom_task *t[100];
    double t0 = test_now();
    for (intptr_t i = 0; i < 100; i++)
        t[i] = loom_spawn(hundred_queries, (void *)i, NULL);
    intptr_t res[100];
    ck_assert_int_eq(loom_gather(t, 100, res, LOOM_GATHER_ALL), 0);
    fprintf(stderr, "acquire/query/release: 10000 from 100 tasks in %.3f s\n", test_now() - t0);
    for (int i = 0; i < 100; i++)
        ck_assert_msg(res[i] == 0, "task %d: %s", i, loom_strerror((int)res[i]));
    ck_assert_int_le(loom_pg_pool_size(&pool), 10);
    ck_assert_int_eq(loom_pg_pool_in_use(&pool), 0);
    ck_assert_int_eq(loom_pg_pool_close(&pool, LOOM_SEC(5)), 0);
    return 0;
}

START_TEST(pool_many) { ck_assert_int_eq(test_run_task(pool_main, NULL), 0); }
END_TEST

/* --- pool: many tasks' queries pipelined on shared connections --- */

static intptr_t piped_queries(void *arg)
{
    intptr_t id = (intptr_t)arg;
    for (int i = 0; i < 100; i++) {
        char a[24];
        snprintf(a, sizeof a, "%ld", (long)(id * 1000 + i));
        struct loom_pg_result r = {0};
        struct loom_pg_error e;
        if (i % 10 == (int)(id % 10)) { /* a failing statement does not disturb the others */
            ssize_t n = loom_pg_pool_query(&pool, NULL, &e, "SELECT 1 / ($1::int * 0)", 1,
                                           (const char *[]){a});
            if (n != LOOM_EPG || strcmp(e.sqlstate, "22012") != 0)
                return -EPROTO;
            continue;
        }
        ssize_t n = loom_pg_pool_query(&pool, &r, &e, "SELECT $1::int * 2", 1, (const char *[]){a});
        bool ok = n == 1 && loom_pg_int(&r, 0, 0) == (id * 1000 + i) * 2;
        loom_pg_result_clear(&r);
        if (!ok)
            return n < 0 ? n : -EPROTO;
    }
    return 0;
}

static intptr_t piped_sleep(void *arg)
{
    return loom_pg_pool_query(&pool, NULL, NULL, "SELECT pg_sleep(0.05)", 0, NULL);
}

static intptr_t pool_pipe_main(void *arg)
{
    struct loom_pg_pool_options o = {.conninfo = dsn(), .max_size = 4};
    ck_assert_int_eq(loom_pg_pool_open(&pool, &o), 0);
    struct loom_task *t[100];
    double t0 = test_now();
    for (intptr_t i = 0; i < 100; i++)
        t[i] = loom_spawn(piped_queries, (void *)i, NULL);
    intptr_t res[100];
    ck_assert_int_eq(loom_gather(t, 100, res, LOOM_GATHER_ALL), 0);
    fprintf(stderr, "pool_query: 10000 statements from 100 tasks in %.3f s\n", test_now() - t0);
    for (int i = 0; i < 100; i++)
        ck_assert_msg(res[i] == 0, "task %d: %s", i, loom_strerror((int)res[i]));
    ck_assert_int_eq(loom_pg_pool_in_use(&pool), 0);
    ck_assert_int_le(loom_pg_pool_size(&pool), 4);
    /* cancel every other waiter: the rest complete, nothing leaks */
    for (intptr_t i = 0; i < 40; i++)
        t[i] = loom_spawn(piped_sleep, NULL, NULL);
    loom_sleep(LOOM_MS(20));
    for (int i = 0; i < 40; i += 2)
        loom_task_cancel(t[i]);
    ck_assert_int_eq(loom_gather(t, 40, res, LOOM_GATHER_ALL), 0);
    for (int i = 0; i < 40; i++)
        ck_assert_msg(res[i] == (i % 2 ? 1 : -ECANCELED), "task %d: %ld", i, (long)res[i]);
    ck_assert_int_eq(loom_pg_pool_close(&pool, LOOM_SEC(5)), 0);
    return 0;
}

START_TEST(pool_pipeline) { ck_assert_int_eq(test_run_task(pool_pipe_main, NULL), 0); }
END_TEST

/* --- pool: exhaustion, cancelled acquire, reset on release --- */

static intptr_t acquire_forever(void *arg)
{
    struct loom_pg *c;
    int rc = loom_pg_pool_acquire(&pool, &c, -1);
    if (rc == 0)
        loom_pg_pool_release(&pool, c);
    return rc;
}

static intptr_t exhaust_main(void *arg)
{
    struct loom_pg_pool_options o = {.conninfo = dsn(), .max_size = 2};
    ck_assert_int_eq(loom_pg_pool_open(&pool, &o), 0);
    struct loom_pg *a, *b, *c;
    ck_assert_int_eq(loom_pg_pool_acquire(&pool, &a, LOOM_SEC(5)), 0);
    ck_assert_int_eq(loom_pg_pool_acquire(&pool, &b, LOOM_SEC(5)), 0);
    double t0 = test_now();
    ck_assert_int_eq(loom_pg_pool_acquire(&pool, &c, LOOM_MS(200)), -ETIMEDOUT);
    double dt = test_now() - t0;
    ck_assert_msg(dt > 0.15 && dt < 1.0, "timeout took %.3f s", dt);
    /* a cancelled waiter leaks nothing */
    struct loom_task *w = loom_spawn(acquire_forever, NULL, "waiter");
    loom_sleep(LOOM_MS(20));
    loom_task_cancel(w);
    ck_assert_int_eq(loom_task_join(w), -ECANCELED);
    /* release with an open, failed transaction: the next user gets a clean session */
    ck_assert_int_eq(loom_pg_begin(a), 0);
    ck_assert_int_eq(loom_pg_exec(a, NULL, "SELECT 1/0"), LOOM_EPG);
    loom_pg_pool_release(&pool, a);
    ck_assert_int_eq(loom_pg_pool_acquire(&pool, &c, LOOM_SEC(5)), 0);
    ck_assert_int_eq(PQtransactionStatus(loom_pg_raw(c)), PQTRANS_IDLE);
    ck_assert_int_eq(loom_pg_exec(c, NULL, "SELECT 1"), 1);
    loom_pg_pool_release(&pool, c);
    loom_pg_pool_release(&pool, b);
    ck_assert_int_eq(loom_pg_pool_in_use(&pool), 0);
    ck_assert_int_eq(loom_pg_pool_size(&pool), 2);
    ck_assert_int_eq(loom_pg_pool_close(&pool, LOOM_SEC(5)), 0);
    ck_assert_int_eq(loom_pg_pool_acquire(&pool, &c, 0), -ESHUTDOWN);
    return 0;
}

START_TEST(pool_exhaustion) { ck_assert_int_eq(test_run_task(exhaust_main, NULL), 0); }
END_TEST

/* --- pool: close waits (bounded) for connections in use --- */

static intptr_t hold_then_release(void *arg)
{
    struct loom_pg *c = arg;
    loom_sleep(LOOM_MS(200));
    loom_pg_pool_release(&pool, c);
    return 0;
}

static intptr_t close_main(void *arg)
{
    struct loom_pg_pool_options o = {.conninfo = dsn(), .max_size = 2};
    ck_assert_int_eq(loom_pg_pool_open(&pool, &o), 0);
    struct loom_pg *a;
    ck_assert_int_eq(loom_pg_pool_acquire(&pool, &a, LOOM_SEC(5)), 0);
    ck_assert_int_eq(loom_pg_pool_close(&pool, LOOM_MS(50)), -ETIMEDOUT);
    ck_assert_int_eq(loom_pg_pool_size(&pool), 1);
    struct loom_task *t = loom_spawn(hold_then_release, a, "holder");
    double t0 = test_now();
    ck_assert_int_eq(loom_pg_pool_close(&pool, LOOM_SEC(5)), 0);
    double dt = test_now() - t0;
    ck_assert_msg(dt > 0.1 && dt < 1.0, "close waited %.3f s", dt);
    ck_assert_int_eq(loom_pg_pool_size(&pool), 0);
    ck_assert_int_eq(loom_task_join(t), 0);
    return 0;
}

START_TEST(pool_close) { ck_assert_int_eq(test_run_task(close_main, NULL), 0); }
END_TEST

/* --- cancelling a task mid-query --- */

static intptr_t sleeper(void *arg)
{
    return loom_pg_exec(arg, NULL, "SELECT pg_sleep(10) /* loom-cancel-test */");
}

static intptr_t cancel_main(void *arg)
{
    struct loom_pg c, mon;
    test_pg_connect_ok(&c);
    test_pg_connect_ok(&mon);
    struct loom_task *t = loom_spawn(sleeper, &c, "sleeper");
    loom_sleep(LOOM_MS(300));
    double t0 = test_now();
    loom_task_cancel(t);
    ck_assert_int_eq(loom_task_join(t), -ECANCELED);
    double dt = test_now() - t0;
    ck_assert_msg(dt < 1.0, "cancel took %.3f s", dt);
    ck_assert(!loom_pg_broken(&c));
    char pid[16];
    snprintf(pid, sizeof pid, "%d", loom_pg_backend_pid(&c));
    struct loom_pg_result r = {0};
    ck_assert_int_eq(loom_pg_query(&mon, &r,
                                   "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND "
                                   "state = 'active'",
                                   1, (const char *[]){pid}),
                     1);
    ck_assert_int_eq(loom_pg_int(&r, 0, 0), 0);
    loom_pg_result_clear(&r);
    ck_assert_int_eq(loom_pg_exec(&c, &r, "SELECT 7"), 1); /* still usable */
    ck_assert_int_eq(loom_pg_int(&r, 0, 0), 7);
    loom_pg_result_clear(&r);
    /* a timeout is a cancellation too */
    struct loom_task *s = loom_spawn(sleeper, &c, "sleeper2");
    ck_assert_int_eq(loom_wait_for(s, LOOM_MS(200)), -ETIMEDOUT);
    ck_assert_int_eq(loom_pg_exec(&c, NULL, "SELECT 1"), 1);
    loom_pg_close(&c);
    loom_pg_close(&mon);
    return 0;
}

START_TEST(cancel_query) { ck_assert_int_eq(test_run_task(cancel_main, NULL), 0); }
END_TEST

/* --- server restart under the pool --- */

static intptr_t ctl_job(void *arg) { return test_pg_ctl(arg); }

static intptr_t restart_main(void *arg)
{
    struct loom_pg_pool_options o = {.conninfo = dsn(), .min_size = 3, .max_size = 3};
    ck_assert_int_eq(loom_pg_pool_open(&pool, &o), 0);
    struct loom_pg *c;
    ck_assert_int_eq(loom_pg_pool_acquire(&pool, &c, LOOM_SEC(5)), 0);
    struct loom_task *t = loom_spawn(sleeper, c, "victim");
    loom_sleep(LOOM_MS(200));
    ck_assert_int_eq(loom_to_thread(ctl_job, "-m immediate stop"), 0);
    intptr_t rc = loom_task_join(t);
    ck_assert_msg(rc == -ECONNRESET, "query during crash: %s (%s)", loom_strerror((int)rc),
                  loom_pg_errmsg(c));
    ck_assert(loom_pg_broken(c));
    ck_assert_msg(loom_pg_errmsg(c)[0], "no error text");
    loom_pg_pool_release(&pool, c);
    ck_assert_int_eq(loom_pg_pool_acquire(&pool, &c, LOOM_MS(500)), LOOM_EPG); /* down */
    ck_assert_int_eq(loom_to_thread(ctl_job, "start"), 0);
    for (int i = 0; i < 6; i++) { /* every connection must be replaced */
        ck_assert_int_eq(loom_pg_pool_acquire(&pool, &c, LOOM_SEC(5)), 0);
        ck_assert_int_eq(loom_pg_exec(c, NULL, "SELECT 1"), 1);
        loom_pg_pool_release(&pool, c);
    }
    ck_assert_int_eq(loom_pg_pool_close(&pool, LOOM_SEC(5)), 0);
    return 0;
}

START_TEST(server_restart)
{
    if (!test_pg_owned())
        return;
    ck_assert_int_eq(test_run_task(restart_main, NULL), 0);
}
END_TEST

/* --- a failed connect: libpq's own text on stderr, as psql prints it --- */

static void assert_connect_text(const char *rel, const char *prefix)
{
    char path[512], cmd[1024], *out = NULL;
    /* a port nobody listens on: bind one and close it */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
              getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    close(fd);
    snprintf(cmd, sizeof cmd,
             "%s --dsn 'host=127.0.0.1 port=%d user=postgres dbname=x' "
             "</dev/null 2>&1 >/dev/null",
             test_build_path(rel, path, sizeof path), ntohs(a.sin_port));
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    int rc = test_run(argv, NULL, 20, &out, NULL);
    ck_assert_msg(rc != 0, "%s exited 0 on a refused connect", rel);
    ck_assert_msg(strncmp(out, prefix, strlen(prefix)) == 0, "%s stderr: %s", rel, out);
    ck_assert_contains(out, "connection to server at \"127.0.0.1\"");
    ck_assert_contains(out, "Connection refused");
    ck_assert_msg(!strstr(out, "accessor"), "%s printed an API hint: %s", rel, out);
    free(out);
}

START_TEST(connect_error_text)
{
    assert_connect_text("bin/loom-sql", "loom-sql: error: ");
    assert_connect_text("demos/ch05/listing_5_1", "error: ");
}
END_TEST

/* --- a connection closed while another task is parked in a query on it --- */

static intptr_t close_under_main(void *arg)
{
    struct loom_pg c;
    test_pg_connect_ok(&c);
    struct loom_task *t = loom_spawn(sleeper, &c, "sleeper");
    loom_sleep(LOOM_MS(100));
    ck_assert(!loom_task_done(t));
    double t0 = test_now();
    loom_pg_close(&c); /* the sleeper is parked on the socket */
    intptr_t rc = loom_wait_for(t, LOOM_SEC(2));
    ck_assert_msg(rc == -ECONNRESET, "query under close: %s", loom_strerror((int)rc));
    ck_assert_msg(test_now() - t0 < 1.0, "woken after %.3f s", test_now() - t0);
    ck_assert_str_eq(loom_pg_sqlstate(&c), "08003");
    ck_assert(loom_pg_broken(&c));
    loom_pg_close(&c); /* idempotent; the cache was freed by the woken operation */
    return 0;
}

START_TEST(close_under_query) { ck_assert_int_eq(test_run_task(close_under_main, NULL), 0); }
END_TEST

/* --- 1,000,000 rows with flat memory --- */

static long rss_kb(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static intptr_t stream_main(void *arg)
{
    struct loom_pg c;
    test_pg_connect_ok(&c);
    struct loom_pg_stream st;
    ck_assert_int_eq(loom_pg_stream_open(&c, &st,
                                         "SELECT generate_series(1, 1000000) AS g,"
                                         " repeat('x', 100)",
                                         0, NULL),
                     0);
    long n = 0, sum = 0, rss0 = 0;
    int rc;
    while ((rc = loom_pg_stream_next(&st)) == 1) {
        sum += loom_pg_int(loom_pg_stream_result(&st), 0, 0) % 7;
        if (++n == 100000)
            rss0 = rss_kb();
    }
    ck_assert_int_eq(rc, 0);
    long grew = rss_kb() - rss0;
    ck_assert_int_eq(loom_pg_stream_close(&st), 0);
    ck_assert_int_eq(n, 1000000);
    ck_assert_int_eq(sum, 2999998); /* sum of g % 7 */
    ck_assert_msg(grew < 4096, "RSS grew %ld KiB over 900,000 rows", grew);
    /* stopping early cancels the rest; the connection stays usable */
    ck_assert_int_eq(loom_pg_stream_open(&c, &st, "SELECT generate_series(1, 50000000)", 0, NULL),
                     0);
    ck_assert_int_eq(loom_pg_stream_next(&st), 1);
    ck_assert_int_eq(loom_pg_exec(&c, NULL, "SELECT 1"), -EBUSY);
    ck_assert_int_eq(loom_pg_stream_close(&st), 0);
    ck_assert_int_eq(loom_pg_exec(&c, NULL, "SELECT 1"), 1);
    /* a server-side cursor in batches */
    ck_assert_int_eq(loom_pg_begin(&c), 0);
    struct loom_pg_cursor cur;
    ck_assert_int_eq(loom_pg_cursor_open(&c, &cur, "SELECT g FROM generate_series(1, $1::int) g", 1,
                                         (const char *[]){"1000"}, 64),
                     0);
    ck_assert_int_eq(loom_pg_cursor_move(&cur, 500), 500);
    ck_assert_int_eq(loom_pg_cursor_next(&cur), 1);
    ck_assert_int_eq(loom_pg_int(loom_pg_cursor_result(&cur), loom_pg_cursor_row(&cur), 0), 501);
    for (n = 1; (rc = loom_pg_cursor_next(&cur)) == 1; n++)
        ;
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(n, 500);
    ck_assert_int_eq(loom_pg_cursor_close(&cur), 0);
    ck_assert_int_eq(loom_pg_commit(&c), 0);
    loom_pg_close(&c);
    return 0;
}

START_TEST(stream_million) { ck_assert_int_eq(test_run_task(stream_main, NULL), 0); }
END_TEST

/* --- pipeline and COPY --- */

struct rows {
    char a[24], b[24];
    size_t fail_at;
};

static int fill_row(void *arg, size_t i, const char **params)
{
    struct rows *r = arg;
    if (i == r->fail_at)
        return -EINVAL;
    snprintf(r->a, sizeof r->a, "%zu", i);
    snprintf(r->b, sizeof r->b, "row-%zu", i);
    params[0] = r->a;
    params[1] = r->b;
    return 0;
}

struct copy_src {
    size_t next, n;
};

static ssize_t copy_rows(void *arg, char *buf, size_t cap)
{
    struct copy_src *s = arg;
    size_t used = 0;
    while (s->next < s->n && cap - used > 64)
        used += (size_t)snprintf(buf + used, cap - used, "%zu\tcopy-%zu\n", s->next, s->next),
            s->next++;
    return (ssize_t)used;
}

static intptr_t bulk_main(void *arg)
{
    struct loom_pg c;
    test_pg_connect_ok(&c);
    test_pg_exec_ok(&c,
                    "DROP TABLE IF EXISTS t_bulk; CREATE TABLE t_bulk(a int primary key, b text)");
    struct rows r = {.fail_at = (size_t)-1};
    double t0 = test_now();
    ssize_t n =
        loom_pg_executemany(&c, "INSERT INTO t_bulk VALUES($1, $2)", 2, 100000, fill_row, &r);
    ck_assert_msg(n == 100000, "executemany: %zd %s", n, loom_pg_errmsg(&c));
    fprintf(stderr, "pipeline: 100000 inserts in %.3f s\n", test_now() - t0);
    ck_assert_int_eq(count(&c, "SELECT count(*) FROM t_bulk"), 100000);
    /* all or nothing: a duplicate in the middle rolls the whole batch back */
    test_pg_exec_ok(&c, "TRUNCATE t_bulk; INSERT INTO t_bulk VALUES(500, 'x')");
    n = loom_pg_executemany(&c, "INSERT INTO t_bulk VALUES($1, $2)", 2, 1000, fill_row, &r);
    ck_assert_int_eq(n, LOOM_EPG);
    ck_assert_str_eq(loom_pg_sqlstate(&c), "23505");
    ck_assert_int_eq(count(&c, "SELECT count(*) FROM t_bulk"), 1);
    r.fail_at = 700; /* the row callback fails: nothing is kept either */
    test_pg_exec_ok(&c, "TRUNCATE t_bulk");
    ck_assert_int_eq(
        loom_pg_executemany(&c, "INSERT INTO t_bulk VALUES($1, $2)", 2, 1000, fill_row, &r),
        -EINVAL);
    ck_assert_int_eq(count(&c, "SELECT count(*) FROM t_bulk"), 0);
    struct copy_src src = {0, 100000};
    n = loom_pg_copy_in(&c, "COPY t_bulk FROM STDIN", copy_rows, &src);
    ck_assert_msg(n == 100000, "copy: %zd %s", n, loom_pg_errmsg(&c));
    ck_assert_int_eq(count(&c, "SELECT count(*) FROM t_bulk WHERE b LIKE 'copy-%'"), 100000);
    test_pg_exec_ok(&c, "DROP TABLE t_bulk");
    loom_pg_close(&c);
    return 0;
}

START_TEST(bulk) { ck_assert_int_eq(test_run_task(bulk_main, NULL), 0); }
END_TEST

/* --- LISTEN/NOTIFY --- */

static intptr_t listener(void *arg)
{
    struct loom_pg *c = arg;
    struct loom_pg_notify n;
    int rc = loom_pg_notify_wait(c, &n, LOOM_SEC(5));
    if (rc < 0)
        return rc;
    intptr_t ok = strcmp(n.channel, "loom_chan") == 0 && strcmp(n.payload, "hello") == 0;
    loom_pg_notify_clear(&n);
    return ok ? 1 : -EPROTO;
}

static intptr_t notify_main(void *arg)
{
    struct loom_pg a, b;
    test_pg_connect_ok(&a);
    test_pg_connect_ok(&b);
    ck_assert_int_eq(loom_pg_listen(&a, "loom_chan"), 0);
    struct loom_task *t = loom_spawn(listener, &a, "listener");
    loom_sleep(LOOM_MS(50));
    ck_assert_int_eq(
        loom_pg_query(&b, NULL, "SELECT pg_notify('loom_chan', $1)", 1, (const char *[]){"hello"}),
        1);
    ck_assert_int_eq(loom_task_join(t), 1);
    struct loom_pg_notify n;
    ck_assert_int_eq(loom_pg_notify_wait(&a, &n, LOOM_MS(50)), -ETIMEDOUT);
    loom_pg_close(&a);
    loom_pg_close(&b);
    return 0;
}

START_TEST(listen_notify) { ck_assert_int_eq(test_run_task(notify_main, NULL), 0); }
END_TEST

int main(void)
{
    const struct test_pg_case cases[] = {
        {"connect_errors", connect_errors, 20},
        {"query", query, 20},
        {"transactions", transactions, 20},
        {"pool_many", pool_many, 60},
        {"pool_pipeline", pool_pipeline, 60},
        {"pool_exhaustion", pool_exhaustion, 20},
        {"pool_close", pool_close, 20},
        {"cancel_query", cancel_query, 20},
        {"server_restart", server_restart, 60},
        {"stream_million", stream_million, 60},
        {"connect_error_text", connect_error_text, 30},
        {"close_under_query", close_under_query, 20},
        {"bulk", bulk, 60},
        {"listen_notify", listen_notify, 20},
    };
    return test_pg_main("pg", cases, sizeof cases / sizeof cases[0]);
}
