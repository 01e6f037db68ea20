/* broadcast.h - a room: send one message to many streams, with flow control
 * that slows the sender instead of dropping readers.
 *
 * Each member is a loom_stream whose write buffer is its queue. A send first
 * queues the message to every member that has room (queue at or below the high
 * watermark and nobody waiting ahead), so live readers get it at once; for a
 * member over the high watermark it reserves a place in that member's FIFO and
 * the *sender* waits until the member's queue is down to the low watermark,
 * when the message is queued for it in FIFO order. So a flooding sender is held
 * (its handler stops reading its socket), every member sees the messages of
 * all senders in one order, nothing is lost or reordered for a live reader, and
 * waiting senders take turns per member (two floods and a chatty user share
 * the room: each gets one message in per turn).
 *
 * A member that has bytes queued and whose stream takes none of them for the
 * stall timeout (default 10 s) is dropped: it leaves the room, senders waiting
 * on it resume, and on_drop gets the reason ("stalled 10 s with N bytes
 * queued", or the write error). A reader that is slow but takes some bytes
 * within every stall timeout is never dropped. A sender waits on each member
 * at most until that member drains or is dropped; its own timeout bounds the
 * whole send.
 *
 * Memory per member: the queue holds at most high + the longest message given
 * to send (a message is queued only while the queue is at or below high); the
 * stream's buffer may round that up to the next power of two, so at most
 * 2 * (high + longest message), plus the kernel's socket buffers (bound them
 * with loom_socket_set_buffers). A waiting sender costs one small record per
 * member it waits on (8 on its stack, more allocated).
 *
 * Framing: a member may give a write callback that frames the message (a
 * WebSocket frame, a prefix) and writes it to its stream; the default writes
 * the bytes as they are. Write to a member's stream only through the
 * broadcast (send, send_to) while it is a member: the stall check reads the
 * stream's queue length, and a write elsewhere can only delay a drop.
 *
 * The broadcast watches its members' write progress through the stream's
 * write hook: a stream may be in one broadcast at a time and not be a
 * callback-mode transport (net/transport.h). Everything runs on one loop. */
#ifndef LOOM_NET_BROADCAST_H
#define LOOM_NET_BROADCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loom/net/stream.h"
#include "loom/reactor/list.h"
#include "loom/reactor/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* Defaults. */
enum {
    LOOM_BROADCAST_HIGH_WATER = 64 * 1024, /* senders wait on a member above this... */
    LOOM_BROADCAST_LOW_WATER = 16 * 1024,  /* ...until it is down to this */
};
#define LOOM_BROADCAST_STALL_TIMEOUT LOOM_SEC(10)

struct loom_broadcast;
struct loom_broadcast_member;

/* Writes data (framed as the caller likes) to the member's stream s; returns
 * 0 or a negative error (the member is then dropped with it). Must not suspend. */
typedef int (*loom_broadcast_write_cb)(struct loom_stream *s, const void *data, size_t len,
                                       void *arg);

/* Told that m was dropped: reason is -ETIMEDOUT for a stall or the write error;
 * why says it in words ("stalled 10 s with 70000 bytes queued"). Runs from a
 * loop callback, after m left the room; it may cancel tasks and close or abort
 * m's stream, and must still call loom_broadcast_leave(m) (now or later)
 * before m's memory goes. */
typedef void (*loom_broadcast_drop_cb)(struct loom_broadcast_member *m, int reason, const char *why,
                                       void *arg);

/* Options: zero-initialise and set what you need. */
struct loom_broadcast_options {
    size_t high_water;              /* 0: LOOM_BROADCAST_HIGH_WATER */
    size_t low_water;               /* 0: LOOM_BROADCAST_LOW_WATER (clamped to high_water) */
    int64_t stall_timeout_ns;       /* 0: 10 s; < 0: never drop a stalled member */
    loom_broadcast_drop_cb on_drop; /* NULL: drop silently */
    void *arg;                      /* for on_drop */
};

/* The room. Caller-owned; fields are private. */
struct loom_broadcast {
    struct loom_list _members; /* live members, in join order */
    size_t _count;
    size_t _high, _low;
    int64_t _stall; /* < 0: never */
    loom_broadcast_drop_cb _on_drop;
    void *_arg;
};

/* A member. Caller-owned (embed it in your per-connection struct); private
 * fields start with "_". */
struct loom_broadcast_member {
    void *data;             /* the caller's */
    struct loom_list _node; /* in _b->_members while live */
    struct loom_broadcast *_b;
    struct loom_stream *_s;
    loom_broadcast_write_cb _write;
    void *_write_arg;
    struct loom_list _fifo;   /* reserved deliveries, oldest first */
    struct loom_timer _timer; /* stall check; runs the deferred on_drop too */
    int64_t _progress;        /* loop time of the last byte taken (or of queueing to empty) */
    size_t _seen;             /* queue length at the last look */
    int _error;               /* 0 while live, else why it was dropped */
    bool _joined;             /* between join and leave */
    bool _busy;               /* the broadcast is writing to _s (ignore its hook) */
    bool _blocked;            /* went over high; new messages queue up until back to low */
    bool _tell;               /* on_drop still to be called */
    char _why[96];
};

/* --- lifecycle --- */

/* Make an empty room. opt may be NULL (all defaults). */
void loom_broadcast_init(struct loom_broadcast *b, const struct loom_broadcast_options *opt);

/* Empty the room: every member leaves (senders waiting on them resume with
 * their message undelivered there). Members must still be left before their
 * memory goes (leave is then a no-op apart from that). Never suspends. */
void loom_broadcast_close(struct loom_broadcast *b);

/* Add m, writing to s through write (NULL: the bytes as they are) with
 * write_arg. s stays the caller's; leave before closing it. Returns 0,
 * -EBUSY (s is already watched: in another broadcast, or a callback-mode
 * transport) or -EINVAL (s NULL). */
int loom_broadcast_join(struct loom_broadcast *b, struct loom_broadcast_member *m,
                        struct loom_stream *s, loom_broadcast_write_cb write, void *write_arg);

/* Remove m (live or dropped; a no-op if never joined or already left).
 * Senders waiting on m resume. No on_drop call. Never suspends. */
void loom_broadcast_leave(struct loom_broadcast_member *m);

/* --- sending --- */

/* Queue data (len bytes, copied) to every live member except from (NULL:
 * everyone), as described at the top. Returns 0 once it is queued everywhere
 * (or the member it waited for was dropped or left); -ETIMEDOUT after
 * timeout_ns (-1: none) or -ECANCELED: then the members still waited for do
 * not get it (the others do). Outside a task nothing can wait: members that
 * would need it are skipped and -EAGAIN is returned. -ENOMEM. Suspends only
 * while a member is over the high watermark. */
int loom_broadcast_send(struct loom_broadcast *b, struct loom_broadcast_member *from,
                        const void *data, size_t len, int64_t timeout_ns);

/* The same for one member (a reply to one user keeps its place in the
 * room's order). Returns as send, or m's drop reason if m is not live. */
int loom_broadcast_send_to(struct loom_broadcast_member *m, const void *data, size_t len,
                           int64_t timeout_ns);

/* --- accessors --- */

/* Live members. */
size_t loom_broadcast_count(const struct loom_broadcast *b);
/* 0 while m is live; its drop reason after a drop; -ENOENT after leave. */
int loom_broadcast_member_error(const struct loom_broadcast_member *m);
/* Why m was dropped, in words ("" while live). Valid until m is joined again. */
const char *loom_broadcast_member_why(const struct loom_broadcast_member *m);
/* Bytes queued for m (its stream's write buffer). */
size_t loom_broadcast_member_queued(const struct loom_broadcast_member *m);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
