/* wakeup.c - call_soon_threadsafe: a locked queue plus an eventfd (or a pipe
 * with the poll backend, the portable path).
 *
 * ts_signalled makes concurrent callers write the fd once per drain: the loop
 * clears it before taking the queue, so a call queued after the clear always
 * sends a fresh wake-up and none is lost.
 *
 * loom_async shares the channel: a sender sets the handle's _pending, then
 * signals as above; the loop clears ts_signalled before it scans the open
 * handles, so a send it misses in the scan has written the fd again. The scan
 * is O(open asyncs) per wake-up, as libuv's. */
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

/* C++: calls not made when an exception left a callback are freed, not leaked. */
static void free_calls(struct loom_list *batch)
{
    struct loom_list *n;
    while ((n = loom_list_pop_front(batch)))
        free(loom_list_entry(n, struct loom__ts_call, node));
}

struct async_scan {
    struct loom_list todo;
    struct loom_loop *loop;
};

static void async_scan_end(struct async_scan *s)
{
    loom_list_splice(&s->loop->asyncs, &s->todo); /* after an exception: keep them open */
}

/* Each handle goes back to the open list before its cb runs, so a cb may close
 * or open any handle. */
static void run_asyncs(struct loom_loop *loop)
{
    struct async_scan s __attribute__((cleanup(async_scan_end))) = {.loop = loop};
    loom_list_init(&s.todo);
    loom_list_splice(&s.todo, &loop->asyncs);
    struct loom_list *n;
    while ((n = loom_list_pop_front(&s.todo))) {
        loom_list_push_back(&loop->asyncs, n);
        struct loom_async *a = loom_list_entry(n, struct loom_async, _node);
        if (__atomic_exchange_n(&a->_pending, 0, __ATOMIC_SEQ_CST))
            a->cb(a);
    }
}

static void wakeup_cb(struct loom_io *io, unsigned revents)
{
    struct loom_loop *loop = io->data;
    (void)revents;
    drain_fd(loop->wake_rfd);
    atomic_store(&loop->ts_signalled, 0);
    struct loom_list batch __attribute__((cleanup(free_calls)));
    loom_list_init(&batch);
    pthread_mutex_lock(&loop->ts_lock);
    loom_list_splice(&batch, &loop->ts_queue);
    pthread_mutex_unlock(&loop->ts_lock);
    struct loom_list *n;
    while ((n = loom_list_pop_front(&batch))) {
        struct loom__ts_call *c = loom_list_entry(n, struct loom__ts_call, node);
        loom_callback cb = c->cb;
        void *arg = c->arg;
        free(c);
        cb(arg);
    }
    run_asyncs(loop);
}

static void signal_loop(struct loom_loop *loop)
{
    if (atomic_exchange(&loop->ts_signalled, 1) == 0) {
        uint64_t one = 1;
        ssize_t w;
        do
            w = write(loop->wake_wfd, &one, loop->wake_wfd == loop->wake_rfd ? 8 : 1);
        while (w < 0 && errno == EINTR);
        /* EAGAIN: the pipe is full of wake-ups already; the loop will drain. */
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
    if (!loop || !cb)
        return -EINVAL;
    struct loom__ts_call *c = malloc(sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->cb = cb;
    c->arg = arg;
    pthread_mutex_lock(&loop->ts_lock);
    loom_list_push_back(&loop->ts_queue, &c->node);
    pthread_mutex_unlock(&loop->ts_lock);
    signal_loop(loop);
    return 0;
}

/* --- loom_async --- */

int loom_async_init(struct loom_loop *loop, struct loom_async *a, loom_async_cb cb)
{
    if (!loop || !a || !cb)
        return -EINVAL;
    a->cb = cb;
    a->_loop = loop;
    a->_pending = 0;
    loom_list_push_back(&loop->asyncs, &a->_node);
    loop->active++;
    return 0;
}

int loom_async_send(struct loom_async *a)
{
    struct loom_loop *loop = a ? a->_loop : NULL;
    if (!loop)
        return -EINVAL;
    if (__atomic_exchange_n(&a->_pending, 1, __ATOMIC_SEQ_CST) == 0)
        signal_loop(loop);
    return 0;
}

void loom_async_close(struct loom_async *a)
{
    if (!a || !a->_loop)
        return;
    loom_list_remove(&a->_node);
    a->_loop->active--;
    a->_loop = NULL;
}
