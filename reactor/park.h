/* park.h - the reactor's interface for module writers: how to build a
 * suspending call (libdill's libdillimpl.h plays this part there).
 *
 * Every suspending call in loom (stream reads, locks, queues, pool acquires,
 * process waits) follows one pattern:
 *
 *     try the operation;                  // no syscall wasted: park only on EAGAIN
 *     if it would block:
 *         put a wait record where a waker finds it (a loom_waiter on a list,
 *         or a task pointer in the object);
 *         rc = loom_park(self, deadline); // 0, -ETIMEDOUT or -ECANCELED
 *         take the record back out;
 *         look at what the waker left in the record, not only at rc.
 *
 * A waker calls loom_wake(). Waking a task that is not parked does nothing, so
 * a wake is a hint: the parked side re-checks its condition. A grant (an item,
 * a lock, a connection) is recorded in the wait record, because a cancel or a
 * timeout can end the park after the grant was made; the woken side then hands
 * the grant back (see loom_waiter_result()).
 *
 * Lifetime rule (who may free what a task is parked on)
 * -----------------------------------------------------
 * A parked task holds a pointer to the object it waits on (a stream, a
 * connection, a queue) in its own stack frame, and touches that object again
 * when it resumes. Therefore:
 *
 *  1. An object with parked waiters is never freed directly. Closing it marks
 *     it closing, wakes every waiter with an error (-EBADF for a closed stream,
 *     -ESHUTDOWN for a shut-down queue, the connection's error for a lost
 *     database connection), and defers the free until the last waiter has
 *     resumed and let go (a reference count, or a "waiters" count that the
 *     free path checks).
 *  2. A woken task must not touch the object after it dropped its reference:
 *     read the result from the wait record (which lives on the task's stack),
 *     drop the reference last.
 *  3. The object's owner is whoever opened it; a waiter never frees it, it
 *     only releases its reference. The free happens exactly once, in whichever
 *     of "close" and "last waiter let go" comes second.
 *  4. Wake, never switch: loom_wake() only queues the task, so a waker may
 *     go on using the object after waking its waiters, and a close may run from
 *     a callback or from another task of the same loop.
 *
 * Everything here is for the thread that runs the loop (not thread-safe),
 * like the rest of loom except the calls documented as thread-safe in loop.h. */
#ifndef LOOM_REACTOR_PARK_H
#define LOOM_REACTOR_PARK_H

#include <stdint.h>

#include "loom/reactor/list.h"
#include "loom/reactor/loop.h"
#include "loom/reactor/task.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* --- the running task and its loop --- */

/* loom_task_current() (task.h): the task running now, NULL in callbacks. */

/* The loop a task runs on. */
struct loom_loop *loom_task_loop(const struct loom_task *t);

/* An absolute deadline on loop's clock: now + timeout_ns, read afresh (so
 * work done earlier in this iteration does not shorten the wait), or -1
 * (no deadline) for a negative timeout. Deadlines are what loom_park takes. */
int64_t loom_deadline(struct loom_loop *loop, int64_t timeout_ns);

/* --- park and wake --- */

/* Suspend self (which must be loom_task_current()) until loom_wake(self, code),
 * the deadline (-1: none), or a cancellation. Returns the wake code (0 unless
 * the waker said otherwise), -ETIMEDOUT, or -ECANCELED: a pending
 * cancellation wins over any wake and is delivered once. A stray wake is
 * possible: callers loop until their condition holds. */
int loom_park(struct loom_task *self, int64_t deadline);

/* loom_park ignoring the task's deadline scopes (deadline and cancellation
 * still end it): for cleanup that must finish after a scope expired, such as
 * reading out a query the server was asked to cancel. Always bound it. */
int loom_park_unscoped(struct loom_task *self, int64_t deadline);

/* Make a parked task ready; it resumes with code from loom_park(). Does
 * nothing if t is not parked. Never switches: the caller goes on. */
void loom_wake(struct loom_task *t, int code);

/* Park self until task t is done or the deadline passes: 0 (done),
 * -ETIMEDOUT or -ECANCELED. t is not cancelled and its handle not released. */
int loom_park_until_done(struct loom_task *self, struct loom_task *t, int64_t deadline);

/* --- wait records: FIFO waiter lists with grants --- */

/* A waiting task links one of these (usually on its stack) into an object's
 * waiter list and parks. A waker unlinks it, records a code (> 0: granted,
 * < 0: failed with that error) and wakes the task. Modules that hand over a
 * value embed the record in their own struct and find it with
 * loom_list_entry(node, struct mine, waiter.node). */
struct loom_waiter {
    struct loom_list node;  /* on the waiter list until granted or given up */
    struct loom_task *task; /* the parked task */
    int code;               /* 0: pending; > 0: granted; < 0: failed by the waker */
};

/* Link w at the back of waiters and park the current task until w is granted
 * or failed, the deadline passes (-1: none), or the task is cancelled. w is
 * unlinked on return. Returns the park result (0, -ETIMEDOUT, -ECANCELED);
 * w->code says what the waker did. -EPERM outside a task (w->code stays 0). */
int loom_waiter_park(struct loom_list *waiters, struct loom_waiter *w, int64_t deadline);

/* Same with a relative timeout (-1: none). */
int loom_waiter_park_for(struct loom_list *waiters, struct loom_waiter *w, int64_t timeout_ns);

/* Unlink the oldest waiter, set its code and wake it; NULL when there is none. */
struct loom_waiter *loom_waiter_grant(struct loom_list *waiters, int code);

/* Fail every waiter on the list with code (< 0). */
void loom_waiter_fail_all(struct loom_list *waiters, int code);

/* The result of a wait whose grant (if any) was already handed back: the park
 * result, or w->code when the waker failed it; a cancellation still wins. */
int loom_waiter_result(int park_rc, const struct loom_waiter *w);

/* --- fork --- */

/* In a child process after fork(): forget the loop inherited from the parent
 * on this thread (its fds and tasks belong to the parent), so that code in the
 * child may make and run a loop of its own. Never touches the parent's loop. */
void loom_loop_forget_inherited(void);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
