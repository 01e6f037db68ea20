/* listing_10_8.c - the product backend-for-frontend (listing 10.8).
 *
 * GET /products/all asks the product, favorites and cart services at once and
 * waits at most 1 s (scaled) for them. Products are essential: late is a 504,
 * failed a 500. Favorites and cart are not: late or failed, their count is
 * null. Then one inventory request per product, all at once, again with a
 * 1 s wait: the late ones are cancelled (the pool stays usable) and their
 * inventory is null. The page answers with what it has instead of waiting
 * for the slowest backend.
 *
 * The book opens a ClientSession per request; here it is the application's
 * (made and freed by the start/stop hooks, like the pool of listing 10.4), so
 * pages reuse connections - and cancelled requests must leave its pool sound. */
#include <stdio.h>
#include <stdlib.h>

#include "ch10.h"
#include "net/http.h"
#include "net/http_server.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_10_8 [--port N] [--products URL] [--inventory URL] [--favorites URL]\n"
    "                    [--cart URL] [--limit N]\n"
    "The backend-for-frontend on 127.0.0.1:9000 (--port; 0 picks a free port):\n"
    "GET /products/all answers {cart_items, favorite_items, products: [{product_id,\n"
    "inventory}]} for user 3 from the product (default http://127.0.0.1:8000),\n"
    "inventory (:8001), favorites (:8002) and cart (:8003) services, waiting at most\n"
    "1 s (scaled) for each step. --limit caps its connections (default 1000).\n";

static const char *product_base, *inventory_base, *favorite_base, *cart_base;
static struct loom_http_session_options session_options;
static struct loom_http_session *session;

static int create_session(struct loom_http_server *srv, void *arg)
{
    return loom_http_session_new(loom_loop_current(), &session_options, &session);
}

static void destroy_session(struct loom_http_server *srv, void *arg)
{
    loom_http_session_free(session);
}

static json_t *error_reply(const char *text) { return json_pack("{s:s}", "error", text); }

/* The most products one page asks the inventory of: each is a task and a
 * request at once, so a products service listing 200,000 (a 5 MB answer) grew
 * the BFF past 2.7 GB for minutes (10,000: 5 GB); the book's service lists 1,000. */
#define MAX_PRODUCTS 2000

/* Whether the products answer is a list the page can fan out over (the
 * book's code fails on anything else: a 500). */
static bool products_usable(const json_t *products)
{
    if (!json_is_array(products)) {
        fprintf(stderr, "Server error reaching product service: the answer is not a list\n");
        return false;
    }
    if (json_array_size(products) > MAX_PRODUCTS) {
        fprintf(stderr, "Server error reaching product service: %zu products (at most %d)\n",
                json_array_size(products), MAX_PRODUCTS);
        return false;
    }
    return true;
}

/* Every product's inventory, fetched at once; null for those not back in 1 s. */
static json_t *get_products_with_inventory(struct loom_http_session *s, json_t *products)
{
    size_t n = json_array_size(products);
    struct ch10_fetch *inventory = calloc(n ? n : 1, sizeof *inventory);
    struct loom_task **tasks = calloc(n ? n : 1, sizeof *tasks);
    json_t *results = json_array();
    if (!inventory || !tasks || !results)
        goto done;
    size_t started = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *product = json_array_get(products, i);
        long long id = (long long)json_integer_value(json_object_get(product, "product_id"));
        if (!ch10_fetch_start(&inventory[i], s, "%s/products/%lld/inventory", inventory_base, id))
            tasks[started++] = inventory[i].task;
    }
    loom_wait(tasks, started, LOOM_ALL_COMPLETED, demo_sec(1.0));
    /* The book lists the done ones first, then the pending ones (cancelled). */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            struct ch10_fetch *f = &inventory[i];
            bool done = f->task && loom_task_done(f->task);
            if (done != (pass == 0))
                continue;
            json_t *id = json_object_get(json_array_get(products, i), "product_id");
            json_t *count = ch10_fetch_ok(f) ? json_object_get(f->json, "inventory") : NULL;
            if (done && !count)
                fprintf(stderr, "Error getting inventory for id %lld: %s\n",
                        (long long)json_integer_value(id),
                        ch10_fetch_ok(f) ? "no inventory in the answer" : ch10_fetch_why(f));
            json_array_append_new(results, json_pack("{s:O,s:O}", "product_id", id, "inventory",
                                                     count ? count : json_null()));
        }
    }
done:
    for (size_t i = 0; inventory && i < n; i++)
        ch10_fetch_finish(&inventory[i]); /* cancels the late ones */
    free(tasks);
    free(inventory);
    return results;
}

/* How many items a favorites/cart answer listed, or null (late or failed). */
static json_t *get_response_item_count(struct ch10_fetch *f, const char *error_msg)
{
    if (ch10_fetch_ok(f))
        return json_integer((json_int_t)json_array_size(f->json));
    if (f->task && loom_task_done(f->task))
        fprintf(stderr, "%s (%s)\n", error_msg, ch10_fetch_why(f));
    return json_null(); /* a late one is cancelled by ch10_fetch_finish */
}

static int all_products(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    struct ch10_fetch calls[3] = {{0}};
    struct ch10_fetch *products = &calls[0], *favorites = &calls[1], *cart = &calls[2];
    ch10_fetch_start(products, session, "%s/products", product_base);
    ch10_fetch_start(favorites, session, "%s/users/3/favorites", favorite_base);
    ch10_fetch_start(cart, session, "%s/users/3/cart", cart_base);
    struct loom_task *requests[3];
    size_t n = 0;
    for (int i = 0; i < 3; i++)
        if (calls[i].task)
            requests[n++] = calls[i].task;
    int rc = loom_wait(requests, n, LOOM_ALL_COMPLETED, demo_sec(1.0));
    json_t *body = NULL;
    int status = 200;
    if (rc < 0) { /* cancelled (the server is stopping): so are the fetches, below */
    } else if (products->task && !loom_task_done(products->task)) {
        status = 504, body = error_reply("Could not reach products service.");
    } else if (!ch10_fetch_ok(products) || !products_usable(products->json)) {
        if (!ch10_fetch_ok(products))
            fprintf(stderr, "Server error reaching product service: %s\n",
                    ch10_fetch_why(products));
        status = 500, body = error_reply("Server error reaching products service.");
    } else {
        json_t *product_results = get_products_with_inventory(session, products->json);
        json_t *cart_items = get_response_item_count(cart, "Error getting user cart.");
        json_t *favorite_items =
            get_response_item_count(favorites, "Error getting user favorites.");
        body = json_pack("{s:o,s:o,s:o}", "cart_items", cart_items, "favorite_items",
                         favorite_items, "products", product_results);
    }
    for (int i = 0; i < 3; i++)
        ch10_fetch_finish(&calls[i]); /* cancels those still running */
    if (rc >= 0)
        rc = body ? loom_http_reply_json(res, status, body) : -ENOMEM;
    json_decref(body);
    return rc;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    product_base = demo_arg_str("--products", "http://127.0.0.1:8000");
    inventory_base = demo_arg_str("--inventory", "http://127.0.0.1:8001");
    favorite_base = demo_arg_str("--favorites", "http://127.0.0.1:8002");
    cart_base = demo_arg_str("--cart", "http://127.0.0.1:8003");
    long limit = demo_arg_long("--limit", 1000);
    session_options.limit = session_options.limit_per_host = limit > 0 ? (size_t)limit : 1000;
    struct loom_http_router *routes;
    DEMO_CHECK(loom_http_router_new(&routes));
    DEMO_CHECK(loom_http_route(routes, "GET", "/products/all", all_products, NULL));
    int status = ch10_serve(routes, 9000, create_session, destroy_session, NULL);
    loom_http_router_free(routes);
    return status;
}
