/* backend_kqueue.c - BSD/macOS kqueue backend (compiled where <sys/event.h> exists).
 *
 * kqueue keeps one filter per direction, so a mask change becomes EV_ADD or
 * EV_DELETE on EVFILT_READ / EVFILT_WRITE as needed. */
#include "reactor/compat.h"

#ifdef LOOM_HAVE_KQUEUE
#include "reactor/backend.h"
#include "reactor/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/event.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

struct kqueue_state {
    int kq;
    struct kevent events[1024];
};

static int kqueue_create_state(void **out)
{
    struct kqueue_state *s = malloc(sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->kq = kqueue();
    if (s->kq < 0) {
        int err = -errno;
        free(s);
        return err;
    }
    *out = s;
    return 0;
}

static void kqueue_destroy(void *state)
{
    struct kqueue_state *s = state;
    close(s->kq);
    free(s);
}

/* One filter per kevent() call: with no event list, kevent() stops at the first
 * failing change, so a batched delete of an absent READ filter would leave the
 * WRITE filter registered. */
static int change_one(struct kqueue_state *s, int fd, short filter, int on)
{
    struct kevent ch;
    EV_SET(&ch, fd, filter, on ? EV_ADD : EV_DELETE, 0, 0, 0);
    if (kevent(s->kq, &ch, 1, NULL, 0, NULL) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

static int change(struct kqueue_state *s, int fd, unsigned old, unsigned mask)
{
    int rc_read = 0, rc_write = 0;
    if ((mask ^ old) & LOOM_READABLE)
        rc_read = change_one(s, fd, EVFILT_READ, (mask & LOOM_READABLE) != 0);
    if ((mask ^ old) & LOOM_WRITABLE)
        rc_write = change_one(s, fd, EVFILT_WRITE, (mask & LOOM_WRITABLE) != 0);
    return rc_read < 0 ? rc_read : rc_write;
}

static int kqueue_add(void *state, int fd, unsigned mask) { return change(state, fd, 0, mask); }

static int kqueue_mod(void *state, int fd, unsigned old, unsigned mask)
{
    return change(state, fd, old, mask);
}

static int kqueue_del(void *state, int fd, unsigned old) { return change(state, fd, old, 0); }

static int kqueue_poll(void *state, struct loom_backend_event *ev, int max, int64_t timeout_ns)
{
    struct kqueue_state *s = state;
    struct timespec ts, *tp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tp = &ts;
    }
    if (max > 1024)
        max = 1024;
    int n = kevent(s->kq, NULL, 0, s->events, max, tp);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        struct kevent *k = &s->events[i];
        unsigned m = k->filter == EVFILT_READ ? LOOM_READABLE : LOOM_WRITABLE;
        if (k->flags & (EV_EOF | EV_ERROR))
            m |= LOOM_READABLE | LOOM_WRITABLE;
        ev[i].fd = (int)k->ident;
        ev[i].events = m;
    }
    return n;
}

static int kqueue_fd(void *state) { return ((struct kqueue_state *)state)->kq; }

const struct loom_backend_ops loom__backend_kqueue = {
    .name = "kqueue",
    .create = kqueue_create_state,
    .destroy = kqueue_destroy,
    .add = kqueue_add,
    .mod = kqueue_mod,
    .del = kqueue_del,
    .poll = kqueue_poll,
    .fd = kqueue_fd,
};
#endif
