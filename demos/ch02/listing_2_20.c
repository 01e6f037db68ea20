/* listing_2_20.c - a blocking call inside coroutines (listing 2.20).
 *
 * Three tasks each make a blocking HTTP GET (requests.get in the book). A
 * blocking call stops the whole thread - and with it the loop - so the tasks
 * cannot overlap: they run in turn and main takes about three times one
 * request; the site never answers two at once.
 *
 * loom's blocking GET runs a loop of its own, which a thread already running
 * one may not do; so it runs on a helper thread, and this thread blocks in
 * pthread_join() - the loop is stuck exactly as under requests.get. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/site.h"
#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_20 [--latency S]\n"
    "Starts a local HTTPS site on 127.0.0.1 answering after S seconds (default 0.5,\n"
    "scaled); three tasks each do a blocking GET: they run in turn, main takes ~3x S and\n"
    "the site never answers two at once.\n";

static struct demo_site *site;

static void *get_thread(void *arg)
{
    *(int *)arg = demo_site_get_blocking(site, "/");
    return NULL;
}

/* requests.get(url).status_code: blocks the calling thread until the answer. */
static intptr_t get_status(void *arg)
{
    int status = -EIO;
    pthread_t t;
    if (pthread_create(&t, NULL, get_thread, &status) != 0)
        return -EAGAIN;
    pthread_join(t, NULL); /* blocks the loop: the antipattern */
    return status;
}

static intptr_t get_example_status(void *arg)
{
    intptr_t status = demo_timed("get_example_status", "() {}", get_status, NULL);
    if (status >= 0)
        printf("status: %ld\n", (long)status);
    return status;
}

static intptr_t main_body(void *arg)
{
    struct loom_task *tasks[3];
    for (int i = 0; i < 3; i++)
        if (!(tasks[i] = loom_spawn(get_example_status, NULL, NULL)))
            return -ENOMEM;
    return loom_gather(tasks, 3, NULL, 0);
}

static intptr_t main_task(void *arg) { return demo_timed("main", "() {}", main_body, NULL); }

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct demo_site_options o = {.tls = true, .delay_s = atof(demo_arg_str("--latency", "0.5"))};
    DEMO_CHECK(demo_site_start(&o, &site));
    intptr_t rc = loom_run(main_task, NULL);
    printf("The site answered at most %u request(s) at once.\n", demo_site_max_in_flight(site));
    demo_site_stop(site);
    DEMO_CHECK(rc);
    return 0;
}
