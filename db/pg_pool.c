/* pg_pool.c - a connection pool.
 *
 * Connections are malloc'd and counted in _total from the moment a connect
 * starts. Waiting acquirers queue FIFO; a release hands the connection
 * straight to the first waiter (recording it in the wait record, since a
 * cancellation can race the wake: the waiter then hands it back). When a
 * connection is discarded, the freed slot is offered the same way.
 *
 * Release never suspends: an open transaction is ended by sending ROLLBACK
 * at once (so the server drops its locks now) and whoever acquires the
 * connection next reads that ROLLBACK's result. Idle connections are checked
 * with a zero-timeout poll() on acquire: a server restart leaves them
 * readable (EOF), so they are dropped and replaced without a failed query.
 *
 * Options: init runs inside new_conn (every path that opens a connection),
 * setup at the end of a user's acquire; max_queries is checked when a
 * connection comes back, max_idle_ns by sweeping the idle list's old end
 * (LIFO: the oldest are last) at acquire and release, no timer. */
#include "db/pg_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reactor/park.h"

/* An acquirer's wait record: code GOT_CONN with the connection in granted, or
 * GOT_SLOT (a slot freed: try again), or -ESHUTDOWN (the pool closes). */
struct waiter {
    struct loom_waiter w;
    struct loom_pg *granted;
};

enum { GOT_CONN = 1, GOT_SLOT = 2 };

static void discard(struct loom_pg_pool *p, struct loom_pg *c);
static void refill_start(struct loom_pg_pool *p);

/* Offer a freed slot to the first waiter. */
static void offer_slot(struct loom_pg_pool *p) { loom_waiter_grant(&p->_waiters, GOT_SLOT); }

static void closer_check(struct loom_pg_pool *p)
{
    if (p->_closing && p->_in_use == 0 && p->_closer)
        loom_wake(p->_closer, 0);
}

/* Free c (nobody uses it: pool connections are freed only here, when their
 * last user let go, see pg_pipe.c) and reopen up to min_size in the background. */
static void discard(struct loom_pg_pool *p, struct loom_pg *c)
{
    loom_pg_close(c);
    free(c);
    p->_total--;
    offer_slot(p);
    refill_start(p);
}

static int new_conn(struct loom_pg_pool *p, struct loom_pg **out, int64_t deadline)
{
    struct loom_pg *c = malloc(sizeof *c);
    if (!c)
        return -ENOMEM;
    int64_t timeout = p->_connect_timeout;
    if (deadline >= 0) {
        int64_t left = deadline - loom_loop_now(loom_loop_current());
        if (left < timeout)
            timeout = left > 0 ? left : 0;
    }
    int rc = loom_pg_connect(c, p->_conninfo, timeout);
    if (rc < 0) {
        snprintf(p->_errmsg, sizeof p->_errmsg, "%s", loom_pg_errmsg(c));
        free(c);
        return rc;
    }
    c->_pool = p;
    c->_uses = 0;
    if (p->_init && (rc = p->_init(c, p->_hook_arg)) < 0) {
        snprintf(p->_errmsg, sizeof p->_errmsg, "init: %s",
                 loom_pg_errmsg(c)[0] ? loom_pg_errmsg(c) : loom_strerror(rc));
        loom_pg_close(c);
        free(c);
        return rc;
    }
    p->_errmsg[0] = 0;
    *out = c;
    return 0;
}

/* Close the idle connections unused for longer than max_idle_ns. */
static void sweep_idle(struct loom_pg_pool *p)
{
    if (p->_max_idle <= 0)
        return;
    int64_t now = loom_loop_now(p->_loop);
    while (!loom_list_empty(&p->_idle)) {
        struct loom_pg *c = loom_list_entry(p->_idle.prev, struct loom_pg, _pool_node);
        if (now - c->_idle_since <= p->_max_idle)
            break;
        loom_list_remove(&c->_pool_node);
        discard(p, c);
    }
}

/* Make an idle connection ready for a new user: finish its reset, check it
 * is alive. 1 ready, 0 dropped (broken), -ECANCELED. Suspends only to finish
 * a reset. */
static int make_ready(struct loom_pg *c)
{
    if (c->_reset_pending) {
        c->_reset_pending = false;
        if (loom__pg_drain(c) == -ECANCELED)
            return -ECANCELED;
    } else {
        /* a dead server leaves the idle socket readable: a last notice, then EOF */
        for (int i = 0; i < 4 && c->_pg; i++) {
            struct pollfd pfd = {PQsocket(c->_pg), POLLIN, 0};
            if (poll(&pfd, 1, 0) <= 0)
                break;
            if (!PQconsumeInput(c->_pg))
                loom__pg_conn_error(c);
        }
    }
    if (c->_pg && PQstatus(c->_pg) == CONNECTION_BAD)
        loom__pg_conn_error(c);
    return c->_pg && PQtransactionStatus(c->_pg) == PQTRANS_IDLE;
}

/* The wait record lives on the waiting task's stack and is unlinked before
 * return; GCC 12+ cannot see that and warns. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif

/* Wait for a release or a freed slot. 1: got *out, 0: try again, <0 error. */
static int wait_turn(struct loom_pg_pool *p, struct loom_pg **out, int64_t deadline)
{
    struct waiter w = {.granted = NULL};
    int rc = loom_waiter_park(&p->_waiters, &w.w, deadline);
    if (w.w.code == GOT_CONN && rc < 0) {
        p->_in_use++;
        loom_pg_pool_release(p, w.granted); /* cancelled as it was handed over */
    } else if (w.w.code == GOT_CONN) {
        *out = w.granted;
        return 1;
    } else if (w.w.code == GOT_SLOT && rc < 0) {
        offer_slot(p);
    }
    return loom_waiter_result(rc, &w.w);
}

int loom__pg_pool_take(struct loom_pg_pool *p, struct loom_pg **out, int64_t timeout_ns)
{
    if (!loom_task_current())
        return -EPERM;
    int64_t deadline = loom_deadline(loom_loop_current(), timeout_ns);
    for (;;) {
        if (p->_closing)
            return -ESHUTDOWN;
        sweep_idle(p);
        struct loom_pg *c = NULL;
        struct loom_list *n = loom_list_pop_front(&p->_idle);
        int rc = 0;
        if (n) {
            c = loom_list_entry(n, struct loom_pg, _pool_node);
        } else if (p->_total < p->_max) {
            p->_total++;
            p->_in_use++;
            rc = new_conn(p, &c, deadline);
            p->_in_use--;
            if (rc < 0) {
                p->_total--;
                offer_slot(p);
                closer_check(p);
                return rc;
            }
        } else if ((rc = wait_turn(p, &c, deadline)) <= 0) {
            if (rc < 0)
                return rc;
            continue;
        }
        p->_in_use++;
        if ((rc = make_ready(c)) == 1) {
            *out = c;
            return 0;
        }
        p->_in_use--;
        discard(p, c);
        closer_check(p);
        if (rc < 0)
            return rc;
    }
}

int loom_pg_pool_acquire(struct loom_pg_pool *p, struct loom_pg **out, int64_t timeout_ns)
{
    struct loom_pg *c;
    int rc = loom__pg_pool_take(p, &c, timeout_ns);
    if (rc < 0)
        return rc;
    c->_uses++;
    if (p->_setup && (rc = p->_setup(c, p->_hook_arg)) < 0) {
        loom_pg_pool_release(p, c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Start ending an open transaction and resetting the session without
 * waiting; false if c is unusable. */
static bool start_reset(struct loom_pg_pool *p, struct loom_pg *c, bool reset)
{
    if (!c->_pg || c->_busy)
        return false;
    c->_depth = 0;
    PGTransactionStatusType ts = PQtransactionStatus(c->_pg);
    const char *sql = "ROLLBACK";
    if (ts == PQTRANS_IDLE && !(reset && p->_reset && p->_reset[p->_reset_at]))
        return true;
    if (ts == PQTRANS_IDLE)
        sql = p->_reset + p->_reset_at;
    else if (ts != PQTRANS_INTRANS && ts != PQTRANS_INERROR)
        return false;
    else if (reset && p->_reset)
        sql = p->_reset;
    if (!PQsendQuery(c->_pg, sql) || PQflush(c->_pg) < 0)
        return false;
    c->_reset_pending = true;
    return true;
}

void loom_pg_pool_release(struct loom_pg_pool *p, struct loom_pg *c)
{
    loom__pg_pool_give(p, c, true);
}

void loom__pg_pool_give(struct loom_pg_pool *p, struct loom_pg *c, bool reset)
{
    p->_in_use--;
    c->_notify_cb = NULL; /* the next user's callbacks are its own */
    c->_term_cb = NULL;
    c->_term_pending = false;
    loom_pg_set_notice_cb(c, NULL, NULL);
    loom__pg_idle_watch(c);
    bool spent = p->_max_queries > 0 && c->_uses >= p->_max_queries;
    if (p->_closing || spent || !start_reset(p, c, reset)) {
        discard(p, c);
        closer_check(p);
        return;
    }
    struct loom_waiter *lw = loom_waiter_grant(&p->_waiters, GOT_CONN);
    if (lw) {
        loom_list_entry(lw, struct waiter, w)->granted = c;
        return;
    }
    c->_idle_since = loom_loop_now(p->_loop);
    loom_list_push_front(&p->_idle, &c->_pool_node); /* LIFO: warm connections first */
    sweep_idle(p);
}

/* --- background refill: after connections were lost (a server restart),
 * reopen up to min_size so the next users find them ready. While the server
 * is down, retry with a backoff doubling from 20 ms to at most 250 ms, so the
 * pool is full again soon after the server is back. --- */

static intptr_t refill_main(void *arg)
{
    struct loom_pg_pool *p = arg;
    int64_t backoff = LOOM_MS(20);
    int rc = 0;
    while (!p->_closing && p->_total < p->_min && rc != -ECANCELED) {
        struct loom_pg *c;
        p->_total++;
        rc = new_conn(p, &c, -1); /* pool close cancels it (refill_stop) */
        if (rc < 0) {
            p->_total--;
            offer_slot(p);
            if (rc != -ECANCELED)
                rc = loom_sleep(backoff);
            backoff = backoff * 2 > LOOM_MS(250) ? LOOM_MS(250) : backoff * 2;
            continue;
        }
        backoff = LOOM_MS(20);
        p->_in_use++;
        loom__pg_pool_give(p, c, false); /* fresh: to a waiter or the idle list (or closed) */
    }
    return 0;
}

/* The pool keeps the refiller's handle: pool close cancels it and waits for
 * it (a task cancelled before it ran never runs, so only the handle tells). */
static void refill_start(struct loom_pg_pool *p)
{
    if (p->_closing || !p->_loop || p->_total >= p->_min)
        return;
    if (p->_refiller) {
        if (!loom_task_done(p->_refiller))
            return;
        loom_task_release(p->_refiller);
        p->_refiller = NULL;
    }
    struct loom_task_options o = {.name = "pg-pool-refill"};
    if (loom_task_spawn(p->_loop, refill_main, p, &o, &p->_refiller) < 0)
        p->_refiller = NULL; /* acquirers still connect on demand */
}

/* Cancel the refiller and wait for it (deadline); 0 once it is gone. */
static int refill_stop(struct loom_pg_pool *p, struct loom_task *self, int64_t deadline)
{
    if (!p->_refiller)
        return 0;
    loom_task_cancel(p->_refiller);
    if (!loom_task_done(p->_refiller)) {
        if (!self)
            return -ETIMEDOUT;
        int rc = loom_park_until_done(self, p->_refiller, deadline);
        if (rc < 0)
            return rc;
    }
    loom_task_release(p->_refiller);
    p->_refiller = NULL;
    return 0;
}

int loom_pg_pool_open(struct loom_pg_pool *p, const struct loom_pg_pool_options *opt)
{
    memset(p, 0, sizeof *p);
    loom_list_init(&p->_idle);
    loom_list_init(&p->_waiters);
    loom_list_init(&p->_shared);
    p->_max = opt->max_size > 0 ? opt->max_size : 10;
    p->_min = opt->min_size > 0 ? opt->min_size : 1;
    if (p->_min > p->_max)
        p->_min = p->_max;
    p->_connect_timeout = opt->connect_timeout_ns > 0 ? opt->connect_timeout_ns : LOOM_SEC(10);
    p->_init = opt->init;
    p->_setup = opt->setup;
    p->_hook_arg = opt->hook_arg;
    p->_max_queries = opt->max_queries > 0 ? opt->max_queries : 0;
    p->_max_idle = opt->max_idle_ns > 0 ? opt->max_idle_ns : 0;
    if (!loom_task_current())
        return -EPERM;
    p->_loop = loom_loop_current();
    if (!(p->_conninfo = strdup(opt->conninfo ? opt->conninfo : "")))
        return -ENOMEM;
    const char *reset = opt->reset_sql ? opt->reset_sql : LOOM_PG_RESET_DEFAULT;
    size_t rlen = strlen(reset);
    p->_reset_at = (int)strlen("ROLLBACK; ");
    if (rlen == 0) {
        p->_reset = NULL;
    } else if (!(p->_reset = malloc((size_t)p->_reset_at + rlen + 1))) {
        free(p->_conninfo);
        p->_conninfo = NULL;
        return -ENOMEM;
    } else {
        memcpy(p->_reset, "ROLLBACK; ", (size_t)p->_reset_at);
        memcpy(p->_reset + p->_reset_at, reset, rlen + 1);
    }
    for (int i = 0; i < p->_min; i++) {
        struct loom_pg *c;
        int rc = new_conn(p, &c, -1);
        if (rc < 0) {
            p->_closing = true;
            loom_pg_pool_close(p, 0);
            return rc;
        }
        p->_total++;
        c->_idle_since = loom_loop_now(p->_loop);
        loom_list_push_back(&p->_idle, &c->_pool_node);
    }
    return 0;
}

int loom_pg_pool_close(struct loom_pg_pool *p, int64_t timeout_ns)
{
    p->_closing = true;
    loom_waiter_fail_all(&p->_waiters, -ESHUTDOWN);
    struct loom_list *n;
    while ((n = loom_list_pop_front(&p->_idle)))
        discard(p, loom_list_entry(n, struct loom_pg, _pool_node));
    struct loom_task *t = loom_task_current();
    int64_t deadline = t ? loom_deadline(loom_loop_current(), timeout_ns) : 0;
    int rc = refill_stop(p, t, deadline);
    if (rc < 0)
        return rc;
    while (p->_in_use > 0 && t) {
        p->_closer = t;
        rc = loom_park(t, deadline);
        p->_closer = NULL;
        if (rc < 0 && p->_in_use > 0)
            return rc;
    }
    if (p->_in_use > 0)
        return -ETIMEDOUT;
    free(p->_conninfo);
    p->_conninfo = NULL;
    free(p->_reset);
    p->_reset = NULL;
    return 0;
}

const char *loom_pg_pool_errmsg(const struct loom_pg_pool *p) { return p->_errmsg; }
int loom_pg_pool_size(const struct loom_pg_pool *p) { return p->_total; }
int loom_pg_pool_in_use(const struct loom_pg_pool *p) { return p->_in_use; }
