/* listing_4_9.c - as_completed with a timeout (listing 4.9).
 *
 * Requests after sleeps of 1, 10 and 10 s are iterated with as_completed and
 * an overall timeout of 3 s: the first status comes at about 1 s, then each of
 * the two others gives "Timeout!" at 3 s. The timeout does not cancel them:
 * the list of all tasks printed afterwards still shows both running. */
#include <errno.h>
#include <stdio.h>

#include "common/site.h"
#include "demo.h"
#include "net/http.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_4_9\n"
    "GETs of the local HTTPS site after sleeps of 1, 10 and 10 s (scaled) through\n"
    "as_completed with a 3 s timeout: one status at ~1 s, two \"Timeout!\" at ~3 s, then\n"
    "every task of the loop with its state (the two slow ones are still pending).\n";

static struct demo_site *site;
static struct loom_http_session *session;
static char url[128];

static intptr_t fetch_status(void *arg)
{
    return demo_fetch_status(session, url, (double)(intptr_t)arg, NULL, 0);
}

static intptr_t main_body(void *arg)
{
    static const int delays[] = {1, 10, 10};
    static const char *const names[] = {"fetch_status(1)", "fetch_status(10)-a",
                                        "fetch_status(10)-b"};
    DEMO_CHECK(demo_site_session(site, &session));
    demo_site_url(site, "/", url, sizeof url);
    double t0 = demo_now();
    struct loom_task *fetchers[3];
    for (int i = 0; i < 3; i++)
        fetchers[i] = loom_spawn(fetch_status, (void *)(intptr_t)delays[i], names[i]);
    struct loom_as_completed it;
    DEMO_CHECK(loom_as_completed_init(&it, fetchers, 3, demo_sec(3)));
    struct loom_task *done_task;
    int rc;
    while ((rc = loom_as_completed_next(&it, &done_task)) != 0) {
        if (rc == -ETIMEDOUT)
            printf("Timeout! after %.4f sec.\n", demo_now() - t0);
        else if (rc == 1)
            printf("%ld after %.4f sec.\n", (long)loom_task_result(done_task), demo_now() - t0);
        else
            DEMO_CHECK(rc);
    }
    loom_as_completed_close(&it);

    struct loom_task *all[16];
    size_t n = loom_task_all(loom_loop_current(), all, 16);
    for (size_t i = 0; i < n && i < 16; i++)
        printf("<Task %s name='%s' cancelled=%s>\n",
               loom_task_done(all[i]) ? "finished" : "pending", loom_task_name(all[i]),
               loom_task_cancelled(all[i]) ? "True" : "False");
    for (int i = 0; i < 3; i++)
        loom_task_release(fetchers[i]); /* still running; the end of the program cancels them */
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
