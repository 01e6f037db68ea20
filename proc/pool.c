/* pool.c - the process pool, parent side. One driver task per worker slot takes
 * jobs from a FIFO, writes each to its worker over a socketpair and reads the
 * reply, parking on the socket when it would block. A worker that dies (EOF or
 * a reset on its socket) fails only the job it was running, with LOOM_ECHILD;
 * the driver reaps it and forks a replacement before taking the next job.
 * Forking from a task is fine: the child never returns to the scheduler. */
#include "proc/pool_internal.h"
#include "proc/proc_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reactor/park.h"

/* A job's waiter: granted (code 1) with the job's result copied in, so the
 * woken task never reads the job again (its owner may free it meanwhile). */
struct job_waiter {
    struct loom_waiter w;
    int result;
};

struct loom_pool_job {
    struct loom_list node;  /* pool queue while queued */
    struct loom_pool *pool; /* NULL once finished */
    loom_pool_fn fn;
    void *in; /* freed once sent */
    size_t len;
    uint32_t flags;
    bool done, orphan; /* orphan: freed by its owner while running */
    int result;
    struct loom_bytes out;
    pid_t worker;
    int worker_status;
    struct loom_list waiters; /* struct job_waiter */
};

struct worker {
    struct loom_pool *pool;
    int fd; /* parent end; -1 when no worker process */
    struct loom_io io;
    struct loom__child child;
    bool alive; /* a process and its socket exist */
    struct loom_task *driver;
    bool idle;                 /* driver parked waiting for a job */
    struct loom_pool_job *job; /* running now */
    bool started;              /* the driver ran (a driver cancelled before that never runs) */
};

struct loom_pool {
    struct loom_loop *loop;
    struct loom_pool_options opt;
    unsigned n;
    struct worker *w;
    struct loom_list queue;
    size_t submitted, finished;
    bool closing, cancelled, shut;
    unsigned refs; /* the owner's, plus one per running driver */
};

static void pool_unref(struct loom_pool *pool)
{
    if (--pool->refs == 0) {
        free(pool->w);
        free(pool);
    }
}

static void job_finish(struct loom_pool_job *job, int result)
{
    struct loom_pool *pool = job->pool;
    job->done = true;
    job->result = result;
    job->pool = NULL;
    free(job->in);
    job->in = NULL;
    struct loom_waiter *lw;
    while ((lw = loom_waiter_grant(&job->waiters, 1)))
        loom_list_entry(lw, struct job_waiter, w)->result = result;
    if (pool && pool->opt.progress)
        pool->opt.progress(pool->opt.progress_arg, ++pool->finished, pool->submitted);
    else if (pool)
        pool->finished++;
    if (job->orphan) {
        free(job->out.data);
        free(job);
    }
}

static void on_io(struct loom_io *io, unsigned revents)
{
    (void)revents;
    struct worker *w = io->data;
    loom_wake(w->driver, 0);
}

static int worker_start(struct worker *w)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    fflush(NULL); /* or the child would print the parent's buffered output again */
    pid_t pid = fork();
    if (pid < 0) {
        int e = -errno;
        close(sv[0]);
        close(sv[1]);
        return e;
    }
    if (pid == 0)
        loom__pool_worker_main(sv[1], &w->pool->opt);
    close(sv[1]);
    int rc = fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0 ? -errno : 0; /* the child's end blocks */
    bool watched = rc == 0 && (rc = loom__child_watch(w->pool->loop, &w->child, pid)) == 0;
    if (watched && (rc = loom_io_init(w->pool->loop, &w->io, sv[0], on_io)) < 0)
        loom__child_close(&w->child);
    if (rc < 0) {
        close(sv[0]); /* the worker reads EOF and exits */
        if (!watched)
            waitpid(pid, NULL, 0); /* no watcher reaps it: no zombie */
        return rc;
    }
    w->io.data = w;
    w->fd = sv[0];
    w->alive = true;
    return 0;
}

/* Close the socket (a healthy worker reads EOF and exits), then reap. A worker
 * that does not go within a second, or at all when kill is set, gets SIGKILL. */
static void worker_stop(struct worker *w, bool kill_it)
{
    if (!w->alive)
        return;
    loom_io_close(&w->io);
    close(w->fd);
    w->fd = -1;
    w->alive = false;
    if (kill_it)
        kill(w->child.pid, SIGKILL);
    if (loom__child_wait(&w->child, loom_deadline(w->pool->loop, LOOM_SEC(1)), NULL) < 0)
        kill(w->child.pid, SIGKILL);
    loom__child_close(&w->child); /* reaps (blocking, brief) if still there */
}

/* Without suspending: close the socket, SIGKILL and reap (brief, blocking). */
static void worker_kill_now(struct worker *w)
{
    if (!w->alive)
        return;
    loom_io_close(&w->io);
    close(w->fd);
    w->fd = -1;
    w->alive = false;
    loom__child_close(&w->child);
}

/* Move len bytes over the worker's socket, parking while it would block.
 * 0, LOOM_EOF, -errno, or -ECANCELED. */
static int sock_io(struct worker *w, void *buf, size_t len, bool wr)
{
    char *p = buf;
    unsigned ev = wr ? LOOM_WRITABLE : LOOM_READABLE;
    while (len > 0) {
        ssize_t n = wr ? send(w->fd, p, len, MSG_NOSIGNAL) : recv(w->fd, p, len, 0);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n == 0)
            return LOOM_EOF;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        loom_io_start(&w->io, ev);
        int rc = loom_park(w->driver, -1);
        loom_io_stop(&w->io, ev);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Send the job, read the reply into job->out. 0 or an error for the job. */
static int exchange(struct worker *w, struct loom_pool_job *job, int *status)
{
    struct loom__pool_msg m = {(uint64_t)(uintptr_t)job->fn, job->len, job->flags, 0};
    int rc = sock_io(w, &m, sizeof(m), true);
    if (rc == 0)
        rc = sock_io(w, job->in, job->len, true);
    if (rc == 0)
        rc = sock_io(w, &m, sizeof(m), false);
    if (rc == 0 && m.len > w->pool->opt.max_message)
        return LOOM_ELIMIT;
    if (rc == 0 && m.len) {
        if (!(job->out.data = malloc(m.len + 1)))
            return -ENOMEM;
        job->out.len = m.len;
        ((char *)job->out.data)[m.len] = '\0';
        rc = sock_io(w, job->out.data, m.len, false);
    }
    *status = m.status;
    return rc;
}

static int run_job(struct worker *w, struct loom_pool_job *job)
{
    if (w->alive && w->child.exited)
        worker_stop(w, false); /* died while idle: nobody's job was lost */
    int rc = w->alive ? 0 : worker_start(w);
    if (rc < 0)
        return rc;
    job->worker = w->child.pid;
    int status = 0;
    rc = exchange(w, job, &status);
    if (rc == 0)
        return status > 0 ? 0 : status; /* a job function returns 0 or < 0 */
    /* The worker died (EOF, EPIPE, ECONNRESET), the protocol broke, or we were
     * cancelled: either way this worker is done; a new one takes the next job. */
    worker_stop(w, rc != LOOM_EOF && rc != -EPIPE && rc != -ECONNRESET);
    job->worker_status = w->child.status;
    if (rc == -ECANCELED || rc == LOOM_ELIMIT || rc == -ENOMEM)
        return rc;
    return LOOM_ECHILD;
}

/* Park until a job is queued or the pool closes. NULL: leave. */
static struct loom_pool_job *next_job(struct worker *w)
{
    struct loom_pool *pool = w->pool;
    while (loom_list_empty(&pool->queue) && !pool->closing) {
        w->idle = true;
        int rc = loom_park(w->driver, -1);
        w->idle = false;
        if (rc < 0)
            return NULL;
    }
    if (pool->cancelled || loom_list_empty(&pool->queue))
        return NULL;
    return loom_list_entry(loom_list_pop_front(&pool->queue), struct loom_pool_job, node);
}

static intptr_t driver(void *arg)
{
    struct worker *w = arg;
    struct loom_pool_job *job;
    w->started = true;
    while ((job = next_job(w)) != NULL) {
        w->job = job;
        int rc = run_job(w, job);
        w->job = NULL;
        job_finish(job, rc);
        if (rc == -ECANCELED)
            break;
        if (!w->alive && !w->pool->closing)
            worker_start(w); /* replace the dead worker now; on failure, at the next job */
    }
    worker_stop(w, w->pool->cancelled);
    pool_unref(w->pool);
    return 0;
}

/* --- lifecycle --- */

static int start_drivers(struct loom_pool *pool)
{
    for (unsigned i = 0; i < pool->n; i++) {
        struct worker *w = &pool->w[i];
        w->pool = pool;
        w->fd = -1;
        struct loom_task_options topt = {.name = "pool-worker"};
        int rc = loom_task_spawn(pool->loop, driver, w, &topt, &w->driver);
        if (rc < 0)
            return rc;
        pool->refs++;
        rc = worker_start(w);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int loom_pool_new(const struct loom_pool_options *opt, struct loom_pool **out)
{
    struct loom_loop *loop = loom_loop_current();
    if (!loop)
        return -EINVAL;
    struct loom_pool *pool = calloc(1, sizeof(*pool));
    if (!pool)
        return -ENOMEM;
    if (opt)
        pool->opt = *opt;
    if (!pool->opt.workers) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        pool->opt.workers = n > 0 ? (unsigned)n : 1;
    }
    if (!pool->opt.max_message)
        pool->opt.max_message = (size_t)1 << 30;
    pool->loop = loop;
    pool->refs = 1;
    pool->n = pool->opt.workers;
    loom_list_init(&pool->queue);
    if (!(pool->w = calloc(pool->n, sizeof(*pool->w)))) {
        free(pool);
        return -ENOMEM;
    }
    int rc = start_drivers(pool);
    if (rc < 0) {
        loom_pool_free(pool); /* kills and reaps what started */
        return rc;
    }
    *out = pool;
    return 0;
}

static void fail_queued(struct loom_pool *pool)
{
    struct loom_list *n;
    while ((n = loom_list_pop_front(&pool->queue)) != NULL)
        job_finish(loom_list_entry(n, struct loom_pool_job, node), -ECANCELED);
}

int loom_pool_shutdown(struct loom_pool *pool, bool cancel)
{
    if (pool->shut)
        return 0;
    if (pool->closing)
        return -EBUSY; /* another task is shutting it down */
    pool->closing = true;
    pool->cancelled = cancel;
    if (cancel)
        fail_queued(pool);
    int rc = 0;
    for (unsigned i = 0; i < pool->n; i++) {
        struct worker *w = &pool->w[i];
        if (!w->driver)
            continue;
        if (cancel)
            loom_task_cancel(w->driver);
        else if (w->idle)
            loom_wake(w->driver, 0);
        intptr_t r = loom_task_join(w->driver); /* if we are cancelled, so is the driver */
        w->driver = NULL;
        if (r == -ECANCELED && !cancel)
            rc = -ECANCELED, pool->cancelled = true;
    }
    fail_queued(pool);
    pool->shut = true;
    return rc;
}

/* Without a shutdown the drivers are cancelled and left to finish on their
 * own (each kills and reaps its worker and fails its job with -ECANCELED);
 * the last one out frees the pool. */
void loom_pool_free(struct loom_pool *pool)
{
    if (!pool)
        return;
    if (!pool->shut) {
        pool->closing = pool->cancelled = true;
        fail_queued(pool);
    }
    for (unsigned i = 0; i < pool->n; i++) {
        if (pool->w[i].driver) {
            loom_task_cancel(pool->w[i].driver);
            loom_task_release(pool->w[i].driver);
            pool->w[i].driver = NULL;
            if (!pool->w[i].started) { /* it will never run: stop its worker here */
                worker_kill_now(&pool->w[i]);
                pool->refs--;
            }
        }
    }
    pool_unref(pool);
}

/* --- jobs --- */

int loom__pool_job_new(struct loom_pool *pool, loom_pool_fn fn, void *in, size_t len,
                       uint32_t flags, struct loom_pool_job **out)
{
    if (pool->closing)
        return -ESHUTDOWN;
    if (len > pool->opt.max_message)
        return -EMSGSIZE;
    struct loom_pool_job *job = calloc(1, sizeof(*job));
    if (!job)
        return -ENOMEM;
    job->pool = pool;
    job->fn = fn;
    job->in = in;
    job->len = len;
    job->flags = flags;
    loom_list_init(&job->waiters);
    loom_list_push_back(&pool->queue, &job->node);
    pool->submitted++;
    for (unsigned i = 0; i < pool->n; i++)
        if (pool->w[i].idle) {
            pool->w[i].idle = false; /* the next job goes to another idle driver */
            loom_wake(pool->w[i].driver, 0);
            break;
        }
    *out = job;
    return 0;
}

int loom_pool_submit(struct loom_pool *pool, loom_pool_fn fn, const void *in, size_t len,
                     struct loom_pool_job **job)
{
    if (!fn)
        return -EINVAL;
    void *copy = malloc(len ? len : 1);
    if (!copy)
        return -ENOMEM;
    if (len)
        memcpy(copy, in, len);
    int rc = loom__pool_job_new(pool, fn, copy, len, 0, job);
    if (rc < 0)
        free(copy);
    return rc;
}

/* The wait record lives on the waiting task's stack and is unlinked before
 * return; GCC 12+ cannot see that and warns. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
int loom_pool_job_wait(struct loom_pool_job *job, int64_t timeout_ns)
{
    if (job->done)
        return job->result;
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    struct job_waiter jw = {.result = 0};
    int64_t deadline = loom_deadline(loom_task_loop(self), timeout_ns);
    int rc = loom_waiter_park(&job->waiters, &jw.w, deadline);
    return jw.w.code > 0 ? jw.result : loom_waiter_result(rc, &jw.w); /* done wins, as before */
}

const void *loom_pool_job_result(const struct loom_pool_job *job, size_t *len)
{
    if (len)
        *len = job->out.len;
    return job->out.data;
}

struct loom_bytes loom_pool_job_take(struct loom_pool_job *job)
{
    struct loom_bytes b = job->out;
    job->out = (struct loom_bytes){0};
    return b;
}

bool loom_pool_job_done(const struct loom_pool_job *job) { return job->done; }
pid_t loom_pool_job_worker(const struct loom_pool_job *job) { return job->worker; }
int loom_pool_job_worker_status(const struct loom_pool_job *job) { return job->worker_status; }

void loom_pool_job_free(struct loom_pool_job *job)
{
    if (!job)
        return;
    if (!job->done && job->pool && loom_list_linked(&job->node)) {
        loom_list_remove(&job->node); /* still queued: it will not run */
        job->pool->submitted--;
        free(job->in);
        loom_waiter_fail_all(&job->waiters, -ECANCELED); /* they touch the job no more */
    } else if (!job->done) {
        job->orphan = true; /* running: job_finish frees it */
        return;
    }
    free(job->out.data);
    free(job);
}

int loom_pool_apply(struct loom_pool *pool, loom_pool_fn fn, const void *in, size_t len,
                    struct loom_bytes *out, int64_t timeout_ns)
{
    struct loom_pool_job *job;
    int rc = loom_pool_submit(pool, fn, in, len, &job);
    if (rc < 0)
        return rc;
    rc = loom_pool_job_wait(job, timeout_ns);
    if (rc == 0 && out)
        *out = loom_pool_job_take(job);
    loom_pool_job_free(job);
    return rc;
}

size_t loom_pool_workers(const struct loom_pool *pool, pid_t *pids, size_t max)
{
    size_t k = 0;
    for (unsigned i = 0; i < pool->n; i++)
        if (pool->w[i].alive && !pool->w[i].child.exited && k < max)
            pids[k++] = pool->w[i].child.pid;
    return k;
}
