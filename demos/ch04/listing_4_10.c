/* listing_4_10.c - wait() with its default, ALL_COMPLETED (listing 4.10).
 *
 * wait() returns once both requests finished: two done, none pending; the
 * results are then taken from the done tasks. */
#include <stdio.h>

#include "common/site.h"
#include "demo.h"
#include "net/http.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_4_10\n"
    "Two GETs of the local HTTPS site awaited with wait(): prints the done and pending\n"
    "counts (2 and 0) and each status.\n";

static struct demo_site *site;
static struct loom_http_session *session;
static char url[128];

static intptr_t fetch_status(void *arg) { return demo_fetch_status(session, url, 0, NULL, 0); }

static intptr_t main_task(void *arg)
{
    DEMO_CHECK(demo_site_session(site, &session));
    demo_site_url(site, "/", url, sizeof url);
    struct loom_task *fetchers[2];
    for (int i = 0; i < 2; i++)
        fetchers[i] = loom_spawn(fetch_status, NULL, NULL);
    int done = loom_wait(fetchers, 2, LOOM_ALL_COMPLETED, -1);
    DEMO_CHECK(done);
    printf("Done task count: %d\n", done);
    printf("Pending task count: %d\n", 2 - done);
    for (int i = 0; i < done; i++)
        printf("%ld\n", (long)loom_task_join(fetchers[i]));
    loom_http_session_free(session);
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
