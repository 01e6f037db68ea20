/* sync_micro.c - sync/ micro-benchmarks. Prints one "name ns_per_op" line per
 * case (best of 3, this thread's CPU time), same names as sync_py.py:
 *
 *   lock_uncontended   acquire + release of a free Lock
 *   sem_handoff        a Semaphore(0) passed back and forth between two tasks
 *                      (time per hand-off: one release, one wake, one switch)
 *   queue_put_get      put_nowait + get_nowait on a Queue
 *   queue_pingpong     a producer and a consumer task on a Queue(1)
 *
 *   sync_micro [scale]
 * Built by hand (not by tests/bench/Makefile yet):
 *   cc -O2 -I. tests/bench/sync_micro.c build/libloom.a -lssl -lcrypto -lpq -lm -pthread */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "reactor/task.h"
#include "sync/sync.h"

static double scale = 1.0;

static int64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long N(long n) { return (long)(n * scale) < 100 ? 100 : (long)(n * scale); }

static double result;

static intptr_t lock_main(void *arg)
{
    struct loom_lock l;
    loom_lock_init(&l);
    long n = N(10000000);
    int64_t t0 = clock_ns();
    for (long i = 0; i < n; i++) {
        loom_lock_acquire(&l, -1);
        loom_lock_release(&l);
    }
    result = (double)(clock_ns() - t0) / n;
    return 0;
}

static struct loom_semaphore sem[2];

static intptr_t sem_side(void *arg)
{
    int me = (int)(intptr_t)arg;
    long n = N(1000000);
    for (long i = 0; i < n; i++) {
        if (me == 0)
            loom_semaphore_release(&sem[1]);
        loom_semaphore_acquire(&sem[me], -1);
        if (me == 1)
            loom_semaphore_release(&sem[0]);
    }
    return 0;
}

static intptr_t sem_main(void *arg)
{
    loom_semaphore_init(&sem[0], 0);
    loom_semaphore_init(&sem[1], 0);
    struct loom_task *t[2] = {loom_spawn(sem_side, (void *)0, NULL),
                              loom_spawn(sem_side, (void *)1, NULL)};
    int64_t t0 = clock_ns();
    loom_gather(t, 2, NULL, 0);
    result = (double)(clock_ns() - t0) / (2.0 * N(1000000));
    return 0;
}

static intptr_t queue_main(void *arg)
{
    struct loom_queue q;
    loom_queue_init(&q, 0);
    long n = N(10000000);
    void *item;
    int64_t t0 = clock_ns();
    for (long i = 0; i < n; i++) {
        loom_queue_put_nowait(&q, &q);
        loom_queue_get_nowait(&q, &item);
    }
    result = (double)(clock_ns() - t0) / n;
    loom_queue_close(&q);
    return 0;
}

static struct loom_queue pq;

static intptr_t producer(void *arg)
{
    for (long i = 0, n = N(1000000); i < n; i++)
        loom_queue_put(&pq, &pq, -1);
    return 0;
}

static intptr_t consumer(void *arg)
{
    void *item;
    for (long i = 0, n = N(1000000); i < n; i++)
        loom_queue_get(&pq, &item, -1);
    return 0;
}

static intptr_t pingpong_main(void *arg)
{
    loom_queue_init(&pq, 1);
    struct loom_task *t[2] = {loom_spawn(producer, NULL, NULL), loom_spawn(consumer, NULL, NULL)};
    int64_t t0 = clock_ns();
    loom_gather(t, 2, NULL, 0);
    result = (double)(clock_ns() - t0) / N(1000000);
    loom_queue_close(&pq);
    return 0;
}

static void run(const char *name, loom_task_fn fn)
{
    double best = 1e18;
    for (int r = 0; r < 3; r++) {
        loom_run(fn, NULL);
        best = result < best ? result : best;
    }
    printf("%s %.2f\n", name, best);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        scale = atof(argv[1]);
    run("lock_uncontended", lock_main);
    run("sem_handoff", sem_main);
    run("queue_put_get", queue_main);
    run("queue_pingpong", pingpong_main);
    return 0;
}
