/* listing_7_8.c - progress from pool threads through a locked counter (listing 7.8).
 *
 * Pool threads make blocking GETs and bump a counter under a mutex (threads
 * really run in parallel, so the lock is needed); a task on the loop prints
 * the progress every 0.5 s until all requests are done.
 * The site is demos/common/site.c (loom's HTTP server in a thread), plain http:
 * a TLS handshake per blocking call would outweigh the 0.1 s answers. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/site.h"
#include "demo.h"
#include "reactor/executor.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_7_8 [--requests N]\n"
    "N (default 100) blocking GETs (0.1 s per answer, scaled) on a thread pool; each bumps a\n"
    "mutex-guarded counter, and a task prints \"Requests completed: X of N\" every 0.5 s.\n";

static struct demo_site *site;
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter, request_count;

static long completed(void)
{
    pthread_mutex_lock(&counter_lock);
    long c = counter;
    pthread_mutex_unlock(&counter_lock);
    return c;
}

static intptr_t get_status_code(void *arg)
{
    int status = demo_site_get_blocking(site, "/");
    pthread_mutex_lock(&counter_lock);
    counter = counter + 1;
    pthread_mutex_unlock(&counter_lock);
    return status;
}

static intptr_t reporter(void *arg)
{
    long c;
    while ((c = completed()) < request_count) {
        printf("Requests completed: %ld of %ld\n", c, request_count);
        int rc = loom_sleep(demo_sec(0.5));
        if (rc < 0)
            return rc;
    }
    printf("Requests completed: %ld of %ld\n", c, request_count);
    return 0;
}

static intptr_t fetch(void *arg) { return loom_run_in_executor(arg, get_status_code, NULL); }

static intptr_t main_task(void *arg)
{
    struct loom_executor *pool;
    DEMO_CHECK(loom_executor_new(&pool, 0));
    request_count = demo_arg_long("--requests", 100);
    struct loom_task **tasks = calloc((size_t)request_count, sizeof(*tasks));
    if (!tasks)
        return 1;
    double t0 = demo_now();
    struct loom_task *report = loom_spawn(reporter, NULL, "reporter");
    for (long i = 0; i < request_count; i++)
        tasks[i] = loom_spawn(fetch, pool, NULL);
    DEMO_CHECK(loom_gather(tasks, (size_t)request_count, NULL, 0));
    DEMO_CHECK(loom_task_join(report));
    printf("main completed in %.4f sec.\n", demo_now() - t0);
    free(tasks);
    loom_executor_free(pool, false);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(demo_site_start(&(struct demo_site_options){.delay_s = 0.1}, &site));
    intptr_t rc = loom_run(main_task, NULL);
    demo_site_stop(site);
    return (int)rc;
}
