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
 * readable (EOF), so they are dropped and replaced without a failed query. */
#include "db/pg_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reactor/park.h"

struct waiter {
    struct loom_list node;
    struct loom_task *task;
    struct loom_pg *granted; /* a connection handed over */
    bool slot;               /* a slot freed: try again */
};

static void discard(struct loom_pg_pool *p, struct loom_pg *c);

/* Offer a freed slot to the first waiter. */
static void offer_slot(struct loom_pg_pool *p)
{
    struct loom_list *n = loom_list_pop_front(&p->_waiters);
    if (!n)
        return;
    struct waiter *w = loom_list_entry(n, struct waiter, node);
    w->slot = true;
    loom_wake(w->task, 0);
}

static void discard(struct loom_pg_pool *p, struct loom_pg *c)
{
    loom_pg_close(c);
    free(c);
    p->_total--;
    offer_slot(p);
}

static void closer_check(struct loom_pg_pool *p)
{
    if (p->_closing && p->_in_use == 0 && p->_closer)
        loom_wake(p->_closer, 0);
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
    p->_errmsg[0] = 0;
    c->_pool = p;
    *out = c;
    return 0;
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

/* Wait for a release or a freed slot. 1: got *out, 0: try again, <0 error. */
static int wait_turn(struct loom_pg_pool *p, struct loom_pg **out, int64_t deadline)
{
    struct waiter w = {.task = loom_task_current()};
    loom_list_push_back(&p->_waiters, &w.node);
    int rc = loom_park(w.task, deadline);
    if (loom_list_linked(&w.node))
        loom_list_remove(&w.node);
    if (w.granted && rc < 0) {
        p->_in_use++;
        loom_pg_pool_release(p, w.granted); /* cancelled as it was handed over */
    } else if (w.granted) {
        *out = w.granted;
        return 1;
    } else if (w.slot && rc < 0) {
        offer_slot(p);
    }
    return rc;
}

int loom_pg_pool_acquire(struct loom_pg_pool *p, struct loom_pg **out, int64_t timeout_ns)
{
    if (!loom_task_current())
        return -EPERM;
    int64_t deadline = loom_deadline(loom_loop_current(), timeout_ns);
    for (;;) {
        if (p->_closing)
            return -ESHUTDOWN;
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

/* Start ending an open transaction without waiting; false if c is unusable. */
static bool start_reset(struct loom_pg *c)
{
    if (!c->_pg || c->_busy)
        return false;
    c->_depth = 0;
    PGTransactionStatusType ts = PQtransactionStatus(c->_pg);
    if (ts == PQTRANS_IDLE)
        return true;
    if (ts != PQTRANS_INTRANS && ts != PQTRANS_INERROR)
        return false;
    if (!PQsendQuery(c->_pg, "ROLLBACK") || PQflush(c->_pg) < 0)
        return false;
    c->_reset_pending = true;
    return true;
}

void loom_pg_pool_release(struct loom_pg_pool *p, struct loom_pg *c)
{
    p->_in_use--;
    if (p->_closing || !start_reset(c)) {
        discard(p, c);
        closer_check(p);
        return;
    }
    struct loom_list *n = loom_list_pop_front(&p->_waiters);
    if (n) {
        struct waiter *w = loom_list_entry(n, struct waiter, node);
        w->granted = c;
        loom_wake(w->task, 0);
        return;
    }
    loom_list_push_front(&p->_idle, &c->_pool_node); /* LIFO: warm connections first */
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
    if (!loom_task_current())
        return -EPERM;
    if (!(p->_conninfo = strdup(opt->conninfo ? opt->conninfo : "")))
        return -ENOMEM;
    for (int i = 0; i < p->_min; i++) {
        struct loom_pg *c;
        int rc = new_conn(p, &c, -1);
        if (rc < 0) {
            p->_closing = true;
            loom_pg_pool_close(p, 0);
            return rc;
        }
        p->_total++;
        loom_list_push_back(&p->_idle, &c->_pool_node);
    }
    return 0;
}

int loom_pg_pool_close(struct loom_pg_pool *p, int64_t timeout_ns)
{
    p->_closing = true;
    struct loom_list *n;
    while ((n = loom_list_pop_front(&p->_waiters)))
        loom_wake(loom_list_entry(n, struct waiter, node)->task, 0);
    while ((n = loom_list_pop_front(&p->_idle)))
        discard(p, loom_list_entry(n, struct loom_pg, _pool_node));
    struct loom_task *t = loom_task_current();
    int64_t deadline = t ? loom_deadline(loom_loop_current(), timeout_ns) : 0;
    while (p->_in_use > 0 && t) {
        p->_closer = t;
        int rc = loom_park(t, deadline);
        p->_closer = NULL;
        if (rc < 0 && p->_in_use > 0)
            return rc;
    }
    if (p->_in_use > 0)
        return -ETIMEDOUT;
    free(p->_conninfo);
    p->_conninfo = NULL;
    return 0;
}

const char *loom_pg_pool_errmsg(const struct loom_pg_pool *p) { return p->_errmsg; }
int loom_pg_pool_size(const struct loom_pg_pool *p) { return p->_total; }
int loom_pg_pool_in_use(const struct loom_pg_pool *p) { return p->_in_use; }
