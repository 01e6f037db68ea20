/* listing_10_7.c - the product service (listing 10.7).
 *
 * GET /products answers every product as [{"product_id": N, "product_name":
 * "..."}, ...] from the pool of listing 10.4. --delay makes it answer late
 * (a struggling service), which the backend-for-frontend of listing 10.8
 * turns into a 504 once its own wait is over. */
#include <stdio.h>
#include <stdlib.h>

#include "ch05/ch05.h"
#include "ch10.h"
#include "listing_10_4.h"
#include "net/http_server.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_10_7 [--port N] [--dsn CONNINFO] [--delay SEC]\n"
    "The product service on 127.0.0.1:8000 (--port; 0 picks a free port):\n"
    "GET /products answers [{\"product_id\": N, \"product_name\": \"...\"}, ...] from\n"
    "the products database (--dsn or $LOOM_PG_DSN), after --delay seconds (scaled;\n"
    "default 0).\n";

static double delay;

static int products(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    int rc = loom_sleep(demo_sec(delay));
    if (rc < 0)
        return rc;
    return db_reply_rows(arg, res, "SELECT product_id, product_name FROM product", NULL,
                         "product_id");
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    delay = atof(demo_arg_str("--delay", "0"));
    static struct db_app app;
    app.dsn = ch05_dsn();
    struct loom_http_router *routes;
    DEMO_CHECK(loom_http_router_new(&routes));
    DEMO_CHECK(loom_http_route(routes, "GET", "/products", products, &app));
    int status = ch10_serve(routes, 8000, create_database_pool, destroy_database_pool, &app);
    loom_http_router_free(routes);
    return status;
}
