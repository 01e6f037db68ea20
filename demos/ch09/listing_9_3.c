/* listing_9_3.c - getting a specific product (listing 9.3).
 *
 * GET /products/{id}: the path parameter must be an integer (else 400, the
 * book's ValueError); the product is fetched with one parameterised query and
 * answered as {product_id, product_name, brand_id}, or 404 if there is none. */
#include <errno.h>
#include <limits.h>

#include "ch09.h"

static const char usage[] =
    "usage: listing_9_3 " CH09_HOST_OPTS " [--dsn DSN]\n"
    "GET /products/{id} on 127.0.0.1:8080 (--host ADDR, --port N; 0 picks a free port;\n"
    "prints \"listening on ADDR:PORT\") answers one product of the products database\n"
    "(--dsn DSN, else $LOOM_PG_DSN) as JSON; 404 if it does not exist, 400 if the id is\n"
    "not an integer. SIGINT/SIGTERM stop it.\n";

/* int(str_id): an optional sign and digits, blanks around allowed; -ERANGE past int32. */
static int parse_int(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    while (*end == ' ')
        end++;
    if (end == s || *end)
        return -EINVAL;
    if (errno == ERANGE || v < INT_MIN || v > INT_MAX)
        return -ERANGE;
    *out = v;
    return 0;
}

static int get_product(struct loom_http_req *req, struct loom_http_reply *rep, void *arg)
{
    const char *str_id = loom_http_req_param(req, "id");
    long product_id;
    int rc = parse_int(str_id, &product_id);
    if (rc == -EINVAL)
        return loom_http_reply_error(rep, 400); /* raise web.HTTPBadRequest() */
    if (rc == -ERANGE)
        return loom_http_reply_error(rep, 404); /* no product can have that id */
    const char *query = "SELECT product_id, product_name, brand_id FROM product "
                        "WHERE product_id = $1";
    char id[24];
    snprintf(id, sizeof id, "%ld", product_id);
    struct loom_pg_result result = {0};
    struct loom_pg_error err;
    ssize_t n = loom_pg_pool_query(&ch09_pool, &result, &err, query, 1, (const char *[]){id});
    if (n < 0)
        return ch09_db_error(rep, (int)n, &err);
    if (n == 0) {
        loom_pg_result_clear(&result);
        return loom_http_reply_error(rep, 404); /* raise web.HTTPNotFound() */
    }
    rc = ch09_reply_rows(rep, &result, true); /* web.json_response(dict(result)) */
    loom_pg_result_clear(&result);
    return rc;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct loom_http_router *routes;
    DEMO_CHECK(loom_http_router_new(&routes));
    DEMO_CHECK(loom_http_route(routes, "GET", "/products/{id}", get_product, NULL));
    struct loom_http_server_options opt = ch09_server_options(8080);
    opt.on_start = ch09_create_database_pool;
    opt.on_stop = ch09_destroy_database_pool;
    DEMO_CHECK(loom_http_server_run(&opt, routes, 1));
    loom_http_router_free(routes);
    return 0;
}
