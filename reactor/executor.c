/* executor.c - thread pool. Jobs go through one mutex-protected FIFO; results
 * come back to the loop with call_soon_threadsafe and complete the job's
 * future there. A job's record is owned by the queue until a thread takes it,
 * then by that thread until it posts the result, then by the loop. */
#include "reactor/executor.h"

#include "reactor/task_internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

struct job {
    struct loom_list node;
    loom_blocking_fn fn;
    void *arg;
    intptr_t result;
    struct loom_loop *loop;
    struct loom_executor *ex;
    struct loom_future *future;        /* NULL once it was done from outside */
    struct loom_future_callback watch; /* notices a cancel of future */
    bool finished;
};

struct loom_executor {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct loom_list queue;
    size_t queued; /* jobs in queue */
    unsigned max, started, idle;
    bool shutdown, cancel_queued;
    pthread_t *threads;
};

static void job_done_on_loop(void *arg)
{
    struct job *j = arg;
    j->loop->active--;
    j->finished = true; /* so the watch, if it fires now, leaves j alone */
    if (j->future)
        loom_future_set_result(j->future, j->result);
    free(j);
}

static void *worker(void *arg)
{
    struct loom_executor *ex = arg;
    pthread_mutex_lock(&ex->lock);
    for (;;) {
        struct loom_list *n = loom_list_pop_front(&ex->queue);
        if (!n) {
            if (ex->shutdown)
                break;
            ex->idle++;
            pthread_cond_wait(&ex->cond, &ex->lock);
            ex->idle--;
            continue;
        }
        struct job *j = loom_list_entry(n, struct job, node);
        ex->queued--;
        bool cancel = ex->shutdown && ex->cancel_queued;
        pthread_mutex_unlock(&ex->lock);
        j->result = cancel ? -ECANCELED : j->fn(j->arg);
        /* On ENOMEM the job is stranded; retry, since the waiter needs it. */
        while (loom_call_soon_threadsafe(j->loop, job_done_on_loop, j) < 0)
            usleep(1000);
        pthread_mutex_lock(&ex->lock);
    }
    pthread_mutex_unlock(&ex->lock);
    return NULL;
}

static unsigned default_size(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = (unsigned)(cpus > 0 ? cpus : 1) + 4;
    return n > 32 ? 32 : n;
}

int loom_executor_new(struct loom_executor **out, unsigned threads)
{
    struct loom_executor *ex = calloc(1, sizeof(*ex));
    if (!ex)
        return -ENOMEM;
    ex->max = threads ? threads : default_size();
    ex->threads = calloc(ex->max, sizeof(pthread_t));
    if (!ex->threads) {
        free(ex);
        return -ENOMEM;
    }
    int rc = pthread_mutex_init(&ex->lock, NULL);
    if (rc == 0 && (rc = pthread_cond_init(&ex->cond, NULL)) != 0)
        pthread_mutex_destroy(&ex->lock);
    if (rc != 0) {
        free(ex->threads);
        free(ex);
        return -rc;
    }
    loom_list_init(&ex->queue);
    *out = ex;
    return 0;
}

/* Called with the lock held, before queueing one more job: start a thread
 * unless an idle one is left for it (idle ones may not have woken yet for the
 * jobs already queued). */
static int maybe_start_thread(struct loom_executor *ex)
{
    if (ex->idle > ex->queued || ex->started == ex->max)
        return 0;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits "all blocked" */
    int rc = pthread_create(&ex->threads[ex->started], NULL, worker, ex);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return ex->started ? 0 : -rc; /* the running threads will get to it */
    ex->started++;
    return 0;
}

void loom_executor_free(struct loom_executor *ex, bool cancel_queued)
{
    if (!ex)
        return;
    pthread_mutex_lock(&ex->lock);
    ex->shutdown = true;
    ex->cancel_queued = cancel_queued;
    pthread_cond_broadcast(&ex->cond);
    pthread_mutex_unlock(&ex->lock);
    for (unsigned i = 0; i < ex->started; i++)
        pthread_join(ex->threads[i], NULL);
    pthread_mutex_destroy(&ex->lock);
    pthread_cond_destroy(&ex->cond);
    free(ex->threads);
    free(ex);
}

unsigned loom_executor_threads(const struct loom_executor *ex) { return ex->started; }
unsigned loom_executor_max_threads(const struct loom_executor *ex) { return ex->max; }

static int submit(struct loom_executor *ex, struct job *j)
{
    pthread_mutex_lock(&ex->lock);
    int rc = ex->shutdown ? -ESHUTDOWN : maybe_start_thread(ex);
    if (rc == 0) {
        loom_list_push_back(&ex->queue, &j->node);
        ex->queued++;
        pthread_cond_signal(&ex->cond);
    }
    pthread_mutex_unlock(&ex->lock);
    return rc;
}

/* The future was done from outside (cancelled) before the result came:
 * unqueue the job if no thread took it yet, else let it finish unobserved. */
static void job_abandoned(struct loom_future *f, void *arg)
{
    struct job *j = arg;
    (void)f;
    if (j->finished)
        return;
    struct loom_executor *ex = j->ex;
    pthread_mutex_lock(&ex->lock);
    bool queued = loom_list_linked(&j->node);
    if (queued) {
        loom_list_remove(&j->node);
        ex->queued--;
    }
    pthread_mutex_unlock(&ex->lock);
    if (queued) {
        j->loop->active--;
        free(j);
    } else {
        j->future = NULL; /* job_done_on_loop frees it */
    }
}

int loom_executor_submit(struct loom_loop *loop, struct loom_executor *ex, loom_blocking_fn fn,
                         void *arg, struct loom_future *f)
{
    loom_future_init(f);
    if (!ex) {
        if (!loop->executor) {
            int rc = loom_executor_new(&loop->executor, loop->executor_threads);
            if (rc < 0)
                return rc;
        }
        ex = loop->executor;
    }
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    *j = (struct job){.fn = fn, .arg = arg, .loop = loop, .ex = ex, .future = f};
    loom_list_init(&j->node);
    int rc = submit(ex, j);
    if (rc < 0) {
        free(j);
        return rc;
    }
    loop->active++; /* the result is still to come */
    loom__future_on_done(f, &j->watch, job_abandoned, j);
    return 0;
}

intptr_t loom_run_in_executor(struct loom_executor *ex, loom_blocking_fn fn, void *arg)
{
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    struct loom_future f;
    int rc = loom_executor_submit(self->loop, ex, fn, arg, &f);
    if (rc < 0)
        return rc;
    intptr_t result = loom_future_await(&f, -1);
    loom_future_cancel(&f); /* a deadline scope cut the wait short: give up the job */
    return result;
}

intptr_t loom_to_thread(loom_blocking_fn fn, void *arg)
{
    return loom_run_in_executor(NULL, fn, arg);
}

void loom__executor_free_default(struct loom_loop *loop)
{
    if (loop->executor) {
        loom_executor_free(loop->executor, true);
        loop->executor = NULL;
        /* Drain the results the threads posted, so no record is left behind. */
        loom_loop_run(loop, LOOM_RUN_NOWAIT);
    }
}
