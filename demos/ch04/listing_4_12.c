/* listing_4_12.c - wait(FIRST_EXCEPTION) and cancelling the rest (listing 4.12).
 *
 * The bad URL fails at once (no network I/O for an unknown scheme), so wait()
 * returns with one task done and two pending, well before the two good
 * requests' 3 s delays are over. The error is logged and the pending tasks are
 * cancelled; the site never sees them. */
#include <errno.h>
#include <stdio.h>

#include "common/site.h"
#include "demo.h"
#include "net/http.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_4_12\n"
    "GETs \"error://hazadus.ru\" and, after 3 s (scaled), the local HTTPS site twice; waits for\n"
    "FIRST_EXCEPTION: done 1, pending 2, logs the error, cancels the pending ones.\n";

static struct demo_site *site;
static struct loom_http_session *session;

struct request {
    char url[128];
    int delay;
    char err[LOOM_HTTP_ERRLEN];
};

static intptr_t fetch_status(void *arg)
{
    struct request *q = arg;
    return demo_fetch_status(session, q->url, q->delay, q->err, sizeof q->err);
}

static intptr_t main_body(void *arg)
{
    struct request reqs[3] = {{.url = "error://hazadus.ru"}, {.delay = 3}, {.delay = 3}};
    for (int i = 1; i < 3; i++)
        demo_site_url(site, "/", reqs[i].url, sizeof reqs[i].url);
    DEMO_CHECK(demo_site_session(site, &session));
    struct loom_task *fetchers[3], *order[3];
    for (int i = 0; i < 3; i++)
        order[i] = fetchers[i] = loom_spawn(fetch_status, &reqs[i], NULL);
    int done = loom_wait(order, 3, LOOM_FIRST_EXCEPTION, -1);
    DEMO_CHECK(done);
    printf("Done task count: %d\n", done);
    printf("Pending task count: %d\n", 3 - done);
    for (int i = 0; i < done; i++) {
        intptr_t result = loom_task_result(order[i]);
        if (result >= 0)
            printf("%ld\n", (long)result);
        else
            printf("ERROR: Request got an exception: %s: %s\n", loom_errname((int)result),
                   reqs[order[i] == fetchers[0] ? 0 : 1].err);
    }
    for (int i = done; i < 3; i++)
        loom_task_cancel(order[i]);
    for (int i = done; i < 3; i++)
        printf("Pending task cancelled: %s\n",
               loom_task_join(loom_task_ref(order[i])) == -ECANCELED ? "True" : "False");
    for (int i = 0; i < 3; i++)
        loom_task_release(fetchers[i]);
    printf("Requests that reached the site: %lu\n", demo_site_requests(site));
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
