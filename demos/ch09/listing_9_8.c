/* listing_9_8.c - a Starlette /brands endpoint under uvicorn with workers
 * (listing 9.8).
 *
 * --workers N runs N reactor threads sharing the port (SO_REUSEPORT), each
 * with its own loop and its own pool of 6 connections, opened by the startup
 * hook and closed by the shutdown hook of that worker (uvicorn runs one
 * process per worker, each running the app's on_startup/on_shutdown). */
#include "ch09.h"

static const char usage[] =
    "usage: listing_9_8 " CH09_HOST_OPTS " [--workers N] [--dsn DSN]\n"
    "GET /brands on 127.0.0.1:8000 (--host ADDR, --port N; 0 picks a free port; prints\n"
    "\"listening on ADDR:PORT\") with --workers N reactor threads (default 1), each with\n"
    "its own pool on the products database (--dsn DSN, else $LOOM_PG_DSN).\n"
    "SIGINT/SIGTERM stop it.\n";

static int brands(struct loom_http_req *request, struct loom_http_reply *rep, void *arg)
{
    const char *brand_query = "SELECT brand_id, brand_name FROM brand";
    struct loom_pg_result results = {0};
    struct loom_pg_error err;
    ssize_t n = loom_pg_pool_query(&ch09_pool, &results, &err, brand_query, 0, NULL);
    if (n < 0)
        return ch09_db_error(rep, (int)n, &err);
    int rc = ch09_reply_rows(rep, &results, false); /* JSONResponse(result_as_dict) */
    loom_pg_result_clear(&results);
    return rc;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    long workers = ch09_arg_long("--workers", 1, 1, 256);
    struct loom_http_router *routes;
    DEMO_CHECK(loom_http_router_new(&routes));
    DEMO_CHECK(loom_http_route(routes, "GET", "/brands", brands, NULL));
    struct loom_http_server_options opt = ch09_server_options(8000);
    opt.on_start = ch09_create_database_pool; /* on_startup=[create_database_pool] */
    opt.on_stop = ch09_destroy_database_pool; /* on_shutdown=[destroy_database_pool] */
    DEMO_CHECK(loom_http_server_run(&opt, routes, (unsigned)workers));
    loom_http_router_free(routes);
    return 0;
}
