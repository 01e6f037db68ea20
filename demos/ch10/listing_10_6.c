/* listing_10_6.c - the cart service (listing 10.6).
 *
 * GET /users/{id}/cart answers the products in the user's cart from table
 * user_cart (listing 10.3) as [{"product_id": N}, ...]; an id that is not
 * an integer is a 400. The database pool is the application's (listing
 * 10.4): made when the service starts, closed when it stops. */
#include <stdio.h>

#include "ch05/ch05.h"
#include "ch10.h"
#include "listing_10_4.h"
#include "net/http_server.h"

static const char usage[] = "usage: listing_10_6 [--port N] [--dsn CONNINFO]\n"
                            "The cart service on 127.0.0.1:8003 (--port; 0 picks a free port):\n"
                            "GET /users/{id}/cart answers [{\"product_id\": N}, ...] from table\n"
                            "user_cart of the products database (--dsn or $LOOM_PG_DSN).\n";

static int cart(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    int user_id;
    if (!ch10_parse_int(loom_http_req_param(req, "id"), &user_id))
        return loom_http_reply_error(res, 400); /* int(str_id) raised ValueError */
    char id[16];
    snprintf(id, sizeof id, "%d", user_id);
    return db_reply_rows(arg, res, "SELECT product_id from user_cart where user_id = $1", id,
                         "product_id");
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    static struct db_app app;
    app.dsn = ch05_dsn();
    struct loom_http_router *routes;
    DEMO_CHECK(loom_http_router_new(&routes));
    DEMO_CHECK(loom_http_route(routes, "GET", "/users/{id}/cart", cart, &app));
    int status = ch10_serve(routes, 8003, create_database_pool, destroy_database_pool, &app);
    loom_http_router_free(routes);
    return status;
}
