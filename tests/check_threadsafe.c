/* check_threadsafe.c - call_soon_threadsafe: other threads hand calls to the
 * loop (eventfd with epoll, a pipe with poll) and none is lost. */
#include "harness/harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SCALE 4
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define SCALE 4
#endif
#endif
#ifndef SCALE
#define SCALE 1
#endif

#define NTHREADS 4
#define PER_THREAD (100000 / SCALE)

struct shared {
    struct loom_loop *loop;
    pthread_barrier_t start;
    long received; /* touched by the loop thread only */
    long per_thread[NTHREADS];
    int last_seq[NTHREADS]; /* calls from one thread arrive in order */
    int out_of_order;
};

struct call {
    struct shared *sh;
    int thread, seq;
};

static struct call calls[NTHREADS][PER_THREAD];

static void on_call(void *arg)
{
    struct call *c = arg;
    struct shared *sh = c->sh;
    ck_assert_ptr_eq(loom_loop_current(), sh->loop);
    if (c->seq != sh->last_seq[c->thread] + 1)
        sh->out_of_order++;
    sh->last_seq[c->thread] = c->seq;
    sh->per_thread[c->thread]++;
    if (++sh->received == (long)NTHREADS * PER_THREAD)
        loom_loop_unref(sh->loop);
}

struct producer {
    struct shared *sh;
    int id;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    pthread_barrier_wait(&p->sh->start);
    for (int i = 0; i < PER_THREAD; i++) {
        struct call *c = &calls[p->id][i];
        c->sh = p->sh;
        c->thread = p->id;
        c->seq = i;
        while (loom_call_soon_threadsafe(p->sh->loop, on_call, c) < 0)
            usleep(100);
    }
    return NULL;
}

START_TEST(test_four_threads_none_lost)
{
    test_fd_mark();
    static struct shared sh;
    sh.loop = test_loop_new();
    for (int i = 0; i < NTHREADS; i++)
        sh.last_seq[i] = -1;
    pthread_barrier_init(&sh.start, NULL, NTHREADS);
    loom_loop_ref(sh.loop); /* alive until every call arrived */
    pthread_t th[NTHREADS];
    struct producer p[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        p[i] = (struct producer){&sh, i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, produce, &p[i]), 0);
    }
    double t0 = test_now();
    ck_assert_int_eq(loom_loop_run(sh.loop, LOOM_RUN_DEFAULT), 0);
    double dt = test_now() - t0;
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(sh.received, (long)NTHREADS * PER_THREAD);
    for (int i = 0; i < NTHREADS; i++)
        ck_assert_int_eq(sh.per_thread[i], PER_THREAD);
    ck_assert_int_eq(sh.out_of_order, 0);
    ck_assert_msg(dt < 30, "took %.1f s", dt);
    /* Nothing arrives late. */
    ck_assert_int_eq(loom_loop_run(sh.loop, LOOM_RUN_NOWAIT), 0);
    ck_assert_int_eq(sh.received, (long)NTHREADS * PER_THREAD);
    pthread_barrier_destroy(&sh.start);
    test_loop_free(sh.loop);
    test_fd_check();
}
END_TEST

/* A loop blocked in poll with no timer is woken by another thread. */
struct waker {
    struct loom_loop *loop;
    atomic_int ran;
};

static void wake_cb(void *arg)
{
    struct waker *w = arg;
    atomic_store(&w->ran, 1);
    loom_loop_unref(w->loop);
}

static void *wake_later(void *arg)
{
    struct waker *w = arg;
    usleep(20000);
    loom_call_soon_threadsafe(w->loop, wake_cb, w);
    return NULL;
}

START_TEST(test_wakes_blocked_loop)
{
    struct waker w = {test_loop_new(), 0};
    loom_loop_ref(w.loop);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, wake_later, &w), 0);
    double t0 = test_now();
    while (!atomic_load(&w.ran) && test_now() - t0 < 10)
        loom_loop_run(w.loop, LOOM_RUN_ONCE);
    pthread_join(th, NULL);
    ck_assert(atomic_load(&w.ran));
    ck_assert(test_now() - t0 < 5);
    test_loop_free(w.loop);
}
END_TEST

/* From the loop's own thread it behaves like call_soon; a loop freed with calls
 * still queued frees them (LSan checks). */
static int plain_count;

static void plain(void *arg) { plain_count += (int)(intptr_t)arg; }

START_TEST(test_same_thread_and_free_queued)
{
    struct loom_loop *loop = test_loop_new();
    plain_count = 0;
    ck_assert_int_eq(loom_call_soon_threadsafe(loop, plain, (void *)1), 0);
    ck_assert_int_eq(loom_call_soon_threadsafe(loop, plain, (void *)2), 0);
    for (int i = 0; i < 10 && plain_count < 3; i++)
        loom_loop_run(loop, LOOM_RUN_NOWAIT);
    ck_assert_int_eq(plain_count, 3);
    ck_assert_int_eq(loom_call_soon_threadsafe(loop, plain, (void *)4), 0);
    test_loop_free(loop); /* never ran: freed with the loop */
    ck_assert_int_eq(plain_count, 3);
}
END_TEST

/* A TCase whose tests must leave the fd count unchanged. */
int main(void)
{
    Suite *s = suite_create("threadsafe");
    TCase *tc = test_tcase_fd(s, "call_soon_threadsafe", 60);
    tcase_add_test(tc, test_four_threads_none_lost);
    tcase_add_test(tc, test_wakes_blocked_loop);
    tcase_add_test(tc, test_same_thread_and_free_queued);
    return test_main(s);
}
