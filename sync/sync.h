/* sync.h - task-aware synchronisation: Lock, Semaphore, BoundedSemaphore,
 * Event, Condition, Barrier, and FIFO/LIFO/priority queues (asyncio.Lock ...
 * Queue).
 *
 * Every object is caller-allocated: *_init() then *_close(). They belong to
 * the loop of the tasks using them and are not thread-safe (use
 * loom_call_soon_threadsafe to reach them from another thread).
 *
 * Waiters are served first come, first served: a release, a set, a notify or
 * a put hands the thing straight to the oldest waiter, so a late-comer cannot
 * barge in. Waiting costs no allocation (the wait record lives on the waiting
 * task's stack). Calls marked "Suspends" must run inside a task, return -EPERM
 * outside one, take a timeout in ns (-1: none) and can end in -ETIMEDOUT or
 * -ECANCELED. Cancellation loses nothing: a cancelled acquire that had just
 * been granted releases it again, a cancelled get that had just been handed an
 * item puts it back at the front.
 *
 * Lifetime: *_close() (and loom_queue_shutdown) wakes every waiter with
 * -ESHUTDOWN, but a woken waiter still touches the object once more as it
 * resumes (to hand back a grant, or a condition to re-take its lock). Keep
 * the object's memory until the tasks that were waiting on it have run
 * (reactor/park.h's lifetime rule). */
#ifndef LOOM_SYNC_SYNC_H
#define LOOM_SYNC_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loom/reactor/list.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* --- Lock (asyncio.Lock): not reentrant, not owned by a task --- */

struct loom_lock {
    bool _locked;
    struct loom_list _waiters; /* wait records, oldest first */
};

/* An unlocked lock. No allocation. */
void loom_lock_init(struct loom_lock *l);
/* Wake any waiter with -ESHUTDOWN. The lock must not be used afterwards. */
void loom_lock_close(struct loom_lock *l);
/* Take the lock, waiting at most timeout_ns. 0, -ETIMEDOUT, -ECANCELED, -EPERM
 * (outside a task). Suspends. */
int loom_lock_acquire(struct loom_lock *l, int64_t timeout_ns);
/* Take the lock if it is free right now: 0 or -EAGAIN. */
int loom_lock_try_acquire(struct loom_lock *l);
/* Release it, handing it to the oldest waiter if any. 0, or -EPERM if it was
 * not locked. */
int loom_lock_release(struct loom_lock *l);
/* True while the lock is held. */
bool loom_lock_locked(const struct loom_lock *l);

/* --- Semaphore and BoundedSemaphore --- */

struct loom_semaphore {
    size_t _value;
    size_t _bound; /* initial value of a bounded semaphore */
    bool _bounded;
    struct loom_list _waiters;
};

/* A semaphore holding value permits. */
void loom_semaphore_init(struct loom_semaphore *s, size_t value);
/* A semaphore whose release past its initial value fails with -EOVERFLOW. */
void loom_bounded_semaphore_init(struct loom_semaphore *s, size_t value);
/* Wake any waiter with -ESHUTDOWN. */
void loom_semaphore_close(struct loom_semaphore *s);
/* Decrement the count, waiting while it is 0. 0, -ETIMEDOUT, -ECANCELED,
 * -EPERM. Suspends. */
int loom_semaphore_acquire(struct loom_semaphore *s, int64_t timeout_ns);
/* Decrement now if possible: 0 or -EAGAIN (also when others are waiting). */
int loom_semaphore_try_acquire(struct loom_semaphore *s);
/* Increment the count or hand it to the oldest waiter. 0, or -EOVERFLOW for a
 * bounded semaphore already at its initial value (nothing changes). */
int loom_semaphore_release(struct loom_semaphore *s);
/* Permits available now. */
size_t loom_semaphore_value(const struct loom_semaphore *s);
/* True when an acquire would wait. */
bool loom_semaphore_locked(const struct loom_semaphore *s);

/* --- Event --- */

struct loom_event {
    bool _set;
    struct loom_list _waiters;
};

/* An event, not set. */
void loom_event_init(struct loom_event *e);
/* Wake any waiter with -ESHUTDOWN. */
void loom_event_close(struct loom_event *e);
/* Set the flag and wake every waiter. */
void loom_event_set(struct loom_event *e);
/* Clear the flag; whether it is set. */
void loom_event_clear(struct loom_event *e);
bool loom_event_is_set(const struct loom_event *e);
/* Wait until the flag is set (returns at once if it is). 0, -ETIMEDOUT,
 * -ECANCELED, -EPERM. Suspends. */
int loom_event_wait(struct loom_event *e, int64_t timeout_ns);

/* --- Condition (over a Lock) --- */

struct loom_condition {
    struct loom_lock *_lock; /* the caller's, or &_own */
    struct loom_lock _own;
    struct loom_list _waiters;
};

/* True when the condition a task waits for holds. */
typedef bool (*loom_condition_pred)(void *arg);

/* Use lock (NULL: a lock of its own). */
void loom_condition_init(struct loom_condition *c, struct loom_lock *lock);
/* Wake any waiter with -ESHUTDOWN. */
void loom_condition_close(struct loom_condition *c);
/* The underlying lock's acquire (suspends) and release. */
int loom_condition_acquire(struct loom_condition *c, int64_t timeout_ns);
int loom_condition_release(struct loom_condition *c);
/* The underlying lock. */
struct loom_lock *loom_condition_lock(struct loom_condition *c);
/* With the lock held: release it, wait for a notify, take the lock back.
 * The lock is held again whatever the result: 0 (notified), -ETIMEDOUT,
 * -ECANCELED (a notify that reached a cancelled waiter passes to the next
 * one), -EPERM (lock not held or outside a task). Suspends. */
int loom_condition_wait(struct loom_condition *c, int64_t timeout_ns);
/* Wait until pred(arg) is true (checked first, then after each wake-up), the
 * whole wait bounded by timeout_ns. 0, -ETIMEDOUT (pred still false),
 * -ECANCELED, -EPERM; the lock is held on return. Suspends. */
int loom_condition_wait_for(struct loom_condition *c, loom_condition_pred pred, void *arg,
                            int64_t timeout_ns);
/* Wake up to n waiters (lock held). Returns how many were woken, or -EPERM
 * when the lock is not held. */
int loom_condition_notify(struct loom_condition *c, size_t n);
int loom_condition_notify_all(struct loom_condition *c);

/* --- Queues --- */

/* The order items leave a queue in (asyncio Queue, LifoQueue, PriorityQueue). */
enum loom_queue_kind { LOOM_QUEUE_FIFO, LOOM_QUEUE_LIFO, LOOM_QUEUE_PRIORITY };

/* Priority order of two items: < 0 when a comes out before b. Equal items come
 * out in insertion order. */
typedef int (*loom_queue_cmp)(const void *a, const void *b);

struct loom__qslot {
    void *item;
    uint64_t seq; /* insertion number: ties in a priority queue stay FIFO */
};

struct loom_queue {
    enum loom_queue_kind _kind;
    size_t _maxsize; /* 0: unbounded */
    loom_queue_cmp _cmp;
    struct loom__qslot *_slots; /* ring (FIFO/LIFO) or binary heap (priority) */
    size_t _cap, _head, _len;
    size_t _inflight;   /* items handed to woken getters not yet running */
    size_t _unfinished; /* puts not yet matched by task_done */
    uint64_t _seq;
    bool _shutdown;
    bool _immediate; /* shut down with loom_queue_shutdown_immediate */
    struct loom_list _getters, _putters, _joiners;
};

/* A FIFO queue holding at most maxsize items (0: no limit). Items are the
 * caller's pointers; the queue never frees them. Storage grows on demand up to
 * maxsize. */
void loom_queue_init(struct loom_queue *q, size_t maxsize);
/* Last in, first out. */
void loom_lifo_queue_init(struct loom_queue *q, size_t maxsize);
/* Smallest item first by cmp. */
void loom_priority_queue_init(struct loom_queue *q, size_t maxsize, loom_queue_cmp cmp);
/* Wake every waiter with -ESHUTDOWN and free the storage; items still queued
 * are dropped (take them out with get_nowait first if they own memory). */
void loom_queue_close(struct loom_queue *q);

/* Add item, waiting while the queue is full. 0, -ETIMEDOUT, -ECANCELED,
 * -ESHUTDOWN, -ENOMEM, -EPERM; on any error the item was not added. (If the
 * task is cancelled after its item went in, put returns 0 and the
 * cancellation comes at the next suspension.) Suspends. */
int loom_queue_put(struct loom_queue *q, void *item, int64_t timeout_ns);
/* Add item now: 0, -EAGAIN (full, or puts are waiting), -ESHUTDOWN, -ENOMEM. */
int loom_queue_put_nowait(struct loom_queue *q, void *item);
/* Take the next item into *item, waiting while the queue is empty. 0,
 * -ETIMEDOUT, -ECANCELED, -ESHUTDOWN (shut down and empty), -EPERM. Suspends. */
int loom_queue_get(struct loom_queue *q, void **item, int64_t timeout_ns);
/* Take the next item now: 0, -EAGAIN (empty), -ESHUTDOWN (shut down, empty). */
int loom_queue_get_nowait(struct loom_queue *q, void **item);
/* One item taken out earlier has been processed. 0, or -EINVAL when called
 * more often than items were put. */
int loom_queue_task_done(struct loom_queue *q);
/* Wait until every item put has been marked done (also after a shutdown, as
 * asyncio 3.13: workers finishing with task_done release the joiners). 0,
 * -ETIMEDOUT, -ECANCELED, -ESHUTDOWN (loom_queue_close), -EPERM. Suspends. */
int loom_queue_join(struct loom_queue *q, int64_t timeout_ns);
/* Queue.shutdown(immediate=False): refuse further puts (-ESHUTDOWN); gets
 * drain what is left, then fail with -ESHUTDOWN. Waiting puts and gets (the
 * queue is empty when gets wait) wake with -ESHUTDOWN; joiners keep waiting
 * for task_done. Never suspends. */
void loom_queue_shutdown(struct loom_queue *q);
/* Queue.shutdown(immediate=True): as loom_queue_shutdown, and the items still
 * queued are dropped (not freed: they are the caller's), each counting as done
 * for join, so joiners are released once the items already taken out are
 * marked done. An item already handed to a woken getter is still delivered;
 * if that getter is cancelled first the item is dropped too. Never suspends. */
void loom_queue_shutdown_immediate(struct loom_queue *q);

/* Items in the queue (including ones handed to getters not yet resumed). */
size_t loom_queue_size(const struct loom_queue *q);
/* The bound given at init (0: none); whether the queue is empty; full. */
size_t loom_queue_maxsize(const struct loom_queue *q);
bool loom_queue_empty(const struct loom_queue *q);
bool loom_queue_full(const struct loom_queue *q);

/* --- Barrier (asyncio.Barrier, 3.11) ---
 *
 * parties tasks meet: each wait suspends until the last one arrives, then all
 * go on and the barrier is ready for the next round. A task that times out or
 * is cancelled while waiting leaves the round (the others keep waiting), as
 * with asyncio.wait_for around Barrier.wait. Broken-barrier errors are -EPIPE
 * (asyncio's BrokenBarrierError). */

struct loom_barrier {
    size_t _parties;
    size_t _count;             /* tasks waiting in this round */
    bool _broken;              /* abort()ed: every wait fails until reset */
    struct loom_list _waiters; /* wait records of this round */
};

/* A barrier for parties tasks (>= 1). 0 or -EINVAL. */
int loom_barrier_init(struct loom_barrier *b, size_t parties);
/* Break it (waiters get -EPIPE). The barrier must not be used afterwards. */
void loom_barrier_close(struct loom_barrier *b);
/* Wait until parties tasks wait. Returns this task's arrival index in the round
 * (0 .. parties-1; the last to arrive gets parties-1 and does not suspend),
 * -EPIPE (broken, or reset while waiting), -ETIMEDOUT, -ECANCELED (the round
 * may have passed: cancellation wins, nothing is handed back), -EPERM (would
 * wait outside a task). Suspends. */
int loom_barrier_wait(struct loom_barrier *b, int64_t timeout_ns);
/* Back to empty and unbroken; tasks waiting now get -EPIPE. */
void loom_barrier_reset(struct loom_barrier *b);
/* Break the barrier: waiting tasks and every later wait get -EPIPE until reset. */
void loom_barrier_abort(struct loom_barrier *b);
/* Tasks needed to pass the barrier. */
size_t loom_barrier_parties(const struct loom_barrier *b);
/* Tasks waiting in the current round. */
size_t loom_barrier_n_waiting(const struct loom_barrier *b);
/* True while the barrier is broken (after abort, until reset). */
bool loom_barrier_broken(const struct loom_barrier *b);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
