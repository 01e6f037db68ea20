/* listing_7_4.c - sequential requests vs a thread pool's map (listing 7.4).
 *
 * 100 blocking GETs to a local site that takes 0.1 s (scaled) per answer:
 * first one by one, then mapped over a pool of threads (ThreadPoolExecutor's
 * default size: CPUs + 4, at most 32). The threads overlap their waits, so the
 * pool is many times faster; the thread count shows the pool at work.
 * The site is demos/common/site.c (loom's HTTP server in a thread), plain http:
 * a TLS handshake per blocking call would outweigh the 0.1 s answers. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "common/site.h"
#include "demo.h"

static const char usage[] =
    "usage: listing_7_4 [--requests N]\n"
    "N (default 100) blocking GETs to a local site (0.1 s per answer, scaled): one by one,\n"
    "then through a thread pool's map. Prints each status, the thread count, both times and\n"
    "the most requests the site answered at once.\n";

static struct demo_site *site;
static long nrequests;
static int results[1000];
static atomic_long next_index;
static pthread_barrier_t started;

static int get_status_code(void) { return demo_site_get_blocking(site, "/"); }

/* pool.map: each thread takes the next index until none is left. */
static void *pool_worker(void *arg)
{
    pthread_barrier_wait(&started);
    long i;
    while ((i = atomic_fetch_add(&next_index, 1)) < nrequests)
        results[i] = get_status_code();
    return NULL;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    nrequests = demo_arg_long("--requests", 100);
    if (nrequests < 1 || nrequests > 1000)
        nrequests = 100;
    DEMO_CHECK(demo_site_start(&(struct demo_site_options){.delay_s = 0.1}, &site));

    double t0 = demo_now();
    for (long i = 0; i < nrequests; i++)
        printf("%d\n", get_status_code());
    double sequential = demo_now() - t0;
    printf("finished requests one by one in %.4f second(s)\n", sequential);
    printf("The site answered at most %u request(s) at once so far.\n",
           demo_site_max_in_flight(site));

    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nthreads = (int)(ncpu + 4 < 32 ? ncpu + 4 : 32);
    pthread_t threads[32];
    pthread_barrier_init(&started, NULL, (unsigned)nthreads + 1);
    t0 = demo_now();
    for (int i = 0; i < nthreads; i++)
        DEMO_CHECK(-pthread_create(&threads[i], NULL, pool_worker, NULL));
    pthread_barrier_wait(&started);
    printf("Active threads while the pool works: %d\n", demo_thread_count());
    for (int i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
    for (long i = 0; i < nrequests; i++)
        printf("%d\n", results[i]);
    double pooled = demo_now() - t0;
    printf("finished requests with a pool of %d threads in %.4f second(s)\n", nthreads, pooled);
    printf("the pool was %.1fx faster\n", sequential / pooled);
    printf("The site answered at most %u request(s) at once with the pool.\n",
           demo_site_max_in_flight(site));
    pthread_barrier_destroy(&started);
    demo_site_stop(site);
    return 0;
}
