/* pg_internal.h - what db/pg*.c share: operation bracketing, waiting on
 * libpq's socket, reading results, cancelling. */
#ifndef LOOM_DB_PG_INTERNAL_H
#define LOOM_DB_PG_INTERNAL_H

#include <errno.h>

#include "db/pg.h"
#include "reactor/park.h"

/* How long a cancelled query may take to stop before the connection is dropped. */
#define LOOM__PG_CANCEL_GRACE LOOM_SEC(5)

/* A wait ended by a cancellation or a deadline: the query must be stopped. */
static inline bool loom__pg_stopped(ssize_t rc) { return rc == -ECANCELED || rc == -ETIMEDOUT; }

/* The code for a server error: -ETIMEDOUT for a statement the server
 * cancelled (57014: statement_timeout, pg_cancel_backend; 55P03: lock
 * timeout), else LOOM_EPG. */
int loom__pg_error_code(const char *sqlstate);

/* Start an operation: -EPERM outside a task, -ECONNRESET if closed, -EBUSY if
 * one runs; else marks c busy and clears the last error. */
int loom__pg_begin_op(struct loom_pg *c);
/* End an operation started by loom__pg_begin_op; passes rc through. */
ssize_t loom__pg_end_op(struct loom_pg *c, ssize_t rc);

/* Wait for ev on libpq's socket until deadline: 0, -ETIMEDOUT, -ECANCELED. */
int loom__pg_wait_fd(struct loom_pg *c, unsigned ev, int64_t deadline);
/* Flush output and read input until a result can be taken without blocking. */
int loom__pg_wait_ready(struct loom_pg *c, int64_t deadline);

/* A COPY started through a call that cannot serve it (loom_pg_exec, a query):
 * end it without blocking the loop - COPY FROM STDIN is refused (the server
 * answers with an error), COPY TO STDOUT is cancelled and its data dropped.
 * 0, or the connection was dropped (-ECONNRESET...). */
int loom__pg_copy_refuse(struct loom_pg *c, ExecStatusType st);

static inline bool loom__pg_is_copy(ExecStatusType st)
{
    return st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH;
}
/* Read every result of the command just sent; r (may be NULL) keeps the last
 * good one. Returns rows as loom_pg_query, or an error (a cancellation is
 * forwarded to the server first, see loom__pg_cancel). */
ssize_t loom__pg_collect(struct loom_pg *c, struct loom_pg_result *r);
/* Ask the server to cancel the running command and drain its results (at
 * most LOOM__PG_CANCEL_GRACE); drops the connection if that fails. */
void loom__pg_cancel(struct loom_pg *c);
/* A wait of the running command ended with rc (-ECANCELED, -ETIMEDOUT):
 * loom__pg_cancel, then record why (SQLSTATE 57014, or 08006 when the
 * connection had to be dropped). Returns rc. */
int loom__pg_stop(struct loom_pg *c, int rc);
/* Send a cancel request for the running command (PQcancel blocks: it runs
 * on an executor thread, driven by a task of its own so that neither a
 * deadline scope nor a second cancellation of the caller can drop it), and
 * make c's waits ignore deadline scopes until loom__pg_cancel_wait. */
void loom__pg_send_cancel(struct loom_pg *c);
/* Wait (at most LOOM__PG_CANCEL_GRACE) until the server has taken the cancel
 * request sent by loom__pg_send_cancel, so that it cannot hit the next
 * command; drops the connection if it did not. No-op if none was sent. */
void loom__pg_cancel_wait(struct loom_pg *c);
/* Read and drop the rest of the current command's results (at most
 * LOOM__PG_CANCEL_GRACE); drops the connection if that fails. 0 or the error
 * (-ECANCELED, -ETIMEDOUT, -ECONNRESET). */
int loom__pg_drain(struct loom_pg *c);
/* Record libpq's connection error; -ECONNRESET if the connection is gone, else LOOM_EPG. */
int loom__pg_conn_error(struct loom_pg *c);
/* Record the error of a result; returns LOOM_EPG. */
int loom__pg_result_error(struct loom_pg *c, const PGresult *res);
/* Record an error message of our own; returns code. */
int loom__pg_set_error(struct loom_pg *c, int code, const char *sqlstate, const char *msg);
/* Close the libpq connection (it is broken from now on). */
void loom__pg_drop(struct loom_pg *c);
/* Free the prepared-statement cache (the server side goes with the session). */
void loom__pg_stmts_free(struct loom_pg *c);
/* The cached statement for sql, named; *prepare says it must be prepared
 * first (it is counted as prepared already: forget it if that fails). NULL:
 * run unnamed (cache full or no memory). */
struct loom_pg_stmt *loom__pg_stmt_for(struct loom_pg *c, const char *sql, bool *prepare);
const char *loom__pg_stmt_name(const struct loom_pg_stmt *s);
void loom__pg_stmt_forget(struct loom_pg_stmt *s);
/* loom_pg_pool_acquire without the setup hook and without counting a use
 * (loom_pg_pool_query counts its statements itself). */
int loom__pg_pool_take(struct loom_pg_pool *p, struct loom_pg **out, int64_t timeout_ns);
/* Give c back to its pool; reset: run the pool's reset_sql on it. */
void loom__pg_pool_give(struct loom_pg_pool *p, struct loom_pg *c, bool reset);
/* Hand notifications to the notify callback and report a loss to the term
 * callback (last: it may let go of c). */
void loom__pg_events(struct loom_pg *c);
/* Watch c's socket between calls while a notify or term callback is set. */
void loom__pg_idle_watch(struct loom_pg *c);
/* libpq's notice receiver for c (pg_copy.c): the notice callback, and
 * FATAL messages kept for the term callback. */
void loom__pg_notice_rx(void *arg, const PGresult *res);
/* Rows in a result as loom_pg_query reports them. */
ssize_t loom__pg_rows(const PGresult *res);

#endif
