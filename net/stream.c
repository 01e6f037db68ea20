/* stream.c - buffered streams over a byte transport.
 *
 * Syscall discipline: every operation tries the transport first and only
 * parks on -EAGAIN; the fd's watcher stays registered with the backend for
 * the stream's life, and loom_io_stop() is lazy, so going from "waiting" to
 * "not waiting" and back costs no syscall unless an unwanted event arrives.
 *
 * Memory: an idle stream holds no buffer. The read buffer is freed when it is
 * empty and the reader is about to park, the write buffer whenever it empties,
 * and read_some() into an empty stream reads straight into the caller's
 * buffer. So a connection parked in a read costs only this struct.
 *
 * Completion mode: on a backend that receives by itself (io_uring), a plain
 * socket stream that waits to read starts a loop receive (completion.h)
 * instead of polling: the kernel receives the next data (up to RBUF_MIN
 * bytes) as it arrives, with no recv syscall, the loop copies it into rbuf
 * and wakes the reader. One receive per wait, so a stream takes data only
 * when read (and at most one buffer after a reader gave up), as on
 * readiness: a slow reader holds its peer back. Writes are queued and handed to the loop's completion send
 * (one in flight per stream; what is written meanwhile goes with the next),
 * so they reach the kernel with the loop's next poll, all streams' at once.
 * Any failure to start a receive or a send puts the stream back on readiness
 * for good. */
#include "net/stream_internal.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/un.h>

#include "reactor/compat.h"
#ifdef LOOM_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define RBUF_MIN 8192
#define WBUF_SMALL 1008 /* + malloc's header: its largest per-thread cached size */

enum stream_recv_mode {
    RECV_UNTRIED, /* readiness until the first wait to read */
    RECV_ON,      /* completion mode */
    RECV_OFF,     /* readiness: not a plain socket, or the backend cannot */
};

/* Received data that could not go into rbuf without moving it. */
struct loom__rchunk {
    struct loom__rchunk *next;
    size_t len;
    char data[];
};

/* --- the built-in fd transport --- */

static ssize_t fd_read(void *ctx, void *buf, size_t len, unsigned *wait)
{
    struct loom__fd_transport *t = ctx;
    /* recv, not read: the socket path skips vfs_read's checks (~0.5% of the
     * server's CPU per echo round trip). */
    ssize_t n = t->is_socket ? recv(t->fd, buf, len, 0) : read(t->fd, buf, len);
    if (n >= 0)
        return n;
    *wait = LOOM_READABLE;
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

static ssize_t fd_writev(void *ctx, const struct iovec *iov, int iovcnt, unsigned *wait)
{
    struct loom__fd_transport *t = ctx;
    ssize_t n;
    if (t->is_socket && iovcnt == 1) {
        /* send, not sendmsg: no msghdr and iovec to copy in (the common case) */
        n = send(t->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
    } else if (t->is_socket) {
        struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
        n = sendmsg(t->fd, &m, MSG_NOSIGNAL);
    } else {
        n = writev(t->fd, iov, iovcnt);
    }
    if (n >= 0)
        return n;
    *wait = LOOM_WRITABLE;
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

static int fd_shutdown_write(void *ctx)
{
    struct loom__fd_transport *t = ctx;
    if (t->is_socket)
        return shutdown(t->fd, SHUT_WR) < 0 ? -errno : 0;
    if (t->borrow || (t->orig_flags & O_ACCMODE) != O_WRONLY)
        return -ENOTSUP; /* a borrowed fd or a TTY: not ours to close */
    /* A pipe's reader sees EOF only when the write end is closed. The watcher
     * goes first, so the loop never holds a number the kernel may reuse. */
    struct loom_stream *s = loom_list_entry(t, struct loom_stream, fdt);
    if (s->fd >= 0)
        loom_io_close(&s->io);
    s->fd = -1;
    close(t->fd);
    t->fd = -1;
    return 0;
}

static void fd_close(void *ctx)
{
    struct loom__fd_transport *t = ctx;
    if (t->fd < 0)
        return;
    if (t->borrow)
        (void)fcntl(t->fd, F_SETFL, t->orig_flags); /* best effort: a close cannot fail */
    else
        close(t->fd);
    t->fd = -1;
}

static const struct loom_stream_ops fd_ops = {fd_read, fd_writev, fd_shutdown_write, fd_close};

/* --- lifecycle --- */

static void on_io(struct loom_io *io, unsigned revents);
static void on_recv(struct loom__recv *r, const char *data, int res, bool more);
static void on_sent(struct loom__send *op, int res);

/* A stream with no transport attached yet; NULL on ENOMEM. */
static struct loom_stream *stream_new(struct loom_loop *loop, int fd)
{
    /* Aligned: the hot fields then take four cache lines, not five or six. */
    size_t size = (sizeof(struct loom_stream) + 63) & ~(size_t)63;
    struct loom_stream *s = aligned_alloc(64, size);
    if (!s)
        return NULL;
    memset(s, 0, size);
    s->loop = loop;
    s->fd = fd;
    s->pollable = fd >= 0;
    s->limit = LOOM_STREAM_LIMIT;
    s->timeout = -1;
    s->high = LOOM_STREAM_HIGH_WATER;
    s->low = LOOM_STREAM_LOW_WATER;
    s->rdir = LOOM_READABLE;
    s->wdir = LOOM_WRITABLE;
    s->pend_tail = &s->pend;
    s->recv.cb = on_recv;
    s->snd.cb = on_sent;
    if (fd >= 0 && loom_io_init(loop, &s->io, fd, on_io) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

int loom_stream_open(struct loom_loop *loop, int fd, const struct loom_stream_ops *ops, void *ctx,
                     unsigned flags, struct loom_stream **out)
{
    struct loom_stream *s = stream_new(loop, fd);
    if (!s) {
        ops->close(ctx);
        return -ENOMEM;
    }
    s->ops = ops;
    s->ctx = ctx;
    *out = s;
    return 0;
}

/* Files and devices such as /dev/null never block and cannot be polled (epoll
 * refuses them), so the stream reads and writes them without waiting. */
static bool fd_pollable(int fd, bool *is_socket)
{
    struct stat st;
    *is_socket = false;
    if (fstat(fd, &st) < 0)
        return true;
    *is_socket = S_ISSOCK(st.st_mode);
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode))
        return false;
    return !S_ISCHR(st.st_mode) || isatty(fd);
}

/* Writing to a pipe whose reader is gone raises SIGPIPE, and so does
 * sendfile(2) to a reset socket; sockets' sends avoid it with MSG_NOSIGNAL,
 * pipes and sendfile cannot, and blocking the signal in one thread does not
 * help (the kernel may deliver it to another). So the default disposition is
 * turned into "ignore", once (what libuv and Python do). A handler the
 * program set is kept. */
static void ignore_default_sigpipe(void)
{
    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL) {
        struct sigaction ign = {.sa_handler = SIG_IGN};
        sigaction(SIGPIPE, &ign, NULL);
    }
}

void loom__ignore_sigpipe(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, ignore_default_sigpipe);
}

/* A stream over fd whose nature is known (fl: its F_GETFL flags). */
static int open_known(struct loom_loop *loop, int fd, unsigned flags, int fl, bool is_socket,
                      bool pollable, struct loom_stream **out)
{
    struct loom__fd_transport t = {fd, is_socket, (flags & LOOM_STREAM_BORROW) != 0, fl};
    /* A blocking fd would stall the whole loop: refuse rather than risk it. */
    if (!(fl & O_NONBLOCK) && pollable && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        int e = -errno;
        fd_close(&t);
        return e;
    }
    struct loom_stream *s = stream_new(loop, pollable ? fd : -1);
    if (!s) {
        fd_close(&t);
        return -ENOMEM;
    }
    if (!is_socket && (fl & O_ACCMODE) != O_RDONLY)
        loom__ignore_sigpipe();
    s->fdt = t;
    s->ops = &fd_ops;
    s->ctx = &s->fdt;
    *out = s;
    return 0;
}

int loom_stream_open_fd(struct loom_loop *loop, int fd, unsigned flags, struct loom_stream **out)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -EBADF;
    bool is_socket;
    bool pollable = fd_pollable(fd, &is_socket);
    return open_known(loop, fd, flags, fl, is_socket, pollable, out);
}

int loom__stream_open_socket(struct loom_loop *loop, int fd, struct loom_stream **out)
{
    return open_known(loop, fd, 0, O_RDWR | O_NONBLOCK, true, true, out);
}

static void stream_free(struct loom_stream *s)
{
    free(s->rbuf);
    free(s->wbuf);
    free(s);
}

static void pend_free(struct loom_stream *s)
{
    while (s->pend) {
        struct loom__rchunk *c = s->pend;
        s->pend = c->next;
        free(c);
    }
    s->pend_tail = &s->pend;
    s->pend_bytes = 0;
}

void loom__stream_release(struct loom_stream *s)
{
    loom__recv_stop(s->loop, &s->recv, true); /* before the fd closes */
    pend_free(s);
    if (s->snd.live) { /* the kernel may still read the buffer it sends from */
        char **inflight = s->wold ? &s->wold : &s->wbuf;
        loom__send_abandon(s->loop, &s->snd, *inflight);
        *inflight = NULL;
    }
    free(s->wold);
    s->wold = NULL;
    if (s->fd >= 0)
        loom_io_close(&s->io);
    s->ops->close(s->ctx);
    free(s->rbuf);
    free(s->wbuf);
    s->rbuf = s->wbuf = NULL;
    s->rcap = s->rstart = s->rend = s->wcap = s->wstart = s->wend = 0;
}

static void stream_shut(struct loom_stream *s)
{
    s->closed = true;
    loom__stream_release(s);
    if (s->reader)
        loom_wake(s->reader, -EBADF);
    if (s->drainer)
        loom_wake(s->drainer, -EBADF);
    if (!s->waiters)
        stream_free(s);
}

void loom_stream_close(struct loom_stream *s)
{
    if (!s || s->closed)
        return;
    if (s->wend > s->wstart && !s->werr)
        loom__stream_flush_now(s);
    if (s->eof_pending && !s->eof_sent && s->wend == s->wstart && s->ops->shutdown_write)
        s->ops->shutdown_write(s->ctx);
    stream_shut(s);
}

void loom_stream_abort(struct loom_stream *s)
{
    if (!s || s->closed)
        return;
    if (s->ops == &fd_ops && s->fdt.is_socket && s->fdt.fd >= 0) {
        struct linger lg = {1, 0};
        setsockopt(s->fdt.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    stream_shut(s);
}

/* --- waiting --- */

/* Writes go through the loop's completion sends: once the stream receives
 * that way, and for as long as a send is in flight (order). */
static bool send_async(const struct loom_stream *s)
{
    return s->snd.live || (s->urecv == RECV_ON && !s->on_write);
}

void loom__stream_update(struct loom_stream *s)
{
    if (s->fd < 0 || s->closed)
        return;
    unsigned want = 0;
    /* In completion mode the receive wakes a reader, not readiness (but a
     * wait for writability through the reader's slot still polls). */
    bool by_recv = s->urecv == RECV_ON && s->rdir == LOOM_READABLE;
    if ((s->reader && !by_recv) || (s->on_readable && s->hook_reading))
        want |= s->rdir;
    if (s->wend > s->wstart && !s->werr && !send_async(s))
        want |= s->wdir;
    unsigned off = (LOOM_READABLE | LOOM_WRITABLE) & ~want;
    if (off)
        loom_io_stop(&s->io, off);
    if (want)
        loom_io_start(&s->io, want);
}

static void wake_drainer(struct loom_stream *s)
{
    size_t pending = s->wend - s->wstart;
    if (s->drainer && (pending <= s->drain_target || s->werr))
        loom_wake(s->drainer, 0);
}

static void on_io(struct loom_io *io, unsigned revents)
{
    struct loom_stream *s = loom_list_entry(io, struct loom_stream, io);
    bool same = !(revents & ~s->rdir); /* the watcher wants what it did */
    if ((revents & s->wdir) && s->wend > s->wstart && !s->werr) {
        loom__stream_flush_now(s);
        if (s->closed)
            return;
        same = false;
    }
    if (revents & s->rdir) {
        if (s->reader) {
            loom_wake(s->reader, 0); /* park_in updates the watcher when it runs */
        } else if (s->on_readable && s->hook_reading) {
            s->on_readable(s); /* may close the stream */
            same = false;
        } else {
            same = false;
        }
        if (s->closed)
            return;
    }
    if (!same)
        loom__stream_update(s);
}

/* Park the current task in *slot until woken or deadline. Returns 0,
 * -ETIMEDOUT, -ECANCELED, -EBADF (closed meanwhile: the stream is gone),
 * -EBUSY (someone else waits there) or -EPERM (not in a task). */
static int park_in(struct loom_stream *s, struct loom_task **slot, int64_t deadline)
{
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    if (*slot)
        return -EBUSY;
    int64_t dl = deadline;
    if (!s->pollable && slot == &s->reader) {
        /* Cannot be polled and said "would block": retry soon. */
        int64_t soon = loom_loop_now(s->loop) + LOOM_MS(1);
        dl = deadline < 0 || soon < deadline ? soon : deadline;
    }
    *slot = self;
    s->waiters++;
    loom__stream_update(s);
    int rc = loom_park(self, dl);
    s->waiters--;
    if (s->closed) {
        if (!s->waiters)
            stream_free(s);
        return -EBADF;
    }
    *slot = NULL;
    loom__stream_update(s);
    if (rc == -ETIMEDOUT && dl != deadline)
        rc = 0;
    return rc;
}

int loom__stream_wait(struct loom_stream *s, unsigned dir, int64_t deadline)
{
    if (s->closed)
        return -EBADF;
    if (deadline >= 0 && deadline <= loom_loop_now(s->loop))
        return -ETIMEDOUT;
    if (s->reader)
        return -EBUSY;
    s->rdir = dir;
    return park_in(s, &s->reader, deadline);
}

int loom__stream_set_transport(struct loom_stream *s, const struct loom_stream_ops *ops, void *ctx)
{
    if (s->closed || s->ops != &fd_ops || !s->fdt.is_socket || s->fdt.borrow || s->fd < 0)
        return -EINVAL;
    if (s->reader || s->drainer)
        return -EBUSY;
    if (s->rend != s->rstart || s->pend || s->wend != s->wstart || s->eof || s->rerr || s->werr ||
        s->eof_pending || s->stop_reading)
        return -EINVAL;
    loom__recv_stop(s->loop, &s->recv, true);
    s->urecv = RECV_OFF;
    s->ops = ops;
    s->ctx = ctx;
    s->fdt.fd = -1; /* the fd is ctx's now */
    s->rshort = false;
    return 0;
}

static int64_t read_deadline(struct loom_stream *s, int64_t timeout_ns)
{
    return loom_deadline(s->loop, timeout_ns < 0 ? s->timeout : timeout_ns);
}

/* --- reading --- */

static size_t avail(const struct loom_stream *s) { return s->rend - s->rstart; }

/* The transport returned 0: LOOM_EOF, or -ECONNRESET when a write met the
 * reset that ended the connection (the kernel reports it once). */
static int at_eof(struct loom_stream *s)
{
    if (s->write_reset)
        return s->rerr = -ECONNRESET;
    s->eof = true;
    return LOOM_EOF;
}

static void consume(struct loom_stream *s, size_t n)
{
    s->rstart += n;
    if (s->rstart == s->rend)
        s->rstart = s->rend = 0;
}

/* Empty read buffers kept per thread (up to SPARE_MAX). A request/response
 * connection frees its buffer before every wait (an idle stream holds none)
 * and takes a new one after it; with glibc, freeing a chunk beside the heap
 * top runs the trim check each time (~2% of the server's CPU per 4 KiB echo
 * round trip), and in completion mode a whole batch of streams takes buffers
 * in one dispatch before any reader runs (one spare made glibc trim and
 * re-fault the heap top every iteration: ~6% of the CPU). The spares also put
 * the same warm memory under every connection of the thread. A thread's
 * spares are freed as it exits (the key's destructor). Under ASan a spare is
 * poisoned while it waits, so a stale view into a freed read buffer is still
 * reported as it would be after free(). */
#define SPARE_MAX 64
static _Thread_local char *spare_rbufs[SPARE_MAX];
static _Thread_local unsigned nspare;
static _Thread_local bool spare_ok; /* this thread's destructor is registered */
static pthread_key_t spare_key;
static bool spare_key_ok;

static void spare_free(void *marker)
{
    (void)marker;
    while (nspare) {
        char *b = spare_rbufs[--nspare];
#ifdef LOOM_ASAN
        ASAN_UNPOISON_MEMORY_REGION(b, RBUF_MIN);
#endif
        free(b);
    }
}

static void spare_key_make(void) { spare_key_ok = pthread_key_create(&spare_key, spare_free) == 0; }

static void rbuf_put(char *b, size_t cap)
{
    if (!spare_ok && cap == RBUF_MIN) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, spare_key_make);
        spare_ok = spare_key_ok && pthread_setspecific(spare_key, &spare_ok) == 0;
    }
    if (spare_ok && cap == RBUF_MIN && nspare < SPARE_MAX) {
        spare_rbufs[nspare++] = b;
#ifdef LOOM_ASAN
        ASAN_POISON_MEMORY_REGION(b, cap);
#endif
        return;
    }
    free(b);
}

static char *rbuf_get(char *old, size_t cap)
{
    if (!old && cap == RBUF_MIN && nspare) {
        char *b = spare_rbufs[--nspare];
#ifdef LOOM_ASAN
        ASAN_UNPOISON_MEMORY_REGION(b, cap);
#endif
        return b;
    }
    return realloc(old, cap);
}

/* Make room for more input, keeping the buffer at most max(maxcap, RBUF_MIN). */
static int make_room(struct loom_stream *s, size_t maxcap)
{
    if (s->rend < s->rcap)
        return 0;
    if (s->rstart > 0) {
        memmove(s->rbuf, s->rbuf + s->rstart, avail(s));
        s->rend -= s->rstart;
        s->rstart = 0;
        return 0;
    }
    size_t cap = maxcap > RBUF_MIN ? maxcap : RBUF_MIN;
    if (s->rcap >= cap)
        return LOOM_ELIMIT;
    size_t n = s->rcap ? s->rcap * 2 : RBUF_MIN;
    n = n > cap ? cap : n;
    char *b = rbuf_get(s->rbuf, n);
    if (!b)
        return -ENOMEM;
    s->rbuf = b;
    s->rcap = n;
    return 0;
}

/* --- completion mode --- */

/* Append received data: into rbuf when it fits without moving (a view handed
 * out earlier may point into it), else as a chunk for the next read call. */
static int take(struct loom_stream *s, const char *data, size_t len)
{
    if (!s->pend && !s->rbuf) {
        size_t cap = len > RBUF_MIN ? len : RBUF_MIN;
        if (!(s->rbuf = rbuf_get(NULL, cap)))
            return -ENOMEM;
        s->rcap = cap;
        s->rstart = s->rend = 0;
    }
    if (!s->pend && s->rcap - s->rend >= len) {
        memcpy(s->rbuf + s->rend, data, len);
        s->rend += len;
        return 0;
    }
    struct loom__rchunk *c = malloc(sizeof(*c) + len);
    if (!c)
        return -ENOMEM;
    c->next = NULL;
    c->len = len;
    memcpy(c->data, data, len);
    *s->pend_tail = c;
    s->pend_tail = &c->next;
    s->pend_bytes += len;
    return 0;
}

/* Move the chunks into rbuf, compacting or growing it (a read call: views
 * handed out before are void now). */
static int absorb(struct loom_stream *s)
{
    while (s->pend) {
        struct loom__rchunk *c = s->pend;
        if (s->rcap - s->rend < c->len && s->rstart > 0) {
            memmove(s->rbuf, s->rbuf + s->rstart, avail(s));
            s->rend -= s->rstart;
            s->rstart = 0;
        }
        if (s->rcap - s->rend < c->len) {
            size_t n = s->rcap ? s->rcap : RBUF_MIN;
            while (n - s->rend < c->len)
                n *= 2;
            char *b = rbuf_get(s->rbuf, n);
            if (!b)
                return -ENOMEM;
            s->rbuf = b;
            s->rcap = n;
        }
        memcpy(s->rbuf + s->rend, c->data, c->len);
        s->rend += c->len;
        s->pend_bytes -= c->len;
        if (!(s->pend = c->next))
            s->pend_tail = &s->pend;
        free(c);
    }
    return 0;
}

static bool recv_eligible(const struct loom_stream *s)
{
    return s->ops == &fd_ops && s->fdt.is_socket && s->pollable && s->fd >= 0 && !s->on_readable &&
           !s->closed;
}

/* Make sure a receive runs for a reader about to wait; on any failure the
 * stream goes back to readiness for good. */
static void recv_arm(struct loom_stream *s)
{
    if (s->urecv == RECV_OFF || s->recv.live)
        return;
    if (s->urecv == RECV_UNTRIED && !recv_eligible(s)) {
        s->urecv = RECV_OFF;
        return;
    }
    s->urecv = loom__recv_start(s->loop, &s->recv, s->fd) == 0 ? RECV_ON : RECV_OFF;
}

static void on_recv(struct loom__recv *r, const char *data, int res, bool more)
{
    struct loom_stream *s = loom_list_entry(r, struct loom_stream, recv);
    (void)more; /* one completion per receive: the reader re-arms when it waits again */
    if (res > 0) {
        s->rshort = res < RBUF_MIN; /* as fill's: the socket is likely drained */
        if ((res = take(s, data, (size_t)res)) == 0)
            res = 1;
    }
    if (res == 0) {
        at_eof(s);
    } else if (res == -EINVAL || res == -ENOTSUP || res == -EOPNOTSUPP) {
        s->urecv = RECV_OFF; /* this kernel cannot: readiness from now on */
        loom__stream_update(s);
    } else if (res == -ENOBUFS || res == -ECANCELED) {
        s->rshort = false; /* the reader reads the socket itself next */
    } else if (res < 0 && !s->rerr) {
        s->rerr = res;
    }
    if (s->reader)
        loom_wake(s->reader, 0);
}

/* Wait for the transport to be readable; frees an empty buffer first. */
static int wait_readable(struct loom_stream *s, int64_t deadline)
{
    if (s->stop_reading)
        return LOOM_EOF;
    if (deadline >= 0 && deadline <= loom_loop_now(s->loop))
        return -ETIMEDOUT;
    if (s->rbuf && !avail(s) && !s->pend) {
        rbuf_put(s->rbuf, s->rcap);
        s->rbuf = NULL;
        s->rcap = s->rstart = s->rend = 0;
    }
    if (s->rdir == LOOM_READABLE)
        recv_arm(s);
    int rc = park_in(s, &s->reader, deadline);
    if (rc < 0 && rc != -EBADF && s->recv.live && !s->closed)
        /* Nobody waits now: a receive left armed would keep the loop running
         * (it is a live operation) where an idle watcher does not. */
        loom__recv_stop(s->loop, &s->recv, false);
    return rc;
}

/* Why no more can be read: -EBADF, the sticky error, LOOM_EOF; 0: it can. */
static int read_end(const struct loom_stream *s)
{
    if (s->closed)
        return -EBADF;
    return s->rerr ? s->rerr : s->eof ? LOOM_EOF : 0;
}

/* fill() in completion mode: 0 once avail() is above before, an error or
 * LOOM_EOF / LOOM_ELIMIT as fill's, or 1: no receive is in flight, so the
 * caller goes on as on readiness (read the fd now unless the last read was
 * short, else wait; the wait starts a receive). */
static int recv_fill(struct loom_stream *s, size_t maxcap, size_t before, int64_t deadline)
{
    for (;;) {
        int rc = absorb(s);
        if (rc < 0)
            return rc;
        if (avail(s) > before)
            return 0;
        if ((rc = read_end(s)) < 0)
            return rc;
        if (s->urecv != RECV_ON || !s->recv.live)
            return 1; /* no receive in flight: read as on readiness (it may wait) */
        if (avail(s) >= (maxcap > RBUF_MIN ? maxcap : RBUF_MIN))
            return LOOM_ELIMIT;
        if ((rc = wait_readable(s, deadline)) < 0)
            return rc;
    }
}

/* After a short read from a plain fd the kernel buffer is most likely empty, so
 * the next read would only say EAGAIN: wait for readiness first instead (the
 * watcher is level-triggered, so data that did arrive is reported at once).
 * This saves a syscall per request/response round trip. Not when shutting
 * down (data already in the kernel must still be read) or when not waiting. */
static int maybe_wait_first(struct loom_stream *s, int64_t deadline)
{
    if (!s->rshort)
        return 0;
    s->rshort = false;
    if (s->ops != &fd_ops || !s->pollable || s->stop_reading ||
        (deadline >= 0 && deadline <= loom_loop_now(s->loop)))
        return 0;
    return wait_readable(s, deadline);
}

/* Read more into the buffer: 0 when at least one byte was added, else
 * LOOM_EOF, LOOM_ELIMIT (buffer at maxcap), or an error. */
static int fill(struct loom_stream *s, size_t maxcap, int64_t deadline)
{
    size_t before = avail(s);
    for (;;) {
        if (s->pend) { /* left by completion mode: it goes first */
            int rc = absorb(s);
            if (rc < 0)
                return rc;
            if (avail(s) > before)
                return 0;
        }
        if (s->urecv == RECV_ON) {
            int rc = recv_fill(s, maxcap, before, deadline);
            if (rc <= 0)
                return rc;
        }
        int rc = read_end(s);
        if (rc < 0)
            return rc;
        rc = make_room(s, maxcap);
        if (rc < 0)
            return rc;
        if ((rc = maybe_wait_first(s, deadline)) < 0)
            return rc;
        if (avail(s) > before)
            return 0; /* a receive brought it */
        if (s->recv.live || s->pend || s->rerr || s->eof)
            continue; /* the wait's receive is in flight or brought an end: no read() */
        if ((rc = make_room(s, maxcap)) < 0) /* the wait may have freed the buffer */
            return rc;
        unsigned wait = LOOM_READABLE;
        size_t room = s->rcap - s->rend;
        ssize_t n = s->ops->read(s->ctx, s->rbuf + s->rend, room, &wait);
        if (n > 0) {
            s->rend += (size_t)n;
            s->rshort = (size_t)n < room;
            return 0;
        }
        if (n == 0)
            return at_eof(s);
        if (n == -EINTR)
            continue;
        if (n != -EAGAIN)
            return s->rerr = (int)n;
        s->rdir = wait;
        rc = wait_readable(s, deadline);
        if (rc < 0)
            return rc;
    }
}

ssize_t loom_stream_read_some(struct loom_stream *s, void *buf, size_t len, int64_t timeout_ns)
{
    int64_t deadline = read_deadline(s, timeout_ns);
    while (!avail(s)) {
        if (s->closed)
            return -EBADF;
        int rc;
        if (s->pend) {
            if ((rc = absorb(s)) < 0)
                return rc;
            continue;
        }
        if (s->rerr || s->eof)
            return s->rerr ? s->rerr : LOOM_EOF;
        if (s->urecv == RECV_ON && (rc = recv_fill(s, 0, 0, deadline)) <= 0) {
            if (rc < 0)
                return rc;
            break;
        }
        if ((rc = maybe_wait_first(s, deadline)) < 0)
            return rc;
        if (avail(s))
            break;
        if (s->recv.live || s->pend || s->rerr || s->eof)
            continue; /* the wait's receive is in flight or brought an end: no read() */
        /* Empty buffer: read straight into the caller's memory. */
        unsigned wait = LOOM_READABLE;
        ssize_t n = s->ops->read(s->ctx, buf, len, &wait);
        if (n > 0) {
            s->rshort = (size_t)n < len;
            return n;
        }
        if (n == 0)
            return at_eof(s);
        if (n == -EINTR)
            continue;
        if (n != -EAGAIN)
            return s->rerr = (int)n;
        s->rdir = wait;
        rc = wait_readable(s, deadline);
        if (rc < 0)
            return rc;
    }
    size_t n = avail(s) < len ? avail(s) : len;
    memcpy(buf, s->rbuf + s->rstart, n);
    consume(s, n);
    return (ssize_t)n;
}

ssize_t loom_stream_read_view(struct loom_stream *s, const void **data, size_t max,
                              int64_t timeout_ns)
{
    int64_t deadline = read_deadline(s, timeout_ns);
    if (!avail(s)) {
        int rc = fill(s, 0, deadline);
        if (rc < 0)
            return rc;
    }
    size_t n = avail(s) < max ? avail(s) : max;
    *data = s->rbuf + s->rstart;
    s->rstart += n; /* not consume(): the view must stay where it is */
    return (ssize_t)n;
}

ssize_t loom_stream_read(struct loom_stream *s, void *buf, size_t len, int64_t timeout_ns)
{
    int64_t deadline = read_deadline(s, timeout_ns);
    for (;;) {
        if (avail(s) > len)
            return LOOM_ELIMIT;
        int rc = fill(s, len + 1, deadline);
        if (rc == LOOM_EOF && !s->closed)
            break;
        if (rc < 0)
            return rc;
    }
    size_t n = avail(s);
    if (n)
        memcpy(buf, s->rbuf + s->rstart, n);
    consume(s, n);
    return (ssize_t)n;
}

ssize_t loom_stream_readexactly(struct loom_stream *s, void *buf, size_t n, int64_t timeout_ns)
{
    int64_t deadline = read_deadline(s, timeout_ns);
    while (avail(s) < n) {
        int rc = fill(s, n, deadline);
        if (rc < 0)
            return rc;
    }
    memcpy(buf, s->rbuf + s->rstart, n);
    consume(s, n);
    return (ssize_t)n;
}

ssize_t loom_stream_peek(struct loom_stream *s, const void **data, size_t min, int64_t timeout_ns)
{
    if (min > s->limit && min > RBUF_MIN)
        return LOOM_ELIMIT;
    int64_t deadline = read_deadline(s, timeout_ns);
    while (avail(s) < min) {
        int rc = fill(s, min, deadline);
        if (rc < 0)
            return rc;
    }
    *data = s->rbuf ? s->rbuf + s->rstart : "";
    return (ssize_t)avail(s);
}

void loom_stream_consume(struct loom_stream *s, size_t n)
{
    consume(s, n < avail(s) ? n : avail(s));
}

/* Find sep in the buffer from offset from; the index after it, or 0. */
static size_t find_sep(struct loom_stream *s, const void *sep, size_t seplen, size_t from)
{
    const char *base = s->rbuf + s->rstart;
    size_t have = avail(s);
    while (from + seplen <= have) {
        const char *p = memchr(base + from, *(const char *)sep, have - from - seplen + 1);
        if (!p)
            return 0;
        if (!memcmp(p, sep, seplen))
            return (size_t)(p - base) + seplen;
        from = (size_t)(p - base) + 1;
    }
    return 0;
}

/* Wait until sep is buffered within limit bytes: its end offset, LOOM_ELIMIT,
 * LOOM_EOF (with data maybe buffered), or an error. */
static ssize_t wait_sep(struct loom_stream *s, const void *sep, size_t seplen, size_t limit,
                        int64_t deadline)
{
    size_t scanned = 0;
    for (;;) {
        size_t from = scanned >= seplen ? scanned - seplen + 1 : 0;
        size_t end = find_sep(s, sep, seplen, from);
        if (end)
            return end > limit ? LOOM_ELIMIT : (ssize_t)end;
        scanned = avail(s);
        if (scanned >= limit)
            return LOOM_ELIMIT;
        int rc = fill(s, limit, deadline);
        if (rc < 0)
            return rc;
    }
}

ssize_t loom_stream_readuntil(struct loom_stream *s, const void *sep, size_t seplen, char *buf,
                              size_t cap, int64_t timeout_ns)
{
    if (seplen == 0 || cap < 2)
        return -EINVAL;
    ssize_t end = wait_sep(s, sep, seplen, cap - 1, read_deadline(s, timeout_ns));
    if (end < 0)
        return end;
    memcpy(buf, s->rbuf + s->rstart, (size_t)end);
    buf[end] = '\0';
    consume(s, (size_t)end);
    return end;
}

ssize_t loom_stream_readline(struct loom_stream *s, char *buf, size_t cap, int64_t timeout_ns)
{
    if (cap < 2)
        return -EINVAL;
    ssize_t end = wait_sep(s, "\n", 1, cap - 1, read_deadline(s, timeout_ns));
    if (end == LOOM_EOF && avail(s) > 0 && !s->closed)
        end = (ssize_t)avail(s); /* the last line, unterminated */
    if (end < 0)
        return end;
    memcpy(buf, s->rbuf + s->rstart, (size_t)end);
    buf[end] = '\0';
    consume(s, (size_t)end);
    return end;
}

ssize_t loom_stream_readline_view(struct loom_stream *s, const char **line, int64_t timeout_ns)
{
    ssize_t end = wait_sep(s, "\n", 1, s->limit, read_deadline(s, timeout_ns));
    if (end == LOOM_EOF && avail(s) > 0 && !s->closed)
        end = (ssize_t)avail(s);
    if (end < 0)
        return end;
    *line = s->rbuf + s->rstart;
    s->rstart += (size_t)end;
    return end;
}

void loom_stream_stop_reading(struct loom_stream *s)
{
    s->stop_reading = true;
    if (s->reader)
        loom_wake(s->reader, 0);
}

/* --- writing --- */

static void wbuf_free(struct loom_stream *s)
{
    if (s->wcap == RBUF_MIN)
        rbuf_put(s->wbuf, s->wcap); /* a write buffer the size of a read one is kept too */
    else
        free(s->wbuf);
    s->wbuf = NULL;
    s->wcap = s->wstart = s->wend = 0;
}

/* Not while a send reads wbuf (snd.live): on_sent sets errors after it. */
static void set_werr(struct loom_stream *s, int err)
{
    s->werr = err;
    /* The kernel reports a reset once, to whichever call comes first; a send
     * in flight (completion mode) often does, and a read after it would see a
     * clean EOF. Reads still take what the kernel holds (a server's answer to
     * an upload it refused, sent before its reset), then end with the reset. */
    if (err == -ECONNRESET)
        s->write_reset = true;
    wbuf_free(s); /* nobody will take it now */
}

/* Completion mode: hand the pending bytes to the kernel unless some already
 * are on their way (on_sent then sends the rest). False: no completion send
 * could be started; the caller writes itself. */
static bool send_more(struct loom_stream *s)
{
    if (s->snd.live || s->wend == s->wstart || s->werr)
        return true;
    return loom__send_start(s->loop, &s->snd, s->fd, s->wbuf + s->wstart, s->wend - s->wstart) == 0;
}

static void on_sent(struct loom__send *op, int res)
{
    struct loom_stream *s = loom_list_entry(op, struct loom_stream, snd);
    free(s->wold); /* what the send read from, if wbuf moved meanwhile */
    s->wold = NULL;
    if (res > 0)
        s->wstart += (size_t)res;
    else if (res != -ECANCELED)
        set_werr(s, res < 0 ? res : -EIO);
    loom__stream_flush_now(s);
}

int loom__stream_flush_now(struct loom_stream *s)
{
    if (send_async(s) && !send_more(s))
        s->urecv = RECV_OFF; /* cannot: write ourselves from now on (nothing in flight) */
    while (!send_async(s) && s->wend > s->wstart && !s->werr) {
        struct iovec iov = {s->wbuf + s->wstart, s->wend - s->wstart};
        unsigned wait = LOOM_WRITABLE;
        ssize_t n = s->ops->writev(s->ctx, &iov, 1, &wait);
        if (n == -EINTR)
            continue;
        if (n == -EAGAIN) {
            s->wdir = wait;
            break;
        }
        if (n < 0) {
            set_werr(s, (int)n);
            break;
        }
        s->wstart += (size_t)n;
    }
    if (s->wend == s->wstart && s->wbuf) {
        wbuf_free(s);
    }
    if (!s->wend && s->eof_pending && !s->eof_sent && !s->werr) {
        s->eof_sent = true;
        if (s->ops->shutdown_write)
            s->ops->shutdown_write(s->ctx);
    }
    wake_drainer(s);
    if (s->on_write)
        s->on_write(s);
    return s->werr;
}

static int append(struct loom_stream *s, const struct iovec *iov, int iovcnt, size_t skip)
{
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    total -= skip;
    if (!total)
        return 0;
    bool pinned = s->snd.live && !s->wold; /* a send reads wbuf: it must not move */
    if (s->wstart && s->wstart >= s->wcap / 2 && !pinned) {
        memmove(s->wbuf, s->wbuf + s->wstart, s->wend - s->wstart);
        s->wend -= s->wstart;
        s->wstart = 0;
    }
    if (s->wend + total > s->wcap || !s->wbuf) {
        size_t keep = pinned ? s->wend - s->wstart : s->wend;
        /* A small first buffer for a small write (a reply queued for the
         * loop's send): malloc's per-thread cache has it, with no heap growth
         * behind it; else the size of a read buffer, from the spares. */
        size_t n = s->wcap && !pinned           ? s->wcap
                   : keep + total <= WBUF_SMALL ? WBUF_SMALL
                                                : RBUF_MIN;
        while (n < keep + total)
            n *= 2;
        char *b = pinned || !s->wbuf ? rbuf_get(NULL, n) : realloc(s->wbuf, n);
        if (!b)
            return -ENOMEM;
        if (pinned) { /* a copy to go on with; the send keeps the old one */
            memcpy(b, s->wbuf + s->wstart, keep);
            s->wold = s->wbuf;
            s->wstart = 0;
            s->wend = keep;
        }
        s->wbuf = b;
        s->wcap = n;
    }
    for (int i = 0; i < iovcnt; i++) {
        size_t off = skip < iov[i].iov_len ? skip : iov[i].iov_len;
        skip -= off;
        memcpy(s->wbuf + s->wend, (const char *)iov[i].iov_base + off, iov[i].iov_len - off);
        s->wend += iov[i].iov_len - off;
    }
    return 0;
}

int loom_stream_writev(struct loom_stream *s, const struct iovec *iov, int iovcnt)
{
    if (s->closed)
        return -EBADF;
    if (s->werr)
        return s->werr;
    if (s->eof_pending)
        return -ESHUTDOWN;
    size_t done = 0;
    if (send_async(s)) {
        /* Completion mode: queue, and the loop's next poll hands it over. */
        int rc = append(s, iov, iovcnt, 0);
        if (rc < 0)
            return rc;
        return loom__stream_flush_now(s);
    }
    if (s->wend == s->wstart) {
        /* Nothing queued: try the transport first (the common case costs one syscall). */
        unsigned wait = LOOM_WRITABLE;
        ssize_t n;
        do
            n = s->ops->writev(s->ctx, iov, iovcnt, &wait);
        while (n == -EINTR);
        if (n < 0 && n != -EAGAIN) {
            set_werr(s, (int)n);
            if (s->on_write)
                s->on_write(s);
            return (int)n;
        }
        if (n == -EAGAIN)
            s->wdir = wait;
        done = n > 0 ? (size_t)n : 0;
        if (iovcnt == 1 && done == iov[0].iov_len)
            return 0; /* all of it went: nothing to queue */
    }
    int rc = append(s, iov, iovcnt, done);
    if (rc < 0)
        return rc;
    if (s->wend > s->wstart) {
        loom__stream_update(s);
        if (s->on_write)
            s->on_write(s);
    }
    return 0;
}

int loom_stream_write(struct loom_stream *s, const void *buf, size_t len)
{
    struct iovec iov = {(void *)buf, len};
    return len ? loom_stream_writev(s, &iov, 1) : (s->closed ? -EBADF : s->werr);
}

/* Wait until at most target bytes are pending. */
static int wait_written(struct loom_stream *s, size_t target, int64_t timeout_ns)
{
    int64_t deadline = loom_deadline(s->loop, timeout_ns);
    while (!s->werr && s->wend - s->wstart > target) {
        if (!s->pollable) {
            /* No watcher flushes for us: retry now and every millisecond. */
            loom__stream_flush_now(s);
            if (s->werr || s->wend - s->wstart <= target)
                break;
            if (deadline >= 0 && loom_loop_now(s->loop) >= deadline)
                return -ETIMEDOUT;
            s->waiters++; /* a close meanwhile must not free s under us (park.h) */
            int rc = loom_sleep(LOOM_MS(1));
            s->waiters--;
            if (s->closed) { /* closed by another task: the last waiter out frees it */
                if (!s->waiters)
                    stream_free(s);
                return -EBADF;
            }
            if (rc < 0)
                return rc;
            continue;
        }
        s->drain_target = target;
        int rc = park_in(s, &s->drainer, deadline);
        if (rc < 0)
            return rc;
    }
    return s->werr;
}

int loom_stream_drain(struct loom_stream *s, int64_t timeout_ns)
{
    if (s->closed)
        return -EBADF;
    if (s->werr || s->wend - s->wstart <= s->high)
        return s->werr;
    return wait_written(s, s->low, timeout_ns);
}

int loom_stream_flush(struct loom_stream *s, int64_t timeout_ns)
{
    if (s->closed)
        return -EBADF;
    return wait_written(s, 0, timeout_ns);
}

int loom_stream_write_eof(struct loom_stream *s)
{
    if (s->closed)
        return -EBADF;
    if (s->werr)
        return s->werr;
    if (s->eof_pending)
        return 0;
    s->eof_pending = true;
    if (s->wend == s->wstart) {
        s->eof_sent = true;
        return s->ops->shutdown_write ? s->ops->shutdown_write(s->ctx) : -ENOTSUP;
    }
    return 0;
}

/* --- settings and accessors --- */

void loom_stream_set_limit(struct loom_stream *s, size_t limit) { s->limit = limit ? limit : 1; }

void loom_stream_set_write_limits(struct loom_stream *s, size_t high, size_t low)
{
    if (!high && !low) {
        high = LOOM_STREAM_HIGH_WATER;
        low = LOOM_STREAM_LOW_WATER;
    }
    s->high = high;
    s->low = low <= high ? low : high;
}

void loom_stream_set_timeout(struct loom_stream *s, int64_t timeout_ns) { s->timeout = timeout_ns; }
size_t loom_stream_buffered(const struct loom_stream *s)
{
    return s->rend - s->rstart + s->pend_bytes;
}
size_t loom_stream_write_buffered(const struct loom_stream *s) { return s->wend - s->wstart; }
bool loom_stream_at_eof(const struct loom_stream *s) { return s->eof; }
int loom_stream_write_error(const struct loom_stream *s) { return s->werr; }
struct loom_loop *loom_stream_loop(const struct loom_stream *s) { return s->loop; }

void *loom_stream_transport_ctx(const struct loom_stream *s, const struct loom_stream_ops *ops)
{
    return s->ops == ops ? s->ctx : NULL;
}

int loom_stream_fd(const struct loom_stream *s) { return s->ops == &fd_ops ? s->fdt.fd : s->fd; }

int loom_sockaddr_format(const struct sockaddr *sa, socklen_t salen, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN];
    int n;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        n = snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        n = snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else if (sa->sa_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        size_t plen = salen > offsetof(struct sockaddr_un, sun_path)
                          ? salen - offsetof(struct sockaddr_un, sun_path)
                          : 0;
        if (plen && un->sun_path[0] == '\0') /* abstract namespace */
            n = snprintf(buf, len, "@%.*s", (int)plen - 1, un->sun_path + 1);
        else
            n = snprintf(buf, len, "%.*s", (int)strnlen(un->sun_path, plen), un->sun_path);
    } else {
        return -EAFNOSUPPORT;
    }
    return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

static int sock_name(const struct loom_stream *s, char *buf, size_t len, bool peer)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = loom_stream_fd(s);
    int rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &sl)
                  : getsockname(fd, (struct sockaddr *)&ss, &sl);
    if (rc < 0)
        return -errno;
    return loom_sockaddr_format((struct sockaddr *)&ss, sl, buf, len);
}

int loom_stream_peername(const struct loom_stream *s, char *buf, size_t len)
{
    return sock_name(s, buf, len, true);
}

int loom_stream_sockname(const struct loom_stream *s, char *buf, size_t len)
{
    return sock_name(s, buf, len, false);
}
