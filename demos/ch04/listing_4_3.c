/* listing_4_3.c - session and per-request timeouts (listing 4.3).
 *
 * The session gets aiohttp's ClientTimeout(total=1, connect=0.1); a request
 * may override it: ClientTimeout(total=0.01) makes fetch_status fail with a
 * timeout after about 10 ms while the site takes 0.5 s to answer. A first
 * request under the session's own timeout (1 s) gets the same slow page. The
 * timeouts are the book's, unscaled (--scale scales the site's latency); the
 * site is plain http here so that a TLS handshake on a busy machine cannot eat
 * the 0.1 s connect budget. */
#include <errno.h>
#include <stdio.h>

#include "common/site.h"
#include "demo.h"
#include "net/http.h"

static const char usage[] =
    "usage: listing_4_3\n"
    "Session timeouts total 1 s / connect 0.1 s; the site answers after 0.5 s. A GET under\n"
    "the session's timeout gets 200; the same GET with a per-request total of 0.01 s times\n"
    "out after about 10 ms.\n";

static struct demo_site *site;

/* GET url, with this request's timeout (NULL: the session's); the status or an error. */
static int fetch_status(struct loom_http_session *s, const char *url,
                        const struct loom_http_timeout *t)
{
    struct loom_http_request_options o = {.timeout = t ? *t : (struct loom_http_timeout){0}};
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN];
    int rc = loom_http_request(s, url, &o, &r, err, sizeof err);
    if (rc < 0) {
        printf("fetch_status failed: %s (%s)\n", loom_errname(rc), err);
        return rc;
    }
    rc = loom_http_response_status(r);
    loom_http_response_close(r);
    return rc;
}

static intptr_t main_task(void *arg)
{
    struct loom_http_session_options so = {
        .timeout = {.total = LOOM_SEC(1), .connect = LOOM_MS(100)}};
    struct loom_http_session *session;
    DEMO_CHECK(loom_http_session_new(loom_loop_current(), &so, &session));
    char url[128];
    demo_site_url(site, "/?delay=0.5", url, sizeof url);

    double t0 = demo_now();
    int status = fetch_status(session, url, NULL);
    printf("With the session's timeout (total 1 s): %d after %.4f sec.\n", status, demo_now() - t0);

    struct loom_http_timeout ten_millis = {.total = LOOM_MS(10)};
    t0 = demo_now();
    int rc = fetch_status(session, url, &ten_millis);
    printf("With total=0.01 s for this request: %s after %.4f sec.\n",
           rc == -ETIMEDOUT ? "TimeoutError" : loom_errname(rc), demo_now() - t0);
    loom_http_session_free(session);
    return status == 200 && rc == -ETIMEDOUT ? 0 : 1;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(demo_site_start(&(struct demo_site_options){0}, &site));
    intptr_t rc = loom_run(main_task, NULL);
    demo_site_stop(site);
    return (int)rc;
}
