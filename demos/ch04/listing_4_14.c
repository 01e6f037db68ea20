/* listing_4_14.c - processing results as they come with wait() (listing 4.14).
 *
 * wait(FIRST_COMPLETED) is called again on whatever is still pending until
 * nothing is: each round prints how many tasks are done and pending and the
 * statuses of the done ones (the RSS reader's loop). The book's requests race;
 * here request i sleeps i * 0.5 s (scaled) first, so the rounds show. */
#include <errno.h>
#include <stdio.h>

#include "common/site.h"
#include "demo.h"
#include "net/http.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_4_14\n"
    "GETs /, /about/, /projects/ and /repos/ of the local HTTPS site and loops on\n"
    "wait(FIRST_COMPLETED) until nothing is pending, printing each round (request i\n"
    "sleeps i * 0.5 s, scaled, first).\n";

static struct demo_site *site;
static struct loom_http_session *session;

struct request {
    char url[128];
    double delay;
};

static intptr_t fetch_status(void *arg)
{
    struct request *q = arg;
    return demo_fetch_status(session, q->url, q->delay, NULL, 0);
}

static intptr_t main_task(void *arg)
{
    static const char *const paths[] = {"/", "/about/", "/projects/", "/repos/"};
    struct request reqs[4];
    struct loom_task *pending[4];
    DEMO_CHECK(demo_site_session(site, &session));
    for (int i = 0; i < 4; i++) {
        demo_site_url(site, paths[i], reqs[i].url, sizeof reqs[i].url);
        reqs[i].delay = i * 0.5;
        if (!(pending[i] = loom_spawn(fetch_status, &reqs[i], NULL)))
            return -ENOMEM;
    }
    size_t left = 4;
    while (left > 0) {
        int done = loom_wait(pending, left, LOOM_FIRST_COMPLETED, -1);
        DEMO_CHECK(done);
        left -= (size_t)done;
        printf("Done task count: %d\n", done);
        printf("Pending task count: %zu\n", left);
        for (int i = 0; i < done; i++)
            printf("%ld\n", (long)loom_task_join(pending[i]));
        for (size_t i = 0; i < left; i++) /* keep the pending ones for the next round */
            pending[i] = pending[i + (size_t)done];
    }
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
