/* pg.c - connections, waiting on libpq's socket, queries, results.
 *
 * libpq runs in non-blocking mode: we send with PQsend*, flush with PQflush
 * and feed input with PQconsumeInput whenever the socket is ready, then take
 * results while PQisBusy() says they are complete. The watcher stays
 * registered between waits (level-triggered) and is re-created only when
 * libpq changes sockets (during connect, or when the connection dies). */
#include "db/pg_internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reactor/executor.h"
#include "reactor/park.h"

static void copy_msg(char *dst, const char *src)
{
    snprintf(dst, LOOM_PG_ERRMSG, "%s", src ? src : "");
    size_t n = strlen(dst);
    while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == ' '))
        dst[--n] = 0;
}

int loom__pg_set_error(struct loom_pg *c, int code, const char *sqlstate, const char *msg)
{
    snprintf(c->_sqlstate, sizeof c->_sqlstate, "%s", sqlstate ? sqlstate : "");
    copy_msg(c->_msg, msg);
    c->_detail[0] = 0;
    return code;
}

int loom__pg_result_error(struct loom_pg *c, const PGresult *res)
{
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    loom__pg_set_error(c, LOOM_EPG, PQresultErrorField(res, PG_DIAG_SQLSTATE),
                       msg ? msg : PQresultErrorMessage(res));
    copy_msg(c->_detail, PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (sev && (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0))
        copy_msg(c->_fatal, c->_msg); /* why the session ends, for the term callback */
    return loom__pg_error_code(c->_sqlstate);
}

int loom__pg_error_code(const char *sqlstate)
{
    if (sqlstate && (strcmp(sqlstate, "57014") == 0 || strcmp(sqlstate, "55P03") == 0))
        return -ETIMEDOUT;
    return LOOM_EPG;
}

/* --- events: notifications and loss reported to callbacks --- */

void loom__pg_events(struct loom_pg *c)
{
    PGnotify *n;
    while (c->_notify_cb && c->_pg && (n = PQnotifies(c->_pg))) {
        c->_notify_cb(c->_notify_arg, n->relname, n->extra, n->be_pid);
        PQfreemem(n);
    }
    if (c->_term_pending) {
        loom_pg_term_cb cb = c->_term_cb;
        c->_term_pending = false;
        c->_term_cb = NULL; /* once */
        if (cb)
            cb(c->_term_arg, c, c->_fatal[0] ? c->_fatal : c->_msg);
    }
}

/* Between calls, watch the socket for notifications and loss while a
 * callback wants them (level-triggered: on_io reads whatever is there). */
void loom__pg_idle_watch(struct loom_pg *c)
{
    if (c->_io.fd < 0 || c->_busy || c->_io.data)
        return;
    if (c->_pg && (c->_notify_cb || c->_term_cb))
        loom_io_start(&c->_io, LOOM_READABLE);
    else
        loom_io_stop(&c->_io, LOOM_READABLE | LOOM_WRITABLE);
}

static void on_io(struct loom_io *io, unsigned revents)
{
    if (io->data) { /* a task waits in loom__pg_wait_fd */
        loom_io_stop(io, LOOM_READABLE | LOOM_WRITABLE);
        loom_wake(io->data, 0);
        return;
    }
    struct loom_pg *c = (struct loom_pg *)((char *)io - offsetof(struct loom_pg, _io));
    if (c->_busy || !c->_pg) { /* between two waits of a call: it reads */
        loom_io_stop(io, LOOM_READABLE | LOOM_WRITABLE);
        return;
    }
    bool ok = PQconsumeInput(c->_pg);
    PQisBusy(c->_pg); /* parses what came: notices (a FATAL one before EOF), notifications */
    if (!ok || PQstatus(c->_pg) == CONNECTION_BAD)
        loom__pg_conn_error(c); /* drops it: the term callback below */
    else
        loom__pg_idle_watch(c);
    loom__pg_events(c); /* last: a term callback may let go of c */
}

/* Follow libpq's socket: (re)create the watcher when the fd changed or force. */
static int watch_socket(struct loom_pg *c, bool force)
{
    int fd = c->_pg ? PQsocket(c->_pg) : -1;
    if (fd == c->_io.fd && !force)
        return 0;
    if (c->_io.fd >= 0)
        loom_io_close(&c->_io);
    c->_io.fd = -1;
    if (fd < 0)
        return 0;
    int rc = loom_io_init(c->_loop, &c->_io, fd, on_io);
    if (rc < 0)
        c->_io.fd = -1;
    return rc;
}

void loom__pg_drop(struct loom_pg *c)
{
    if (c->_pg && c->_term_cb)
        c->_term_pending = true;
    /* A task parked on the socket would never hear from the closed watcher:
     * wake it; loom__pg_wait_fd sees _pg gone and says -ECONNRESET. */
    if (c->_io.data)
        loom_wake(c->_io.data, -ECONNRESET);
    if (c->_io.fd >= 0)
        loom_io_close(&c->_io);
    c->_io.fd = -1;
    if (c->_pg)
        PQfinish(c->_pg);
    c->_pg = NULL;
    c->_depth = 0;
}

int loom__pg_conn_error(struct loom_pg *c)
{
    loom__pg_set_error(c, LOOM_EPG, "", c->_pg ? PQerrorMessage(c->_pg) : "connection closed");
    if (c->_pg && PQstatus(c->_pg) != CONNECTION_BAD)
        return LOOM_EPG;
    if (!c->_sqlstate[0])
        snprintf(c->_sqlstate, sizeof c->_sqlstate, "08006");
    loom__pg_drop(c);
    return -ECONNRESET;
}

int loom__pg_wait_fd(struct loom_pg *c, unsigned ev, int64_t deadline)
{
    struct loom_task *t = loom_task_current();
    if (c->_io.fd < 0)
        return -ECONNRESET;
    c->_io.data = t;
    loom_io_start(&c->_io, ev);
    int rc = c->_cleanup > 0 ? loom_park_unscoped(t, deadline) : loom_park(t, deadline);
    loom_io_stop(&c->_io, LOOM_READABLE | LOOM_WRITABLE); /* harmless once closed */
    c->_io.data = NULL;
    if (rc == 0 && !c->_pg)
        rc = -ECONNRESET; /* dropped while we were parked (loom__pg_drop) */
    return rc;
}

int loom__pg_wait_ready(struct loom_pg *c, int64_t deadline)
{
    for (;;) {
        if (!c->_pg) /* closed between two calls (a stream or cursor left open) */
            return loom__pg_conn_error(c);
        int f = PQflush(c->_pg);
        if (f < 0)
            return loom__pg_conn_error(c);
        if (f == 0 && !PQisBusy(c->_pg))
            return 0;
        int rc = loom__pg_wait_fd(c, f ? LOOM_READABLE | LOOM_WRITABLE : LOOM_READABLE, deadline);
        if (rc < 0)
            return rc;
        if (!PQconsumeInput(c->_pg))
            return loom__pg_conn_error(c);
    }
}

int loom__pg_begin_op(struct loom_pg *c)
{
    if (!loom_task_current())
        return -EPERM;
    if (!c->_pg)
        return loom__pg_set_error(c, -ECONNRESET, "08003", "connection is closed");
    if (c->_busy)
        return -EBUSY;
    c->_busy = true;
    c->_sqlstate[0] = c->_msg[0] = c->_detail[0] = 0;
    return 0;
}

ssize_t loom__pg_end_op(struct loom_pg *c, ssize_t rc)
{
    loom__pg_cancel_wait(c);
    c->_busy = false;
    if (c->_close_pending) { /* closed by another task during this operation */
        c->_close_pending = false;
        loom__pg_stmts_free(c);
        if (rc >= 0 || rc == LOOM_EPG || !c->_msg[0])
            loom__pg_set_error(c, 0, "08003", "connection closed during the operation");
        return rc >= 0 || rc == LOOM_EPG ? -ECONNRESET : rc;
    }
    if (c->_pg && PQstatus(c->_pg) == CONNECTION_BAD) {
        loom__pg_conn_error(c);
        if (rc >= 0 || rc == LOOM_EPG)
            rc = -ECONNRESET;
    }
    loom__pg_idle_watch(c);
    loom__pg_events(c);
    return rc;
}

ssize_t loom__pg_rows(const PGresult *res)
{
    if (PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_SINGLE_TUPLE)
        return PQntuples(res);
    return atol(PQcmdTuples((PGresult *)res));
}

/* --- cancellation: PQcancel blocks (it opens a new connection and waits
 * until the server has handled the request), so it runs on an executor
 * thread, driven by a small task of its own: the caller's deadline scope or a
 * second cancellation cannot unqueue it. The request is shared by the
 * connection, that task and the thread (refs). --- */

struct loom__pg_cancel {
    PGcancel *pc;
    atomic_int refs;
    bool done;                /* the server has handled it (or it failed) */
    struct loom_task *waiter; /* parked in loom__pg_cancel_wait */
};

static void cancel_put(struct loom__pg_cancel *q)
{
    if (atomic_fetch_sub(&q->refs, 1) == 1) {
        PQfreeCancel(q->pc);
        free(q);
    }
}

static intptr_t cancel_job(void *arg)
{
    struct loom__pg_cancel *q = arg;
    char err[256];
    int ok = PQcancel(q->pc, err, sizeof err);
    cancel_put(q);
    return ok ? 0 : -EIO;
}

static intptr_t cancel_task(void *arg)
{
    struct loom__pg_cancel *q = arg;
    atomic_fetch_add(&q->refs, 1); /* the job's */
    loom_to_thread(cancel_job, q);
    q->done = true;
    if (q->waiter)
        loom_wake(q->waiter, 0);
    cancel_put(q);
    return 0;
}

static void cancel_release(struct loom_pg *c)
{
    if (c->_cancel) {
        if (c->_cancel->waiter) /* closed under loom__pg_cancel_wait */
            loom_wake(c->_cancel->waiter, -ECONNRESET);
        cancel_put(c->_cancel);
        c->_cancel = NULL;
        c->_cleanup--;
    }
}

void loom__pg_send_cancel(struct loom_pg *c)
{
    if (!c->_pg)
        return;
    loom__pg_cancel_wait(c); /* one at a time */
    struct loom__pg_cancel *q = calloc(1, sizeof *q);
    if (!q || !(q->pc = PQgetCancel(c->_pg))) {
        free(q);
        return;
    }
    atomic_init(&q->refs, 2); /* the connection's and the task's */
    struct loom_task_options o = {.name = "pg-cancel"};
    if (loom_task_spawn(c->_loop, cancel_task, q, &o, NULL) < 0) {
        PQfreeCancel(q->pc);
        free(q);
        return;
    }
    c->_cancel = q;
    c->_cleanup++;
}

void loom__pg_cancel_wait(struct loom_pg *c)
{
    struct loom__pg_cancel *q = c->_cancel;
    if (!q)
        return;
    struct loom_task *self = loom_task_current();
    int64_t deadline = loom_deadline(c->_loop, LOOM__PG_CANCEL_GRACE);
    int rc = 0;
    atomic_fetch_add(&q->refs, 1); /* loom_pg_close may let go of c's meanwhile */
    while (!q->done && rc == 0 && self) {
        q->waiter = self;
        rc = loom_park_unscoped(self, deadline);
        q->waiter = NULL;
    }
    bool done = q->done;
    cancel_put(q);
    if (c->_cancel != q)
        return;
    if (!done) /* it could still land on the next command: give up the session */
        loom__pg_drop(c);
    cancel_release(c);
}

int loom__pg_stop(struct loom_pg *c, int rc)
{
    loom__pg_cancel(c);
    bool dl = rc == -ETIMEDOUT;
    if (c->_pg)
        return loom__pg_set_error(c, rc, "57014",
                                  dl ? "deadline passed: statement cancelled"
                                     : "task cancelled: statement cancelled");
    return loom__pg_set_error(c, rc, "08006",
                              dl ? "deadline passed: statement cancelled, but the server did not "
                                   "answer in time: connection closed"
                                 : "task cancelled: statement cancelled, but the server did not "
                                   "answer in time: connection closed");
}

void loom__pg_cancel(struct loom_pg *c)
{
    loom__pg_send_cancel(c);
    loom__pg_drain(c);
}

int loom__pg_drain(struct loom_pg *c)
{
    int64_t deadline = loom_deadline(c->_loop, LOOM__PG_CANCEL_GRACE);
    int rc = -ECONNRESET;
    c->_cleanup++; /* reading out is cleanup: a passed deadline scope must not cut it */
    while (c->_pg) {
        rc = loom__pg_wait_ready(c, deadline);
        if (rc < 0) {
            loom__pg_drop(c);
            break;
        }
        PGresult *res = PQgetResult(c->_pg);
        if (!res)
            break;
        ExecStatusType st = PQresultStatus(res);
        PQclear(res);
        if (loom__pg_is_copy(st) && (rc = loom__pg_copy_refuse(c, st)) < 0)
            break;
    }
    c->_cleanup--;
    return c->_pg || rc < 0 ? rc : -ECONNRESET;
}

ssize_t loom__pg_collect(struct loom_pg *c, struct loom_pg_result *r)
{
    ssize_t out = 0;
    for (;;) {
        int rc = loom__pg_wait_ready(c, -1);
        if (loom__pg_stopped(rc))
            return loom__pg_stop(c, rc);
        if (rc < 0)
            return rc;
        PGresult *res = PQgetResult(c->_pg);
        if (!res)
            return out;
        ExecStatusType st = PQresultStatus(res);
        if (loom__pg_is_copy(st)) { /* would spin: a COPY needs loom_pg_copy_in/out */
            PQclear(res);
            if (out >= 0)
                out = loom__pg_set_error(c, LOOM_EPG, "0A000",
                                         "COPY needs loom_pg_copy_in or loom_pg_copy_out");
            rc = loom__pg_copy_refuse(c, st);
            if (rc < 0)
                return rc;
            continue;
        }
        if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
            if (out >= 0)
                out = loom__pg_result_error(c, res);
            PQclear(res);
            continue;
        }
        if (out >= 0)
            out = loom__pg_rows(res);
        if (r && out >= 0) {
            PQclear(r->_res);
            r->_res = res;
        } else {
            PQclear(res);
        }
    }
}

/* --- connect --- */

static void ignore_notice(void *arg, const char *message) {}

static int connect_fail(struct loom_pg *c, int rc)
{
    if (rc == -ETIMEDOUT)
        loom__pg_set_error(c, rc, "08001", "timeout expired while connecting");
    else if (rc == -ECANCELED)
        loom__pg_set_error(c, rc, "", "connect cancelled");
    else if (rc == LOOM_EPG)
        loom__pg_set_error(c, rc, "08001", PQerrorMessage(c->_pg));
    loom__pg_drop(c);
    return rc;
}

int loom_pg_connect(struct loom_pg *c, const char *conninfo, int64_t timeout_ns)
{
    memset(c, 0, sizeof *c);
    c->_io.fd = -1;
    loom_list_init(&c->_pool_node);
    loom_list_init(&c->_pipe);
    if (!loom_task_current())
        return -EPERM;
    c->_loop = loom_loop_current();
    const char *keys[] = {"dbname", NULL}, *vals[] = {conninfo, NULL};
    c->_pg = PQconnectStartParams(keys, vals, 1);
    if (!c->_pg)
        return loom__pg_set_error(c, -ENOMEM, "", "out of memory");
    if (PQstatus(c->_pg) == CONNECTION_BAD)
        return connect_fail(c, LOOM_EPG);
    int64_t deadline = loom_deadline(c->_loop, timeout_ns);
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED)
            return connect_fail(c, LOOM_EPG);
        /* libpq may have switched sockets (next address, SSL retry): re-register */
        int rc = watch_socket(c, true);
        if (rc == 0)
            rc = loom__pg_wait_fd(c, st == PGRES_POLLING_READING ? LOOM_READABLE : LOOM_WRITABLE,
                                  deadline);
        if (rc < 0)
            return connect_fail(c, rc);
        st = PQconnectPoll(c->_pg);
    }
    PQsetNoticeProcessor(c->_pg, ignore_notice, NULL);  /* a library never prints */
    PQsetNoticeReceiver(c->_pg, loom__pg_notice_rx, c); /* FATAL texts, loom_pg_set_notice_cb */
    if (PQsetnonblocking(c->_pg, 1) < 0 || watch_socket(c, true) < 0)
        return connect_fail(c, LOOM_EPG);
    return 0;
}

void loom_pg_close(struct loom_pg *c)
{
    bool parked = c->_io.data != NULL; /* another task is inside an operation on c */
    c->_term_cb = NULL;                /* not a loss */
    c->_notify_cb = NULL;
    cancel_release(c);
    loom__pg_drop(c); /* wakes it */
    if (parked && c->_busy)
        c->_close_pending = true; /* it may still use the statement cache: it frees it */
    else
        loom__pg_stmts_free(c);
}

/* --- accessors --- */

const char *loom_pg_sqlstate(const struct loom_pg *c) { return c->_sqlstate; }
const char *loom_pg_errmsg(const struct loom_pg *c) { return c->_msg; }
const char *loom_pg_errdetail(const struct loom_pg *c) { return c->_detail; }
bool loom_pg_broken(const struct loom_pg *c) { return c->_pg == NULL; }
int loom_pg_server_version(const struct loom_pg *c) { return c->_pg ? PQserverVersion(c->_pg) : 0; }
int loom_pg_backend_pid(const struct loom_pg *c) { return c->_pg ? PQbackendPID(c->_pg) : 0; }
PGconn *loom_pg_raw(struct loom_pg *c) { return c->_pg; }

void loom_pg_set_term_cb(struct loom_pg *c, loom_pg_term_cb cb, void *arg)
{
    c->_term_cb = cb;
    c->_term_arg = arg;
    loom__pg_idle_watch(c);
}
int loom_pg_depth(const struct loom_pg *c) { return c->_depth; }

/* --- results --- */

void loom_pg_result_clear(struct loom_pg_result *r)
{
    PQclear(r->_res);
    r->_res = NULL;
}

int loom_pg_nrows(const struct loom_pg_result *r) { return r->_res ? PQntuples(r->_res) : 0; }
int loom_pg_ncols(const struct loom_pg_result *r) { return r->_res ? PQnfields(r->_res) : 0; }

int loom_pg_col(const struct loom_pg_result *r, const char *name)
{
    return r->_res ? PQfnumber(r->_res, name) : -1;
}

const char *loom_pg_colname(const struct loom_pg_result *r, int col)
{
    const char *n = r->_res ? PQfname(r->_res, col) : NULL;
    return n ? n : "";
}

bool loom_pg_has_rows(const struct loom_pg_result *r)
{
    ExecStatusType st = r->_res ? PQresultStatus(r->_res) : PGRES_EMPTY_QUERY;
    return st == PGRES_TUPLES_OK || st == PGRES_SINGLE_TUPLE;
}

const char *loom_pg_status(const struct loom_pg_result *r)
{
    return r->_res ? PQcmdStatus(r->_res) : "";
}

bool loom_pg_isnull(const struct loom_pg_result *r, int row, int col)
{
    return !r->_res || row < 0 || row >= PQntuples(r->_res) || col < 0 ||
           col >= PQnfields(r->_res) || PQgetisnull(r->_res, row, col);
}

const char *loom_pg_text(const struct loom_pg_result *r, int row, int col)
{
    return loom_pg_isnull(r, row, col) ? "" : PQgetvalue(r->_res, row, col);
}

int loom_pg_int(const struct loom_pg_result *r, int row, int col)
{
    return (int)strtol(loom_pg_text(r, row, col), NULL, 10);
}

int64_t loom_pg_int64(const struct loom_pg_result *r, int row, int col)
{
    return strtoll(loom_pg_text(r, row, col), NULL, 10);
}

double loom_pg_double(const struct loom_pg_result *r, int row, int col)
{
    return strtod(loom_pg_text(r, row, col), NULL);
}

bool loom_pg_bool(const struct loom_pg_result *r, int row, int col)
{
    const char *t = loom_pg_text(r, row, col);
    return t[0] == 't' || t[0] == 'T' || t[0] == '1' || t[0] == 'y' || t[0] == 'Y';
}
