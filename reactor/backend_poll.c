/* backend_poll.c - portable poll(2) backend.
 *
 * Keeps one pollfd array and an fd -> slot index, so add/mod/del are O(1)
 * (del swaps the last slot in). poll() itself is O(watched fds) per call: the
 * price of portability, fine for hundreds of fds, not for 10,000. */
#include "reactor/backend.h"
#include "reactor/loop.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

struct poll_state {
    struct pollfd *fds;
    size_t count, cap;
    int *slot_of; /* fd -> index in fds, -1 if absent */
    size_t slot_cap;
};

static short to_poll(unsigned mask)
{
    return (short)(((mask & LOOM_READABLE) ? POLLIN : 0) | ((mask & LOOM_WRITABLE) ? POLLOUT : 0));
}

static int poll_create_state(void **out)
{
    struct poll_state *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    *out = s;
    return 0;
}

static void poll_destroy(void *state)
{
    struct poll_state *s = state;
    free(s->fds);
    free(s->slot_of);
    free(s);
}

static int grow_slots(struct poll_state *s, int fd)
{
    if ((size_t)fd < s->slot_cap)
        return 0;
    size_t cap = s->slot_cap ? s->slot_cap : 64;
    while (cap <= (size_t)fd)
        cap *= 2;
    int *slots = realloc(s->slot_of, cap * sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    for (size_t i = s->slot_cap; i < cap; i++)
        slots[i] = -1;
    s->slot_of = slots;
    s->slot_cap = cap;
    return 0;
}

static int poll_add(void *state, int fd, unsigned mask)
{
    struct poll_state *s = state;
    if (grow_slots(s, fd) < 0)
        return -ENOMEM;
    if (s->slot_of[fd] >= 0) {
        s->fds[s->slot_of[fd]].events = to_poll(mask);
        return 0;
    }
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct pollfd *fds = realloc(s->fds, cap * sizeof(*fds));
        if (!fds)
            return -ENOMEM;
        s->fds = fds;
        s->cap = cap;
    }
    s->fds[s->count] = (struct pollfd){.fd = fd, .events = to_poll(mask)};
    s->slot_of[fd] = (int)s->count++;
    return 0;
}

static int poll_mod(void *state, int fd, unsigned old, unsigned mask)
{
    struct poll_state *s = state;
    (void)old;
    if ((size_t)fd >= s->slot_cap || s->slot_of[fd] < 0)
        return poll_add(state, fd, mask);
    s->fds[s->slot_of[fd]].events = to_poll(mask);
    return 0;
}

static int poll_del(void *state, int fd, unsigned old)
{
    struct poll_state *s = state;
    (void)old;
    if ((size_t)fd >= s->slot_cap || s->slot_of[fd] < 0)
        return 0;
    int slot = s->slot_of[fd];
    s->fds[slot] = s->fds[--s->count];
    s->slot_of[s->fds[slot].fd] = slot;
    s->slot_of[fd] = -1;
    return 0;
}

static int poll_poll(void *state, struct loom_backend_event *ev, int max, int64_t timeout_ns)
{
    struct poll_state *s = state;
    int n = poll(s->fds, (nfds_t)s->count, loom__timeout_ms(timeout_ns));
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    int out = 0;
    for (size_t i = 0; i < s->count && out < n && out < max; i++) {
        short r = s->fds[i].revents;
        if (!r)
            continue;
        unsigned m = 0;
        if (r & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
            m |= LOOM_READABLE;
        if (r & (POLLOUT | POLLHUP | POLLERR | POLLNVAL))
            m |= LOOM_WRITABLE;
        ev[out].fd = s->fds[i].fd;
        ev[out++].events = m;
    }
    return out;
}

const struct loom_backend_ops loom__backend_poll = {
    .name = "poll",
    .create = poll_create_state,
    .destroy = poll_destroy,
    .add = poll_add,
    .mod = poll_mod,
    .del = poll_del,
    .poll = poll_poll,
};
