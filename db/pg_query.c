/* pg_query.c - queries, the per-connection prepared-statement cache, and
 * transactions with savepoints.
 *
 * The cache is an open-addressing table of 2 * LOOM_PG_STMT_CACHE slots
 * keyed by the SQL text (FNV-1a), so a lookup is one hash and usually one
 * strcmp. It only grows: once LOOM_PG_STMT_CACHE statements are prepared,
 * new SQL texts run unnamed (parse + plan every time) instead of evicting,
 * which keeps a hot set prepared and needs no DEALLOCATE round trips. */
#include "db/pg_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS (2 * LOOM_PG_STMT_CACHE)

struct loom_pg_stmt {
    char *sql; /* NULL: free slot */
    uint32_t hash;
    char name[16]; /* loom_s<N> */
};

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

void loom__pg_stmts_free(struct loom_pg *c)
{
    if (!c->_stmts)
        return;
    for (unsigned i = 0; i < SLOTS; i++)
        free(c->_stmts[i].sql);
    free(c->_stmts);
    c->_stmts = NULL;
    c->_nstmts = 0;
}

/* The slot for sql: its entry, or the free slot where it would go. NULL: no table. */
static struct loom_pg_stmt *stmt_slot(struct loom_pg *c, const char *sql, uint32_t h)
{
    if (!c->_stmts && !(c->_stmts = calloc(SLOTS, sizeof *c->_stmts)))
        return NULL;
    for (unsigned i = h % SLOTS;; i = (i + 1) % SLOTS) {
        struct loom_pg_stmt *s = &c->_stmts[i];
        if (!s->sql || (s->hash == h && strcmp(s->sql, sql) == 0))
            return s;
    }
}

/* Prepare sql under a new name for slot s; on failure the slot has no name. */
static ssize_t stmt_prepare(struct loom_pg *c, struct loom_pg_stmt *s, const char *sql, int nparams)
{
    snprintf(s->name, sizeof s->name, "loom_s%u", c->_stmt_seq++);
    ssize_t rc = PQsendPrepare(c->_pg, s->name, sql, nparams, NULL) ? loom__pg_collect(c, NULL)
                                                                    : loom__pg_conn_error(c);
    if (rc < 0 || !c->_pg) {
        s->name[0] = 0;
        return rc < 0 ? rc : -ECONNRESET;
    }
    return 0;
}

/* Prepare sql into free slot s and remember it. 0 or an error. */
static ssize_t stmt_add(struct loom_pg *c, struct loom_pg_stmt *s, const char *sql, uint32_t h,
                        int nparams)
{
    char *copy = strdup(sql);
    if (!copy)
        return -ENOMEM;
    ssize_t rc = stmt_prepare(c, s, sql, nparams);
    if (rc < 0) {
        free(copy);
        return rc;
    }
    s->sql = copy;
    s->hash = h;
    c->_nstmts++;
    return 0;
}

struct loom_pg_stmt *loom__pg_stmt_for(struct loom_pg *c, const char *sql, bool *prepare)
{
    uint32_t h = fnv1a(sql);
    struct loom_pg_stmt *s = stmt_slot(c, sql, h);
    *prepare = false;
    if (!s || (!s->sql && c->_nstmts >= LOOM_PG_STMT_CACHE))
        return NULL;
    if (!s->sql) {
        if (!(s->sql = strdup(sql)))
            return NULL;
        s->hash = h;
        c->_nstmts++;
    }
    if (!s->name[0]) {
        snprintf(s->name, sizeof s->name, "loom_s%u", c->_stmt_seq++);
        *prepare = true;
    }
    return s;
}

const char *loom__pg_stmt_name(const struct loom_pg_stmt *s) { return s->name; }
void loom__pg_stmt_forget(struct loom_pg_stmt *s) { s->name[0] = 0; }

static ssize_t send_unnamed(struct loom_pg *c, struct loom_pg_result *r, const char *sql, int n,
                            const char *const *params)
{
    if (!PQsendQueryParams(c->_pg, sql, n, NULL, params, NULL, NULL, 0))
        return loom__pg_conn_error(c);
    return loom__pg_collect(c, r);
}

static ssize_t run_stmt(struct loom_pg *c, struct loom_pg_result *r, struct loom_pg_stmt *s,
                        int nparams, const char *const *params)
{
    if (!PQsendQueryPrepared(c->_pg, s->name, nparams, params, NULL, NULL, 0))
        return loom__pg_conn_error(c);
    return loom__pg_collect(c, r);
}

ssize_t loom_pg_query(struct loom_pg *c, struct loom_pg_result *r, const char *sql, int nparams,
                      const char *const *params)
{
    ssize_t rc = loom__pg_begin_op(c);
    if (rc < 0)
        return rc;
    uint32_t h = fnv1a(sql);
    struct loom_pg_stmt *s = stmt_slot(c, sql, h);
    if (!s || (!s->sql && c->_nstmts >= LOOM_PG_STMT_CACHE)) {
        rc = send_unnamed(c, r, sql, nparams, params);
    } else {
        if (!s->sql)
            rc = stmt_add(c, s, sql, h, nparams);
        else if (!s->name[0])
            rc = stmt_prepare(c, s, sql, nparams);
        if (rc == 0)
            rc = run_stmt(c, r, s, nparams, params);
        /* DDL changed the statement's result type: prepare it afresh, once */
        if (rc == LOOM_EPG && strcmp(c->_sqlstate, "0A000") == 0 && c->_pg &&
            PQtransactionStatus(c->_pg) == PQTRANS_IDLE) {
            rc = stmt_prepare(c, s, sql, nparams);
            if (rc == 0)
                rc = run_stmt(c, r, s, nparams, params);
        }
    }
    return loom__pg_end_op(c, rc);
}

ssize_t loom_pg_query_once(struct loom_pg *c, struct loom_pg_result *r, const char *sql,
                           int nparams, const char *const *params)
{
    ssize_t rc = loom__pg_begin_op(c);
    if (rc < 0)
        return rc;
    return loom__pg_end_op(c, send_unnamed(c, r, sql, nparams, params));
}

ssize_t loom_pg_exec(struct loom_pg *c, struct loom_pg_result *r, const char *sql)
{
    ssize_t rc = loom__pg_begin_op(c);
    if (rc < 0)
        return rc;
    if (!PQsendQuery(c->_pg, sql))
        rc = loom__pg_conn_error(c);
    else
        rc = loom__pg_collect(c, r);
    return loom__pg_end_op(c, rc);
}

int loom_pg_prepare(struct loom_pg *c, const char *name, const char *sql, int nparams)
{
    ssize_t rc = loom__pg_begin_op(c);
    if (rc < 0)
        return (int)rc;
    if (!PQsendPrepare(c->_pg, name, sql, nparams, NULL))
        rc = loom__pg_conn_error(c);
    else
        rc = loom__pg_collect(c, NULL);
    return (int)loom__pg_end_op(c, rc);
}

ssize_t loom_pg_exec_prepared(struct loom_pg *c, struct loom_pg_result *r, const char *name,
                              int nparams, const char *const *params)
{
    ssize_t rc = loom__pg_begin_op(c);
    if (rc < 0)
        return rc;
    if (!PQsendQueryPrepared(c->_pg, name, nparams, params, NULL, NULL, 0))
        rc = loom__pg_conn_error(c);
    else
        rc = loom__pg_collect(c, r);
    return loom__pg_end_op(c, rc);
}

/* --- transactions --- */

struct saved_error {
    char sqlstate[6], msg[LOOM_PG_ERRMSG], detail[LOOM_PG_ERRMSG];
};

static void save_error(const struct loom_pg *c, struct saved_error *e)
{
    memcpy(e->sqlstate, c->_sqlstate, sizeof e->sqlstate);
    memcpy(e->msg, c->_msg, sizeof e->msg);
    memcpy(e->detail, c->_detail, sizeof e->detail);
}

static void restore_error(struct loom_pg *c, const struct saved_error *e)
{
    memcpy(c->_sqlstate, e->sqlstate, sizeof e->sqlstate);
    memcpy(c->_msg, e->msg, sizeof e->msg);
    memcpy(c->_detail, e->detail, sizeof e->detail);
}

/* Run a transaction-control statement and return its status tag into tag. */
static int control(struct loom_pg *c, const char *sql, char *tag, size_t len)
{
    struct loom_pg_result r = {0};
    int rc = (int)loom_pg_exec(c, &r, sql);
    if (tag)
        snprintf(tag, len, "%s", loom_pg_status(&r));
    loom_pg_result_clear(&r);
    /* the server knows best whether a transaction is still open */
    if (c->_pg && PQtransactionStatus(c->_pg) == PQTRANS_IDLE)
        c->_depth = 0;
    return rc;
}

int loom_pg_begin(struct loom_pg *c) { return loom_pg_begin_with(c, NULL); }

int loom_pg_begin_with(struct loom_pg *c, const struct loom_pg_txn_options *o)
{
    static const char *const levels[] = {"", " ISOLATION LEVEL READ COMMITTED",
                                         " ISOLATION LEVEL REPEATABLE READ",
                                         " ISOLATION LEVEL SERIALIZABLE"};
    struct loom_pg_txn_options none = {0};
    if (!o)
        o = &none;
    if ((unsigned)o->isolation > LOOM_PG_SERIALIZABLE)
        return -EINVAL;
    bool plain = !o->isolation && !o->read_only && !o->deferrable;
    char sql[96];
    if (c->_depth == 0)
        snprintf(sql, sizeof sql, "BEGIN%s%s%s", levels[o->isolation],
                 o->read_only ? " READ ONLY" : "", o->deferrable ? " DEFERRABLE" : "");
    else if (plain)
        snprintf(sql, sizeof sql, "SAVEPOINT loom_sp_%d", c->_depth);
    else
        return -EINVAL; /* a savepoint cannot change them */
    int rc = control(c, sql, NULL, 0);
    if (rc == 0)
        c->_depth++;
    return rc;
}

int loom_pg_rollback(struct loom_pg *c)
{
    char sql[96];
    if (c->_depth <= 1)
        snprintf(sql, sizeof sql, "ROLLBACK");
    else
        snprintf(sql, sizeof sql, "ROLLBACK TO SAVEPOINT loom_sp_%d; RELEASE SAVEPOINT loom_sp_%d",
                 c->_depth - 1, c->_depth - 1);
    int rc = control(c, sql, NULL, 0);
    if (c->_depth > 0)
        c->_depth--;
    return rc;
}

int loom_pg_commit(struct loom_pg *c)
{
    char sql[48], tag[32];
    if (c->_depth <= 1) {
        int rc = control(c, "COMMIT", tag, sizeof tag);
        c->_depth = 0;
        if (rc == 0 && strcmp(tag, "ROLLBACK") == 0)
            rc = loom__pg_set_error(c, LOOM_EPG, "25P02",
                                    "transaction was aborted by an earlier error: rolled back");
        return rc;
    }
    snprintf(sql, sizeof sql, "RELEASE SAVEPOINT loom_sp_%d", c->_depth - 1);
    int rc = control(c, sql, NULL, 0);
    if (rc == 0) {
        c->_depth--;
    } else if (c->_pg && c->_depth > 1) {
        struct saved_error keep;
        save_error(c, &keep);
        loom_pg_rollback(c); /* report the release's error, not the rollback's */
        restore_error(c, &keep);
    }
    return rc;
}

int loom_pg_end(struct loom_pg *c, int rc)
{
    if (rc >= 0)
        return loom_pg_commit(c);
    if (c->_depth == 0)
        return rc;
    struct saved_error keep;
    save_error(c, &keep);
    loom_pg_rollback(c); /* keep the error that made us roll back */
    restore_error(c, &keep);
    return rc;
}

int loom_pg_transaction(struct loom_pg *c, int (*fn)(struct loom_pg *c, void *arg), void *arg)
{
    return loom_pg_transaction_with(c, NULL, fn, arg);
}

int loom_pg_transaction_with(struct loom_pg *c, const struct loom_pg_txn_options *o,
                             int (*fn)(struct loom_pg *c, void *arg), void *arg)
{
    int rc = loom_pg_begin_with(c, o);
    if (rc < 0)
        return rc;
    return loom_pg_end(c, fn(c, arg));
}
