/* listing_4_8.c - results in completion order with as_completed (listing 4.8).
 *
 * Three requests, each preceded by a sleep of 7, 1 and 3 s (scaled), are
 * iterated with as_completed: each status is printed as soon as its request
 * finishes - at about 1, 3 and 7 s - whatever the order they were made in. */
#include <stdio.h>

#include "common/site.h"
#include "demo.h"
#include "net/http.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_4_8\n"
    "Three GETs of the local HTTPS site after sleeps of 7, 1 and 3 s (scaled), iterated with\n"
    "as_completed: prints each status with its delay and when it arrived (~1, 3, 7 s).\n";

static struct demo_site *site;
static struct loom_http_session *session;
static char url[128];

static intptr_t fetch_status(void *arg)
{
    char err[LOOM_HTTP_ERRLEN];
    int rc = demo_fetch_status(session, url, (double)(intptr_t)arg, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "GET %s: %s\n", url, err);
    return rc;
}

static intptr_t main_body(void *arg)
{
    static const int delays[] = {7, 1, 3};
    DEMO_CHECK(demo_site_session(site, &session));
    demo_site_url(site, "/", url, sizeof url);
    double t0 = demo_now();
    struct loom_task *fetchers[3];
    for (int i = 0; i < 3; i++)
        fetchers[i] = loom_spawn(fetch_status, (void *)(intptr_t)delays[i], NULL);
    struct loom_as_completed it;
    DEMO_CHECK(loom_as_completed_init(&it, fetchers, 3, -1));
    struct loom_task *finished_task;
    while (loom_as_completed_next(&it, &finished_task) == 1) {
        int i = 0;
        while (fetchers[i] != finished_task)
            i++;
        printf("%ld (delay %d s) after %.4f sec.\n", (long)loom_task_result(finished_task),
               delays[i], demo_now() - t0);
    }
    loom_as_completed_close(&it);
    for (int i = 0; i < 3; i++)
        loom_task_release(fetchers[i]);
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
