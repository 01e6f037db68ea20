/* tcp.c - TCP and Unix-domain sockets: resolve, connect, listen, accept. */
#include "net/tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/stream_internal.h"
#include "reactor/completion.h"
#include "reactor/executor.h"
#include "reactor/park.h"

/* --- resolution ---
 *
 * getaddrinfo blocks, so it runs on the executor. The job belongs to a small
 * helper task rather than to the caller: when the caller times out or is
 * cancelled it just marks the job abandoned and leaves, and the helper frees
 * the result whenever the thread is done. So nothing leaks and the caller
 * never waits for a slow DNS server it gave up on. */

struct resolve_job {
    char host[256];
    char port[8];
    int socktype;
    bool passive;
    int rc; /* 0 or LOOM_EDNS / -ENOMEM */
    struct addrinfo *res;
    bool abandoned; /* the caller left; the helper frees everything */
};

static intptr_t resolve_blocking(void *arg)
{
    struct resolve_job *j = arg;
    struct addrinfo hints = {.ai_socktype = j->socktype, .ai_flags = AI_ADDRCONFIG};
    if (j->passive)
        hints.ai_flags |= AI_PASSIVE;
    int rc = getaddrinfo(j->passive ? NULL : j->host, j->port, &hints, &j->res);
    if (rc == EAI_MEMORY)
        return -ENOMEM;
    if (rc == EAI_SYSTEM)
        return errno ? -errno : LOOM_EDNS;
    return rc ? LOOM_EDNS : 0;
}

static intptr_t resolve_helper(void *arg)
{
    struct resolve_job *j = arg;
    intptr_t rc = loom_to_thread(resolve_blocking, j);
    /* Only loop teardown cancels this task; then the result may be lost, but
     * the executor is being freed with it, so there is nothing to wait for. */
    j->rc = rc == -ECANCELED ? LOOM_EDNS : (int)rc;
    if (j->abandoned) {
        if (j->res)
            freeaddrinfo(j->res);
        free(j);
    }
    return 0;
}

int loom_resolve(const char *host, int port, int socktype, int64_t timeout_ns,
                 struct addrinfo **out)
{
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    struct resolve_job *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    j->passive = !host || !*host;
    snprintf(j->host, sizeof j->host, "%s", j->passive ? "" : host);
    snprintf(j->port, sizeof j->port, "%d", port);
    j->socktype = socktype;
    struct loom_task_options o = {.name = "resolve", .stack_size = 32 * 1024};
    struct loom_task *helper;
    int rc = loom_task_spawn(loom_task_loop(self), resolve_helper, j, &o, &helper);
    if (rc < 0) {
        free(j);
        return rc;
    }
    rc = loom_park_until_done(self, helper, loom_deadline(loom_task_loop(self), timeout_ns));
    if (rc < 0 && !loom_task_done(helper)) {
        j->abandoned = true; /* the helper frees j and its result */
        loom_task_release(helper);
        return rc;
    }
    loom_task_release(helper);
    rc = rc < 0 ? rc : j->rc;
    *out = j->res;
    if (rc < 0 && j->res)
        freeaddrinfo(j->res);
    free(j);
    return rc;
}

/* A numeric host (or NULL/"") resolves without a thread. 1 if it was numeric. */
static int resolve_numeric(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (!host || !*host) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        *len = sizeof(*in);
        return 1;
    }
    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        *len = sizeof(*in);
        return 1;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*in6);
        return 1;
    }
    return 0;
}

/* --- connecting --- */

static void wake_on_io(struct loom_io *io, unsigned revents) { loom_wake(io->data, 0); }

/* Connect one socket to sa within deadline. The fd, or -errno. Suspends. */
static int connect_one(struct loom_task *self, const struct sockaddr *sa, socklen_t len,
                       int64_t deadline)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (connect(fd, sa, len) < 0) {
        rc = -errno;
        if (rc == -EINPROGRESS || rc == -EAGAIN) {
            struct loom_io io;
            rc = loom_io_init(loom_task_loop(self), &io, fd, wake_on_io);
            if (rc == 0) {
                io.data = self;
                loom_io_start(&io, LOOM_WRITABLE);
                rc = loom_park(self, deadline);
                loom_io_close(&io);
            }
            int err = 0;
            socklen_t el = sizeof err;
            if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
                err = errno;
            if (rc == 0)
                rc = -err;
        }
    }
    if (rc < 0) {
        close(fd);
        return rc;
    }
    if (sa->sa_family != AF_UNIX)
        loom_tcp_set_nodelay(fd, true);
    return fd;
}

int loom_tcp_connect_fd(const char *host, int port, int64_t timeout_ns)
{
    return loom_tcp_connect_with(host, port, NULL, timeout_ns);
}

static int fd_to_stream(int fd, struct loom_stream **out)
{
    if (fd < 0)
        return fd;
    return loom__stream_open_socket(loom_loop_current(), fd, out);
}

int loom_tcp_connect(const char *host, int port, int64_t timeout_ns, struct loom_stream **out)
{
    return fd_to_stream(loom_tcp_connect_fd(host, port, timeout_ns), out);
}

static int unix_addr(const char *path, struct sockaddr_un *un, socklen_t *len)
{
    size_t n = strlen(path);
    if (n >= sizeof un->sun_path)
        return -ENAMETOOLONG;
    memset(un, 0, sizeof(*un));
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, n);
    if (path[0] == '@') /* abstract namespace, Linux */
        un->sun_path[0] = '\0';
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] != '@'));
    return 0;
}

int loom_unix_connect(const char *path, int64_t timeout_ns, struct loom_stream **out)
{
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    struct sockaddr_un un;
    socklen_t len;
    int rc = unix_addr(path, &un, &len);
    if (rc < 0)
        return rc;
    int64_t deadline = loom_deadline(loom_task_loop(self), timeout_ns);
    return fd_to_stream(connect_one(self, (struct sockaddr *)&un, len, deadline), out);
}

/* --- listening --- */

static void listener_io(struct loom_io *io, unsigned revents)
{
    struct loom_listener *l = io->data;
    if (l->_waiter)
        loom_wake(l->_waiter, 0);
    else
        loom_io_stop(&l->_io, LOOM_READABLE);
}

static void listener_retry(struct loom_timer *t)
{
    struct loom_listener *l = t->data;
    l->_paused = false;
    if (l->_waiter)
        loom_wake(l->_waiter, 0);
}

/* _flags bit (above the LOOM_LISTEN_* ones): accepted sockets need no
 * TCP_NODELAY call of their own. */
#define LISTEN_NODELAY_SET (1u << 31)

/* Linux copies TCP_NODELAY from a listening socket to the sockets it accepts
 * (the new socket is a clone of the listener's), so setting it once here saves
 * a setsockopt per connection; on a Unix socket there is nothing to set. True
 * when accepted sockets need no call. */
static bool listener_nodelay(int fd)
{
#ifdef __linux__
    int rc = loom_tcp_set_nodelay(fd, true);
    return rc == 0 || rc == -EOPNOTSUPP || rc == -ENOPROTOOPT;
#else
    (void)fd;
    return false;
#endif
}

static int listener_setup(struct loom_loop *loop, struct loom_listener *l, int fd, unsigned flags)
{
    memset(l, 0, sizeof(*l));
    l->fd = fd;
    l->_loop = loop;
    l->_flags = flags;
    if (listener_nodelay(fd))
        l->_flags |= LISTEN_NODELAY_SET;
    int rc = loom_io_init(loop, &l->_io, fd, listener_io);
    if (rc < 0)
        return rc;
    l->_io.data = l;
    loom_timer_init(loop, &l->_retry, listener_retry);
    l->_retry.data = l;
    return 0;
}

/* socket + options + bind + listen; the fd or -errno. */
static int bind_listen(const struct sockaddr *sa, socklen_t len, int backlog, unsigned flags)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1, zero = 0;
    if (sa->sa_family != AF_UNIX)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if ((flags & LOOM_LISTEN_REUSEPORT) &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        goto fail;
    if (sa->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, (flags & LOOM_LISTEN_V6ONLY) ? &one : &zero,
                   sizeof one);
    if (bind(fd, sa, len) < 0 || listen(fd, backlog > 0 ? backlog : SOMAXCONN) < 0)
        goto fail;
    return fd;
fail:;
    int err = -errno;
    close(fd);
    return err;
}

int loom_tcp_listen(struct loom_loop *loop, struct loom_listener *l, const char *host, int port,
                    int backlog, unsigned flags)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd;
    if (resolve_numeric(host, port, &ss, &len)) {
        fd = bind_listen((struct sockaddr *)&ss, len, backlog, flags);
    } else {
        struct addrinfo *res;
        int rc = loom_resolve(host, port, SOCK_STREAM, -1, &res);
        if (rc < 0)
            return rc;
        fd = bind_listen(res->ai_addr, res->ai_addrlen, backlog, flags);
        freeaddrinfo(res);
    }
    if (fd < 0)
        return fd;
    int rc = listener_setup(loop, l, fd, flags);
    if (rc < 0)
        close(fd);
    return rc;
}

/* --- listening on every address of several hosts --- */

struct bind_set {
    struct sockaddr_storage ss[LOOM_LISTEN_MAX];
    socklen_t len[LOOM_LISTEN_MAX];
    size_t n, cap;
};

static bool same_host(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return false;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) &&
           x->sin6_scope_id == y->sin6_scope_id;
}

/* Add every IPv4/IPv6 address of res not yet in b. 0 or -ENOSPC. */
static int bind_set_add(struct bind_set *b, const struct addrinfo *res)
{
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        bool dup = false;
        for (size_t i = 0; i < b->n && !dup; i++)
            dup = same_host((struct sockaddr *)&b->ss[i], ai->ai_addr);
        if (dup)
            continue;
        if (b->n == b->cap || ai->ai_addrlen > sizeof b->ss[0])
            return -ENOSPC;
        memcpy(&b->ss[b->n], ai->ai_addr, ai->ai_addrlen);
        b->len[b->n++] = ai->ai_addrlen;
    }
    return 0;
}

/* Resolve one host into b: NULL or "" is every interface of each configured
 * family, a numeric address is parsed here, a name goes to the executor. */
static int bind_set_host(struct bind_set *b, const char *host, int port)
{
    char serv[8];
    snprintf(serv, sizeof serv, "%d", port);
    bool any = !host || !*host;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = any ? AI_PASSIVE | AI_ADDRCONFIG : AI_NUMERICHOST};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(any ? NULL : host, serv, &hints, &res);
    if (rc == EAI_MEMORY)
        return -ENOMEM;
    if (rc != 0 && any)
        return LOOM_EDNS;
    if (rc != 0 && (rc = loom_resolve(host, port, SOCK_STREAM, -1, &res)) < 0)
        return rc;
    rc = bind_set_add(b, res);
    freeaddrinfo(res);
    return rc;
}

static void set_port(struct sockaddr_storage *ss, int port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

/* Bind every address of b on one port (port 0: the one the first bind got).
 * The count, or an error with nothing left open. */
static int bind_set_listen(struct loom_loop *loop, struct bind_set *b, struct loom_listener *ls,
                           int port, int backlog, unsigned flags)
{
    size_t i = 0;
    int rc = 0;
    for (; i < b->n && rc >= 0; i++) {
        set_port(&b->ss[i], port);
        int fd = bind_listen((struct sockaddr *)&b->ss[i], b->len[i], backlog,
                             flags | LOOM_LISTEN_V6ONLY);
        if (fd < 0) {
            rc = fd;
            break;
        }
        if ((rc = listener_setup(loop, &ls[i], fd, flags)) < 0) {
            close(fd);
            break;
        }
        if (port == 0)
            port = loom_listener_port(&ls[i]);
    }
    if (rc >= 0)
        return (int)b->n;
    while (i-- > 0)
        loom_listener_close(&ls[i]);
    return rc;
}

int loom_tcp_listen_all(struct loom_loop *loop, struct loom_listener *ls, size_t max,
                        const char *const *hosts, int port, int backlog, unsigned flags)
{
    if (!ls || !max || port < 0 || port > 65535)
        return -EINVAL;
    struct bind_set *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->cap = max < LOOM_LISTEN_MAX ? max : LOOM_LISTEN_MAX;
    int rc = hosts && hosts[0] ? 0 : bind_set_host(b, NULL, port);
    for (size_t i = 0; hosts && hosts[i] && rc == 0; i++)
        rc = bind_set_host(b, hosts[i], port);
    if (rc == 0 && b->n == 0)
        rc = LOOM_EDNS;
    /* Port 0 over several addresses: the port the first bind got may be taken
     * on another address; try a few fresh ones. */
    for (int tries = 0; rc == 0 || (rc == -EADDRINUSE && port == 0 && tries < 8); tries++) {
        rc = bind_set_listen(loop, b, ls, port, backlog, flags);
        if (rc > 0)
            break;
    }
    free(b);
    return rc;
}

int loom_unix_listen(struct loom_loop *loop, struct loom_listener *l, const char *path, int backlog,
                     unsigned flags)
{
    struct sockaddr_un un;
    socklen_t len;
    int rc = unix_addr(path, &un, &len);
    if (rc < 0)
        return rc;
    if ((flags & LOOM_LISTEN_UNLINK) && path[0] != '@')
        unlink(path);
    int fd = bind_listen((struct sockaddr *)&un, len, backlog, flags);
    if (fd < 0)
        return fd;
    rc = listener_setup(loop, l, fd, flags);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    if ((flags & LOOM_LISTEN_UNLINK) && path[0] != '@')
        snprintf(l->_path, sizeof l->_path, "%s", path);
    return 0;
}

int loom_listener_open_fd(struct loom_loop *loop, struct loom_listener *l, int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -EBADF;
    if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
    return listener_setup(loop, l, fd, 0);
}

/* Out of fds or memory: stop polling (level-triggered readiness would spin)
 * and let a timer resume accepting, by when some connection may have closed. */
static bool accept_pause(int err)
{
    return err == -EMFILE || err == -ENFILE || err == -ENOBUFS || err == -ENOMEM;
}

/* A connection that went before it was accepted, or a signal: try again. */
static bool accept_skip(int err) { return err == -ECONNABORTED || err == -EINTR || err == -EPROTO; }

/* --- accepting on completion ---
 *
 * Where the backend accepts by itself (io_uring's multishot accept), a
 * listener's connections come from one operation armed while it is accepted
 * on: a burst costs no accept4 each and no EAGAIN probe. The fds it brings
 * wait in a queue the accept calls take from.
 *
 * Bounded: the kernel's backlog, not this queue, is where connections wait
 * while nobody accepts. The operation is stopped when the queue holds
 * ACCEPT_QUEUE fds, when a connection comes while no task waits in accept,
 * and when an accept call returned with the queue empty and none followed
 * by the next loop iteration (the server may be at max_connections, the
 * caller busy elsewhere: a zero-delay timer checks, so an accept loop that
 * comes straight back costs no stop and restart); the next accept call
 * starts it again. But once armed it takes the whole backlog in one go (the kernel
 * accepts for as long as connections are pending, in the task work of this
 * thread's next syscall, before a stop can land), so a burst that is already
 * waiting comes in whole - at most the listen backlog - and the queue grows
 * for it: those fds are kept, never closed. Armed between two accept calls
 * (fds queued) it is idle: it keeps no loop running. */
#define ACCEPT_QUEUE 64

struct accept_ring {
    struct loom__accept op; /* first: the callback finds the ring from it */
    struct loom_listener *l;
    int err;        /* an error the operation ended with, for the next accept call */
    bool readiness; /* the kernel refused the operation (-EINVAL): accept4 from now on */
    bool stopping;  /* a stop went in; the operation is live until its end comes */
    bool armed;     /* it was started once: accept4 is not tried first any more */
    size_t head, n; /* q[head..n) are queued, accepted fds */
    size_t cap;     /* q's size, ACCEPT_QUEUE or more for fds that came after a stop */
    int *q;
    struct loom_timer linger; /* an accept returned with q empty: stop unless one follows */
};

/* A listener's _acc when its backend has no completion accept. */
static char readiness_only;

/* The listener's ring, NULL when it has none (yet). */
static struct accept_ring *ring_of(const struct loom_listener *l)
{
    return l->_acc == &readiness_only ? NULL : l->_acc;
}

static void ring_push(struct accept_ring *r, int fd)
{
    if (r->head && r->n == r->cap) {
        memmove(r->q, r->q + r->head, (r->n - r->head) * sizeof(*r->q));
        r->n -= r->head;
        r->head = 0;
    }
    if (r->n == r->cap) {
        int *q = realloc(r->q, 2 * r->cap * sizeof(*q));
        if (!q) {
            close(fd); /* the peer sees a reset, as when a backlog overflows */
            return;
        }
        r->q = q;
        r->cap *= 2;
    }
    r->q[r->n++] = fd;
}

static void ring_stop(struct accept_ring *r)
{
    if (r->op.live && !r->stopping) {
        r->stopping = true;
        loom__accept_stop(r->l->_loop, &r->op, false);
    }
}

static void accept_done(struct loom__accept *op, int res, bool more)
{
    struct accept_ring *r = (struct accept_ring *)op;
    struct loom_listener *l = r->l;
    if (res >= 0)
        ring_push(r, res);
    else if (res == -EINVAL)
        r->readiness = true; /* before 5.19; accept4 tells a real EINVAL */
    else if (res != -ECANCELED && !accept_skip(res))
        r->err = res;
    if (!more)
        r->stopping = false;
    else if (r->n - r->head >= ACCEPT_QUEUE || !l->_waiter || r->err || r->readiness)
        ring_stop(r);
    if (l->_waiter)
        loom_wake(l->_waiter, 0);
}

static void ring_linger_end(struct loom_timer *t)
{
    struct accept_ring *r = t->data;
    if (!r->l->_waiter)
        ring_stop(r);
}

static struct accept_ring *ring_new(struct loom_listener *l)
{
    struct accept_ring *r = calloc(1, sizeof(*r));
    int *q = malloc(ACCEPT_QUEUE * sizeof(*q));
    if (!r || !q) {
        free(r);
        free(q);
        return NULL;
    }
    *r = (struct accept_ring){.op.cb = accept_done, .l = l, .cap = ACCEPT_QUEUE, .q = q};
    loom_timer_init(l->_loop, &r->linger, ring_linger_end);
    r->linger.data = r;
    l->_acc = r;
    return r;
}

/* Arm the listener's ring (made on first use): 0, or -errno and the caller
 * waits for readiness (-ENOTSUP: for good). */
static int ring_start(struct loom_listener *l)
{
    struct accept_ring *r = ring_of(l);
    if (!r && !l->_acc && !(r = ring_new(l)))
        return -ENOMEM;
    if (!r || r->readiness)
        return -ENOTSUP;
    if (r->op.live)
        return 0;
    int rc = loom__accept_start(l->_loop, &r->op, l->fd);
    if (rc == -ENOTSUP) {
        free(r->q);
        free(r);
        l->_acc = &readiness_only;
        return rc;
    }
    r->armed |= rc == 0;
    return rc;
}

/* The next connection without waiting: an fd, -EAGAIN (*use_io: wait for
 * readiness, else for the ring), or -errno. Until the ring was first armed,
 * accept4 is tried first, as readiness does: a connection already there
 * comes at once, and EMFILE is seen before waiting. */
static int accept_next(struct loom_listener *l, bool *use_io)
{
    struct accept_ring *r = ring_of(l);
    *use_io = false;
    if (r && r->head < r->n) {
        int fd = r->q[r->head++];
        if (r->head == r->n)
            r->head = r->n = 0;
        return fd;
    }
    if (r && r->err) {
        int err = r->err;
        r->err = 0;
        return err;
    }
    if (!r || !r->armed || r->readiness) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0 || errno != EAGAIN)
            return fd >= 0 ? fd : -errno;
    }
    *use_io = ring_start(l) < 0;
    return -EAGAIN;
}

/* A task is about to wait on the ring: it keeps the loop running meanwhile. */
static void ring_wait(struct loom_listener *l)
{
    struct accept_ring *r = ring_of(l);
    if (!r)
        return;
    loom_timer_stop(&r->linger);
    loom__accept_idle(l->_loop, &r->op, false);
}

/* An accept call ends: nobody waits on the ring now. With no fd queued it
 * stops unless an accept follows within this iteration (an armed ring would
 * take whole bursts in the task work of the thread's syscalls), else it stays
 * armed while the queue is taken, idle. */
static void ring_leave(struct loom_listener *l)
{
    struct accept_ring *r = ring_of(l);
    if (!r)
        return;
    if (r->head == r->n && r->op.live && loom_timer_start(&r->linger, 0) < 0)
        ring_stop(r);
    loom__accept_idle(l->_loop, &r->op, true);
}

/* Closing: the ring stops and every fd it still holds is closed. */
static void ring_close(struct loom_listener *l)
{
    struct accept_ring *r = ring_of(l);
    l->_acc = NULL;
    if (!r)
        return;
    loom_timer_stop(&r->linger);
    loom__accept_stop(l->_loop, &r->op, true);
    for (size_t i = r->head; i < r->n; i++)
        close(r->q[i]);
    free(r->q);
    free(r);
}

static int accept_loop(struct loom_listener *l, struct loom_task *self, int64_t deadline)
{
    for (;;) {
        bool use_io = true;
        int fd = l->_paused ? -EAGAIN : accept_next(l, &use_io);
        if (fd >= 0) {
            if (!(l->_flags & LISTEN_NODELAY_SET))
                loom_tcp_set_nodelay(fd, true); /* fails harmlessly on Unix sockets */
            return fd;
        }
        int err = fd;
        if (accept_skip(err))
            continue;
        if (accept_pause(err)) {
            /* Without the resume timer the pause would last for ever: give the
             * caller the error instead (it backs off and calls again). */
            int trc = loom_timer_start(&l->_retry, LOOM_ACCEPT_RETRY_NS);
            if (trc < 0)
                return err;
            l->_paused = true;
        } else if (err != -EAGAIN && err != -EWOULDBLOCK) {
            return err;
        }
        l->_waiter = self;
        if (!l->_paused && use_io)
            loom_io_start(&l->_io, LOOM_READABLE);
        ring_wait(l);
        int rc = loom_park(self, deadline);
        l->_waiter = NULL;
        loom_io_stop(&l->_io, LOOM_READABLE);
        if (rc < 0)
            return rc;
        if (l->fd < 0)
            return -EBADF;
    }
}

int loom_listener_accept(struct loom_listener *l, int64_t timeout_ns)
{
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    if (l->fd < 0)
        return -EBADF;
    if (l->_waiter)
        return -EBUSY;
    int rc = accept_loop(l, self, loom_deadline(l->_loop, timeout_ns));
    ring_leave(l);
    return rc;
}

int loom_listener_accept_stream(struct loom_listener *l, int64_t timeout_ns,
                                struct loom_stream **out)
{
    int fd = loom_listener_accept(l, timeout_ns);
    if (fd < 0)
        return fd;
    return loom__stream_open_socket(l->_loop, fd, out);
}

void loom_listener_close(struct loom_listener *l)
{
    if (l->fd < 0)
        return;
    loom_timer_stop(&l->_retry);
    ring_close(l);
    loom_io_close(&l->_io);
    close(l->fd);
    l->fd = -1;
    l->_paused = false;
    if (l->_waiter)
        loom_wake(l->_waiter, 0);
    if (l->_path[0])
        unlink(l->_path);
    l->_path[0] = '\0';
}

int loom_listener_port(const struct loom_listener *l)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(l->fd, (struct sockaddr *)&ss, &len) < 0)
        return -errno;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -EAFNOSUPPORT;
}

int loom_listener_name(const struct loom_listener *l, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(l->fd, (struct sockaddr *)&ss, &sl) < 0)
        return -errno;
    return loom_sockaddr_format((struct sockaddr *)&ss, sl, buf, len);
}

/* --- options --- */

int loom_tcp_set_nodelay(int fd, bool on)
{
    int v = on;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) < 0 ? -errno : 0;
}

int loom_tcp_set_keepalive(int fd, bool on, int idle_s, int interval_s, int count)
{
    int v = on;
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v) < 0)
        return -errno;
#ifdef TCP_KEEPIDLE
    if (on && idle_s > 0 && setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof idle_s) < 0)
        return -errno;
    if (on && interval_s > 0 &&
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval_s, sizeof interval_s) < 0)
        return -errno;
    if (on && count > 0 && setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count) < 0)
        return -errno;
#endif
    return 0;
}

int loom_socket_set_buffers(int fd, int sndbuf, int rcvbuf)
{
    if (sndbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) < 0)
        return -errno;
    if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0)
        return -errno;
    return 0;
}

int loom_socket_set_linger0(int fd)
{
    struct linger lg = {1, 0};
    return setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0 ? -errno : 0;
}
