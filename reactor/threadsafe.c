/* threadsafe.c - loom_run_task_threadsafe: run a task on a loop owned by
 * another thread and wait for its result (asyncio's run_coroutine_threadsafe).
 *
 * One record shared by the caller and the loop, freed by whichever side lets
 * go last (refs): the caller may give up on a timeout while the loop still
 * holds it, and the loop may finish before the caller wakes. */
#include "reactor/task_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rts {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int refs;
    bool done;      /* result or err is final (under mu) */
    bool abandoned; /* the caller timed out (under mu) */
    int err;
    intptr_t result;
    loom_task_fn fn;
    void *arg;
    struct loom_task *task; /* loop thread only */
    struct loom_future_callback cb;
    char name[48];
};

static void rts_unref(struct rts *r)
{
    if (atomic_fetch_sub(&r->refs, 1) == 1) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        free(r);
    }
}

static void finish(struct rts *r, int err, intptr_t result)
{
    pthread_mutex_lock(&r->mu);
    r->done = true;
    r->err = err;
    r->result = result;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void task_done(struct loom_future *f, void *arg)
{
    struct rts *r = arg;
    finish(r, 0, loom_future_result(f));
    loom_task_release(r->task);
    r->task = NULL;
    rts_unref(r); /* the loop's */
}

/* On the loop thread. */
static void start(void *arg)
{
    struct rts *r = arg;
    pthread_mutex_lock(&r->mu);
    bool abandoned = r->abandoned;
    pthread_mutex_unlock(&r->mu);
    int rc = -ETIMEDOUT;
    struct loom_task_options opt = {.name = r->name[0] ? r->name : NULL};
    if (abandoned ||
        (rc = loom_task_spawn(loom_loop_current(), r->fn, r->arg, &opt, &r->task)) < 0) {
        finish(r, rc, 0);
        rts_unref(r);
        return;
    }
    loom_future_add_done_callback(loom_task_future(r->task), &r->cb, task_done, r);
}

/* On the loop thread, after the caller timed out. */
static void cancel(void *arg)
{
    struct rts *r = arg;
    if (r->task)
        loom_task_cancel(r->task);
    rts_unref(r);
}

static void deadline_of(int64_t timeout_ns, struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    int64_t ns = ts->tv_nsec + timeout_ns % 1000000000;
    ts->tv_sec += (time_t)(timeout_ns / 1000000000 + ns / 1000000000);
    ts->tv_nsec = (long)(ns % 1000000000);
}

static struct rts *rts_new(loom_task_fn fn, void *arg, const char *name)
{
    struct rts *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&r->mu, NULL);
    atomic_init(&r->refs, 2); /* the caller's and the loop's */
    r->fn = fn;
    r->arg = arg;
    if (name)
        snprintf(r->name, sizeof(r->name), "%s", name);
    return r;
}

int loom_run_task_threadsafe(struct loom_loop *loop, loom_task_fn fn, void *arg, const char *name,
                             int64_t timeout_ns, intptr_t *result)
{
    if (!loop || !fn)
        return -EINVAL;
    if (loom__tls_loop == loop)
        return -EDEADLK;
    struct rts *r = rts_new(fn, arg, name);
    if (!r)
        return -ENOMEM;
    int rc = loom_call_soon_threadsafe(loop, start, r);
    if (rc < 0) {
        atomic_store(&r->refs, 1);
        rts_unref(r);
        return rc;
    }
    struct timespec ts;
    if (timeout_ns >= 0)
        deadline_of(timeout_ns, &ts);
    pthread_mutex_lock(&r->mu);
    int w = 0;
    while (!r->done && w != ETIMEDOUT)
        w = timeout_ns < 0 ? pthread_cond_wait(&r->cv, &r->mu)
                           : pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    bool timed_out = !r->done;
    if (timed_out)
        r->abandoned = true;
    rc = r->done ? r->err : -ETIMEDOUT;
    if (r->done && rc == 0 && result)
        *result = r->result;
    pthread_mutex_unlock(&r->mu);
    if (timed_out) {
        atomic_fetch_add(&r->refs, 1);
        if (loom_call_soon_threadsafe(loop, cancel, r) < 0)
            rts_unref(r);
    }
    rts_unref(r); /* the caller's */
    return rc;
}
