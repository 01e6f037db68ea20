/* backend_epoll.c - Linux epoll backend, level-triggered.
 *
 * Level-triggered keeps the contract of loom_io simple (no lost edge when a
 * callback stops reading early); the loop avoids epoll_ctl per wait by keeping
 * interest armed until an event arrives that nobody wants. */
#include "reactor/compat.h"

#ifdef LOOM_HAVE_EPOLL
#include "reactor/backend.h"
#include "reactor/loop.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

struct epoll_state {
    int epfd;
    struct epoll_event events[1024];
};

static uint32_t to_epoll(unsigned mask)
{
    return ((mask & LOOM_READABLE) ? EPOLLIN | EPOLLRDHUP : 0) |
           ((mask & LOOM_WRITABLE) ? EPOLLOUT : 0);
}

static int epoll_create_state(void **out)
{
    struct epoll_state *s = malloc(sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0) {
        int err = -errno;
        free(s);
        return err;
    }
    *out = s;
    return 0;
}

static void epoll_destroy(void *state)
{
    struct epoll_state *s = state;
    close(s->epfd);
    free(s);
}

static int ctl(struct epoll_state *s, int op, int fd, unsigned mask)
{
    struct epoll_event ev = {.events = to_epoll(mask), .data.fd = fd};
    return epoll_ctl(s->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static int epoll_add(void *state, int fd, unsigned mask)
{
    int rc = ctl(state, EPOLL_CTL_ADD, fd, mask);
    /* A dup'd fd may still be registered from before; take it over. */
    return rc == -EEXIST ? ctl(state, EPOLL_CTL_MOD, fd, mask) : rc;
}

static int epoll_mod(void *state, int fd, unsigned old, unsigned mask)
{
    (void)old;
    return ctl(state, EPOLL_CTL_MOD, fd, mask);
}

static int epoll_del(void *state, int fd, unsigned old)
{
    (void)old;
    int rc = ctl(state, EPOLL_CTL_DEL, fd, 0);
    return rc == -ENOENT || rc == -EBADF ? 0 : rc;
}

static int epoll_poll(void *state, struct loom_backend_event *ev, int max, int64_t timeout_ns)
{
    struct epoll_state *s = state;
    if (max > 1024)
        max = 1024;
    int n = epoll_wait(s->epfd, s->events, max, loom__timeout_ms(timeout_ns));
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        uint32_t e = s->events[i].events;
        unsigned m = 0;
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            m |= LOOM_READABLE;
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            m |= LOOM_WRITABLE;
        ev[i].fd = s->events[i].data.fd;
        ev[i].events = m;
    }
    return n;
}

static int epoll_fd(void *state) { return ((struct epoll_state *)state)->epfd; }

const struct loom_backend_ops loom__backend_epoll = {
    .name = "epoll",
    .create = epoll_create_state,
    .destroy = epoll_destroy,
    .add = epoll_add,
    .mod = epoll_mod,
    .del = epoll_del,
    .poll = epoll_poll,
    .fd = epoll_fd,
};
#endif
