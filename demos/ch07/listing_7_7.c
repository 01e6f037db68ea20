/* listing_7_7.c - asyncio.to_thread (listing 7.7).
 *
 * 100 blocking GETs (a local site answering after 0.1 s, scaled) run on
 * to_thread (the default executor); each call is awaited by a
 * task, and gather() collects the statuses while the loop stays free.
 * The site is demos/common/site.c (loom's HTTP server in a thread), plain http:
 * a TLS handshake per blocking call would outweigh the 0.1 s answers. */
#include <stdio.h>
#include <stdlib.h>

#include "common/site.h"
#include "demo.h"
#include "reactor/executor.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_7_7 [--requests N]\n"
    "N (default 100) blocking GETs to a local site (0.1 s per answer, scaled), each offloaded\n"
    "to a thread and awaited with gather; prints the list of statuses, the time and the most\n"
    "requests the site answered at once.\n";

static struct demo_site *site;

static intptr_t get_status_code(void *arg) { return demo_site_get_blocking(site, "/"); }

static intptr_t fetch(void *arg) { return loom_to_thread(get_status_code, NULL); }

static intptr_t main_task(void *arg)
{
    long n = demo_arg_long("--requests", 100);
    struct loom_task **tasks = calloc((size_t)n, sizeof(*tasks));
    intptr_t *results = calloc((size_t)n, sizeof(*results));
    if (!tasks || !results)
        return 1;
    double t0 = demo_now();
    for (long i = 0; i < n; i++)
        tasks[i] = loom_spawn(fetch, NULL, NULL);
    DEMO_CHECK(loom_gather(tasks, (size_t)n, results, 0));
    printf("[");
    for (long i = 0; i < n; i++)
        printf("%s%ld", i ? ", " : "", (long)results[i]);
    printf("]\n");
    printf("main completed in %.4f sec.\n", demo_now() - t0);
    printf("The site answered at most %u request(s) at once.\n", demo_site_max_in_flight(site));
    free(tasks);
    free(results);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(demo_site_start(&(struct demo_site_options){.delay_s = 0.1}, &site));
    intptr_t rc = loom_run(main_task, NULL);
    demo_site_stop(site);
    return (int)rc;
}
