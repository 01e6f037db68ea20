/* proc_internal.h - the child watcher shared by subprocesses and the pool. */
#ifndef LOOM_PROC_PROC_INTERNAL_H
#define LOOM_PROC_PROC_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "proc/proc.h"
#include "reactor/list.h"
#include "reactor/loop.h"

struct loom__child;
typedef void (*loom__child_cb)(struct loom__child *c, void *arg);

/* Watches one child until it is reaped: through its pidfd, or through SIGCHLD
 * and waitpid(pid, WNOHANG) when pidfds are unavailable. */
struct loom__child {
    struct loom_loop *loop;
    pid_t pid;
    int pidfd;                /* -1 in SIGCHLD mode or once reaped */
    struct loom_io io;        /* on pidfd */
    struct loom_signal sig;   /* SIGCHLD mode */
    bool watching;            /* io or sig is registered */
    bool exited;              /* reaped; status is valid */
    int status;               /* asyncio returncode: code or -signal */
    struct loom_list waiters; /* struct loom__child_waiter */
    loom__child_cb on_exit;   /* may be NULL; runs on the loop after the reap */
    void *arg;
};

/* Start watching pid (our child). 0 or -errno (then pid is killed and reaped). */
int loom__child_watch(struct loom_loop *loop, struct loom__child *c, pid_t pid);

/* Wait until reaped or deadline (loop time, -1 none): 0 and *status (may be
 * NULL), -ETIMEDOUT, -ECANCELED. After a reap the wait touches c no more, so
 * c may be closed and freed by another task meanwhile. Suspends. */
int loom__child_wait(struct loom__child *c, int64_t deadline, int *status);

/* Stop watching; a child still running is SIGKILLed and reaped (blocking, brief). */
void loom__child_close(struct loom__child *c);

/* Reset what a forked (not exec'd) child inherited from the loop: signal mask
 * and dispositions. Async-signal-safe. */
void loom__child_reset_signals(void);

#endif
