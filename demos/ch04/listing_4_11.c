/* listing_4_11.c - inspecting results and exceptions after wait() (listing 4.11).
 *
 * One of the two URLs has a scheme the client does not speak. wait() with
 * ALL_COMPLETED returns both as done; each done task is then asked whether it
 * failed (a negative result, the book's task.exception()) or holds a status. */
#include <stdio.h>

#include "common/site.h"
#include "demo.h"
#include "net/http.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_4_11\n"
    "GETs \"error://hazadus.ru\" and the local HTTPS site, waits for ALL_COMPLETED, then\n"
    "prints the status of the good one and logs the exception of the bad one.\n";

static struct demo_site *site;
static struct loom_http_session *session;

struct request {
    char url[128];
    char err[LOOM_HTTP_ERRLEN];
};

static intptr_t fetch_status(void *arg)
{
    struct request *q = arg;
    return demo_fetch_status(session, q->url, 0, q->err, sizeof q->err);
}

static intptr_t main_task(void *arg)
{
    struct request reqs[2] = {{.url = "error://hazadus.ru"}};
    demo_site_url(site, "/", reqs[1].url, sizeof reqs[1].url);
    DEMO_CHECK(demo_site_session(site, &session));
    struct loom_task *fetchers[2];
    for (int i = 0; i < 2; i++)
        fetchers[i] = loom_spawn(fetch_status, &reqs[i], NULL);
    struct loom_task *order[2] = {fetchers[0], fetchers[1]};
    int done = loom_wait(order, 2, LOOM_ALL_COMPLETED, -1);
    DEMO_CHECK(done);
    printf("Done task count: %d\n", done);
    printf("Pending task count: %d\n", 2 - done);
    for (int i = 0; i < done; i++) {
        intptr_t result = loom_task_result(order[i]);
        struct request *q = &reqs[order[i] == fetchers[0] ? 0 : 1];
        if (result >= 0)
            printf("%ld\n", (long)result);
        else
            printf("ERROR: Request got an exception: %s: %s\n", loom_errname((int)result), q->err);
    }
    for (int i = 0; i < 2; i++)
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
