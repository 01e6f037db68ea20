/* pg_loom.c - PostgreSQL workloads for tests/bench/pg_run, through db/pg.h.
 *
 *   pg_loom MODE N     prints "MODE N SECONDS"
 * Modes: select_one select_pool select_poolq select_pipe, join_* (the same
 * four with listing 5.8's join), insert_one insert_pipe insert_copy,
 * typed_decode (N rows: a 1,000-row mixed-type result, binary, every cell
 * decoded), copy_out (COPY TO STDOUT of N rows), mix_poolq (pipelined pool,
 * 50/50 primary-key selects and inserts). Pools have 10 connections and are
 * driven by 100 tasks. DSN from $LOOM_PG_DSN. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/pg.h"
#include "reactor/task.h"

#define PK_SQL "SELECT product_id, product_name FROM product WHERE product_id = $1"
#define JOIN_SQL                                                                                   \
    "SELECT p.product_id, p.product_name, p.brand_id, s.sku_id, pc.product_color_name, "           \
    "ps.product_size_name FROM product as p JOIN sku as s on s.product_id = p.product_id "         \
    "JOIN product_color as pc on pc.product_color_id = s.product_color_id "                        \
    "JOIN product_size as ps on ps.product_size_id = s.product_size_id WHERE p.product_id = $1"

static const char *mode, *sql;
static long n, next_i;
static struct loom_pg_pool pool;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what, long rc)
{
    fprintf(stderr, "pg_loom %s: %s: %s\n", mode, what, loom_strerror((int)rc));
    exit(1);
}

static int fill(void *arg, size_t i, const char **params)
{
    static char a[24], b[32];
    snprintf(a, sizeof a, "%zu", i % 1000 + 1);
    snprintf(b, sizeof b, "row-%zu", i);
    params[0] = a;
    params[1] = b;
    return 0;
}

static ssize_t copy_src(void *arg, char *buf, size_t cap)
{
    size_t used = 0;
    while (next_i < n && cap - used > 64)
        used +=
            (size_t)snprintf(buf + used, cap - used, "%ld\trow-%ld\n", next_i % 1000 + 1, next_i),
            next_i++;
    return (ssize_t)used;
}

static bool mix;

static intptr_t worker(void *arg)
{
    bool shared = arg != NULL;
    while (next_i < n) {
        long i = next_i++;
        char id[24], name[32];
        snprintf(id, sizeof id, "%ld", i % 1000 + 1);
        snprintf(name, sizeof name, "row-%ld", i);
        const char *p[] = {id, name};
        ssize_t rc;
        if (mix && i % 2) {
            rc =
                loom_pg_pool_query(&pool, NULL, NULL, "INSERT INTO bench_ins VALUES($1, $2)", 2, p);
        } else if (shared) {
            rc = loom_pg_pool_query(&pool, NULL, NULL, sql, 1, p);
        } else {
            struct loom_pg *c;
            if ((rc = loom_pg_pool_acquire(&pool, &c, LOOM_SEC(30))) < 0)
                return rc;
            rc = loom_pg_query(c, NULL, sql, 1, p);
            loom_pg_pool_release(&pool, c);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void run_pool(bool shared)
{
    struct loom_pg_pool_options o = {
        .conninfo = getenv("LOOM_PG_DSN"), .min_size = 10, .max_size = 10};
    long rc = loom_pg_pool_open(&pool, &o);
    if (rc < 0)
        die("pool", rc);
    struct loom_task *t[100];
    for (int i = 0; i < 100; i++)
        t[i] = loom_spawn(worker, shared ? &pool : NULL, NULL);
    if ((rc = loom_gather(t, 100, NULL, 0)) < 0)
        die("gather", rc);
    loom_pg_pool_close(&pool, LOOM_SEC(5));
}

#define TYPED_SQL "SELECT * FROM bench_typed" /* made by pg_run */

/* Decode every cell of a typed result; returns a checksum. */
static long decode_all(const struct loom_pg_result *r)
{
    long sum = 0;
    int rows = loom_pg_nrows(r);
    for (int row = 0; row < rows; row++) {
        struct loom_pg_cell v;
        int64_t i;
        double d;
        bool b;
        const char *p;
        size_t len;
        char num[32];
        uint8_t u[16];
        loom_pg_cell(r, row, 0, &v), loom_pg_cell_int(&v, &i), sum += i;
        loom_pg_cell(r, row, 1, &v), loom_pg_cell_int(&v, &i), sum += i;
        loom_pg_cell(r, row, 2, &v), loom_pg_cell_float(&v, &d), sum += (long)d;
        loom_pg_cell(r, row, 3, &v), loom_pg_cell_bool(&v, &b), sum += b;
        loom_pg_cell(r, row, 4, &v), loom_pg_cell_bytes(&v, &p, &len), sum += (long)len;
        loom_pg_cell(r, row, 5, &v), loom_pg_cell_numeric(&v, num, sizeof num), sum += num[0];
        loom_pg_cell(r, row, 6, &v), loom_pg_cell_timestamp(&v, &i), sum += i & 1;
        loom_pg_cell(r, row, 7, &v), loom_pg_cell_uuid(&v, u), sum += u[0];
    }
    return sum;
}

static int count_copy(void *arg, const char *data, size_t len)
{
    ++*(long *)arg;
    return 0;
}

static void run_conn(struct loom_pg *c, const char *kind)
{
    long rc = 0;
    if (strcmp(mode, "typed_decode") == 0) {
        for (long i = 0; i < n / 1000 && rc >= 0; i++) {
            struct loom_pg_result r = {0};
            rc = loom_pg_query_typed(c, &r, TYPED_SQL, 0, NULL, LOOM_PG_BINARY_RESULTS);
            if (rc == 1000 && decode_all(&r) == 0)
                rc = -1;
            loom_pg_result_clear(&r);
        }
        kind = "";
    } else if (strcmp(mode, "copy_out") == 0) {
        char q[160];
        long rows = 0;
        snprintf(q, sizeof q,
                 "COPY (SELECT g, 'row ' || g, g * 1.5 FROM generate_series(1, %ld) g) TO STDOUT",
                 n);
        rc = loom_pg_copy_out(c, q, count_copy, &rows);
        if (rc >= 0 && rows != n)
            rc = -1;
        kind = "";
    }
    if (strcmp(kind, "one") == 0 && sql) {
        for (long i = 0; i < n && rc >= 0; i++) {
            char id[24];
            snprintf(id, sizeof id, "%ld", i % 1000 + 1);
            rc = loom_pg_query(c, NULL, sql, 1, (const char *[]){id});
        }
    } else if (strcmp(kind, "one") == 0) {
        for (long i = 0; i < n && rc >= 0; i++) {
            const char *p[2];
            fill(NULL, (size_t)i, p);
            rc = loom_pg_query(c, NULL, "INSERT INTO bench_ins VALUES($1, $2)", 2, p);
        }
    } else if (strcmp(kind, "pipe") == 0) {
        rc = loom_pg_executemany(c, sql ? sql : "INSERT INTO bench_ins VALUES($1, $2)", sql ? 1 : 2,
                                 (size_t)n, fill, NULL);
    } else if (strcmp(kind, "copy") == 0) {
        rc = loom_pg_copy_in(c, "COPY bench_ins FROM STDIN", copy_src, NULL);
    }
    if (rc < 0)
        die(loom_pg_errmsg(c), rc);
}

static intptr_t main_task(void *arg)
{
    const char *kind = strchr(mode, '_') + 1;
    mix = strcmp(mode, "mix_poolq") == 0;
    sql = strncmp(mode, "select", 6) == 0 || mix ? PK_SQL
          : strncmp(mode, "join", 4) == 0        ? JOIN_SQL
                                                 : NULL;
    struct loom_pg c;
    long rc = loom_pg_connect(&c, getenv("LOOM_PG_DSN"), LOOM_SEC(10));
    if (rc < 0)
        die(loom_pg_errmsg(&c), rc);
    if (!sql || mix)
        loom_pg_exec(&c, NULL, "TRUNCATE bench_ins");
    double t0 = now();
    if (strcmp(kind, "pool") == 0 || strcmp(kind, "poolq") == 0)
        run_pool(strcmp(kind, "poolq") == 0);
    else
        run_conn(&c, kind);
    printf("%s %ld %.6f\n", mode, n, now() - t0);
    loom_pg_close(&c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || !strchr(argv[1], '_')) {
        fprintf(stderr, "usage: pg_loom MODE N\n");
        return 2;
    }
    mode = argv[1];
    n = atol(argv[2]);
    return (int)loom_run(main_task, NULL);
}
