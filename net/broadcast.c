/* broadcast.c - see broadcast.h.
 *
 * No task per member: the stream calls its write hook (on_write) after every
 * flush attempt, and that is where a member's reserved deliveries are granted
 * (the waiting sender's bytes are queued by the waker, in FIFO order, then the
 * sender is woken) and where write progress is noted. A one-shot timer per
 * member with bytes queued checks for a stall; it is re-armed lazily (at
 * expiry, from the last progress) so progress itself costs no timer work. The
 * hook can run inside the stream's flush, so it never calls user code:
 * on_drop is deferred to the member's timer. */
#include "net/broadcast.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "net/stream_internal.h"
#include "reactor/park.h"

/* One sender's place in one member's FIFO. */
struct delivery {
    struct loom_list node; /* in member->_fifo until granted or failed */
    struct send_op *op;
    struct loom_broadcast_member *m;
    int code; /* 0 pending, 1 queued, < 0 failed */
};

/* One call of send: what to queue and who waits. */
struct send_op {
    const void *data;
    size_t len;
    struct loom_task *task; /* parked sender */
    size_t pending;         /* deliveries not granted or failed yet */
};

enum { INLINE_DELIVERIES = 8 };

static void on_write(struct loom_stream *s);

void loom_broadcast_init(struct loom_broadcast *b, const struct loom_broadcast_options *opt)
{
    struct loom_broadcast_options o = opt ? *opt : (struct loom_broadcast_options){0};
    loom_list_init(&b->_members);
    b->_count = 0;
    b->_high = o.high_water ? o.high_water : LOOM_BROADCAST_HIGH_WATER;
    b->_low = o.low_water ? o.low_water : LOOM_BROADCAST_LOW_WATER;
    if (b->_low > b->_high)
        b->_low = b->_high;
    b->_stall = o.stall_timeout_ns ? o.stall_timeout_ns : LOOM_BROADCAST_STALL_TIMEOUT;
    b->_on_drop = o.on_drop;
    b->_arg = o.arg;
}

static size_t queued(const struct loom_broadcast_member *m)
{
    return loom_stream_write_buffered(m->_s);
}

/* Finish d (granted or failed) and wake its sender when it has nothing left. */
static void complete(struct delivery *d, int code)
{
    loom_list_remove(&d->node);
    d->code = code;
    if (--d->op->pending == 0 && d->op->task)
        loom_wake(d->op->task, 0);
}

static void fail_fifo(struct loom_broadcast_member *m, int code)
{
    struct loom_list *n;
    while ((n = m->_fifo.next) != &m->_fifo)
        complete(loom_list_entry(n, struct delivery, node), code);
}

/* Take m out of the room (no user code runs). */
static void detach(struct loom_broadcast_member *m, int code)
{
    if (loom_list_linked(&m->_node)) {
        loom_list_remove(&m->_node);
        m->_b->_count--;
    }
    fail_fifo(m, code);
    if (m->_s && m->_s->hook_arg == m) {
        m->_s->on_write = NULL;
        m->_s->hook_arg = NULL;
    }
}

/* Drop m now; on_drop runs from m's timer, outside any stream code. */
static void drop(struct loom_broadcast_member *m, int reason, const char *why)
{
    if (m->_error)
        return;
    m->_error = reason;
    snprintf(m->_why, sizeof m->_why, "%s", why);
    detach(m, reason);
    m->_tell = m->_b->_on_drop != NULL;
    loom_timer_stop(&m->_timer);
    if (m->_tell && loom_timer_start(&m->_timer, 0) < 0)
        m->_tell = false; /* no memory for a timer entry: the drop stays, untold */
}

static void drop_write_error(struct loom_broadcast_member *m, int err)
{
    char why[96];
    snprintf(why, sizeof why, "write failed: %s", loom_strerror(err));
    drop(m, err, why);
}

/* Note write progress: a shorter queue than last seen (or a queue that was
 * empty) restarts the stall clock. */
static void look(struct loom_broadcast_member *m)
{
    size_t q = queued(m);
    if (q < m->_seen || m->_seen == 0)
        m->_progress = loom_loop_now(loom_stream_loop(m->_s));
    m->_seen = q;
}

static void arm_stall(struct loom_broadcast_member *m)
{
    if (m->_b->_stall < 0 || m->_error || !m->_seen || loom_timer_active(&m->_timer))
        return;
    /* Cannot arm: the member is never dropped for a stall (it still only
     * gets as much as the watermarks allow). */
    (void)loom_timer_start_at(&m->_timer, m->_progress + m->_b->_stall);
}

/* Queue bytes for m through its writer. 0, or the error m was dropped with. */
static int put(struct loom_broadcast_member *m, const void *data, size_t len)
{
    look(m); /* progress made before this write counts */
    m->_busy = true;
    int rc = m->_write ? m->_write(m->_s, data, len, m->_write_arg)
                       : loom_stream_write(m->_s, data, len);
    m->_busy = false;
    if (rc == 0)
        rc = loom_stream_write_error(m->_s);
    if (rc < 0) {
        drop_write_error(m, rc);
        return rc;
    }
    look(m);
    if (m->_seen > m->_b->_high)
        m->_blocked = true;
    arm_stall(m);
    return 0;
}

/* Whether a new message must wait its turn for m. A member that went over the
 * high watermark stays "blocked" until it is back to the low one with nobody
 * waiting: so the senders woken by one round of grants queue up again in turn
 * instead of the first one to run taking the room up to the mark. */
static bool must_wait(const struct loom_broadcast_member *m)
{
    return m->_blocked || !loom_list_empty(&m->_fifo) || queued(m) > m->_b->_high;
}

/* Grant reserved deliveries once m is down to the low watermark, and keep
 * granting while it stays at or below the high one. */
static void serve(struct loom_broadcast_member *m)
{
    if (queued(m) > m->_b->_low)
        return;
    while (!m->_error && !loom_list_empty(&m->_fifo) && queued(m) <= m->_b->_high) {
        struct delivery *d = loom_list_entry(m->_fifo.next, struct delivery, node);
        int rc = put(m, d->op->data, d->op->len);
        if (rc == 0)
            complete(d, 1);
    }
    if (loom_list_empty(&m->_fifo) && queued(m) <= m->_b->_low)
        m->_blocked = false;
}

/* The stream's write hook: after each flush attempt, and after writes. */
static void on_write(struct loom_stream *s)
{
    struct loom_broadcast_member *m = s->hook_arg;
    if (m->_busy || m->_error)
        return;
    int err = loom_stream_write_error(s);
    if (err) {
        drop_write_error(m, err);
        return;
    }
    look(m);
    serve(m);
}

static void on_timer(struct loom_timer *t)
{
    struct loom_broadcast_member *m = t->data;
    if (m->_error) {
        if (m->_tell) {
            m->_tell = false;
            m->_b->_on_drop(m, m->_error, m->_why, m->_b->_arg);
        }
        return;
    }
    look(m);
    if (!m->_seen)
        return; /* drained: the next queueing re-arms */
    int64_t now = loom_loop_now(loom_stream_loop(m->_s));
    if (now - m->_progress < m->_b->_stall) {
        (void)loom_timer_start_at(&m->_timer, m->_progress + m->_b->_stall);
        return;
    }
    char why[96];
    snprintf(why, sizeof why, "stalled %.3g s with %zu bytes queued", (double)m->_b->_stall / 1e9,
             m->_seen);
    drop(m, -ETIMEDOUT, why);
}

int loom_broadcast_join(struct loom_broadcast *b, struct loom_broadcast_member *m,
                        struct loom_stream *s, loom_broadcast_write_cb write, void *write_arg)
{
    if (!s)
        return -EINVAL;
    if (s->on_write || s->on_readable)
        return -EBUSY;
    void *data = m->data;
    *m = (struct loom_broadcast_member){
        .data = data, ._b = b, ._s = s, ._write = write, ._write_arg = write_arg, ._joined = true};
    loom_list_init(&m->_fifo);
    loom_list_push_back(&b->_members, &m->_node);
    b->_count++;
    loom_timer_init(loom_stream_loop(s), &m->_timer, on_timer);
    m->_timer.data = m;
    s->hook_arg = m;
    s->on_write = on_write;
    look(m);
    arm_stall(m);
    return 0;
}

void loom_broadcast_leave(struct loom_broadcast_member *m)
{
    if (!m->_joined)
        return;
    detach(m, -ENOENT);
    loom_timer_stop(&m->_timer);
    m->_joined = false;
    m->_tell = false;
    if (!m->_error)
        m->_error = -ENOENT;
}

void loom_broadcast_close(struct loom_broadcast *b)
{
    struct loom_list *n;
    while ((n = b->_members.next) != &b->_members) {
        struct loom_broadcast_member *m = loom_list_entry(n, struct loom_broadcast_member, _node);
        detach(m, -ENOENT);
        loom_timer_stop(&m->_timer);
        m->_error = -ENOENT;
    }
}

/* Queue to m now if it has room and nobody waits ahead; else reserve d.
 * Returns true if a reservation was made. (d is never NULL when one is
 * needed: the caller counted the members over the mark beforehand.) */
static bool offer(struct loom_broadcast_member *m, struct send_op *op, struct delivery *d)
{
    if (!d || !must_wait(m)) {
        put(m, op->data, op->len); /* an error drops m: nothing to wait for */
        return false;
    }
    *d = (struct delivery){.op = op, .m = m};
    loom_list_push_back(&m->_fifo, &d->node);
    op->pending++;
    return true;
}

/* Wait until every reservation is granted or failed; on a timeout or a
 * cancel take the rest back. */
static int wait_all(struct send_op *op, struct delivery *d, size_t n, int64_t deadline)
{
    int rc = 0;
    while (op->pending && rc == 0)
        rc = loom_park(op->task, deadline);
    if (rc < 0)
        for (size_t i = 0; i < n; i++)
            if (!d[i].code && loom_list_linked(&d[i].node)) {
                loom_list_remove(&d[i].node);
                op->pending--;
            }
    return rc;
}

/* Members over the mark, counted before anything is queued. */
static size_t count_blocked(struct loom_broadcast *b, struct loom_broadcast_member *from)
{
    size_t n = 0;
    for (struct loom_list *it = b->_members.next; it != &b->_members; it = it->next) {
        struct loom_broadcast_member *m = loom_list_entry(it, struct loom_broadcast_member, _node);
        if (m != from && must_wait(m))
            n++;
    }
    return n;
}

static int deliver(struct loom_broadcast *b, struct loom_broadcast_member *only,
                   struct loom_broadcast_member *from, const void *data, size_t len,
                   int64_t timeout_ns)
{
    if (!len)
        return 0;
    struct send_op op = {.data = data, .len = len, .task = loom_task_current()};
    size_t cap = only ? 1 : count_blocked(b, from);
    struct delivery inline_d[INLINE_DELIVERIES], *d = inline_d;
    if (op.task && cap > INLINE_DELIVERIES && !(d = calloc(cap, sizeof *d)))
        return -ENOMEM;
    size_t n = 0;
    struct loom_list *it = only ? &only->_node : b->_members.next;
    while (it != &b->_members) {
        struct loom_broadcast_member *m = loom_list_entry(it, struct loom_broadcast_member, _node);
        it = only ? &b->_members : it->next; /* m may be dropped below */
        if (m == from)
            continue;
        if (!op.task && must_wait(m)) {
            n++; /* would have to wait: skipped */
            continue;
        }
        if (offer(m, &op, n < cap ? &d[n] : NULL))
            n++;
    }
    int rc = !op.task
                 ? (n ? -EAGAIN : 0)
                 : wait_all(&op, d, n,
                            op.pending ? loom_deadline(loom_task_loop(op.task), timeout_ns) : -1);
    if (d != inline_d)
        free(d);
    return rc;
}

int loom_broadcast_send(struct loom_broadcast *b, struct loom_broadcast_member *from,
                        const void *data, size_t len, int64_t timeout_ns)
{
    return deliver(b, NULL, from, data, len, timeout_ns);
}

int loom_broadcast_send_to(struct loom_broadcast_member *m, const void *data, size_t len,
                           int64_t timeout_ns)
{
    if (!m->_joined || m->_error)
        return m->_error ? m->_error : -ENOENT;
    return deliver(m->_b, m, NULL, data, len, timeout_ns);
}

size_t loom_broadcast_count(const struct loom_broadcast *b) { return b->_count; }

int loom_broadcast_member_error(const struct loom_broadcast_member *m)
{
    return m->_joined ? m->_error : -ENOENT;
}

const char *loom_broadcast_member_why(const struct loom_broadcast_member *m) { return m->_why; }

size_t loom_broadcast_member_queued(const struct loom_broadcast_member *m)
{
    return m->_s && m->_joined && !m->_error ? queued(m) : 0;
}
