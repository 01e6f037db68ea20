/* check_pg_restart.c - the pool under load while the server goes away (issue
 * 18): 100 tasks on a pool of 10 loop on loom_pg_pool_query (pipelined) or on
 * acquire + loom_pg_query + release while the harness's cluster is restarted
 * with -m fast, with -m immediate, and while every backend is killed with
 * pg_terminate_backend. Asserted: no crash (and no ASan report under make
 * sanitize), every error is a clear one (a known code with the server's or
 * libpq's text), no statement is reported done with a wrong result, and the
 * pool serves again within a second of the server being back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/pg.h"
#include "harness/harness.h"
#include "harness/pg.h"
#include "reactor/executor.h"
#include "reactor/task.h"

enum { TASKS = 100, POOL = 10 };

enum path { PIPELINED, ACQUIRE };
enum outage { RESTART_FAST, RESTART_IMMEDIATE, TERMINATE };

static struct {
    struct loom_pg_pool pool;
    enum path path;
    bool stop;
    long ok, errors;
    double last_ok;  /* test_now() of the latest good result */
    char bad[600];   /* the first unclear error, "" if none */
    char first[600]; /* the first error, for the log */
} st;

/* A clear error: a known code, with text a user can act on. */
static void check_error(ssize_t rc, const char *sqlstate, const char *msg)
{
    if (!st.errors++)
        snprintf(st.first, sizeof st.first, "%zd [%s] %s", rc, sqlstate, msg);
    bool known = rc == -ECONNRESET || rc == LOOM_EPG;
    if (known && msg[0] &&
        (rc != -ECONNRESET || strcmp(sqlstate, "08006") == 0 || strcmp(sqlstate, "08003") == 0))
        return;
    if (!st.bad[0])
        snprintf(st.bad, sizeof st.bad, "rc %zd (%s) sqlstate '%s' msg '%s'", rc,
                 loom_strerror((int)rc), sqlstate, msg);
}

/* One statement; returns its rc after checking the result or the error. */
static ssize_t one_query(long v)
{
    char a[24];
    snprintf(a, sizeof a, "%ld", v);
    const char *params[] = {a};
    struct loom_pg_result r = {0};
    ssize_t rc;
    if (st.path == PIPELINED) {
        struct loom_pg_error e;
        memset(&e, 0, sizeof e);
        rc = loom_pg_pool_query(&st.pool, &r, &e, "SELECT $1::int + 1", 1, params);
        if (rc < 0)
            check_error(rc, e.sqlstate, e.msg);
    } else {
        struct loom_pg *c;
        rc = loom_pg_pool_acquire(&st.pool, &c, LOOM_SEC(10));
        if (rc < 0) {
            check_error(rc, rc == LOOM_EPG ? "08001" : "", loom_pg_pool_errmsg(&st.pool));
        } else {
            rc = loom_pg_query(c, &r, "SELECT $1::int + 1", 1, params);
            if (rc < 0)
                check_error(rc, loom_pg_sqlstate(c), loom_pg_errmsg(c));
            loom_pg_pool_release(&st.pool, c);
        }
    }
    if (rc >= 0) {
        if (rc != 1 || loom_pg_int(&r, 0, 0) != v + 1) {
            if (!st.bad[0])
                snprintf(st.bad, sizeof st.bad, "reported done with a wrong result: rc %zd, '%s'",
                         rc, loom_pg_text(&r, 0, 0));
        } else {
            st.ok++;
            st.last_ok = test_now();
        }
    }
    loom_pg_result_clear(&r);
    return rc;
}

static intptr_t worker(void *arg)
{
    long id = (long)(intptr_t)arg;
    for (long i = 0; !st.stop; i++) {
        if (one_query(id * 100000 + i) < 0 && loom_sleep(LOOM_MS(5)) < 0)
            return -ECANCELED; /* back off while the server is away */
    }
    return 0;
}

static intptr_t ctl_job(void *arg) { return test_pg_ctl(arg); }

/* Kill every client backend of the cluster but our own, from a separate connection. */
static void terminate_all(void)
{
    struct loom_pg mon;
    int rc = loom_pg_connect(&mon, getenv("LOOM_PG_DSN"), LOOM_SEC(10));
    ck_assert_msg(rc == 0, "monitor connect: %s", loom_pg_errmsg(&mon));
    struct loom_pg_result r = {0};
    ssize_t n = loom_pg_exec(&mon, &r,
                             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                             "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
    ck_assert_msg(n == 1, "terminate: %s", loom_pg_errmsg(&mon));
    ck_assert_msg(loom_pg_int(&r, 0, 0) >= 1, "no backend to terminate");
    loom_pg_result_clear(&r);
    loom_pg_close(&mon);
}

/* Poll (bounded) until cond holds: true if it did within timeout_s. */
static bool wait_until(bool (*cond)(void *), void *arg, double timeout_s)
{
    double end = test_now() + timeout_s;
    while (!cond(arg)) {
        if (test_now() > end)
            return false;
        loom_sleep(LOOM_MS(2));
    }
    return true;
}

static bool served_since(void *arg) { return st.last_ok > *(double *)arg; }
static bool pool_full(void *arg) { return loom_pg_pool_size(&st.pool) >= POOL; }

static intptr_t outage_main(void *arg)
{
    enum outage how = (enum outage)(intptr_t)arg;
    struct loom_pg_pool_options o = {.conninfo = getenv("LOOM_PG_DSN"),
                                     .min_size = POOL,
                                     .max_size = POOL,
                                     .connect_timeout_ns = LOOM_SEC(5)};
    ck_assert_int_eq(loom_pg_pool_open(&st.pool, &o), 0);
    struct loom_task *t[TASKS];
    for (intptr_t i = 0; i < TASKS; i++)
        ck_assert_ptr_nonnull(t[i] = loom_spawn(worker, (void *)i, "worker"));
    double before = test_now();
    ck_assert_msg(wait_until(served_since, &before, 5.0), "no result before the outage");
    long ok_before = st.ok;
    if (how == TERMINATE) {
        terminate_all();
    } else {
        const char *cmd = how == RESTART_FAST ? "-m fast restart" : "-m immediate restart";
        ck_assert_int_eq(loom_to_thread(ctl_job, (void *)cmd), 0);
    }
    double back = test_now(); /* pg_ctl -w returned: the server accepts connections */
    bool served = wait_until(served_since, &back, 1.0);
    double took = test_now() - back;
    /* refilled in the background to min_size (bounded) */
    bool full = wait_until(pool_full, NULL, 2.0);
    st.stop = true;
    intptr_t res[TASKS];
    ck_assert_int_eq(loom_gather(t, TASKS, res, LOOM_GATHER_ALL), 0);
    fprintf(stderr, "%s %s: %ld ok, %ld errors, served again %.3f s after the server was back\n",
            st.path == PIPELINED ? "pool_query" : "acquire",
            how == TERMINATE      ? "terminate"
            : how == RESTART_FAST ? "restart -m fast"
                                  : "restart -m immediate",
            st.ok, st.errors, took);
    fprintf(stderr, "  first error: %s\n", st.first);
    ck_assert_msg(!st.bad[0], "unclear error or wrong result: %s", st.bad);
    ck_assert_msg(served, "no good result within 1 s of the server being back");
    ck_assert_msg(full, "pool not refilled to %d (size %d)", POOL, loom_pg_pool_size(&st.pool));
    /* (killed backends that sat idle are replaced without an error, so only
     * a restart, which refuses connections for a while, must show errors) */
    ck_assert_msg(how == TERMINATE || st.errors > 0, "the restart produced no error");
    ck_assert_int_gt(st.ok, ok_before);
    for (int i = 0; i < TASKS; i++)
        ck_assert_int_eq(res[i], 0);
    ck_assert_int_eq(loom_pg_pool_in_use(&st.pool), 0);
    ck_assert_int_le(loom_pg_pool_size(&st.pool), POOL);
    ck_assert_int_eq(loom_pg_pool_close(&st.pool, LOOM_SEC(5)), 0);
    return 0;
}

static void run_outage(enum path path, enum outage how)
{
    ck_assert_msg(test_pg_owned(),
                  "needs the harness's own cluster to restart it (unset LOOM_PG_DSN)");
    /* a run that died mid-restart must not take the next ones down with it */
    if (test_pg_ctl("status") != 0)
        ck_assert_int_eq(test_pg_ctl("start"), 0);
    memset(&st, 0, sizeof st);
    st.path = path;
    struct loom_loop *loop = test_loop_new();
    struct loom_task *t = NULL;
    ck_assert_int_eq(loom_task_spawn(loop, outage_main, (void *)(intptr_t)how, NULL, &t), 0);
    ck_assert_int_eq(loom_loop_run_until_complete(loop, t), 0);
    test_loop_free(loop);
}

START_TEST(pipelined_restart_fast) { run_outage(PIPELINED, RESTART_FAST); }
END_TEST
START_TEST(pipelined_restart_immediate) { run_outage(PIPELINED, RESTART_IMMEDIATE); }
END_TEST
START_TEST(pipelined_terminate) { run_outage(PIPELINED, TERMINATE); }
END_TEST
START_TEST(acquire_restart_fast) { run_outage(ACQUIRE, RESTART_FAST); }
END_TEST
START_TEST(acquire_restart_immediate) { run_outage(ACQUIRE, RESTART_IMMEDIATE); }
END_TEST
START_TEST(acquire_terminate) { run_outage(ACQUIRE, TERMINATE); }
END_TEST

int main(void)
{
    const struct test_pg_case cases[] = {
        {"pipelined_restart_fast", pipelined_restart_fast, 60},
        {"pipelined_restart_immediate", pipelined_restart_immediate, 60},
        {"pipelined_terminate", pipelined_terminate, 60},
        {"acquire_restart_fast", acquire_restart_fast, 60},
        {"acquire_restart_immediate", acquire_restart_immediate, 60},
        {"acquire_terminate", acquire_terminate, 60},
    };
    return test_pg_main("pg_restart", cases, sizeof cases / sizeof cases[0]);
}
