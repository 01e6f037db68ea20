/* check_pg_session.c - COPY TO STDOUT streamed to a callback, server notices
 * delivered to a callback, and pooled connections reset between users. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "db/pg.h"
#include "harness/harness.h"
#include "harness/pg.h"
#include "harness/pgconn.h"
#include "reactor/task.h"

static void select1(struct loom_pg *c)
{
    ssize_t rc = loom_pg_query(c, NULL, "SELECT 1", 0, NULL);
    ck_assert_msg(rc == 1, "SELECT 1: %zd %s", rc, loom_pg_errmsg(c));
}

/* ASan keeps freed blocks in a quarantine (256 MiB by default), so every
 * freed CopyData message stays resident there: allow for it. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_SLACK_KB (16 * 1024 + 256 * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_SLACK_KB (16 * 1024 + 256 * 1024)
#endif
#endif
#ifndef RSS_SLACK_KB
#define RSS_SLACK_KB (16 * 1024)
#endif

static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* --- COPY out --- */

struct sink {
    long msgs;
    long bytes;
    long stop_after; /* return -42 after this many messages (0: never) */
    char first[64];
};

static int sink_cb(void *arg, const char *data, size_t len)
{
    struct sink *s = arg;
    if (s->msgs == 0)
        memcpy(s->first, data, len < sizeof s->first - 1 ? len : sizeof s->first - 1);
    s->msgs++;
    s->bytes += (long)len;
    return s->stop_after && s->msgs >= s->stop_after ? -42 : 0;
}

static intptr_t copy_slow(void *arg)
{
    struct sink s = {0};
    return loom_pg_copy_out(arg, "COPY (SELECT pg_sleep(10)) TO STDOUT", sink_cb, &s);
}

static intptr_t copy_main(void *arg)
{
    struct loom_pg c;
    test_pg_connect_ok(&c);
    /* 2 M rows (~25 MB) stream through with flat memory */
    long rss0 = maxrss_kb();
    struct sink s = {0};
    ssize_t n = loom_pg_copy_out(&c,
                                 "COPY (SELECT g, 'row' || g FROM generate_series(1, 2000000) g)"
                                 " TO STDOUT",
                                 sink_cb, &s);
    ck_assert_msg(n == 2000000, "copy: %zd %s", n, loom_pg_errmsg(&c));
    ck_assert_int_eq(s.msgs, 2000000);
    ck_assert_str_eq(s.first, "1\trow1\n");
    ck_assert_int_gt(s.bytes, 20000000);
    long grew = maxrss_kb() - rss0;
    ck_assert_msg(grew < RSS_SLACK_KB, "RSS grew %ld KiB for a 25 MB COPY", grew);
    select1(&c);

    /* binary and csv formats */
    s = (struct sink){0};
    ck_assert_int_eq(
        loom_pg_copy_out(&c, "COPY (SELECT 1::int4) TO STDOUT (FORMAT binary)", sink_cb, &s), 1);
    ck_assert(memcmp(s.first, "PGCOPY\n\377\r\n", 11) == 0);
    s = (struct sink){0};
    ck_assert_int_eq(
        loom_pg_copy_out(&c, "COPY (SELECT 'a,b', NULL::int) TO STDOUT (FORMAT csv)", sink_cb, &s),
        1);
    ck_assert_str_eq(s.first, "\"a,b\",\n");

    /* the callback stops a huge COPY: its code comes back, the connection is usable */
    s = (struct sink){.stop_after = 10};
    double t0 = test_now();
    n = loom_pg_copy_out(&c, "COPY (SELECT generate_series(1, 100000000)) TO STDOUT", sink_cb, &s);
    ck_assert_int_eq(n, -42);
    ck_assert_int_eq(s.msgs, 10);
    ck_assert_msg(test_now() - t0 < 5.0, "stopping took %.2f s", test_now() - t0);
    ck_assert(!loom_pg_broken(&c));
    select1(&c);

    /* not a COPY TO STDOUT, and an error in the middle of the data */
    ck_assert_int_eq(loom_pg_copy_out(&c, "SELECT 1", sink_cb, &s), LOOM_EPG);
    select1(&c);
    ck_assert_int_eq(loom_pg_exec(&c, NULL, "CREATE TEMP TABLE t (x int)"), 0);
    ck_assert_int_eq(loom_pg_copy_out(&c, "COPY t FROM STDIN", sink_cb, &s), LOOM_EPG);
    select1(&c);
    s = (struct sink){0};
    n = loom_pg_copy_out(&c,
                         "COPY (SELECT 1 / (g - 50000) FROM generate_series(1, 100000) g) "
                         "TO STDOUT",
                         sink_cb, &s);
    ck_assert_int_eq(n, LOOM_EPG);
    ck_assert_str_eq(loom_pg_sqlstate(&c), "22012");
    select1(&c);

    /* a cancelled task: the server stops the COPY, the connection stays usable */
    struct loom_task *t = loom_spawn(copy_slow, &c, "copy");
    loom_sleep(LOOM_MS(200));
    t0 = test_now();
    loom_task_cancel(t);
    ck_assert_int_eq(loom_task_join(t), -ECANCELED);
    ck_assert_msg(test_now() - t0 < 5.0, "cancel took %.2f s", test_now() - t0);
    select1(&c);
    loom_pg_close(&c);
    return 0;
}

START_TEST(copy_out) { ck_assert_int_eq(test_run_task(copy_main, NULL), 0); }

/* A COPY through a plain query call is refused, quickly, and the connection
 * stays usable (it used to spin in the result loop, blocking the loop). */
static intptr_t copy_refused_main(void *arg)
{
    struct loom_pg c;
    test_pg_connect_ok(&c);
    struct loom_pg_result r = {0};
    double t0 = test_now();
    ck_assert_int_eq(loom_pg_exec(&c, &r, "COPY (SELECT generate_series(1, 2000000)) TO STDOUT"),
                     LOOM_EPG);
    ck_assert_str_eq(loom_pg_sqlstate(&c), "0A000");
    ck_assert_int_eq(loom_pg_exec(&c, &r, "CREATE TEMP TABLE cr(x int)"), 0);
    ck_assert_int_eq(loom_pg_exec(&c, &r, "COPY cr FROM STDIN"), LOOM_EPG);
    ck_assert_double_lt(test_now() - t0, 5.0);
    ck_assert_int_eq(loom_pg_exec(&c, &r, "SELECT 41 + 1"), 1);
    ck_assert_str_eq(loom_pg_text(&r, 0, 0), "42");
    loom_pg_result_clear(&r);
    loom_pg_close(&c);
    return 0;
}

START_TEST(copy_refused) { ck_assert_int_eq(test_run_task(copy_refused_main, NULL), 0); }
END_TEST

/* --- notices --- */

struct notices {
    int n;
    char sev[4][16], state[4][8], msg[4][64], detail[4][64];
};

static void on_notice(void *arg, const struct loom_pg_notice *n)
{
    struct notices *ns = arg;
    if (ns->n < 4) {
        snprintf(ns->sev[ns->n], 16, "%s", n->severity);
        snprintf(ns->state[ns->n], 8, "%s", n->sqlstate);
        snprintf(ns->msg[ns->n], 64, "%s", n->message);
        snprintf(ns->detail[ns->n], 64, "%s", n->detail);
    }
    ns->n++;
}

static intptr_t notice_main(void *arg)
{
    struct loom_pg c;
    test_pg_connect_ok(&c);
    struct notices ns = {0};
    /* dropped by default */
    ck_assert_int_ge(loom_pg_exec(&c, NULL, "DROP TABLE IF EXISTS no_such_table"), 0);
    loom_pg_set_notice_cb(&c, on_notice, &ns);
    ck_assert_int_ge(loom_pg_exec(&c, NULL, "DROP TABLE IF EXISTS no_such_table"), 0);
    ck_assert_int_eq(ns.n, 1);
    ck_assert_str_eq(ns.sev[0], "NOTICE");
    ck_assert_str_eq(ns.state[0], "00000");
    ck_assert_msg(strstr(ns.msg[0], "no_such_table"), "msg %s", ns.msg[0]);
    ck_assert_int_ge(loom_pg_exec(&c, NULL,
                                  "DO $$BEGIN RAISE NOTICE 'hello %', 42; "
                                  "RAISE WARNING 'careful' USING DETAIL = 'd1', "
                                  "ERRCODE = '01000'; END$$"),
                     0);
    ck_assert_int_eq(ns.n, 3);
    ck_assert_str_eq(ns.msg[1], "hello 42");
    ck_assert_str_eq(ns.sev[2], "WARNING");
    ck_assert_str_eq(ns.msg[2], "careful");
    ck_assert_str_eq(ns.detail[2], "d1");
    /* notices of a prepared query too, then off again */
    ck_assert_int_eq(loom_pg_query(&c, NULL,
                                   "SELECT 1 FROM (SELECT set_config('client_min_messages',"
                                   " 'notice', false)) s",
                                   0, NULL),
                     1);
    loom_pg_set_notice_cb(&c, NULL, NULL);
    ck_assert_int_ge(loom_pg_exec(&c, NULL, "DROP TABLE IF EXISTS no_such_table"), 0);
    ck_assert_int_eq(ns.n, 3);
    loom_pg_close(&c);
    return 0;
}

START_TEST(notices) { ck_assert_int_eq(test_run_task(notice_main, NULL), 0); }
END_TEST

/* --- pool hand-over reset --- */

static long scalar(struct loom_pg *c, const char *sql)
{
    struct loom_pg_result r = {0};
    ssize_t rc = loom_pg_exec(c, &r, sql);
    ck_assert_msg(rc >= 0, "%s: %s", sql, loom_pg_errmsg(c));
    long v = strtol(loom_pg_text(&r, 0, 0), NULL, 10);
    loom_pg_result_clear(&r);
    return v;
}

/* Leave session state behind: a setting, a listener, an advisory lock, a
 * temp table, a held cursor, and an open transaction. */
static void dirty(struct loom_pg *c)
{
    ck_assert_int_ge(loom_pg_exec(c, NULL,
                                  "SET application_name = 'dirty'; LISTEN chan_x; "
                                  "SELECT pg_advisory_lock(4242); "
                                  "CREATE TEMP TABLE tt (x int); "
                                  "DECLARE cur CURSOR WITH HOLD FOR SELECT 1"),
                     0);
    ck_assert_int_eq(loom_pg_begin(c), 0);
    ck_assert_int_ge(loom_pg_exec(c, NULL, "INSERT INTO tt VALUES (1)"), 0);
}

static intptr_t reset_main(void *arg)
{
    struct loom_pg_pool p;
    struct loom_pg_pool_options o = {
        .conninfo = getenv("LOOM_PG_DSN"), .min_size = 1, .max_size = 1};
    ck_assert_int_eq(loom_pg_pool_open(&p, &o), 0);
    struct loom_pg *c;
    ck_assert_int_eq(loom_pg_pool_acquire(&p, &c, LOOM_SEC(5)), 0);
    int pid = loom_pg_backend_pid(c);
    dirty(c);
    loom_pg_pool_release(&p, c);
    ck_assert_int_eq(loom_pg_pool_acquire(&p, &c, LOOM_SEC(5)), 0);
    ck_assert_int_eq(loom_pg_backend_pid(c), pid); /* the same session, cleaned */
    ck_assert_int_eq(loom_pg_depth(c), 0);
    ck_assert_int_eq(scalar(c, "SELECT count(*) FROM pg_settings WHERE name = "
                               "'application_name' AND setting = 'dirty'"),
                     0);
    ck_assert_int_eq(scalar(c, "SELECT count(*) FROM pg_listening_channels()"), 0);
    ck_assert_int_eq(scalar(c, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                               "AND pid = pg_backend_pid()"),
                     0);
    ck_assert_int_eq(scalar(c, "SELECT count(*) FROM pg_cursors"), 0);
    ck_assert_int_eq(scalar(c, "SELECT (to_regclass('pg_temp.tt') IS NULL)::int"), 1);
    /* the statement cache survived the reset */
    ck_assert_int_eq(loom_pg_query(c, NULL, "SELECT $1::int", 1, (const char *[]){"1"}), 1);
    loom_pg_pool_release(&p, c);
    ck_assert_int_eq(loom_pg_pool_acquire(&p, &c, LOOM_SEC(5)), 0);
    ck_assert_int_eq(loom_pg_query(c, NULL, "SELECT $1::int", 1, (const char *[]){"1"}), 1);
    loom_pg_pool_release(&p, c);
    ck_assert_int_eq(loom_pg_pool_close(&p, LOOM_SEC(5)), 0);

    /* opted out: only the open transaction is rolled back */
    o.reset_sql = "";
    ck_assert_int_eq(loom_pg_pool_open(&p, &o), 0);
    ck_assert_int_eq(loom_pg_pool_acquire(&p, &c, LOOM_SEC(5)), 0);
    dirty(c);
    loom_pg_pool_release(&p, c);
    ck_assert_int_eq(loom_pg_pool_acquire(&p, &c, LOOM_SEC(5)), 0);
    ck_assert_int_eq(scalar(c, "SELECT count(*) FROM pg_listening_channels()"), 1);
    ck_assert_int_eq(scalar(c, "SELECT count(*) FROM tt"), 0); /* the INSERT was rolled back */
    loom_pg_pool_release(&p, c);
    ck_assert_int_eq(loom_pg_pool_close(&p, LOOM_SEC(5)), 0);

    /* a custom reset */
    o.reset_sql = "RESET application_name";
    ck_assert_int_eq(loom_pg_pool_open(&p, &o), 0);
    ck_assert_int_eq(loom_pg_pool_acquire(&p, &c, LOOM_SEC(5)), 0);
    dirty(c);
    loom_pg_pool_release(&p, c);
    ck_assert_int_eq(loom_pg_pool_acquire(&p, &c, LOOM_SEC(5)), 0);
    ck_assert_int_eq(scalar(c, "SELECT count(*) FROM pg_settings WHERE name = "
                               "'application_name' AND setting = 'dirty'"),
                     0);
    ck_assert_int_eq(scalar(c, "SELECT count(*) FROM pg_listening_channels()"), 1);
    loom_pg_pool_release(&p, c);
    ck_assert_int_eq(loom_pg_pool_close(&p, LOOM_SEC(5)), 0);
    return 0;
}

START_TEST(pool_reset) { ck_assert_int_eq(test_run_task(reset_main, NULL), 0); }
END_TEST

/* --- transaction options --- */

static void show_is(struct loom_pg *c, const char *setting, const char *want)
{
    char sql[80];
    snprintf(sql, sizeof sql, "SHOW %s", setting);
    struct loom_pg_result r = {0};
    ck_assert_int_eq(loom_pg_exec(c, &r, sql), 1);
    ck_assert_msg(strcmp(loom_pg_text(&r, 0, 0), want) == 0, "%s is %s, want %s", setting,
                  loom_pg_text(&r, 0, 0), want);
    loom_pg_result_clear(&r);
}

static int bump(struct loom_pg *c, void *arg)
{
    ssize_t rc = loom_pg_exec(c, NULL, "UPDATE txo SET v = v + 1");
    return rc < 0 ? (int)rc : 0;
}

static intptr_t txn_options_main(void *arg)
{
    struct loom_pg c, other;
    test_pg_connect_ok(&c);
    test_pg_connect_ok(&other);
    ck_assert_int_ge(loom_pg_exec(&c, NULL,
                                  "DROP TABLE IF EXISTS txo; CREATE TABLE txo(v int);"
                                  "INSERT INTO txo VALUES (0)"),
                     0);
    /* every option reaches the server */
    struct loom_pg_txn_options o = {LOOM_PG_SERIALIZABLE, true, true};
    ck_assert_int_eq(loom_pg_begin_with(&c, &o), 0);
    show_is(&c, "transaction_isolation", "serializable");
    show_is(&c, "transaction_read_only", "on");
    show_is(&c, "transaction_deferrable", "on");
    ck_assert_int_eq(loom_pg_exec(&c, NULL, "UPDATE txo SET v = 1"), LOOM_EPG);
    ck_assert_str_eq(loom_pg_sqlstate(&c), "25006"); /* read-only transaction */
    ck_assert_int_eq(loom_pg_rollback(&c), 0);
    o = (struct loom_pg_txn_options){LOOM_PG_READ_COMMITTED, false, false};
    ck_assert_int_eq(loom_pg_begin_with(&c, &o), 0);
    show_is(&c, "transaction_isolation", "read committed");
    show_is(&c, "transaction_read_only", "off");
    /* nested: a plain savepoint is fine, options are refused and nothing changes */
    ck_assert_int_eq(loom_pg_begin_with(&c, &o), -EINVAL);
    ck_assert_int_eq(loom_pg_depth(&c), 1);
    ck_assert_int_eq(loom_pg_begin_with(&c, NULL), 0);
    ck_assert_int_eq(loom_pg_depth(&c), 2);
    ck_assert_int_eq(loom_pg_commit(&c), 0);
    ck_assert_int_eq(loom_pg_commit(&c), 0);
    o.isolation = (enum loom_pg_isolation)7;
    ck_assert_int_eq(loom_pg_begin_with(&c, &o), -EINVAL);
    ck_assert_int_eq(loom_pg_depth(&c), 0);

    /* REPEATABLE READ keeps its snapshot while another session commits */
    o = (struct loom_pg_txn_options){LOOM_PG_REPEATABLE_READ, false, false};
    ck_assert_int_eq(loom_pg_begin_with(&c, &o), 0);
    show_is(&c, "transaction_isolation", "repeatable read");
    ck_assert_int_eq(scalar(&c, "SELECT v FROM txo"), 0);
    ck_assert_int_eq(loom_pg_exec(&other, NULL, "UPDATE txo SET v = 5"), 1);
    ck_assert_int_eq(scalar(&c, "SELECT v FROM txo"), 0);
    ck_assert_int_eq(loom_pg_commit(&c), 0);
    ck_assert_int_eq(scalar(&c, "SELECT v FROM txo"), 5);

    /* SERIALIZABLE: a concurrent update of the same row fails with 40001 */
    o = (struct loom_pg_txn_options){LOOM_PG_SERIALIZABLE, false, false};
    ck_assert_int_eq(loom_pg_begin_with(&c, &o), 0);
    ck_assert_int_eq(scalar(&c, "SELECT v FROM txo"), 5);
    ck_assert_int_eq(loom_pg_exec(&other, NULL, "UPDATE txo SET v = 6"), 1);
    ck_assert_int_eq(loom_pg_exec(&c, NULL, "UPDATE txo SET v = v + 1"), LOOM_EPG);
    ck_assert_str_eq(loom_pg_sqlstate(&c), "40001");
    ck_assert_int_eq(loom_pg_rollback(&c), 0);
    /* the block form */
    ck_assert_int_eq(loom_pg_transaction_with(&c, &o, bump, NULL), 0);
    ck_assert_int_eq(scalar(&c, "SELECT v FROM txo"), 7);
    ck_assert_int_ge(loom_pg_exec(&c, NULL, "DROP TABLE txo"), 0);
    loom_pg_close(&c);
    loom_pg_close(&other);
    return 0;
}

START_TEST(txn_options) { ck_assert_int_eq(test_run_task(txn_options_main, NULL), 0); }
END_TEST

/* --- pool options: init and setup hooks, max_queries, max_idle_ns --- */

struct hooks {
    int calls;
    int fail_at; /* fail this call (1-based) with -EIO, 0: never */
};

static int init_hook(struct loom_pg *c, void *arg)
{
    struct hooks *h = arg;
    if (++h->calls == h->fail_at)
        return -EIO;
    ssize_t rc = loom_pg_exec(c, NULL, "SET application_name = 'inited'");
    return rc < 0 ? (int)rc : 0;
}

/* Options for a pool of 1 to max connections with these hooks (may be NULL). */
static struct loom_pg_pool_options pool_opts(int max, int (*init)(struct loom_pg *, void *),
                                             int (*setup)(struct loom_pg *, void *),
                                             struct hooks *h)
{
    struct loom_pg_pool_options o = {.conninfo = getenv("LOOM_PG_DSN"),
                                     .min_size = 1,
                                     .max_size = max,
                                     .init = init,
                                     .setup = setup,
                                     .hook_arg = h};
    return o;
}

static long inited(struct loom_pg *c)
{
    return scalar(c, "SELECT (current_setting('application_name') = 'inited')::int");
}

static intptr_t init_main(void *arg)
{
    (void)arg;
    struct hooks h = {0};
    struct loom_pg_pool p;
    struct loom_pg_pool_options o = pool_opts(2, init_hook, NULL, &h);
    o.reset_sql = ""; /* the default's RESET ALL would undo init's SET */
    ck_assert_int_eq(loom_pg_pool_open(&p, &o), 0);
    ck_assert_int_eq(h.calls, 1);
    struct loom_pg *a, *b;
    ck_assert_int_eq(loom_pg_pool_acquire(&p, &a, LOOM_SEC(5)), 0);
    ck_assert_int_eq(loom_pg_pool_acquire(&p, &b, LOOM_SEC(5)), 0); /* a new connection */
    ck_assert_int_eq(h.calls, 2);
    ck_assert_int_eq(inited(a), 1);
    ck_assert_int_eq(inited(b), 1);
    loom_pg_pool_release(&p, a);
    loom_pg_pool_release(&p, b);
    ck_assert_int_eq(loom_pg_pool_acquire(&p, &a, LOOM_SEC(5)), 0);
    ck_assert_int_eq(inited(a), 1);
    loom_pg_pool_release(&p, a);
    /* pipelined pool queries run on initialised connections too */
    struct loom_pg_result r = {0};
    ck_assert_int_eq(
        loom_pg_pool_query(&p, &r, NULL, "SELECT current_setting('application_name')", 0, NULL), 1);
    ck_assert_str_eq(loom_pg_text(&r, 0, 0), "inited");
    loom_pg_result_clear(&r);
    ck_assert_int_eq(h.calls, 2); /* once per connection */
    ck_assert_int_eq(loom_pg_pool_close(&p, LOOM_SEC(5)), 0);
    return 0;
}
START_TEST(pool_init) { ck_assert_int_eq(test_run_task(init_main, NULL), 0); }
END_TEST

static intptr_t init_fail_main(void *arg)
{
    (void)arg;
    struct hooks h = {.fail_at = 2};
    struct loom_pg_pool p;
    struct loom_pg_pool_options o = pool_opts(2, init_hook, NULL, &h);
    ck_assert_int_eq(loom_pg_pool_open(&p, &o), 0);
    struct loom_pg *a, *b;
    ck_assert_int_eq(loom_pg_pool_acquire(&p, &a, LOOM_SEC(5)), 0);
    ck_assert_int_eq(loom_pg_pool_acquire(&p, &b, LOOM_SEC(5)), -EIO); /* the second connection */
    ck_assert_int_eq(loom_pg_pool_size(&p), 1);                        /* it was closed */
    ck_assert_msg(strncmp(loom_pg_pool_errmsg(&p), "init: ", 6) == 0, "errmsg: %s",
                  loom_pg_pool_errmsg(&p));
    ck_assert_int_eq(loom_pg_pool_acquire(&p, &b, LOOM_SEC(5)), 0); /* the next one succeeds */
    ck_assert_int_eq(inited(b), 1);
    loom_pg_pool_release(&p, a);
    loom_pg_pool_release(&p, b);
    ck_assert_int_eq(loom_pg_pool_close(&p, LOOM_SEC(5)), 0);
    /* a failing init fails the pool's open as a connect would */
    h = (struct hooks){.fail_at = 1};
    ck_assert_int_eq(loom_pg_pool_open(&p, &o), -EIO);
    return 0;
}
START_TEST(pool_init_fail) { ck_assert_int_eq(test_run_task(init_fail_main, NULL), 0); }
END_TEST

static int setup_hook(struct loom_pg *c, void *arg)
{
    struct hooks *h = arg;
    if (++h->calls == h->fail_at) {
        ck_assert_int_ge(loom_pg_exec(c, NULL, "SET application_name = 'dirty'"), 0);
        return -EIO;
    }
    return loom_pg_query(c, NULL, "SELECT 1", 0, NULL) == 1 ? 0 : -EPROTO;
}

static intptr_t setup_main(void *arg)
{
    (void)arg;
    struct hooks h = {0};
    struct loom_pg_pool p;
    struct loom_pg_pool_options o = pool_opts(1, NULL, setup_hook, &h);
    ck_assert_int_eq(loom_pg_pool_open(&p, &o), 0);
    ck_assert_int_eq(h.calls, 0);
    for (int i = 1; i <= 3; i++) {
        struct loom_pg *c;
        ck_assert_int_eq(loom_pg_pool_acquire(&p, &c, LOOM_SEC(5)), 0);
        ck_assert_int_eq(h.calls, i);
        loom_pg_pool_release(&p, c);
    }
    /* pipelined pool queries do not acquire: no setup */
    ck_assert_int_eq(loom_pg_pool_query(&p, NULL, NULL, "SELECT 1", 0, NULL), 1);
    ck_assert_int_eq(h.calls, 3);
    ck_assert_int_eq(loom_pg_pool_close(&p, LOOM_SEC(5)), 0);
    return 0;
}
START_TEST(pool_setup) { ck_assert_int_eq(test_run_task(setup_main, NULL), 0); }
END_TEST

static intptr_t setup_fail_main(void *arg)
{
    (void)arg;
    struct hooks h = {.fail_at = 2};
    struct loom_pg_pool p;
    struct loom_pg_pool_options o = pool_opts(1, NULL, setup_hook, &h);
    ck_assert_int_eq(loom_pg_pool_open(&p, &o), 0);
    struct loom_pg *c;
    ck_assert_int_eq(loom_pg_pool_acquire(&p, &c, LOOM_SEC(5)), 0);
    int pid = loom_pg_backend_pid(c);
    loom_pg_pool_release(&p, c);
    ck_assert_int_eq(loom_pg_pool_acquire(&p, &c, LOOM_SEC(5)), -EIO);
    ck_assert_int_eq(loom_pg_pool_in_use(&p), 0); /* it went back */
    ck_assert_int_eq(loom_pg_pool_size(&p), 1);
    ck_assert_int_eq(loom_pg_pool_acquire(&p, &c, LOOM_SEC(5)), 0);
    ck_assert_int_eq(loom_pg_backend_pid(c), pid); /* kept, and reset */
    ck_assert_int_eq(scalar(c, "SELECT (current_setting('application_name') = 'dirty')::int"), 0);
    loom_pg_pool_release(&p, c);
    ck_assert_int_eq(loom_pg_pool_close(&p, LOOM_SEC(5)), 0);
    return 0;
}
START_TEST(pool_setup_fail) { ck_assert_int_eq(test_run_task(setup_fail_main, NULL), 0); }
END_TEST

/* Acquire, note the backend's pid, release. */
static int use_once(struct loom_pg_pool *p)
{
    struct loom_pg *c;
    ck_assert_int_eq(loom_pg_pool_acquire(p, &c, LOOM_SEC(5)), 0);
    int pid = loom_pg_backend_pid(c);
    select1(c);
    loom_pg_pool_release(p, c);
    return pid;
}

static intptr_t max_queries_main(void *arg)
{
    (void)arg;
    struct loom_pg_pool p;
    struct loom_pg_pool_options o = pool_opts(1, NULL, NULL, NULL);
    o.max_queries = 2;
    ck_assert_int_eq(loom_pg_pool_open(&p, &o), 0);
    int pid = use_once(&p);
    ck_assert_int_eq(use_once(&p), pid);
    int pid3 = use_once(&p);
    ck_assert_int_ne(pid3, pid); /* the first served 2 acquires: closed */
    ck_assert_int_eq(use_once(&p), pid3);
    ck_assert_int_eq(loom_pg_pool_close(&p, LOOM_SEC(5)), 0);
    return 0;
}
START_TEST(pool_max_queries) { ck_assert_int_eq(test_run_task(max_queries_main, NULL), 0); }
END_TEST

static intptr_t max_idle_main(void *arg)
{
    (void)arg;
    struct loom_pg_pool p;
    struct loom_pg_pool_options o = pool_opts(1, NULL, NULL, NULL);
    o.max_idle_ns = LOOM_MS(50);
    ck_assert_int_eq(loom_pg_pool_open(&p, &o), 0);
    int pid = use_once(&p);
    ck_assert_int_eq(use_once(&p), pid); /* idle for less than 50 ms: kept */
    ck_assert_int_eq(loom_sleep(LOOM_MS(100)), 0);
    ck_assert_int_ne(use_once(&p), pid); /* idle for 100 ms: closed */
    ck_assert_int_eq(loom_pg_pool_close(&p, LOOM_SEC(5)), 0);
    return 0;
}
START_TEST(pool_max_idle) { ck_assert_int_eq(test_run_task(max_idle_main, NULL), 0); }
END_TEST

int main(void)
{
    const struct test_pg_case cases[] = {
        {"copy_out", copy_out, 60},
        {"copy_refused", copy_refused, 60},
        {"notices", notices, 60},
        {"pool_reset", pool_reset, 60},
        {"txn_options", txn_options, 60},
        {"pool_init", pool_init, 60},
        {"pool_init_fail", pool_init_fail, 60},
        {"pool_setup", pool_setup, 60},
        {"pool_setup_fail", pool_setup_fail, 60},
        {"pool_max_queries", pool_max_queries, 60},
        {"pool_max_idle", pool_max_idle, 60},
    };
    return test_pg_main("pg_session", cases, sizeof cases / sizeof cases[0]);
}
