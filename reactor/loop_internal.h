/* loop_internal.h - the loop's private state, shared by loop.c, signal.c,
 * task.c, stack.c, future.c and executor.c. Not installed. */
#ifndef LOOM_REACTOR_LOOP_INTERNAL_H
#define LOOM_REACTOR_LOOP_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "reactor/backend.h"
#include "reactor/compat.h"
#include "reactor/heap.h"
#include "reactor/list.h"
#include "reactor/loop.h"
#include "reactor/switch.h"

struct loom_task;
struct loom_executor;
struct loom__context;
struct loom__recv;
struct loom__send;

/* The C++ runtime's per-thread exception state (__cxa_get_globals() in libstdc++ and
 * libc++abi): the caught-exceptions stack and the uncaught count. Each task keeps its
 * own copy, swapped in and out at every switch (task.c). */
struct loom__eh_globals {
    void *caught;
    unsigned int uncaught;
};
struct loom__eh_state {
    void *caught;
    unsigned int uncaught;
};

/* A pooled call_soon / call_later record. */
struct loom_handle {
    struct loom__ready ready; /* on the ready queue (call_soon) or the pool */
    struct loom_timer timer;  /* call_later only */
    loom_callback cb;
    void *arg;
    struct loom_loop *loop;
    uint64_t gen; /* bumped each time the record goes back to the pool */
    bool timed;   /* a call_later one */
    bool pinned;  /* a struct loom_call saw it: never freed before the loop */
};

/* A call queued by another thread. */
struct loom__ts_call {
    struct loom_list node;
    loom_callback cb;
    void *arg;
};

struct loom_loop {
    const struct loom_backend_ops *backend;
    void *backend_state;
    int64_t now; /* cached CLOCK_MONOTONIC ns */
    bool running;
    /* What makes an iteration boundary go through the scheduler rather than a
     * task hand-off (loom__iterate_inline), as one word: the boundary tests
     * slow != 0 instead of four fields. */
    union {
        struct {
            bool stop_requested;
            bool debug;       /* debug mode (loom_loop_set_debug) */
            uint8_t run_mode; /* enum loom_run_mode of the loom_loop_run in progress */
            bool hooks_on;    /* nhooks > 0 */
        };
        uint32_t slow;
    };
    unsigned nhooks; /* started hooks, of every kind */
    size_t active;   /* watchers, timers, signals, jobs, refs keeping run() going */

    struct loom_io **fds; /* fd -> watcher, NULL when none */
    size_t nfds;
    void **recvs; /* fd -> live struct loom__recv (completion.h) */
    size_t nrecvs;
    void **sends; /* fd -> live struct loom__send */
    size_t nsends;
    void **accepts; /* fd -> live struct loom__accept */
    size_t naccepts;
    struct loom_list changes; /* watchers whose mask the backend must learn */
    /* The part of changes / ready being processed this iteration. Loop-owned, not on
     * the stack, so a C++ exception leaving a callback loses nothing: run_exit puts
     * what is left back in front (and costs nothing per iteration). */
    struct loom_list change_batch, ready_batch;
    struct loom_backend_event events[256];

    struct loom_list hooks[3];   /* started struct loom_hook, by kind */
    struct loom_list hook_batch; /* the hooks of one kind being run */
    int hook_batch_kind;
    size_t nidle; /* started idle hooks: the poll does not block */

    struct loom_heap timers;
    struct loom_list ready;        /* struct loom__ready, FIFO */
    struct loom_list free_handles; /* pooled struct loom_handle */
    size_t nfree_handles;

    /* call_soon_threadsafe */
    pthread_mutex_t ts_lock;
    struct loom_list ts_queue;
    atomic_int ts_signalled; /* a wake-up is already in flight */
    int wake_rfd, wake_wfd;  /* eventfd (both the same) or a pipe */
    struct loom_io wake_io;
    struct loom_list asyncs; /* open struct loom_async */

    /* signals */
    struct loom_list signals;
    int sig_rfd, sig_wfd; /* signalfd, or the self-pipe */
    bool sig_use_fd;
    sigset_t sig_mask; /* signals this loop watches */
    sigset_t sig_saved_mask;
    struct sigaction *sig_saved; /* self-pipe: previous handlers, by signum */
    struct loom_io sig_io;
    unsigned sig_count[65];

    /* tasks */
    struct loom_task *current;  /* the task running now, NULL in callbacks */
    struct loom_task *reap;     /* finished task that handed off: the next one frees its stack */
    unsigned clock_skips;       /* hand-off boundaries since the clock was last read */
    struct loom__ctx sched_ctx; /* the scheduler's saved context */
    const void *sched_stack;    /* sanitizers: the scheduler's stack bounds */
    size_t sched_stack_size;
    void *sched_fiber;      /* TSan's fiber for the scheduler */
    struct loom_list tasks; /* every task not yet freed */
    size_t ntasks_live;     /* tasks not finished */
    uint64_t next_task_id;
    struct loom_list free_tasks; /* pooled task records */
    size_t nfree_tasks;
    struct loom__context *root_ctx; /* context variables outside tasks */
    struct loom__eh_globals *eh;    /* this thread's C++ exception state; NULL in C programs */
    struct loom__eh_state sched_eh; /* the scheduler's, while a task runs */

    /* stacks */
    size_t stack_size, stack_cache;
    struct loom_list free_stacks;
    size_t nfree_stacks;

    /* debug */
    int64_t slow_ns;
    int64_t last_poll; /* loop time of the last backend poll */
    loom_log_cb log_cb;
    void *log_arg;
    loom_exception_handler exc_handler; /* NULL: the default */
    void *exc_arg;

    unsigned executor_threads;
    struct loom_executor *executor; /* default executor, made on first use */
};

_Static_assert(offsetof(struct loom_loop, hooks_on) - offsetof(struct loom_loop, slow) <
                       sizeof(uint32_t) &&
                   LOOM_RUN_DEFAULT == 0,
               "slow covers the four fields and is 0 when none asks for the scheduler");

extern _Thread_local struct loom_loop *loom__tls_loop;

static inline void loom__ready_push(struct loom_loop *loop, struct loom__ready *r)
{
    loom_list_push_back(&loop->ready, &r->node);
}
/* Hand-off boundaries between two clock reads while no timer is pending. */
#define LOOM__CLOCK_EVERY 32

/* loom__iterate_inline's common case, inline for the hand-off: true when the
 * boundary needs no more than the ready queue moved into the batch - nothing
 * for the scheduler, no timer pending, no clock read due (counted here). False:
 * call loom__iterate_inline, which decides (and counts nothing twice). */
static inline bool loom__boundary_quick(struct loom_loop *loop)
{
    return !loop->slow && !loop->timers.count && loom_list_empty(&loop->changes) &&
           ++loop->clock_skips < LOOM__CLOCK_EVERY;
}

/* The end of the run phase and the start of the next iteration, done from a
 * suspending task (task.c's direct hand-off) when they would run no callback:
 * refreshes the clock, queues due timers and moves the ready queue into the
 * batch being run. False: the scheduler must run the iteration (poll due,
 * hooks, watcher changes, a stop, a mode other than LOOM_RUN_DEFAULT). */
bool loom__iterate_inline(struct loom_loop *loop);
void loom__log(struct loom_loop *loop, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int64_t loom__clock_ns(void);

/* now + delay_ns, saturating: a huge delay means "never", not a wrapped past time. */
static inline int64_t loom__time_add(int64_t now, int64_t delay_ns)
{
    return delay_ns > INT64_MAX - now ? INT64_MAX : now + delay_ns;
}

/* signal.c */
int loom__signals_open(struct loom_loop *loop);
void loom__signals_close(struct loom_loop *loop);
/* wake-up channel for other threads */
int loom__wakeup_open(struct loom_loop *loop);
void loom__wakeup_close(struct loom_loop *loop);

/* task.c */
void loom__tasks_dump(struct loom_loop *loop, FILE *f);
void loom__tasks_report(struct loom_loop *loop);
void loom__tasks_free(struct loom_loop *loop);

/* context.c */
void loom__context_ref(struct loom__context *c);
void loom__context_release(struct loom__context *c);

/* overflow.c */
void loom__overflow_install(void);
void loom__overflow_thread(void);
/* task.c: this thread's C++ exception globals, or NULL without a C++ runtime */
struct loom__eh_globals *loom__eh_globals(void);
/* loop.c: log msg and then each line of loom_loop_dump */
void loom__report_open(struct loom_loop *loop, const char *msg);

/* stack.c */
void loom__stacks_free(struct loom_loop *loop);

/* executor.c */
void loom__executor_free_default(struct loom_loop *loop);

#endif
