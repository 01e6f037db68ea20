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

#define RING_ENTRIES 256
#define CQ_ENTRIES 8192
#define IGNORE UINT64_MAX

struct fd_state {
    uint32_t gen;  /* generation of the current poll, see above */
    unsigned want; /* LOOM_READABLE | LOOM_WRITABLE, 0: not watched */
    bool inflight; /* a poll with gen is in the kernel */
    bool rearm;    /* listed in rearm[] */
};

struct uring_state {
    struct io_uring ring;
    struct fd_state *fds;
    size_t nfds;
    int *rearm; /* fds whose poll fired and that may need a new one */
    size_t nrearm, rearm_cap;
};

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
    io_uring_queue_exit(&s->ring);
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
    io_uring_sqe_set_data64(sqe, (uint64_t)f->gen << 32 | (uint32_t)fd);
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
    io_uring_prep_poll_remove(sqe, (uint64_t)f->gen << 32 | (uint32_t)fd);
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
        int fd = (int)(uint32_t)ud;
        struct fd_state *f = (size_t)fd < s->nfds ? &s->fds[fd] : NULL;
        if (!f || !f->inflight || f->gen != (uint32_t)(ud >> 32))
            continue; /* stale: cancelled or replaced since */
        note_fired(s, fd, f);
        if (cqe->res == -ECANCELED)
            continue; /* the submitting thread exited: re-arm, report nothing */
        ev[n].fd = fd;
        ev[n++].events = from_poll(cqe->res);
    }
    io_uring_cq_advance(&s->ring, seen);
    return n;
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
    .fallback = &loom__backend_epoll,
};
#endif
