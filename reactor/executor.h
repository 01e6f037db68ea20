/* executor.h - a thread pool for blocking work, awaited from tasks
 * (run_in_executor / to_thread). Threads start on demand up to the size and
 * block every signal, so signals keep going to the loop's thread. */
#ifndef LOOM_REACTOR_EXECUTOR_H
#define LOOM_REACTOR_EXECUTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "loom/reactor/future.h"
#include "loom/reactor/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

struct loom_executor;

/* Blocking work run on a pool thread; its return value is the result. */
typedef intptr_t (*loom_blocking_fn)(void *arg);

/* Make a pool of at most threads threads (0: online CPUs + 4, at most 32).
 * 0 or -ENOMEM. */
int loom_executor_new(struct loom_executor **out, unsigned threads);

/* Stop the pool: jobs not started yet finish with -ECANCELED if cancel_queued,
 * else they run; waits for the threads to exit. Blocks the calling thread. */
void loom_executor_free(struct loom_executor *ex, bool cancel_queued);

/* Run fn(arg) on ex (NULL: the loop's default executor) and wait for its
 * result in the current task. If the task is cancelled, -ECANCELED is returned
 * at once: a job not yet started never runs, a running one finishes unobserved.
 * -EPERM outside a task, -ENOMEM, -ESHUTDOWN after free. Suspends. */
intptr_t loom_run_in_executor(struct loom_executor *ex, loom_blocking_fn fn, void *arg);

/* Run fn(arg) on ex (NULL: loop's default executor) and deliver its result
 * through f, which this call initialises (caller memory, valid until f is
 * done): usable from callbacks and outside tasks, as asyncio's
 * loop.run_in_executor returns a future. Cancelling f before the result came
 * unqueues a job no thread took yet; a running one finishes unobserved (f is
 * not touched again). The loop counts the job as pending work until its
 * result arrives. Call on loop's thread. 0, -ENOMEM or -ESHUTDOWN (after
 * free). Does not suspend. */
int loom_executor_submit(struct loom_loop *loop, struct loom_executor *ex, loom_blocking_fn fn,
                         void *arg, struct loom_future *f);

/* loom_run_in_executor on the default executor (asyncio.to_thread). Suspends. */
intptr_t loom_to_thread(loom_blocking_fn fn, void *arg);

/* Threads started so far, and the maximum. */
unsigned loom_executor_threads(const struct loom_executor *ex);
unsigned loom_executor_max_threads(const struct loom_executor *ex);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
