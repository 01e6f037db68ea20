/* listing_1_7a.c - ten blocking GETs in ten threads (listing 1.7a).
 *
 * The same blocking GET as listing 1.7, but each in its own thread. A thread
 * blocked in read() lets the others run, so the ten requests wait for the
 * server at the same time and the total is about one request, not ten. The
 * local server (no internet, no HTTP module yet) answers each connection in
 * its own thread after the same delay. */
#include <pthread.h>
#include <stdio.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_1_7a [--latency S]\n"
    "Starts a local HTTP server on 127.0.0.1 answering after S seconds (default 0.5,\n"
    "scaled), then 10 threads each GET it (\"Thread-N, status code: 200\"); the total\n"
    "is about one request.\n";

enum { NTHREADS = 10 };

struct worker {
    int n;     /* Thread-N */
    int port;
};

static void *read_example(void *arg)
{
    struct worker *w = arg;
    int status = demo_http_get(w->port, "/");
    DEMO_CHECK(status);
    printf("Thread-%d, status code: %d\n", w->n, status);
    return NULL;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    double latency = atof(demo_arg_str("--latency", "0.5")) * demo_scale();
    struct demo_http server;
    DEMO_CHECK(demo_http_start(&server, latency));

    pthread_t threads[NTHREADS];
    struct worker workers[NTHREADS];
    double start = demo_now();
    for (int i = 0; i < NTHREADS; i++) {
        workers[i] = (struct worker){i + 1, server.port};
        DEMO_CHECK(-pthread_create(&threads[i], NULL, read_example, &workers[i]));
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(threads[i], NULL);
    printf("Execution of %d threaded requests took %.4f seconds.\n", NTHREADS,
           demo_now() - start);
    demo_http_stop(&server);
    return 0;
}
