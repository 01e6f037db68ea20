/* backend_uring.c - Linux io_uring backend (liburing): readiness through
 * one-shot IORING_OP_POLL_ADD, submitted in one batch per loop iteration.
 *
 * Why one-shot and not multishot poll: a multishot poll posts a completion per
 * wake-up of the file, i.e. it is edge-triggered, and the kernel refuses
 * IORING_POLL_ADD_LEVEL with it (-EINVAL, checked on 6.18). The loop's
 * contract is level-triggered (a callback may stop reading early), so each fd
 * has at most one poll in flight, re-armed after it fires while still wanted:
 * arming checks readiness at once, which gives level semantics. Re-arms and
 * mask changes only fill SQEs; the wait submits them in the same
 * io_uring_enter, so an iteration costs one syscall as with epoll_wait.
 *
 * Each poll's user_data is (generation << 32 | fd). A change bumps the fd's
 * generation, so a completion already in the CQ for a cancelled or replaced
 * poll is recognised as stale and dropped; the new poll reports readiness by
 * itself. Cancellations (poll_remove) carry IGNORE and complete unseen.
 *
 * A poll in flight holds a reference to its file, so an fd closed while armed
 * stays open in the kernel until the poll goes: del() submits its poll_remove
 * at once (one syscall, as epoll_ctl DEL) so close() after loom_io_close()
 * really closes.
 *
 * Embedding: the ring fd polls readable while the CQ holds completions. When
 * the loop polls without waiting (LOOM_RUN_NOWAIT, as a host does) the fds
 * that just fired are re-armed and submitted before returning, so a host that
 * then sleeps on the ring fd is woken by them.
 *
 * Fork: the child shares the ring's memory and must not touch it; as with
 * epoll it forgets the inherited loop (loom_loop_forget_inherited) and makes
 * its own. The ring fd is close-on-exec.
 *
 * COOP_TASKRUN (5.19): a fired poll's completion waits for this thread's next
 * kernel entry instead of interrupting it; loom-echo's server CPU per round
 * trip went from 1.2-1.6x epoll's to about 1x. DEFER_TASKRUN was tried and
 * broke the ring fd for embedding and del()'s immediate release.
 *
 * Receives (recv_start): one IORING_OP_RECV at a time per stream, armed when
 * its reader waits, selecting its buffer from a provided-buffer ring
 * (BUF_BYTES in all, made on first use, see below): the data arrives with
 * no recv syscall (the kernel receives in the task work of the next
 * io_uring_enter), the loop hands it to the stream, which copies it on and
 * gives the buffer back at once. Not multishot: a multishot receive drains
 * the socket into buffers for as long as data comes, in the task work of
 * every syscall the thread makes, so a slow reader would no longer hold its
 * peer back (the kernel's socket buffers do that on readiness, and loom's
 * tests pin it); one receive per wait keeps that, for one SQE per wait,
 * batched. A receive asks the kernel to wait for data before trying
 * (IORING_RECVSEND_POLL_FIRST) unless the last one said more was left
 * (IORING_CQE_F_SOCK_NONEMPTY): a reader waits because the socket was empty,
 * so the first try would fail and cost a socket lock; 2-5% of server CPU at
 * c=100-1000 in loom-echo. Out of buffers the kernel fails it with -ENOBUFS and the stream
 * falls back to readiness and read(). Sends (send_start): IORING_OP_SEND,
 * one in flight per stream, batched likewise (after a short count the
 * stream sends the rest). Completions
 * carry the kind (poll, recv, send, accept) and the fd's generation of that kind,
 * bumped when a stream closes, so late ones are dropped (their buffers go
 * back to the ring; an abandoned send's memory is freed).
 *
 * Accepts (accept_start): one multishot IORING_OP_ACCEPT per listener, so a
 * burst of connections costs no accept4 each and no EAGAIN probe; net/tcp.c
 * queues the fds and stops it when nobody accepts (the kernel takes every
 * pending connection at once while it is armed). A stale completion's fd is
 * closed here: nobody would.
 *
 * Nothing is registered: a registered ring fd (io_uring_register_ring_fd)
 * belongs to the thread that registered it, and a loop may be made on one
 * thread and run on another (check_embed's threadsafe case failed with it);
 * sockets as fixed files would stop send(), setsockopt() and users' own calls
 * on their fd.
 *
 * When io_uring_queue_init fails (no io_uring, io_uring_disabled set, a seccomp
 * filter) create() fails and the loop falls back to epoll (.fallback). */
#include "reactor/backend.h"

#ifdef LOOM_HAVE_URING
#include "reactor/loop.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RING_ENTRIES 256
#define CQ_ENTRIES 8192
#define IGNORE UINT64_MAX
/* user_data: kind (bits 62-63: 0 a poll, else an OP_*), generation (bits 32-61), fd (bits 0-31) */
enum { OP_SEND = 1, OP_RECV = 2, OP_ACCEPT = 3 };
#define GEN_MASK 0x3fffffffu
/* The provided buffers: 2 MiB per loop, all touched in turn. With incremental
 * consumption (6.12) 32 of 64 KiB, each receive taking only what it got, so
 * a thousand small messages at once fit in one; without, 256 of 8 KiB, one
 * per receive (with more streams than that receiving at once, the rest get
 * -ENOBUFS and read() themselves). */
#define BUF_BYTES (2u << 20)
#define BUF_SIZE_INC (64u << 10)
#define BUF_SIZE_WHOLE 8192u
#define RECV_MAX 8192 /* a stream's first read buffer is as big: one copy fills it */
#define BUF_GROUP 0
#ifndef IOU_PBUF_RING_INC
#define IOU_PBUF_RING_INC 2 /* linux/io_uring.h since 6.12 */
#endif
#ifndef IORING_CQE_F_BUF_MORE
#define IORING_CQE_F_BUF_MORE (1u << 4)
#endif

struct fd_state {
    uint32_t gen;  /* generation of the current poll, see above */
    unsigned want; /* LOOM_READABLE | LOOM_WRITABLE, 0: not watched */
    bool inflight; /* a poll with gen is in the kernel */
    bool rearm;    /* listed in rearm[] */
    /* [OP_*]: the receive, send, accept ([0] unused) */
    struct op_state {
        uint32_t gen;  /* its generation */
        bool live;     /* one with gen is in the kernel or its completion is due */
        bool nonempty; /* receive: the last one left data in the socket */
    } op[4];
};

/* An abandoned send's buffer, freed when its completion comes. */
struct orphan {
    uint64_t ud;
    void *buf;
};

struct uring_state {
    struct io_uring ring;
    struct fd_state *fds;
    size_t nfds;
    int *rearm; /* fds whose poll fired and that may need a new one */
    size_t nrearm, rearm_cap;
    /* receives: the provided-buffer ring and its buffers */
    struct io_uring_buf_ring *br;
    char *bufs;
    unsigned buf_size, buf_count;
    /* per buffer: where the kernel's next piece starts, the pieces handed
     * out and not released, and whether the kernel is done with it (then the
     * last release gives it back) */
    struct buf_use {
        uint32_t off;
        uint16_t out;
        bool done;
    } * buf_use;
    int recv_state; /* 0: not set up yet, 1: ready, -errno: unavailable */
    struct orphan *orphans;
    size_t norphans, orphans_cap;
};

static uint64_t ud_make(unsigned kind, uint32_t gen, int fd)
{
    return (uint64_t)kind << 62 | (uint64_t)(gen & GEN_MASK) << 32 | (uint32_t)fd;
}

static int uring_create(void **out)
{
    struct uring_state *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL |
                                         IORING_SETUP_COOP_TASKRUN,
                                .cq_entries = CQ_ENTRIES};
    int rc = io_uring_queue_init_params(RING_ENTRIES, &s->ring, &p);
    if (rc == -EINVAL) { /* a kernel older than 5.19 lacks SUBMIT_ALL, COOP_TASKRUN */
        p = (struct io_uring_params){.flags = IORING_SETUP_CQSIZE, .cq_entries = CQ_ENTRIES};
        rc = io_uring_queue_init_params(RING_ENTRIES, &s->ring, &p);
    }
    if (rc == 0 && !(p.features & IORING_FEAT_NODROP)) {
        io_uring_queue_exit(&s->ring); /* before 5.5 a full CQ loses events */
        rc = -ENOTSUP;
    }
    if (rc < 0) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void uring_destroy(void *state)
{
    struct uring_state *s = state;
    io_uring_queue_exit(&s->ring); /* the kernel lets go of the buffers first */
    free(s->br);
    free(s->bufs);
    free(s->buf_use);
    for (size_t i = 0; i < s->norphans; i++)
        free(s->orphans[i].buf);
    free(s->orphans);
    free(s->fds);
    free(s->rearm);
    free(s);
}

static struct fd_state *fd_get(struct uring_state *s, int fd)
{
    if (fd < 0)
        return NULL;
    if ((size_t)fd >= s->nfds) {
        size_t n = s->nfds ? s->nfds : 64;
        while (n <= (size_t)fd)
            n *= 2;
        struct fd_state *fds = realloc(s->fds, n * sizeof(*fds));
        if (!fds)
            return NULL;
        memset(fds + s->nfds, 0, (n - s->nfds) * sizeof(*fds));
        s->fds = fds;
        s->nfds = n;
    }
    return &s->fds[fd];
}

/* An SQE, flushing the SQ to the kernel when it is full. */
static struct io_uring_sqe *sqe_get(struct uring_state *s)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
    if (!sqe && io_uring_submit(&s->ring) >= 0)
        sqe = io_uring_get_sqe(&s->ring);
    return sqe;
}

static unsigned to_poll(unsigned mask)
{
    return ((mask & LOOM_READABLE) ? POLLIN | POLLRDHUP : 0) |
           ((mask & LOOM_WRITABLE) ? POLLOUT : 0);
}

static int arm(struct uring_state *s, int fd, struct fd_state *f)
{
    struct io_uring_sqe *sqe = sqe_get(s);
    if (!sqe)
        return -EBUSY;
    f->gen++;
    io_uring_prep_poll_add(sqe, fd, to_poll(f->want));
    io_uring_sqe_set_data64(sqe, ud_make(0, f->gen, fd));
    f->inflight = true;
    return 0;
}

/* Cancel fd's poll if one is in flight; its completion turns stale. */
static int cancel(struct uring_state *s, int fd, struct fd_state *f)
{
    if (!f->inflight)
        return 0;
    struct io_uring_sqe *sqe = sqe_get(s);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_poll_remove(sqe, ud_make(0, f->gen, fd));
    io_uring_sqe_set_data64(sqe, IGNORE);
    f->gen++;
    f->inflight = false;
    return 1;
}

static int set_mask(struct uring_state *s, int fd, unsigned mask)
{
    struct fd_state *f = fd_get(s, fd);
    if (!f)
        return -ENOMEM;
    int rc = cancel(s, fd, f);
    if (rc < 0)
        return rc;
    f->want = mask;
    return arm(s, fd, f);
}

static int uring_add(void *state, int fd, unsigned mask) { return set_mask(state, fd, mask); }

static int uring_mod(void *state, int fd, unsigned old, unsigned mask)
{
    (void)old;
    return set_mask(state, fd, mask);
}

static int uring_del(void *state, int fd, unsigned old)
{
    struct uring_state *s = state;
    (void)old;
    if (fd < 0 || (size_t)fd >= s->nfds)
        return 0;
    struct fd_state *f = &s->fds[fd];
    f->want = 0;
    int rc = cancel(s, fd, f);
    if (rc > 0)
        io_uring_submit(&s->ring); /* release the file now, see the top */
    return rc < 0 ? rc : 0;
}

/* Give every fired fd that is still wanted a new poll; one that finds no SQE
 * (the SQ full and the kernel refusing it for now) stays listed for next time. */
static void rearm_fired(struct uring_state *s)
{
    size_t keep = 0;
    for (size_t i = 0; i < s->nrearm; i++) {
        int fd = s->rearm[i];
        struct fd_state *f = &s->fds[fd];
        if (f->want && !f->inflight && arm(s, fd, f) < 0)
            s->rearm[keep++] = fd;
        else
            f->rearm = false;
    }
    s->nrearm = keep;
}

static void note_fired(struct uring_state *s, int fd, struct fd_state *f)
{
    f->inflight = false;
    if (f->rearm)
        return;
    if (s->nrearm == s->rearm_cap) {
        size_t cap = s->rearm_cap ? s->rearm_cap * 2 : 64;
        int *r = realloc(s->rearm, cap * sizeof(*r));
        if (!r) { /* no room to remember it: re-arm now */
            if (f->want)
                arm(s, fd, f);
            return;
        }
        s->rearm = r;
        s->rearm_cap = cap;
    }
    f->rearm = true;
    s->rearm[s->nrearm++] = fd;
}

static unsigned from_poll(int res)
{
    if (res < 0) /* -EBADF and the like: let the waiter's next call see the error */
        return LOOM_READABLE | LOOM_WRITABLE;
    unsigned m = 0;
    if (res & (POLLIN | POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
        m |= LOOM_READABLE;
    if (res & (POLLOUT | POLLHUP | POLLERR | POLLNVAL))
        m |= LOOM_WRITABLE;
    return m;
}

static void buf_recycle(struct uring_state *s, unsigned bid)
{
    s->buf_use[bid] = (struct buf_use){0};
    io_uring_buf_ring_add(s->br, s->bufs + (size_t)bid * s->buf_size, s->buf_size,
                          (unsigned short)bid, io_uring_buf_ring_mask(s->buf_count), 0);
    io_uring_buf_ring_advance(s->br, 1);
}

/* A completion's piece of buffer bid: where it starts. Counted as handed out
 * when delivered (out), and the buffer marked done when the kernel will put
 * no more in it (always, without incremental consumption). A buffer goes back
 * to the kernel only when it is done and no piece of it is out: pieces of one
 * buffer may wait in the same batch of events, and a callback's syscall runs
 * the kernel's task work, which would fill a buffer given back early. */
static char *buf_piece(struct uring_state *s, struct io_uring_cqe *cqe, unsigned bid, bool deliver)
{
    struct buf_use *u = &s->buf_use[bid];
    char *at = s->bufs + (size_t)bid * s->buf_size + u->off;
    if (cqe->res > 0)
        u->off += (uint32_t)cqe->res;
    u->done = !(cqe->flags & IORING_CQE_F_BUF_MORE);
    if (deliver)
        u->out++;
    else if (u->done && !u->out)
        buf_recycle(s, bid);
    return at;
}

static void buf_release(struct uring_state *s, unsigned bid)
{
    struct buf_use *u = &s->buf_use[bid];
    if (--u->out == 0 && u->done)
        buf_recycle(s, bid);
}

/* The fd, generation and state a completion's user_data names (NULL: an fd
 * never seen). */
static struct fd_state *ud_state(struct uring_state *s, uint64_t ud, int *fd, uint32_t *gen)
{
    *fd = (int)(uint32_t)ud;
    *gen = (uint32_t)(ud >> 32) & GEN_MASK;
    return (size_t)*fd < s->nfds ? &s->fds[*fd] : NULL;
}

/* The operation a completion is for, NULL when stale (stopped or replaced
 * since); *fd and *gen as ud_state's. */
static struct op_state *op_current(struct uring_state *s, uint64_t ud, int *fd, uint32_t *gen)
{
    struct fd_state *f = ud_state(s, ud, fd, gen);
    struct op_state *op = f ? &f->op[ud >> 62] : NULL;
    return op && op->live && (op->gen & GEN_MASK) == *gen ? op : NULL;
}

/* A poll completion into *ev; false when there is nothing to report. */
static bool reap_poll(struct uring_state *s, struct io_uring_cqe *cqe,
                      struct loom_backend_event *ev)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    int fd;
    uint32_t gen;
    struct fd_state *f = ud_state(s, ud, &fd, &gen);
    if (!f || !f->inflight || (f->gen & GEN_MASK) != gen)
        return false; /* stale: cancelled or replaced since */
    note_fired(s, fd, f);
    if (cqe->res == -ECANCELED)
        return false; /* the submitting thread exited: re-arm, report nothing */
    ev->fd = fd;
    ev->events = from_poll(cqe->res);
    return true;
}

/* A current operation's completion into *ev, with events as its kind; the
 * operation stays live while the kernel says more will come (multishot). */
static void reap_current(struct op_state *op, struct io_uring_cqe *cqe, int fd, uint32_t gen,
                         unsigned events, struct loom_backend_event *ev)
{
    bool more = cqe->flags & IORING_CQE_F_MORE;
    op->live = more;
    *ev = (struct loom_backend_event){
        .fd = fd, .events = events, .res = cqe->res, .gen = gen, .more = more};
}

/* A receive completion into *ev; false when stale (its buffer goes back). */
static bool reap_recv(struct uring_state *s, struct io_uring_cqe *cqe,
                      struct loom_backend_event *ev)
{
    int fd;
    uint32_t gen;
    struct op_state *op = op_current(s, io_uring_cqe_get_data64(cqe), &fd, &gen);
    bool has_buf = cqe->flags & IORING_CQE_F_BUFFER;
    unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    if (!op) {
        if (has_buf)
            buf_piece(s, cqe, bid, false);
        return false;
    }
    reap_current(op, cqe, fd, gen, LOOM__EV_RECV, ev);
    op->nonempty = cqe->flags & IORING_CQE_F_SOCK_NONEMPTY;
    if (has_buf) {
        ev->data = buf_piece(s, cqe, bid, true);
        ev->bid = (uint16_t)bid;
    } else if (cqe->res > 0) {
        ev->res = -EIO; /* data with no buffer: cannot happen with buffer select */
    }
    return true;
}

/* A send completion into *ev; false when stale (an abandoned send's buffer
 * is freed). */
static bool reap_send(struct uring_state *s, struct io_uring_cqe *cqe,
                      struct loom_backend_event *ev)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    int fd;
    uint32_t gen;
    struct op_state *op = op_current(s, ud, &fd, &gen);
    if (!op) {
        for (size_t i = 0; i < s->norphans; i++) {
            if (s->orphans[i].ud == ud) {
                free(s->orphans[i].buf);
                s->orphans[i] = s->orphans[--s->norphans];
                break;
            }
        }
        return false;
    }
    reap_current(op, cqe, fd, gen, LOOM__EV_SEND, ev);
    return true;
}

/* An accept completion into *ev; false when stale (a connection it brings
 * is closed: nobody will take it). */
static bool reap_accept(struct uring_state *s, struct io_uring_cqe *cqe,
                        struct loom_backend_event *ev)
{
    int fd;
    uint32_t gen;
    struct op_state *op = op_current(s, io_uring_cqe_get_data64(cqe), &fd, &gen);
    if (!op) {
        if (cqe->res >= 0)
            close(cqe->res);
        return false;
    }
    reap_current(op, cqe, fd, gen, LOOM__EV_ACCEPT, ev);
    return true;
}

/* Move up to max current completions into ev. */
static int reap(struct uring_state *s, struct loom_backend_event *ev, int max)
{
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    int n = 0;
    io_uring_for_each_cqe(&s->ring, head, cqe)
    {
        if (n == max)
            break;
        seen++;
        uint64_t ud = io_uring_cqe_get_data64(cqe);
        if (ud == IGNORE)
            continue;
        unsigned kind = (unsigned)(ud >> 62);
        bool got = kind == OP_ACCEPT ? reap_accept(s, cqe, &ev[n])
                   : kind == OP_RECV ? reap_recv(s, cqe, &ev[n])
                   : kind == OP_SEND ? reap_send(s, cqe, &ev[n])
                                     : reap_poll(s, cqe, &ev[n]);
        n += got;
    }
    io_uring_cq_advance(&s->ring, seen);
    return n;
}

/* Register the buffer ring with count buffers of size (flags: IOU_PBUF_RING_INC
 * or 0) and hand them all to the kernel; 0 or -errno. */
static int bufs_register(struct uring_state *s, unsigned count, unsigned size, unsigned flags)
{
    memset(s->br, 0, count * sizeof(struct io_uring_buf));
    struct io_uring_buf_reg reg = {.ring_addr = (uintptr_t)s->br,
                                   .ring_entries = count,
                                   .bgid = BUF_GROUP,
                                   .pad = (uint16_t)flags}; /* "flags" since 6.12 */
    int rc = io_uring_register_buf_ring(&s->ring, &reg, 0);
    if (rc < 0)
        return rc;
    s->buf_count = count;
    s->buf_size = size;
    io_uring_buf_ring_init(s->br);
    for (unsigned i = 0; i < count; i++)
        io_uring_buf_ring_add(s->br, s->bufs + (size_t)i * size, size, (unsigned short)i,
                              io_uring_buf_ring_mask(count), (int)i);
    io_uring_buf_ring_advance(s->br, count);
    return 0;
}

static void bufs_free(struct uring_state *s)
{
    free(s->br);
    free(s->bufs);
    free(s->buf_use);
    s->br = NULL;
    s->bufs = NULL;
    s->buf_use = NULL;
}

/* The provided-buffer ring, on the first receive: 0, or -errno when this
 * kernel has none (before 5.19), remembered so later calls fail at once.
 * Incremental consumption first, whole buffers on kernels without it. */
static int recv_setup(struct uring_state *s)
{
    if (s->recv_state)
        return s->recv_state < 0 ? s->recv_state : 0;
    unsigned most = BUF_BYTES / BUF_SIZE_WHOLE;
    int rc = posix_memalign((void **)&s->br, 4096, most * sizeof(struct io_uring_buf));
    if (rc) {
        s->br = NULL;
        return -rc; /* ENOMEM: try again next time */
    }
    s->bufs = malloc(BUF_BYTES);
    s->buf_use = calloc(most, sizeof(*s->buf_use));
    if (!s->bufs || !s->buf_use) {
        bufs_free(s);
        return -ENOMEM;
    }
    rc = bufs_register(s, BUF_BYTES / BUF_SIZE_INC, BUF_SIZE_INC, IOU_PBUF_RING_INC);
    if (rc == -EINVAL)
        rc = bufs_register(s, most, BUF_SIZE_WHOLE, 0);
    if (rc < 0) {
        bufs_free(s);
        return s->recv_state = rc == -ENOMEM ? 0 : -ENOTSUP;
    }
    s->recv_state = 1;
    return 0;
}

/* fd's operation of kind, NULL for an fd never seen. */
static struct op_state *op_of(struct uring_state *s, int fd, unsigned kind)
{
    return fd >= 0 && (size_t)fd < s->nfds ? &s->fds[fd].op[kind] : NULL;
}

/* An SQE for a new operation of kind on fd, to prep and pass to op_commit;
 * NULL with *rc = -ENOMEM or -EBUSY (one is live, or the SQ is full). */
static struct io_uring_sqe *op_begin(struct uring_state *s, int fd, unsigned kind,
                                     struct op_state **op, int *rc)
{
    struct fd_state *f = fd_get(s, fd);
    *rc = !f ? -ENOMEM : -EBUSY;
    if (!f || f->op[kind].live)
        return NULL;
    *op = &f->op[kind];
    return sqe_get(s);
}

static int op_commit(struct io_uring_sqe *sqe, struct op_state *op, unsigned kind, int fd,
                     uint32_t *gen)
{
    op->gen++;
    io_uring_sqe_set_data64(sqe, ud_make(kind, op->gen, fd));
    op->live = true;
    *gen = op->gen & GEN_MASK;
    return 0;
}

static int uring_recv_start(void *state, int fd, uint32_t *gen)
{
    struct uring_state *s = state;
    struct op_state *op;
    int rc = recv_setup(s);
    struct io_uring_sqe *sqe = rc < 0 ? NULL : op_begin(s, fd, OP_RECV, &op, &rc);
    if (!sqe)
        return rc;
    io_uring_prep_recv(sqe, fd, NULL, RECV_MAX, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    if (!op->nonempty)
        sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
    return op_commit(sqe, op, OP_RECV, fd, gen);
}

/* Cancel fd's receive or accept (kind); close: what is still due turns
 * stale. At once: closing, the file is released now (as del()); pausing,
 * the operation would otherwise go on (draining the socket, taking
 * connections) in the task work of every syscall this thread makes until the
 * next poll. */
static int op_stop(struct uring_state *s, int fd, unsigned kind, bool close)
{
    struct op_state *op = op_of(s, fd, kind);
    if (!op || !op->live)
        return 0;
    struct io_uring_sqe *sqe = sqe_get(s);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_cancel64(sqe, ud_make(kind, op->gen, fd), 0);
    io_uring_sqe_set_data64(sqe, IGNORE);
    if (close) {
        op->gen++;
        op->live = false;
    }
    io_uring_submit(&s->ring);
    return 0;
}

static int uring_recv_stop(void *state, int fd, bool close)
{
    return op_stop(state, fd, OP_RECV, close);
}

static void uring_recv_release(void *state, unsigned bid) { buf_release(state, bid); }

/* One multishot accept per listener (5.19): the kernel accepts each
 * connection as it comes (in task work, no accept4 and no EAGAIN probe) and
 * posts its fd. It ends with an error (EMFILE...), a stop, or when it cannot
 * post; the listener starts it again. A kernel without it fails it with
 * -EINVAL and the listener keeps to readiness. */
static int uring_accept_start(void *state, int fd, uint32_t *gen)
{
    struct op_state *op;
    int rc;
    struct io_uring_sqe *sqe = op_begin(state, fd, OP_ACCEPT, &op, &rc);
    if (!sqe)
        return rc;
    io_uring_prep_multishot_accept(sqe, fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    return op_commit(sqe, op, OP_ACCEPT, fd, gen);
}

static int uring_accept_stop(void *state, int fd, bool close)
{
    return op_stop(state, fd, OP_ACCEPT, close);
}

static int uring_send_start(void *state, int fd, const void *buf, size_t len, uint32_t *gen)
{
    struct op_state *op;
    int rc;
    struct io_uring_sqe *sqe = op_begin(state, fd, OP_SEND, &op, &rc);
    if (!sqe)
        return rc;
    /* Not MSG_WAITALL: with it, an error after partial progress completes
     * with the count and the error is lost (a reset the read side should
     * see); the stream sends the rest itself after a short count. */
    io_uring_prep_send(sqe, fd, buf, len, MSG_NOSIGNAL);
    return op_commit(sqe, op, OP_SEND, fd, gen);
}

static void uring_send_abandon(void *state, int fd, void *buf)
{
    struct uring_state *s = state;
    struct op_state *op = op_of(s, fd, OP_SEND);
    if (!op || !op->live) {
        free(buf);
        return;
    }
    uint64_t ud = ud_make(OP_SEND, op->gen, fd);
    op->gen++;
    op->live = false;
    io_uring_submit(&s->ring); /* a send not yet submitted gets its try now */
    if (s->norphans == s->orphans_cap) {
        size_t cap = s->orphans_cap ? s->orphans_cap * 2 : 16;
        struct orphan *o = realloc(s->orphans, cap * sizeof(*o));
        if (o) {
            s->orphans = o;
            s->orphans_cap = cap;
        }
    }
    if (s->norphans < s->orphans_cap) /* else leak buf: the kernel may still read it */
        s->orphans[s->norphans++] = (struct orphan){ud, buf};
    struct io_uring_sqe *sqe = sqe_get(s);
    if (sqe) {
        io_uring_prep_cancel64(sqe, ud, 0);
        io_uring_sqe_set_data64(sqe, IGNORE);
        io_uring_submit(&s->ring); /* release the file now, as del() */
    }
}

static int uring_poll(void *state, struct loom_backend_event *ev, int max, int64_t timeout_ns)
{
    struct uring_state *s = state;
    struct io_uring_cqe *cqe;
    int rc;
    rearm_fired(s);
    if (timeout_ns == 0 || io_uring_cq_ready(&s->ring)) {
        rc = io_uring_sq_ready(&s->ring) ? io_uring_submit(&s->ring) : 0;
        if (rc >= 0 && io_uring_cq_has_overflow(&s->ring))
            rc = io_uring_get_events(&s->ring);
    } else if (timeout_ns < 0) {
        rc = io_uring_submit_and_wait(&s->ring, 1);
    } else {
        struct __kernel_timespec ts = {.tv_sec = timeout_ns / 1000000000,
                                       .tv_nsec = timeout_ns % 1000000000};
        rc = io_uring_submit_and_wait_timeout(&s->ring, &cqe, 1, &ts, NULL);
    }
    /* EINTR/ETIME: a signal or the timeout; EBUSY/EAGAIN: the CQ backlog or
     * memory is short, reaping below makes room and the next call retries. */
    if (rc < 0 && rc != -EINTR && rc != -ETIME && rc != -EBUSY && rc != -EAGAIN)
        return rc;
    int n = reap(s, ev, max);
    if (timeout_ns == 0 && s->nrearm) { /* a host may sleep on the ring fd next */
        rearm_fired(s);
        io_uring_submit(&s->ring);
    }
    return n;
}

static int uring_fd(void *state) { return ((struct uring_state *)state)->ring.ring_fd; }

const struct loom_backend_ops loom__backend_uring = {
    .name = "io_uring",
    .create = uring_create,
    .destroy = uring_destroy,
    .add = uring_add,
    .mod = uring_mod,
    .del = uring_del,
    .poll = uring_poll,
    .fd = uring_fd,
    .recv_start = uring_recv_start,
    .recv_stop = uring_recv_stop,
    .recv_release = uring_recv_release,
    .send_start = uring_send_start,
    .send_abandon = uring_send_abandon,
    .accept_start = uring_accept_start,
    .accept_stop = uring_accept_stop,
    .fallback = &loom__backend_epoll,
};
#endif
