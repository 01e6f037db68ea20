/* wakeup.c - call_soon_threadsafe: a locked queue plus an eventfd (or a pipe
 * with the poll backend, the portable path).
 *
 * ts_signalled makes concurrent callers write the fd once per drain: the loop
 * clears it before taking the queue, so a call queued after the clear always
 * sends a fresh wake-up and none is lost. */
#include "reactor/loop_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef LOOM_HAVE_EVENTFD
#include <sys/eventfd.h>
#endif

static void drain_fd(int fd)
{
    char buf[64];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

static void wakeup_cb(struct loom_io *io, unsigned revents)
{
    struct loom_loop *loop = io->data;
    (void)revents;
    drain_fd(loop->wake_rfd);
    atomic_store(&loop->ts_signalled, 0);
    struct loom_list batch;
    loom_list_init(&batch);
    pthread_mutex_lock(&loop->ts_lock);
    loom_list_splice(&batch, &loop->ts_queue);
    pthread_mutex_unlock(&loop->ts_lock);
    struct loom_list *n;
    while ((n = loom_list_pop_front(&batch))) {
        struct loom__ts_call *c = loom_list_entry(n, struct loom__ts_call, node);
        c->cb(c->arg);
        free(c);
    }
}

static int open_pipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

int loom__wakeup_open(struct loom_loop *loop)
{
    int fds[2];
#ifdef LOOM_HAVE_EVENTFD
    if (strcmp(loop->backend->name, "poll") != 0) {
        fds[0] = fds[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fds[0] < 0)
            return -errno;
    } else
#endif
    {
        int rc = open_pipe(fds);
        if (rc < 0)
            return rc;
    }
    loop->wake_rfd = fds[0];
    loop->wake_wfd = fds[1];
    int rc = loom_io_init(loop, &loop->wake_io, loop->wake_rfd, wakeup_cb);
    if (rc < 0) {
        loom__wakeup_close(loop);
        return rc;
    }
    loop->wake_io.data = loop;
    loom_io_start(&loop->wake_io, LOOM_READABLE);
    loop->active--; /* an idle wake-up channel does not keep run() going */
    return 0;
}

void loom__wakeup_close(struct loom_loop *loop)
{
    if (loop->wake_rfd < 0)
        return;
    if (loop->wake_io._loop) {
        loop->active++;
        loom_io_close(&loop->wake_io);
    }
    struct loom_list *n;
    while ((n = loom_list_pop_front(&loop->ts_queue)))
        free(loom_list_entry(n, struct loom__ts_call, node));
    close(loop->wake_rfd);
    if (loop->wake_wfd != loop->wake_rfd)
        close(loop->wake_wfd);
    loop->wake_rfd = loop->wake_wfd = -1;
}

int loom_call_soon_threadsafe(struct loom_loop *loop, loom_callback cb, void *arg)
{
    struct loom__ts_call *c = malloc(sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->cb = cb;
    c->arg = arg;
    pthread_mutex_lock(&loop->ts_lock);
    loom_list_push_back(&loop->ts_queue, &c->node);
    pthread_mutex_unlock(&loop->ts_lock);
    if (atomic_exchange(&loop->ts_signalled, 1) == 0) {
        uint64_t one = 1;
        ssize_t w;
        do
            w = write(loop->wake_wfd, &one, loop->wake_wfd == loop->wake_rfd ? 8 : 1);
        while (w < 0 && errno == EINTR);
        /* EAGAIN: the pipe is full of wake-ups already; the loop will drain. */
    }
    return 0;
}
