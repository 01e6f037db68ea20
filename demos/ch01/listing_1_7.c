/* listing_1_7.c - two blocking HTTP GETs, one after the other (listing 1.7).
 *
 * The book fetches a web site twice with requests. There is no internet here
 * and loom has no HTTP module yet, so the demo starts a tiny local server (in a
 * thread, answering 200 after a delay) and fetches it with a plain blocking
 * socket GET. Each GET blocks until its answer: the total is about twice one. */
#include <stdio.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_1_7 [--latency S]\n"
    "Starts a local HTTP server on 127.0.0.1 that answers after S seconds (default 0.5,\n"
    "scaled), GETs it twice with blocking sockets and prints both statuses and the\n"
    "total time (about twice one request).\n";

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    double latency = atof(demo_arg_str("--latency", "0.5")) * demo_scale();
    struct demo_http server;
    DEMO_CHECK(demo_http_start(&server, latency));

    double start = demo_now();
    int status_one = demo_http_get(server.port, "/");
    int status_two = demo_http_get(server.port, "/");
    double end = demo_now();
    DEMO_CHECK(status_one);
    DEMO_CHECK(status_two);

    printf("%d\n", status_one);
    printf("%d\n", status_two);
    printf("Execution of read_example took %.4f seconds.\n", end - start);
    demo_http_stop(&server);
    return 0;
}
