/* listing_11_7.c - a semaphore caps requests in flight (listing 11.7).
 *
 * 1000 GETs are started at once over one HTTP session, but each must hold
 * Semaphore(10) while it talks to the site, so at most 10 requests are in
 * flight and the session's pool never needs more than 10 connections (each
 * body is read to the end, so its connection goes back to the pool for the
 * next request). The site is local (loom's HTTPS server in a thread, answering
 * after 10 ms, scaled) and counts the most connections it held at once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/site.h"
#include "demo.h"
#include "net/http.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_11_7 [--requests N]\n"
    "Starts N (default 1000) GETs of a local HTTPS site over one session, at most 10 at a\n"
    "time through a Semaphore(10); the site answers after 10 ms (scaled) and reports the\n"
    "most connections it held at once (at most 10).\n";

static struct demo_site *site;
static struct loom_http_session *session;
static struct loom_semaphore semaphore;
static char url[128];

/* GET url and read the body; the status or a negative code. */
static int get_status(void)
{
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN], *body;
    int rc = loom_http_get(session, url, &r, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "GET %s: %s\n", url, err);
        return rc;
    }
    ssize_t n = loom_http_response_read_all(r, &body, 1 << 20);
    int status = n < 0 ? (int)n : loom_http_response_status(r);
    if (n >= 0)
        free(body);
    loom_http_response_close(r);
    return status;
}

static intptr_t get_url(void *arg)
{
    printf("Waiting to acquire semaphore...\n");
    int rc = loom_semaphore_acquire(&semaphore, -1);
    if (rc < 0)
        return rc;
    printf("Acquired semaphore, requesting...\n");
    int status = get_status();
    printf("Finished requesting\n");
    loom_semaphore_release(&semaphore);
    return status;
}

static intptr_t main_task(void *arg)
{
    long n = demo_arg_long("--requests", 1000);
    struct loom_task **tasks = calloc((size_t)n, sizeof(*tasks));
    intptr_t *status = calloc((size_t)n, sizeof(*status));
    if (!tasks || !status)
        return -ENOMEM;
    loom_semaphore_init(&semaphore, 10);
    DEMO_CHECK(demo_site_session(site, &session));
    demo_site_url(site, "/", url, sizeof url);
    for (long i = 0; i < n; i++)
        tasks[i] = loom_spawn(get_url, NULL, NULL);
    DEMO_CHECK(loom_gather(tasks, (size_t)n, status, 0));
    long ok = 0;
    for (long i = 0; i < n; i++)
        ok += status[i] == 200;
    printf("%ld of %ld requests got 200; the site saw at most %u connections at once\n", ok, n,
           demo_site_max_connections(site));
    loom_http_session_free(session);
    loom_semaphore_close(&semaphore);
    free(tasks);
    free(status);
    return ok == n ? 0 : 1;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(demo_site_start(&(struct demo_site_options){.tls = true, .delay_s = 0.01}, &site));
    intptr_t rc = loom_run(main_task, NULL);
    demo_site_stop(site);
    return (int)rc;
}
