/* postgres.c - PostgreSQL through a pool: concurrent queries, and a transaction.
 * docs: compile only (it needs a server: pass a libpq conninfo, or set PGHOST, PGDATABASE...). */
#include <stdio.h>

#include <loom/db/pg.h>
#include <loom/reactor/error.h>
#include <loom/reactor/task.h>

static struct loom_pg_pool pool;

/* One statement on the pool: tasks' queries are pipelined over its connections. */
static intptr_t square(void *arg)
{
    char n[16];
    snprintf(n, sizeof n, "%ld", (long)(intptr_t)arg);
    const char *params[] = {n};
    struct loom_pg_result r = {0};
    struct loom_pg_error err;
    ssize_t rows = loom_pg_pool_query(&pool, &r, &err, "SELECT $1::int * $1::int", 1, params);
    if (rows == 1)
        printf("%s squared is %s\n", n, loom_pg_text(&r, 0, 0));
    else
        fprintf(stderr, "query: %s\n", rows == LOOM_EPG ? err.msg : loom_strerror((int)rows));
    loom_pg_result_clear(&r);
    return rows < 0 ? rows : 0;
}

/* A transaction holds one connection: acquire it, and give it back. */
static int transfer(void)
{
    struct loom_pg *c;
    int rc = loom_pg_pool_acquire(&pool, &c, LOOM_SEC(5));
    if (rc < 0)
        return rc;
    rc = loom_pg_begin(c);
    if (rc == 0)
        rc = (int)loom_pg_exec(c, NULL,
                               "CREATE TEMP TABLE account (id int, balance int);"
                               "INSERT INTO account VALUES (1, 100), (2, 0)");
    if (rc >= 0)
        rc = (int)loom_pg_exec(c, NULL,
                               "UPDATE account SET balance = balance - 30 WHERE id = 1;"
                               "UPDATE account SET balance = balance + 30 WHERE id = 2");
    struct loom_pg_result r = {0};
    if (rc >= 0)
        rc = (int)loom_pg_query(c, &r, "SELECT balance FROM account ORDER BY id", 0, NULL);
    if (rc == 2)
        printf("balances: %s and %s\n", loom_pg_text(&r, 0, 0), loom_pg_text(&r, 1, 0));
    loom_pg_result_clear(&r);
    rc = loom_pg_end(c, rc < 0 ? rc : 0); /* commit, or roll back on error */
    if (rc < 0)
        fprintf(stderr, "transaction: %s\n", loom_pg_errmsg(c));
    loom_pg_pool_release(&pool, c); /* rolled back and reset if still open */
    return rc;
}

static intptr_t amain(void *conninfo)
{
    struct loom_pg_pool_options opt = {.conninfo = conninfo, .min_size = 2, .max_size = 4};
    int rc = loom_pg_pool_open(&pool, &opt);
    if (rc < 0) {
        fprintf(stderr, "connect: %s\n", loom_pg_pool_errmsg(&pool));
        return rc;
    }
    struct loom_task *t[5];
    for (long i = 0; i < 5; i++)
        t[i] = loom_spawn(square, (void *)(i + 1), NULL);
    rc = loom_gather(t, 5, NULL, 0);
    if (rc == 0)
        rc = transfer();
    loom_pg_pool_close(&pool, LOOM_SEC(5));
    return rc;
}

int main(int argc, char **argv) { return loom_run(amain, argc > 1 ? argv[1] : "") == 0 ? 0 : 1; }
