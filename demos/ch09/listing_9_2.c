/* listing_9_2.c - connecting to the products database (listing 9.2).
 *
 * The pool is made when the server starts (on_start prints "Creating database
 * pool.") and closed at cleanup (on_stop prints "Destroying database pool.");
 * GET /brands answers every brand as a JSON list of {brand_id, brand_name}.
 * The database comes from --dsn or $LOOM_PG_DSN (chapter 5's products). */
#include "ch09.h"

static const char usage[] =
    "usage: listing_9_2 " CH09_HOST_OPTS " [--dsn DSN]\n"
    "GET /brands on 127.0.0.1:8080 (--host ADDR, --port N; 0 picks a free port; prints\n"
    "\"listening on ADDR:PORT\") lists the brands of the products database (--dsn DSN,\n"
    "else $LOOM_PG_DSN) as JSON, through a pool of 6 connections opened at startup and\n"
    "closed at shutdown. SIGINT/SIGTERM stop it.\n";

static int brands(struct loom_http_req *req, struct loom_http_reply *rep, void *arg)
{
    const char *brand_query = "SELECT brand_id, brand_name FROM brand";
    struct loom_pg_result results = {0};
    struct loom_pg_error err;
    ssize_t n = loom_pg_pool_query(&ch09_pool, &results, &err, brand_query, 0, NULL);
    if (n < 0)
        return ch09_db_error(rep, (int)n, &err);
    int rc = ch09_reply_rows(rep, &results, false); /* web.json_response(result_as_dict) */
    loom_pg_result_clear(&results);
    return rc;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct loom_http_router *routes;
    DEMO_CHECK(loom_http_router_new(&routes));
    DEMO_CHECK(loom_http_route(routes, "GET", "/brands", brands, NULL));
    struct loom_http_server_options opt = ch09_server_options(8080);
    opt.on_start = ch09_create_database_pool;
    opt.on_stop = ch09_destroy_database_pool;
    DEMO_CHECK(loom_http_server_run(&opt, routes, 1));
    loom_http_router_free(routes);
    return 0;
}
