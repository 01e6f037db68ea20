/* listing_7_3.c - a blocking HTTP client (listing 7.3).
 *
 * Two blocking GETs (requests.get in the book), one after the other; each
 * blocks the calling thread until the answer is in. The site is local (loom's
 * HTTPS server in a thread, its CA trusted by the client) and answers after
 * 0.5 s (scaled), so the two take about 1 s. */
#include <stdio.h>

#include "common/site.h"
#include "demo.h"

static const char usage[] =
    "usage: listing_7_3\n"
    "Two blocking GETs of a local HTTPS site (0.5 s per answer, scaled); prints both status\n"
    "codes and the time they took.\n";

static int get_status_code(const struct demo_site *site)
{
    return demo_site_get_blocking(site, "/");
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct demo_site *site;
    DEMO_CHECK(demo_site_start(&(struct demo_site_options){.tls = true, .delay_s = 0.5}, &site));
    double t0 = demo_now();
    printf("%d\n", get_status_code(site));
    printf("%d\n", get_status_code(site));
    printf("Two blocking requests took %.2f s\n", demo_now() - t0);
    demo_site_stop(site);
    return 0;
}
