/* fdio.c - task-level waits and socket calls on raw fds, SCM_RIGHTS,
 * sendfile, getnameinfo.
 *
 * A wait registers a watcher on the caller's stack for its duration only (an
 * epoll_ctl add and delete per wait: the price of working on fds loom does not
 * own; the calls try the syscall first, so a wait happens only on EAGAIN). */
#include "net/fdio.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/stream_internal.h"
#include "reactor/executor.h"
#include "reactor/park.h"

/* --- waiting --- */

struct fdwait {
    struct loom_task *task;
    unsigned revents;
};

static void on_ready(struct loom_io *io, unsigned revents)
{
    struct fdwait *w = io->data;
    w->revents |= revents;
    loom_wake(w->task, 0);
}

/* Wait for events on fd until deadline (absolute, -1: none). */
static int wait_until(struct loom_task *self, int fd, unsigned events, int64_t deadline)
{
    struct loom_io io;
    struct fdwait w = {self, 0};
    int rc = loom_io_init(loom_task_loop(self), &io, fd, on_ready);
    if (rc < 0)
        return rc;
    io.data = &w;
    loom_io_start(&io, events);
    do
        rc = loom_park(self, deadline);
    while (rc == 0 && !w.revents);
    loom_io_close(&io);
    if (rc == -ECANCELED || !w.revents)
        return rc;
    return (int)(w.revents & events) ? (int)(w.revents & events) : (int)w.revents;
}

int loom_fd_wait(int fd, unsigned events, int64_t timeout_ns)
{
    events &= LOOM_READABLE | LOOM_WRITABLE;
    if (!events)
        return -EINVAL;
    if (fd < 0)
        return -EBADF;
    if (timeout_ns == 0) {
        struct pollfd p = {fd,
                           (short)(((events & LOOM_READABLE) ? POLLIN : 0) |
                                   ((events & LOOM_WRITABLE) ? POLLOUT : 0)),
                           0};
        if (poll(&p, 1, 0) < 0)
            return -errno;
        unsigned r = ((p.revents & POLLIN) ? LOOM_READABLE : 0) |
                     ((p.revents & POLLOUT) ? LOOM_WRITABLE : 0);
        if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
            r = events;
        return r ? (int)r : -ETIMEDOUT;
    }
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    return wait_until(self, fd, events, loom_deadline(loom_task_loop(self), timeout_ns));
}

typedef ssize_t (*fd_op)(int fd, void *ctx);

/* Try op; on -EAGAIN wait for dir and try again until the deadline. */
static ssize_t retry(int fd, unsigned dir, fd_op op, void *ctx, int64_t timeout_ns)
{
    int64_t deadline = -2;
    for (;;) {
        ssize_t n = op(fd, ctx);
        if (n != -EAGAIN)
            return n;
        if (timeout_ns == 0)
            return -ETIMEDOUT;
        struct loom_task *self = loom_task_current();
        if (!self)
            return -EPERM;
        if (deadline == -2)
            deadline = loom_deadline(loom_task_loop(self), timeout_ns);
        int rc = wait_until(self, fd, dir, deadline);
        if (rc < 0)
            return rc;
    }
}

static ssize_t errno_rc(void) { return errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno; }

/* --- socket calls --- */

struct buf_ctx {
    void *buf;
    size_t len, done;
};

static ssize_t op_recv(int fd, void *arg)
{
    struct buf_ctx *c = arg;
    ssize_t n = recv(fd, c->buf, c->len, 0);
    return n >= 0 ? n : errno_rc();
}

ssize_t loom_sock_recv(int fd, void *buf, size_t len, int64_t timeout_ns)
{
    struct buf_ctx c = {buf, len, 0};
    return retry(fd, LOOM_READABLE, op_recv, &c, timeout_ns);
}

static ssize_t op_sendall(int fd, void *arg)
{
    struct buf_ctx *c = arg;
    while (c->done < c->len) {
        ssize_t n = send(fd, (char *)c->buf + c->done, c->len - c->done, MSG_NOSIGNAL);
        if (n < 0)
            return errno_rc();
        c->done += (size_t)n;
    }
    return 0;
}

int loom_sock_sendall(int fd, const void *buf, size_t len, int64_t timeout_ns, size_t *sent)
{
    struct buf_ctx c = {(void *)buf, len, 0};
    ssize_t rc = retry(fd, LOOM_WRITABLE, op_sendall, &c, timeout_ns);
    if (sent)
        *sent = c.done;
    return (int)rc;
}

struct accept_ctx {
    struct sockaddr_storage *addr;
    socklen_t *len;
};

static ssize_t op_accept(int fd, void *arg)
{
    struct accept_ctx *c = arg;
    int s = accept4(fd, (struct sockaddr *)c->addr, c->len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (s >= 0)
        return s;
    return errno == ECONNABORTED ? -EAGAIN : errno_rc();
}

int loom_sock_accept(int fd, struct sockaddr_storage *addr, socklen_t *addrlen, int64_t timeout_ns)
{
    socklen_t dummy = sizeof(*addr);
    struct accept_ctx c = {addr, addr ? (addrlen ? addrlen : &dummy) : NULL};
    return (int)retry(fd, LOOM_READABLE, op_accept, &c, timeout_ns);
}

int loom_sock_connect(int fd, const struct sockaddr *addr, socklen_t addrlen, int64_t timeout_ns)
{
    if (connect(fd, addr, addrlen) == 0 || errno == EISCONN)
        return 0;
    if (errno != EINPROGRESS && errno != EAGAIN)
        return -errno;
    if (timeout_ns == 0)
        return -ETIMEDOUT;
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    int rc = wait_until(self, fd, LOOM_WRITABLE, loom_deadline(loom_task_loop(self), timeout_ns));
    if (rc < 0)
        return rc;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    return -err;
}

/* --- SCM_RIGHTS --- */

union fd_cmsg {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int) * LOOM_FDIO_MAX_FDS)];
};

struct fds_ctx {
    void *buf;
    size_t len;
    int *fds;
    size_t nfds; /* send: count; recv: room in, received out */
};

static ssize_t op_sendmsg(int fd, void *arg)
{
    struct fds_ctx *c = arg;
    struct iovec iov = {c->buf, c->len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    union fd_cmsg cm;
    if (c->nfds) {
        memset(&cm, 0, sizeof cm);
        m.msg_control = cm.buf;
        m.msg_controllen = CMSG_SPACE(sizeof(int) * c->nfds);
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int) * c->nfds);
        memcpy(CMSG_DATA(h), c->fds, sizeof(int) * c->nfds);
    }
    ssize_t n = sendmsg(fd, &m, MSG_NOSIGNAL);
    return n >= 0 ? n : errno_rc();
}

ssize_t loom_sock_sendmsg_fds(int fd, const void *buf, size_t len, const int *fds, size_t nfds,
                              int64_t timeout_ns)
{
    if (!len || nfds > LOOM_FDIO_MAX_FDS || (nfds && !fds))
        return -EINVAL;
    struct fds_ctx c = {(void *)buf, len, (int *)fds, nfds};
    return retry(fd, LOOM_WRITABLE, op_sendmsg, &c, timeout_ns);
}

/* Keep the fds of h that fit in c, close the rest. */
static void take_fds(struct fds_ctx *c, struct cmsghdr *h, size_t *got)
{
    size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
        int f;
        memcpy(&f, CMSG_DATA(h) + i * sizeof(int), sizeof f);
        if (*got < c->nfds)
            c->fds[(*got)++] = f;
        else
            close(f);
    }
}

static ssize_t op_recvmsg(int fd, void *arg)
{
    struct fds_ctx *c = arg;
    struct iovec iov = {c->buf, c->len};
    union fd_cmsg cm;
    struct msghdr m = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof cm.buf};
    ssize_t n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
    if (n < 0)
        return errno_rc();
    size_t got = 0;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
        if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
            take_fds(c, h, &got);
    c->nfds = got;
    return n;
}

ssize_t loom_sock_recvmsg_fds(int fd, void *buf, size_t len, int *fds, size_t *nfds,
                              int64_t timeout_ns)
{
    if (!nfds || (*nfds && !fds))
        return -EINVAL;
    struct fds_ctx c = {buf, len, fds, *nfds};
    ssize_t n = retry(fd, LOOM_READABLE, op_recvmsg, &c, timeout_ns);
    *nfds = n >= 0 ? c.nfds : 0;
    return n;
}

/* --- sendfile --- */

/* Time left until deadline as a timeout (-1: none, 0: passed). */
static int64_t left(struct loom_loop *loop, int64_t deadline)
{
    if (deadline < 0)
        return -1;
    loom_loop_update_time(loop);
    int64_t d = deadline - loom_loop_now(loop);
    return d > 0 ? d : 0;
}

ssize_t loom__sendfile_nosig(int out, int in, off_t *off, size_t n)
{
    loom__ignore_sigpipe();
    sigset_t pipe, old, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &old);
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE);
    ssize_t r = sendfile(out, in, off, n);
    int err = errno;
    if (r < 0 && err == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = err;
    return r;
}

/* The kernel path; -ENOSYS when sendfile cannot do this file (fall back). */
static ssize_t sendfile_kernel(struct loom_stream *s, int file_fd, off_t *off, size_t count,
                               int64_t deadline, size_t *done)
{
    while (*done < count) {
        size_t chunk = count - *done > (1u << 30) ? (1u << 30) : count - *done;
        ssize_t n = loom__sendfile_nosig(s->fdt.fd, file_fd, off, chunk);
        if (n > 0) {
            *done += (size_t)n;
            continue;
        }
        if (n == 0)
            break; /* the file is shorter */
        if (errno == EINVAL || errno == ENOSYS || errno == EOVERFLOW)
            return *done ? -errno : -ENOSYS;
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
        if (errno == EINTR)
            continue;
        int rc = loom__stream_wait(s, LOOM_WRITABLE, deadline);
        s->rdir = LOOM_READABLE; /* the built-in transport always reads on readable */
        if (rc < 0)
            return rc;
    }
    return (ssize_t)*done;
}

/* Through the stream: pread, write, drain. */
static ssize_t sendfile_copy(struct loom_stream *s, int file_fd, off_t off, size_t count,
                             int64_t deadline, size_t done)
{
    enum { PIECE = 64 * 1024 };
    char *buf = malloc(PIECE);
    if (!buf)
        return -ENOMEM;
    ssize_t rc = 0;
    while (done < count) {
        size_t want = count - done < PIECE ? count - done : PIECE;
        ssize_t n = pread(file_fd, buf, want, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : 0;
            break;
        }
        rc = loom_stream_write(s, buf, (size_t)n);
        if (rc == 0)
            rc = loom_stream_drain(s, left(s->loop, deadline));
        if (rc < 0)
            break;
        off += n;
        done += (size_t)n;
    }
    free(buf);
    if (rc < 0)
        return rc;
    rc = loom_stream_flush(s, left(s->loop, deadline));
    return rc < 0 ? rc : (ssize_t)done;
}

ssize_t loom_sendfile(struct loom_stream *s, int file_fd, off_t offset, size_t count,
                      int64_t timeout_ns)
{
    if (!s || file_fd < 0 || offset < 0)
        return -EINVAL;
    if (!loom_task_current())
        return -EPERM;
    if (count == 0) {
        struct stat st;
        if (fstat(file_fd, &st) < 0)
            return -errno;
        if (st.st_size <= offset)
            return 0;
        count = (size_t)(st.st_size - offset);
    }
    int64_t deadline = loom_deadline(s->loop, timeout_ns);
    int rc = loom_stream_flush(s, timeout_ns);
    if (rc < 0)
        return rc;
    size_t done = 0;
    off_t off = offset;
    if (!s->closed && s->ctx == &s->fdt && s->fd >= 0 && s->pollable) {
        ssize_t n = sendfile_kernel(s, file_fd, &off, count, deadline, &done);
        if (n != -ENOSYS)
            return n;
    }
    return sendfile_copy(s, file_fd, off, count, deadline, done);
}

/* --- getnameinfo ---
 *
 * As loom_resolve (tcp.c): the lookup belongs to a helper task, so a caller
 * that gives up leaves at once and the helper frees the job when the thread is
 * done. */

struct nameinfo_job {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int flags;
    bool want_host, want_serv;
    int rc;
    bool abandoned;
    char host[NI_MAXHOST];
    char serv[NI_MAXSERV];
};

static intptr_t nameinfo_blocking(void *arg)
{
    struct nameinfo_job *j = arg;
    int rc = getnameinfo((struct sockaddr *)&j->addr, j->addrlen, j->want_host ? j->host : NULL,
                         j->want_host ? sizeof j->host : 0, j->want_serv ? j->serv : NULL,
                         j->want_serv ? sizeof j->serv : 0, j->flags);
    if (rc == EAI_MEMORY)
        return -ENOMEM;
    if (rc == EAI_FAMILY || rc == EAI_BADFLAGS)
        return -EINVAL;
    if (rc == EAI_OVERFLOW)
        return -ENOSPC;
    if (rc == EAI_SYSTEM)
        return errno ? -errno : LOOM_EDNS;
    return rc ? LOOM_EDNS : 0;
}

static intptr_t nameinfo_helper(void *arg)
{
    struct nameinfo_job *j = arg;
    intptr_t rc = loom_to_thread(nameinfo_blocking, j);
    j->rc = (int)rc;
    if (j->abandoned)
        free(j);
    return 0;
}

static int copy_out(char *dst, size_t cap, const char *src)
{
    if (!dst || !cap)
        return 0;
    size_t n = strlen(src);
    if (n >= cap)
        return -ENOSPC;
    memcpy(dst, src, n + 1);
    return 0;
}

int loom_getnameinfo(const struct sockaddr *addr, socklen_t addrlen, char *host, size_t hostlen,
                     char *serv, size_t servlen, int flags, int64_t timeout_ns)
{
    if (!addr || addrlen == 0 || addrlen > sizeof(struct sockaddr_storage))
        return -EINVAL;
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    struct nameinfo_job *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    memcpy(&j->addr, addr, addrlen);
    j->addrlen = addrlen;
    j->flags = flags;
    j->want_host = host && hostlen;
    j->want_serv = serv && servlen;
    struct loom_task_options o = {.name = "getnameinfo", .stack_size = 32 * 1024};
    struct loom_task *helper;
    int rc = loom_task_spawn(loom_task_loop(self), nameinfo_helper, j, &o, &helper);
    if (rc < 0) {
        free(j);
        return rc;
    }
    rc = loom_park_until_done(self, helper, loom_deadline(loom_task_loop(self), timeout_ns));
    if (rc < 0 && !loom_task_done(helper)) {
        j->abandoned = true; /* the helper frees j */
        loom_task_release(helper);
        return rc;
    }
    loom_task_release(helper);
    if (rc == 0)
        rc = j->rc;
    if (rc == 0)
        rc = copy_out(host, hostlen, j->host);
    if (rc == 0)
        rc = copy_out(serv, servlen, j->serv);
    free(j);
    return rc;
}
