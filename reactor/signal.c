/* signal.c - signals delivered on the loop: signalfd on Linux (the signals are
 * blocked and read from an fd), a self-pipe with the poll backend and
 * elsewhere (a handler writes the signal number to a pipe).
 *
 * Only one loop per process should watch a given signal. Threads that loom
 * starts block every signal, so process-directed signals reach the loop. */
#include "reactor/loop_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef LOOM_HAVE_SIGNALFD
#include <sys/signalfd.h>
#endif

#define LOOM_NSIG 65

static _Atomic int pipe_wfd[LOOM_NSIG] = {0}; /* write end + 1; 0 = none */

static void on_signal(int signum)
{
    int fd = atomic_load(&pipe_wfd[signum]) - 1;
    if (fd >= 0) {
        int saved = errno;
        unsigned char b = (unsigned char)signum;
        ssize_t w = write(fd, &b, 1);
        (void)w;
        errno = saved;
    }
}

/* Each watcher goes back on the loop's list before its callback runs, so a
 * callback may stop or restart any watcher (not only its own) safely. */
static void deliver(struct loom_loop *loop, int signum)
{
    struct loom_list batch, *it;
    loom_list_init(&batch);
    loom_list_splice(&batch, &loop->signals);
    while ((it = loom_list_pop_front(&batch))) {
        loom_list_push_back(&loop->signals, it);
        struct loom_signal *s = loom_list_entry(it, struct loom_signal, _node);
        if (s->signum == signum)
            s->cb(s, signum);
    }
}

static void signal_io_cb(struct loom_io *io, unsigned revents)
{
    struct loom_loop *loop = io->data;
    (void)revents;
#ifdef LOOM_HAVE_SIGNALFD
    if (loop->sig_use_fd) {
        struct signalfd_siginfo si;
        while (read(loop->sig_rfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
            deliver(loop, (int)si.ssi_signo);
        return;
    }
#endif
    unsigned char buf[64];
    ssize_t n;
    while ((n = read(loop->sig_rfd, buf, sizeof(buf))) > 0)
        for (ssize_t i = 0; i < n; i++)
            deliver(loop, buf[i]);
}

int loom__signals_open(struct loom_loop *loop)
{
    if (loop->sig_rfd >= 0)
        return 0;
    sigemptyset(&loop->sig_mask);
    int rfd, wfd;
#ifdef LOOM_HAVE_SIGNALFD
    loop->sig_use_fd = strcmp(loop->backend->name, "poll") != 0;
    if (loop->sig_use_fd) {
        rfd = wfd = signalfd(-1, &loop->sig_mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (rfd < 0)
            return -errno;
    } else
#endif
    {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
            return -errno;
        rfd = fds[0];
        wfd = fds[1];
        loop->sig_saved = calloc(LOOM_NSIG, sizeof(struct sigaction));
        if (!loop->sig_saved) {
            close(rfd);
            close(wfd);
            return -ENOMEM;
        }
    }
    loop->sig_rfd = rfd;
    loop->sig_wfd = wfd;
    int rc = loom_io_init(loop, &loop->sig_io, rfd, signal_io_cb);
    if (rc < 0)
        return rc;
    loop->sig_io.data = loop;
    loom_io_start(&loop->sig_io, LOOM_READABLE);
    loop->active--; /* the watchers themselves count, not the channel */
    return 0;
}

void loom__signals_close(struct loom_loop *loop)
{
    if (loop->sig_rfd < 0)
        return;
    loop->active++;
    loom_io_close(&loop->sig_io);
    close(loop->sig_rfd);
    if (loop->sig_wfd != loop->sig_rfd)
        close(loop->sig_wfd);
    loop->sig_rfd = loop->sig_wfd = -1;
    free(loop->sig_saved);
    loop->sig_saved = NULL;
}

static int watch(struct loom_loop *loop, int signum)
{
    sigaddset(&loop->sig_mask, signum);
#ifdef LOOM_HAVE_SIGNALFD
    if (loop->sig_use_fd) {
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, signum);
        pthread_sigmask(SIG_BLOCK, &one, NULL);
        return signalfd(loop->sig_rfd, &loop->sig_mask, 0) < 0 ? -errno : 0;
    }
#endif
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigfillset(&sa.sa_mask);
    atomic_store(&pipe_wfd[signum], loop->sig_wfd + 1);
    if (sigaction(signum, &sa, &loop->sig_saved[signum]) < 0) {
        atomic_store(&pipe_wfd[signum], 0);
        return -errno;
    }
    return 0;
}

static void unwatch(struct loom_loop *loop, int signum)
{
    sigdelset(&loop->sig_mask, signum);
#ifdef LOOM_HAVE_SIGNALFD
    if (loop->sig_use_fd) {
        signalfd(loop->sig_rfd, &loop->sig_mask, 0);
        /* Take pending instances first so unblocking does not kill us. */
        struct signalfd_siginfo si;
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, signum);
        int tmp = signalfd(-1, &one, SFD_NONBLOCK | SFD_CLOEXEC);
        if (tmp >= 0) {
            while (read(tmp, &si, sizeof(si)) > 0)
                ;
            close(tmp);
        }
        pthread_sigmask(SIG_UNBLOCK, &one, NULL);
        return;
    }
#endif
    sigaction(signum, &loop->sig_saved[signum], NULL);
    atomic_store(&pipe_wfd[signum], 0);
}

void loom_signal_init(struct loom_loop *loop, struct loom_signal *s, loom_signal_cb cb)
{
    s->cb = cb;
    s->signum = 0;
    s->_loop = loop;
    loom_list_init(&s->_node);
}

int loom_signal_start(struct loom_signal *s, int signum)
{
    struct loom_loop *loop = s->_loop;
    if (signum <= 0 || signum >= LOOM_NSIG || signum == SIGKILL || signum == SIGSTOP)
        return -EINVAL;
    if (loom_list_linked(&s->_node))
        loom_signal_stop(s);
    int rc = loom__signals_open(loop);
    if (rc < 0)
        return rc;
    if (loop->sig_count[signum] == 0 && (rc = watch(loop, signum)) < 0)
        return rc;
    loop->sig_count[signum]++;
    s->signum = signum;
    loom_list_push_back(&loop->signals, &s->_node);
    loop->active++;
    return 0;
}

void loom_signal_stop(struct loom_signal *s)
{
    struct loom_loop *loop = s->_loop;
    if (!loom_list_linked(&s->_node))
        return;
    loom_list_remove(&s->_node);
    loop->active--;
    if (--loop->sig_count[s->signum] == 0)
        unwatch(loop, s->signum);
}
