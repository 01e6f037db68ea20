/* listing_4_6a.c - gather with return_exceptions (listing 4.6a, not in the book).
 *
 * One good URL and one with a scheme the client does not speak ("error://").
 * With LOOM_GATHER_ALL, gather waits for both and keeps each result, so the
 * failure comes back as a value (a negative code) beside the status and the
 * two are split afterwards. The bad URL fails before any network I/O: the
 * site answers exactly one request. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/site.h"
#include "demo.h"
#include "net/http.h"

static const char usage[] =
    "usage: listing_4_6a\n"
    "gathers a GET of the local HTTPS site and of \"error://hazadus.ru\" with\n"
    "return_exceptions: prints all results, the successful ones, the exceptions, and how\n"
    "many requests reached the site (one).\n";

static struct demo_site *site;
static struct loom_http_session *session;

struct request {
    char url[128];
    char err[LOOM_HTTP_ERRLEN];
};

static intptr_t fetch_status_code(void *arg)
{
    struct request *q = arg;
    return demo_fetch_status(session, q->url, 0, q->err, sizeof q->err);
}

/* Print the results that are statuses (ok) and/or errors (failed), as a list. */
static void print_results(const char *title, const struct request *reqs, const intptr_t *res,
                          bool ok, bool failed)
{
    printf("%s: [", title);
    for (int i = 0, k = 0; i < 2; i++) {
        if (res[i] >= 0 && ok)
            printf("%s%ld", k++ ? ", " : "", (long)res[i]);
        else if (res[i] < 0 && failed)
            printf("%s%s('%s')", k++ ? ", " : "", loom_errname((int)res[i]), reqs[i].err);
    }
    printf("]\n");
}

static intptr_t main_task(void *arg)
{
    struct request reqs[2] = {{.url = ""}, {.url = "error://hazadus.ru"}};
    demo_site_url(site, "/", reqs[0].url, sizeof reqs[0].url);
    DEMO_CHECK(demo_site_session(site, &session));
    struct loom_task *tasks[2];
    for (int i = 0; i < 2; i++)
        tasks[i] = loom_spawn(fetch_status_code, &reqs[i], NULL);
    intptr_t results[2];
    DEMO_CHECK(loom_gather(tasks, 2, results, LOOM_GATHER_ALL));

    print_results("All results", reqs, results, true, true);
    print_results("Finished successfully", reqs, results, true, false);
    print_results("Threw exceptions", reqs, results, false, true);
    printf("Requests that reached the site: %lu\n", demo_site_requests(site));
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
