/* pg_copy.c - COPY TO STDOUT streamed to a callback, and server notices.
 *
 * COPY out: libpq hands over one CopyData message at a time
 * (PQgetCopyData, async), so we read what the socket has, pass each message
 * on and free it before reading more: memory stays at libpq's input buffer.
 * While a COPY OUT runs, PQgetResult keeps answering "COPY_OUT", so the
 * generic drain cannot end it: stopping early reads and drops the rest of
 * the data after asking the server to cancel. */
#include "db/pg_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reactor/park.h"

/* Stop the COPY: ask the server to cancel, then read and drop whatever it
 * still sends (data while in_copy, then the closing results), within the
 * cancel grace; past it, or on any failure, the connection is dropped. */
static int copy_abort(struct loom_pg *c, bool in_copy)
{
    loom__pg_send_cancel(c);
    int64_t deadline = loom_deadline(c->_loop, LOOM__PG_CANCEL_GRACE);
    for (;;) {
        if (!c->_pg)
            return -ECONNRESET;
        int rc = 0;
        if (in_copy) {
            char *buf = NULL;
            int n = PQgetCopyData(c->_pg, &buf, 1);
            if (buf)
                PQfreemem(buf);
            if (n > 0)
                continue;
            if (n == -1) {
                in_copy = false;
                continue;
            }
            if (n == 0 && (rc = loom__pg_wait_fd(c, LOOM_READABLE, deadline)) == 0 &&
                PQconsumeInput(c->_pg))
                continue;
        } else if ((rc = loom__pg_wait_ready(c, deadline)) == 0) {
            PGresult *res = PQgetResult(c->_pg);
            if (!res)
                return 0;
            in_copy = PQresultStatus(res) == PGRES_COPY_OUT;
            PQclear(res);
            continue;
        }
        loom__pg_drop(c);
        return rc < 0 ? rc : -ECONNRESET;
    }
}

int loom__pg_copy_refuse(struct loom_pg *c, ExecStatusType st)
{
    if (st == PGRES_COPY_IN && PQputCopyEnd(c->_pg, "COPY FROM STDIN needs loom_pg_copy_in") == 1)
        return 0; /* the server answers with an error, collected as usual */
    if (st == PGRES_COPY_OUT)
        return copy_abort(c, true);
    loom__pg_drop(c);
    return -ECONNRESET;
}

static ssize_t copy_out_run(struct loom_pg *c, const char *sql, loom_pg_copy_out_cb cb, void *arg)
{
    if (!PQsendQuery(c->_pg, sql))
        return loom__pg_conn_error(c);
    int rc = loom__pg_wait_ready(c, -1);
    if (rc < 0) {
        if (loom__pg_stopped(rc))
            copy_abort(c, false); /* the COPY may have started meanwhile */
        return rc;
    }
    PGresult *res = PQgetResult(c->_pg);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COPY_OUT) {
        if (st == PGRES_FATAL_ERROR)
            rc = loom__pg_result_error(c, res);
        else
            rc = loom__pg_set_error(c, LOOM_EPG, "42601", "not a COPY ... TO STDOUT");
        PQclear(res);
        if (st == PGRES_COPY_IN) /* a COPY FROM STDIN: refuse it */
            PQputCopyEnd(c->_pg, "not a COPY TO STDOUT");
        if (st == PGRES_COPY_BOTH || loom__pg_drain(c) < 0)
            loom__pg_drop(c);
        return rc;
    }
    PQclear(res);
    for (;;) {
        char *buf = NULL;
        int n = PQgetCopyData(c->_pg, &buf, 1);
        if (n > 0) {
            int k = cb(arg, buf, (size_t)n);
            PQfreemem(buf);
            if (k < 0) {
                copy_abort(c, true);
                return k;
            }
            continue;
        }
        if (n == -1)
            return loom__pg_collect(c, NULL); /* "COPY n", or the error that ended it */
        if (n == -2)
            return loom__pg_conn_error(c);
        rc = loom__pg_wait_fd(c, LOOM_READABLE, -1);
        if (loom__pg_stopped(rc)) {
            copy_abort(c, true);
            return rc;
        }
        if (rc < 0)
            return rc;
        if (!PQconsumeInput(c->_pg))
            return loom__pg_conn_error(c);
    }
}

ssize_t loom_pg_copy_out(struct loom_pg *c, const char *sql, loom_pg_copy_out_cb cb, void *arg)
{
    ssize_t rc = loom__pg_begin_op(c);
    if (rc < 0)
        return rc;
    return loom__pg_end_op(c, copy_out_run(c, sql, cb, arg));
}

/* --- notices --- */

static const char *field(const PGresult *res, int code)
{
    const char *s = PQresultErrorField(res, code);
    return s ? s : "";
}

void loom__pg_notice_rx(void *arg, const PGresult *res)
{
    struct loom_pg *c = arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (sev && (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0))
        snprintf(c->_fatal, sizeof c->_fatal, "%s", field(res, PG_DIAG_MESSAGE_PRIMARY));
    if (!c->_notice_cb)
        return;
    struct loom_pg_notice n = {
        .severity = sev ? sev : field(res, PG_DIAG_SEVERITY),
        .sqlstate = field(res, PG_DIAG_SQLSTATE),
        .message = field(res, PG_DIAG_MESSAGE_PRIMARY),
        .detail = field(res, PG_DIAG_MESSAGE_DETAIL),
        .hint = field(res, PG_DIAG_MESSAGE_HINT),
    };
    c->_notice_cb(c->_notice_arg, &n);
}

void loom_pg_set_notice_cb(struct loom_pg *c, loom_pg_notice_cb cb, void *arg)
{
    c->_notice_cb = cb;
    c->_notice_arg = arg;
    if (c->_pg)
        PQsetNoticeReceiver(c->_pg, loom__pg_notice_rx, c);
}
