/* listing_1_7a.c - ten blocking GETs in ten threads (listing 1.7a).
 *
 * The same blocking GET as listing 1.7, but each in its own thread. A thread
 * blocked waiting for the server lets the others run, so the ten requests wait
 * at the same time and the total is about one request, not ten. The local
 * HTTPS site answers every request after the same delay. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/site.h"
#include "demo.h"

static const char usage[] =
    "usage: listing_1_7a [--latency S]\n"
    "Starts a local HTTPS site on 127.0.0.1 answering after S seconds (default 0.5,\n"
    "scaled), then 10 threads each GET it (\"Thread-N, status code: 200\"); the total\n"
    "is about one request (well below the sum of the requests' own times); then the most\n"
    "requests the site answered at once.\n";

enum { NTHREADS = 10 };

struct worker {
    int n; /* Thread-N */
    const struct demo_site *site;
    double took; /* this request's own time */
};

static void *read_example(void *arg)
{
    struct worker *w = arg;
    double t0 = demo_now();
    int status = demo_site_get_blocking(w->site, "/");
    w->took = demo_now() - t0;
    DEMO_CHECK(status);
    printf("Thread-%d, status code: %d\n", w->n, status);
    return NULL;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct demo_site *site;
    struct demo_site_options o = {.tls = true, .delay_s = atof(demo_arg_str("--latency", "0.5"))};
    DEMO_CHECK(demo_site_start(&o, &site));

    pthread_t threads[NTHREADS];
    struct worker workers[NTHREADS];
    double start = demo_now();
    for (int i = 0; i < NTHREADS; i++) {
        workers[i] = (struct worker){i + 1, site, 0};
        DEMO_CHECK(-pthread_create(&threads[i], NULL, read_example, &workers[i]));
    }
    double sum = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(threads[i], NULL);
        sum += workers[i].took;
    }
    printf("Execution of %d threaded requests took %.4f seconds.\n", NTHREADS, demo_now() - start);
    printf("The requests' own times add up to %.4f seconds.\n", sum);
    printf("The site answered at most %u request(s) at once.\n", demo_site_max_in_flight(site));
    demo_site_stop(site);
    return 0;
}
