/* check_executor.c - the thread pool: results, concurrency, cancellation of
 * queued and running jobs, shutdown, and a many-job stress run. */
#include "harness/harness.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "reactor/executor.h"
#include "reactor/task.h"

/* --- a gate that blocking jobs wait on --- */

struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open;
};

static struct gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
static atomic_int started, finished;

static void gate_open(void)
{
    pthread_mutex_lock(&gate.lock);
    gate.open = true;
    pthread_cond_broadcast(&gate.cond);
    pthread_mutex_unlock(&gate.lock);
}

static intptr_t gated_job(void *arg)
{
    atomic_fetch_add(&started, 1);
    pthread_mutex_lock(&gate.lock);
    while (!gate.open)
        pthread_cond_wait(&gate.cond, &gate.lock);
    pthread_mutex_unlock(&gate.lock);
    atomic_fetch_add(&finished, 1);
    return (intptr_t)arg;
}

static intptr_t square(void *arg)
{
    intptr_t x = (intptr_t)arg;
    return x * x;
}

static intptr_t napping(void *arg)
{
    usleep(200000);
    return (intptr_t)arg;
}

/* --- results --- */

static intptr_t call_nap(void *arg) { return loom_run_in_executor(NULL, napping, arg); }

static intptr_t results_main(void *arg)
{
    ck_assert_int_eq(loom_to_thread(square, (void *)12), 144);
    ck_assert_int_eq(loom_run_in_executor(NULL, square, (void *)-3), 9);
    /* Four blocking calls overlap on four threads. */
    struct loom_task *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = loom_spawn(call_nap, (void *)(intptr_t)i, NULL);
    double t0 = test_now();
    intptr_t r[4];
    ck_assert_int_eq(loom_gather(t, 4, r, 0), 0);
    double dt = test_now() - t0;
    ck_assert_msg(dt < 0.6, "4 x 200 ms jobs took %.3f s: not concurrent", dt);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(r[i], i);
    /* A private executor of a given size. */
    struct loom_executor *ex;
    ck_assert_int_eq(loom_executor_new(&ex, 2), 0);
    ck_assert_uint_eq(loom_executor_max_threads(ex), 2);
    ck_assert_int_eq(loom_run_in_executor(ex, square, (void *)5), 25);
    ck_assert_uint_eq(loom_executor_threads(ex), 1);
    loom_executor_free(ex, false);
    return 0;
}

START_TEST(test_results)
{
    struct loom_loop_options opt = {.executor_threads = 4};
    ck_assert_int_eq(test_run_task_opt(&opt, results_main, NULL), 0);
    ck_assert_int_eq(loom_to_thread(square, NULL), -EPERM);
}
END_TEST

/* --- cancellation --- */

struct exec_call {
    struct loom_executor *ex;
    loom_blocking_fn fn;
    void *arg;
};

static intptr_t exec_task(void *arg)
{
    struct exec_call *c = arg;
    return loom_run_in_executor(c->ex, c->fn, c->arg);
}

static intptr_t cancel_jobs_main(void *arg)
{
    atomic_store(&started, 0);
    atomic_store(&finished, 0);
    gate.open = false;
    struct loom_executor *ex;
    ck_assert_int_eq(loom_executor_new(&ex, 1), 0);
    struct exec_call running = {ex, gated_job, (void *)1};
    struct exec_call queued = {ex, gated_job, (void *)2};
    struct loom_task *a = loom_spawn(exec_task, &running, "running");
    for (int i = 0; i < 1000 && atomic_load(&started) == 0; i++)
        loom_sleep(LOOM_MS(1));
    ck_assert_int_eq(atomic_load(&started), 1);
    struct loom_task *b = loom_spawn(exec_task, &queued, "queued");
    loom_yield(); /* b submits its job and parks */
    /* Cancel the queued one: -ECANCELED at once, its job never runs. */
    loom_task_cancel(b);
    ck_assert_int_eq(loom_task_join(b), -ECANCELED);
    /* Cancel the running one: -ECANCELED at once, the job finishes unobserved. */
    loom_task_cancel(a);
    double t0 = test_now();
    ck_assert_int_eq(loom_task_join(a), -ECANCELED);
    ck_assert(test_now() - t0 < 1);
    ck_assert_int_eq(atomic_load(&finished), 0);
    gate_open();
    loom_executor_free(ex, false); /* waits for the running job */
    ck_assert_int_eq(atomic_load(&started), 1);
    ck_assert_int_eq(atomic_load(&finished), 1);
    /* Its result reaches the loop and is dropped (no leak under LSan). */
    ck_assert_int_eq(loom_sleep(LOOM_MS(5)), 0);
    return 0;
}

START_TEST(test_cancel_jobs)
{
    ck_assert_int_eq(test_run_task_opt(NULL, cancel_jobs_main, NULL), 0);
}
END_TEST

/* --- shutdown --- */

static void *open_gate_later(void *arg)
{
    usleep(20000);
    gate_open();
    return NULL;
}

static intptr_t shutdown_main(void *arg)
{
    bool cancel_queued = arg != NULL;
    atomic_store(&started, 0);
    atomic_store(&finished, 0);
    gate.open = false;
    struct loom_executor *ex;
    ck_assert_int_eq(loom_executor_new(&ex, 1), 0);
    struct exec_call c1 = {ex, gated_job, (void *)1}, c2 = {ex, gated_job, (void *)2};
    struct loom_task *t[2];
    t[0] = loom_spawn(exec_task, &c1, NULL);
    t[1] = loom_spawn(exec_task, &c2, NULL);
    for (int i = 0; i < 1000 && atomic_load(&started) == 0; i++)
        loom_sleep(LOOM_MS(1));
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, open_gate_later, NULL), 0);
    loom_executor_free(ex, cancel_queued); /* blocks until the pool is gone */
    pthread_join(th, NULL);
    intptr_t r[2];
    ck_assert_int_eq(loom_gather(t, 2, r, LOOM_GATHER_ALL), 0);
    ck_assert_int_eq(r[0], 1);
    ck_assert_int_eq(r[1], cancel_queued ? -ECANCELED : 2);
    ck_assert_int_eq(atomic_load(&finished), cancel_queued ? 1 : 2);
    return 0;
}

START_TEST(test_shutdown)
{
    ck_assert_int_eq(test_run_task_opt(NULL, shutdown_main, (void *)1), 0);
    ck_assert_int_eq(test_run_task_opt(NULL, shutdown_main, NULL), 0);
}
END_TEST

/* The loop's default executor is shut down with the loop, by loom_run too. */
static intptr_t default_pool_main(void *arg) { return loom_to_thread(square, (void *)4); }

START_TEST(test_default_executor_freed) { ck_assert_int_eq(loom_run(default_pool_main, NULL), 16); }
END_TEST

/* --- loom_executor_submit: a future, from callbacks, no task anywhere --- */

struct submit_ctx {
    struct loom_loop *loop;
    struct loom_future f[3];
    struct loom_future_callback done[3];
    intptr_t seen[3];
    int ndone;
};

static void on_job_done(struct loom_future *f, void *arg)
{
    struct submit_ctx *c = arg;
    int i = (int)(f - c->f);
    c->seen[i] = loom_future_result(f);
    c->ndone++;
}

static void submit_from_callback(void *arg)
{
    struct submit_ctx *c = arg;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(
            loom_executor_submit(c->loop, NULL, square, (void *)(intptr_t)(i + 2), &c->f[i]), 0);
        loom_future_add_done_callback(&c->f[i], &c->done[i], on_job_done, c);
    }
}

/* The pending jobs keep loom_loop_run going until every result arrived. */
START_TEST(test_submit_from_callback)
{
    struct loom_loop *loop;
    ck_assert_int_eq(loom_loop_new(&loop, NULL), 0);
    struct submit_ctx c = {.loop = loop};
    ck_assert_int_eq(loom_call_soon(loop, submit_from_callback, &c), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_int_eq(c.ndone, 3);
    ck_assert_int_eq(c.seen[0], 4);
    ck_assert_int_eq(c.seen[1], 9);
    ck_assert_int_eq(c.seen[2], 16);
    ck_assert_int_eq(loom_loop_free(loop), 0);
}
END_TEST

/* Cancelling the future of a queued job unqueues it (it never runs); of a
 * running job, lets it finish unobserved: the future stays cancelled. */
static intptr_t submit_cancel_main(void *arg)
{
    (void)arg;
    atomic_store(&started, 0);
    atomic_store(&finished, 0);
    gate.open = false;
    struct loom_executor *ex;
    ck_assert_int_eq(loom_executor_new(&ex, 1), 0);
    struct loom_loop *loop = loom_loop_current();
    struct loom_future running, queued;
    ck_assert_int_eq(loom_executor_submit(loop, ex, gated_job, (void *)1, &running), 0);
    ck_assert_int_eq(loom_executor_submit(loop, ex, gated_job, (void *)2, &queued), 0);
    for (int i = 0; i < 1000 && atomic_load(&started) == 0; i++)
        loom_sleep(LOOM_MS(1));
    ck_assert_int_eq(atomic_load(&started), 1);
    ck_assert(loom_future_cancel(&queued));
    ck_assert(loom_future_cancel(&running));
    gate_open();
    loom_executor_free(ex, false); /* waits for the running job */
    ck_assert_int_eq(atomic_load(&finished), 1);
    ck_assert_int_eq(loom_sleep(LOOM_MS(5)), 0); /* its result arrives and is dropped */
    ck_assert(loom_future_cancelled(&running));
    ck_assert_int_eq(loom_future_result(&running), -ECANCELED);
    ck_assert_int_eq(loom_future_result(&queued), -ECANCELED);
    return 0;
}

START_TEST(test_submit_cancel)
{
    ck_assert_int_eq(test_run_task_opt(NULL, submit_cancel_main, NULL), 0);
}
END_TEST

/* A task awaiting the future with a timeout gets -ETIMEDOUT; the job still
 * completes the future later. */
static intptr_t submit_await_main(void *arg)
{
    (void)arg;
    struct loom_future f;
    ck_assert_int_eq(loom_executor_submit(loom_loop_current(), NULL, napping, (void *)7, &f), 0);
    ck_assert_int_eq(loom_future_await(&f, LOOM_MS(10)), -ETIMEDOUT);
    ck_assert_int_eq(loom_future_await(&f, LOOM_SEC(5)), 7);
    return 0;
}

START_TEST(test_submit_await)
{
    ck_assert_int_eq(test_run_task_opt(NULL, submit_await_main, NULL), 0);
}
END_TEST

/* --- stress: many jobs through four threads --- */

#define NJOBS 100000
#define NSUBMITTERS 200

static atomic_long job_sum;

static intptr_t add_job(void *arg)
{
    atomic_fetch_add(&job_sum, (long)(intptr_t)arg);
    return (intptr_t)arg + 1;
}

static intptr_t submitter(void *arg)
{
    intptr_t base = (intptr_t)arg, sum = 0;
    for (intptr_t i = 0; i < NJOBS / NSUBMITTERS; i++) {
        intptr_t r = loom_to_thread(add_job, (void *)(base + i));
        if (r != base + i + 1)
            return -EPROTO;
        sum += r;
    }
    return sum;
}

static intptr_t stress_main(void *arg)
{
    struct loom_task *t[NSUBMITTERS];
    for (intptr_t i = 0; i < NSUBMITTERS; i++)
        t[i] = loom_spawn(submitter, (void *)(i * (NJOBS / NSUBMITTERS)), NULL);
    intptr_t r[NSUBMITTERS];
    ck_assert_int_eq(loom_gather(t, NSUBMITTERS, r, 0), 0);
    long total = 0;
    for (int i = 0; i < NSUBMITTERS; i++)
        total += r[i];
    long n = NJOBS;
    ck_assert_int_eq(atomic_load(&job_sum), n * (n - 1) / 2);
    ck_assert_int_eq(total, n * (n - 1) / 2 + n);
    return 0;
}

START_TEST(test_stress)
{
    atomic_store(&job_sum, 0);
    struct loom_loop_options opt = {.executor_threads = 4};
    double t0 = test_now();
    ck_assert_int_eq(test_run_task_opt(&opt, stress_main, NULL), 0);
    ck_assert_msg(test_now() - t0 < 50, "%d jobs took %.1f s", NJOBS, test_now() - t0);
}
END_TEST

/* A TCase whose tests must leave the fd count unchanged. */
int main(void)
{
    Suite *s = suite_create("executor");
    TCase *tc = test_tcase_fd(s, "results", 10);
    tcase_add_test(tc, test_results);
    tcase_add_test(tc, test_default_executor_freed);
    tcase_add_test(tc, test_submit_from_callback);
    tcase_add_test(tc, test_submit_await);
    tc = test_tcase_fd(s, "cancel", 10);
    tcase_add_test(tc, test_cancel_jobs);
    tcase_add_test(tc, test_submit_cancel);
    tc = test_tcase_fd(s, "shutdown", 10);
    tcase_add_test(tc, test_shutdown);
    tc = test_tcase_fd(s, "stress", 60);
    tcase_add_test(tc, test_stress);
    return test_main(s);
}
