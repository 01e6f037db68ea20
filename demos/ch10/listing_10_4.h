/* listing_10_4.h - the database pool of a service (listing 10.4), shared by
 * listings 10.5-10.7.
 *
 * The pool belongs to the application, not to a request: the server's start
 * hook opens its 6 connections before the first request is accepted, every
 * request borrows from it, and the stop hook closes it once the last request
 * finished (aiohttp's on_startup / on_cleanup). A service whose database is
 * unreachable fails at start, with libpq's reason, instead of on every request. */
#ifndef LOOM_DEMOS_LISTING_10_4_H
#define LOOM_DEMOS_LISTING_10_4_H

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ch05/ch05.h"
#include "db/pg.h"
#include "net/http_server.h"

/* The application's state: where the database is, and the pool once started. */
struct db_app {
    const char *dsn;
    struct loom_pg_pool pool;
};

/* The start hook: open the 6-connection pool. 0 or the connect error. Suspends. */
static inline int create_database_pool(struct loom_http_server *srv, void *arg)
{
    struct db_app *app = arg;
    printf("Creating database pool.\n");
    struct loom_pg_pool_options o = {.conninfo = app->dsn, .min_size = 6, .max_size = 6};
    int rc = loom_pg_pool_open(&app->pool, &o);
    if (rc < 0)
        fprintf(stderr, "cannot open the database pool: %s\n",
                ch05_why(rc, loom_pg_pool_errmsg(&app->pool)));
    return rc;
}

/* The stop hook: close the pool (queries still running get 5 s). Suspends. */
static inline void destroy_database_pool(struct loom_http_server *srv, void *arg)
{
    struct db_app *app = arg;
    printf("Destroying database pool.\n");
    int rc = loom_pg_pool_close(&app->pool, LOOM_SEC(5));
    if (rc < 0)
        fprintf(stderr, "closing the database pool: %s\n", loom_strerror(rc));
}

/* Run sql (one int parameter, or none when param is NULL) on the pool and
 * answer its rows as a JSON list of objects, the book's
 * web.json_response([dict(record) for record in result]): the column named
 * int_col ("product_id") becomes a number, the others strings. Suspends. */
static inline int db_reply_rows(struct db_app *app, struct loom_http_reply *res, const char *sql,
                                const char *param, const char *int_col)
{
    struct loom_pg_result r = {0};
    struct loom_pg_error err = {.msg = ""};
    const char *params[] = {param};
    ssize_t n = loom_pg_pool_query(&app->pool, &r, &err, sql, param ? 1 : 0, params);
    if (n < 0) {
        fprintf(stderr, "%s: %s\n", sql, ch05_why((int)n, err.msg));
        return (int)n; /* the server answers 500 */
    }
    json_t *rows = json_array();
    for (int i = 0; rows && i < loom_pg_nrows(&r); i++) {
        json_t *record = json_object();
        for (int col = 0; record && col < loom_pg_ncols(&r); col++) {
            const char *name = loom_pg_colname(&r, col);
            json_object_set_new(record, name,
                                !strcmp(int_col, name) ? json_integer(loom_pg_int64(&r, i, col))
                                                       : json_string(loom_pg_text(&r, i, col)));
        }
        json_array_append_new(rows, record);
    }
    loom_pg_result_clear(&r);
    int rc = rows ? loom_http_reply_json(res, 200, rows) : -ENOMEM;
    json_decref(rows);
    return rc;
}

#endif
