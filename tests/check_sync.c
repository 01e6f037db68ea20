/* check_sync.c - sync/: Lock, Semaphore, BoundedSemaphore, Event, Condition
 * and the three queues, each with timeout and cancellation at every
 * suspension point, plus a seeded model-checked property test of the queues
 * and a semaphore under 10,000 tasks. */
#include "harness/harness.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reactor/task.h"
#include "sync/sync.h"

/* --- helpers --- */

static char trace[8192];

static void tr(const char *fmt, ...)
{
    size_t n = strlen(trace);
    if (n > 0 && n < sizeof trace - 1)
        trace[n++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(trace + n, sizeof trace - n, fmt, ap);
    va_end(ap);
}

/* Run fn(arg) as the main task of a fresh loop; returns its result. */
static intptr_t run_main(loom_task_fn fn, void *arg)
{
    trace[0] = '\0';
    return test_run_task(fn, arg);
}

static struct loom_task *spawn(loom_task_fn fn, intptr_t arg)
{
    struct loom_task *t = loom_spawn(fn, (void *)arg, NULL);
    ck_assert_ptr_nonnull(t);
    return t;
}

/* Let every ready task run a few times. */
static void settle(void)
{
    for (int i = 0; i < 4; i++)
        loom_yield();
}

/* --- Lock --- */

static struct loom_lock L;

/* arg: id * 1000 + timeout in ms (0: none). */
static intptr_t lock_worker(void *arg)
{
    int id = (int)(intptr_t)arg / 1000, ms = (int)(intptr_t)arg % 1000;
    int rc = loom_lock_acquire(&L, ms ? LOOM_MS(ms) : -1);
    if (rc < 0) {
        tr("x%d:%s", id, loom_errname(rc));
        return rc;
    }
    tr("a%d", id);
    loom_yield();
    tr("r%d", id);
    ck_assert_int_eq(loom_lock_release(&L), 0);
    return 0;
}

START_TEST(test_lock_basic)
{
    loom_lock_init(&L);
    ck_assert(!loom_lock_locked(&L));
    ck_assert_int_eq(loom_lock_try_acquire(&L), 0);
    ck_assert_int_eq(loom_lock_try_acquire(&L), -EAGAIN);
    ck_assert(loom_lock_locked(&L));
    /* Outside a task a busy lock cannot be waited for. */
    ck_assert_int_eq(loom_lock_acquire(&L, -1), -EPERM);
    ck_assert_int_eq(loom_lock_release(&L), 0);
    ck_assert_int_eq(loom_lock_release(&L), -EPERM);
    ck_assert_int_eq(loom_lock_acquire(&L, -1), 0); /* free: no task needed */
    ck_assert_int_eq(loom_lock_release(&L), 0);
    loom_lock_close(&L);
}
END_TEST

static intptr_t lock_fifo_main(void *arg)
{
    loom_lock_init(&L);
    ck_assert_int_eq(loom_lock_acquire(&L, -1), 0);
    struct loom_task *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = spawn(lock_worker, (i + 1) * 1000);
    settle();
    ck_assert_str_eq(trace, "");
    ck_assert_int_eq(loom_lock_release(&L), 0);
    /* Handed straight to the oldest waiter: no barging. */
    ck_assert(loom_lock_locked(&L));
    ck_assert_int_eq(loom_lock_try_acquire(&L), -EAGAIN);
    ck_assert_int_eq(loom_gather(t, 4, NULL, 0), 0);
    ck_assert_str_eq(trace, "a1 r1 a2 r2 a3 r3 a4 r4");
    ck_assert(!loom_lock_locked(&L));
    return 0;
}

START_TEST(test_lock_fifo) { ck_assert_int_eq(run_main(lock_fifo_main, NULL), 0); }
END_TEST

static intptr_t lock_timeout_main(void *arg)
{
    loom_lock_init(&L);
    ck_assert_int_eq(loom_lock_acquire(&L, -1), 0);
    double t0 = test_now();
    struct loom_task *t = spawn(lock_worker, 1000 + 30);
    ck_assert_int_eq(loom_task_join(t), -ETIMEDOUT);
    double dt = test_now() - t0;
    ck_assert_msg(dt >= 0.029 && dt < 1.0, "waited %.3f s", dt);
    ck_assert(loom_list_empty(&L._waiters));
    ck_assert_int_eq(loom_lock_release(&L), 0);
    ck_assert(!loom_lock_locked(&L));
    /* Cancelled while waiting: nothing granted, nothing changes. */
    ck_assert_int_eq(loom_lock_acquire(&L, -1), 0);
    t = spawn(lock_worker, 2000);
    settle();
    loom_task_cancel(t);
    ck_assert_int_eq(loom_task_join(t), -ECANCELED);
    ck_assert_int_eq(loom_lock_release(&L), 0);
    ck_assert(!loom_lock_locked(&L));
    ck_assert_str_eq(trace, "x1:ETIMEDOUT x2:ECANCELED");
    return 0;
}

START_TEST(test_lock_timeout_cancel) { ck_assert_int_eq(run_main(lock_timeout_main, NULL), 0); }
END_TEST

static intptr_t lock_cancel_granted_main(void *arg)
{
    loom_lock_init(&L);
    ck_assert_int_eq(loom_lock_acquire(&L, -1), 0);
    struct loom_task *t1 = spawn(lock_worker, 1000), *t2 = spawn(lock_worker, 2000);
    settle();
    ck_assert_int_eq(loom_lock_release(&L), 0); /* granted to 1 ... */
    loom_task_cancel(t1);                       /* ... cancelled before it ran */
    ck_assert_int_eq(loom_task_join(t1), -ECANCELED);
    ck_assert_int_eq(loom_task_join(t2), 0);
    ck_assert_str_eq(trace, "x1:ECANCELED a2 r2");
    ck_assert(!loom_lock_locked(&L));
    return 0;
}

START_TEST(test_lock_cancel_granted)
{
    ck_assert_int_eq(run_main(lock_cancel_granted_main, NULL), 0);
}
END_TEST

static intptr_t lock_close_main(void *arg)
{
    loom_lock_init(&L);
    ck_assert_int_eq(loom_lock_acquire(&L, -1), 0);
    struct loom_task *t = spawn(lock_worker, 1000);
    settle();
    loom_lock_close(&L);
    ck_assert_int_eq(loom_task_join(t), -ESHUTDOWN);
    return 0;
}

START_TEST(test_lock_close) { ck_assert_int_eq(run_main(lock_close_main, NULL), 0); }
END_TEST

/* --- Semaphore --- */

static struct loom_semaphore S;

static intptr_t sem_worker(void *arg)
{
    int id = (int)(intptr_t)arg / 1000, ms = (int)(intptr_t)arg % 1000;
    int rc = loom_semaphore_acquire(&S, ms ? LOOM_MS(ms) : -1);
    if (rc < 0) {
        tr("x%d:%s", id, loom_errname(rc));
        return rc;
    }
    tr("a%d", id);
    loom_yield();
    tr("r%d", id);
    ck_assert_int_eq(loom_semaphore_release(&S), 0);
    return 0;
}

START_TEST(test_semaphore_basic)
{
    loom_semaphore_init(&S, 2);
    ck_assert_int_eq(loom_semaphore_try_acquire(&S), 0);
    ck_assert_int_eq(loom_semaphore_try_acquire(&S), 0);
    ck_assert_int_eq(loom_semaphore_try_acquire(&S), -EAGAIN);
    ck_assert(loom_semaphore_locked(&S));
    ck_assert_int_eq(loom_semaphore_acquire(&S, -1), -EPERM);
    /* A plain semaphore may be released past its start (listing 11.8). */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(loom_semaphore_release(&S), 0);
    ck_assert_uint_eq(loom_semaphore_value(&S), 3);
    loom_semaphore_close(&S);

    loom_bounded_semaphore_init(&S, 1);
    ck_assert_int_eq(loom_semaphore_acquire(&S, -1), 0);
    ck_assert_int_eq(loom_semaphore_release(&S), 0);
    ck_assert_int_eq(loom_semaphore_release(&S), -EOVERFLOW);
    ck_assert_uint_eq(loom_semaphore_value(&S), 1);
    loom_semaphore_close(&S);
}
END_TEST

static intptr_t sem_main(void *arg)
{
    loom_bounded_semaphore_init(&S, 2);
    ck_assert_int_eq(loom_semaphore_acquire(&S, -1), 0);
    ck_assert_int_eq(loom_semaphore_acquire(&S, -1), 0);
    struct loom_task *t[5];
    t[0] = spawn(sem_worker, 1000);      /* cancelled after its grant */
    t[1] = spawn(sem_worker, 2000 + 20); /* times out */
    t[2] = spawn(sem_worker, 3000);
    t[3] = spawn(sem_worker, 4000); /* cancelled while waiting */
    t[4] = spawn(sem_worker, 5000);
    settle();
    loom_task_cancel(t[3]);
    ck_assert_int_eq(loom_task_join(t[3]), -ECANCELED);
    ck_assert_int_eq(loom_task_join(t[1]), -ETIMEDOUT);
    ck_assert_int_eq(loom_semaphore_release(&S), 0); /* to 1 ... */
    loom_task_cancel(t[0]);                          /* ... cancelled: back to 5 */
    ck_assert_int_eq(loom_semaphore_release(&S), 0); /* to 3 */
    ck_assert_int_eq(loom_semaphore_try_acquire(&S), -EAGAIN);
    ck_assert_int_eq(loom_task_join(t[0]), -ECANCELED);
    ck_assert_int_eq(loom_task_join(t[2]), 0);
    ck_assert_int_eq(loom_task_join(t[4]), 0);
    ck_assert_uint_eq(loom_semaphore_value(&S), 2);
    ck_assert_int_eq(loom_semaphore_release(&S), -EOVERFLOW);
    ck_assert_str_eq(trace, "x4:ECANCELED x2:ETIMEDOUT x1:ECANCELED a3 a5 r3 r5");
    return 0;
}

START_TEST(test_semaphore_fifo_timeout_cancel) { ck_assert_int_eq(run_main(sem_main, NULL), 0); }
END_TEST

/* 10,000 tasks through Semaphore(7), every tenth cancelled at a random point
 * (2,000 under TSan, which counts each task stack as a thread, up to 8,128). */
#if defined(__SANITIZE_THREAD__)
#define MANY_TASKS 2000
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MANY_TASKS 2000
#endif
#endif
#ifndef MANY_TASKS
#define MANY_TASKS 10000
#endif
enum { MANY = MANY_TASKS, PERMITS = 7 };
static int inside, most, finished, cancelled;

static intptr_t many_worker(void *arg)
{
    int rc = loom_semaphore_acquire(&S, -1);
    if (rc < 0) {
        cancelled++;
        return rc;
    }
    inside++;
    if (inside > most)
        most = inside;
    ck_assert_int_le(inside, PERMITS);
    for (intptr_t i = 0; i < (intptr_t)arg % 4; i++)
        if (loom_yield() < 0)
            break;
    inside--;
    finished++;
    ck_assert_int_eq(loom_semaphore_release(&S), 0);
    return 0;
}

static intptr_t many_main(void *arg)
{
    loom_bounded_semaphore_init(&S, PERMITS);
    static struct loom_task *t[MANY];
    struct loom_task_options opt = {.stack_size = 64 * 1024};
    unsigned seed = 42;
    for (int i = 0; i < MANY; i++)
        ck_assert_int_eq(
            loom_task_spawn(NULL, many_worker, (void *)(intptr_t)rand_r(&seed), &opt, &t[i]), 0);
    for (int round = 0; round < 50; round++) {
        loom_yield();
        for (int k = 0; k < MANY / 10 / 50; k++)
            loom_task_cancel(t[rand_r(&seed) % MANY]);
    }
    for (int i = 0; i < MANY; i++)
        loom_task_join(t[i]);
    ck_assert_int_eq(most, PERMITS);
    ck_assert_int_eq(inside, 0);
    ck_assert_int_eq(finished + cancelled, MANY);
    ck_assert_int_gt(cancelled, 0);
    ck_assert_uint_eq(loom_semaphore_value(&S), PERMITS);
    return 0;
}

START_TEST(test_semaphore_10000_tasks) { ck_assert_int_eq(run_main(many_main, NULL), 0); }
END_TEST

/* --- Event --- */

static struct loom_event E;

static intptr_t event_worker(void *arg)
{
    int id = (int)(intptr_t)arg / 1000, ms = (int)(intptr_t)arg % 1000;
    int rc = loom_event_wait(&E, ms ? LOOM_MS(ms) : -1);
    tr("%d:%s", id, rc == 0 ? "ok" : loom_errname(rc));
    return rc;
}

static intptr_t event_main(void *arg)
{
    loom_event_init(&E);
    ck_assert(!loom_event_is_set(&E));
    struct loom_task *t[5];
    for (int i = 0; i < 3; i++)
        t[i] = spawn(event_worker, (i + 1) * 1000);
    t[3] = spawn(event_worker, 4000 + 20);
    t[4] = spawn(event_worker, 5000);
    settle();
    loom_task_cancel(t[4]);
    ck_assert_int_eq(loom_task_join(t[4]), -ECANCELED);
    ck_assert_int_eq(loom_task_join(t[3]), -ETIMEDOUT);
    loom_event_set(&E);
    ck_assert_int_eq(loom_gather(t, 3, NULL, 0), 0);
    ck_assert_int_eq(loom_event_wait(&E, 0), 0); /* already set: at once */
    loom_event_clear(&E);
    ck_assert_int_eq(loom_event_wait(&E, LOOM_MS(5)), -ETIMEDOUT);
    t[0] = spawn(event_worker, 6000);
    settle();
    loom_event_close(&E);
    ck_assert_int_eq(loom_task_join(t[0]), -ESHUTDOWN);
    ck_assert_str_eq(trace, "5:ECANCELED 4:ETIMEDOUT 1:ok 2:ok 3:ok 6:ESHUTDOWN");
    return 0;
}

START_TEST(test_event) { ck_assert_int_eq(run_main(event_main, NULL), 0); }
END_TEST

/* --- Condition --- */

static struct loom_condition C;
static int woke, counter;

/* arg: id * 1000 + timeout in ms (0: none); always ends holding the lock. */
static intptr_t cond_worker(void *arg)
{
    int id = (int)(intptr_t)arg / 1000, ms = (int)(intptr_t)arg % 1000;
    ck_assert_int_eq(loom_condition_acquire(&C, -1), 0);
    int rc = loom_condition_wait(&C, ms ? LOOM_MS(ms) : -1);
    ck_assert(loom_lock_locked(loom_condition_lock(&C)));
    tr("%d:%s", id, rc == 0 ? "ok" : loom_errname(rc));
    if (rc == 0)
        woke++;
    ck_assert_int_eq(loom_condition_release(&C), 0);
    return rc;
}

static intptr_t cond_counts_main(void *arg)
{
    loom_condition_init(&C, NULL);
    ck_assert_int_eq(loom_condition_notify(&C, 1), -EPERM);
    ck_assert_int_eq(loom_condition_wait(&C, -1), -EPERM);
    struct loom_task *t[5];
    for (int i = 0; i < 5; i++)
        t[i] = spawn(cond_worker, (i + 1) * 1000);
    settle();
    ck_assert_int_eq(loom_condition_acquire(&C, -1), 0);
    ck_assert_int_eq(loom_condition_notify(&C, 2), 2);
    ck_assert_int_eq(loom_condition_release(&C), 0);
    settle();
    ck_assert_int_eq(woke, 2);
    ck_assert_int_eq(loom_condition_acquire(&C, -1), 0);
    ck_assert_int_eq(loom_condition_notify_all(&C), 3);
    ck_assert_int_eq(loom_condition_notify_all(&C), 0);
    ck_assert_int_eq(loom_condition_release(&C), 0);
    ck_assert_int_eq(loom_gather(t, 5, NULL, 0), 0);
    ck_assert_int_eq(woke, 5);
    ck_assert_str_eq(trace, "1:ok 2:ok 3:ok 4:ok 5:ok");
    loom_condition_close(&C);
    return 0;
}

START_TEST(test_condition_notify_counts) { ck_assert_int_eq(run_main(cond_counts_main, NULL), 0); }
END_TEST

static intptr_t cond_cancel_main(void *arg)
{
    struct loom_lock lock;
    loom_lock_init(&lock);
    loom_condition_init(&C, &lock);
    ck_assert_ptr_eq(loom_condition_lock(&C), &lock);
    /* Timeout and cancellation while waiting: the lock is held again after. */
    ck_assert_int_eq(loom_task_join(spawn(cond_worker, 1000 + 10)), -ETIMEDOUT);
    struct loom_task *t = spawn(cond_worker, 2000);
    settle();
    loom_task_cancel(t);
    ck_assert_int_eq(loom_task_join(t), -ECANCELED);
    /* Cancelled while taking the lock back: still ends holding it. */
    t = spawn(cond_worker, 3000);
    settle();
    ck_assert_int_eq(loom_lock_acquire(&lock, -1), 0);
    ck_assert_int_eq(loom_condition_notify(&C, 1), 1);
    settle();
    loom_task_cancel(t);
    settle();
    ck_assert_int_eq(loom_lock_release(&lock), 0);
    ck_assert_int_eq(loom_task_join(t), -ECANCELED);
    /* A notify that reaches a cancelled waiter passes to the next one. */
    struct loom_task *a = spawn(cond_worker, 4000), *b = spawn(cond_worker, 5000);
    settle();
    ck_assert_int_eq(loom_lock_acquire(&lock, -1), 0);
    ck_assert_int_eq(loom_condition_notify(&C, 1), 1);
    loom_task_cancel(a);
    ck_assert_int_eq(loom_lock_release(&lock), 0);
    ck_assert_int_eq(loom_task_join(a), -ECANCELED);
    ck_assert_int_eq(loom_task_join(b), 0);
    ck_assert_str_eq(trace, "1:ETIMEDOUT 2:ECANCELED 3:ECANCELED 4:ECANCELED 5:ok");
    ck_assert(!loom_lock_locked(&lock));
    loom_condition_close(&C);
    loom_lock_close(&lock);
    return 0;
}

START_TEST(test_condition_timeout_cancel) { ck_assert_int_eq(run_main(cond_cancel_main, NULL), 0); }
END_TEST

static bool counter_reached(void *arg) { return counter >= (int)(intptr_t)arg; }

static intptr_t wait_for_worker(void *arg)
{
    ck_assert_int_eq(loom_condition_acquire(&C, -1), 0);
    int rc = loom_condition_wait_for(&C, counter_reached, arg, LOOM_MS(500));
    ck_assert(loom_lock_locked(loom_condition_lock(&C)));
    tr("%d:%s@%d", (int)(intptr_t)arg, rc == 0 ? "ok" : loom_errname(rc), counter);
    loom_condition_release(&C);
    return rc;
}

static intptr_t cond_wait_for_main(void *arg)
{
    loom_condition_init(&C, NULL);
    struct loom_task *t = spawn(wait_for_worker, 3);
    settle();
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(loom_condition_acquire(&C, -1), 0);
        counter++;
        loom_condition_notify_all(&C);
        loom_condition_release(&C);
        settle();
    }
    ck_assert_int_eq(loom_task_join(t), 0);
    double t0 = test_now();
    ck_assert_int_eq(loom_task_join(spawn(wait_for_worker, 100)), -ETIMEDOUT);
    ck_assert_msg(test_now() - t0 >= 0.49, "wait_for gave up early");
    ck_assert_int_eq(loom_task_join(spawn(wait_for_worker, 1)), 0); /* true at once */
    ck_assert_str_eq(trace, "3:ok@3 100:ETIMEDOUT@5 1:ok@5");
    loom_condition_close(&C);
    return 0;
}

START_TEST(test_condition_wait_for) { ck_assert_int_eq(run_main(cond_wait_for_main, NULL), 0); }
END_TEST

/* --- queues: unit tests --- */

static struct loom_queue Q;

#define P(x) ((void *)(intptr_t)(x))
#define I(p) ((int)(intptr_t)(p))

static int get_now(struct loom_queue *q)
{
    void *item = NULL;
    int rc = loom_queue_get_nowait(q, &item);
    return rc < 0 ? rc : I(item);
}

/* Items are small ints; priority = value / 10, so 11 and 12 tie. */
static int by_tens(const void *a, const void *b) { return I(a) / 10 - I(b) / 10; }

START_TEST(test_queue_orders)
{
    int in[] = {31, 12, 20, 11, 5};
    struct {
        void (*init)(struct loom_queue *, size_t);
        int out[5];
    } kinds[] = {{loom_queue_init, {31, 12, 20, 11, 5}},
                 {loom_lifo_queue_init, {5, 11, 20, 12, 31}}};
    for (int k = 0; k < 3; k++) {
        if (k < 2)
            kinds[k].init(&Q, 0);
        else
            loom_priority_queue_init(&Q, 0, by_tens);
        for (int i = 0; i < 5; i++)
            ck_assert_int_eq(loom_queue_put_nowait(&Q, P(in[i])), 0);
        ck_assert_uint_eq(loom_queue_size(&Q), 5);
        int want_prio[] = {5, 12, 11, 20, 31};
        for (int i = 0; i < 5; i++)
            ck_assert_int_eq(get_now(&Q), k < 2 ? kinds[k].out[i] : want_prio[i]);
        ck_assert_int_eq(get_now(&Q), -EAGAIN);
        ck_assert(loom_queue_empty(&Q));
        loom_queue_close(&Q);
    }
}
END_TEST

START_TEST(test_queue_nowait_limits)
{
    loom_queue_init(&Q, 2);
    ck_assert_uint_eq(loom_queue_maxsize(&Q), 2);
    ck_assert_int_eq(loom_queue_put_nowait(&Q, P(1)), 0);
    ck_assert_int_eq(loom_queue_put_nowait(&Q, P(2)), 0);
    ck_assert(loom_queue_full(&Q));
    ck_assert_int_eq(loom_queue_put_nowait(&Q, P(3)), -EAGAIN);
    ck_assert_int_eq(loom_queue_put(&Q, P(3), -1), -EPERM); /* cannot wait outside a task */
    ck_assert_int_eq(get_now(&Q), 1);
    ck_assert_int_eq(loom_queue_put_nowait(&Q, P(3)), 0);
    ck_assert_int_eq(get_now(&Q), 2);
    ck_assert_int_eq(get_now(&Q), 3);
    ck_assert_int_eq(get_now(&Q), -EAGAIN);
    void *item;
    ck_assert_int_eq(loom_queue_get(&Q, &item, -1), -EPERM);
    /* The ring wraps around many times without losing order. */
    int next_in = 0, next_out = 0;
    for (int round = 0; round < 1000; round++) {
        while (loom_queue_put_nowait(&Q, P(next_in)) == 0)
            next_in++;
        ck_assert_int_eq(get_now(&Q), next_out++);
    }
    loom_queue_close(&Q);
    loom_queue_init(&Q, 0);
    for (int i = 0; i < 5000; i++) {
        ck_assert_int_eq(loom_queue_put_nowait(&Q, P(i)), 0);
        if (i % 3 == 0)
            ck_assert_int_eq(get_now(&Q), i / 3);
    }
    ck_assert_uint_eq(loom_queue_size(&Q), 5000 - 1667);
    loom_queue_close(&Q); /* drops what is left */
}
END_TEST

/* arg: id * 1000 + timeout in ms (0: none). Puts id; then sleeps once so a
 * cancellation re-delivered after a granted put shows. */
static intptr_t putter(void *arg)
{
    int id = (int)(intptr_t)arg / 1000, ms = (int)(intptr_t)arg % 1000;
    int rc = loom_queue_put(&Q, P(id), ms ? LOOM_MS(ms) : -1);
    tr("p%d:%s", id, rc == 0 ? "ok" : loom_errname(rc));
    if (rc < 0)
        return rc;
    return loom_sleep(LOOM_MS(1));
}

static intptr_t getter(void *arg)
{
    int id = (int)(intptr_t)arg / 1000, ms = (int)(intptr_t)arg % 1000;
    void *item;
    int rc = loom_queue_get(&Q, &item, ms ? LOOM_MS(ms) : -1);
    if (rc < 0)
        tr("g%d:%s", id, loom_errname(rc));
    else
        tr("g%d=%d", id, I(item));
    return rc;
}

static intptr_t queue_put_main(void *arg)
{
    loom_queue_init(&Q, 1);
    ck_assert_int_eq(loom_queue_put(&Q, P(1), -1), 0);
    struct loom_task *t2 = spawn(putter, 2000), *t3 = spawn(putter, 3000 + 20);
    struct loom_task *t4 = spawn(putter, 4000), *t5 = spawn(putter, 5000);
    settle();
    ck_assert_int_eq(loom_task_join(t3), -ETIMEDOUT); /* not added */
    loom_task_cancel(t4);
    ck_assert_int_eq(loom_task_join(t4), -ECANCELED); /* not added */
    ck_assert_uint_eq(loom_queue_size(&Q), 1);
    ck_assert_int_eq(loom_queue_put_nowait(&Q, P(9)), -EAGAIN);
    ck_assert_int_eq(get_now(&Q), 1); /* admits 2 at once */
    ck_assert_uint_eq(loom_queue_size(&Q), 1);
    ck_assert_int_eq(loom_task_join(t2), 0);
    ck_assert_int_eq(get_now(&Q), 2); /* admits 5 ... */
    loom_task_cancel(t5);             /* ... whose put stands; the cancel comes next */
    ck_assert_int_eq(loom_task_join(t5), -ECANCELED);
    ck_assert_int_eq(get_now(&Q), 5);
    ck_assert_str_eq(trace, "p3:ETIMEDOUT p4:ECANCELED p2:ok p5:ok");
    loom_queue_close(&Q);
    return 0;
}

START_TEST(test_queue_put_blocking) { ck_assert_int_eq(run_main(queue_put_main, NULL), 0); }
END_TEST

static intptr_t queue_get_main(void *arg)
{
    void (*init)(struct loom_queue *, size_t) = arg;
    init(&Q, 0);
    struct loom_task *g1 = spawn(getter, 1000 + 20), *g2 = spawn(getter, 2000);
    struct loom_task *g3 = spawn(getter, 3000), *g4 = spawn(getter, 4000);
    settle();
    ck_assert_int_eq(loom_task_join(g1), -ETIMEDOUT);
    loom_task_cancel(g2);
    ck_assert_int_eq(loom_task_join(g2), -ECANCELED);
    ck_assert_int_eq(loom_queue_put_nowait(&Q, P(10)), 0); /* straight to 3 */
    ck_assert_uint_eq(loom_queue_size(&Q), 1);
    ck_assert_int_eq(loom_queue_put_nowait(&Q, P(11)), 0); /* straight to 4 */
    ck_assert_int_eq(loom_queue_put_nowait(&Q, P(12)), 0); /* stored */
    loom_task_cancel(g3); /* had 10: gives it back in front of 12 */
    loom_task_cancel(g4); /* had 11: likewise */
    ck_assert_int_eq(loom_task_join(g3), -ECANCELED);
    ck_assert_int_eq(loom_task_join(g4), -ECANCELED);
    ck_assert_uint_eq(loom_queue_size(&Q), 3);
    int a = get_now(&Q), b = get_now(&Q), c = get_now(&Q);
    tr("%d %d %d", a, b, c);
    loom_queue_close(&Q);
    return 0;
}

START_TEST(test_queue_get_timeout_cancel)
{
    ck_assert_int_eq(run_main(queue_get_main, loom_queue_init), 0);
    ck_assert_str_eq(trace, "g1:ETIMEDOUT g2:ECANCELED g3:ECANCELED g4:ECANCELED 11 10 12");
    ck_assert_int_eq(run_main(queue_get_main, loom_lifo_queue_init), 0);
    ck_assert_str_eq(trace, "g1:ETIMEDOUT g2:ECANCELED g3:ECANCELED g4:ECANCELED 11 10 12");
}
END_TEST

static intptr_t joiner(void *arg)
{
    int rc = loom_queue_join(&Q, (intptr_t)arg ? LOOM_MS((intptr_t)arg) : -1);
    tr("j:%s", rc == 0 ? "ok" : loom_errname(rc));
    return rc;
}

static intptr_t queue_join_main(void *arg)
{
    loom_queue_init(&Q, 0);
    ck_assert_int_eq(loom_queue_join(&Q, -1), 0); /* nothing unfinished */
    ck_assert_int_eq(loom_queue_task_done(&Q), -EINVAL);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(loom_queue_put(&Q, P(i), -1), 0);
    ck_assert_int_eq(loom_task_join(spawn(joiner, 10)), -ETIMEDOUT);
    struct loom_task *c = spawn(joiner, 0);
    settle();
    loom_task_cancel(c);
    ck_assert_int_eq(loom_task_join(c), -ECANCELED);
    struct loom_task *j = spawn(joiner, 0);
    for (int i = 0; i < 3; i++) {
        settle();
        ck_assert(!loom_task_done(j));
        ck_assert_int_eq(get_now(&Q), i);
        ck_assert_int_eq(loom_queue_task_done(&Q), 0);
    }
    ck_assert_int_eq(loom_task_join(j), 0);
    ck_assert_int_eq(loom_queue_task_done(&Q), -EINVAL);
    ck_assert_str_eq(trace, "j:ETIMEDOUT j:ECANCELED j:ok");
    loom_queue_close(&Q);
    return 0;
}

START_TEST(test_queue_join) { ck_assert_int_eq(run_main(queue_join_main, NULL), 0); }
END_TEST

static intptr_t queue_shutdown_main(void *arg)
{
    /* Waiting getters, then waiting putters and a joiner, all woken. */
    loom_queue_init(&Q, 1);
    struct loom_task *g = spawn(getter, 1000);
    settle();
    loom_queue_shutdown(&Q);
    ck_assert_int_eq(loom_task_join(g), -ESHUTDOWN);
    loom_queue_close(&Q);

    loom_queue_init(&Q, 1);
    ck_assert_int_eq(loom_queue_put_nowait(&Q, P(1)), 0);
    struct loom_task *p = spawn(putter, 2000), *j = spawn(joiner, 0);
    settle();
    loom_queue_shutdown(&Q);
    ck_assert_int_eq(loom_task_join(p), -ESHUTDOWN);
    ck_assert_int_eq(loom_queue_put_nowait(&Q, P(3)), -ESHUTDOWN);
    ck_assert_int_eq(loom_queue_put(&Q, P(3), -1), -ESHUTDOWN);
    /* asyncio 3.13: the joiner is not woken by the shutdown... */
    settle();
    ck_assert(!loom_task_done(j));
    ck_assert_int_eq(loom_queue_join(&Q, LOOM_MS(5)), -ETIMEDOUT);
    /* ...what was queued still comes out, then gets fail... */
    void *item;
    ck_assert_int_eq(loom_queue_get(&Q, &item, -1), 0);
    ck_assert_int_eq(I(item), 1);
    ck_assert_int_eq(loom_queue_get(&Q, &item, -1), -ESHUTDOWN);
    ck_assert_int_eq(get_now(&Q), -ESHUTDOWN);
    settle();
    ck_assert(!loom_task_done(j));
    /* ...and the last task_done releases the joiner. */
    ck_assert_int_eq(loom_queue_task_done(&Q), 0);
    ck_assert_int_eq(loom_task_join(j), 0);
    ck_assert_int_eq(loom_queue_join(&Q, -1), 0);
    ck_assert_str_eq(trace, "g1:ESHUTDOWN p2:ESHUTDOWN j:ok");
    loom_queue_close(&Q);

    /* Closing fails a joiner that still waits. */
    loom_queue_init(&Q, 0);
    ck_assert_int_eq(loom_queue_put_nowait(&Q, P(4)), 0);
    j = spawn(joiner, 0);
    settle();
    loom_queue_close(&Q);
    ck_assert_int_eq(loom_task_join(j), -ESHUTDOWN);
    return 0;
}

/* shutdown(immediate=True): queued items are dropped and count as done; items
 * already taken out still hold join until their task_done. */
static intptr_t queue_shutdown_immediate_main(void *arg)
{
    loom_queue_init(&Q, 4);
    for (int i = 1; i <= 4; i++)
        ck_assert_int_eq(loom_queue_put_nowait(&Q, P(i)), 0);
    struct loom_task *p = spawn(putter, 5000), *j = spawn(joiner, 0);
    ck_assert_int_eq(get_now(&Q), 1); /* admits the putter's 5 */
    settle();
    ck_assert_int_eq(loom_queue_size(&Q), 4);
    loom_queue_shutdown_immediate(&Q);
    ck_assert_int_eq(loom_queue_size(&Q), 0);
    ck_assert(loom_queue_empty(&Q));
    ck_assert_int_eq(get_now(&Q), -ESHUTDOWN);
    ck_assert_int_eq(loom_queue_put_nowait(&Q, P(6)), -ESHUTDOWN);
    settle();
    ck_assert(!loom_task_done(j)); /* item 1 is taken but not done */
    ck_assert_int_eq(loom_queue_task_done(&Q), 0);
    ck_assert_int_eq(loom_task_join(j), 0);
    ck_assert_int_eq(loom_task_join(p), 0);
    ck_assert_int_eq(loom_queue_task_done(&Q), -EINVAL);
    ck_assert_str_eq(trace, "p5:ok j:ok");
    loom_queue_close(&Q);

    /* Waiting getters wake with -ESHUTDOWN; a getter handed an item before the
     * shutdown and cancelled before it ran drops it (it is not queued again). */
    trace[0] = '\0';
    loom_queue_init(&Q, 0);
    struct loom_task *g1 = spawn(getter, 1000), *g2 = spawn(getter, 2000);
    settle();
    ck_assert_int_eq(loom_queue_put_nowait(&Q, P(7)), 0); /* handed to g1 */
    j = spawn(joiner, 0);
    loom_queue_shutdown_immediate(&Q);
    loom_task_cancel(g1);
    ck_assert_int_eq(loom_task_join(g1), -ECANCELED);
    ck_assert_int_eq(loom_task_join(g2), -ESHUTDOWN);
    ck_assert_int_eq(loom_queue_size(&Q), 0);
    ck_assert_int_eq(loom_task_join(j), 0);
    ck_assert_str_eq(trace, "g1:ECANCELED j:ok g2:ESHUTDOWN");
    loom_queue_close(&Q);
    return 0;
}

START_TEST(test_queue_shutdown_immediate)
{
    ck_assert_int_eq(run_main(queue_shutdown_immediate_main, NULL), 0);
}
END_TEST

/* --- Barrier --- */

static struct loom_barrier B;

static intptr_t barrier_party(void *arg)
{
    int id = (int)(intptr_t)arg / 1000, ms = (int)(intptr_t)arg % 1000;
    int rc = loom_barrier_wait(&B, ms ? LOOM_MS(ms) : -1);
    if (rc < 0)
        tr("b%d:%s", id, loom_errname(rc));
    else
        tr("b%d=%d", id, rc);
    return rc;
}

static intptr_t barrier_main(void *arg)
{
    ck_assert_int_eq(loom_barrier_init(&B, 0), -EINVAL);
    ck_assert_int_eq(loom_barrier_init(&B, 3), 0);
    ck_assert_int_eq(loom_barrier_parties(&B), 3);
    /* Two rounds: the third arrival releases the first two. */
    for (int round = 0; round < 2; round++) {
        trace[0] = '\0';
        struct loom_task *a = spawn(barrier_party, 1000), *b = spawn(barrier_party, 2000);
        settle();
        ck_assert_int_eq(loom_barrier_n_waiting(&B), 2);
        ck_assert(!loom_task_done(a) && !loom_task_done(b));
        ck_assert_int_eq(loom_barrier_wait(&B, -1), 2); /* last: no suspension */
        ck_assert_int_eq(loom_barrier_n_waiting(&B), 0);
        ck_assert_int_eq(loom_task_join(a), 0);
        ck_assert_int_eq(loom_task_join(b), 1);
        ck_assert_str_eq(trace, "b1=0 b2=1");
    }
    /* A timed-out and a cancelled waiter leave the round; it still needs 3. */
    trace[0] = '\0';
    struct loom_task *t = spawn(barrier_party, 1005), *c = spawn(barrier_party, 2000);
    settle();
    loom_task_cancel(c);
    ck_assert_int_eq(loom_task_join(c), -ECANCELED);
    ck_assert_int_eq(loom_task_join(t), -ETIMEDOUT);
    ck_assert_int_eq(loom_barrier_n_waiting(&B), 0);
    ck_assert(!loom_barrier_broken(&B));
    /* reset: waiters get -EPIPE, the barrier works again. */
    struct loom_task *r = spawn(barrier_party, 3000);
    settle();
    loom_barrier_reset(&B);
    ck_assert_int_eq(loom_task_join(r), -EPIPE);
    ck_assert(!loom_barrier_broken(&B));
    /* abort: broken until reset. */
    struct loom_task *x = spawn(barrier_party, 4000);
    settle();
    loom_barrier_abort(&B);
    ck_assert_int_eq(loom_task_join(x), -EPIPE);
    ck_assert(loom_barrier_broken(&B));
    ck_assert_int_eq(loom_barrier_wait(&B, -1), -EPIPE);
    loom_barrier_reset(&B);
    ck_assert_int_eq(loom_barrier_wait(&B, 0), -ETIMEDOUT);
    ck_assert_str_eq(trace, "b2:ECANCELED b1:ETIMEDOUT b3:EPIPE b4:EPIPE");
    /* parties 1: never waits, also outside a task's need to park. */
    ck_assert_int_eq(loom_barrier_init(&B, 1), 0);
    ck_assert_int_eq(loom_barrier_wait(&B, -1), 0);
    loom_barrier_close(&B);
    return 0;
}

START_TEST(test_barrier) { ck_assert_int_eq(run_main(barrier_main, NULL), 0); }
END_TEST

/* 100 tasks over 10 rounds of a 100-party barrier: every round hands out each
 * index once. */
enum { BN = 100, BROUNDS = 10 };
static int bseen[BROUNDS][BN];

static intptr_t barrier_looper(void *arg)
{
    for (int r = 0; r < BROUNDS; r++) {
        int rc = loom_barrier_wait(&B, LOOM_SEC(5));
        if (rc < 0)
            return rc;
        bseen[r][rc]++;
    }
    return 0;
}

static intptr_t barrier_many_main(void *arg)
{
    ck_assert_int_eq(loom_barrier_init(&B, BN), 0);
    struct loom_task *t[BN];
    for (int i = 0; i < BN; i++)
        t[i] = spawn(barrier_looper, 0);
    for (int i = 0; i < BN; i++)
        ck_assert_int_eq(loom_task_join(t[i]), 0);
    for (int r = 0; r < BROUNDS; r++)
        for (int i = 0; i < BN; i++)
            ck_assert_int_eq(bseen[r][i], 1);
    loom_barrier_close(&B);
    return 0;
}

START_TEST(test_barrier_many) { ck_assert_int_eq(run_main(barrier_many_main, NULL), 0); }
END_TEST

START_TEST(test_queue_shutdown) { ck_assert_int_eq(run_main(queue_shutdown_main, NULL), 0); }
END_TEST

/* --- queues: a seeded property test against a model ---
 *
 * A controller task makes random put_nowait/get_nowait calls, spawns getter
 * and putter tasks with random timeouts (none, 0, up to 2 ms) and cancels
 * random ones. Next to the real queue the test keeps a model of what the
 * queue must do (stored items, waiting getters and putters in order, hand-offs
 * and give-backs), updated right after each call returns (nothing runs in
 * between). Every result is checked against the model, so each item must come
 * out exactly where FIFO/LIFO/priority order says; at the end every item put
 * must have been delivered exactly once. */

enum { OPS = 100000, MAXW = 64, MAXITEMS = OPS + 1 };

struct mw {
    struct loom_task *task; /* handle; NULL: slot free (a cancelled task may never start) */
    bool getter, granted;
    int item; /* putter: its item; granted getter: what it was handed */
    uint64_t seq;
};

struct mslot {
    int item;
    uint64_t seq;
};

static struct {
    enum loom_queue_kind kind;
    size_t maxsize;
    struct mslot store[MAXITEMS];
    size_t len, inflight;
    uint64_t seq;
    struct mw *getters[MAXW], *putters[MAXW];
    int ngetters, nputters;
    struct mw w[MAXW];
    int next_item;
    unsigned char inserted[MAXITEMS], delivered[MAXITEMS];
} M;

/* How often each interesting path ran, over all phases. */
static struct {
    long gave_back, timed_out, cancelled, handed;
} seen;

static int prio_cmp(const void *a, const void *b)
{
    int x = I(a) * 7919 % 13, y = I(b) * 7919 % 13; /* many ties, out of id order */
    return x - y;
}

static bool m_full(void) { return M.maxsize && M.len + M.inflight >= M.maxsize; }

static void m_store(struct mslot s, bool front)
{
    if (front && M.kind == LOOM_QUEUE_FIFO) {
        memmove(&M.store[1], &M.store[0], M.len * sizeof(M.store[0]));
        M.store[0] = s;
    } else {
        M.store[M.len] = s;
    }
    M.len++;
}

static struct mslot m_take(void)
{
    size_t k = 0;
    if (M.kind == LOOM_QUEUE_LIFO)
        k = M.len - 1;
    for (size_t i = 1; M.kind == LOOM_QUEUE_PRIORITY && i < M.len; i++) {
        int c = prio_cmp(P(M.store[i].item), P(M.store[k].item));
        if (c < 0 || (c == 0 && M.store[i].seq < M.store[k].seq))
            k = i;
    }
    struct mslot s = M.store[k];
    memmove(&M.store[k], &M.store[k + 1], (M.len - k - 1) * sizeof(M.store[0]));
    M.len--;
    return s;
}

static void m_remove(struct mw **list, int *n, struct mw *w)
{
    for (int i = 0; i < *n; i++)
        if (list[i] == w) {
            memmove(&list[i], &list[i + 1], (size_t)(*n - i - 1) * sizeof(list[0]));
            (*n)--;
            return;
        }
    ck_abort_msg("model: waiter not found");
}

static void m_deliver(struct mslot s, bool front)
{
    if (M.ngetters == 0) {
        m_store(s, front);
        return;
    }
    struct mw *g = M.getters[0];
    m_remove(M.getters, &M.ngetters, g);
    g->granted = true;
    g->item = s.item;
    g->seq = s.seq;
    M.inflight++;
}

static void m_insert(int item)
{
    M.inserted[item] = 1;
    m_deliver((struct mslot){item, M.seq++}, false);
}

static void m_admit(void)
{
    while (M.nputters > 0 && !m_full()) {
        struct mw *p = M.putters[0];
        m_remove(M.putters, &M.nputters, p);
        m_insert(p->item);
        p->granted = true;
    }
}

static void m_delivered(int item)
{
    ck_assert_msg(M.inserted[item], "item %d delivered but never put", item);
    ck_assert_msg(!M.delivered[item], "item %d delivered twice", item);
    M.delivered[item] = 1;
}

static int64_t random_timeout(unsigned *seed)
{
    int r = rand_r(seed) % 10;
    return r < 4 ? -1 : r < 7 ? 0 : LOOM_US(rand_r(seed) % 2000);
}

static intptr_t m_getter(void *arg)
{
    struct mw *w = arg;
    int64_t timeout = (int64_t)w->seq; /* passed in by the spawner */
    void *item = NULL;
    if (M.len > 0) { /* get succeeds without waiting */
        struct mslot s = m_take();
        ck_assert_int_eq(loom_queue_get(&Q, &item, timeout), 0);
        ck_assert_int_eq(I(item), s.item);
        m_delivered(s.item);
        m_admit();
    } else {
        w->granted = false;
        M.getters[M.ngetters++] = w;
        int rc = loom_queue_get(&Q, &item, timeout);
        if (!w->granted) {
            ck_assert_msg(rc == -ETIMEDOUT || rc == -ECANCELED, "get: %d", rc);
            rc == -ETIMEDOUT ? seen.timed_out++ : seen.cancelled++;
            m_remove(M.getters, &M.ngetters, w);
        } else {
            M.inflight--;
            if (rc == 0) {
                seen.handed++;
                ck_assert_int_eq(I(item), w->item);
                m_delivered(w->item);
                m_admit();
            } else {
                ck_assert_int_eq(rc, -ECANCELED);
                seen.gave_back++;
                m_deliver((struct mslot){w->item, w->seq}, true);
            }
        }
    }
    return 0;
}

static intptr_t m_putter(void *arg)
{
    struct mw *w = arg;
    int64_t timeout = (int64_t)w->seq;
    w->item = M.next_item++;
    if (!m_full() && M.nputters == 0) {
        ck_assert_int_eq(loom_queue_put(&Q, P(w->item), timeout), 0);
        m_insert(w->item);
    } else {
        w->granted = false;
        M.putters[M.nputters++] = w;
        int rc = loom_queue_put(&Q, P(w->item), timeout);
        if (w->granted) {
            ck_assert_int_eq(rc, 0);
        } else {
            ck_assert_msg(rc == -ETIMEDOUT || rc == -ECANCELED, "put: %d", rc);
            rc == -ETIMEDOUT ? seen.timed_out++ : seen.cancelled++;
            m_remove(M.putters, &M.nputters, w);
        }
    }
    return 0;
}

/* Release finished workers; true if some are left. */
static bool m_reap(void)
{
    bool left = false;
    for (int i = 0; i < MAXW; i++) {
        if (M.w[i].task && loom_task_done(M.w[i].task)) {
            intptr_t r = loom_task_result(M.w[i].task); /* -ECANCELED: never started */
            ck_assert_msg(r == 0 || r == -ECANCELED, "worker result %ld", (long)r);
            loom_task_release(M.w[i].task);
            M.w[i].task = NULL;
        }
        left |= M.w[i].task != NULL;
    }
    return left;
}

static void m_spawn(unsigned *seed, bool getter)
{
    struct mw *w = NULL;
    m_reap();
    for (int i = 0; i < MAXW && !w; i++)
        if (!M.w[i].task)
            w = &M.w[i];
    if (!w)
        return;
    w->getter = getter;
    w->seq = (uint64_t)random_timeout(seed);
    struct loom_task_options opt = {.stack_size = 64 * 1024};
    ck_assert_int_eq(loom_task_spawn(NULL, getter ? m_getter : m_putter, w, &opt, &w->task), 0);
}

static void m_step(unsigned *seed)
{
    int op = rand_r(seed) % 100;
    void *item;
    if (op < 25) {
        int want = M.nputters == 0 && !m_full() ? 0 : -EAGAIN;
        ck_assert_int_eq(loom_queue_put_nowait(&Q, P(M.next_item)), want);
        if (want == 0)
            m_insert(M.next_item);
        M.next_item++;
    } else if (op < 45) {
        if (M.len == 0) {
            ck_assert_int_eq(loom_queue_get_nowait(&Q, &item), -EAGAIN);
            return;
        }
        struct mslot s = m_take();
        ck_assert_int_eq(loom_queue_get_nowait(&Q, &item), 0);
        ck_assert_int_eq(I(item), s.item);
        m_delivered(s.item);
        m_admit();
    } else if (op < 85) {
        m_spawn(seed, op < 65);
    } else if (op < 95) {
        /* A random live worker: waiting, granted or not started yet. */
        for (int i = rand_r(seed) % MAXW, k = 0; k < MAXW; k++, i = (i + 1) % MAXW)
            if (M.w[i].task && !loom_task_done(M.w[i].task)) {
                loom_task_cancel(M.w[i].task);
                break;
            }
    } else if (M.ngetters > 0 && M.nputters == 0 && !m_full()) {
        /* Hand an item to the oldest getter and cancel it before it runs. */
        struct mw *g = M.getters[0];
        ck_assert_int_eq(loom_queue_put_nowait(&Q, P(M.next_item)), 0);
        m_insert(M.next_item++);
        ck_assert(g->granted);
        loom_task_cancel(g->task);
    }
    ck_assert_uint_eq(loom_queue_size(&Q), M.len + M.inflight);
}

/* The settle phase: cancel every worker and let them finish; then drain. */
static void m_finish(void)
{
    for (int i = 0; i < MAXW; i++)
        if (M.w[i].task)
            loom_task_cancel(M.w[i].task);
    while (m_reap())
        loom_yield();
    ck_assert_int_eq(M.ngetters + M.nputters, 0);
    void *item;
    while (M.len > 0) {
        struct mslot s = m_take();
        ck_assert_int_eq(loom_queue_get_nowait(&Q, &item), 0);
        ck_assert_int_eq(I(item), s.item);
        m_delivered(s.item);
    }
    ck_assert_int_eq(loom_queue_get_nowait(&Q, &item), -EAGAIN);
    for (int i = 0; i < M.next_item; i++)
        ck_assert_msg(M.inserted[i] == M.delivered[i], "item %d put %d, delivered %d", i,
                      M.inserted[i], M.delivered[i]);
}

static intptr_t property_main(void *arg)
{
    static const size_t sizes[] = {1, 3, 16, 0};
    enum loom_queue_kind kind = (enum loom_queue_kind)(intptr_t)arg;
    unsigned seed = 20261124u + (unsigned)kind;
    int delivered = 0;
    for (int phase = 0; phase < 4; phase++) {
        memset(&M, 0, sizeof M);
        M.kind = kind;
        M.maxsize = sizes[phase];
        if (kind == LOOM_QUEUE_FIFO)
            loom_queue_init(&Q, M.maxsize);
        else if (kind == LOOM_QUEUE_LIFO)
            loom_lifo_queue_init(&Q, M.maxsize);
        else
            loom_priority_queue_init(&Q, M.maxsize, prio_cmp);
        for (int i = 0; i < OPS / 4; i++) {
            m_step(&seed);
            for (int y = rand_r(&seed) % 3; y > 0; y--)
                loom_yield();
        }
        m_finish();
        for (int i = 0; i < M.next_item; i++)
            delivered += M.delivered[i];
        loom_queue_close(&Q);
    }
    ck_assert_int_gt(delivered, OPS / 10);
    fprintf(stderr,
            "queue kind %d: %d delivered, %ld handed to waiting getters, %ld given back, "
            "%ld timeouts, %ld cancellations\n",
            (int)kind, delivered, seen.handed, seen.gave_back, seen.timed_out, seen.cancelled);
    /* The random mix reached every path: hand-offs, give-backs, timeouts, cancels. */
    ck_assert_int_gt(seen.handed, 100);
    ck_assert_int_gt(seen.gave_back, 10);
    ck_assert_int_gt(seen.timed_out, 100);
    ck_assert_int_gt(seen.cancelled, 100);
    return 0;
}

START_TEST(test_queue_property)
{
    ck_assert_int_eq(run_main(property_main, (void *)(intptr_t)_i), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sync");
    TCase *tc = test_tcase(s, "lock", 10);
    tcase_add_test(tc, test_lock_basic);
    tcase_add_test(tc, test_lock_fifo);
    tcase_add_test(tc, test_lock_timeout_cancel);
    tcase_add_test(tc, test_lock_cancel_granted);
    tcase_add_test(tc, test_lock_close);
    tc = test_tcase(s, "semaphore", 30);
    tcase_add_test(tc, test_semaphore_basic);
    tcase_add_test(tc, test_semaphore_fifo_timeout_cancel);
    tcase_add_test(tc, test_semaphore_10000_tasks);
    tc = test_tcase(s, "event", 10);
    tcase_add_test(tc, test_event);
    tc = test_tcase(s, "condition", 10);
    tcase_add_test(tc, test_condition_notify_counts);
    tcase_add_test(tc, test_condition_timeout_cancel);
    tcase_add_test(tc, test_condition_wait_for);
    tc = test_tcase(s, "queue", 10);
    tcase_add_test(tc, test_queue_orders);
    tcase_add_test(tc, test_queue_nowait_limits);
    tcase_add_test(tc, test_queue_put_blocking);
    tcase_add_test(tc, test_queue_get_timeout_cancel);
    tcase_add_test(tc, test_queue_join);
    tcase_add_test(tc, test_queue_shutdown);
    tcase_add_test(tc, test_queue_shutdown_immediate);
    tc = test_tcase(s, "barrier", 10);
    tcase_add_test(tc, test_barrier);
    tcase_add_test(tc, test_barrier_many);
    tc = test_tcase(s, "queue_property", 60);
    tcase_add_loop_test(tc, test_queue_property, LOOM_QUEUE_FIFO, LOOM_QUEUE_PRIORITY + 1);
    return test_main(s);
}
