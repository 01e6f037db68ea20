/* loop.h - the reactor: one event loop per thread, I/O watchers, timers, signals
 * and deferred calls. Usable on its own with callbacks (no coroutines needed).
 *
 * Time is int64_t nanoseconds of CLOCK_MONOTONIC, cached once per iteration.
 * Durations are nanoseconds too; LOOM_MS()/LOOM_SEC() build them. A timeout of
 * -1 means "no timeout". A relative delay (call_later, timer_start, sleeps and
 * timeouts) counts from a fresh clock read, as asyncio's loop.time() does, so
 * work done earlier in the iteration does not shorten it.
 *
 * What keeps a loop alive (loom_loop_run(LOOM_RUN_DEFAULT) returns once nothing does):
 *  - an I/O watcher with events started, an active timer (pending call_later), a
 *    watched signal, an open loom_async, a job running in an executor, a ready
 *    call or task, a started hook (prepare/check/idle), and each loom_loop_ref()
 *    not yet undone by loom_loop_unref();
 *  - NOT: a task parked with nothing above that could wake it (run returns 0 and
 *    loom_run reports LOOM_EDEADLOCK), a stopped or merely initialised watcher,
 *    the loop's own wake-up channel for other threads.
 * So a task waiting for something another thread will do needs an open
 * loom_async (or a loom_loop_ref) for as long as it waits.
 *
 * Threads: a loop belongs to the thread that runs it. From other threads only
 * loom_call_soon_threadsafe, loom_async_send and loom_run_task_threadsafe may
 * be called (and loom_loop_stop is NOT among them: send a call that stops it).
 * Host code may use every other call on a loop that is not running, from the
 * thread that runs it. */
#ifndef LOOM_REACTOR_LOOP_H
#define LOOM_REACTOR_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loom/reactor/error.h"
#include "loom/reactor/heap.h"
#include "loom/reactor/list.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* Durations and deadlines are int64_t nanoseconds; these convert (LOOM_SEC takes
 * fractions: LOOM_SEC(0.5)). LOOM_FOREVER (-1) means no timeout. */
#define LOOM_US(n) ((int64_t)(n)*1000)
#define LOOM_MS(n) ((int64_t)(n)*1000000)
#define LOOM_SEC(n) ((int64_t)((n)*1000000000.0))
#define LOOM_FOREVER ((int64_t)-1)

/* Readiness bits for I/O watchers. Errors and hang-ups are reported as both,
 * so whoever waits tries the operation and sees the error. */
enum loom_io_events { LOOM_READABLE = 1, LOOM_WRITABLE = 2 };

/* How far loom_loop_run() goes. */
enum loom_run_mode {
    LOOM_RUN_DEFAULT = 0, /* until loom_loop_stop() or nothing is left that could run */
    LOOM_RUN_ONCE,        /* one iteration, waiting for events if none is ready */
    LOOM_RUN_NOWAIT,      /* one iteration without waiting */
};

struct loom_loop;
struct loom_io;
struct loom_timer;
struct loom_signal;
struct loom_handle;
struct loom_task;

/* A callback for call_soon, call_later and call_soon_threadsafe. */
typedef void (*loom_callback)(void *arg);

/* Internal: an entry of the loop's ready queue. call_soon calls, task steps and
 * future callbacks share one FIFO, so their relative order is asyncio's. */
struct loom__ready {
    struct loom_list node;
    void (*run)(struct loom__ready *r);
};
/* Watcher callbacks: revents holds loom_io_events bits; signum is the signal caught. */
typedef void (*loom_io_cb)(struct loom_io *io, unsigned revents);
typedef void (*loom_timer_cb)(struct loom_timer *timer);
typedef void (*loom_signal_cb)(struct loom_signal *sig, int signum);
/* Where debug mode writes its reports (one line, no newline). */
typedef void (*loom_log_cb)(void *arg, const char *message);
struct loom_async;
/* Called on the loop's thread after one or more loom_async_send() calls. */
typedef void (*loom_async_cb)(struct loom_async *async);

/* Options for loom_loop_new(); zero-initialise and set what you need. */
struct loom_loop_options {
    /* "epoll", "poll", "kqueue", "io_uring"; NULL: $LOOM_BACKEND, else the best */
    const char *backend;
    int debug;                 /* 1 on, 0: $LOOM_DEBUG decides */
    int64_t slow_step_ns;      /* debug: warn when a task step or callback runs longer; 0: 100 ms */
    size_t stack_size;         /* default task stack size; 0: 256 KiB */
    size_t stack_cache;        /* stacks kept for reuse; 0: 1024 */
    unsigned executor_threads; /* default executor size; 0: online CPUs + 4, at most 32 */
    int no_sigsegv_handler; /* 1: do not install loom's SIGSEGV handler (stack overflow report) */
};

/* An I/O watcher on one fd. Caller-owned; fields with a leading _ are private. */
struct loom_io {
    /* the watched fd (never closed by loom) */
    int fd;
    /* called on the loop with the ready events */
    loom_io_cb cb;
    void *data; /* for the caller */
    struct loom_loop *_loop;
    unsigned _events; /* what the caller wants */
    unsigned _armed;  /* what the backend was last told */
    bool _queued;     /* on the loop's change list */
    struct loom_list _change;
};

/* A one-shot timer. Caller-owned. A timer that falls due leaves the heap and
 * joins the back of the ready queue (_ready), so its callback runs after what
 * was ready before it, as asyncio's call_later handles do; it stays active
 * until the callback starts. (ABI: _ready was added with that change.) */
struct loom_timer {
    /* called on the loop when the timer is due */
    loom_timer_cb cb;
    /* for the caller */
    void *data;
    struct loom_loop *_loop;
    struct loom_heap_node _node;
    bool _ref;                 /* keeps the loop alive while active */
    struct loom__ready _ready; /* on the ready queue while due and not yet run */
};

/* A signal watcher. Caller-owned. */
struct loom_signal {
    /* called on the loop for each delivery */
    loom_signal_cb cb;
    /* for the caller */
    void *data;
    /* the watched signal; 0 when stopped */
    int signum;
    struct loom_loop *_loop;
    struct loom_list _node;
};

/* A wake-up any thread can send (libuv's uv_async_t). Caller-owned. */
struct loom_async {
    /* called on the loop's thread */
    loom_async_cb cb;
    void *data; /* for the caller */
    struct loom_loop *_loop;
    int _pending;           /* set by senders (atomic), cleared before cb runs */
    struct loom_list _node; /* the loop's open asyncs */
};

/* --- loop lifecycle --- */

/* Create a loop. opt may be NULL. Returns 0, -EINVAL (unknown backend), -ENOMEM or an OS error. */
int loom_loop_new(struct loom_loop **out, const struct loom_loop_options *opt);

/* Free a loop that has nothing open (libuv's uv_loop_close). Returns 0; -EINVAL
 * for NULL; or -EBUSY, changing nothing, while it runs or while anything is
 * still open: an I/O watcher initialised and not closed (a stream, server or
 * connection not closed), an active timer or pending call, a signal watcher, a
 * loom_async, a started hook, a ref, an unfinished task. loom_loop_dump lists what is open; in
 * debug mode it is also logged. Task handles still held (loom_task_spawn's out,
 * loom_spawn) stay valid after the loop is freed: loom_task_result, _done,
 * _cancelled, _name work on them and loom_task_release frees them
 * (loom_task_loop returns NULL). */
int loom_loop_free(struct loom_loop *loop);

/* Run the loop (see enum loom_run_mode). Returns 1 if something is still alive,
 * 0 if not, -EBUSY if the loop is already running, -EINVAL for NULL, or a backend
 * error. A C++ exception thrown by a callback leaves the loop usable (not running,
 * its queues intact) as it propagates out of this call. */
int loom_loop_run(struct loom_loop *loop, enum loom_run_mode mode);

/* Make loom_loop_run() return after the current iteration. */
void loom_loop_stop(struct loom_loop *loop);

/* The loop running on this thread, or NULL. */
struct loom_loop *loom_loop_current(void);

/* The cached monotonic time in ns; loom_loop_update_time() refreshes it. It is
 * read once per iteration, and when tasks hand off to each other with no timer
 * pending, once in 32 hand-offs: it may lag by a few task steps. Timers and
 * timeouts read the clock afresh. */
int64_t loom_loop_now(const struct loom_loop *loop);
void loom_loop_update_time(struct loom_loop *loop);

/* The backend's name: "epoll", "poll", "kqueue" or "io_uring" - the one really
 * in use ("epoll" when io_uring was asked for but the kernel refused a ring). */
const char *loom_loop_backend(const struct loom_loop *loop);

/* Whether debug mode is on. */
bool loom_loop_debug(const struct loom_loop *loop);
/* Turn debug mode on or off at run time (asyncio's loop.set_debug): slow
 * step warnings and the reports at loom_loop_free follow at once. */
void loom_loop_set_debug(struct loom_loop *loop, bool on);

/* Keep the loop alive without any watcher (for wake-ups from other threads). */
void loom_loop_ref(struct loom_loop *loop);
void loom_loop_unref(struct loom_loop *loop);

/* Where debug messages go; default: stderr. cb NULL restores the default. */
void loom_loop_set_log(struct loom_loop *loop, loom_log_cb cb, void *arg);

/* Write what is still registered (watchers, timers, signals, asyncs, tasks) to f. */
void loom_loop_dump(struct loom_loop *loop, FILE *f);

/* --- errors nobody retrieved (asyncio's exception handler) ---
 *
 * A task that failed (a negative result other than -ECANCELED) and whose
 * result nobody retrieved is reported once, through the loop's exception
 * handler, when its last handle goes: a detached task as it ends, a handle
 * still held when the loop is freed (loom_loop_free) before it is released.
 * Retrieved means read by loom_task_join, loom_task_result, loom_wait_for,
 * loom_gather, a TaskGroup, loom_loop_run_until_complete, or given to a done
 * callback that was waiting on the task when it finished. The default handler
 * writes one line through the loop's log (stderr unless loom_loop_set_log):
 *     loom: Task exception was never retrieved: task "NAME": Input/output error
 * Library code prints nothing else. */

/* What the handler is told. Valid during the call only. */
struct loom_error_context {
    const char *message;    /* what happened: "Task exception was never retrieved" */
    int error;              /* the negative error code */
    struct loom_task *task; /* the task concerned, or NULL */
};
/* Told about errors nobody retrieved (see loom_loop_set_exception_handler). */
typedef void (*loom_exception_handler)(struct loom_loop *loop, const struct loom_error_context *ctx,
                                       void *arg);

/* Replace the handler (asyncio's set_exception_handler); NULL restores the
 * default. A handler that does nothing silences the reports. It runs on the
 * loop's thread, in a task or a callback or inside loom_loop_free: it must not
 * suspend, and must not free the loop. */
void loom_loop_set_exception_handler(struct loom_loop *loop, loom_exception_handler handler,
                                     void *arg);

/* The handler set, NULL for the default; *arg (if arg is not NULL) gets its argument. */
loom_exception_handler loom_loop_get_exception_handler(const struct loom_loop *loop, void **arg);

/* The default handler: the one log line above (a custom handler may call it). */
void loom_loop_default_exception_handler(struct loom_loop *loop,
                                         const struct loom_error_context *ctx);

/* Report ctx through the handler set (or the default). */
void loom_loop_call_exception_handler(struct loom_loop *loop, const struct loom_error_context *ctx);

/* --- embedding: a loop driven by another program's main loop ---
 *
 * The host waits for loom_loop_backend_fd() to be readable, with the timeout
 * loom_loop_backend_timeout() gives, then calls loom_loop_run(loop,
 * LOOM_RUN_NOWAIT), and asks for the timeout again. No tick is needed. */

/* An fd that becomes readable when the loop has I/O to process (the epoll or
 * kqueue fd, or the io_uring ring fd, readable while completions wait).
 * Returns it, -EINVAL for NULL, or -ENOTSUP with the poll backend (it has no
 * such fd: create the loop with .backend = "epoll", or drive it with
 * loom_loop_run(LOOM_RUN_ONCE) in a thread of its own). Never close it. */
int loom_loop_backend_fd(const struct loom_loop *loop);

/* Milliseconds until the loop must run again even if its fd stays quiet: 0
 * while calls or tasks are ready, an idle hook is started or watcher changes
 * wait to be applied, -1 when
 * no timer is pending, else the time to the earliest timer rounded up (a host
 * that sleeps this long never wakes early and spins). -EINVAL for NULL. */
int loom_loop_backend_timeout(const struct loom_loop *loop);

/* --- loom_async: a wake-up from any thread --- */

/* Prepare a on loop (on the loop's thread); cb(a) runs on that thread after
 * loom_async_send. While open it keeps the loop alive. Returns 0 or -EINVAL. */
int loom_async_init(struct loom_loop *loop, struct loom_async *a, loom_async_cb cb);

/* Ask for cb to run, from any thread (also a signal handler: it only does an
 * atomic exchange and a write). Sends before cb runs coalesce into one call.
 * Never allocates. Returns 0, or -EINVAL if a is not open. */
int loom_async_send(struct loom_async *a);

/* Close a (on the loop's thread); a pending cb will not run. No thread may
 * call loom_async_send on it from now on. */
void loom_async_close(struct loom_async *a);

/* --- deferred calls --- */

/* Call cb(arg) on the next iteration, after what is already queued (FIFO).
 * Returns 0 or -ENOMEM; on error cb never runs. */
int loom_call_soon(struct loom_loop *loop, loom_callback cb, void *arg);

/* Like loom_call_soon but callable from any thread; wakes the loop. Allocates
 * one small record per call (use loom_async for a recurring wake-up). It does
 * not keep the loop alive by itself: see the rules at the top. */
int loom_call_soon_threadsafe(struct loom_loop *loop, loom_callback cb, void *arg);

/* Call cb(arg) after delay_ns (or at the loop time when_ns). If out is not NULL
 * it receives a handle for loom_handle_cancel(), valid until cb starts or the
 * handle is cancelled. Returns 0 or -ENOMEM. */
int loom_call_later(struct loom_loop *loop, int64_t delay_ns, loom_callback cb, void *arg,
                    struct loom_handle **out);
int loom_call_at(struct loom_loop *loop, int64_t when_ns, loom_callback cb, void *arg,
                 struct loom_handle **out);

/* Cancel a pending call_later/call_at; its callback will not run. h must
 * still be pending (use loom_call_later_handle for a reference that stays
 * safe after the call ran). */
void loom_handle_cancel(struct loom_handle *h);

/* A reference to a call, safe to cancel at any time: after the call ran or
 * was cancelled, cancelling it does nothing, even when its pooled record
 * serves a newer call (a generation counter tells). Copyable; zeroed, it
 * names no call. Valid until the loop is freed. (asyncio's Handle.) */
struct loom_call {
    struct loom_handle *_h;
    uint64_t _gen;
};

/* loom_call_soon, filling *out (may be NULL) with a reference to the call.
 * Returns 0, -EINVAL or -ENOMEM (then cb never runs and *out is untouched). */
int loom_call_soon_handle(struct loom_loop *loop, loom_callback cb, void *arg,
                          struct loom_call *out);
/* loom_call_later, the same way. */
int loom_call_later_handle(struct loom_loop *loop, int64_t delay_ns, loom_callback cb, void *arg,
                           struct loom_call *out);
/* Cancel the call if it has not started: returns true if it will not run
 * now, false if it already ran, is running, or was cancelled. Never suspends. */
bool loom_call_cancel(struct loom_call *c);
/* Whether the call has neither started nor been cancelled. */
bool loom_call_pending(const struct loom_call *c);

/* --- I/O watchers (level-triggered; the fd stays registered between waits) --- */

/* Prepare a watcher for fd (which should be non-blocking). Returns 0 or -ENOMEM. */
int loom_io_init(struct loom_loop *loop, struct loom_io *io, int fd, loom_io_cb cb);

/* Ask for cb when fd is readable and/or writable. Returns 0. Errors from the
 * backend are reported as readiness, so the next read or write sees them. */
int loom_io_start(struct loom_io *io, unsigned events);

/* Stop asking for events. Cheap: the backend is only told if an event comes. */
void loom_io_stop(struct loom_io *io, unsigned events);

/* Forget the watcher; call before closing its fd. */
void loom_io_close(struct loom_io *io);

/* --- timers ---
 * A due timer's callback is queued behind what is already ready (one FIFO with
 * call_soon calls and task steps): call_later(0, A) then call_soon(B) runs B,
 * then A, as in asyncio. Stopping or restarting a due timer whose callback has
 * not started yet takes it off the ready queue. */

/* Prepare a stopped timer on loop that calls cb. No allocation. */
void loom_timer_init(struct loom_loop *loop, struct loom_timer *t, loom_timer_cb cb);

/* (Re)start the timer to fire once after delay_ns, or at loop time when_ns. 0 or -ENOMEM. */
int loom_timer_start(struct loom_timer *t, int64_t delay_ns);
int loom_timer_start_at(struct loom_timer *t, int64_t when_ns);
/* Stop the timer (nothing happens if it is not active); whether it is active. */
void loom_timer_stop(struct loom_timer *t);
bool loom_timer_active(const struct loom_timer *t);

/* --- hooks: prepare, check and idle watchers (libuv's) ---
 *
 * Once per iteration while started: idle hooks first, then prepare hooks
 * just before the loop polls for I/O, check hooks just after it (before
 * timers and the ready queue run). A started idle hook makes the poll return
 * at once, so the loop spins instead of sleeping (use it for background work
 * in small steps). Every started hook keeps the loop alive. A hook may stop
 * itself or any other from its callback; one started during a pass first runs
 * on the next. */
enum loom_hook_kind { LOOM_HOOK_IDLE, LOOM_HOOK_PREPARE, LOOM_HOOK_CHECK };

struct loom_hook;
/* A hook's callback, called on the loop's thread once per pass while started. */
typedef void (*loom_hook_cb)(struct loom_hook *h);

/* A hook watcher. Caller-owned; stop it before freeing it. */
struct loom_hook {
    loom_hook_cb cb; /* what runs, as given to loom_hook_start */
    void *data;      /* for the caller */
    struct loom_loop *_loop;
    enum loom_hook_kind _kind;
    bool _started;
    struct loom_list _node; /* loop->hooks[_kind] */
};

/* Prepare h as a hook of kind on loop (stopped). */
void loom_hook_init(struct loom_loop *loop, struct loom_hook *h, enum loom_hook_kind kind);
/* Call cb(h) once per iteration from now on (replacing cb if started). Returns 0,
 * or -EINVAL for a NULL cb. */
int loom_hook_start(struct loom_hook *h, loom_hook_cb cb);
/* Stop calling it; no-op when stopped. */
void loom_hook_stop(struct loom_hook *h);
bool loom_hook_active(const struct loom_hook *h);

/* --- signals (delivered on the loop, never in a signal handler) --- */

/* Prepare a stopped signal watcher on loop that calls cb. */
void loom_signal_init(struct loom_loop *loop, struct loom_signal *s, loom_signal_cb cb);

/* Watch signum. Returns 0, -EINVAL or an OS error. */
int loom_signal_start(struct loom_signal *s, int signum);
/* Stop watching. */
void loom_signal_stop(struct loom_signal *s);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
