/* pg_stream.c - server-side cursors, single-row streaming, LISTEN/NOTIFY. */
#include "db/pg_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reactor/park.h"

/* --- cursors --- */

int loom_pg_cursor_open(struct loom_pg *c, struct loom_pg_cursor *cur, const char *sql, int nparams,
                        const char *const *params, int prefetch)
{
    memset(cur, 0, sizeof *cur);
    cur->_c = c;
    cur->_prefetch = prefetch > 0 ? prefetch : 50;
    cur->_row = -1;
    snprintf(cur->_name, sizeof cur->_name, "loom_c%u", c->_stmt_seq++);
    size_t len = strlen(sql) + 64;
    char *decl = malloc(len);
    if (!decl)
        return -ENOMEM;
    snprintf(decl, len, "DECLARE %s NO SCROLL CURSOR FOR %s", cur->_name, sql);
    ssize_t rc = loom_pg_query_once(c, NULL, decl, nparams, params);
    free(decl);
    if (rc < 0)
        cur->_end = true;
    return rc < 0 ? (int)rc : 0;
}

ssize_t loom_pg_cursor_fetch(struct loom_pg_cursor *cur, long n, struct loom_pg_result *r)
{
    char sql[80];
    snprintf(sql, sizeof sql, "FETCH FORWARD %ld FROM %s", n, cur->_name);
    /* cursor names are one-off: keep them out of the statement cache */
    return loom_pg_query_once(cur->_c, r, sql, 0, NULL);
}

ssize_t loom_pg_cursor_move(struct loom_pg_cursor *cur, long n)
{
    char sql[80];
    snprintf(sql, sizeof sql, "MOVE FORWARD %ld IN %s", n, cur->_name);
    return loom_pg_query_once(cur->_c, NULL, sql, 0, NULL);
}

int loom_pg_cursor_next(struct loom_pg_cursor *cur)
{
    if (cur->_batch._res && cur->_row + 1 < loom_pg_nrows(&cur->_batch)) {
        cur->_row++;
        return 1;
    }
    loom_pg_result_clear(&cur->_batch);
    cur->_row = -1;
    if (cur->_end)
        return 0;
    ssize_t n = loom_pg_cursor_fetch(cur, cur->_prefetch, &cur->_batch);
    if (n < cur->_prefetch)
        cur->_end = true; /* a short batch is the last one */
    if (n <= 0) {
        loom_pg_result_clear(&cur->_batch);
        return (int)n;
    }
    cur->_row = 0;
    return 1;
}

const struct loom_pg_result *loom_pg_cursor_result(const struct loom_pg_cursor *cur)
{
    return &cur->_batch;
}

int loom_pg_cursor_row(const struct loom_pg_cursor *cur) { return cur->_row; }

int loom_pg_cursor_close(struct loom_pg_cursor *cur)
{
    loom_pg_result_clear(&cur->_batch);
    struct loom_pg *c = cur->_c;
    if (!c || !c->_pg || PQtransactionStatus(c->_pg) != PQTRANS_INTRANS)
        return 0; /* the cursor ended with its transaction */
    char sql[64];
    snprintf(sql, sizeof sql, "CLOSE %s", cur->_name);
    cur->_c = NULL;
    return (int)loom_pg_exec(c, NULL, sql);
}

/* --- single-row streaming: the stream keeps the connection busy until closed --- */

int loom_pg_stream_open(struct loom_pg *c, struct loom_pg_stream *st, const char *sql, int nparams,
                        const char *const *params)
{
    memset(st, 0, sizeof *st);
    st->_end = true;
    int rc = loom__pg_begin_op(c);
    if (rc < 0)
        return rc;
    if (!PQsendQueryParams(c->_pg, sql, nparams, NULL, params, NULL, NULL, 0) ||
        !PQsetSingleRowMode(c->_pg))
        return (int)loom__pg_end_op(c, loom__pg_conn_error(c));
    st->_c = c;
    st->_end = false;
    return 0;
}

/* Take the next result; 1 row, 0 end, or an error (the stream is then ended). */
static int stream_step(struct loom_pg_stream *st)
{
    struct loom_pg *c = st->_c;
    int rc = loom__pg_wait_ready(c, -1);
    if (loom__pg_stopped(rc)) {
        st->_end = true;
        return loom__pg_stop(c, rc);
    }
    if (rc < 0) {
        st->_end = true;
        return rc;
    }
    PGresult *res = PQgetResult(c->_pg);
    if (!res) {
        st->_end = true;
        return 0;
    }
    ExecStatusType s = PQresultStatus(res);
    if (s == PGRES_SINGLE_TUPLE) {
        PQclear(st->_row._res);
        st->_row._res = res;
        return 1;
    }
    if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK)
        rc = loom__pg_result_error(c, res);
    PQclear(res);
    if (rc < 0) {
        st->_end = true;
        loom__pg_drain(c);
        return rc;
    }
    return stream_step(st); /* the zero-row final result; NULL comes next */
}

int loom_pg_stream_next(struct loom_pg_stream *st)
{
    loom_pg_result_clear(&st->_row);
    if (st->_end)
        return 0;
    return stream_step(st);
}

const struct loom_pg_result *loom_pg_stream_result(const struct loom_pg_stream *st)
{
    return &st->_row;
}

int loom_pg_stream_close(struct loom_pg_stream *st)
{
    loom_pg_result_clear(&st->_row);
    struct loom_pg *c = st->_c;
    if (!c)
        return 0;
    st->_c = NULL;
    if (!st->_end && c->_pg)
        loom__pg_cancel(c); /* stop the server producing rows nobody reads */
    st->_end = true;
    return (int)loom__pg_end_op(c, 0);
}

/* --- LISTEN/NOTIFY --- */

/* Run "<verb> <quoted channel>". */
static int channel_cmd(struct loom_pg *c, const char *verb, const char *channel)
{
    if (!c->_pg)
        return loom__pg_set_error(c, -ECONNRESET, "08003", "connection is closed");
    char *id = PQescapeIdentifier(c->_pg, channel, strlen(channel));
    if (!id)
        return loom__pg_conn_error(c);
    size_t len = strlen(id) + strlen(verb) + 2;
    char *sql = malloc(len);
    int rc = -ENOMEM;
    if (sql) {
        snprintf(sql, len, "%s %s", verb, id);
        rc = (int)loom_pg_exec(c, NULL, sql);
        free(sql);
    }
    PQfreemem(id);
    return rc;
}

int loom_pg_listen(struct loom_pg *c, const char *channel)
{
    return channel_cmd(c, "LISTEN", channel);
}

int loom_pg_unlisten(struct loom_pg *c, const char *channel)
{
    if (!channel)
        return (int)loom_pg_exec(c, NULL, "UNLISTEN *");
    return channel_cmd(c, "UNLISTEN", channel);
}

void loom_pg_set_notify_cb(struct loom_pg *c, loom_pg_notify_cb cb, void *arg)
{
    c->_notify_cb = cb;
    c->_notify_arg = arg;
    loom__pg_idle_watch(c);
    if (cb && !c->_busy)
        loom__pg_events(c); /* any that came before */
}

int loom_pg_notify_wait(struct loom_pg *c, struct loom_pg_notify *n, int64_t timeout_ns)
{
    memset(n, 0, sizeof *n);
    if (c->_notify_cb)
        return -EINVAL; /* they go to the callback */
    int rc = loom__pg_begin_op(c);
    if (rc < 0)
        return rc;
    int64_t deadline = loom_deadline(c->_loop, timeout_ns);
    for (;;) {
        PGnotify *pn = PQnotifies(c->_pg);
        if (pn) {
            n->_n = pn;
            n->channel = pn->relname;
            n->payload = pn->extra;
            n->pid = pn->be_pid;
            break;
        }
        rc = loom__pg_wait_fd(c, LOOM_READABLE, deadline);
        if (rc < 0)
            break;
        if (!PQconsumeInput(c->_pg)) {
            rc = loom__pg_conn_error(c);
            break;
        }
    }
    return (int)loom__pg_end_op(c, rc);
}

void loom_pg_notify_clear(struct loom_pg_notify *n)
{
    if (n->_n)
        PQfreemem(n->_n);
    memset(n, 0, sizeof *n);
}
