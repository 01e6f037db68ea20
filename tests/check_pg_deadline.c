/* check_pg_deadline.c - every PostgreSQL call bounded by a deadline scope or
 * a timeout: on expiry (or task cancellation) the server is asked to cancel,
 * the connection stays usable, and server-side timeouts (57014) read as
 * -ETIMEDOUT. Runs on the harness's throwaway cluster (or $LOOM_PG_DSN). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "db/pg.h"
#include "harness/harness.h"
#include "harness/pg.h"
#include "harness/pgconn.h"
#include "reactor/task.h"

static const char *dsn(void) { return getenv("LOOM_PG_DSN"); }

/* No statement of c's backend is still running (mon is another connection). */
static void assert_idle(struct loom_pg *mon, struct loom_pg *c, const char *what)
{
    char pid[16];
    snprintf(pid, sizeof pid, "%d", loom_pg_backend_pid(c));
    struct loom_pg_result r = {0};
    ck_assert_int_eq(loom_pg_query(mon, &r,
                                   "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int "
                                   "AND state = 'active'",
                                   1, (const char *[]){pid}),
                     1);
    ck_assert_msg(loom_pg_int(&r, 0, 0) == 0, "%s: the statement still runs on the server", what);
    loom_pg_result_clear(&r);
}

/* c still answers, with no error left over. */
static void assert_usable(struct loom_pg *c, const char *what)
{
    struct loom_pg_result r = {0};
    ssize_t n = loom_pg_query(c, &r, "SELECT 41 + 1", 0, NULL);
    ck_assert_msg(n == 1, "%s: next query gave %zd (%s)", what, n, loom_pg_errmsg(c));
    ck_assert_int_eq(loom_pg_int(&r, 0, 0), 42);
    loom_pg_result_clear(&r);
    ck_assert(!loom_pg_broken(c));
}

struct scoped {
    struct loom_timeout to;
    double t0;
};

static void scope_in(struct scoped *s, int64_t ns)
{
    s->t0 = test_now();
    ck_assert_int_eq(loom_timeout_enter(&s->to, ns), 0);
}

/* Leave the scope: the call ended by it, soon (bound: nothing hangs). */
static void scope_out(struct scoped *s, ssize_t rc, const char *what)
{
    bool expired = loom_timeout_exit(&s->to);
    double dt = test_now() - s->t0;
    ck_assert_msg(rc == -ETIMEDOUT, "%s: %zd (%s), want -ETIMEDOUT", what, rc,
                  loom_strerror((int)rc));
    ck_assert_msg(expired, "%s: the scope did not expire", what);
    ck_assert_msg(dt < 3.0, "%s: took %.3f s past a 200 ms deadline", what, dt);
}

static const int64_t SCOPE = LOOM_MS(200);

/* --- connection calls --- */

static int slow_row(void *arg, size_t i, const char **params)
{
    params[0] = "0.3";
    return 0;
}

static ssize_t copy_rows(void *arg, char *buf, size_t cap)
{
    int *left = arg;
    if (*left == 0)
        return 0;
    (*left)--;
    return snprintf(buf, cap, "%d\n", *left);
}

static int copy_sink(void *arg, const char *data, size_t len) { return 0; }

static intptr_t conn_calls_main(void *arg)
{
    struct loom_pg c, mon;
    test_pg_connect_ok(&c);
    test_pg_connect_ok(&mon);
    struct scoped s;
    ssize_t rc;
    const char *five[] = {"5"};

    scope_in(&s, SCOPE);
    rc = loom_pg_exec(&c, NULL, "SELECT pg_sleep(5)");
    scope_out(&s, rc, "exec");
    ck_assert_str_eq(loom_pg_sqlstate(&c), "57014");
    ck_assert_msg(strstr(loom_pg_errmsg(&c), "deadline"), "msg %s", loom_pg_errmsg(&c));
    assert_idle(&mon, &c, "exec");
    assert_usable(&c, "exec");

    scope_in(&s, SCOPE);
    rc = loom_pg_query(&c, NULL, "SELECT pg_sleep($1::float8)", 1, five);
    scope_out(&s, rc, "query");
    assert_idle(&mon, &c, "query");
    assert_usable(&c, "query");

    scope_in(&s, SCOPE);
    rc = loom_pg_query_once(&c, NULL, "SELECT pg_sleep($1::float8)", 1, five);
    scope_out(&s, rc, "query_once");
    assert_usable(&c, "query_once");

    struct loom_pg_param tp = loom_pg_p_float8(5);
    scope_in(&s, SCOPE);
    rc = loom_pg_query_typed(&c, NULL, "SELECT pg_sleep($1)", 1, &tp, LOOM_PG_BINARY_RESULTS);
    scope_out(&s, rc, "query_typed");
    assert_idle(&mon, &c, "query_typed");
    assert_usable(&c, "query_typed");

    ck_assert_int_eq(loom_pg_prepare(&c, "slow", "SELECT pg_sleep(5)", 0), 0);
    scope_in(&s, SCOPE);
    rc = loom_pg_exec_prepared(&c, NULL, "slow", 0, NULL);
    scope_out(&s, rc, "exec_prepared");
    assert_usable(&c, "exec_prepared");

    /* a transaction: the statement times out, the block rolls back outside the scope */
    ck_assert_int_eq(loom_pg_begin(&c), 0);
    ck_assert_int_eq(loom_pg_begin(&c), 0); /* a savepoint */
    scope_in(&s, SCOPE);
    rc = loom_pg_exec(&c, NULL, "SELECT pg_sleep(5)");
    scope_out(&s, rc, "in a transaction");
    ck_assert_int_eq(loom_pg_end(&c, (int)rc), -ETIMEDOUT); /* back to the outer level */
    ck_assert_int_eq(loom_pg_depth(&c), 1);
    ck_assert_int_eq(loom_pg_exec(&c, NULL, "SELECT 1"), 1);
    ck_assert_int_eq(loom_pg_commit(&c), 0);
    /* the whole transaction under one scope: begin and commit honour it too */
    scope_in(&s, SCOPE);
    rc = loom_pg_begin(&c);
    if (rc == 0)
        rc = loom_pg_exec(&c, NULL, "SELECT pg_sleep(5)");
    rc = loom_pg_end(&c, (int)rc);
    scope_out(&s, rc, "transaction block");
    ck_assert_int_eq(loom_pg_depth(&c), 0);
    assert_usable(&c, "transaction block");

    /* streaming: a row that takes long to come */
    struct loom_pg_stream st;
    ck_assert_int_eq(loom_pg_stream_open(&c, &st,
                                         "SELECT g, pg_sleep(CASE WHEN g = 3 THEN 5 ELSE 0 END) "
                                         "FROM generate_series(1, 5) g",
                                         0, NULL),
                     0);
    scope_in(&s, SCOPE);
    int n = 0;
    while ((rc = loom_pg_stream_next(&st)) == 1)
        n++;
    scope_out(&s, rc, "stream_next");
    ck_assert_int_le(n, 2); /* the server flushes rows in 8 KiB blocks */
    ck_assert_int_eq(loom_pg_stream_close(&st), 0);
    assert_idle(&mon, &c, "stream");
    assert_usable(&c, "stream");

    /* a cursor fetch */
    ck_assert_int_eq(loom_pg_begin(&c), 0);
    struct loom_pg_cursor cur;
    ck_assert_int_eq(loom_pg_cursor_open(&c, &cur,
                                         "SELECT g, pg_sleep(CASE WHEN g = 3 THEN 5 ELSE 0 END) "
                                         "FROM generate_series(1, 5) g",
                                         0, NULL, 10),
                     0);
    scope_in(&s, SCOPE);
    rc = loom_pg_cursor_next(&cur);
    scope_out(&s, rc, "cursor_next");
    ck_assert_int_eq(loom_pg_cursor_close(&cur), 0);
    ck_assert_int_eq(loom_pg_rollback(&c), 0);
    assert_usable(&c, "cursor");

    /* executemany: 30 statements of 0.3 s */
    scope_in(&s, SCOPE);
    rc = loom_pg_executemany(&c, "SELECT pg_sleep($1::float8)", 1, 30, slow_row, NULL);
    scope_out(&s, rc, "executemany");
    assert_idle(&mon, &c, "executemany");
    assert_usable(&c, "executemany");

    /* COPY in: a default that sleeps per row */
    ck_assert_int_ge(
        loom_pg_exec(&c, NULL,
                     "CREATE FUNCTION pg_temp.slow() RETURNS int LANGUAGE sql AS "
                     "'SELECT 1 FROM pg_sleep(5)';"
                     "CREATE TEMP TABLE slow_copy(a int, b int DEFAULT pg_temp.slow())"),
        0);
    int left = 3;
    scope_in(&s, SCOPE);
    rc = loom_pg_copy_in(&c, "COPY slow_copy(a) FROM STDIN", copy_rows, &left);
    scope_out(&s, rc, "copy_in");
    assert_idle(&mon, &c, "copy_in");
    assert_usable(&c, "copy_in");

    scope_in(&s, SCOPE);
    rc = loom_pg_copy_out(&c, "COPY (SELECT pg_sleep(5)) TO STDOUT", copy_sink, NULL);
    scope_out(&s, rc, "copy_out");
    assert_idle(&mon, &c, "copy_out");
    assert_usable(&c, "copy_out");

    /* waiting for a notification (no timeout of its own) */
    ck_assert_int_eq(loom_pg_listen(&c, "nobody_sends"), 0);
    struct loom_pg_notify nt;
    scope_in(&s, SCOPE);
    rc = loom_pg_notify_wait(&c, &nt, -1);
    scope_out(&s, rc, "notify_wait");
    assert_usable(&c, "notify_wait");

    /* describe and prepare are quick, but an expired scope fails them at once */
    scope_in(&s, SCOPE);
    loom_sleep(LOOM_SEC(1));
    struct loom_pg_result r = {0};
    rc = loom_pg_describe(&c, &r, "SELECT pg_sleep(1)");
    loom_pg_result_clear(&r);
    scope_out(&s, rc == 0 ? -ETIMEDOUT : rc, "sleep in scope"); /* describe may finish first */
    assert_usable(&c, "describe");

    loom_pg_close(&c);
    loom_pg_close(&mon);
    return 0;
}

START_TEST(conn_calls) { ck_assert_int_eq(test_run_task(conn_calls_main, NULL), 0); }
END_TEST

/* --- a cancel request never lands on the next statement --- */

static intptr_t no_stray_cancel_main(void *arg)
{
    struct loom_pg c;
    test_pg_connect_ok(&c);
    /* the statement often ends just as the deadline passes: the cancel sent for
     * it must be handled before the next statement starts */
    for (int i = 0; i < 30; i++) {
        struct loom_timeout to;
        loom_timeout_enter(&to, LOOM_MS(40 + i % 5));
        ssize_t rc = loom_pg_exec(&c, NULL, "SELECT pg_sleep(0.042)");
        loom_timeout_exit(&to);
        ck_assert_msg(rc == 1 || rc == -ETIMEDOUT, "round %d: %zd %s", i, rc, loom_pg_errmsg(&c));
        rc = loom_pg_exec(&c, NULL, "SELECT pg_sleep(0.02)");
        ck_assert_msg(rc == 1, "round %d: the next statement gave %zd (%s %s)", i, rc,
                      loom_pg_sqlstate(&c), loom_pg_errmsg(&c));
    }
    loom_pg_close(&c);
    return 0;
}

START_TEST(no_stray_cancel) { ck_assert_int_eq(test_run_task(no_stray_cancel_main, NULL), 0); }
END_TEST

/* --- connect under a scope --- */

static intptr_t connect_scope_main(void *arg)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t slen = sizeof sa;
    ck_assert(bind(lfd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(lfd, 4) == 0);
    ck_assert(getsockname(lfd, (struct sockaddr *)&sa, &slen) == 0);
    char bad[600];
    snprintf(bad, sizeof bad, "%s port=%d", dsn(), ntohs(sa.sin_port));
    struct loom_pg c;
    struct scoped s;
    scope_in(&s, SCOPE);
    int rc = loom_pg_connect(&c, bad, -1); /* a server that never answers */
    scope_out(&s, rc, "connect");
    close(lfd);
    return 0;
}

START_TEST(connect_scope) { ck_assert_int_eq(test_run_task(connect_scope_main, NULL), 0); }
END_TEST

/* --- server-side timeouts --- */

static intptr_t server_timeout_main(void *arg)
{
    struct loom_pg c;
    test_pg_connect_ok(&c);
    ck_assert_int_ge(loom_pg_exec(&c, NULL, "SET statement_timeout = 100"), 0);
    ck_assert_int_eq(loom_pg_exec(&c, NULL, "SELECT pg_sleep(2)"), -ETIMEDOUT);
    ck_assert_str_eq(loom_pg_sqlstate(&c), "57014");
    ck_assert_msg(strstr(loom_pg_errmsg(&c), "statement timeout"), "msg %s", loom_pg_errmsg(&c));
    ck_assert_int_eq(
        loom_pg_query(&c, NULL, "SELECT pg_sleep($1::float8)", 1, (const char *[]){"2"}),
        -ETIMEDOUT);
    ck_assert_str_eq(loom_pg_sqlstate(&c), "57014");
    ck_assert_int_ge(loom_pg_exec(&c, NULL, "RESET statement_timeout"), 0);
    assert_usable(&c, "statement_timeout");
    loom_pg_close(&c);

    /* on the pool: the error keeps the server's words */
    char conninfo[700];
    snprintf(conninfo, sizeof conninfo, "%s options='-c statement_timeout=100'", dsn());
    struct loom_pg_pool p;
    struct loom_pg_pool_options o = {.conninfo = conninfo, .max_size = 2};
    ck_assert_int_eq(loom_pg_pool_open(&p, &o), 0);
    struct loom_pg_error err;
    ck_assert_int_eq(loom_pg_pool_query(&p, NULL, &err, "SELECT pg_sleep(2)", 0, NULL), -ETIMEDOUT);
    ck_assert_str_eq(err.sqlstate, "57014");
    ck_assert_msg(strstr(err.msg, "statement timeout"), "msg %s", err.msg);
    ck_assert_int_eq(loom_pg_pool_query(&p, NULL, &err, "SELECT 1", 0, NULL), 1);
    ck_assert_int_eq(loom_pg_pool_close(&p, LOOM_SEC(5)), 0);
    return 0;
}

START_TEST(server_timeout) { ck_assert_int_eq(test_run_task(server_timeout_main, NULL), 0); }
END_TEST

/* --- pool calls --- */

struct pq_arg {
    struct loom_pg_pool *p;
    const char *sql;
    ssize_t rc;
    int value;
};

static intptr_t pool_query_task(void *arg)
{
    struct pq_arg *a = arg;
    struct loom_pg_result r = {0};
    a->rc = loom_pg_pool_query(a->p, &r, NULL, a->sql, 0, NULL);
    if (a->rc >= 1)
        a->value = loom_pg_int(&r, 0, 0);
    loom_pg_result_clear(&r);
    return 0;
}

static int count_active(struct loom_pg *mon, const char *like)
{
    struct loom_pg_result r = {0};
    ck_assert_int_eq(loom_pg_query(mon, &r,
                                   "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                                   "AND query LIKE $1 AND pid <> pg_backend_pid()",
                                   1, (const char *[]){like}),
                     1);
    int n = loom_pg_int(&r, 0, 0);
    loom_pg_result_clear(&r);
    return n;
}

static intptr_t pool_calls_main(void *arg)
{
    struct loom_pg mon;
    test_pg_connect_ok(&mon);
    struct loom_pg_pool p;
    struct loom_pg_pool_options o = {.conninfo = dsn(), .max_size = 1};
    ck_assert_int_eq(loom_pg_pool_open(&p, &o), 0);
    struct scoped s;

    /* acquire waits for a connection held elsewhere: the scope ends it */
    struct loom_pg *held, *c;
    ck_assert_int_eq(loom_pg_pool_acquire(&p, &held, -1), 0);
    scope_in(&s, SCOPE);
    int rc = loom_pg_pool_acquire(&p, &c, -1);
    scope_out(&s, rc, "pool_acquire");
    loom_pg_pool_release(&p, held);

    /* a pipelined statement times out: cancelled on the server, connection kept */
    int pid_before = 0;
    ck_assert_int_eq(loom_pg_pool_acquire(&p, &c, -1), 0);
    pid_before = loom_pg_backend_pid(c);
    loom_pg_pool_release(&p, c);
    scope_in(&s, SCOPE);
    rc = (int)loom_pg_pool_query(&p, NULL, NULL, "SELECT pg_sleep(5) /* dl-pool-1 */", 0, NULL);
    scope_out(&s, rc, "pool_query");
    ck_assert_int_eq(count_active(&mon, "%dl-pool-1%"), 0);
    struct pq_arg ok = {&p, "SELECT 7", 0, 0};
    pool_query_task(&ok);
    ck_assert_int_eq(ok.rc, 1);
    ck_assert_int_eq(ok.value, 7);
    ck_assert_int_eq(loom_pg_pool_size(&p), 1);
    ck_assert_int_eq(loom_pg_pool_acquire(&p, &c, -1), 0);
    ck_assert_int_eq(loom_pg_backend_pid(c), pid_before); /* the same session: kept */
    loom_pg_pool_release(&p, c);

    /* a cancelled task's statement queued behind another's: reported
     * cancelled, never done, and the other one is not disturbed */
    struct pq_arg a = {&p, "SELECT 5 FROM pg_sleep(0.5)", 0, 0};
    struct pq_arg b = {&p, "SELECT 6", 0, 0};
    struct loom_task *ta = loom_spawn(pool_query_task, &a, "a");
    struct loom_task *tb = loom_spawn(pool_query_task, &b, "b");
    loom_sleep(LOOM_MS(100));
    loom_task_cancel(tb);
    loom_task_join(tb);
    ck_assert_int_eq(b.rc, -ECANCELED);
    loom_task_join(ta);
    ck_assert_int_eq(a.rc, 1);
    ck_assert_int_eq(a.value, 5);
    /* a cancelled task alone on the connection: the server stops its statement */
    struct pq_arg z = {&p, "SELECT 1 FROM pg_sleep(5) /* dl-pool-2 */", 0, 0};
    struct loom_task *tz = loom_spawn(pool_query_task, &z, "z");
    loom_sleep(LOOM_MS(200));
    double t0 = test_now();
    loom_task_cancel(tz);
    loom_task_join(tz);
    ck_assert_int_eq(z.rc, -ECANCELED);
    ck_assert_msg(test_now() - t0 < 3.0, "cancel took %.3f s", test_now() - t0);
    ck_assert_int_eq(count_active(&mon, "%dl-pool-2%"), 0);
    pool_query_task(&ok);
    ck_assert_int_eq(ok.rc, 1);

    ck_assert_int_eq(loom_pg_pool_close(&p, LOOM_SEC(5)), 0);
    loom_pg_close(&mon);
    return 0;
}

START_TEST(pool_calls) { ck_assert_int_eq(test_run_task(pool_calls_main, NULL), 0); }
END_TEST

int main(void)
{
    const struct test_pg_case cases[] = {
        {"conn_calls", conn_calls, 60},       {"no_stray_cancel", no_stray_cancel, 30},
        {"connect_scope", connect_scope, 20}, {"server_timeout", server_timeout, 20},
        {"pool_calls", pool_calls, 30},
    };
    return test_pg_main("pg_deadline", cases, sizeof cases / sizeof cases[0]);
}
