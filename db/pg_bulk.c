/* pg_bulk.c - executemany in pipeline mode, and COPY FROM STDIN.
 *
 * The pipeline is queued as: [BEGIN] Parse(sql) Execute*nrows [COMMIT] Sync.
 * We send 256 rows at a time and flush; whenever libpq cannot flush
 * everything we wait for the socket, reading results meanwhile, so neither
 * side can fill its buffers and deadlock, and memory stays bounded by one
 * batch plus MAX_INFLIGHT small results. An explicit BEGIN (when no
 * transaction is open) makes it all or nothing even if the row callback
 * fails half way: then ROLLBACK is queued instead of COMMIT. */
#include "db/pg_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reactor/park.h"

enum { BATCH = 256, MAX_INFLIGHT = 20000, COPY_CHUNK = 65536 };

struct pipe {
    struct loom_pg *c;
    size_t queued, done; /* commands queued (incl. Sync) and answered */
    ssize_t rows;        /* rows affected so far */
    int err;             /* first error */
    bool sync_sent, sync_done;
};

/* Take every result that is complete, without blocking. */
static void pipe_take(struct pipe *p)
{
    PGconn *pg = p->c->_pg;
    while (p->done < p->queued && !PQisBusy(pg)) {
        PGresult *res = PQgetResult(pg);
        if (!res)
            continue; /* the end of one command's results */
        p->done++;
        switch (PQresultStatus(res)) {
        case PGRES_PIPELINE_SYNC:
            p->sync_done = true;
            break;
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
            p->rows += loom__pg_rows(res);
            break;
        case PGRES_PIPELINE_ABORTED:
            break;
        default:
            if (!p->err)
                p->err = loom__pg_result_error(p->c, res);
        }
        PQclear(res);
    }
}

static int pipe_send(struct pipe *p, const char *sql)
{
    if (!PQsendQueryParams(p->c->_pg, sql, 0, NULL, NULL, NULL, NULL, 0))
        return loom__pg_conn_error(p->c);
    p->queued++;
    return 0;
}

static int pipe_sync(struct pipe *p, bool began, bool commit)
{
    int rc = began ? pipe_send(p, commit ? "COMMIT" : "ROLLBACK") : 0;
    if (rc == 0 && !PQpipelineSync(p->c->_pg))
        rc = loom__pg_conn_error(p->c);
    if (rc == 0)
        p->queued++;
    p->sync_sent = rc == 0;
    return rc;
}

/* Flush, read what came, and wait if nothing more can be done now. */
static int pipe_round(struct pipe *p, bool can_send, int64_t deadline)
{
    PGconn *pg = p->c->_pg;
    int f = PQflush(pg);
    if (f < 0 || !PQconsumeInput(pg))
        return loom__pg_conn_error(p->c);
    pipe_take(p);
    if (p->sync_done || (f == 0 && can_send && p->queued - p->done < MAX_INFLIGHT))
        return 0;
    return loom__pg_wait_fd(p->c, f ? LOOM_READABLE | LOOM_WRITABLE : LOOM_READABLE, deadline);
}

/* After a cancellation: stop the server and read up to the Sync. */
static void pipe_cancel(struct pipe *p, bool began)
{
    struct loom_pg *c = p->c;
    if (!p->sync_sent && pipe_sync(p, began, false) < 0)
        return;
    loom__pg_send_cancel(c);
    int64_t deadline = loom_deadline(c->_loop, LOOM__PG_CANCEL_GRACE);
    while (c->_pg && !p->sync_done)
        if (pipe_round(p, false, deadline) < 0)
            loom__pg_drop(c);
}

static ssize_t pipe_run(struct pipe *p, const char *sql, int nparams, size_t nrows,
                        loom_pg_row_cb cb, void *arg, const char **params)
{
    PGconn *pg = p->c->_pg;
    bool began = p->c->_depth == 0;
    size_t sent = 0;
    int cb_err = 0, rc = began ? pipe_send(p, "BEGIN") : 0;
    if (rc == 0 && !PQsendPrepare(pg, "", sql, nparams, NULL))
        rc = loom__pg_conn_error(p->c);
    p->queued++;
    while (rc == 0 && !p->sync_done) {
        for (int k = 0; k < BATCH && sent < nrows && !cb_err && rc == 0; k++, sent++) {
            if ((cb_err = cb(arg, sent, params)) < 0)
                break;
            cb_err = 0;
            if (!PQsendQueryPrepared(pg, "", nparams, params, NULL, NULL, 0))
                rc = loom__pg_conn_error(p->c);
            p->queued++;
        }
        if (rc == 0 && !p->sync_sent && (sent == nrows || cb_err))
            rc = pipe_sync(p, began, !cb_err);
        if (rc == 0)
            rc = pipe_round(p, sent < nrows && !cb_err, -1);
    }
    if (loom__pg_stopped(rc))
        pipe_cancel(p, began);
    if (rc == 0)
        rc = cb_err ? cb_err : p->err;
    return rc < 0 ? rc : p->rows;
}

ssize_t loom_pg_executemany(struct loom_pg *c, const char *sql, int nparams, size_t nrows,
                            loom_pg_row_cb cb, void *arg)
{
    ssize_t rc = loom__pg_begin_op(c);
    if (rc < 0)
        return rc;
    const char **params = calloc(nparams > 0 ? (size_t)nparams : 1, sizeof *params);
    if (!params)
        return loom__pg_end_op(c, -ENOMEM);
    if (!PQenterPipelineMode(c->_pg)) {
        free(params);
        return loom__pg_end_op(c, loom__pg_conn_error(c));
    }
    struct pipe p = {.c = c};
    rc = pipe_run(&p, sql, nparams, nrows, cb, arg, params);
    free(params);
    if (c->_pg)
        PQexitPipelineMode(c->_pg);
    if (c->_pg && PQtransactionStatus(c->_pg) == PQTRANS_INERROR && c->_depth == 0) {
        if (PQsendQuery(c->_pg, "ROLLBACK")) /* our BEGIN block failed: end it */
            loom__pg_drain(c);
    }
    return loom__pg_end_op(c, rc);
}

/* --- COPY FROM STDIN --- */

/* Wait until libpq's output buffer is empty (keeps memory to one chunk). */
static int copy_flush(struct loom_pg *c)
{
    int f;
    while ((f = PQflush(c->_pg)) == 1) {
        int rc = loom__pg_wait_fd(c, LOOM_WRITABLE, -1);
        if (rc < 0)
            return rc;
    }
    return f < 0 ? loom__pg_conn_error(c) : 0;
}

static ssize_t copy_feed(struct loom_pg *c, loom_pg_copy_cb cb, void *arg, char *buf)
{
    for (;;) {
        ssize_t n = cb(arg, buf, COPY_CHUNK);
        if (n <= 0)
            return n;
        int k = PQputCopyData(c->_pg, buf, (int)n);
        if (k < 0)
            return loom__pg_conn_error(c);
        int rc = copy_flush(c); /* k == 0 (no room) is also settled by flushing */
        if (rc < 0)
            return rc;
        if (k == 0 && PQputCopyData(c->_pg, buf, (int)n) <= 0)
            return loom__pg_conn_error(c);
    }
}

static ssize_t copy_run(struct loom_pg *c, const char *sql, loom_pg_copy_cb cb, void *arg)
{
    if (!PQsendQuery(c->_pg, sql))
        return loom__pg_conn_error(c);
    int rc = loom__pg_wait_ready(c, -1);
    if (rc < 0) {
        if (loom__pg_stopped(rc))
            loom__pg_cancel(c);
        return rc;
    }
    PGresult *res = PQgetResult(c->_pg);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        rc = loom__pg_result_error(c, res);
        PQclear(res);
        loom__pg_drain(c);
        return rc;
    }
    PQclear(res);
    char *buf = malloc(COPY_CHUNK);
    ssize_t fed = buf ? copy_feed(c, cb, arg, buf) : -ENOMEM;
    free(buf);
    if (!c->_pg)
        return fed;
    if (PQputCopyEnd(c->_pg, fed < 0 ? "COPY aborted by the client" : NULL) < 0)
        return loom__pg_conn_error(c);
    if (fed < 0) {
        loom__pg_drain(c);
        return fed;
    }
    rc = copy_flush(c);
    if (loom__pg_stopped(rc))
        loom__pg_cancel(c);
    if (rc < 0)
        return rc;
    return loom__pg_collect(c, NULL);
}

ssize_t loom_pg_copy_in(struct loom_pg *c, const char *sql, loom_pg_copy_cb cb, void *arg)
{
    ssize_t rc = loom__pg_begin_op(c);
    if (rc < 0)
        return rc;
    return loom__pg_end_op(c, copy_run(c, sql, cb, arg));
}
