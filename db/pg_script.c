/* pg_script.c - one simple-query string (one or more ;-separated statements)
 * with every result handed over as it arrives: rows one at a time (libpq's
 * single-row mode, which covers every statement of the string), the end of
 * each row set, each command's status, and COPY TO STDOUT data. Memory stays
 * at one row whatever the result size; this is what a psql-like client needs
 * to show every result of "SELECT 1; SELECT 2" without buffering either. */
#include "db/pg_internal.h"

#include <errno.h>
#include <string.h>

int loom_pg_script_open(struct loom_pg *c, struct loom_pg_script *s, const char *sql)
{
    memset(s, 0, sizeof *s);
    s->_end = true;
    int rc = loom__pg_begin_op(c);
    if (rc < 0)
        return rc;
    if (!PQsendQuery(c->_pg, sql) || !PQsetSingleRowMode(c->_pg))
        return (int)loom__pg_end_op(c, loom__pg_conn_error(c));
    s->_c = c;
    s->_end = false;
    return 0;
}

/* Stop after rc: a cancellation is forwarded to the server, other errors
 * drain what is left (an error ends a simple query: only the NULL follows). */
static int script_fail(struct loom_pg_script *s, int rc, bool in_copy)
{
    s->_end = true;
    if (rc == -ECANCELED || rc == -ETIMEDOUT) {
        if (in_copy)
            loom__pg_copy_refuse(s->_c, PGRES_COPY_OUT); /* cancels and drops the rest */
        else
            loom__pg_cancel(s->_c);
    } else if (s->_c->_pg) {
        loom__pg_drain(s->_c);
    }
    return rc;
}

/* COPY TO STDOUT in progress: the next message, or back to results at its end. */
static int copy_step(struct loom_pg_script *s)
{
    struct loom_pg *c = s->_c;
    for (;;) {
        char *buf = NULL;
        int n = PQgetCopyData(c->_pg, &buf, 1);
        if (n > 0) {
            s->_copy_data = buf;
            s->_copy_len = (size_t)n;
            return LOOM_PG_SCRIPT_COPY_DATA;
        }
        if (n == -1) {
            s->_copy = false;
            return 0; /* the COPY's closing result comes next */
        }
        if (n == -2)
            return script_fail(s, loom__pg_conn_error(c), false);
        int rc = loom__pg_wait_fd(c, LOOM_READABLE, -1);
        if (rc < 0)
            return script_fail(s, rc, true);
        if (!PQconsumeInput(c->_pg))
            return script_fail(s, loom__pg_conn_error(c), false);
    }
}

/* Classify one result; 0 when it is to be skipped. */
static int script_take(struct loom_pg_script *s, PGresult *res)
{
    struct loom_pg *c = s->_c;
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COPY_OUT) {
        PQclear(res);
        s->_copy = true;
        return 0;
    }
    if (st == PGRES_COPY_IN) {
        PQclear(res);
        s->_copy_in = true;
        return LOOM_PG_SCRIPT_COPY_IN;
    }
    if (st == PGRES_COPY_BOTH) { /* replication: nothing a script can speak */
        PQclear(res);
        loom__pg_drop(c);
        return script_fail(s, -ECONNRESET, false);
    }
    if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
        int rc = loom__pg_result_error(c, res);
        PQclear(res);
        return script_fail(s, rc, false);
    }
    if (st == PGRES_EMPTY_QUERY) {
        PQclear(res);
        return 0;
    }
    s->_res._res = res;
    if (st == PGRES_SINGLE_TUPLE)
        return LOOM_PG_SCRIPT_ROW;
    return st == PGRES_TUPLES_OK ? LOOM_PG_SCRIPT_SET_END : LOOM_PG_SCRIPT_COMMAND;
}

/* Wait until libpq has handed everything queued to the socket. */
static int copy_flush(struct loom_pg *c)
{
    for (;;) {
        int f = PQflush(c->_pg);
        if (f < 0)
            return loom__pg_conn_error(c);
        if (f == 0)
            return 0;
        int rc = loom__pg_wait_fd(c, LOOM_READABLE | LOOM_WRITABLE, -1);
        if (rc < 0)
            return rc;
        if (!PQconsumeInput(c->_pg))
            return loom__pg_conn_error(c);
    }
}

/* A COPY FROM STDIN call failed with rc: fail the COPY on the server and stop. */
static int copy_in_fail(struct loom_pg_script *s, int rc)
{
    s->_copy_in = false;
    if (s->_c->_pg && PQputCopyEnd(s->_c->_pg, "cancelled by the client") < 0)
        rc = loom__pg_conn_error(s->_c);
    return script_fail(s, rc, false);
}

int loom_pg_script_copy_send(struct loom_pg_script *s, const char *data, size_t len)
{
    struct loom_pg *c = s->_c;
    if (!s->_copy_in || !c)
        return -EINVAL;
    while (len > 0) {
        int n = len > (1 << 20) ? 1 << 20 : (int)len;
        int k = c->_pg ? PQputCopyData(c->_pg, data, n) : -1;
        if (k < 0)
            return copy_in_fail(s, loom__pg_conn_error(c));
        int rc = copy_flush(c); /* k == 0: libpq's buffer was full; flushed, try again */
        if (rc < 0)
            return copy_in_fail(s, rc);
        if (k == 1)
            data += n, len -= (size_t)n;
    }
    return 0;
}

int loom_pg_script_copy_end(struct loom_pg_script *s, const char *error)
{
    struct loom_pg *c = s->_c;
    if (!s->_copy_in || !c)
        return -EINVAL;
    for (;;) {
        int k = c->_pg ? PQputCopyEnd(c->_pg, error) : -1;
        if (k < 0)
            return copy_in_fail(s, loom__pg_conn_error(c));
        int rc = copy_flush(c);
        if (rc < 0)
            return copy_in_fail(s, rc);
        if (k == 1)
            break;
    }
    s->_copy_in = false;
    return 0;
}

int loom_pg_script_next(struct loom_pg_script *s)
{
    if (s->_copy_in) { /* the caller did not serve the COPY FROM STDIN */
        int rc = loom_pg_script_copy_end(s, "COPY FROM STDIN is not supported here");
        if (rc < 0)
            return rc;
    }
    loom_pg_result_clear(&s->_res);
    if (s->_copy_data) {
        PQfreemem(s->_copy_data);
        s->_copy_data = NULL;
    }
    while (!s->_end) {
        int rc = s->_copy ? copy_step(s) : 0;
        if (rc != 0 || s->_end)
            return rc;
        rc = loom__pg_wait_ready(s->_c, -1);
        if (rc < 0)
            return script_fail(s, rc, false);
        PGresult *res = PQgetResult(s->_c->_pg);
        if (!res) {
            s->_end = true;
            break;
        }
        rc = script_take(s, res);
        if (rc != 0)
            return rc;
    }
    return LOOM_PG_SCRIPT_DONE;
}

const struct loom_pg_result *loom_pg_script_result(const struct loom_pg_script *s)
{
    return &s->_res;
}

const char *loom_pg_script_copy_data(const struct loom_pg_script *s, size_t *len)
{
    *len = s->_copy_data ? s->_copy_len : 0;
    return s->_copy_data;
}

int loom_pg_script_close(struct loom_pg_script *s)
{
    loom_pg_result_clear(&s->_res);
    if (s->_copy_data)
        PQfreemem(s->_copy_data);
    s->_copy_data = NULL;
    struct loom_pg *c = s->_c;
    if (!c)
        return 0;
    s->_c = NULL;
    if (s->_copy_in && c->_pg)
        PQputCopyEnd(c->_pg, "abandoned by the client"); /* then drained below */
    s->_copy_in = false;
    if (!s->_end && c->_pg) {
        if (s->_copy)
            loom__pg_copy_refuse(c, PGRES_COPY_OUT);
        else
            loom__pg_cancel(c); /* stop the server producing rows nobody reads */
    }
    s->_end = true;
    return (int)loom__pg_end_op(c, 0);
}
