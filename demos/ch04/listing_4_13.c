/* listing_4_13.c - wait(FIRST_COMPLETED) (listing 4.13).
 *
 * Four requests start at once; wait() returns as soon as one is done. To make
 * "the first" well defined, three of them sleep 1 s (scaled) before their GET.
 * The others are left pending (the end of the program cancels them). */
#include <errno.h>
#include <stdio.h>

#include "common/site.h"
#include "demo.h"
#include "net/http.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_4_13\n"
    "Four GETs of the local HTTPS site (three after a 1 s sleep, scaled), waited with\n"
    "FIRST_COMPLETED: prints done 1, pending 3 and the status of the one that finished.\n";

static struct demo_site *site;
static struct loom_http_session *session;
static char url[128];

static intptr_t fetch_status(void *arg)
{
    return demo_fetch_status(session, url, (double)(intptr_t)arg, NULL, 0);
}

static intptr_t main_task(void *arg)
{
    DEMO_CHECK(demo_site_session(site, &session));
    demo_site_url(site, "/", url, sizeof url);
    struct loom_task *fetchers[4];
    for (int i = 0; i < 4; i++)
        if (!(fetchers[i] = loom_spawn(fetch_status, (void *)(intptr_t)(i ? 1 : 0), NULL)))
            return -ENOMEM;
    int done = loom_wait(fetchers, 4, LOOM_FIRST_COMPLETED, -1);
    DEMO_CHECK(done);
    printf("Done task count: %d\n", done);
    printf("Pending task count: %d\n", 4 - done);
    for (int i = 0; i < done; i++)
        printf("%ld\n", (long)loom_task_result(fetchers[i]));
    for (int i = 0; i < 4; i++)
        loom_task_release(fetchers[i]);
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
