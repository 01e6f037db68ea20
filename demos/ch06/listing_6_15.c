/* listing_6_15.c - a loop and a connection pool in every worker (listing 6.15).
 *
 * Five pool jobs; each worker process runs its own event loop (loom_run inside
 * the job: the worker is a fork, but it does not share the parent's loop) with
 * its own 6-connection PostgreSQL pool, and runs 10,000 concurrent queries for
 * product 100. The parent awaits the five jobs and adds up the results. Needs
 * the chapter-5 `products` database (--dsn, else $LOOM_PG_DSN, else the book's
 * 127.0.0.1:5432 postgres/postgres). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ch05/ch05.h"
#include "db/pg.h"
#include "demo.h"
#include "proc/proc.h"

static const char usage[] =
    "usage: listing_6_15 [--dsn DSN] [--processes P] [--queries Q]\n"
    "Runs P (default 5) pool jobs, each with its own loop and 6-connection PostgreSQL pool\n"
    "running Q (default 10000) product queries; prints how many products were selected.\n";

/* What a worker sends back: a count is only worth printing if no query failed. */
struct worker_report {
    long done;
    int rc;                       /* 0, or the first failure */
    char why[2 * LOOM_PG_ERRMSG]; /* its text */
};

struct worker_run {
    const char *dsn;
    long queries;
    struct worker_report rep;
    struct loom_pg_pool pool;
};

/* Keep the first failure (its code and libpq's or the server's text). */
static int note_error(struct worker_run *w, int rc, const char *msg)
{
    if (w->rep.rc == 0) {
        w->rep.rc = rc;
        snprintf(w->rep.why, sizeof w->rep.why, "%s", msg && msg[0] ? msg : loom_strerror(rc));
    }
    return rc;
}

static intptr_t query_product(void *arg)
{
    struct worker_run *w = arg;
    struct loom_pg *c;
    int rc = loom_pg_pool_acquire(&w->pool, &c, LOOM_SEC(30));
    if (rc < 0)
        return note_error(w, rc, loom_pg_pool_errmsg(&w->pool));
    struct loom_pg_result r = {0};
    ssize_t n = loom_pg_query(c, &r, CH05_PRODUCT_QUERY, 0, NULL);
    loom_pg_result_clear(&r);
    if (n < 0)
        note_error(w, (int)n, loom_pg_errmsg(c));
    loom_pg_pool_release(&w->pool, c);
    if (n >= 0)
        w->rep.done++; /* one fetchrow per query, as in the book */
    return n < 0 ? n : 0;
}

/* The coroutine of run_in_new_loop: a pool, then every query at once. */
static intptr_t run_queries(void *arg)
{
    struct worker_run *w = arg;
    struct loom_pg_pool_options opt = {.conninfo = w->dsn, .min_size = 6, .max_size = 6};
    int rc = loom_pg_pool_open(&w->pool, &opt);
    if (rc < 0)
        return note_error(w, rc, loom_pg_pool_errmsg(&w->pool));
    struct loom_task **t = calloc((size_t)w->queries, sizeof(*t));
    for (long i = 0; t && i < w->queries; i++)
        t[i] = loom_spawn(query_product, w, NULL);
    rc = t ? loom_gather(t, (size_t)w->queries, NULL, LOOM_GATHER_ALL) : -ENOMEM;
    free(t);
    loom_pg_pool_close(&w->pool, LOOM_SEC(10));
    return rc;
}

/* A pool job: runs in a worker process, with a loop of its own. */
static int run_in_new_loop(const void *in, size_t len, struct loom_bytes *out, void *state)
{
    struct worker_run w = {.dsn = in};
    memcpy(&w.queries, (const char *)in + strlen(in) + 1, sizeof(w.queries));
    intptr_t rc = loom_run(run_queries, &w);
    if (rc < 0)
        note_error(&w, (int)rc, NULL);
    if (!(out->data = malloc(sizeof(w.rep))))
        return -ENOMEM;
    memcpy(out->data, &w.rep, sizeof(w.rep));
    out->len = sizeof(w.rep);
    return 0;
}

static intptr_t amain(void *arg)
{
    const char *dsn = ch05_dsn();
    long procs = demo_arg_long("--processes", 5), queries = demo_arg_long("--queries", 10000);
    size_t len = strlen(dsn) + 1 + sizeof(queries);
    char *msg = malloc(len);
    memcpy(msg, dsn, strlen(dsn) + 1);
    memcpy(msg + strlen(dsn) + 1, &queries, sizeof(queries));
    struct loom_pool_options opt = {.workers = (unsigned)procs};
    struct loom_pool *pool;
    DEMO_CHECK(loom_pool_new(&opt, &pool));
    struct loom_pool_job **jobs = calloc((size_t)procs, sizeof(*jobs));
    double start = demo_now();
    for (long i = 0; i < procs; i++)
        DEMO_CHECK(loom_pool_submit(pool, run_in_new_loop, msg, len, &jobs[i]));
    long total = 0;
    for (long i = 0; i < procs; i++) {
        int rc = loom_pool_job_wait(jobs[i], -1);
        if (rc < 0) {
            fprintf(stderr, "worker job: %s (is the products database at '%s'?)\n",
                    loom_strerror(rc), dsn);
            exit(1);
        }
        struct worker_report rep;
        memcpy(&rep, loom_pool_job_result(jobs[i], NULL), sizeof(rep));
        if (rep.rc < 0) { /* a partial count is no result: say what failed */
            fprintf(stderr, "worker job: %ld of %ld queries succeeded; the first failure: %s\n",
                    rep.done, queries, rep.why);
            exit(1);
        }
        total += rep.done;
        loom_pool_job_free(jobs[i]);
    }
    printf("Products selected from database: %ld.\n", total);
    printf("Time: %.4f s for %ld queries in %ld processes\n", demo_now() - start, total, procs);
    DEMO_CHECK(loom_pool_shutdown(pool, false));
    loom_pool_free(pool);
    free(jobs);
    free(msg);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(amain, NULL);
}
