/* pg_pipe.c - loom_pg_pool_query(): many tasks' statements pipelined on the
 * pool's connections.
 *
 * A shared connection sits in libpq pipeline mode with a FIFO of requests.
 * A caller sends its own commands at once ([Parse] Bind/Execute Sync) and
 * queues a request. No task is dedicated to reading: the caller whose
 * request is oldest reads results for everyone, hands each finished request
 * to its owner (wake), and when its own is done passes the reading on to the
 * owner of the next live request. A request whose owner was cancelled stays
 * queued (its commands are on the wire) and its result is dropped on
 * arrival. When the queue empties the connection leaves pipeline mode and
 * goes back to the pool. Cost: one wake per query instead of a round trip
 * per query per connection.
 *
 * Lifetime (reactor/park.h): every call using a shared connection holds a
 * reference (_refs) from pick() until it returns, so a connection is never
 * freed under a task parked on it. When the connection fails, fail_all()
 * marks it failed, drops libpq (waking the reader), takes it off the shared
 * list and completes every request with the error; the last call to let go
 * (unref) gives it back, and the pool retires it there, exactly once. */
#include "db/pg_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reactor/park.h"

struct request {
    struct loom_list node;
    struct loom_task *owner;   /* NULL: abandoned (the reader frees it) */
    struct loom_pg_stmt *stmt; /* forget it if our Parse fails */
    PGresult *res;
    ssize_t rc;
    bool parse_pending; /* a Parse result comes before the Execute one */
    bool done;
    struct loom_pg_error err;
};

static void req_error(struct request *q, const PGresult *res, const char *fallback)
{
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *d = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    snprintf(q->err.sqlstate, sizeof q->err.sqlstate, "%s", st ? st : "");
    snprintf(q->err.msg, sizeof q->err.msg, "%s", m ? m : fallback);
    snprintf(q->err.detail, sizeof q->err.detail, "%s", d ? d : "");
    q->rc = loom__pg_error_code(q->err.sqlstate);
}

static void req_free(struct request *q)
{
    PQclear(q->res);
    free(q);
}

static void complete(struct loom_pg *c, struct request *q)
{
    loom_list_remove(&q->node);
    c->_pipe_len--;
    q->done = true;
    if (q->owner)
        loom_wake(q->owner, 0);
    else
        req_free(q);
}

/* Operator intervention (57P01 admin shutdown, 57P02 crash shutdown...) or a
 * connection exception: the server is about to close the connection. */
static bool session_ending(const char *sqlstate)
{
    return sqlstate && (strncmp(sqlstate, "57", 2) == 0 || strncmp(sqlstate, "08", 2) == 0);
}

/* Route one result to the oldest request. */
static void route(struct loom_pg *c, PGresult *res)
{
    if (loom_list_empty(&c->_pipe)) { /* nothing asked for it (a lost connection) */
        PQclear(res);
        return;
    }
    struct request *q = loom_list_entry(c->_pipe.next, struct request, node);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_PIPELINE_SYNC) {
        PQclear(res);
        complete(c, q);
        return;
    }
    if (st == PGRES_FATAL_ERROR && session_ending(PQresultErrorField(res, PG_DIAG_SQLSTATE)))
        loom__pg_result_error(c, res); /* the server says why it ends the session: fail_all */
    if (q->parse_pending) {
        q->parse_pending = false;
        if (st == PGRES_FATAL_ERROR) {
            loom__pg_stmt_forget(q->stmt);
            req_error(q, res, "prepare failed");
        }
        PQclear(res);
        return;
    }
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        q->rc = loom__pg_rows(res);
        PQclear(q->res);
        q->res = res;
        return;
    }
    if (st != PGRES_PIPELINE_ABORTED || q->rc == 0) {
        req_error(q, res, "statement aborted");
    }
    PQclear(res);
}

static void fail_all(struct loom_pg_pool *p, struct loom_pg *c, int code);
static void stop_all(struct loom_pg_pool *p, struct loom_pg *c);

/* Leave shared mode and give the connection back (the pool closes it when broken). */
static void give_back(struct loom_pg_pool *p, struct loom_pg *c)
{
    if (loom_list_linked(&c->_pool_node))
        loom_list_remove(&c->_pool_node);
    c->_busy = false;
    c->_reader = NULL;
    c->_failed = false;
    if (c->_pg && PQexitPipelineMode(c->_pg) != 1)
        loom__pg_drop(c);
    loom__pg_pool_give(p, c, false); /* single statements: no session state to reset */
}

/* The calling task is done with c: the last one out gives c back once
 * nothing is in flight on it, or retires it when it failed. */
static void unref(struct loom_pg_pool *p, struct loom_pg *c)
{
    if (--c->_refs > 0)
        return;
    if (!loom_list_empty(&c->_pipe)) /* only abandoned requests, nobody to read them */
        fail_all(p, c, -ECANCELED);
    give_back(p, c);
}

/* The connection failed: mark it, take it off the shared list, fail every
 * request with code (none is reported done) and wake the reader. Frees
 * nothing: the callers still hold their references (unref). Idempotent. */
static void fail_all(struct loom_pg_pool *p, struct loom_pg *c, int code)
{
    if (c->_failed)
        return;
    c->_failed = true;
    char msg[LOOM_PG_ERRMSG], detail[LOOM_PG_ERRMSG];
    const char *why = c->_pg ? PQerrorMessage(c->_pg) : "";
    snprintf(msg, sizeof msg, "%s", *why ? why : "connection to the server was lost");
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = 0;
    detail[0] = 0;
    if (session_ending(c->_sqlstate) && c->_msg[0]) { /* the server's FATAL text first */
        snprintf(detail, sizeof detail, "%s", msg);
        snprintf(msg, sizeof msg, "%s", c->_msg);
    }
    loom_list_remove(&c->_pool_node); /* no new statements on it */
    loom__pg_drop(c);                 /* wakes the reader parked on the socket */
    while (!loom_list_empty(&c->_pipe)) {
        struct request *q = loom_list_entry(c->_pipe.next, struct request, node);
        req_error(q, NULL, msg);
        snprintf(q->err.sqlstate, sizeof q->err.sqlstate, "08006");
        snprintf(q->err.detail, sizeof q->err.detail, "%s", detail);
        q->rc = code;
        PQclear(q->res);
        q->res = NULL;
        complete(c, q);
    }
    (void)p;
}

/* Read until me is done (me NULL: until the queue is empty). 0, -ECANCELED,
 * or -ECONNRESET (the connection failed, perhaps in another task's fail_all). */
static int read_for(struct loom_pg *c, struct request *me, struct loom_task *self, int64_t deadline)
{
    int rc = 0;
    c->_reader = self;
    while (rc == 0 && (me ? !me->done : !loom_list_empty(&c->_pipe))) {
        if (c->_failed || !c->_pg || PQstatus(c->_pg) == CONNECTION_BAD) {
            rc = -ECONNRESET;
            break;
        }
        int f = PQflush(c->_pg);
        if (f < 0) {
            rc = -ECONNRESET;
        } else if (!PQisBusy(c->_pg)) {
            PGresult *res = PQgetResult(c->_pg);
            if (res) /* NULL: the end of one command's results */
                route(c, res);
        } else if ((rc = loom__pg_wait_fd(c, f ? LOOM_READABLE | LOOM_WRITABLE : LOOM_READABLE,
                                          deadline)) == 0 &&
                   !PQconsumeInput(c->_pg)) {
            rc = -ECONNRESET;
        }
    }
    if (c->_reader == self)
        c->_reader = NULL;
    return rc;
}

/* Pass reading on to the next live owner; false if there is none. */
static bool hand_over(struct loom_pg *c)
{
    c->_reader = NULL;
    for (struct loom_list *n = c->_pipe.next; n != &c->_pipe; n = n->next) {
        struct request *q = loom_list_entry(n, struct request, node);
        if (q->owner) {
            loom_wake(q->owner, 0);
            return true;
        }
    }
    return false;
}

/* After our request: pass the reading on to someone, or (only abandoned
 * requests left) read them out ourselves. unref() gives the connection back. */
static void leave(struct loom_pg_pool *p, struct loom_pg *c, struct loom_task *self)
{
    if (c->_failed || loom_list_empty(&c->_pipe) || c->_reader || hand_over(c))
        return;
    int rc = read_for(c, NULL, self, -1);
    if (loom__pg_stopped(rc))
        stop_all(p, c);
    else if (rc < 0)
        fail_all(p, c, rc);
}

/* Every request left on c was abandoned (cancelled or timed out) and the
 * statement running is one of theirs: take c off the shared list so nothing
 * new is queued behind them, ask the server to cancel and read the rest out
 * (at most the cancel grace, ignoring deadline scopes); c stays usable. On
 * failure the connection is dropped. */
static void stop_all(struct loom_pg_pool *p, struct loom_pg *c)
{
    if (loom_list_linked(&c->_pool_node))
        loom_list_remove(&c->_pool_node);
    loom__pg_send_cancel(c);
    c->_cleanup++;
    int rc = read_for(c, NULL, loom_task_current(), loom_deadline(c->_loop, LOOM__PG_CANCEL_GRACE));
    c->_cleanup--;
    loom__pg_cancel_wait(c);
    if (rc < 0 || !c->_pg)
        fail_all(p, c, -ECANCELED);
}

/* Wait for q's result, reading when it is our turn. The caller's reference
 * keeps c alive meanwhile, whatever other tasks do to it. Returns q's code,
 * or -ECANCELED / -ETIMEDOUT with *gone set: q freed or abandoned to the reader. */
static ssize_t await_req(struct loom_pg_pool *p, struct loom_pg *c, struct request *q, bool *gone)
{
    struct loom_task *self = q->owner;
    for (;;) {
        bool reading = !c->_reader && !c->_failed;
        int rc = reading ? read_for(c, q, self, -1) : loom_park(self, -1);
        if (rc == -ECONNRESET)
            fail_all(p, c, -ECONNRESET); /* completes q too */
        *gone = loom__pg_stopped(rc);
        if (*gone && q->done) { /* finished as we were stopped: the stop wins */
            req_free(q);
            return rc;
        }
        if (*gone) {
            q->owner = NULL; /* abandoned: dropped when its result arrives */
            if (reading && !hand_over(c))
                stop_all(p, c); /* nobody left waiting: cancel on the server */
            else if (!reading)
                leave(p, c, self); /* the reading may have been handed to us */
            return rc;
        }
        if (q->done) {
            if (reading)
                leave(p, c, self);
            return q->rc;
        }
    }
}

/* The shared connection with the shortest queue, or a new one. */
static int pick(struct loom_pg_pool *p, struct loom_pg **out)
{
    struct loom_pg *best = NULL;
    for (struct loom_list *n = p->_shared.next; n != &p->_shared; n = n->next) {
        struct loom_pg *c = loom_list_entry(n, struct loom_pg, _pool_node);
        if (p->_max_queries > 0 && c->_uses >= p->_max_queries)
            continue; /* spent: closed when its pipeline drains */
        if (!best || c->_pipe_len < best->_pipe_len)
            best = c;
    }
    bool can_grow = !loom_list_empty(&p->_idle) || p->_total < p->_max;
    if (best && (best->_pipe_len == 0 || !can_grow)) {
        best->_refs++;
        best->_uses++;
        *out = best;
        return 0;
    }
    struct loom_pg *c;
    int rc = loom__pg_pool_take(p, &c, LOOM_SEC(30)); /* no setup hook: see pg.h */
    if (rc < 0)
        return rc;
    if (PQenterPipelineMode(c->_pg) != 1) {
        loom__pg_conn_error(c);
        loom_pg_pool_release(p, c);
        return -ECONNRESET;
    }
    c->_busy = true;
    c->_sqlstate[0] = c->_msg[0] = c->_detail[0] = 0; /* errors of earlier users */
    c->_refs = 1;
    c->_uses++;
    c->_failed = false;
    loom_list_push_back(&p->_shared, &c->_pool_node);
    *out = c;
    return 0;
}

static bool send_req(struct loom_pg *c, struct request *q, const char *sql, int n,
                     const char *const *params)
{
    bool prepare;
    q->stmt = loom__pg_stmt_for(c, sql, &prepare);
    if (!q->stmt)
        return PQsendQueryParams(c->_pg, sql, n, NULL, params, NULL, NULL, 0) &&
               PQpipelineSync(c->_pg);
    const char *name = loom__pg_stmt_name(q->stmt);
    if (prepare && !PQsendPrepare(c->_pg, name, sql, n, NULL))
        return false;
    q->parse_pending = prepare;
    return PQsendQueryPrepared(c->_pg, name, n, params, NULL, NULL, 0) && PQpipelineSync(c->_pg);
}

ssize_t loom_pg_pool_query(struct loom_pg_pool *p, struct loom_pg_result *r,
                           struct loom_pg_error *err, const char *sql, int nparams,
                           const char *const *params)
{
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    struct request *q = calloc(1, sizeof *q);
    if (!q)
        return -ENOMEM;
    q->owner = self;
    struct loom_pg *c = NULL; /* set when pick succeeds (gcc -O1 cannot see it) */
    bool gone = false;
    ssize_t rc = pick(p, &c);
    if (rc < 0) { /* no connection: say why, as a connect failure does */
        snprintf(q->err.sqlstate, sizeof q->err.sqlstate, "%s", rc == LOOM_EPG ? "08001" : "");
        snprintf(q->err.msg, sizeof q->err.msg, "%s",
                 rc == LOOM_EPG && p->_errmsg[0] ? p->_errmsg : loom_strerror((int)rc));
    } else {
        bool sent = send_req(c, q, sql, nparams, params);
        loom_list_push_back(&c->_pipe, &q->node);
        c->_pipe_len++;
        if (!sent) {
            fail_all(p, c, -ECONNRESET); /* completes q (we still own it) */
            rc = q->rc;
        } else {
            if (PQflush(c->_pg) == 1 && c->_reader)
                loom_wake(c->_reader, 0); /* it flushes the rest as it reads */
            rc = await_req(p, c, q, &gone);
        }
        unref(p, c); /* c may be gone from here on */
        if (gone)
            return rc; /* q was freed or now belongs to the reader */
    }
    if (err)
        *err = q->err;
    if (r && rc >= 0) {
        PQclear(r->_res);
        r->_res = q->res;
        q->res = NULL;
    }
    req_free(q);
    return rc;
}
