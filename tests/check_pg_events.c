/* check_pg_events.c - what the server says unasked: notifications to a
 * callback (idle or inside calls), UNLISTEN, the termination callback, and
 * RAISE NOTICE delivered in every call path. On the harness's cluster. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/pg.h"
#include "harness/harness.h"
#include "harness/pg.h"
#include "harness/pgconn.h"
#include "reactor/task.h"

static const char *dsn(void) { return getenv("LOOM_PG_DSN"); }

/* Wait (bounded) until *counter reaches n: events come from the loop. */
static void wait_count(const int *counter, int n, const char *what)
{
    double t0 = test_now();
    while (*counter < n && test_now() - t0 < 5.0)
        loom_sleep(LOOM_MS(5));
    ck_assert_msg(*counter >= n, "%s: %d of %d after 5 s", what, *counter, n);
}

/* --- notifications to a callback --- */

struct heard {
    int n;
    char channel[64], payload[64];
    int pid;
};

static void on_notify(void *arg, const char *channel, const char *payload, int pid)
{
    struct heard *h = arg;
    h->n++;
    snprintf(h->channel, sizeof h->channel, "%s", channel);
    snprintf(h->payload, sizeof h->payload, "%s", payload);
    h->pid = pid;
}

static intptr_t notify_cb_main(void *arg)
{
    struct loom_pg c, other;
    test_pg_connect_ok(&c);
    test_pg_connect_ok(&other);
    struct heard h = {0};
    ck_assert_int_eq(loom_pg_listen(&c, "Ch one"), 0);
    loom_pg_set_notify_cb(&c, on_notify, &h);
    /* idle: nobody calls into c, the loop delivers */
    test_pg_exec_ok(&other, "NOTIFY \"Ch one\", 'first'");
    wait_count(&h.n, 1, "idle notification");
    ck_assert_str_eq(h.channel, "Ch one");
    ck_assert_str_eq(h.payload, "first");
    ck_assert_int_eq(h.pid, loom_pg_backend_pid(&other));
    test_pg_exec_ok(&other, "NOTIFY \"Ch one\", 'second'");
    wait_count(&h.n, 2, "second idle notification");
    ck_assert_str_eq(h.payload, "second");
    /* inside a call: our own NOTIFY comes back before the call returns */
    test_pg_exec_ok(&c, "NOTIFY \"Ch one\", 'self'");
    ck_assert_int_eq(h.n, 3);
    ck_assert_str_eq(h.payload, "self");
    /* the pull API is for connections without a callback */
    struct loom_pg_notify nt;
    ck_assert_int_eq(loom_pg_notify_wait(&c, &nt, 0), -EINVAL);
    /* UNLISTEN one channel: nothing more from it (a later one on another
     * channel proves the earlier one was not held back) */
    ck_assert_int_eq(loom_pg_unlisten(&c, "Ch one"), 0);
    ck_assert_int_eq(loom_pg_listen(&c, "two"), 0);
    test_pg_exec_ok(&other, "NOTIFY \"Ch one\", 'unheard'; NOTIFY two, 'heard'");
    wait_count(&h.n, 4, "after unlisten");
    ck_assert_str_eq(h.channel, "two");
    ck_assert_int_eq(h.n, 4);
    /* UNLISTEN *: the same */
    ck_assert_int_eq(loom_pg_unlisten(&c, NULL), 0);
    ck_assert_int_eq(loom_pg_listen(&c, "three"), 0);
    test_pg_exec_ok(&other, "NOTIFY two, 'unheard'; NOTIFY three, 'x'");
    wait_count(&h.n, 5, "after unlisten *");
    ck_assert_str_eq(h.channel, "three");
    /* back to pulling */
    loom_pg_set_notify_cb(&c, NULL, NULL);
    test_pg_exec_ok(&other, "NOTIFY three, 'pulled'");
    ck_assert_int_eq(loom_pg_notify_wait(&c, &nt, LOOM_SEC(5)), 0);
    ck_assert_str_eq(nt.payload, "pulled");
    loom_pg_notify_clear(&nt);
    ck_assert_int_eq(h.n, 5);
    loom_pg_close(&c);
    loom_pg_close(&other);
    return 0;
}

START_TEST(notify_cb) { ck_assert_int_eq(test_run_task(notify_cb_main, NULL), 0); }
END_TEST

/* --- termination --- */

struct ended {
    int n;
    struct loom_pg *c;
    char why[256];
};

static void on_term(void *arg, struct loom_pg *c, const char *why)
{
    struct ended *e = arg;
    e->n++;
    e->c = c;
    snprintf(e->why, sizeof e->why, "%s", why);
}

static void terminate(struct loom_pg *mon, struct loom_pg *c)
{
    char pid[16];
    snprintf(pid, sizeof pid, "%d", loom_pg_backend_pid(c));
    ck_assert_int_eq(
        loom_pg_query(mon, NULL, "SELECT pg_terminate_backend($1::int)", 1, (const char *[]){pid}),
        1);
}

static intptr_t sleep_task(void *arg) { return loom_pg_exec(arg, NULL, "SELECT pg_sleep(5)"); }

static intptr_t term_cb_main(void *arg)
{
    struct loom_pg c, mon;
    test_pg_connect_ok(&c);
    test_pg_connect_ok(&mon);
    struct ended e = {0};
    /* idle: the loop notices and says why */
    loom_pg_set_term_cb(&c, on_term, &e);
    terminate(&mon, &c);
    wait_count(&e.n, 1, "termination while idle");
    ck_assert_ptr_eq(e.c, &c);
    ck_assert_msg(strstr(e.why, "administrator command"), "why: %s", e.why);
    ck_assert(loom_pg_broken(&c));
    ck_assert_int_eq(loom_pg_exec(&c, NULL, "SELECT 1"), -ECONNRESET);
    ck_assert_int_eq(e.n, 1); /* once */
    loom_pg_close(&c);

    /* during a call */
    test_pg_connect_ok(&c);
    memset(&e, 0, sizeof e);
    loom_pg_set_term_cb(&c, on_term, &e);
    struct loom_task *t = loom_spawn(sleep_task, &c, "sleeper");
    loom_sleep(LOOM_MS(200));
    terminate(&mon, &c);
    ck_assert_int_eq(loom_task_join(t), -ECONNRESET);
    ck_assert_int_eq(e.n, 1);
    ck_assert_msg(strstr(e.why, "administrator command"), "why: %s", e.why);
    loom_pg_close(&c);

    /* closing is not a loss */
    test_pg_connect_ok(&c);
    memset(&e, 0, sizeof e);
    loom_pg_set_term_cb(&c, on_term, &e);
    loom_pg_close(&c);
    ck_assert_int_eq(e.n, 0);
    loom_pg_close(&mon);
    return 0;
}

START_TEST(term_cb) { ck_assert_int_eq(test_run_task(term_cb_main, NULL), 0); }
END_TEST

/* --- RAISE NOTICE on every path --- */

struct noticed {
    int n;
    char msg[128], severity[16];
};

static void on_notice(void *arg, const struct loom_pg_notice *n)
{
    struct noticed *d = arg;
    d->n++;
    snprintf(d->msg, sizeof d->msg, "%s", n->message);
    snprintf(d->severity, sizeof d->severity, "%s", n->severity);
}

static int one_row(void *arg, size_t i, const char **params)
{
    params[0] = "1";
    return 0;
}

static ssize_t one_line(void *arg, char *buf, size_t cap)
{
    int *left = arg;
    if (*left == 0)
        return 0;
    (*left)--;
    return snprintf(buf, cap, "5\n");
}

static int sink(void *arg, const char *data, size_t len) { return 0; }

#define NOISY "pg_temp.noisy()"

static void heard_notice(struct noticed *d, int before, const char *path)
{
    ck_assert_msg(d->n > before, "%s: no notice", path);
    ck_assert_str_eq(d->msg, "hi 1");
    ck_assert_str_eq(d->severity, "NOTICE");
}

static intptr_t notices_main(void *arg)
{
    struct loom_pg c;
    test_pg_connect_ok(&c);
    struct noticed d = {0};
    loom_pg_set_notice_cb(&c, on_notice, &d);
    test_pg_exec_ok(&c, "CREATE FUNCTION pg_temp.noisy() RETURNS int LANGUAGE plpgsql AS "
                        "$$BEGIN RAISE NOTICE 'hi %', 1; RETURN 1; END$$;"
                        "CREATE TEMP TABLE noisy_t(a int, b int DEFAULT " NOISY ")");
    int k = d.n;
    test_pg_exec_ok(&c, "SELECT " NOISY);
    heard_notice(&d, k, "exec");
    k = d.n;
    ck_assert_int_eq(
        loom_pg_query(&c, NULL, "SELECT " NOISY " + $1::int", 1, (const char *[]){"1"}), 1);
    heard_notice(&d, k, "query");
    k = d.n;
    ck_assert_int_eq(loom_pg_query_once(&c, NULL, "SELECT " NOISY, 0, NULL), 1);
    heard_notice(&d, k, "query_once");
    k = d.n;
    struct loom_pg_param p = loom_pg_p_int4(2);
    ck_assert_int_eq(loom_pg_query_typed(&c, NULL, "SELECT " NOISY " + $1", 1, &p, 0), 1);
    heard_notice(&d, k, "query_typed");
    k = d.n;
    ck_assert_int_eq(loom_pg_prepare(&c, "nz", "SELECT " NOISY, 0), 0);
    ck_assert_int_eq(loom_pg_exec_prepared(&c, NULL, "nz", 0, NULL), 1);
    heard_notice(&d, k, "exec_prepared");
    k = d.n;
    struct loom_pg_stream st;
    ck_assert_int_eq(
        loom_pg_stream_open(&c, &st, "SELECT " NOISY " FROM generate_series(1, 3)", 0, NULL), 0);
    while (loom_pg_stream_next(&st) == 1)
        ;
    ck_assert_int_eq(loom_pg_stream_close(&st), 0);
    ck_assert_int_eq(d.n - k, 3);
    heard_notice(&d, k, "stream");
    k = d.n;
    ck_assert_int_eq(loom_pg_begin(&c), 0);
    struct loom_pg_cursor cur;
    ck_assert_int_eq(loom_pg_cursor_open(&c, &cur, "SELECT " NOISY, 0, NULL, 10), 0);
    ck_assert_int_eq(loom_pg_cursor_next(&cur), 1);
    ck_assert_int_eq(loom_pg_cursor_close(&cur), 0);
    ck_assert_int_eq(loom_pg_commit(&c), 0);
    heard_notice(&d, k, "cursor");
    k = d.n;
    ck_assert_int_eq(loom_pg_executemany(&c, "SELECT " NOISY " + $1::int", 1, 4, one_row, NULL), 4);
    ck_assert_int_eq(d.n - k, 4);
    heard_notice(&d, k, "executemany");
    k = d.n;
    int left = 2;
    ck_assert_int_eq(loom_pg_copy_in(&c, "COPY noisy_t(a) FROM STDIN", one_line, &left), 2);
    heard_notice(&d, k, "copy_in");
    k = d.n;
    ck_assert_int_eq(loom_pg_copy_out(&c, "COPY (SELECT " NOISY ") TO STDOUT", sink, NULL), 1);
    heard_notice(&d, k, "copy_out");
    k = d.n;
    /* a notice from the server itself, not from plpgsql */
    test_pg_exec_ok(&c, "DROP TABLE IF EXISTS no_such_table_here");
    ck_assert_int_gt(d.n, k);
    ck_assert_msg(strstr(d.msg, "does not exist, skipping"), "msg %s", d.msg);
    loom_pg_close(&c);

    /* a pooled connection: the callback is the holder's, cleared on release */
    struct loom_pg_pool pool;
    struct loom_pg_pool_options o = {.conninfo = dsn(), .max_size = 1};
    ck_assert_int_eq(loom_pg_pool_open(&pool, &o), 0);
    struct loom_pg *pc;
    ck_assert_int_eq(loom_pg_pool_acquire(&pool, &pc, LOOM_SEC(5)), 0);
    loom_pg_set_notice_cb(pc, on_notice, &d);
    k = d.n;
    test_pg_exec_ok(pc, "DO $$BEGIN RAISE NOTICE 'hi %', 1; END$$");
    heard_notice(&d, k, "pooled connection");
    loom_pg_pool_release(&pool, pc);
    ck_assert_int_eq(loom_pg_pool_acquire(&pool, &pc, LOOM_SEC(5)), 0);
    k = d.n;
    test_pg_exec_ok(pc, "DO $$BEGIN RAISE NOTICE 'again'; END$$");
    ck_assert_int_eq(d.n, k); /* the next holder did not ask */
    loom_pg_pool_release(&pool, pc);
    ck_assert_int_eq(loom_pg_pool_close(&pool, LOOM_SEC(5)), 0);
    return 0;
}

START_TEST(notices) { ck_assert_int_eq(test_run_task(notices_main, NULL), 0); }
END_TEST

int main(void)
{
    const struct test_pg_case cases[] = {
        {"notify_cb", notify_cb, 20},
        {"term_cb", term_cb, 20},
        {"notices", notices, 20},
    };
    return test_pg_main("pg_events", cases, sizeof cases / sizeof cases[0]);
}
