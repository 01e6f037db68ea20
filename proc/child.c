/* child.c - reaping children: a pidfd per child watched by the loop (Linux >=
 * 5.3), else a SIGCHLD watcher per child that tries waitpid(pid, WNOHANG).
 * The SIGCHLD path costs O(children) waitpid calls per signal; it is only the
 * fallback. Either way the child is reaped as soon as the loop sees it exit. */
#include "proc/proc_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reactor/park.h"

#if !defined(SYS_pidfd_open) && defined(__linux__)
#define SYS_pidfd_open 434
#endif

/* The reaper grants the record (code 1) and fills in the status, so a waiter
 * never has to touch the child record again after the reap (it may be freed
 * by then). */
struct loom__child_waiter {
    struct loom_waiter w;
    int status;
};

static int pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
    const char *off = getenv("LOOM_PROC_NO_PIDFD");
    if (off && *off && strcmp(off, "0") != 0)
        return -ENOSYS;
    long fd = syscall(SYS_pidfd_open, pid, 0); /* pidfds are always close-on-exec */
    return fd < 0 ? -errno : (int)fd;
#else
    (void)pid;
    return -ENOSYS;
#endif
}

static int returncode(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return -WTERMSIG(st);
    return 255;
}

static void unwatch(struct loom__child *c)
{
    if (!c->watching)
        return;
    c->watching = false;
    if (c->pidfd >= 0) {
        loom_io_close(&c->io);
        close(c->pidfd);
        c->pidfd = -1;
    } else {
        loom_signal_stop(&c->sig);
    }
}

/* Reap if it exited; with block, wait for it. Returns true once reaped. */
static bool reap(struct loom__child *c, bool block)
{
    if (c->exited)
        return true;
    int st;
    pid_t r;
    do
        r = waitpid(c->pid, &st, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return false;
    c->exited = true;
    c->status = r < 0 ? 255 : returncode(st); /* r < 0: someone else reaped it (ECHILD) */
    unwatch(c);
    struct loom_waiter *lw;
    while ((lw = loom_waiter_grant(&c->waiters, 1)) != NULL)
        loom_list_entry(lw, struct loom__child_waiter, w)->status = c->status;
    if (c->on_exit)
        c->on_exit(c, c->arg);
    return true;
}

static void on_pidfd(struct loom_io *io, unsigned revents)
{
    (void)revents;
    reap(io->data, false);
}

static void on_sigchld(struct loom_signal *s, int signum)
{
    (void)signum;
    reap(s->data, false);
}

int loom__child_watch(struct loom_loop *loop, struct loom__child *c, pid_t pid)
{
    c->loop = loop;
    c->pid = pid;
    c->exited = false;
    c->watching = false;
    loom_list_init(&c->waiters);
    c->pidfd = pidfd_open_compat(pid);
    int rc = 0;
    if (c->pidfd >= 0) {
        rc = loom_io_init(loop, &c->io, c->pidfd, on_pidfd);
        if (rc == 0) {
            c->io.data = c;
            loom_io_start(&c->io, LOOM_READABLE);
        } else {
            close(c->pidfd);
            c->pidfd = -1;
        }
    } else {
        loom_signal_init(loop, &c->sig, on_sigchld);
        c->sig.data = c;
        rc = loom_signal_start(&c->sig, SIGCHLD);
    }
    if (rc < 0) {
        kill(pid, SIGKILL);
        reap(c, true);
        return rc;
    }
    c->watching = true;
    reap(c, false); /* a SIGCHLD sent before the watcher existed is lost */
    return 0;
}

/* The wait record lives on the waiting task's stack and is unlinked before
 * return; GCC 12+ cannot see that and warns. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
int loom__child_wait(struct loom__child *c, int64_t deadline, int *status)
{
    if (c->exited) {
        if (status)
            *status = c->status;
        return 0;
    }
    struct loom__child_waiter w = {.status = 0};
    int rc = loom_waiter_park(&c->waiters, &w.w, deadline);
    if (w.w.code <= 0)
        return rc; /* -EPERM outside a task, -ETIMEDOUT, -ECANCELED */
    if (status)
        *status = w.status;
    return 0;
}

void loom__child_close(struct loom__child *c)
{
    if (!c->exited) {
        kill(c->pid, SIGKILL);
        reap(c, true);
    }
    unwatch(c);
}

void loom__child_reset_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}
