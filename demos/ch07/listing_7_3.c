/* listing_7_3.c - a blocking HTTP client (listing 7.3).
 *
 * Two plain blocking GETs, one after the other; each blocks the calling
 * thread until the answer is in. The "site" is a local HTTP server (demo.h)
 * that answers after 0.5 s (scaled), so the two take about 1 s. */
#include <stdio.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_7_3\n"
    "Two blocking GETs to a local server (0.5 s per answer, scaled); prints both status codes.\n";

static int get_status_code(int port) { return demo_http_get(port, "/"); }

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct demo_http server;
    DEMO_CHECK(demo_http_start(&server, demo_scale() * 0.5));
    double t0 = demo_now();
    printf("%d\n", get_status_code(server.port));
    printf("%d\n", get_status_code(server.port));
    printf("Two blocking requests took %.2f s\n", demo_now() - t0);
    demo_http_stop(&server);
    return 0;
}
