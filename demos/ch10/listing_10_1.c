/* listing_10_1.c - the inventory service (listing 10.1).
 *
 * GET /products/{id}/inventory waits a random 0-5 s (scaled) - a slow,
 * unreliable backend - then answers {"inventory": 0-100}. The wait suspends
 * only this request's task: the service keeps answering others meanwhile.
 * --delays makes the wait predictable for tests: "0,5" waits 0 s for even ids
 * and 5 s for odd ones (the id modulo the list's length picks the entry). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ch10.h"
#include "net/http_server.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_10_1 [--port N] [--delays LIST]\n"
    "The inventory service on 127.0.0.1:8001 (--port; 0 picks a free port):\n"
    "GET /products/{id}/inventory answers {\"inventory\": 0-100} after a random\n"
    "0-5 s delay (scaled). --delays S0,S1,... makes the delay of product id the\n"
    "entry at id mod count (seconds, 0-3600, scaled), e.g. --delays 0,5.\n";

static double delays[64];
static int ndelays; /* 0: random delays */

static void parse_delays(const char *list)
{
    for (const char *p = list; p && *p && ndelays < 64; ndelays++) {
        char *end;
        delays[ndelays] = strtod(p, &end);
        /* a finite number of seconds up to an hour: nan, inf or 1e308 made
         * demo_sec() convert an out-of-range double (undefined behaviour) */
        if (end == p || !(delays[ndelays] >= 0 && delays[ndelays] <= 3600) ||
            (*end && *end != ',')) {
            fprintf(stderr, "--delays: bad list '%s'\n", list);
            exit(2);
        }
        p = *end ? end + 1 : end;
    }
}

static int get_inventory(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    double delay = rand() % 6; /* random.randint(0, 5) */
    if (ndelays) {
        int id;
        if (!ch10_parse_int(loom_http_req_param(req, "id"), &id) || id < 0)
            return loom_http_reply_error(res, 400);
        delay = delays[id % ndelays];
    }
    int rc = loom_sleep(demo_sec(delay));
    if (rc < 0)
        return rc; /* cancelled: the server is shutting down */
    json_t *body = json_pack("{s:i}", "inventory", rand() % 101);
    rc = body ? loom_http_reply_json(res, 200, body) : -ENOMEM;
    json_decref(body);
    return rc;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    parse_delays(demo_arg_str("--delays", NULL));
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    struct loom_http_router *routes;
    DEMO_CHECK(loom_http_router_new(&routes));
    DEMO_CHECK(loom_http_route(routes, "GET", "/products/{id}/inventory", get_inventory, NULL));
    int status = ch10_serve(routes, 8001, NULL, NULL, NULL);
    loom_http_router_free(routes);
    return status;
}
