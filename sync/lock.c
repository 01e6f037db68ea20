/* lock.c - Lock and (Bounded)Semaphore.
 *
 * Both hand off directly: a release with waiters grants the oldest one and
 * leaves the lock locked (the count unchanged), so "unlocked" or "count > 0"
 * implies nobody waits and a try-acquire can never barge past a waiter. */
#include <errno.h>

#include "reactor/park.h"
#include "sync/sync.h"

void loom_lock_init(struct loom_lock *l)
{
    l->_locked = false;
    loom_list_init(&l->_waiters);
}

void loom_lock_close(struct loom_lock *l) { loom_waiter_fail_all(&l->_waiters, -ESHUTDOWN); }

int loom_lock_try_acquire(struct loom_lock *l)
{
    if (l->_locked)
        return -EAGAIN;
    l->_locked = true;
    return 0;
}

int loom_lock_acquire(struct loom_lock *l, int64_t timeout_ns)
{
    if (loom_lock_try_acquire(l) == 0)
        return 0;
    struct loom_waiter w;
    int rc = loom_waiter_park_for(&l->_waiters, &w, timeout_ns);
    if (w.code == 1) {
        if (rc != -ECANCELED)
            return 0; /* a grant that raced the timeout still counts */
        loom_lock_release(l);
    }
    return loom_waiter_result(rc, &w);
}

int loom_lock_release(struct loom_lock *l)
{
    if (!l->_locked)
        return -EPERM;
    if (!loom_waiter_grant(&l->_waiters, 1))
        l->_locked = false;
    return 0;
}

bool loom_lock_locked(const struct loom_lock *l) { return l->_locked; }

/* --- semaphores --- */

void loom_semaphore_init(struct loom_semaphore *s, size_t value)
{
    s->_value = s->_bound = value;
    s->_bounded = false;
    loom_list_init(&s->_waiters);
}

void loom_bounded_semaphore_init(struct loom_semaphore *s, size_t value)
{
    loom_semaphore_init(s, value);
    s->_bounded = true;
}

void loom_semaphore_close(struct loom_semaphore *s)
{
    loom_waiter_fail_all(&s->_waiters, -ESHUTDOWN);
}

int loom_semaphore_try_acquire(struct loom_semaphore *s)
{
    if (s->_value == 0)
        return -EAGAIN;
    s->_value--;
    return 0;
}

int loom_semaphore_acquire(struct loom_semaphore *s, int64_t timeout_ns)
{
    if (loom_semaphore_try_acquire(s) == 0)
        return 0;
    struct loom_waiter w;
    int rc = loom_waiter_park_for(&s->_waiters, &w, timeout_ns);
    if (w.code == 1) {
        if (rc != -ECANCELED)
            return 0;
        loom_semaphore_release(s);
    }
    return loom_waiter_result(rc, &w);
}

int loom_semaphore_release(struct loom_semaphore *s)
{
    if (s->_bounded && s->_value >= s->_bound)
        return -EOVERFLOW;
    if (!loom_waiter_grant(&s->_waiters, 1))
        s->_value++;
    return 0;
}

size_t loom_semaphore_value(const struct loom_semaphore *s) { return s->_value; }

bool loom_semaphore_locked(const struct loom_semaphore *s) { return s->_value == 0; }
