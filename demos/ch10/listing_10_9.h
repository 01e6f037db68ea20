/* listing_10_9.h - retrying a coroutine (listing 10.9).
 *
 * retry() runs a fresh task of fn(arg) up to max_retries times, each under
 * wait_for with timeout seconds (scaled): a try that fails or is too slow is
 * logged, then retry sleeps retry_interval seconds (scaled) and tries again.
 * After the last failed try it gives up with TOO_MANY_RETRIES (the book's
 * TooManyRetries exception). Cancelling the caller cancels the running try
 * and ends the retries at once (asyncio's CancelledError is no Exception). */
#ifndef LOOM_DEMOS_LISTING_10_9_H
#define LOOM_DEMOS_LISTING_10_9_H

#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/error.h"
#include "reactor/task.h"

/* A demo-level result below loom's own codes (-4xxx): every try failed. */
enum { TOO_MANY_RETRIES = -10009 };

/* fn's first non-negative result; TOO_MANY_RETRIES, -ECANCELED or -ENOMEM. Suspends. */
static inline intptr_t retry(loom_task_fn fn, void *arg, int max_retries, double timeout,
                             double retry_interval)
{
    for (int retry_num = 0; retry_num < max_retries; retry_num++) {
        struct loom_task *t = loom_spawn(fn, arg, NULL);
        if (!t)
            return -ENOMEM;
        intptr_t rc = loom_wait_for(t, demo_sec(timeout));
        if (rc >= 0)
            return rc;
        if (rc == -ECANCELED)
            return rc; /* we were cancelled (a timeout is -ETIMEDOUT) */
        fprintf(stderr, "ERROR:root:Exception while waiting (tried %d times), retrying. (%s: %s)\n",
                retry_num, loom_errname((int)rc), loom_strerror((int)rc));
        if (loom_sleep(demo_sec(retry_interval)) < 0)
            return -ECANCELED;
    }
    return TOO_MANY_RETRIES;
}

#endif
