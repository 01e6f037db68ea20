/* eyeballs.c - TCP connect racing over every resolved address (Happy
 * Eyeballs v2, RFC 8305), done in the calling task without helper tasks: each
 * attempt is a non-blocking connect with an I/O watcher that wakes the task,
 * and the task's park deadline doubles as the "start the next attempt" timer.
 *
 * getaddrinfo returns both families in one answer (already sorted by RFC 6724
 * rules), so the resolution delay of RFC 8305 section 3 has nothing to wait
 * for; the rest applies: families interleaved (section 4), a new attempt every
 * attempt delay or as soon as the previous one failed (section 5), the first
 * to connect wins and the others are closed. */
#include "net/tcp.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reactor/park.h"

/* RFC 8305 section 5: "MUST NOT be less than 10 ms". */
#define MIN_ATTEMPT_DELAY LOOM_MS(10)

struct attempt {
    int fd; /* -1: not started or finished */
    struct loom_io io;
    struct loom_task *self;
    bool ready; /* the watcher fired: the connect finished one way or the other */
};

struct race {
    const struct addrinfo *addr[LOOM_CONNECT_MAX_ADDRS];
    struct attempt at[LOOM_CONNECT_MAX_ADDRS];
    size_t n, next, active;
    int64_t delay;
    int err; /* the latest failure */
};

static void on_connect_io(struct loom_io *io, unsigned revents)
{
    struct attempt *a = io->data;
    a->ready = true;
    loom_wake(a->self, 0);
}

/* RFC 8305 section 4: start with the family of the first address, then take
 * the next address of the other family whenever there is one. */
static void interleave(struct race *r, const struct addrinfo *ai, int family, bool keep_order)
{
    const struct addrinfo *all[LOOM_CONNECT_MAX_ADDRS];
    size_t n = 0;
    for (; ai && n < LOOM_CONNECT_MAX_ADDRS; ai = ai->ai_next)
        if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
            (!family || ai->ai_family == family))
            all[n++] = ai;
    bool used[LOOM_CONNECT_MAX_ADDRS] = {false};
    int want = n ? all[0]->ai_family : 0;
    for (r->n = 0; r->n < n; r->n++) {
        size_t pick = n, first = n;
        for (size_t i = 0; i < n && pick == n; i++) {
            if (used[i])
                continue;
            if (first == n)
                first = i;
            if (keep_order || all[i]->ai_family == want)
                pick = i;
        }
        if (pick == n)
            pick = first; /* none of the wanted family left */
        used[pick] = true;
        r->addr[r->n] = all[pick];
        want = all[pick]->ai_family == AF_INET ? AF_INET6 : AF_INET;
    }
}

static void attempt_end(struct attempt *a)
{
    loom_io_close(&a->io);
    close(a->fd);
    a->fd = -1;
}

/* Start attempt r->next. Returns the fd if it connected at once, -EINPROGRESS
 * if it is under way, or the error (then it is already over). */
static int attempt_start(struct race *r, struct loom_task *self)
{
    const struct addrinfo *ai = r->addr[r->next];
    struct attempt *a = &r->at[r->next++];
    a->self = self;
    a->ready = false;
    a->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (a->fd < 0)
        return -errno;
    if (connect(a->fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        int fd = a->fd;
        a->fd = -1;
        return fd;
    }
    int rc = -errno;
    if (rc == -EINPROGRESS || rc == -EAGAIN)
        rc = loom_io_init(loom_task_loop(self), &a->io, a->fd, on_connect_io);
    if (rc == 0) {
        a->io.data = a;
        loom_io_start(&a->io, LOOM_WRITABLE);
        r->active++;
        return -EINPROGRESS;
    }
    close(a->fd);
    a->fd = -1;
    return rc;
}

/* Look at the attempts whose watcher fired: the winner's fd, or -EINPROGRESS
 * (failures are closed and recorded in r->err). */
static int attempts_check(struct race *r)
{
    for (size_t i = 0; i < r->next; i++) {
        struct attempt *a = &r->at[i];
        if (a->fd < 0 || !a->ready)
            continue;
        a->ready = false;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err == EINPROGRESS || err == EALREADY)
            continue; /* a stray readiness: still connecting */
        if (err == 0) {
            int fd = a->fd;
            loom_io_close(&a->io);
            a->fd = -1;
            r->active--;
            return fd;
        }
        attempt_end(a);
        r->active--;
        r->err = -err;
    }
    return -EINPROGRESS;
}

static void race_cleanup(struct race *r)
{
    for (size_t i = 0; i < r->next; i++)
        if (r->at[i].fd >= 0)
            attempt_end(&r->at[i]);
}

/* The race itself; the winning fd or the error. Suspends. */
static int race_run(struct race *r, struct loom_task *self, int64_t deadline)
{
    struct loom_loop *loop = loom_task_loop(self);
    int64_t next_at = 0; /* when the next attempt may start (loop clock) */
    for (;;) {
        int64_t now = loom_deadline(loop, 0);
        if (deadline >= 0 && now >= deadline && r->next > 0)
            return -ETIMEDOUT;
        bool may_start = r->active == 0 || (r->delay >= 0 && now >= next_at);
        if (r->next < r->n && may_start) {
            int rc = attempt_start(r, self);
            if (rc >= 0)
                return rc;
            if (rc != -EINPROGRESS)
                r->err = rc; /* failed at once: the next one starts at once */
            else
                next_at = loom_deadline(loop, r->delay);
            continue;
        }
        if (r->active == 0)
            return r->err;
        int64_t wake = deadline;
        if (r->next < r->n && r->delay >= 0 && (wake < 0 || next_at < wake))
            wake = next_at;
        int rc = loom_park(self, wake);
        if (rc == -ECANCELED || (rc < 0 && rc != -ETIMEDOUT))
            return rc;
        size_t before = r->active;
        rc = attempts_check(r);
        if (rc >= 0)
            return rc;
        if (r->active < before)
            next_at = 0; /* one failed: do not wait out the delay (section 5) */
    }
}

int loom_tcp_connect_addrinfo(const struct addrinfo *ai, const struct loom_connect_options *opt,
                              int64_t timeout_ns)
{
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    struct loom_connect_options o = {0};
    if (opt)
        o = *opt;
    if (o.family != 0 && o.family != AF_INET && o.family != AF_INET6)
        return -EINVAL;
    int64_t deadline = loom_deadline(loom_task_loop(self), timeout_ns);
    struct race r = {.err = LOOM_EDNS};
    r.delay = o.attempt_delay_ns == 0 ? LOOM_CONNECT_ATTEMPT_DELAY : o.attempt_delay_ns;
    if (r.delay > 0 && r.delay < MIN_ATTEMPT_DELAY)
        r.delay = MIN_ATTEMPT_DELAY;
    interleave(&r, ai, o.family, o.keep_order);
    int rc = race_run(&r, self, deadline);
    race_cleanup(&r);
    if (rc >= 0)
        loom_tcp_set_nodelay(rc, true);
    return rc;
}

int loom_tcp_connect_with(const char *host, int port, const struct loom_connect_options *opt,
                          int64_t timeout_ns)
{
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    if (port < 0 || port > 65535)
        return -EINVAL;
    if (!host || !*host)
        host = "localhost";
    int64_t deadline = loom_deadline(loom_task_loop(self), timeout_ns);
    /* A numeric address is parsed here (AI_NUMERICHOST never blocks). */
    char serv[8];
    snprintf(serv, sizeof serv, "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, serv, &hints, &res);
    if (rc == EAI_MEMORY)
        return -ENOMEM;
    if (rc != 0 && (rc = loom_resolve(host, port, SOCK_STREAM, timeout_ns, &res)) < 0)
        return rc;
    int64_t left = deadline < 0 ? -1 : deadline - loom_deadline(loom_task_loop(self), 0);
    rc = loom_tcp_connect_addrinfo(res, opt, left < 0 && deadline >= 0 ? 0 : left);
    freeaddrinfo(res);
    return rc;
}
