/* listing_9_1.c - the current time endpoint (listing 9.1).
 *
 * aiohttp's route table becomes a loom router: GET /time answers
 * {"month": M, "day": D, "time": "HH:MM:SS.ffffff"} as JSON (the local time,
 * str(datetime.now().time())), and the request's headers are logged. */
#include <sys/time.h>
#include <time.h>

#include <jansson.h>

#include "ch09.h"

static const char usage[] =
    "usage: listing_9_1 " CH09_HOST_OPTS "\n"
    "GET /time on 127.0.0.1:8080 (--host ADDR, --port N; 0 picks a free port; prints\n"
    "\"listening on ADDR:PORT\") answers the month, day and time as JSON and logs the\n"
    "request's headers. SIGINT/SIGTERM stop it.\n";

static int time_handler(struct loom_http_req *req, struct loom_http_reply *rep, void *arg)
{
    printf("Request headers:\n");
    for (size_t i = 0; i < loom_http_req_header_count(req); i++) {
        const char *name, *value;
        loom_http_req_header_at(req, i, &name, &value);
        printf("  "); /* escaped: a peer's bytes must not drive the terminal */
        ch09_print_escaped(stdout, name, false);
        printf(": ");
        ch09_print_escaped(stdout, value, false);
        printf("\n");
    }
    fflush(stdout);

    struct timeval now;
    struct tm today;
    gettimeofday(&now, NULL);
    localtime_r(&now.tv_sec, &today);
    char time_str[32];
    snprintf(time_str, sizeof time_str, "%02d:%02d:%02d.%06ld", today.tm_hour, today.tm_min,
             today.tm_sec, (long)now.tv_usec);
    json_t *result = json_pack("{s:i, s:i, s:s}", "month", today.tm_mon + 1, "day", today.tm_mday,
                               "time", time_str);
    int rc = loom_http_reply_json(rep, 200, result);
    json_decref(result);
    return rc;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct loom_http_router *routes;
    DEMO_CHECK(loom_http_router_new(&routes));
    DEMO_CHECK(loom_http_route(routes, "GET", "/time", time_handler, NULL));
    struct loom_http_server_options opt = ch09_server_options(8080);
    DEMO_CHECK(loom_http_server_run(&opt, routes, 1));
    loom_http_router_free(routes);
    return 0;
}
