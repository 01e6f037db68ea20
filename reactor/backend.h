/* backend.h - the contract every I/O multiplexing backend fills in.
 *
 * A backend knows nothing of watchers: it maps fds to interest masks
 * (LOOM_READABLE | LOOM_WRITABLE) and reports ready fds. The loop batches mask
 * changes and applies them just before poll(). */
#ifndef LOOM_REACTOR_BACKEND_H
#define LOOM_REACTOR_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* io_uring needs liburing's headers and library (liburing-dev); a build
 * without them, or with -DLOOM_NO_URING (make qemu-aarch64: a cross compiler
 * sees the host's headers but has no aarch64 library), has no io_uring backend. */
#if defined(__linux__) && defined(__has_include) && !defined(LOOM_NO_URING)
#if __has_include(<liburing.h>)
#define LOOM_HAVE_URING 1
#endif
#endif

/* events of a completed receive (recv_start), send (send_start) or accept
 * (accept_start), never a readiness bit */
#define LOOM__EV_RECV 0x100u
#define LOOM__EV_SEND 0x200u
#define LOOM__EV_ACCEPT 0x400u

struct loom_backend_event {
    int fd;
    unsigned events; /* LOOM_READABLE | LOOM_WRITABLE, or one LOOM__EV_* */
    /* LOOM__EV_RECV, LOOM__EV_SEND and LOOM__EV_ACCEPT only: */
    int res;      /* bytes received at data / sent, 0: end of stream; the accepted fd; or -errno */
    uint32_t gen; /* the operation's generation; stale if the fd's differs */
    const char *data; /* in the backend's buffer bid, valid until recv_release(bid) */
    uint16_t bid;
    bool more; /* the operation goes on (a multishot accept; never a receive today) */
};

struct loom_backend_ops {
    const char *name;
    /* Create the backend's state. 0 or -errno. */
    int (*create)(void **state);
    void (*destroy)(void *state);
    /* Start watching fd for mask (non-zero). */
    int (*add)(void *state, int fd, unsigned mask);
    /* Change the mask of a watched fd (non-zero); old is the previous mask. */
    int (*mod)(void *state, int fd, unsigned old, unsigned mask);
    /* Stop watching fd; old is the previous mask. */
    int (*del)(void *state, int fd, unsigned old);
    /* Wait up to timeout_ns (-1: forever, 0: not at all); fill at most max events.
     * Returns the count, 0 on timeout or EINTR, or -errno. */
    int (*poll)(void *state, struct loom_backend_event *ev, int max, int64_t timeout_ns);
    /* One fd that polls readable while poll() would report something (embedding);
     * NULL when the backend has none (poll). */
    int (*fd)(void *state);
    /* Completion-based receive, NULL when the backend has none. recv_start
     * receives what fd has next (at most one buffer) into the backend's
     * buffers; the completion comes out of poll() as a LOOM__EV_RECV event
     * holding the buffer, which the loop gives back with recv_release. gen
     * (out) tells this receive's completion from an earlier one's. recv_stop
     * cancels it: with close set the completion is dropped if it comes and
     * the cancel goes to the kernel at once (the fd is about to close);
     * without, it still comes (with data or -ECANCELED). 0 or -errno. */
    int (*recv_start)(void *state, int fd, uint32_t *gen);
    int (*recv_stop)(void *state, int fd, bool close);
    void (*recv_release)(void *state, unsigned bid);
    /* Completion-based send, NULL when the backend has none: send len bytes
     * at buf (which must stay put until the LOOM__EV_SEND event) on fd,
     * waiting for room as needed; the count may be short (send the rest
     * again); one operation per fd at a time. gen
     * as recv_start's. send_abandon: the fd is about to close; the kernel gets
     * what it can take now, the rest is dropped, and buf (malloc'd, may be
     * NULL) is freed once the kernel is done with it; no event comes. */
    int (*send_start)(void *state, int fd, const void *buf, size_t len, uint32_t *gen);
    void (*send_abandon)(void *state, int fd, void *buf);
    /* Completion-based accept, NULL when the backend has none: a multishot
     * accept on listening fd, each connection a LOOM__EV_ACCEPT event whose
     * res is the new fd (non-blocking, close-on-exec) or -errno; more false
     * ends it (after an error, or a stop). gen as recv_start's. accept_stop
     * cancels it as recv_stop does; completions that still come bring their
     * fds, except with close: those are closed here, never reported. */
    int (*accept_start)(void *state, int fd, uint32_t *gen);
    int (*accept_stop)(void *state, int fd, bool close);
    /* Tried by the loop when create() fails at run time (io_uring -> epoll), NULL:
     * the failure is the loop's. loom_loop_backend() names the one really used. */
    const struct loom_backend_ops *fallback;
};

extern const struct loom_backend_ops loom__backend_epoll;
extern const struct loom_backend_ops loom__backend_poll;
extern const struct loom_backend_ops loom__backend_kqueue;
extern const struct loom_backend_ops loom__backend_uring;

/* Round a timeout in ns up to whole milliseconds, -1 staying -1. */
static inline int loom__timeout_ms(int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return -1;
    int64_t ms = (timeout_ns + 999999) / 1000000;
    return ms > 2000000000 ? 2000000000 : (int)ms;
}

#endif
