/* listing_6_3.c - submit now, collect later (listing 6.3).
 *
 * loom_pool_submit() queues a job and returns a handle at once (apply_async);
 * both jobs run in parallel on different workers, and loom_pool_job_wait()
 * collects each result (get). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "proc/proc.h"

static const char usage[] =
    "usage: listing_6_3\n"
    "Submits two hello jobs to a process pool, then waits for both results.\n";

static int say_hello(const void *in, size_t len, struct loom_bytes *out, void *state)
{
    char *s = malloc(len + 16);
    if (!s)
        return -ENOMEM;
    out->len = (size_t)sprintf(s, "Hello, %.*s!", (int)len, (const char *)in);
    out->data = s;
    return 0;
}

static intptr_t amain(void *arg)
{
    struct loom_pool *pool;
    DEMO_CHECK(loom_pool_new(NULL, &pool));
    struct loom_pool_job *hi_jeff, *hi_mills;
    DEMO_CHECK(loom_pool_submit(pool, say_hello, "Jeff", 4, &hi_jeff));
    DEMO_CHECK(loom_pool_submit(pool, say_hello, "Mills", 5, &hi_mills));
    struct loom_pool_job *jobs[] = {hi_jeff, hi_mills};
    for (int i = 0; i < 2; i++) {
        DEMO_CHECK(loom_pool_job_wait(jobs[i], -1));
        size_t len;
        const char *s = loom_pool_job_result(jobs[i], &len);
        printf("%.*s\n", (int)len, s);
        loom_pool_job_free(jobs[i]);
    }
    DEMO_CHECK(loom_pool_shutdown(pool, false));
    loom_pool_free(pool);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(amain, NULL);
}
