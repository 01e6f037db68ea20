/* transport.c - callback transports on top of the stream machinery: the
 * stream's watcher calls back here instead of waking a task, and its write
 * buffer and flushing are shared as they are. connection_lost is always
 * delivered from the loop (call_soon), never from inside a transport call, so
 * a protocol can call close or write anywhere without re-entering itself. */
#include "net/transport.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "net/stream_internal.h"
#include "net/tcp.h"
#include "net/transport_internal.h"

struct loom_transport {
    struct loom_stream *s;
    const struct loom_protocol *p;
    void *arg;
    bool reading;            /* not paused by the protocol */
    bool made;               /* connection_made ran */
    bool closing;            /* close asked: finish once the buffer is empty */
    bool lost;               /* connection_lost is scheduled */
    bool aborting;           /* drop the buffer */
    bool write_paused;       /* pause_writing was called */
    int err;                 /* for connection_lost */
    void (*gone)(void *arg); /* loom__transport_on_lost: after connection_lost */
    void *gone_arg;
};

static void finish(void *arg)
{
    struct loom_transport *t = arg;
    if (t->aborting)
        loom_stream_abort(t->s);
    else
        loom_stream_close(t->s);
    if (t->p->connection_lost)
        t->p->connection_lost(t, t->err, t->arg);
    if (t->gone)
        t->gone(t->gone_arg);
    free(t);
}

/* Schedule the end (once). */
static void lose(struct loom_transport *t, int err)
{
    if (t->lost)
        return;
    t->lost = true;
    t->err = err;
    t->s->on_readable = NULL;
    t->s->on_write = NULL;
    t->s->hook_reading = false;
    loom__stream_update(t->s);
    while (loom_call_soon(t->s->loop, finish, t) < 0)
        ; /* ENOMEM on a 3-pointer node: nothing better to do than retry */
}

static void sync_reading(struct loom_transport *t)
{
    t->s->hook_reading = t->made && t->reading && !t->closing && !t->lost;
    loom__stream_update(t->s);
}

static void on_eof(struct loom_transport *t)
{
    t->s->eof = true;
    t->reading = false;
    sync_reading(t);
    bool keep = t->p->eof_received && t->p->eof_received(t, t->arg);
    if (!keep)
        loom_transport_close(t);
}

/* A buffered protocol's buffer for the next read, or NULL with nothing to do
 * (the protocol stopped reading or closed from get_buffer, or failed it). */
static void *protocol_buffer(struct loom_transport *t, size_t *cap)
{
    *cap = 0;
    void *buf = t->p->get_buffer(t, LOOM_TRANSPORT_READ_SIZE, cap, t->arg);
    if (t->lost || t->closing || !t->reading)
        return NULL;
    if (!buf || !*cap) {
        t->aborting = true;
        lose(t, -ENOBUFS);
        return NULL;
    }
    return buf;
}

static void on_readable(struct loom_stream *s)
{
    struct loom_transport *t = s->hook_arg;
    char local[16384];
    const struct loom_protocol *p = t->p; /* the one this read is for, even if switched */
    void *buf = local;
    size_t cap = sizeof local;
    if (p->get_buffer && !(buf = protocol_buffer(t, &cap)))
        return;
    unsigned wait = LOOM_READABLE;
    ssize_t n = s->ops->read(s->ctx, buf, cap, &wait);
    if (n > 0 && p->get_buffer) {
        if (p->buffer_updated)
            p->buffer_updated(t, (size_t)n, t->arg);
    } else if (n > 0) {
        if (p->data_received)
            p->data_received(t, buf, (size_t)n, t->arg);
    } else if (n == 0) {
        on_eof(t);
    } else if (n == -EAGAIN) {
        s->rdir = wait;
    } else if (n != -EINTR) {
        lose(t, (int)n);
    }
}

static void on_write(struct loom_stream *s)
{
    struct loom_transport *t = s->hook_arg;
    size_t pending = s->wend - s->wstart;
    if (s->werr) {
        t->aborting = true;
        lose(t, s->werr);
        return;
    }
    if (!t->write_paused && pending > s->high) {
        t->write_paused = true;
        if (t->p->pause_writing)
            t->p->pause_writing(t, t->arg);
    } else if (t->write_paused && pending <= s->low) {
        t->write_paused = false;
        if (t->p->resume_writing)
            t->p->resume_writing(t, t->arg);
    }
    if (t->closing && !pending)
        lose(t, 0);
}

static void made(void *arg)
{
    struct loom_transport *t = arg;
    t->made = true;
    if (!t->lost && t->p->connection_made)
        t->p->connection_made(t, t->arg);
    sync_reading(t);
}

int loom_transport_open_fd(struct loom_loop *loop, int fd, const struct loom_protocol *protocol,
                           void *arg, struct loom_transport **out)
{
    struct loom_transport *t = calloc(1, sizeof(*t));
    if (!t) {
        close(fd);
        return -ENOMEM;
    }
    int rc = loom_stream_open_fd(loop, fd, 0, &t->s);
    if (rc == 0)
        rc = loom_call_soon(loop, made, t);
    if (rc < 0) {
        if (t->s)
            loom_stream_close(t->s);
        free(t);
        return rc;
    }
    t->p = protocol;
    t->arg = arg;
    t->reading = true;
    t->s->hook_arg = t;
    t->s->on_readable = on_readable;
    t->s->on_write = on_write;
    if (out)
        *out = t;
    return 0;
}

int loom_transport_connect(const char *host, int port, int64_t timeout_ns,
                           const struct loom_protocol *protocol, void *arg,
                           struct loom_transport **out)
{
    int fd = loom_tcp_connect_fd(host, port, timeout_ns);
    if (fd < 0)
        return fd;
    return loom_transport_open_fd(loom_loop_current(), fd, protocol, arg, out);
}

void loom_transport_set_protocol(struct loom_transport *t, const struct loom_protocol *protocol,
                                 void *arg)
{
    t->p = protocol;
    t->arg = arg;
}

void loom__transport_on_lost(struct loom_transport *t, void (*gone)(void *arg), void *arg)
{
    t->gone = gone;
    t->gone_arg = arg;
}

void loom_transport_close(struct loom_transport *t)
{
    if (t->closing || t->lost)
        return;
    t->closing = true;
    sync_reading(t);
    if (!loom_stream_write_buffered(t->s))
        lose(t, 0);
}

void loom_transport_abort(struct loom_transport *t)
{
    t->aborting = true;
    lose(t, 0);
}

int loom_transport_write(struct loom_transport *t, const void *data, size_t len)
{
    if (t->closing || t->lost)
        return -ESHUTDOWN;
    return loom_stream_write(t->s, data, len);
}

int loom_transport_write_eof(struct loom_transport *t)
{
    if (t->closing || t->lost)
        return -ESHUTDOWN;
    return loom_stream_write_eof(t->s);
}

void loom_transport_pause_reading(struct loom_transport *t)
{
    t->reading = false;
    sync_reading(t);
}

void loom_transport_resume_reading(struct loom_transport *t)
{
    t->reading = !t->s->eof;
    sync_reading(t);
}

bool loom_transport_is_reading(const struct loom_transport *t)
{
    return t->reading && !t->closing && !t->lost;
}

void loom_transport_set_write_buffer_limits(struct loom_transport *t, size_t high, size_t low)
{
    loom_stream_set_write_limits(t->s, high, low);
}

size_t loom_transport_get_write_buffer_size(const struct loom_transport *t)
{
    return loom_stream_write_buffered(t->s);
}

bool loom_transport_is_closing(const struct loom_transport *t) { return t->closing || t->lost; }
int loom_transport_fd(const struct loom_transport *t) { return loom_stream_fd(t->s); }

int loom_transport_peername(const struct loom_transport *t, char *buf, size_t len)
{
    return loom_stream_peername(t->s, buf, len);
}

int loom_transport_sockname(const struct loom_transport *t, char *buf, size_t len)
{
    return loom_stream_sockname(t->s, buf, len);
}
