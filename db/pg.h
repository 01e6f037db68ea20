/* pg.h - PostgreSQL from tasks: a libpq adapter driven by the reactor, and a pool.
 *
 * Every call marked "Suspends" must run inside a task; it waits for the
 * server without blocking the thread and can end in -ECANCELED (or
 * -ETIMEDOUT where a timeout applies). A connection runs one operation at a
 * time: a second task using it meanwhile gets -EBUSY.
 *
 * Errors: LOOM_EPG means the server (or libpq) reported an error: its
 * SQLSTATE, message and detail are kept on the connection until the next
 * operation (loom_pg_sqlstate / loom_pg_errmsg / loom_pg_errdetail).
 * -ECONNRESET means the connection was lost (loom_pg_broken() is then true).
 *
 * Deadlines: every suspending call here honours the task's deadline scope
 * (loom_timeout_enter, reactor/task.h) besides its own timeout argument, if
 * any. When a scope's deadline passes or the task is cancelled in the middle
 * of a statement, the server is asked to cancel it (PQcancel, on an executor
 * thread), its remaining results are read out and the call returns
 * -ETIMEDOUT or -ECANCELED (SQLSTATE 57014, errmsg "deadline passed..." /
 * "task cancelled...") with the connection usable. That read-out ignores the
 * scope and is bounded by 5 s; the call also waits until the server has taken
 * the cancel request, so it can never hit the next statement. If either does
 * not happen in time the connection is closed (broken). An interrupted
 * transaction statement leaves the transaction aborted: end it (loom_pg_end,
 * loom_pg_rollback) outside the expired scope.
 *
 * Server-side timeouts read as -ETIMEDOUT too, with the server's SQLSTATE
 * and message kept: 57014 (statement_timeout, or pg_cancel_backend from
 * another session) and 55P03 (lock_timeout). Every other server error is
 * LOOM_EPG.
 *
 * Parameters are text (NULL = SQL NULL), as in psql; results are text with
 * typed accessors. loom_pg_query() prepares each distinct SQL text once per
 * connection and reuses the statement afterwards, as asyncpg does. */
#ifndef LOOM_DB_PG_H
#define LOOM_DB_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loom/reactor/list.h"
#include "loom/reactor/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

enum {
    LOOM_PG_STMT_CACHE = 256, /* prepared statements kept per connection */
    LOOM_PG_ERRMSG = 512,     /* bytes kept of an error message / detail */
};

struct loom_pg_stmt;
struct loom_pg_pool;
struct loom_pg_notice;
/* Receives a connection's notices (loom_pg_set_notice_cb). */
typedef void (*loom_pg_notice_cb)(void *arg, const struct loom_pg_notice *n);
struct loom_pg;
struct loom__pg_cancel;
/* A notification (LISTEN) for loom_pg_set_notify_cb; views valid during the call. */
typedef void (*loom_pg_notify_cb)(void *arg, const char *channel, const char *payload, int pid);
/* The connection was lost (server shutdown, pg_terminate_backend, network);
 * why: libpq's or the server's message. */
typedef void (*loom_pg_term_cb)(void *arg, struct loom_pg *c, const char *why);

/* A connection. Caller-owned; fields with a leading _ are private. */
struct loom_pg {
    PGconn *_pg;
    struct loom_loop *_loop;
    struct loom_io _io;          /* watcher on libpq's socket (fd -1: none) */
    bool _busy;                  /* an operation is running */
    int _depth;                  /* transaction nesting: 0 none, 1 BEGIN, >1 savepoints */
    struct loom_pg_stmt *_stmts; /* statement cache, open addressing */
    unsigned _nstmts;
    unsigned _stmt_seq;          /* names loom_s<N> */
    struct loom_pg_pool *_pool;  /* owning pool, or NULL */
    struct loom_list _pool_node; /* on the pool's idle list */
    bool _reset_pending;         /* pool: a ROLLBACK was sent, its result not read */
    struct loom_list _pipe;      /* pool query: requests in flight, oldest first */
    int _pipe_len;
    struct loom_task *_reader;    /* pool query: the task reading results, or NULL */
    int _refs;                    /* pool query: calls using this shared connection */
    bool _failed;                 /* pool query: lost; retired when _refs drops to 0 */
    long _uses;                   /* pool: acquires + pooled queries served (max_queries) */
    int64_t _idle_since;          /* pool: when it went on the idle list (max_idle_ns) */
    bool _close_pending;          /* closed during an operation: it frees the cache */
    loom_pg_notice_cb _notice_cb; /* loom_pg_set_notice_cb, or NULL */
    void *_notice_arg;
    loom_pg_notify_cb _notify_cb; /* loom_pg_set_notify_cb, or NULL */
    void *_notify_arg;
    loom_pg_term_cb _term_cb; /* loom_pg_set_term_cb, or NULL */
    void *_term_arg;
    struct loom__pg_cancel *_cancel; /* a cancel request still being sent */
    int _cleanup;                    /* > 0: waits ignore deadline scopes (cleanup) */
    bool _term_pending;              /* lost: _term_cb is still to be called */
    char _fatal[LOOM_PG_ERRMSG];     /* the server's last FATAL message, "" if none */
    char _sqlstate[6];
    char _msg[LOOM_PG_ERRMSG];
    char _detail[LOOM_PG_ERRMSG];
};

/* A result. Zero-initialise (or let a query fill it); free with loom_pg_result_clear(). */
struct loom_pg_result {
    PGresult *_res;
};

/* A server-side cursor (DECLARE ... CURSOR), fetched in batches. */
struct loom_pg_cursor {
    struct loom_pg *_c;
    struct loom_pg_result _batch; /* the current batch */
    int _row;                     /* next row of _batch */
    int _prefetch;                /* rows per FETCH */
    bool _end;
    char _name[32];
};

/* A query streamed one row at a time (libpq single-row mode): flat memory. */
struct loom_pg_stream {
    struct loom_pg *_c;
    struct loom_pg_result _row; /* the current row */
    bool _end;
};

/* An error kept apart from any connection (loom_pg_pool_query). */
struct loom_pg_error {
    /* the SQLSTATE ("23505"), "" if the error was not the server's */
    char sqlstate[6];
    /* the message and its detail, truncated to fit; "" if none */
    char msg[LOOM_PG_ERRMSG];
    char detail[LOOM_PG_ERRMSG];
};

/* A notification from LISTEN. Free with loom_pg_notify_clear(). */
struct loom_pg_notify {
    const char *channel; /* views into _n */
    /* the NOTIFY payload ("" if none) */
    const char *payload;
    int pid; /* the notifying backend */
    PGnotify *_n;
};

/* Fills params (nparams entries) for row i of an executemany; the strings
 * must stay valid until the next call. Return 0, or a negative code to stop. */
typedef int (*loom_pg_row_cb)(void *arg, size_t i, const char **params);

/* Fills buf with up to cap bytes of COPY data; returns the count, 0 at the
 * end, or a negative code to abort the COPY. */
typedef ssize_t (*loom_pg_copy_cb)(void *arg, char *buf, size_t cap);

/* --- connections --- */

/* Connect with a libpq conninfo string ("host=... dbname=..." or a URI)
 * without blocking, giving up after timeout_ns (-1: libpq's own
 * connect_timeout only). Returns 0, LOOM_EPG (errmsg says why: refused,
 * authentication, ...), -ETIMEDOUT, -ECANCELED or -ENOMEM. On failure
 * nothing needs closing and the error accessors still work. Suspends. */
int loom_pg_connect(struct loom_pg *c, const char *conninfo, int64_t timeout_ns);

/* Close the connection (an open transaction is rolled back by the server).
 * If another task is inside an operation on c, that operation ends with
 * -ECONNRESET (SQLSTATE 08003); c's memory must stay valid until it returned. */
void loom_pg_close(struct loom_pg *c);

/* --- queries --- */

/* Run sql with nparams text parameters ($1..$n), through the prepared-
 * statement cache. r (may be NULL) receives the rows: clear it afterwards.
 * Returns the rows returned (SELECT, RETURNING) or affected (INSERT, UPDATE,
 * DELETE, ...), else 0; LOOM_EPG, -ECONNRESET, -EBUSY, -ECANCELED. Suspends. */
ssize_t loom_pg_query(struct loom_pg *c, struct loom_pg_result *r, const char *sql, int nparams,
                      const char *const *params);

/* Like loom_pg_query but never prepares (one-off statements). Suspends. */
ssize_t loom_pg_query_once(struct loom_pg *c, struct loom_pg_result *r, const char *sql,
                           int nparams, const char *const *params);

/* Run one or more ;-separated statements without parameters (simple query
 * protocol); r gets the last statement's result. Returns as loom_pg_query. Suspends. */
ssize_t loom_pg_exec(struct loom_pg *c, struct loom_pg_result *r, const char *sql);

/* Prepare sql as the named statement. 0, LOOM_EPG, ... Suspends. */
int loom_pg_prepare(struct loom_pg *c, const char *name, const char *sql, int nparams);

/* Run a named prepared statement. Returns as loom_pg_query. Suspends. */
ssize_t loom_pg_exec_prepared(struct loom_pg *c, struct loom_pg_result *r, const char *name,
                              int nparams, const char *const *params);

/* --- transactions: BEGIN at depth 0, SAVEPOINTs inside --- */

/* Start a transaction, or a savepoint inside one. 0 or an error. Suspends. */
int loom_pg_begin(struct loom_pg *c);
/* Commit (or release the savepoint). 0 or an error; on error the level is rolled back. Suspends. */
int loom_pg_commit(struct loom_pg *c);
/* Roll back the innermost level. 0 or an error. Suspends. */
int loom_pg_rollback(struct loom_pg *c);
/* End the innermost level by rc: commit when rc >= 0, else roll back and
 * return rc unchanged (the natural tail of a block). Suspends. */
int loom_pg_end(struct loom_pg *c, int rc);
/* Run fn(c, arg) inside begin/end; returns fn's result or the commit error. Suspends. */
int loom_pg_transaction(struct loom_pg *c, int (*fn)(struct loom_pg *c, void *arg), void *arg);
/* Current nesting depth (0: no transaction). */
int loom_pg_depth(const struct loom_pg *c);

/* Transaction options (asyncpg's isolation, readonly, deferrable). */
enum loom_pg_isolation {
    LOOM_PG_ISOLATION_DEFAULT = 0, /* the session's default_transaction_isolation */
    LOOM_PG_READ_COMMITTED,
    LOOM_PG_REPEATABLE_READ,
    LOOM_PG_SERIALIZABLE,
};
/* Options for loom_pg_begin_with; zero-initialised means none. */
struct loom_pg_txn_options {
    enum loom_pg_isolation isolation; /* ISOLATION LEVEL, or the session's default */
    bool read_only;                   /* READ ONLY */
    bool deferrable;                  /* wait for a safe snapshot (SERIALIZABLE READ ONLY only) */
};
/* loom_pg_begin with options (NULL: none). Inside a transaction only a
 * savepoint can start, so options other than the defaults give -EINVAL and
 * nothing is sent. A serialization failure later reads as LOOM_EPG with
 * SQLSTATE 40001: retry the whole transaction. Suspends. */
int loom_pg_begin_with(struct loom_pg *c, const struct loom_pg_txn_options *o);
/* loom_pg_transaction with options. Suspends. */
int loom_pg_transaction_with(struct loom_pg *c, const struct loom_pg_txn_options *o,
                             int (*fn)(struct loom_pg *c, void *arg), void *arg);

/* --- streaming --- */

/* Declare a server-side cursor for sql (must be inside a transaction),
 * fetching prefetch rows per round trip (0: 50). 0 or an error. Suspends. */
int loom_pg_cursor_open(struct loom_pg *c, struct loom_pg_cursor *cur, const char *sql, int nparams,
                        const char *const *params, int prefetch);
/* Advance to the next row: 1 (read it with loom_pg_cursor_result(), row
 * loom_pg_cursor_row()), 0 at the end, or an error. Suspends. */
int loom_pg_cursor_next(struct loom_pg_cursor *cur);
/* Skip n rows on the server (MOVE FORWARD n); returns how many were skipped. Suspends. */
ssize_t loom_pg_cursor_move(struct loom_pg_cursor *cur, long n);
/* Fetch up to n rows into r (FETCH n); returns the count. Suspends. */
ssize_t loom_pg_cursor_fetch(struct loom_pg_cursor *cur, long n, struct loom_pg_result *r);
/* The batch holding the current row, and its index. Views until the next call. */
const struct loom_pg_result *loom_pg_cursor_result(const struct loom_pg_cursor *cur);
int loom_pg_cursor_row(const struct loom_pg_cursor *cur);
/* CLOSE the cursor and free its batch (0 or an error). Suspends. */
int loom_pg_cursor_close(struct loom_pg_cursor *cur);

/* Start sql in single-row mode. 0 or an error. Suspends. */
int loom_pg_stream_open(struct loom_pg *c, struct loom_pg_stream *st, const char *sql, int nparams,
                        const char *const *params);
/* Next row: 1 (row 0 of loom_pg_stream_result()), 0 at the end, or an error. Suspends. */
int loom_pg_stream_next(struct loom_pg_stream *st);
/* The current row's result (the row is its row 0); valid until the next call. */
const struct loom_pg_result *loom_pg_stream_result(const struct loom_pg_stream *st);
/* Finish: if rows are left, the query is cancelled on the server. Suspends. */
int loom_pg_stream_close(struct loom_pg_stream *st);

/* --- bulk --- */

/* Run sql once per row i < nrows in pipeline mode, parameters from cb, all in
 * one implicit transaction (all or nothing). Returns the total rows affected
 * or the first error. Suspends. */
ssize_t loom_pg_executemany(struct loom_pg *c, const char *sql, int nparams, size_t nrows,
                            loom_pg_row_cb cb, void *arg);
/* COPY ... FROM STDIN with data from cb. Returns the rows copied. Suspends. */
ssize_t loom_pg_copy_in(struct loom_pg *c, const char *sql, loom_pg_copy_cb cb, void *arg);

/* --- LISTEN/NOTIFY --- */

/* LISTEN on channel (an identifier, quoted for you). Suspends. */
int loom_pg_listen(struct loom_pg *c, const char *channel);
/* Stop listening on channel (NULL: on every channel, UNLISTEN *). Suspends. */
int loom_pg_unlisten(struct loom_pg *c, const char *channel);
/* Wait for a notification (at most timeout_ns, -1: forever). 0 (fill *n),
 * -ETIMEDOUT, -ECANCELED, -ECONNRESET; -EINVAL while a notify callback is set.
 * Suspends. */
int loom_pg_notify_wait(struct loom_pg *c, struct loom_pg_notify *n, int64_t timeout_ns);
/* Deliver c's notifications to cb from now on (NULL: back to
 * loom_pg_notify_wait): at the end of any call on c that read them, and while
 * c is idle straight from the loop (a watcher on its socket: no task needs to
 * wait). cb must not suspend, call into c or free it. c must not move. */
void loom_pg_set_notify_cb(struct loom_pg *c, loom_pg_notify_cb cb, void *arg);
/* Call cb once when c is found lost - at the end of a call, or while idle
 * (server shutdown or restart, pg_terminate_backend, a broken network) -
 * never for loom_pg_close. why is the server's FATAL message when it sent one
 * ("terminating connection due to administrator command"), else libpq's. cb
 * must not suspend or free c (close it later, from a task cb wakes). A pool
 * clears the callbacks (notice, notify, term) when a connection is released. */
void loom_pg_set_term_cb(struct loom_pg *c, loom_pg_term_cb cb, void *arg);
/* Free what *n holds and zero it. */
void loom_pg_notify_clear(struct loom_pg_notify *n);

/* --- results (views stay valid until the result is cleared) --- */

/* Free what r holds (r can be reused); safe on a cleared result. */
void loom_pg_result_clear(struct loom_pg_result *r);
/* Rows and columns of r. */
int loom_pg_nrows(const struct loom_pg_result *r);
int loom_pg_ncols(const struct loom_pg_result *r);
/* Column index by name, or -1. */
int loom_pg_col(const struct loom_pg_result *r, const char *name);
/* A column's name, "" if out of range. */
const char *loom_pg_colname(const struct loom_pg_result *r, int col);
/* Whether the result is a row set (SELECT, RETURNING, FETCH, SHOW), even an empty one. */
bool loom_pg_has_rows(const struct loom_pg_result *r);
/* The command status tag ("INSERT 0 1", "CREATE TABLE"). */
const char *loom_pg_status(const struct loom_pg_result *r);
/* True if the field is SQL NULL (or out of range). */
bool loom_pg_isnull(const struct loom_pg_result *r, int row, int col);
/* Text of a field ("" for NULL). */
const char *loom_pg_text(const struct loom_pg_result *r, int row, int col);
/* Typed fields: NULL or unparsable text reads as 0 / false. */
int loom_pg_int(const struct loom_pg_result *r, int row, int col);
int64_t loom_pg_int64(const struct loom_pg_result *r, int row, int col);
double loom_pg_double(const struct loom_pg_result *r, int row, int col);
bool loom_pg_bool(const struct loom_pg_result *r, int row, int col);

/* --- connection accessors --- */

/* SQLSTATE of the last error ("23505"), "" if none. */
const char *loom_pg_sqlstate(const struct loom_pg *c);
/* Message and detail of the last error, "" if none. */
const char *loom_pg_errmsg(const struct loom_pg *c);
const char *loom_pg_errdetail(const struct loom_pg *c);
/* True once the connection was lost. */
bool loom_pg_broken(const struct loom_pg *c);
/* The server version as an integer (150004), 0 if not connected. */
int loom_pg_server_version(const struct loom_pg *c);
/* The server process id serving this connection. */
int loom_pg_backend_pid(const struct loom_pg *c);
/* The libpq connection, for what this API does not cover (do not close it). */
PGconn *loom_pg_raw(struct loom_pg *c);

/* --- pool --- */

/* Options for loom_pg_pool_open(); zero-initialise and set what you need. */
struct loom_pg_pool_options {
    /* libpq connection string ("host=... dbname=..." or a URI) */
    const char *conninfo;
    int min_size;               /* opened by loom_pg_pool_open, and reopened in the
                                   background after losses (default 1) */
    int max_size;               /* at most this many connections (default 10) */
    int64_t connect_timeout_ns; /* per connect (default 10 s) */
    /* Run on a connection given back with loom_pg_pool_release (after
     * rolling back an open transaction) so the next user never sees this
     * one's session state. NULL: LOOM_PG_RESET_DEFAULT; "": no reset. One or
     * more ;-separated statements, no DISCARD ALL/PLANS (the statement cache
     * must survive). Sent without waiting; the next acquire reads its result. */
    const char *reset_sql;
    /* Run once on each new connection before anyone uses it (asyncpg's init),
     * with hook_arg; may query and suspend. Negative: the connection is closed
     * and that value is what loom_pg_pool_open / loom_pg_pool_acquire /
     * loom_pg_pool_query report (the background refill retries later, as
     * for a failed connect). Session settings it makes are undone by a
     * reset_sql with RESET ALL (the default) at the first release: use
     * conninfo's options=-c... or setup for those, or a reset_sql without it. */
    int (*init)(struct loom_pg *c, void *arg);
    /* Run on every loom_pg_pool_acquire before the caller gets c (asyncpg's
     * setup), with hook_arg; may query and suspend. Negative: c goes back
     * (reset, as by loom_pg_pool_release) and acquire returns that value.
     * Not run for loom_pg_pool_query's pipelined statements. */
    int (*setup)(struct loom_pg *c, void *arg);
    void *hook_arg; /* passed to init and setup */
    /* Close a connection instead of reusing it once it served this many uses
     * (asyncpg's max_queries); 0: no limit. A use is one acquire (however
     * many statements the holder ran) or one loom_pg_pool_query statement;
     * a connection pipelining pool queries is no longer picked once over
     * the limit and is closed when its pipeline drains. */
    long max_queries;
    /* Close a connection idle for longer than this (asyncpg's
     * max_inactive_connection_lifetime); 0: never. Checked without a timer,
     * at each acquire and release (and pool query needing a connection);
     * idle connections are closed even below min_size and min_size is then
     * reopened in the background, as asyncpg does. */
    int64_t max_idle_ns;
};

/* Release advisory locks, close cursors, stop listening, reset settings and
 * drop temporary tables (asyncpg's reset, plus DISCARD TEMP). */
#define LOOM_PG_RESET_DEFAULT                                                                      \
    "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL; DISCARD TEMP"

/* A pool of connections. Caller-owned; private fields. */
struct loom_pg_pool {
    char *_conninfo;
    char *_reset; /* "ROLLBACK; <reset_sql>" (the reset starts at _reset_at) */
    int _reset_at;
    int _min, _max;
    int64_t _connect_timeout;
    int _total; /* connections open or being opened */
    int _in_use;
    struct loom_list _idle;    /* struct loom_pg via _pool_node */
    struct loom_list _waiters; /* acquirers waiting */
    struct loom_list _shared;  /* connections pipelining loom_pg_pool_query()s */
    struct loom_task *_closer; /* waiting in loom_pg_pool_close */
    struct loom_loop *_loop;
    struct loom_task *_refiller; /* reconnecting up to min_size in the background */
    bool _closing;
    char _errmsg[LOOM_PG_ERRMSG]; /* why the last connect failed */
    int (*_init)(struct loom_pg *c, void *arg);
    int (*_setup)(struct loom_pg *c, void *arg);
    void *_hook_arg;
    long _max_queries;
    int64_t _max_idle;
};

/* Open the pool and its min_size connections. 0, or the first connect error
 * (nothing to close then). Suspends. */
int loom_pg_pool_open(struct loom_pg_pool *p, const struct loom_pg_pool_options *opt);

/* Get a connection within timeout_ns (-1: forever): an idle one (checked
 * alive), a new one while fewer than max_size exist, else wait for a release.
 * 0 and *out, -ETIMEDOUT, -ECANCELED (nothing leaks), -ESHUTDOWN, or a
 * connect error. Suspends. */
int loom_pg_pool_acquire(struct loom_pg_pool *p, struct loom_pg **out, int64_t timeout_ns);

/* Run one statement on the pool without holding a connection: queries of
 * many tasks are pipelined on the pool's connections (each with its own Sync,
 * so one failing does not affect the others) and go through the statement
 * cache. r (may be NULL) gets the rows, err (may be NULL) the error. Returns
 * as loom_pg_query, or an acquire error. A caller cancelled or past its
 * deadline scope gets -ECANCELED / -ETIMEDOUT and is never told its statement
 * was done. When no other caller waits on that connection, the server is asked
 * to cancel the statement and the connection is read out and kept (as
 * loom_pg_query does); when others' statements are queued behind it, it still
 * runs (a cancel request could hit theirs) and its result is dropped. If the
 * connection is lost, every
 * statement in flight or queued on it fails with -ECONNRESET, err holding
 * SQLSTATE 08006 and libpq's text (with the server's FATAL message when it
 * sent one); none is reported done. A failed connect gives LOOM_EPG with
 * SQLSTATE 08001 and libpq's text. Use acquire for transactions. Suspends. */
ssize_t loom_pg_pool_query(struct loom_pg_pool *p, struct loom_pg_result *r,
                           struct loom_pg_error *err, const char *sql, int nparams,
                           const char *const *params);

/* Give c back. An open transaction is rolled back and the session reset
 * (reset_sql; loom_pg_pool_query's pipelined statements are not reset, so
 * they should not change session state); a broken connection is
 * closed, and replaced in the background when the pool is below min_size
 * (else on demand). Never suspends. */
void loom_pg_pool_release(struct loom_pg_pool *p, struct loom_pg *c);

/* Stop handing out connections (waiting acquirers get -ESHUTDOWN), stop the
 * background refill, close the idle ones and wait at most timeout_ns for
 * those in use (pipelined statements included). 0, or -ETIMEDOUT with some
 * still in use (they are closed when released; call again later): p's memory
 * may go only after a 0. Suspends. */
int loom_pg_pool_close(struct loom_pg_pool *p, int64_t timeout_ns);

/* Why the pool's last connect failed (libpq's message), "" if none. */
const char *loom_pg_pool_errmsg(const struct loom_pg_pool *p);

/* Connections open (idle + in use), and in use. */
int loom_pg_pool_size(const struct loom_pg_pool *p);
int loom_pg_pool_in_use(const struct loom_pg_pool *p);

/* --- typed values (pg_types.c) ---
 *
 * Parameters carry their type OID and go in binary where PostgreSQL's binary
 * form is cheaper than text (numbers, dates, uuid, bytea); numeric and json
 * go as text (numeric stays exact: a decimal string, never a double).
 * loom_pg_query_typed() can ask for binary results: the loom_pg_cell_*
 * decoders read either format (date/time/timestamp/interval and arrays need
 * binary results), while loom_pg_text() only makes sense on text results.
 * Decoders return 0, -ENODATA for SQL NULL (so NULL is never read as 0 or
 * ""), -EINVAL for another type or malformed data, -ENOSPC for a short buffer. */

enum {
    LOOM_PG_BOOL = 16,
    LOOM_PG_BYTEA = 17,
    LOOM_PG_NAME = 19,
    LOOM_PG_INT8 = 20,
    LOOM_PG_INT2 = 21,
    LOOM_PG_INT4 = 23,
    LOOM_PG_TEXT = 25,
    LOOM_PG_JSON = 114,
    LOOM_PG_FLOAT4 = 700,
    LOOM_PG_FLOAT8 = 701,
    LOOM_PG_VARCHAR = 1043,
    LOOM_PG_DATE = 1082,
    LOOM_PG_TIME = 1083,
    LOOM_PG_TIMESTAMP = 1114,
    LOOM_PG_TIMESTAMPTZ = 1184,
    LOOM_PG_INTERVAL = 1186,
    LOOM_PG_NUMERIC = 1700,
    LOOM_PG_UUID = 2950,
    LOOM_PG_JSONB = 3802,
    /* one-dimensional arrays */
    LOOM_PG_BOOL_ARRAY = 1000,
    LOOM_PG_BYTEA_ARRAY = 1001,
    LOOM_PG_INT2_ARRAY = 1005,
    LOOM_PG_INT4_ARRAY = 1007,
    LOOM_PG_TEXT_ARRAY = 1009,
    LOOM_PG_VARCHAR_ARRAY = 1015,
    LOOM_PG_INT8_ARRAY = 1016,
    LOOM_PG_FLOAT4_ARRAY = 1021,
    LOOM_PG_FLOAT8_ARRAY = 1022,
    LOOM_PG_TIMESTAMP_ARRAY = 1115,
    LOOM_PG_DATE_ARRAY = 1182,
    LOOM_PG_TIME_ARRAY = 1183,
    LOOM_PG_TIMESTAMPTZ_ARRAY = 1185,
    LOOM_PG_INTERVAL_ARRAY = 1187,
    LOOM_PG_JSON_ARRAY = 199,
    LOOM_PG_NUMERIC_ARRAY = 1231,
    LOOM_PG_UUID_ARRAY = 2951,
    LOOM_PG_JSONB_ARRAY = 3807,
};

/* query_typed flags */
enum { LOOM_PG_BINARY_RESULTS = 1 };

/* Timestamps are microseconds since 2000-01-01 00:00 (UTC for timestamptz),
 * dates days since 2000-01-01, as PostgreSQL keeps them; these mean ±infinity. */
#define LOOM_PG_TS_INFINITY INT64_MAX
#define LOOM_PG_TS_NEG_INFINITY INT64_MIN
#define LOOM_PG_DATE_INFINITY INT32_MAX
#define LOOM_PG_DATE_NEG_INFINITY INT32_MIN
/* Seconds from the Unix epoch to PostgreSQL's (2000-01-01). */
#define LOOM_PG_EPOCH_OFFSET 946684800

/* An interval as PostgreSQL keeps it: months, days and microseconds apart. */
struct loom_pg_interval {
    int64_t us; /* time part */
    /* days part */
    int32_t days;
    /* months part */
    int32_t months;
};

/* A parameter: build it with a loom_pg_p_* constructor. The data it points
 * to (strings, bytes, array buffers) must stay valid until the query returns. */
struct loom_pg_param {
    uint32_t type;    /* OID, 0: let the server infer it (text only) */
    int32_t len;      /* bytes, -1: SQL NULL */
    const char *data; /* NULL: the value is in _inline */
    bool text;        /* sent in text format */
    unsigned char _inline[16];
};

/* SQL NULL, and the scalar types, sent in binary. */
struct loom_pg_param loom_pg_p_null(void);
struct loom_pg_param loom_pg_p_bool(bool v);
struct loom_pg_param loom_pg_p_int2(int16_t v);
struct loom_pg_param loom_pg_p_int4(int32_t v);
struct loom_pg_param loom_pg_p_int8(int64_t v);
struct loom_pg_param loom_pg_p_float4(float v);
struct loom_pg_param loom_pg_p_float8(double v);
/* Exact decimal text ("-12.340", "NaN", "Infinity"). */
struct loom_pg_param loom_pg_p_numeric(const char *v);
/* text of len bytes (an embedded NUL makes the query fail with -EINVAL). */
struct loom_pg_param loom_pg_p_text(const char *v, size_t len);
/* bytea of len bytes, uuid (16 bytes), date (days since 2000-01-01), time and
 * timestamps (microseconds, as above), interval, json and jsonb (text). */
struct loom_pg_param loom_pg_p_bytea(const void *v, size_t len);
struct loom_pg_param loom_pg_p_uuid(const uint8_t v[16]);
struct loom_pg_param loom_pg_p_date(int32_t days);
struct loom_pg_param loom_pg_p_time(int64_t us);
struct loom_pg_param loom_pg_p_timestamp(int64_t us);
struct loom_pg_param loom_pg_p_timestamptz(int64_t us);
struct loom_pg_param loom_pg_p_interval(struct loom_pg_interval v);
struct loom_pg_param loom_pg_p_json(const char *v);
struct loom_pg_param loom_pg_p_jsonb(const char *v);
/* A one-dimensional array of n elements (SQL NULL elements allowed) of type
 * array_type, encoded into buf (cap bytes, valid until the query returns).
 * Elements must be of one binary type or text/varchar/json (not numeric or
 * jsonb). On error (-EINVAL, -ENOSPC) the returned param has len -2, which
 * makes the query fail with -EINVAL. */
struct loom_pg_param loom_pg_p_array(uint32_t array_type, int n, const struct loom_pg_param *elems,
                                     void *buf, size_t cap);

/* Run sql with typed parameters (unnamed statement: parsed each time).
 * flags: LOOM_PG_BINARY_RESULTS. Returns as loom_pg_query, or -EINVAL for a
 * bad parameter (text with a NUL, a failed array). Suspends. */
ssize_t loom_pg_query_typed(struct loom_pg *c, struct loom_pg_result *r, const char *sql,
                            int nparams, const struct loom_pg_param *params, unsigned flags);

/* Describe sql without running it: r gets its parameter and column types
 * (loom_pg_nparams / loom_pg_paramtype, loom_pg_ncols / loom_pg_coltype /
 * loom_pg_colname). 0 or an error. Suspends. */
int loom_pg_describe(struct loom_pg *c, struct loom_pg_result *r, const char *sql);
int loom_pg_nparams(const struct loom_pg_result *r);
uint32_t loom_pg_paramtype(const struct loom_pg_result *r, int i);
/* A column's type OID (0 if no such column); whether it came in binary. */
uint32_t loom_pg_coltype(const struct loom_pg_result *r, int col);
bool loom_pg_colbinary(const struct loom_pg_result *r, int col);

/* One value: a field of a result or an element of an array (a view). */
struct loom_pg_cell {
    /* the type OID */
    uint32_t type;
    /* SQL NULL (data is NULL) */
    bool null;
    /* data is PostgreSQL's binary form, else text */
    bool binary;
    /* bytes in data */
    int32_t len;
    /* the value (a view) */
    const char *data;
};

/* The cell at row, col: 0 or -EINVAL (out of range). */
int loom_pg_cell(const struct loom_pg_result *r, int row, int col, struct loom_pg_cell *out);
/* The decoders (returns as described above): bool. */
int loom_pg_cell_bool(const struct loom_pg_cell *v, bool *out);
/* int2, int4, int8. */
int loom_pg_cell_int(const struct loom_pg_cell *v, int64_t *out);
/* float4, float8 (NaN and ±infinity come through). */
int loom_pg_cell_float(const struct loom_pg_cell *v, double *out);
/* numeric as exact decimal text ("NaN", "Infinity", "-Infinity" too) into buf. */
int loom_pg_cell_numeric(const struct loom_pg_cell *v, char *buf, size_t cap);
/* The bytes of text, varchar, name, json, jsonb, and of bytea in binary (a view). */
int loom_pg_cell_bytes(const struct loom_pg_cell *v, const char **p, size_t *len);
/* A uuid's 16 bytes (from either format). */
int loom_pg_cell_uuid(const struct loom_pg_cell *v, uint8_t out[16]);
/* Binary only (-EINVAL on text results). */
int loom_pg_cell_date(const struct loom_pg_cell *v, int32_t *days);
int loom_pg_cell_time(const struct loom_pg_cell *v, int64_t *us);
/* timestamp and timestamptz. */
int loom_pg_cell_timestamp(const struct loom_pg_cell *v, int64_t *us);
/* An interval (binary only). */
int loom_pg_cell_interval(const struct loom_pg_cell *v, struct loom_pg_interval *out);

/* A one-dimensional array value (binary), walked element by element. */
struct loom_pg_array {
    /* the elements' type OID */
    uint32_t elem_type;
    int n; /* elements */
    int _i;
    const char *_p, *_end;
};
/* 0 (an empty array has n 0), -ENODATA (NULL), -EINVAL (not a 1-D binary array). */
int loom_pg_array_open(const struct loom_pg_cell *v, struct loom_pg_array *a);
/* 1 and *out, 0 at the end, -EINVAL if malformed. */
int loom_pg_array_next(struct loom_pg_array *a, struct loom_pg_cell *out);

/* --- COPY TO STDOUT and notices (pg_copy.c) --- */

/* Receives one CopyData message (a row in text/csv format, a chunk in binary)
 * of a COPY ... TO STDOUT; the bytes are valid during the call only. Return 0
 * to go on, or a negative code to stop: the server is asked to cancel the
 * COPY and loom_pg_copy_out returns that code. Must not suspend. */
typedef int (*loom_pg_copy_out_cb)(void *arg, const char *data, size_t len);

/* Run sql (COPY ... TO STDOUT, or COPY (query) TO STDOUT, any format) and
 * stream its data to cb as it arrives: memory stays at one message however
 * large the output. Returns the rows copied, LOOM_EPG (also when sql is not a
 * COPY TO STDOUT), the callback's code, -ECONNRESET, -ECANCELED (the server
 * is asked to cancel; the connection stays usable). Suspends. */
ssize_t loom_pg_copy_out(struct loom_pg *c, const char *sql, loom_pg_copy_out_cb cb, void *arg);

/* A server notice or warning (RAISE NOTICE, "table does not exist,
 * skipping"). Views valid during the callback only. */
struct loom_pg_notice {
    const char *severity; /* "NOTICE", "WARNING", "INFO", "DEBUG", ... (not localized) */
    /* the SQLSTATE ("00000", "42P07") */
    const char *sqlstate;
    /* the primary message */
    const char *message;
    const char *detail; /* "" if none */
    const char *hint;   /* "" if none */
};

/* Deliver c's notices to cb (NULL: drop them, the default) from now on. cb
 * runs inside whatever call reads from the server and must not suspend.
 * Call after connect; c must not move while set. */
void loom_pg_set_notice_cb(struct loom_pg *c, loom_pg_notice_cb cb, void *arg);

/* --- scripts: every result of a simple query, streamed (pg_script.c) ---
 *
 * One string of one or more ;-separated statements sent with the simple-query
 * protocol (as psql sends a line), its results handed over one step at a time:
 * each row on its own (single-row mode, for every statement of the string),
 * the end of each row set, each command's status and COPY TO STDOUT data, so
 * memory stays at one row whatever the size of the results. The connection
 * is busy from open to close. */

/* What loom_pg_script_next() found. */
enum loom_pg_script_step {
    LOOM_PG_SCRIPT_DONE = 0,      /* no more results */
    LOOM_PG_SCRIPT_ROW = 1,       /* a row: row 0 of loom_pg_script_result() (columns too) */
    LOOM_PG_SCRIPT_SET_END = 2,   /* a row set ended: its columns and status ("SELECT 3") */
    LOOM_PG_SCRIPT_COMMAND = 3,   /* a statement without rows ended: its status tag */
    LOOM_PG_SCRIPT_COPY_DATA = 4, /* a message of COPY TO STDOUT: loom_pg_script_copy_data() */
    LOOM_PG_SCRIPT_COPY_IN = 5,   /* COPY FROM STDIN waits: loom_pg_script_copy_send / _end */
};

/* A script in progress. Caller-owned; private fields. */
struct loom_pg_script {
    struct loom_pg *_c;
    struct loom_pg_result _res; /* the current step's result */
    char *_copy_data;           /* the current COPY message (libpq's) */
    size_t _copy_len;
    bool _copy;    /* inside COPY TO STDOUT */
    bool _copy_in; /* inside COPY FROM STDIN */
    bool _end;
};

/* Send sql (simple query, single-row mode). 0, or -EBUSY, -ECONNRESET,
 * LOOM_EPG, -EPERM: then there is nothing to close. Suspends. */
int loom_pg_script_open(struct loom_pg *c, struct loom_pg_script *s, const char *sql);
/* The next step (enum loom_pg_script_step), or an error: LOOM_EPG with the
 * server's error on the connection (the rest of the string was skipped by
 * the server, and COPY FROM STDIN is refused this way), -ECONNRESET,
 * -ECANCELED (the server is asked to cancel; the connection stays usable).
 * After an error or DONE, every call returns DONE. The previous step's
 * result and data are freed. Suspends. */
int loom_pg_script_next(struct loom_pg_script *s);
/* The current step's result (a view until the next call). */
const struct loom_pg_result *loom_pg_script_result(const struct loom_pg_script *s);
/* The current COPY message (a view until the next call), NULL if none. */
const char *loom_pg_script_copy_data(const struct loom_pg_script *s, size_t *len);
/* After LOOM_PG_SCRIPT_COPY_IN: send len bytes of COPY data (any split), and
 * end the COPY (error NULL: done; else the server fails it with that text);
 * the COPY's own result ("COPY 3" or the error) comes from the next step.
 * Calling next without ending it ends it with an error. 0, -EINVAL (no COPY
 * waits), -ECONNRESET, -ECANCELED (the COPY is failed and the rest of the
 * string drained). Suspends. */
int loom_pg_script_copy_send(struct loom_pg_script *s, const char *data, size_t len);
int loom_pg_script_copy_end(struct loom_pg_script *s, const char *error);
/* Finish: results left are cancelled on the server and drained. 0. Suspends. */
int loom_pg_script_close(struct loom_pg_script *s);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
