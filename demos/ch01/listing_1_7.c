/* listing_1_7.c - two blocking HTTP GETs, one after the other (listing 1.7).
 *
 * The book fetches https://hazadus.ru twice with requests. Here the site is
 * local (loom's HTTPS server in a thread, answering after a delay, with a CA
 * made at run time that the client trusts) and the client is loom's blocking
 * GET. Each call blocks the thread until its answer: the total is about twice
 * one request. */
#include <stdio.h>
#include <stdlib.h>

#include "common/site.h"
#include "demo.h"
#include "net/http.h"

static const char usage[] =
    "usage: listing_1_7 [--latency S]\n"
    "Starts a local HTTPS site on 127.0.0.1 that answers after S seconds (default 0.5,\n"
    "scaled), GETs it twice with blocking calls and prints both statuses and the total\n"
    "time (about twice one request) and the most requests the site answered at once.\n";

static int read_example(const struct demo_site *site)
{
    struct loom_http_session_options o = {.ca_file = demo_site_ca_file(site)};
    char url[128], err[LOOM_HTTP_ERRLEN], *body;
    int status;
    demo_site_url(site, "/", url, sizeof url);
    int rc = loom_http_get_blocking(url, &o, 0, &status, &body, NULL, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "GET %s: %s\n", url, err);
        exit(1);
    }
    free(body);
    return status;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct demo_site *site;
    struct demo_site_options o = {.tls = true, .delay_s = atof(demo_arg_str("--latency", "0.5"))};
    DEMO_CHECK(demo_site_start(&o, &site));

    double start = demo_now();
    printf("%d\n", read_example(site));
    printf("%d\n", read_example(site));
    printf("Execution of read_example took %.4f seconds.\n", demo_now() - start);
    printf("The site answered at most %u request(s) at once.\n", demo_site_max_in_flight(site));
    demo_site_stop(site);
    return 0;
}
