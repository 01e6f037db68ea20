/* listing_4_2.c - one asynchronous HTTPS GET (listing 4.2).
 *
 * The book GETs https://hazadus.ru/repos/ with an aiohttp ClientSession. Here
 * the site is local (demos/common/site.c: loom's HTTP server over TLS, with a
 * certificate authority made at run time), and the session is told to trust
 * that CA - certificate and host checks stay on. fetch_status opens the
 * response, takes its status and closes it (the `async with` of the book). */
#include <stdio.h>

#include "common/site.h"
#include "demo.h"
#include "net/http.h"

static const char usage[] =
    "usage: listing_4_2\n"
    "Starts a local HTTPS site and GETs its /repos/ page once through an HTTP session,\n"
    "printing the status with async_timed's timing lines.\n";

static struct demo_site *site;
static struct loom_http_session *session;
static char url[128];

static intptr_t fetch_status(void *arg)
{
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN];
    int rc = loom_http_get(session, url, &r, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "GET %s: %s\n", url, err);
        return rc;
    }
    int status = loom_http_response_status(r);
    loom_http_response_close(r);
    return status;
}

static intptr_t main_body(void *arg)
{
    struct loom_http_session_options o = {.ca_file = demo_site_ca_file(site)};
    DEMO_CHECK(loom_http_session_new(loom_loop_current(), &o, &session));
    demo_site_url(site, "/repos/", url, sizeof url);
    intptr_t status = demo_timed("fetch_status", "(session, url) {}", fetch_status, NULL);
    loom_http_session_free(session);
    DEMO_CHECK(status);
    printf("Status of %s is %ld\n", url, (long)status);
    return 0;
}

static intptr_t main_task(void *arg) { return demo_timed("main", "() {}", main_body, NULL); }

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(demo_site_start(&(struct demo_site_options){.tls = true}, &site));
    intptr_t rc = loom_run(main_task, NULL);
    demo_site_stop(site);
    return (int)rc;
}
