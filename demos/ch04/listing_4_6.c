/* listing_4_6.c - gather over many requests on one session (listing 4.6).
 *
 * 300 GETs share one session (its pool keeps at most 100 connections, as
 * aiohttp's). gather() returns the results in the order of the requests, not
 * of their completion. To make that visible, request i asks the site for
 * status 200 + i % 3 (the book's URLs all answer 200). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/site.h"
#include "demo.h"
#include "net/http.h"

static const char usage[] =
    "usage: listing_4_6 [--requests N]\n"
    "gathers N (default 300) GETs of the local HTTPS site over one session; request i gets\n"
    "status 200 + i % 3. Prints the statuses (in request order) and the most connections\n"
    "the site saw at once (the pool keeps at most 100).\n";

static struct demo_site *site;
static struct loom_http_session *session;

struct request {
    char url[128];
};

static intptr_t fetch_status_code(void *arg)
{
    struct request *q = arg;
    char err[LOOM_HTTP_ERRLEN];
    int rc = demo_fetch_status(session, q->url, 0, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "GET %s: %s\n", q->url, err);
    return rc;
}

static intptr_t main_task(void *arg)
{
    long n = demo_arg_long("--requests", 300);
    struct request *reqs = calloc((size_t)n, sizeof *reqs);
    struct loom_task **tasks = calloc((size_t)n, sizeof *tasks);
    intptr_t *status_codes = calloc((size_t)n, sizeof *status_codes);
    if (!reqs || !tasks || !status_codes)
        return -ENOMEM;
    DEMO_CHECK(demo_site_session(site, &session));
    for (long i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof path, "/status/%ld", 200 + i % 3);
        demo_site_url(site, path, reqs[i].url, sizeof reqs[i].url);
        tasks[i] = loom_spawn(fetch_status_code, &reqs[i], NULL);
    }
    DEMO_CHECK(loom_gather(tasks, (size_t)n, status_codes, 0));
    printf("[");
    for (long i = 0; i < n; i++)
        printf("%s%ld", i ? ", " : "", (long)status_codes[i]);
    printf("]\n");
    printf("Most connections open at once at the site: %u\n", demo_site_max_connections(site));
    loom_http_session_free(session);
    free(reqs);
    free(tasks);
    free(status_codes);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(demo_site_start(&(struct demo_site_options){.tls = true}, &site));
    intptr_t rc = loom_run(main_task, NULL);
    demo_site_stop(site);
    return (int)rc;
}
