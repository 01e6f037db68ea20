/* task.h - tasks (stackful coroutines) and the asyncio-style combinators.
 *
 * A task runs a function on its own stack and can suspend anywhere without
 * blocking the thread: sleeping, waiting for I/O, locks or other tasks. A task
 * is a future: its function's return value (intptr_t, negative = error) is its
 * result. Calls documented "Suspends" may only be made from inside a task and
 * can end in -ECANCELED (the task was cancelled) or -ETIMEDOUT.
 *
 * Handles: loom_task_spawn() gives the caller one reference, released by
 * loom_task_join(), loom_wait_for(), loom_gather() or loom_task_release(). A
 * task keeps running when its handle is released (it is then "detached"). A
 * handle stays valid after its loop was freed, until it is released.
 *
 * C++: each task has its own exception state (what `throw;` rethrows,
 * std::uncaught_exceptions()), so tasks may suspend inside catch blocks and
 * destructors. An exception escaping a task function ends the process (as one
 * escaping a std::thread does), after "loom: task "<name>" ended with an
 * uncaught C++ exception" on stderr. Catch in the task function.
 *
 * Stacks: a task that runs off its stack faults in a guard as large as the
 * stack and the process aborts with "loom: task "<name>" overflowed its 256
 * KiB stack" (see loom_loop_options.no_sigsegv_handler). */
#ifndef LOOM_REACTOR_TASK_H
#define LOOM_REACTOR_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loom/reactor/future.h"
#include "loom/reactor/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

struct loom_task;
/* A task's function: its return value is the task's result (negative: an error). */
typedef intptr_t (*loom_task_fn)(void *arg);

/* Options for loom_task_spawn(); NULL means all defaults. */
struct loom_task_options {
    const char *name;  /* copied (up to 47 bytes); NULL: "Task-N" */
    size_t stack_size; /* 0: the loop's default (256 KiB, committed as touched) */
    bool eager;        /* run at once until the first suspension (see loom_task_spawn) */
};

/* When loom_wait() returns (asyncio.wait's return_when). */
enum loom_wait_mode { LOOM_ALL_COMPLETED = 0, LOOM_FIRST_COMPLETED, LOOM_FIRST_EXCEPTION };

/* loom_gather() flags */
enum { LOOM_GATHER_ALL = 1 }; /* like return_exceptions=True: wait for all, keep every status */

/* --- running a program --- */

/* asyncio.run: make a loop (options from the environment), run main(arg) as a
 * task until it finishes, cancel and finish what is left, free the loop.
 * Returns main's result, or a negative error if the loop could not run.
 * Teardown: every task still unfinished when main returns is cancelled once
 * and the loop runs until they finish, so their cleanup may still suspend.
 * Unlike asyncio.run, which waits for ever, a task that ignores that
 * cancellation (or that nothing can wake any more) is cancelled again every
 * iteration once 500 ms of loop time have passed, up to 100 times; teardown
 * cannot hang. Failures nobody retrieved go to the loop's exception handler
 * (loop.h). */
intptr_t loom_run(loom_task_fn main, void *arg);
intptr_t loom_run_with(const struct loom_loop_options *opt, loom_task_fn main, void *arg);

/* Run loop until t is done; returns its result and releases the handle.
 * LOOM_EDEADLOCK if nothing is left that could finish it. */
intptr_t loom_loop_run_until_complete(struct loom_loop *loop, struct loom_task *t);

/* --- tasks --- */

/* Start fn(arg) as a task on loop (NULL: the loop running on this thread). It
 * first runs on the next loop iteration; with opt->eager (asyncio's
 * eager_task_factory) it runs at once, inside this call, until its first
 * suspension (or its end), when called from a task or a callback of that loop
 * while it runs on this thread (elsewhere eager is ignored). From a task, the
 * caller resumes right after that first step, before anything else ready;
 * the spawn is no suspension point (the caller cannot be cancelled there).
 * out (may be NULL: detached) receives a handle. Host code may spawn on a
 * loop that is not running (pass it explicitly). Returns 0, -EINVAL (fn NULL, or loop NULL and no loop running
 * on this thread), -ENOMEM or -EAGAIN (no stack). */
int loom_task_spawn(struct loom_loop *loop, loom_task_fn fn, void *arg,
                    const struct loom_task_options *opt, struct loom_task **out);

/* Shorthand: spawn on the loop running on this thread with a name (NULL
 * allowed). NULL on failure - always outside a running loop: host code spawns
 * with loom_task_spawn(loop, ...). */
struct loom_task *loom_spawn(loom_task_fn fn, void *arg, const char *name);

/* From a thread that is not the loop's: start fn(arg) as a task named name
 * (NULL: "Task-N") on loop and wait up to timeout_ns (-1: forever) for it to
 * finish (asyncio's run_coroutine_threadsafe(...).result(timeout)). The loop
 * must be run by its own thread meanwhile. Returns 0 and the task's result in
 * *result; -ETIMEDOUT (the task is cancelled, its result dropped); -EDEADLK if
 * called on the thread running loop; -EINVAL, -ENOMEM, or the spawn error.
 * Blocks the calling thread (not a task). */
int loom_run_task_threadsafe(struct loom_loop *loop, loom_task_fn fn, void *arg, const char *name,
                             int64_t timeout_ns, intptr_t *result);

/* Wait for t and return its result; releases the handle. If the caller is
 * cancelled meanwhile, t is cancelled too and -ECANCELED returned once t
 * finished. Suspends. */
intptr_t loom_task_join(struct loom_task *t);

/* Request cancellation: t gets -ECANCELED from its next (or current)
 * suspension, once; a task that has not started never runs. Requests made
 * before t resumes are delivered once. Returns true if t was not finished
 * (then loom_task_cancelling(t) grew by one). */
bool loom_task_cancel(struct loom_task *t);
/* The same with a message the cancelled task can read with
 * loom_task_cancel_message (asyncio's cancel(msg)); msg is copied (up to 63
 * bytes), NULL: none. */
bool loom_task_cancel_msg(struct loom_task *t, const char *msg);
/* The message of t's latest cancellation request, NULL if it had none (or t
 * was never cancelled). Valid until t is cancelled again or released. */
const char *loom_task_cancel_message(const struct loom_task *t);
/* asyncio's Task.cancelling(): how many cancellation requests t had that
 * loom_task_uncancel did not take back. Whoever cancels t to stop it for
 * its own reason (a TaskGroup cancelling its owner) takes its request back
 * once handled, so code around can tell an outside cancellation: one is
 * pending while loom_task_cancelling(t) stays above what it was. */
unsigned loom_task_cancelling(const struct loom_task *t);
/* asyncio's Task.uncancel(): take one request back (never below 0); returns
 * how many are left. As in asyncio 3.11, a cancellation not yet delivered is
 * still delivered. */
unsigned loom_task_uncancel(struct loom_task *t);

/* Add or drop a reference to a handle. */
struct loom_task *loom_task_ref(struct loom_task *t);
void loom_task_release(struct loom_task *t);

/* True once t finished (its result is set). */
bool loom_task_done(const struct loom_task *t);
/* True if t finished with -ECANCELED. */
bool loom_task_cancelled(const struct loom_task *t);
/* t's result once done; -EAGAIN before. */
intptr_t loom_task_result(const struct loom_task *t);
/* The task's name; rename it (copied, up to 47 bytes). */
const char *loom_task_name(const struct loom_task *t);
void loom_task_set_name(struct loom_task *t, const char *name);
/* A task is a future: for done callbacks. */
struct loom_future *loom_task_future(struct loom_task *t);

/* The running task, or NULL in a callback. */
struct loom_task *loom_task_current(void);

/* Write every task with its state to f (asyncio.all_tasks + repr). */
void loom_task_dump_all(struct loom_loop *loop, FILE *f);

/* Fill out with up to max unfinished tasks of loop; returns how many exist. */
size_t loom_task_all(struct loom_loop *loop, struct loom_task **out, size_t max);

/* --- suspension --- */

/* Sleep for ns; 0 yields to every other ready task once (asyncio.sleep(0)).
 * Returns 0 or -ECANCELED. Suspends. */
int loom_sleep(int64_t ns);
int loom_yield(void);

/* --- combinators --- */

/* Wait for t at most timeout_ns; on timeout cancel t, wait for it to finish and
 * return -ETIMEDOUT (or t's result if it finished anyway). A timeout of 0
 * cancels t at once, so a task that has not started never runs (asyncio).
 * Releases t. If the caller is cancelled, t is cancelled too. Suspends. */
intptr_t loom_wait_for(struct loom_task *t, int64_t timeout_ns);

/* A new task that waits for t and returns its result; cancelling it does not
 * cancel t (asyncio.shield). Takes its own reference to t. NULL on ENOMEM. */
struct loom_task *loom_shield(struct loom_task *t);

/* Wait for all n tasks. Default: return the first error as soon as a task
 * fails (the others keep running, detached), else 0. LOOM_GATHER_ALL: wait
 * for all and return 0. results (may be NULL) gets each task's result, in
 * input order. Releases every handle. If the caller is cancelled, every task
 * is cancelled and -ECANCELED returned once they finished. Suspends. */
int loom_gather(struct loom_task **tasks, size_t n, intptr_t *results, unsigned flags);

/* asyncio.wait: wait until mode is satisfied or timeout_ns passes (-1: no
 * limit). Reorders tasks so the done ones come first, in their input order,
 * and returns how many are done. Cancels nothing, releases nothing.
 * -ECANCELED if the caller is cancelled. Suspends. */
int loom_wait(struct loom_task **tasks, size_t n, enum loom_wait_mode mode, int64_t timeout_ns);

/* asyncio.as_completed: iterate tasks in completion order. */
struct loom_as_completed {
    struct loom_task **_tasks;
    size_t _n, _yielded;
    int64_t _deadline;
    struct loom_list _done;
    struct loom_future_callback *_cbs;
    struct loom_task *_waiter;
};

/* Prepare to iterate n tasks, with an overall timeout (-1: none). 0 or -ENOMEM. */
int loom_as_completed_init(struct loom_as_completed *it, struct loom_task **tasks, size_t n,
                           int64_t timeout_ns);
/* Next finished task into *out (borrowed): returns 1; 0 when all were returned;
 * -ETIMEDOUT for each task left after the timeout (they are not cancelled);
 * -ECANCELED. Suspends. */
int loom_as_completed_next(struct loom_as_completed *it, struct loom_task **out);
/* End the iteration (also early): frees what init allocated; the tasks are left as they are. */
void loom_as_completed_close(struct loom_as_completed *it);

/* Structured concurrency (asyncio.TaskGroup). */
struct loom_taskgroup {
    struct loom_loop *_loop;
    struct loom_task *_parent;
    struct loom_list _children; /* tasks, through their group link */
    size_t _running;
    int _error;              /* first failure */
    unsigned _owner_cancels; /* the owner's loom_task_cancelling() at init */
    bool _joining, _closed;
    bool _owner_cancelled;    /* the group cancelled its owner (taken back at join) */
    struct loom_list _failed; /* failed children, in the order they failed */
    size_t _nfailed;
};

/* One child's failure (asyncio's ExceptionGroup member). */
struct loom_task_failure {
    char name[48]; /* the child's name, copied */
    int error;     /* its negative result */
};

/* Start a group owned by the current task. 0 or -EPERM outside a task.
 * A group that cancels its owner (a child failed while the owner was in the
 * body) takes that request back at join (loom_task_uncancel, as asyncio's
 * TaskGroup); an outside cancellation is one that leaves the owner's
 * loom_task_cancelling() above its value at init. */
int loom_taskgroup_init(struct loom_taskgroup *g);
/* Spawn a child. When any child fails (a negative result other than
 * -ECANCELED) the others and the owner are cancelled. 0, -ENOMEM, or the
 * group's error once it failed. */
int loom_taskgroup_spawn(struct loom_taskgroup *g, loom_task_fn fn, void *arg, const char *name);
/* Wait for every child, release them, and return the first failure or 0. If
 * the owner is cancelled while joining, or was cancelled from outside since
 * init (its body got -ECANCELED), the children are cancelled and waited for,
 * and -ECANCELED returned. The group reacts to a child's end one ready-queue
 * hop later (a done callback, as asyncio's), so a sibling already ready takes
 * its step before it is cancelled. Suspends. */
int loom_taskgroup_join(struct loom_taskgroup *g);
/* loom_taskgroup_join, and every child failure, not only the first (what
 * asyncio's ExceptionGroup carries): up to max of them, in the order they
 * happened, are copied to failures (may be NULL); *nfailed (may be NULL) gets
 * how many there were, even beyond max. Returns what loom_taskgroup_join does.
 * Suspends. */
int loom_taskgroup_join_failures(struct loom_taskgroup *g, struct loom_task_failure *failures,
                                 size_t max, size_t *nfailed);

/* --- context variables (contextvars) --- */

/* --- deadline scopes (asyncio.timeout / timeout_at) ---
 *
 * A block of code in a task runs under a deadline that every suspending call
 * inside honours: once it passes, the call waiting then returns -ETIMEDOUT
 * (and so does every later one until the scope is left). Nested scopes take
 * the earliest deadline; a call's own timeout still applies when earlier.
 * Calls that take no timeout (loom_task_join, loom_gather, TaskGroup join,
 * PostgreSQL calls, process-pool calls...) become boundable this way. A join
 * cut short cancels the awaited task and waits for it to finish, as awaiting
 * a task does in asyncio; a TaskGroup join cancels its children and returns
 * -ETIMEDOUT once they are done. No task is spawned, nothing is allocated:
 * the scope lives on the task's stack.
 *
 *     struct loom_timeout to;
 *     loom_timeout_enter(&to, LOOM_SEC(2));
 *     rc = loom_task_join(t);               // -ETIMEDOUT after 2 s
 *     if (loom_timeout_exit(&to)) ...       // true: the deadline cut a wait short
 */
struct loom_timeout {
    int64_t _deadline;           /* loop time, -1: none */
    struct loom_timeout *_outer; /* the enclosing scope of the task */
    struct loom_task *_task;
    bool _expired; /* a wait was cut short by a passed deadline */
};

/* Enter a scope ending timeout_ns from now (-1: none yet; see reschedule).
 * Returns 0, or -EPERM outside a task. Leave it with loom_timeout_exit(). */
int loom_timeout_enter(struct loom_timeout *s, int64_t timeout_ns);
/* The same with an absolute deadline on the loop's clock (loom_loop_now). */
int loom_timeout_enter_at(struct loom_timeout *s, int64_t deadline);
/* Move the deadline (loop time; -1: none). */
void loom_timeout_reschedule(struct loom_timeout *s, int64_t deadline);
/* The deadline (loop time), -1 when none. */
int64_t loom_timeout_when(const struct loom_timeout *s);
/* Whether the deadline cut a wait short inside the scope. */
bool loom_timeout_expired(const struct loom_timeout *s);
/* Leave the scope (scopes leave in the reverse order they entered); returns
 * loom_timeout_expired(). */
bool loom_timeout_exit(struct loom_timeout *s);

/* Define one per variable with static storage: static struct loom_ctxvar v = {"name", NULL}. */
struct loom_ctxvar {
    /* for debugging */
    const char *name;
    /* what get returns where the variable was never set */
    void *default_value;
};

/* The value in the current task's context (or the loop's, outside tasks). */
void *loom_ctxvar_get(const struct loom_ctxvar *var);
/* Set the value for the current task and the tasks it spawns from now on.
 * 0, -ENOMEM, or -EPERM when no loop runs on this thread. */
int loom_ctxvar_set(const struct loom_ctxvar *var, void *value);

/* What loom_ctxvar_reset needs to undo one set (asyncio's Token). Caller
 * memory; valid in the task (or, outside tasks, on the loop) that made it. */
struct loom_ctxvar_token {
    /* the variable that was set */
    const struct loom_ctxvar *var;
    /* its value before the set, if it had one */
    void *old_value;
    /* false: the variable had no value (get returned its default) */
    bool had_value;
    void *_slot; /* the context the set was made in */
    bool _used;
};

/* loom_ctxvar_set, filling *tok to undo it with loom_ctxvar_reset (asyncio's
 * var.set returning a Token). Same errors; *tok is untouched on error. */
int loom_ctxvar_set_token(const struct loom_ctxvar *var, void *value,
                          struct loom_ctxvar_token *tok);
/* Put tok's variable back as it was before the set that made tok: its old
 * value, or no value at all. 0; -EALREADY if tok was used already; -EINVAL if
 * tok was made in another task's context (or the loop's, outside tasks);
 * -ENOMEM; -EPERM when no loop runs on this thread. */
int loom_ctxvar_reset(struct loom_ctxvar_token *tok);

/* A snapshot of context variables (contextvars.copy_context()). */
struct loom_context;
/* Copy the current context (the loop's outside tasks; an empty one when no
 * loop runs on this thread). Cheap: the values are shared until either side
 * sets one. NULL on ENOMEM. Free with loom_context_free. */
struct loom_context *loom_context_copy(void);
/* The value of var in ctx (its default where ctx has none). */
void *loom_context_get(const struct loom_context *ctx, const struct loom_ctxvar *var);
/* Call fn(arg) with ctx as the current context and return its result
 * (Context.run): fn sees ctx's values, and what it sets stays in ctx, not in
 * the caller's context. Tasks fn spawns inherit ctx. -EBUSY if ctx is being
 * run already, -EPERM when no loop runs on this thread. Suspends if fn does. */
intptr_t loom_context_run(struct loom_context *ctx, loom_task_fn fn, void *arg);
/* Free a copy (NULL: no-op); tasks spawned under it keep their values. */
void loom_context_free(struct loom_context *ctx);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
