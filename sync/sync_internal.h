/* sync_internal.h - the wait record shared by every sync/ primitive.
 *
 * A waiting task links a record on its own stack into the primitive's waiter
 * list and parks. A waker unlinks the record, stores what it granted in it
 * (code 1 plus, for queues, the item) or an error, and wakes the task. The
 * record, not the park result, says whether something was granted: a cancel
 * or a timeout can end the park after the grant, and then the waiter hands
 * the thing back. */
#ifndef LOOM_SYNC_SYNC_INTERNAL_H
#define LOOM_SYNC_SYNC_INTERNAL_H

#include "reactor/task_internal.h"
#include "sync/sync.h"

struct loom__sync_wait {
    struct loom_list node;   /* on a waiter list until granted or given up */
    struct loom_task *task;
    int code;                /* 0: pending, 1: granted, < 0: error from the waker */
    struct loom__qslot slot; /* queues: the item handed over (get) or offered (put) */
};

/* Link w at the back of waiters and park the current task until w is
 * granted or failed, or the deadline passes, or the task is cancelled. w is
 * unlinked on return. Returns the park result (0, -ETIMEDOUT, -ECANCELED);
 * w->code tells what the waker did. -EPERM outside a task (w->code stays 0). */
int loom__sync_wait(struct loom_list *waiters, struct loom__sync_wait *w, int64_t timeout_ns);
/* Like loom__sync_wait with an absolute deadline (loop time, -1: none). */
int loom__sync_wait_until(struct loom_list *waiters, struct loom__sync_wait *w, int64_t deadline);

/* Unlink the oldest waiter, set its code and wake it; NULL when none. */
struct loom__sync_wait *loom__sync_grant(struct loom_list *waiters, int code);
/* Fail every waiter with code. */
void loom__sync_fail_all(struct loom_list *waiters, int code);

/* The result of a wait whose grant was handed back: the park result, or
 * w->code when the waker failed it (a cancellation still wins). */
int loom__sync_result(int park_rc, const struct loom__sync_wait *w);

#endif
