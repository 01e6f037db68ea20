/* loop.h - the reactor: one event loop per thread, I/O watchers, timers, signals
 * and deferred calls. Usable on its own with callbacks (no coroutines needed).
 *
 * Time is int64_t nanoseconds of CLOCK_MONOTONIC, cached once per iteration.
 * Durations are nanoseconds too; LOOM_MS()/LOOM_SEC() build them. A timeout of
 * -1 means "no timeout". A relative delay (call_later, timer_start, sleeps and
 * timeouts) counts from a fresh clock read, as asyncio's loop.time() does, so
 * work done earlier in the iteration does not shorten it. */
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

#define LOOM_US(n) ((int64_t)(n) * 1000)
#define LOOM_MS(n) ((int64_t)(n) * 1000000)
#define LOOM_SEC(n) ((int64_t)((n) * 1000000000.0))
#define LOOM_FOREVER ((int64_t)-1)

/* Readiness bits for I/O watchers. Errors and hang-ups are reported as both,
 * so whoever waits tries the operation and sees the error. */
enum loom_io_events { LOOM_READABLE = 1, LOOM_WRITABLE = 2 };

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

typedef void (*loom_callback)(void *arg);

/* Internal: an entry of the loop's ready queue. call_soon calls, task steps and
 * future callbacks share one FIFO, so their relative order is asyncio's. */
struct loom__ready {
    struct loom_list node;
    void (*run)(struct loom__ready *r);
};
typedef void (*loom_io_cb)(struct loom_io *io, unsigned revents);
typedef void (*loom_timer_cb)(struct loom_timer *timer);
typedef void (*loom_signal_cb)(struct loom_signal *sig, int signum);
typedef void (*loom_log_cb)(void *arg, const char *message);

/* Options for loom_loop_new(); zero-initialise and set what you need. */
struct loom_loop_options {
    const char *backend;   /* "epoll", "poll", "kqueue"; NULL: $LOOM_BACKEND, else the best */
    int debug;             /* 1 on, 0: $LOOM_DEBUG decides */
    int64_t slow_step_ns;  /* debug: warn when a task step or callback runs longer; 0: 100 ms */
    size_t stack_size;     /* default task stack size; 0: 256 KiB */
    size_t stack_cache;    /* stacks kept for reuse; 0: 1024 */
    unsigned executor_threads; /* default executor size; 0: online CPUs + 4, at most 32 */
};

/* An I/O watcher on one fd. Caller-owned; fields with a leading _ are private. */
struct loom_io {
    int fd;
    loom_io_cb cb;
    void *data;             /* for the caller */
    struct loom_loop *_loop;
    unsigned _events;       /* what the caller wants */
    unsigned _armed;        /* what the backend was last told */
    bool _queued;           /* on the loop's change list */
    struct loom_list _change;
};

/* A one-shot timer. Caller-owned. */
struct loom_timer {
    loom_timer_cb cb;
    void *data;
    struct loom_loop *_loop;
    struct loom_heap_node _node;
    bool _ref;              /* keeps the loop alive while active */
};

/* A signal watcher. Caller-owned. */
struct loom_signal {
    loom_signal_cb cb;
    void *data;
    int signum;
    struct loom_loop *_loop;
    struct loom_list _node;
};

/* --- loop lifecycle --- */

/* Create a loop. opt may be NULL. Returns 0, -EINVAL (unknown backend), -ENOMEM or an OS error. */
int loom_loop_new(struct loom_loop **out, const struct loom_loop_options *opt);

/* Free a loop that has nothing registered. Returns 0, or -EBUSY and changes
 * nothing while watchers, timers, signals or tasks are alive (loom_loop_dump
 * lists them; in debug mode they are also logged). */
int loom_loop_free(struct loom_loop *loop);

/* Run the loop (see enum loom_run_mode). Returns 1 if something is still alive,
 * 0 if not, -EBUSY if the loop is already running, or a backend error. */
int loom_loop_run(struct loom_loop *loop, enum loom_run_mode mode);

/* Make loom_loop_run() return after the current iteration. */
void loom_loop_stop(struct loom_loop *loop);

/* The loop running on this thread, or NULL. */
struct loom_loop *loom_loop_current(void);

/* The cached monotonic time in ns; loom_loop_update_time() refreshes it. */
int64_t loom_loop_now(const struct loom_loop *loop);
void loom_loop_update_time(struct loom_loop *loop);

/* The backend's name: "epoll", "poll" or "kqueue". */
const char *loom_loop_backend(const struct loom_loop *loop);

/* Whether debug mode is on. */
bool loom_loop_debug(const struct loom_loop *loop);

/* Keep the loop alive without any watcher (for wake-ups from other threads). */
void loom_loop_ref(struct loom_loop *loop);
void loom_loop_unref(struct loom_loop *loop);

/* Where debug messages go; default: stderr. cb NULL restores the default. */
void loom_loop_set_log(struct loom_loop *loop, loom_log_cb cb, void *arg);

/* Write what is still registered (watchers, timers, signals, tasks) to f. */
void loom_loop_dump(struct loom_loop *loop, FILE *f);

/* --- deferred calls --- */

/* Call cb(arg) on the next iteration, after what is already queued (FIFO).
 * Returns 0 or -ENOMEM; on error cb never runs. */
int loom_call_soon(struct loom_loop *loop, loom_callback cb, void *arg);

/* Like loom_call_soon but callable from any thread; wakes the loop. */
int loom_call_soon_threadsafe(struct loom_loop *loop, loom_callback cb, void *arg);

/* Call cb(arg) after delay_ns (or at the loop time when_ns). If out is not NULL
 * it receives a handle for loom_handle_cancel(), valid until cb starts or the
 * handle is cancelled. Returns 0 or -ENOMEM. */
int loom_call_later(struct loom_loop *loop, int64_t delay_ns, loom_callback cb, void *arg,
                    struct loom_handle **out);
int loom_call_at(struct loom_loop *loop, int64_t when_ns, loom_callback cb, void *arg,
                 struct loom_handle **out);

/* Cancel a pending call_later/call_at; its callback will not run. */
void loom_handle_cancel(struct loom_handle *h);

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

/* --- timers --- */

void loom_timer_init(struct loom_loop *loop, struct loom_timer *t, loom_timer_cb cb);

/* (Re)start the timer to fire once after delay_ns, or at loop time when_ns. 0 or -ENOMEM. */
int loom_timer_start(struct loom_timer *t, int64_t delay_ns);
int loom_timer_start_at(struct loom_timer *t, int64_t when_ns);
void loom_timer_stop(struct loom_timer *t);
bool loom_timer_active(const struct loom_timer *t);

/* --- signals (delivered on the loop, never in a signal handler) --- */

void loom_signal_init(struct loom_loop *loop, struct loom_signal *s, loom_signal_cb cb);

/* Watch signum. Returns 0, -EINVAL or an OS error. */
int loom_signal_start(struct loom_signal *s, int signum);
void loom_signal_stop(struct loom_signal *s);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
