/* event.c - Event and Condition. */
#include <errno.h>
#include <stdint.h>

#include "reactor/park.h"
#include "sync/sync.h"

void loom_event_init(struct loom_event *e)
{
    e->_set = false;
    loom_list_init(&e->_waiters);
}

void loom_event_close(struct loom_event *e) { loom_waiter_fail_all(&e->_waiters, -ESHUTDOWN); }

void loom_event_set(struct loom_event *e)
{
    e->_set = true;
    loom_waiter_fail_all(&e->_waiters, 1);
}

void loom_event_clear(struct loom_event *e) { e->_set = false; }

bool loom_event_is_set(const struct loom_event *e) { return e->_set; }

int loom_event_wait(struct loom_event *e, int64_t timeout_ns)
{
    if (e->_set)
        return 0;
    struct loom_waiter w;
    int rc = loom_waiter_park_for(&e->_waiters, &w, timeout_ns);
    /* A set that raced a timeout counts; a cancellation wins (nothing to give back). */
    if (w.code == 1 && rc != -ECANCELED)
        return 0;
    return loom_waiter_result(rc, &w);
}

/* --- Condition --- */

void loom_condition_init(struct loom_condition *c, struct loom_lock *lock)
{
    loom_lock_init(&c->_own);
    c->_lock = lock ? lock : &c->_own;
    loom_list_init(&c->_waiters);
}

void loom_condition_close(struct loom_condition *c)
{
    loom_waiter_fail_all(&c->_waiters, -ESHUTDOWN);
    loom_lock_close(&c->_own);
}

int loom_condition_acquire(struct loom_condition *c, int64_t timeout_ns)
{
    return loom_lock_acquire(c->_lock, timeout_ns);
}

int loom_condition_release(struct loom_condition *c) { return loom_lock_release(c->_lock); }

struct loom_lock *loom_condition_lock(struct loom_condition *c) { return c->_lock; }

/* Take the lock back after a wait whatever happens: a cancellation during the
 * re-acquire is remembered and returned once the lock is held (asyncio does
 * the same). -ESHUTDOWN from a closed lock gives up. */
static int reacquire(struct loom_lock *l, int rc)
{
    for (;;) {
        int r = loom_lock_acquire(l, -1);
        if (r == 0)
            return rc;
        if (r != -ECANCELED)
            return r;
        rc = -ECANCELED;
    }
}

static int wait_until(struct loom_condition *c, int64_t deadline)
{
    if (!loom_task_current() || !c->_lock->_locked)
        return -EPERM;
    loom_lock_release(c->_lock);
    struct loom_waiter w;
    int rc = loom_waiter_park(&c->_waiters, &w, deadline);
    if (w.code == 1 && rc == -ECANCELED) {
        /* Pass the notification on so it is not lost. */
        loom_waiter_grant(&c->_waiters, 1);
    } else if (w.code == 1) {
        rc = 0;
    } else {
        rc = loom_waiter_result(rc, &w);
    }
    return reacquire(c->_lock, rc);
}

int loom_condition_wait(struct loom_condition *c, int64_t timeout_ns)
{
    struct loom_task *t = loom_task_current();
    if (!t)
        return -EPERM;
    return wait_until(c, loom_deadline(loom_task_loop(t), timeout_ns));
}

int loom_condition_wait_for(struct loom_condition *c, loom_condition_pred pred, void *arg,
                            int64_t timeout_ns)
{
    struct loom_task *t = loom_task_current();
    if (!t || !c->_lock->_locked)
        return -EPERM;
    int64_t deadline = loom_deadline(loom_task_loop(t), timeout_ns);
    while (!pred(arg)) {
        int rc = wait_until(c, deadline);
        if (rc == -ETIMEDOUT)
            return pred(arg) ? 0 : -ETIMEDOUT;
        if (rc < 0)
            return rc;
    }
    return 0;
}

int loom_condition_notify(struct loom_condition *c, size_t n)
{
    if (!c->_lock->_locked)
        return -EPERM;
    int woken = 0;
    while (n-- > 0 && woken < INT32_MAX && loom_waiter_grant(&c->_waiters, 1))
        woken++;
    return woken;
}

int loom_condition_notify_all(struct loom_condition *c)
{
    return loom_condition_notify(c, SIZE_MAX);
}
