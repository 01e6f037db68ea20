/* listing_9_4.c - creating a product (listing 9.4), in the whole products app.
 *
 * POST /product takes JSON {"product_name": ..., "brand_id": ...}, inserts the
 * product and answers 201 (empty body); 400 if the body is not a JSON object or
 * a field is missing (or brand_id is no integer, or no such brand). The app
 * also serves GET /brands (listing 9.2, the one the book benchmarks with wrk)
 * and GET /products/{id} (listing 9.3), so a new product can be read back. */
#include <errno.h>
#include <limits.h>

#include <jansson.h>

#include "ch09.h"

static const char usage[] =
    "usage: listing_9_4 " CH09_HOST_OPTS " [--dsn DSN]\n"
    "The products app on 127.0.0.1:8080 (--host ADDR, --port N; 0 picks a free port;\n"
    "prints \"listening on ADDR:PORT\") over the products database (--dsn DSN, else\n"
    "$LOOM_PG_DSN): POST /product {\"product_name\", \"brand_id\"} -> 201 (400 if a field is\n"
    "missing), GET /brands, GET /products/{id}. SIGINT/SIGTERM stop it.\n";

static int brands(struct loom_http_req *req, struct loom_http_reply *rep, void *arg)
{
    struct loom_pg_result results = {0};
    struct loom_pg_error err;
    ssize_t n = loom_pg_pool_query(&ch09_pool, &results, &err,
                                   "SELECT brand_id, brand_name FROM brand", 0, NULL);
    if (n < 0)
        return ch09_db_error(rep, (int)n, &err);
    int rc = ch09_reply_rows(rep, &results, false);
    loom_pg_result_clear(&results);
    return rc;
}

static int get_product(struct loom_http_req *req, struct loom_http_reply *rep, void *arg)
{
    const char *str_id = loom_http_req_param(req, "id");
    char *end;
    errno = 0;
    long product_id = strtol(str_id, &end, 10);
    if (end == str_id || *end)
        return loom_http_reply_error(rep, 400);
    if (errno == ERANGE || product_id < INT_MIN || product_id > INT_MAX)
        return loom_http_reply_error(rep, 404);
    struct loom_pg_result result = {0};
    struct loom_pg_error err;
    ssize_t n = loom_pg_pool_query(&ch09_pool, &result, &err,
                                   "SELECT product_id, product_name, brand_id FROM product "
                                   "WHERE product_id = $1",
                                   1, (const char *[]){str_id});
    if (n < 0)
        return ch09_db_error(rep, (int)n, &err);
    int rc = n == 0 ? loom_http_reply_error(rep, 404) : ch09_reply_rows(rep, &result, true);
    loom_pg_result_clear(&result);
    return rc;
}

/* int(body[BRAND_ID]): a JSON integer or a string holding one. */
static bool json_to_int(const json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    const char *s = json_string_value(v);
    char *end;
    if (!s || !*s)
        return false;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return !*end && errno == 0;
}

static int create_product(struct loom_http_req *req, struct loom_http_reply *rep, void *arg)
{
    const char *PRODUCT_NAME = "product_name", *BRAND_ID = "brand_id";
    json_t *body;
    if (loom_http_req_json(req, &body) < 0)
        return loom_http_reply_error(rep, 400); /* no body, or not JSON */
    const char *name = json_string_value(json_object_get(body, PRODUCT_NAME));
    long long brand_id;
    if (!name || !json_to_int(json_object_get(body, BRAND_ID), &brand_id) || brand_id < INT_MIN ||
        brand_id > INT_MAX) {
        json_decref(body);
        return loom_http_reply_error(rep, 400);
    }
    char id[24];
    snprintf(id, sizeof id, "%lld", brand_id);
    struct loom_pg_error err;
    ssize_t n = loom_pg_pool_query(&ch09_pool, NULL, &err,
                                   "INSERT INTO product(product_id, product_name, brand_id) "
                                   "VALUES(DEFAULT, $1, $2)",
                                   2, (const char *[]){name, id});
    json_decref(body);
    if (n < 0 && !strcmp(err.sqlstate, "23503")) /* foreign key: no such brand */
        return loom_http_reply_error(rep, 400);
    if (n < 0)
        return ch09_db_error(rep, (int)n, &err);
    return loom_http_reply_send(rep, 201, NULL, "", 0);
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct loom_http_router *routes;
    DEMO_CHECK(loom_http_router_new(&routes));
    DEMO_CHECK(loom_http_route(routes, "POST", "/product", create_product, NULL));
    DEMO_CHECK(loom_http_route(routes, "GET", "/brands", brands, NULL));
    DEMO_CHECK(loom_http_route(routes, "GET", "/products/{id}", get_product, NULL));
    struct loom_http_server_options opt = ch09_server_options(8080);
    opt.on_start = ch09_create_database_pool;
    opt.on_stop = ch09_destroy_database_pool;
    DEMO_CHECK(loom_http_server_run(&opt, routes, 1));
    loom_http_router_free(routes);
    return 0;
}
