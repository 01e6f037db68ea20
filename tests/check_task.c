/* check_task.c - tasks, cancellation, the combinators, futures, context
 * variables, debug mode and task stacks. */
#include "harness/harness.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "reactor/task.h"
#include "reactor/task_internal.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

/* --- helpers --- */

static int order[256];
static int norder;

static void note(int v)
{
    if (norder < 256)
        order[norder++] = v;
}

static void expect_order(const int *want, int n)
{
    ck_assert_int_eq(norder, n);
    for (int i = 0; i < n; i++)
        ck_assert_msg(order[i] == want[i], "position %d: got %d, want %d", i, order[i], want[i]);
}

static intptr_t sleeper(void *arg)
{
    intptr_t ms = (intptr_t)arg;
    int rc = loom_sleep(LOOM_MS(ms));
    if (rc < 0)
        return rc;
    note((int)ms);
    return ms;
}

static intptr_t failer(void *arg)
{
    int rc = loom_sleep(LOOM_MS((intptr_t)arg));
    return rc < 0 ? rc : -EIO;
}

static intptr_t returner(void *arg) { return (intptr_t)arg; }

/* --- spawn, join, names --- */

static intptr_t spawn_join_main(void *arg)
{
    struct loom_task *a = loom_spawn(returner, (void *)41, NULL);
    struct loom_task *b = loom_spawn(returner, (void *)-EIO, "named");
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(loom_task_name(b), "named");
    ck_assert_str_eq(loom_task_name(loom_task_current()), "Task-1");
    ck_assert_str_eq(loom_task_name(a), "Task-2");
    ck_assert(!loom_task_done(a));
    ck_assert_int_eq(loom_task_result(a), -EAGAIN);
    loom_task_set_name(a, "renamed");
    ck_assert_str_eq(loom_task_name(a), "renamed");
    ck_assert_int_eq(loom_task_join(a), 41);
    ck_assert_int_eq(loom_task_join(b), -EIO);
    /* Joining a task that already finished returns at once. */
    struct loom_task *c = loom_spawn(returner, (void *)7, NULL);
    loom_sleep(LOOM_MS(1));
    ck_assert(loom_task_done(c));
    ck_assert_int_eq(loom_task_join(c), 7);
    return 1;
}

START_TEST(test_spawn_join)
{
    ck_assert_int_eq(test_run_task(spawn_join_main, NULL), 1);
    /* Outside a task. */
    ck_assert_int_eq(loom_sleep(1), -EPERM);
    ck_assert_int_eq(loom_yield(), -EPERM);
    ck_assert_ptr_null(loom_spawn(returner, NULL, NULL));
}
END_TEST

static intptr_t run_main_fn(void *arg) { return 5 + (intptr_t)arg; }

START_TEST(test_loom_run)
{
    ck_assert_int_eq(loom_run(run_main_fn, (void *)1), 6);
    ck_assert_ptr_null(loom_loop_current());
}
END_TEST

/* loom_run cancels what is left once: a task's cleanup may still suspend. */
static int cleanup_done, cancels_seen;

static intptr_t graceful(void *arg)
{
    if (loom_sleep(LOOM_SEC(100)) != -ECANCELED)
        return -EPROTO;
    if (loom_sleep(LOOM_MS(20)) == 0 && loom_yield() == 0) /* cleanup that waits */
        cleanup_done = 1;
    return -ECANCELED;
}

static intptr_t stubborn(void *arg)
{
    while (cancels_seen < 3) /* ignores two cancellations */
        if (loom_sleep(LOOM_MS(10)) == -ECANCELED)
            cancels_seen++;
    return 0;
}

static intptr_t leave_tasks_main(void *arg)
{
    loom_task_release(loom_spawn(graceful, NULL, NULL));
    loom_task_release(loom_spawn(stubborn, NULL, NULL));
    loom_yield();
    return 3;
}

START_TEST(test_loom_run_cancels_leftovers_once)
{
    double t0 = test_now();
    ck_assert_int_eq(loom_run(leave_tasks_main, NULL), 3);
    double dt = test_now() - t0;
    ck_assert_int_eq(cleanup_done, 1);
    ck_assert_int_eq(cancels_seen, 3);
    ck_assert_msg(dt > 0.3 && dt < 5, "loom_run took %.3f s", dt); /* the grace period */
}
END_TEST

/* --- sleep and yield --- */

static intptr_t sleep_order_main(void *arg)
{
    struct loom_task *t[3];
    t[0] = loom_spawn(sleeper, (void *)60, NULL);
    t[1] = loom_spawn(sleeper, (void *)20, NULL);
    t[2] = loom_spawn(sleeper, (void *)40, NULL);
    double t0 = test_now();
    intptr_t r[3];
    ck_assert_int_eq(loom_gather(t, 3, r, 0), 0);
    double dt = test_now() - t0;
    ck_assert_msg(dt >= 0.059 && dt < 1.0, "3 concurrent sleeps took %.3f s", dt);
    ck_assert_int_eq(r[0], 60);
    ck_assert_int_eq(r[2], 40);
    expect_order((int[]){20, 40, 60}, 3);
    return 0;
}

START_TEST(test_sleep_order)
{
    norder = 0;
    ck_assert_int_eq(test_run_task(sleep_order_main, NULL), 0);
}
END_TEST

static intptr_t note_task(void *arg)
{
    note((int)(intptr_t)arg);
    return 0;
}

static intptr_t pingpong_task(void *arg)
{
    int base = (int)(intptr_t)arg;
    for (int i = 0; i < 3; i++) {
        note(base + i * 10);
        ck_assert_int_eq(loom_yield(), 0);
    }
    return 0;
}

/* Listing 14.3: sleep(0) lets every ready task run before the caller goes on. */
static intptr_t yield_main(void *arg)
{
    struct loom_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = loom_spawn(note_task, (void *)(intptr_t)(i + 1), NULL);
    note(100); /* no yield yet: the tasks have not started */
    ck_assert_int_eq(loom_sleep(0), 0);
    note(101);
    ck_assert_int_eq(loom_gather(t, 3, NULL, 0), 0);
    t[0] = loom_spawn(pingpong_task, (void *)1, NULL);
    t[1] = loom_spawn(pingpong_task, (void *)2, NULL);
    ck_assert_int_eq(loom_gather(t, 2, NULL, 0), 0);
    return 0;
}

START_TEST(test_yield_order)
{
    norder = 0;
    ck_assert_int_eq(test_run_task(yield_main, NULL), 0);
    expect_order((int[]){100, 1, 2, 3, 101, 1, 2, 11, 12, 21, 22}, 11);
}
END_TEST

/* --- cancellation --- */

static intptr_t cancel_sleep_main(void *arg)
{
    struct loom_task *t = loom_spawn(sleeper, (void *)10000, NULL);
    loom_task_ref(t);
    ck_assert_int_eq(loom_yield(), 0); /* t starts and parks */
    ck_assert(loom_task_cancel(t));
    ck_assert_int_eq(loom_task_join(t), -ECANCELED);
    ck_assert(loom_task_cancelled(t));
    ck_assert(!loom_task_cancel(t)); /* finished: no-op */
    loom_task_release(t);
    return 0;
}

static intptr_t cancel_before_run_main(void *arg)
{
    norder = 0;
    struct loom_task *t = loom_spawn(note_task, (void *)1, NULL);
    ck_assert(loom_task_cancel(t));
    ck_assert_int_eq(loom_task_join(t), -ECANCELED);
    ck_assert_int_eq(norder, 0); /* fn never ran */
    return 0;
}

static intptr_t catch_cancel_once(void *arg)
{
    int rc = loom_sleep(LOOM_SEC(10));
    if (rc != -ECANCELED)
        return -EPROTO;
    /* Delivered once: the task cleans up and goes on sleeping. */
    if (loom_sleep(LOOM_MS(5)) != 0 || loom_yield() != 0)
        return -EPROTO;
    return 5;
}

static intptr_t sleep_forever(void *arg) { return loom_sleep(INT64_MAX); }

static intptr_t huge_sleep_main(void *arg)
{
    struct loom_task *t = loom_spawn(sleep_forever, NULL, NULL);
    ck_assert_int_eq(loom_sleep(LOOM_MS(5)), 0);
    ck_assert(!loom_task_done(t)); /* not a deadline wrapped into the past */
    loom_task_cancel(t);
    ck_assert_int_eq(loom_task_join(t), -ECANCELED);
    return 0;
}

static intptr_t cancel_once_main(void *arg)
{
    struct loom_task *t = loom_spawn(catch_cancel_once, NULL, NULL);
    loom_yield();
    ck_assert(loom_task_cancel(t));
    ck_assert(loom_task_cancel(t)); /* twice before it resumes: still once */
    ck_assert_int_eq(loom_task_join(t), 5);
    return 0;
}

static intptr_t self_cancel(void *arg)
{
    loom_task_cancel(loom_task_current());
    if (loom_yield() != -ECANCELED)
        return -EPROTO;
    return loom_yield();
}

START_TEST(test_cancel_basic)
{
    ck_assert_int_eq(test_run_task(cancel_sleep_main, NULL), 0);
    ck_assert_int_eq(test_run_task(cancel_before_run_main, NULL), 0);
    ck_assert_int_eq(test_run_task(cancel_once_main, NULL), 0);
    ck_assert_int_eq(test_run_task(self_cancel, NULL), 0);
    ck_assert_int_eq(test_run_task(huge_sleep_main, NULL), 0);
}
END_TEST

/* A waiter parked in a combinator is cancelled; what it waited for follows asyncio. */
enum parked_in { IN_JOIN, IN_WAIT_FOR, IN_GATHER, IN_WAIT };

struct parked {
    enum parked_in where;
    struct loom_task *inner[2];
    intptr_t rc;
};

static intptr_t parked_waiter(void *arg)
{
    struct parked *p = arg;
    switch (p->where) {
    case IN_JOIN:
        return p->rc = loom_task_join(p->inner[0]);
    case IN_WAIT_FOR:
        return p->rc = loom_wait_for(p->inner[0], LOOM_SEC(10));
    case IN_GATHER:
        return p->rc = loom_gather(p->inner, 2, NULL, 0);
    case IN_WAIT:
        return p->rc = loom_wait(p->inner, 2, LOOM_ALL_COMPLETED, -1);
    }
    return -EINVAL;
}

static intptr_t cancel_parked_main(void *arg)
{
    struct parked *p = arg;
    struct loom_task *inner[2];
    for (int i = 0; i < 2; i++) {
        inner[i] = p->inner[i] = loom_spawn(sleeper, (void *)10000, NULL);
        loom_task_ref(inner[i]);
    }
    struct loom_task *w = loom_spawn(parked_waiter, p, "waiter");
    ck_assert_int_eq(loom_sleep(LOOM_MS(5)), 0);
    ck_assert(!loom_task_done(w));
    ck_assert(loom_task_cancel(w));
    ck_assert_int_eq(loom_task_join(w), -ECANCELED);
    /* join, wait_for and gather cancel what they await; wait cancels nothing. */
    bool cancels = p->where != IN_WAIT;
    int ninner = p->where == IN_JOIN || p->where == IN_WAIT_FOR ? 1 : 2;
    for (int i = 0; i < ninner; i++) {
        ck_assert_int_eq(loom_task_done(inner[i]), cancels);
        if (!cancels) {
            loom_task_cancel(inner[i]);
            loom_task_ref(inner[i]);
            ck_assert_int_eq(loom_task_join(inner[i]), -ECANCELED);
        } else {
            ck_assert(loom_task_cancelled(inner[i]));
        }
    }
    if (ninner == 1) {
        loom_task_cancel(inner[1]);
        ck_assert_int_eq(loom_task_join(inner[1]), -ECANCELED);
        loom_task_release(inner[1]); /* the extra ref (handles outlive the loop now) */
    } else {
        loom_task_release(inner[1]);
    }
    loom_task_release(inner[0]);
    if (p->where == IN_WAIT) /* wait releases nothing */
        for (int i = 0; i < 2; i++)
            loom_task_release(inner[i]);
    return 0;
}

START_TEST(test_cancel_parked_in_combinators)
{
    for (int where = IN_JOIN; where <= IN_WAIT; where++) {
        struct parked p = {.where = where};
        ck_assert_int_eq(test_run_task(cancel_parked_main, &p), 0);
        ck_assert_int_eq(p.rc, -ECANCELED);
    }
}
END_TEST

/* --- shield --- */

static intptr_t shield_user(void *arg)
{
    struct loom_task *outer = loom_shield(arg);
    ck_assert_ptr_nonnull(outer);
    return loom_task_join(outer);
}

static intptr_t shield_main(void *arg)
{
    struct loom_task *inner = loom_spawn(sleeper, (void *)300, "precious");
    struct loom_task *user = loom_spawn(shield_user, inner, NULL);
    ck_assert_int_eq(loom_sleep(LOOM_MS(5)), 0);
    loom_task_cancel(user);
    ck_assert_int_eq(loom_task_join(user), -ECANCELED);
    ck_assert(!loom_task_done(inner)); /* the shield kept it running */
    ck_assert_int_eq(loom_task_join(inner), 300);
    return 0;
}

START_TEST(test_shield)
{
    norder = 0;
    ck_assert_int_eq(test_run_task(shield_main, NULL), 0);
}
END_TEST

/* --- wait_for --- */

static int ran;
static intptr_t marks(void *arg)
{
    ran = 1;
    return 4;
}

/* A zero timeout cancels at once: a task not started never runs (asyncio). */
static intptr_t wait_for_zero_main(void *arg)
{
    ran = 0;
    struct loom_task *t = loom_spawn(marks, NULL, NULL);
    ck_assert_int_eq(loom_wait_for(t, 0), -ETIMEDOUT);
    ck_assert_int_eq(ran, 0);
    t = loom_spawn(marks, NULL, NULL);
    loom_yield(); /* done now */
    ck_assert_int_eq(loom_wait_for(t, 0), 4);
    return 0;
}

START_TEST(test_wait_for_zero) { ck_assert_int_eq(test_run_task(wait_for_zero_main, NULL), 0); }
END_TEST

static struct loom_future race_fut;

static void race_set(void *arg) { loom_future_set_result(&race_fut, 7); }

struct race {
    struct loom_task *waiter;
    int64_t delta; /* completion due at the waiter's deadline + delta */
};

/* Runs once the waiter parked in wait_for: its deadline timer is known then. */
static intptr_t race_awaiter(void *arg)
{
    struct race *r = arg;
    int64_t deadline = r->waiter->timer._node.key;
    loom_call_at(loom_loop_current(), deadline + r->delta, race_set, NULL, NULL);
    return loom_future_await(&race_fut, -1);
}

static intptr_t wait_for_main(void *arg)
{
    /* Plain cases. */
    ck_assert_int_eq(loom_wait_for(loom_spawn(sleeper, (void *)5, NULL), LOOM_SEC(5)), 5);
    struct loom_task *slow = loom_spawn(sleeper, (void *)10000, NULL);
    loom_task_ref(slow);
    double t0 = test_now();
    ck_assert_int_eq(loom_wait_for(slow, LOOM_MS(20)), -ETIMEDOUT);
    ck_assert(test_now() - t0 >= 0.019);
    ck_assert(loom_task_cancelled(slow)); /* cancelled and waited for */
    loom_task_release(slow);

    /* Completion and timeout in the same iteration, completion first: it wins. */
    struct race r = {loom_task_current(), -1};
    loom_future_init(&race_fut);
    struct loom_task *t = loom_spawn(race_awaiter, &r, NULL);
    ck_assert_int_eq(loom_wait_for(t, LOOM_MS(20)), 7);

    /* The same, timeout first: the task is cancelled before it sees the result. */
    r.delta = 0;
    loom_future_init(&race_fut);
    t = loom_spawn(race_awaiter, &r, NULL);
    loom_task_ref(t);
    ck_assert_int_eq(loom_wait_for(t, LOOM_MS(20)), -ETIMEDOUT);
    ck_assert(loom_task_cancelled(t));
    ck_assert(loom_future_done(&race_fut));
    loom_task_release(t);
    return 0;
}

START_TEST(test_wait_for)
{
    norder = 0;
    ck_assert_int_eq(test_run_task(wait_for_main, NULL), 0);
}
END_TEST

/* --- gather --- */

static intptr_t gather_main(void *arg)
{
    struct loom_task *t[3];
    intptr_t r[3];
    t[0] = loom_spawn(sleeper, (void *)300, NULL);
    t[1] = loom_spawn(failer, (void *)5, NULL);
    t[2] = loom_spawn(returner, (void *)3, NULL);
    struct loom_task *slow = loom_task_ref(t[0]);
    double t0 = test_now();
    ck_assert_int_eq(loom_gather(t, 3, r, 0), -EIO); /* the first error, at once */
    ck_assert(test_now() - t0 < 0.25);
    ck_assert_int_eq(r[0], -EAGAIN);
    ck_assert_int_eq(r[1], -EIO);
    ck_assert_int_eq(r[2], 3);
    ck_assert_int_eq(loom_task_join(slow), 300); /* kept running */

    t[0] = loom_spawn(sleeper, (void *)20, NULL);
    t[1] = loom_spawn(failer, (void *)5, NULL);
    t[2] = loom_spawn(returner, (void *)-ENOENT, NULL);
    ck_assert_int_eq(loom_gather(t, 3, r, LOOM_GATHER_ALL), 0);
    ck_assert_int_eq(r[0], 20);
    ck_assert_int_eq(r[1], -EIO);
    ck_assert_int_eq(r[2], -ENOENT);

    /* More tasks than the stack-allocated fast path. */
    struct loom_task *many[40];
    intptr_t mr[40];
    for (int i = 0; i < 40; i++)
        many[i] = loom_spawn(returner, (void *)(intptr_t)i, NULL);
    ck_assert_int_eq(loom_gather(many, 40, mr, 0), 0);
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(mr[i], i);
    ck_assert_int_eq(loom_gather(NULL, 0, NULL, 0), 0);
    return 0;
}

START_TEST(test_gather)
{
    norder = 0;
    ck_assert_int_eq(test_run_task(gather_main, NULL), 0);
}
END_TEST

/* --- wait --- */

static void release_all(struct loom_task **t, int n)
{
    for (int i = 0; i < n; i++) {
        loom_task_cancel(t[i]);
        loom_task_join(t[i]);
    }
}

static intptr_t wait_main(void *arg)
{
    struct loom_task *t[3];
    struct loom_task *slow, *fast, *bad;
    t[0] = slow = loom_spawn(sleeper, (void *)300, "slow");
    t[1] = fast = loom_spawn(sleeper, (void *)5, "fast");
    t[2] = bad = loom_spawn(failer, (void *)100, "bad");
    ck_assert_int_eq(loom_wait(t, 3, LOOM_FIRST_COMPLETED, -1), 1);
    ck_assert_ptr_eq(t[0], fast);
    ck_assert_int_eq(loom_wait(t, 3, LOOM_FIRST_EXCEPTION, -1), 2);
    ck_assert_ptr_eq(t[0], fast); /* done ones first, in input order */
    ck_assert_ptr_eq(t[1], bad);
    ck_assert_ptr_eq(t[2], slow);
    ck_assert_int_eq(loom_wait(t, 3, LOOM_ALL_COMPLETED, -1), 3);
    release_all(t, 3);

    /* Timeout: returns what is done, cancels nothing. */
    t[0] = slow = loom_spawn(sleeper, (void *)10000, NULL);
    t[1] = fast = loom_spawn(sleeper, (void *)5, NULL);
    double t0 = test_now();
    ck_assert_int_eq(loom_wait(t, 2, LOOM_ALL_COMPLETED, LOOM_MS(100)), 1);
    double dt = test_now() - t0;
    ck_assert_msg(dt >= 0.099 && dt < 2, "wait timeout took %.3f s", dt);
    ck_assert_ptr_eq(t[0], fast);
    ck_assert(!loom_task_done(slow));
    /* FIRST_EXCEPTION with no failure waits for all (here: until the timeout). */
    ck_assert_int_eq(loom_wait(t, 2, LOOM_FIRST_EXCEPTION, LOOM_MS(5)), 1);
    release_all(t, 2);
    return 0;
}

START_TEST(test_wait)
{
    norder = 0;
    ck_assert_int_eq(test_run_task(wait_main, NULL), 0);
}
END_TEST

/* --- as_completed --- */

static intptr_t as_completed_main(void *arg)
{
    struct loom_task *t[4];
    t[0] = loom_spawn(sleeper, (void *)30, NULL);
    t[1] = loom_spawn(sleeper, (void *)10, NULL);
    t[2] = loom_spawn(sleeper, (void *)10000, NULL);
    t[3] = loom_spawn(sleeper, (void *)20, NULL);
    struct loom_as_completed it;
    ck_assert_int_eq(loom_as_completed_init(&it, t, 4, LOOM_MS(500)), 0);
    struct loom_task *got;
    intptr_t want[] = {10, 20, 30};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(loom_as_completed_next(&it, &got), 1);
        ck_assert_int_eq(loom_task_result(got), want[i]);
    }
    double t0 = test_now();
    ck_assert_int_eq(loom_as_completed_next(&it, &got), -ETIMEDOUT);
    ck_assert(test_now() - t0 > 0.1);
    ck_assert_int_eq(loom_as_completed_next(&it, &got), 0);
    loom_as_completed_close(&it);
    ck_assert(!loom_task_done(t[2])); /* not cancelled */
    release_all(t, 4);
    return 0;
}

START_TEST(test_as_completed)
{
    norder = 0;
    ck_assert_int_eq(test_run_task(as_completed_main, NULL), 0);
}
END_TEST

/* --- TaskGroup --- */

static int group_cancelled;

static intptr_t group_child(void *arg)
{
    int rc = loom_sleep(LOOM_MS((intptr_t)arg));
    if (rc == -ECANCELED)
        group_cancelled++;
    return rc < 0 ? rc : (intptr_t)arg;
}

static intptr_t group_main(void *arg)
{
    struct loom_taskgroup g;
    ck_assert_int_eq(loom_taskgroup_init(&g), 0);
    /* All succeed. */
    for (int i = 1; i <= 3; i++)
        ck_assert_int_eq(loom_taskgroup_spawn(&g, group_child, (void *)(intptr_t)i, NULL), 0);
    ck_assert_int_eq(loom_taskgroup_join(&g), 0);

    /* One fails: siblings and the owner's body are cancelled; join reports it. */
    group_cancelled = 0;
    ck_assert_int_eq(loom_taskgroup_init(&g), 0);
    ck_assert_int_eq(loom_taskgroup_spawn(&g, group_child, (void *)10000, "a"), 0);
    ck_assert_int_eq(loom_taskgroup_spawn(&g, group_child, (void *)10000, "b"), 0);
    ck_assert_int_eq(loom_taskgroup_spawn(&g, failer, (void *)10, "bad"), 0);
    double t0 = test_now();
    ck_assert_int_eq(loom_sleep(LOOM_SEC(10)), -ECANCELED); /* the body */
    ck_assert(test_now() - t0 < 5);
    ck_assert_int_eq(loom_taskgroup_spawn(&g, group_child, (void *)1, NULL), -EIO);
    ck_assert_int_eq(loom_taskgroup_join(&g), -EIO);
    ck_assert_int_eq(group_cancelled, 2);
    /* The owner can go on. */
    ck_assert_int_eq(loom_sleep(LOOM_MS(1)), 0);
    return 0;
}

/* The owner is cancelled from outside while in the body: leaving the group
 * cancels the children (asyncio's __aexit__ with CancelledError). */
static intptr_t group_owner(void *arg)
{
    struct loom_taskgroup g;
    ck_assert_int_eq(loom_taskgroup_init(&g), 0);
    ck_assert_int_eq(loom_taskgroup_spawn(&g, group_child, (void *)10000, "a"), 0);
    ck_assert_int_eq(loom_taskgroup_spawn(&g, group_child, (void *)10000, "b"), 0);
    int body = loom_sleep(LOOM_SEC(10));
    double t0 = test_now();
    int rc = loom_taskgroup_join(&g);
    ck_assert(test_now() - t0 < 5);
    return body == -ECANCELED ? rc : -EPROTO;
}

static intptr_t group_owner_cancelled_main(void *arg)
{
    group_cancelled = 0;
    struct loom_task *owner = loom_spawn(group_owner, NULL, "owner");
    ck_assert_int_eq(loom_sleep(LOOM_MS(5)), 0);
    loom_task_cancel(owner);
    ck_assert_int_eq(loom_task_join(owner), -ECANCELED);
    ck_assert_int_eq(group_cancelled, 2);
    return 0;
}

START_TEST(test_taskgroup)
{
    ck_assert_int_eq(test_run_task(group_main, NULL), 0);
    ck_assert_int_eq(test_run_task(group_owner_cancelled_main, NULL), 0);
    struct loom_taskgroup g;
    ck_assert_int_eq(loom_taskgroup_init(&g), -EPERM);
}
END_TEST

/* --- context variables --- */

static struct loom_ctxvar request_id = {"request_id", (void *)-1};

static intptr_t ctx_child(void *arg)
{
    intptr_t seen = (intptr_t)loom_ctxvar_get(&request_id);
    ck_assert_int_eq(loom_ctxvar_set(&request_id, (void *)(seen + 100)), 0);
    loom_yield();
    ck_assert_int_eq((intptr_t)loom_ctxvar_get(&request_id), seen + 100);
    return seen;
}

static intptr_t ctx_main(void *arg)
{
    ck_assert_int_eq((intptr_t)loom_ctxvar_get(&request_id), -1);
    ck_assert_int_eq(loom_ctxvar_set(&request_id, (void *)1), 0);
    struct loom_task *a = loom_spawn(ctx_child, NULL, NULL);
    ck_assert_int_eq(loom_ctxvar_set(&request_id, (void *)2), 0); /* a keeps 1 */
    struct loom_task *b = loom_spawn(ctx_child, NULL, NULL);
    ck_assert_int_eq(loom_task_join(a), 1);
    ck_assert_int_eq(loom_task_join(b), 2);
    ck_assert_int_eq((intptr_t)loom_ctxvar_get(&request_id), 2); /* children's sets stay theirs */
    return 0;
}

START_TEST(test_ctxvar)
{
    ck_assert_int_eq(test_run_task(ctx_main, NULL), 0);
    ck_assert_int_eq(loom_ctxvar_set(&request_id, (void *)3), -EPERM); /* no loop */
    ck_assert_int_eq((intptr_t)loom_ctxvar_get(&request_id), -1);
}
END_TEST

/* --- futures --- */

static void fut_note(struct loom_future *f, void *arg)
{
    note((int)(intptr_t)arg);
    ck_assert(loom_future_done(f));
}

START_TEST(test_future_without_loop)
{
    norder = 0;
    struct loom_future f;
    struct loom_future_callback c1, c2, c3;
    loom_future_init(&f);
    ck_assert(!loom_future_done(&f));
    ck_assert_int_eq(loom_future_result(&f), -EAGAIN);
    loom_future_add_done_callback(&f, &c1, fut_note, (void *)1);
    loom_future_add_done_callback(&f, &c2, fut_note, (void *)2);
    ck_assert(loom_future_remove_done_callback(&c2));
    ck_assert(!loom_future_remove_done_callback(&c2));
    ck_assert_int_eq(loom_future_set_result(&f, 42), 0);
    expect_order((int[]){1}, 1); /* no loop: called at once */
    ck_assert_int_eq(loom_future_set_result(&f, 43), -EINVAL);
    ck_assert_int_eq(loom_future_result(&f), 42);
    loom_future_add_done_callback(&f, &c3, fut_note, (void *)3); /* already done */
    expect_order((int[]){1, 3}, 2);
    loom_future_init(&f);
    ck_assert(loom_future_cancel(&f));
    ck_assert(!loom_future_cancel(&f));
    ck_assert(loom_future_cancelled(&f));
    ck_assert_int_eq(loom_future_result(&f), -ECANCELED);
    ck_assert_int_eq(loom_future_await(&f, -1), -EPERM);
}
END_TEST

/* Without a loop, a done callback runs at once and may free the future. */
static void free_future(struct loom_future *f, void *arg)
{
    ck_assert_int_eq(loom_future_result(f), 8);
    free(f);
    note(2);
}

START_TEST(test_future_freed_by_callback)
{
    norder = 0;
    struct loom_future *f = malloc(sizeof(*f));
    struct loom_future_callback c;
    loom_future_init(f);
    loom_future_add_done_callback(f, &c, free_future, NULL);
    ck_assert_int_eq(loom_future_set_result(f, 8), 0);
    expect_order((int[]){2}, 1);
}
END_TEST

static struct loom_future cb_fut;
static struct loom_future_callback cb_rec;

static void plain_note(void *arg) { note((int)(intptr_t)arg); }

static void set_then_soon(void *arg)
{
    ck_assert_int_eq(loom_future_set_result(&cb_fut, 1), 0);
    note(10);
    loom_call_soon(loom_loop_current(), plain_note, (void *)30);
}

START_TEST(test_future_done_callbacks_scheduled)
{
    struct loom_loop *loop = test_loop_new();
    norder = 0;
    loom_future_init(&cb_fut);
    loom_future_add_done_callback(&cb_fut, &cb_rec, fut_note, (void *)20);
    loom_call_soon(loop, set_then_soon, NULL);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    expect_order((int[]){10, 20, 30}, 3);
    /* Scheduled but removed before it ran: never runs. */
    norder = 0;
    loom_future_init(&cb_fut);
    loom_future_add_done_callback(&cb_fut, &cb_rec, fut_note, (void *)20);
    loom_call_soon(loop, set_then_soon, NULL);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_NOWAIT), 1);
    ck_assert(loom_future_remove_done_callback(&cb_rec));
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    expect_order((int[]){10, 30}, 2);
    test_loop_free(loop);
}
END_TEST

static void capture_log(void *arg, const char *msg);

/* A done callback may free its own record (debug mode times it without
 * touching it afterwards; ASan checks). */
static void free_own_record(struct loom_future *f, void *arg)
{
    free(arg);
    note(1);
    double t0 = test_now();
    while (test_now() - t0 < 0.005) /* slow: the loop logs it */
        ;
}

static void set_cb_fut(void *arg) { loom_future_set_result(&cb_fut, 5); }

START_TEST(test_future_callback_frees_record)
{
    struct loom_loop *loop;
    struct loom_loop_options opt = {.debug = 1, .slow_step_ns = LOOM_MS(1)};
    ck_assert_int_eq(loom_loop_new(&loop, &opt), 0);
    loom_loop_set_log(loop, capture_log, NULL);
    norder = 0;
    loom_future_init(&cb_fut);
    struct loom_future_callback *rec = malloc(sizeof(*rec));
    loom_future_add_done_callback(&cb_fut, rec, free_own_record, rec);
    loom_call_soon(loop, set_cb_fut, NULL);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    expect_order((int[]){1}, 1);
    ck_assert_int_eq(loom_loop_free(loop), 0);
}
END_TEST

static struct loom_future await_fut;

static void set_await_fut(void *arg) { loom_future_set_result(&await_fut, (intptr_t)arg); }

static intptr_t future_await_main(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    loom_future_init(&await_fut);
    loom_call_later(loop, LOOM_MS(5), set_await_fut, (void *)77, NULL);
    ck_assert_int_eq(loom_future_await(&await_fut, LOOM_SEC(5)), 77);
    ck_assert_int_eq(loom_future_await(&await_fut, LOOM_SEC(5)), 77); /* done: at once */
    loom_future_init(&await_fut);
    ck_assert_int_eq(loom_future_await(&await_fut, LOOM_MS(5)), -ETIMEDOUT);
    ck_assert(!loom_future_done(&await_fut));
    /* A task is a future: done callbacks see its result. */
    struct loom_task *t = loom_spawn(returner, (void *)9, NULL);
    struct loom_future_callback c;
    norder = 0;
    loom_future_add_done_callback(loom_task_future(t), &c, fut_note, (void *)9);
    ck_assert_int_eq(loom_task_join(t), 9);
    loom_yield();
    expect_order((int[]){9}, 1);
    return 0;
}

static intptr_t cancelled_awaiter(void *arg) { return loom_future_await(arg, -1); }

static intptr_t future_cancel_main(void *arg)
{
    loom_future_init(&await_fut);
    struct loom_task *t = loom_spawn(cancelled_awaiter, &await_fut, NULL);
    loom_yield();
    loom_task_cancel(t);
    ck_assert_int_eq(loom_task_join(t), -ECANCELED);
    ck_assert(loom_future_cancelled(&await_fut)); /* as in asyncio */
    return 0;
}

START_TEST(test_future_await)
{
    ck_assert_int_eq(test_run_task(future_await_main, NULL), 0);
    ck_assert_int_eq(test_run_task(future_cancel_main, NULL), 0);
}
END_TEST

/* --- many tasks --- */

#if defined(__SANITIZE_THREAD__)
#define NTASKS 5000 /* TSan supports at most 8128 threads and fibers */
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NTASKS 5000
#endif
#endif
#ifndef NTASKS
#define NTASKS 100000
#endif
static int many_done;

static intptr_t many_task(void *arg)
{
    if (loom_sleep(LOOM_MS(20)) < 0 || loom_yield() < 0)
        return -EPROTO;
    many_done++;
    return (intptr_t)arg;
}

/* How many tasks fit: with mprotect guards (kernels before 6.13) every stack
 * is two mappings, so vm.max_map_count caps concurrent tasks near 32k there. */
static long many_count(void)
{
    long n = NTASKS;
    if (loom__stack_guard_kind() == 0) {
        long max_maps = 65530;
        FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
        if (f) {
            if (fscanf(f, "%ld", &max_maps) != 1)
                max_maps = 65530;
            fclose(f);
        }
        if (n > max_maps / 2 - 4000)
            n = max_maps / 2 - 4000;
    }
    return n;
}

static intptr_t many_main(void *arg)
{
    long n = many_count();
    struct loom_task **t = malloc(n * sizeof(*t));
    ck_assert_ptr_nonnull(t);
    for (intptr_t i = 0; i < n; i++) {
        t[i] = loom_spawn(many_task, (void *)i, NULL);
        ck_assert_msg(t[i] != NULL, "spawn %ld of %ld failed", (long)i, n);
    }
    ck_assert_uint_eq(loom_task_all(loom_loop_current(), NULL, 0), n + 1);
    ck_assert_int_eq(loom_sleep(LOOM_MS(5)), 0);
    ck_assert_int_eq(many_done, 0); /* all started and parked at once */
    ck_assert_uint_eq(loom_task_all(loom_loop_current(), NULL, 0), n + 1);
    intptr_t sum = 0;
    for (intptr_t i = 0; i < n; i++)
        sum += loom_task_join(t[i]);
    free(t);
    ck_assert_int_eq(many_done, n);
    ck_assert_int_eq(sum, (intptr_t)n * (n - 1) / 2);
    return 0;
}

START_TEST(test_many_tasks)
{
    struct loom_loop *loop;
    struct loom_loop_options opt = {.stack_size = 32 * 1024};
    ck_assert_int_eq(loom_loop_new(&loop, &opt), 0);
    many_done = 0;
    struct loom_task *t;
    ck_assert_int_eq(loom_task_spawn(loop, many_main, NULL, NULL, &t), 0);
    ck_assert_int_eq(loom_loop_run_until_complete(loop, t), 0);
    test_loop_free(loop);
    if (loom__stack_guard_kind() == 1)
        ck_assert_int_eq(many_count(), NTASKS); /* the full count with guard regions */
}
END_TEST

/* --- run_until_complete --- */

static struct loom_future never;

static intptr_t wait_forever(void *arg) { return loom_future_await(&never, -1); }

START_TEST(test_deadlock)
{
    struct loom_loop *loop = test_loop_new();
    loom_future_init(&never);
    struct loom_task *t;
    ck_assert_int_eq(loom_task_spawn(loop, wait_forever, NULL, NULL, &t), 0);
    ck_assert_int_eq(loom_loop_run_until_complete(loop, t), LOOM_EDEADLOCK);
    ck_assert_int_eq(loom_loop_free(loop), -EBUSY); /* the task is still parked */
    loom_future_set_result(&never, 1);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    test_loop_free(loop);
}
END_TEST

/* --- debug mode --- */

static char logbuf[8192];

static void capture_log(void *arg, const char *msg)
{
    size_t len = strlen(logbuf);
    snprintf(logbuf + len, sizeof(logbuf) - len, "%s\n", msg);
}

static intptr_t busy_task(void *arg)
{
    double t0 = test_now();
    while (test_now() - t0 < 0.02)
        ;
    return 0;
}

START_TEST(test_debug_slow_step)
{
    struct loom_loop *loop;
    struct loom_loop_options opt = {.debug = 1, .slow_step_ns = LOOM_MS(5)};
    ck_assert_int_eq(loom_loop_new(&loop, &opt), 0);
    logbuf[0] = 0;
    loom_loop_set_log(loop, capture_log, NULL);
    struct loom_task *t;
    struct loom_task_options topt = {.name = "slowpoke"};
    ck_assert_int_eq(loom_task_spawn(loop, busy_task, NULL, &topt, &t), 0);
    ck_assert_int_eq(loom_loop_run_until_complete(loop, t), 0);
    ck_assert_contains(logbuf, "Executing <Task name='slowpoke'> took 0.0");
    ck_assert_int_eq(loom_loop_free(loop), 0);
}
END_TEST

/* Debug mode switched at run time (asyncio's set_debug). */
START_TEST(test_set_debug)
{
    struct loom_loop *loop;
    struct loom_loop_options opt = {.slow_step_ns = LOOM_MS(5)};
    unsetenv("LOOM_DEBUG");
    ck_assert_int_eq(loom_loop_new(&loop, &opt), 0);
    loom_loop_set_log(loop, capture_log, NULL);
    ck_assert(!loom_loop_debug(loop));
    struct loom_task_options topt = {.name = "slow"};
    struct loom_task *t;
    for (int round = 0; round < 3; round++) {
        bool on = round == 1;
        loom_loop_set_debug(loop, on);
        ck_assert(loom_loop_debug(loop) == on);
        logbuf[0] = 0;
        ck_assert_int_eq(loom_task_spawn(loop, busy_task, NULL, &topt, &t), 0);
        ck_assert_int_eq(loom_loop_run_until_complete(loop, t), 0);
        if (on)
            ck_assert_contains(logbuf, "Executing <Task name='slow'> took");
        else
            ck_assert_str_eq(logbuf, "");
    }
    ck_assert_int_eq(loom_loop_free(loop), 0);
}
END_TEST

START_TEST(test_debug_report_at_free)
{
    struct loom_loop *loop;
    struct loom_loop_options opt = {.debug = 1};
    ck_assert_int_eq(loom_loop_new(&loop, &opt), 0);
    logbuf[0] = 0;
    loom_loop_set_log(loop, capture_log, NULL);
    loom_future_init(&never);
    struct loom_task *pending, *unjoined;
    struct loom_task_options o1 = {.name = "stuck"}, o2 = {.name = "forgotten"};
    ck_assert_int_eq(loom_task_spawn(loop, wait_forever, NULL, &o1, &pending), 0);
    ck_assert_int_eq(loom_task_spawn(loop, returner, (void *)-EIO, &o2, &unjoined), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_int_eq(loom_loop_free(loop), -EBUSY);
    /* A refused free destroys nothing and says so (it used to claim "destroyed"). */
    ck_assert_contains(logbuf, "loom_loop_free: -EBUSY, the loop was not freed");
    ck_assert_contains(logbuf, "<Task parked name='stuck'>");
    ck_assert(strstr(logbuf, "destroyed") == NULL);
    loom_future_set_result(&never, 0);
    loom_task_release(pending);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    logbuf[0] = 0;
    ck_assert_int_eq(loom_loop_free(loop), 0);
    /* A failure nobody retrieved goes through the exception handler (its default logs it). */
    ck_assert_contains(logbuf, "Task exception was never retrieved: task \"forgotten\": ");
    ck_assert(strstr(logbuf, "stuck") == NULL);
    /* The handle outlives the loop until released. */
    ck_assert_int_eq(loom_task_result(unjoined), -EIO);
    loom_task_release(unjoined);
}
END_TEST

static intptr_t dump_main(void *arg)
{
    loom_future_init(&never);
    struct loom_task *a = loom_spawn(wait_forever, NULL, "alpha");
    loom_yield();
    struct loom_task *b = loom_spawn(returner, NULL, "beta");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    loom_task_dump_all(NULL, f);
    fclose(f);
    ck_assert_contains(text, "<Task running name='main'>");
    ck_assert_contains(text, "<Task parked name='alpha'>");
    ck_assert_contains(text, "<Task ready name='beta'>");
    free(text);
    struct loom_task *all[8];
    ck_assert_uint_eq(loom_task_all(loom_loop_current(), all, 8), 3);
    loom_task_cancel(a);
    ck_assert_int_eq(loom_task_join(a), -ECANCELED);
    ck_assert_int_eq(loom_task_join(b), 0);
    return 0;
}

START_TEST(test_dump_all)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_task *t;
    struct loom_task_options o = {.name = "main"};
    ck_assert_int_eq(loom_task_spawn(loop, dump_main, NULL, &o, &t), 0);
    ck_assert_int_eq(loom_loop_run_until_complete(loop, t), 0);
    test_loop_free(loop);
}
END_TEST

/* --- stacks --- */

static char *guard_lo, *guard_hi;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    char *addr = si->si_addr;
    if (addr < guard_lo || addr >= guard_hi)
        _exit(3); /* a fault, but not on the guard page */
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
}

__attribute__((noinline)) static int recurse(int n)
{
    volatile char buf[512];
    buf[0] = (char)n;
    buf[511] = (char)n;
    if (n == 0)
        return buf[0];
    return recurse(n - 1) + buf[511];
}

static intptr_t overflow_task(void *arg)
{
    struct loom_task *self = loom_task_current();
    guard_lo = self->stack->map;
    guard_hi = (char *)self->stack->lo;
    return recurse(1 << 20);
}

START_TEST(test_stack_overflow_guard)
{
    static char altstack[64 * 1024];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
    ck_assert_int_eq(sigaltstack(&ss, NULL), 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    ck_assert_int_eq(sigaction(SIGSEGV, &sa, NULL), 0);
    struct loom_loop *loop = test_loop_new();
    struct loom_task *t;
    struct loom_task_options o = {.stack_size = 16 * 1024};
    ck_assert_int_eq(loom_task_spawn(loop, overflow_task, NULL, &o, &t), 0);
    loom_loop_run_until_complete(loop, t);
    ck_abort_msg("the overflow went unnoticed");
}
END_TEST

struct stack_seen {
    struct loom__stack *s;
    size_t size;
};

static intptr_t stack_of(void *arg)
{
    struct stack_seen *seen = arg;
    seen->s = loom_task_current()->stack;
    seen->size = seen->s->size;
    return loom_yield();
}

static intptr_t stack_reuse_main(void *arg)
{
    struct stack_seen s1, s2, s3;
    ck_assert_int_eq(loom_task_join(loom_spawn(stack_of, &s1, NULL)), 0);
    ck_assert_int_eq(loom_task_join(loom_spawn(stack_of, &s2, NULL)), 0);
    ck_assert_ptr_eq(s1.s, s2.s); /* pooled */
    struct loom_task *t;
    struct loom_task_options o = {.stack_size = 64 * 1024};
    ck_assert_int_eq(loom_task_spawn(NULL, stack_of, &s3, &o, &t), 0);
    ck_assert_int_eq(loom_task_join(t), 0);
    ck_assert_ptr_ne(s3.s, s1.s); /* another size: its own mapping */
    ck_assert_uint_ge(s3.size, 64 * 1024);
    ck_assert_uint_lt(s3.size, 128 * 1024);
    return 0;
}

START_TEST(test_stack_reuse) { ck_assert_int_eq(test_run_task(stack_reuse_main, NULL), 0); }
END_TEST

static bool kernel_at_least(int major, int minor)
{
    struct utsname u;
    int ma = 0, mi = 0;
    if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
        return false;
    return ma > major || (ma == major && mi >= minor);
}

START_TEST(test_stack_guard_kind)
{
    ck_assert_int_eq(test_run_task(returner, NULL), 0);
    int kind = loom__stack_guard_kind();
    if (kernel_at_least(6, 13))
        ck_assert_msg(kind == 1, "MADV_GUARD_INSTALL not used on this kernel (kind %d)", kind);
    else
        ck_assert_int_eq(kind, 0);
}
END_TEST

/* The build's switch: assembly by default on x86-64 and aarch64, ucontext on request. */
START_TEST(test_switch_kind)
{
#if defined(LOOM_SWITCH_UCONTEXT)
    ck_assert_str_eq(loom__ctx_kind(), "ucontext");
#else
    ck_assert_str_eq(loom__ctx_kind(), "asm");
#endif
    ck_assert_int_eq(test_run_task(spawn_join_main, NULL), 1);
}
END_TEST

START_TEST(test_spawn_enomem)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_task *t = NULL;
    struct loom_task_options huge = {.stack_size = (size_t)1 << 50};
    int rc = loom_task_spawn(loop, returner, NULL, &huge, &t);
    ck_assert_msg(rc == -ENOMEM || rc == -EAGAIN, "spawn: %s", loom_strerror(rc));
#ifndef UNDER_SANITIZER
    /* Address space exhausted: spawns fail with an error, the loop goes on. */
    struct rlimit rl;
    getrlimit(RLIMIT_AS, &rl);
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    ck_assert(f && fscanf(f, "%lu", &pages) == 1);
    fclose(f);
    rl.rlim_cur = pages * (unsigned long)sysconf(_SC_PAGESIZE) + 64 * 1024 * 1024;
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
    struct loom_task *ts[1000];
    int n = 0;
    struct loom_task_options mb = {.stack_size = 1024 * 1024};
    while (n < 1000 && (rc = loom_task_spawn(loop, returner, NULL, &mb, &ts[n])) == 0)
        n++;
    ck_assert_msg(rc == -ENOMEM || rc == -EAGAIN, "spawn: %s", loom_strerror(rc));
    ck_assert_int_gt(n, 0);
    ck_assert_int_lt(n, 1000);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    for (int i = 0; i < n; i++)
        loom_task_release(ts[i]);
#endif
    ck_assert_int_eq(loom_task_spawn(loop, returner, (void *)3, NULL, &t), 0);
    ck_assert_int_eq(loom_loop_run_until_complete(loop, t), 3);
    test_loop_free(loop);
}
END_TEST

/* A TCase whose tests must leave the fd count unchanged. */
int main(void)
{
    Suite *s = suite_create("task");
    TCase *tc = test_tcase_fd(s, "spawn_join", 10);
    tcase_add_test(tc, test_spawn_join);
    tcase_add_test(tc, test_loom_run);
    tcase_add_test(tc, test_loom_run_cancels_leftovers_once);
    tc = test_tcase_fd(s, "sleep_yield", 10);
    tcase_add_test(tc, test_sleep_order);
    tcase_add_test(tc, test_yield_order);
    tc = test_tcase_fd(s, "cancel", 10);
    tcase_add_test(tc, test_cancel_basic);
    tcase_add_test(tc, test_cancel_parked_in_combinators);
    tc = test_tcase_fd(s, "shield", 10);
    tcase_add_test(tc, test_shield);
    tc = test_tcase_fd(s, "wait_for", 10);
    tcase_add_test(tc, test_wait_for);
    tcase_add_test(tc, test_wait_for_zero);
    tc = test_tcase_fd(s, "gather", 10);
    tcase_add_test(tc, test_gather);
    tc = test_tcase_fd(s, "wait", 10);
    tcase_add_test(tc, test_wait);
    tc = test_tcase_fd(s, "as_completed", 10);
    tcase_add_test(tc, test_as_completed);
    tc = test_tcase_fd(s, "taskgroup", 10);
    tcase_add_test(tc, test_taskgroup);
    tc = test_tcase_fd(s, "ctxvar", 10);
    tcase_add_test(tc, test_ctxvar);
    tc = test_tcase_fd(s, "future", 10);
    tcase_add_test(tc, test_future_without_loop);
    tcase_add_test(tc, test_future_done_callbacks_scheduled);
    tcase_add_test(tc, test_future_callback_frees_record);
    tcase_add_test(tc, test_future_freed_by_callback);
    tcase_add_test(tc, test_future_await);
    tc = test_tcase_fd(s, "many", 40);
    tcase_add_test(tc, test_many_tasks);
    tc = test_tcase_fd(s, "run_until_complete", 10);
    tcase_add_test(tc, test_deadlock);
    tc = test_tcase_fd(s, "debug", 10);
    tcase_add_test(tc, test_debug_slow_step);
    tcase_add_test(tc, test_debug_report_at_free);
    tcase_add_test(tc, test_set_debug);
    tcase_add_test(tc, test_dump_all);
    tc = test_tcase_fd(s, "stack", 20);
    tcase_add_test_raise_signal(tc, test_stack_overflow_guard, SIGSEGV);
    tcase_add_test(tc, test_stack_reuse);
    tcase_add_test(tc, test_switch_kind);
    tcase_add_test(tc, test_stack_guard_kind);
    tcase_add_test(tc, test_spawn_enomem);
    return test_main(s);
}
