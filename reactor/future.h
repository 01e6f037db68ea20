/* future.h - futures: a result that will be set later, awaited by tasks or
 * observed through done callbacks. A future is usable without a running loop.
 *
 * Results are intptr_t: a negative value is an error code (-ECANCELED when the
 * future was cancelled), anything else is the value (a number, or a pointer
 * cast with (intptr_t)). */
#ifndef LOOM_REACTOR_FUTURE_H
#define LOOM_REACTOR_FUTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "loom/reactor/list.h"
#include "loom/reactor/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* A future is pending until it gets a result or is cancelled. */
enum loom_future_state { LOOM_FUTURE_PENDING = 0, LOOM_FUTURE_DONE, LOOM_FUTURE_CANCELLED };

struct loom_future;
/* A done callback: runs once f is done, with the arg it was registered with. */
typedef void (*loom_future_cb)(struct loom_future *f, void *arg);

/* A done-callback registration; caller-owned, so registering never allocates. */
struct loom_future_callback {
    struct loom_list _node;
    /* what to call */
    loom_future_cb cb;
    /* passed to cb */
    void *arg;
    bool _immediate;           /* internal: run at completion instead of via call_soon */
    struct loom__ready _ready; /* scheduled through the ready queue without malloc */
    struct loom_future *_future;
};

/* A result that will be set later. Caller-owned; no loop needed. */
struct loom_future {
    /* read with loom_future_done() / loom_future_cancelled() */
    enum loom_future_state state;
    /* valid once done (negative: an error, -ECANCELED if cancelled) */
    intptr_t result;
    struct loom_list _callbacks; /* struct loom_future_callback */
};

/* Initialise a pending future. No loop is needed. */
void loom_future_init(struct loom_future *f);

/* Set the result (a negative value is an error). Returns 0, or -EINVAL if the
 * future is already done. Done callbacks are scheduled with call_soon when a
 * loop runs on this thread, else called at once. */
int loom_future_set_result(struct loom_future *f, intptr_t result);

/* Cancel: the result becomes -ECANCELED. Returns true if it was pending. */
bool loom_future_cancel(struct loom_future *f);

/* True once f has a result (or was cancelled); true if it was cancelled. */
bool loom_future_done(const struct loom_future *f);
bool loom_future_cancelled(const struct loom_future *f);

/* The result of a done future; -EAGAIN while it is pending. */
intptr_t loom_future_result(const struct loom_future *f);

/* Call cb(f, arg) once f is done (soon, if it already is). cbn is caller
 * memory that must stay valid until the callback ran or was removed. */
void loom_future_add_done_callback(struct loom_future *f, struct loom_future_callback *cbn,
                                   loom_future_cb cb, void *arg);

/* Remove a callback that has not run yet. Returns true if it was removed. */
bool loom_future_remove_done_callback(struct loom_future_callback *cbn);

/* Wait in the current task until f is done, at most timeout_ns (-1: no limit).
 * Suspends. Returns f's result, -ETIMEDOUT (f stays pending) or -ECANCELED
 * (the task was cancelled; f is cancelled too, as in asyncio). -EPERM outside
 * a task. */
intptr_t loom_future_await(struct loom_future *f, int64_t timeout_ns);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
