/* listing_4_15.c - wait() with a timeout (listing 4.15).
 *
 * Two quick requests and one that sleeps 3 s first; wait(timeout=1) returns
 * at 1 s with two done and one pending. Unlike wait_for, the timeout cancels
 * nothing: awaiting the pending task afterwards still gets its status, at
 * about 3 s. */
#include <errno.h>
#include <stdio.h>

#include "common/site.h"
#include "demo.h"
#include "net/http.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_4_15\n"
    "Two GETs of the local HTTPS site and one after a 3 s sleep (scaled), waited with a 1 s\n"
    "timeout: done 2, pending 1, the two statuses; then the pending one is awaited and\n"
    "its status printed (it was not cancelled).\n";

static struct demo_site *site;
static struct loom_http_session *session;
static char url[128];

static intptr_t fetch_status(void *arg)
{
    return demo_fetch_status(session, url, (double)(intptr_t)arg, NULL, 0);
}

static intptr_t main_body(void *arg)
{
    static const int delays[] = {0, 0, 3};
    DEMO_CHECK(demo_site_session(site, &session));
    demo_site_url(site, "/", url, sizeof url);
    double t0 = demo_now();
    struct loom_task *fetchers[3];
    for (int i = 0; i < 3; i++)
        if (!(fetchers[i] = loom_spawn(fetch_status, (void *)(intptr_t)delays[i], NULL)))
            return -ENOMEM;
    int done = loom_wait(fetchers, 3, LOOM_ALL_COMPLETED, demo_sec(1));
    DEMO_CHECK(done);
    printf("Done task count: %d\n", done);
    printf("Pending task count: %d\n", 3 - done);
    for (int i = 0; i < done; i++)
        printf("%ld\n", (long)loom_task_join(fetchers[i]));
    printf("wait() returned after %.4f sec.\n", demo_now() - t0);
    for (int i = done; i < 3; i++) {
        printf("Pending task cancelled: %s\n", loom_task_cancelled(fetchers[i]) ? "True" : "False");
        intptr_t status = loom_task_join(fetchers[i]);
        printf("Awaited pending task: %ld after %.4f sec.\n", (long)status, demo_now() - t0);
    }
    loom_http_session_free(session);
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
