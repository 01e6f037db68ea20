/* udp.c - datagram endpoints.
 *
 * Each endpoint keeps one fd watcher for its life. Tasks wait on two FIFO
 * lists of wait records (receivers, senders); readiness grants the oldest
 * receiver (a hint: it retries the syscall and waits again on EAGAIN) and every
 * sender (a writable socket usually takes many datagrams). The watcher is
 * level-triggered, so a grant lost to a cancelled receiver costs nothing: the
 * next poll reports the socket again while others wait. */
#include "net/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/stream.h"
#include "reactor/park.h"

/* recvmmsg/sendmmsg vectors live on the task's stack: bound them. */
#define BATCH_MAX 64
/* Datagrams a protocol gets per readiness event before others have a turn. */
#define PROTO_BURST 64

struct loom_udp {
    struct loom_loop *loop;
    int fd;
    int family;
    struct loom_io io;
    struct loom_list readers; /* loom_waiter records of tasks waiting to receive */
    struct loom_list writers; /* ... and to send */
    int waiters;              /* tasks inside a wait: the memory outlives them */
    int in_cb;                /* protocol callbacks running */
    bool closed;
    const struct loom_datagram_protocol *proto;
    void *proto_arg;
    char *pbuf; /* the protocol's receive buffer */
};

int loom_sockaddr_parse(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    if (port < 0 || port > 65535 || !ss || !len)
        return -EINVAL;
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (!host || !*host || inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        *len = sizeof(*in);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*in6);
        return 0;
    }
    return -EINVAL;
}

/* --- the watcher --- */

static void udp_free(struct loom_udp *u)
{
    free(u->pbuf);
    free(u);
}

/* Free once closed and nobody is inside. */
static bool udp_release(struct loom_udp *u)
{
    if (!u->closed)
        return false;
    if (!u->waiters && !u->in_cb)
        udp_free(u);
    return true;
}

static void update(struct loom_udp *u)
{
    unsigned want = 0;
    if (!loom_list_empty(&u->readers) || u->proto)
        want |= LOOM_READABLE;
    if (!loom_list_empty(&u->writers))
        want |= LOOM_WRITABLE;
    unsigned off = (LOOM_READABLE | LOOM_WRITABLE) & ~want;
    if (off)
        loom_io_stop(&u->io, off);
    if (want)
        loom_io_start(&u->io, want);
}

static void proto_read(struct loom_udp *u)
{
    const struct loom_datagram_protocol *p = u->proto;
    for (int i = 0; i < PROTO_BURST && u->proto == p && !u->closed; i++) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(u->fd, u->pbuf, LOOM_UDP_MAX, 0, (struct sockaddr *)&from, &fl);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (n < 0) {
            if (p->error_received)
                p->error_received(u, -errno, u->proto_arg);
        } else if (p->datagram_received) {
            p->datagram_received(u, u->pbuf, (size_t)n, (struct sockaddr *)&from, fl, u->proto_arg);
        }
    }
}

static void on_io(struct loom_io *io, unsigned revents)
{
    struct loom_udp *u = io->data;
    u->in_cb++;
    if (revents & LOOM_READABLE) {
        if (u->proto)
            proto_read(u);
        else
            loom_waiter_grant(&u->readers, 1);
    }
    if (!u->closed && (revents & LOOM_WRITABLE))
        while (loom_waiter_grant(&u->writers, 1))
            ;
    u->in_cb--;
    if (!udp_release(u))
        update(u);
}

/* Wait on list for dir. 0 (retry), -ETIMEDOUT, -ECANCELED, -EBADF, -EPERM. */
static int wait_io(struct loom_udp *u, struct loom_list *list, unsigned dir, int64_t deadline)
{
    if (!loom_task_current())
        return -EPERM;
    struct loom_waiter w;
    u->waiters++;
    loom_io_start(&u->io, dir);
    int rc = loom_waiter_park(list, &w, deadline);
    u->waiters--;
    if (udp_release(u))
        return -EBADF;
    update(u);
    if (rc == 0 && w.code < 0)
        rc = w.code;
    return rc;
}

typedef ssize_t (*udp_op)(struct loom_udp *u, void *ctx);

/* Try op; on EAGAIN wait for dir and try again, until the deadline. */
static ssize_t udp_io(struct loom_udp *u, unsigned dir, udp_op op, void *ctx, int64_t timeout_ns)
{
    if (!u || u->closed)
        return -EBADF;
    if (dir == LOOM_READABLE && u->proto)
        return -EBUSY;
    int64_t deadline = -2;
    for (;;) {
        ssize_t n = op(u, ctx);
        if (n != -EAGAIN)
            return n;
        if (timeout_ns == 0)
            return -ETIMEDOUT;
        if (deadline == -2)
            deadline = loom_deadline(u->loop, timeout_ns);
        int rc = wait_io(u, dir == LOOM_READABLE ? &u->readers : &u->writers, dir, deadline);
        if (rc < 0)
            return rc;
    }
}

static ssize_t errno_rc(void) { return errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno; }

/* --- lifecycle --- */

static int udp_new(struct loom_loop *loop, int fd, int family, struct loom_udp **out)
{
    struct loom_udp *u = calloc(1, sizeof(*u));
    if (!u) {
        close(fd);
        return -ENOMEM;
    }
    u->loop = loop;
    u->fd = fd;
    u->family = family;
    loom_list_init(&u->readers);
    loom_list_init(&u->writers);
    int rc = loom_io_init(loop, &u->io, fd, on_io);
    if (rc < 0) {
        close(fd);
        free(u);
        return rc;
    }
    u->io.data = u;
    *out = u;
    return 0;
}

static int set_flag(int fd, int level, int opt, int on)
{
    return setsockopt(fd, level, opt, &on, sizeof on) < 0 ? -errno : 0;
}

static int apply_flags(int fd, int family, unsigned flags)
{
    int rc = 0;
    if (flags & LOOM_UDP_REUSEADDR)
        rc = set_flag(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (!rc && (flags & LOOM_UDP_REUSEPORT))
        rc = set_flag(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    if (!rc && (flags & LOOM_UDP_BROADCAST))
        rc = set_flag(fd, SOL_SOCKET, SO_BROADCAST, 1);
    if (!rc && family == AF_INET6)
        rc = set_flag(fd, IPPROTO_IPV6, IPV6_V6ONLY, (flags & LOOM_UDP_V6ONLY) != 0);
    return rc;
}

int loom_udp_open(struct loom_loop *loop, const char *host, int port, unsigned flags,
                  struct loom_udp **out)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (!loop || !out || loom_sockaddr_parse(host, port, &ss, &len) < 0)
        return -EINVAL;
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = apply_flags(fd, ss.ss_family, flags);
    if (!rc && bind(fd, (struct sockaddr *)&ss, len) < 0)
        rc = -errno;
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return udp_new(loop, fd, ss.ss_family, out);
}

int loom_udp_open_fd(struct loom_loop *loop, int fd, struct loom_udp **out)
{
    int type = 0;
    socklen_t tl = sizeof type;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int rc = 0;
    if (!loop || !out)
        rc = -EINVAL;
    else if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
             getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
        rc = -errno;
    else if (type != SOCK_DGRAM)
        rc = -EPROTOTYPE;
    else {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
            rc = -errno;
    }
    if (rc < 0) {
        if (fd >= 0)
            close(fd);
        return rc;
    }
    return udp_new(loop, fd, ss.ss_family, out);
}

int loom_udp_connect(struct loom_udp *u, const char *host, int port)
{
    if (!u || u->closed)
        return -EBADF;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(struct sockaddr);
    if (!host) {
        memset(&ss, 0, sizeof ss);
        ss.ss_family = AF_UNSPEC;
    } else if (loom_sockaddr_parse(host, port, &ss, &len) < 0) {
        return -EINVAL;
    }
    return connect(u->fd, (struct sockaddr *)&ss, len) < 0 ? -errno : 0;
}

void loom_udp_close(struct loom_udp *u)
{
    if (!u || u->closed)
        return;
    u->closed = true;
    loom_waiter_fail_all(&u->readers, -EBADF);
    loom_waiter_fail_all(&u->writers, -EBADF);
    loom_io_close(&u->io);
    close(u->fd);
    u->fd = -1;
    const struct loom_datagram_protocol *p = u->proto;
    u->proto = NULL;
    if (p && p->connection_lost) {
        u->in_cb++;
        p->connection_lost(u, u->proto_arg);
        u->in_cb--;
    }
    udp_release(u);
}

/* --- sending --- */

struct send_ctx {
    const void *buf;
    size_t len;
    const struct sockaddr *addr;
    socklen_t addrlen;
};

static ssize_t op_send(struct loom_udp *u, void *arg)
{
    struct send_ctx *c = arg;
    ssize_t n = sendto(u->fd, c->buf, c->len, MSG_NOSIGNAL, c->addr, c->addr ? c->addrlen : 0);
    return n >= 0 ? n : errno_rc();
}

ssize_t loom_udp_sendto(struct loom_udp *u, const void *buf, size_t len,
                        const struct sockaddr *addr, socklen_t addrlen, int64_t timeout_ns)
{
    struct send_ctx c = {buf, len, addr, addrlen};
    return udp_io(u, LOOM_WRITABLE, op_send, &c, timeout_ns);
}

ssize_t loom_udp_send(struct loom_udp *u, const void *buf, size_t len, int64_t timeout_ns)
{
    return loom_udp_sendto(u, buf, len, NULL, 0, timeout_ns);
}

ssize_t loom_udp_try_sendto(struct loom_udp *u, const void *buf, size_t len,
                            const struct sockaddr *addr, socklen_t addrlen)
{
    if (!u || u->closed)
        return -EBADF;
    struct send_ctx c = {buf, len, addr, addrlen};
    return op_send(u, &c);
}

struct batch_ctx {
    struct loom_dgram *msgs;
    unsigned n;
};

static ssize_t op_send_batch(struct loom_udp *u, void *arg)
{
    struct batch_ctx *c = arg;
    struct mmsghdr mm[BATCH_MAX];
    struct iovec iov[BATCH_MAX];
    unsigned n = c->n < BATCH_MAX ? c->n : BATCH_MAX;
    memset(mm, 0, n * sizeof(mm[0]));
    for (unsigned i = 0; i < n; i++) {
        iov[i].iov_base = c->msgs[i].buf;
        iov[i].iov_len = c->msgs[i].len;
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
        if (c->msgs[i].addrlen) {
            mm[i].msg_hdr.msg_name = &c->msgs[i].addr;
            mm[i].msg_hdr.msg_namelen = c->msgs[i].addrlen;
        }
    }
    int r = sendmmsg(u->fd, mm, n, MSG_NOSIGNAL);
    return r >= 0 ? r : errno_rc();
}

int loom_udp_send_batch(struct loom_udp *u, const struct loom_dgram *msgs, unsigned n,
                        int64_t timeout_ns)
{
    if (!n)
        return 0;
    struct batch_ctx c = {(struct loom_dgram *)msgs, n};
    return (int)udp_io(u, LOOM_WRITABLE, op_send_batch, &c, timeout_ns);
}

/* --- receiving --- */

struct recv_ctx {
    void *buf;
    size_t len;
    struct sockaddr_storage *from;
    socklen_t *fromlen;
};

static ssize_t op_recv(struct loom_udp *u, void *arg)
{
    struct recv_ctx *c = arg;
    ssize_t n = recvfrom(u->fd, c->buf, c->len, 0, (struct sockaddr *)c->from, c->fromlen);
    return n >= 0 ? n : errno_rc();
}

ssize_t loom_udp_recvfrom(struct loom_udp *u, void *buf, size_t len, struct sockaddr_storage *from,
                          socklen_t *fromlen, int64_t timeout_ns)
{
    socklen_t dummy = 0;
    struct recv_ctx c = {buf, len, from, from ? fromlen : NULL};
    if (from && !fromlen) {
        dummy = sizeof(*from);
        c.fromlen = &dummy;
    }
    return udp_io(u, LOOM_READABLE, op_recv, &c, timeout_ns);
}

ssize_t loom_udp_recv(struct loom_udp *u, void *buf, size_t len, int64_t timeout_ns)
{
    return loom_udp_recvfrom(u, buf, len, NULL, NULL, timeout_ns);
}

static ssize_t op_recv_batch(struct loom_udp *u, void *arg)
{
    struct batch_ctx *c = arg;
    struct mmsghdr mm[BATCH_MAX];
    struct iovec iov[BATCH_MAX];
    unsigned n = c->n < BATCH_MAX ? c->n : BATCH_MAX;
    memset(mm, 0, n * sizeof(mm[0]));
    for (unsigned i = 0; i < n; i++) {
        iov[i].iov_base = c->msgs[i].buf;
        iov[i].iov_len = c->msgs[i].len;
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
        mm[i].msg_hdr.msg_name = &c->msgs[i].addr;
        mm[i].msg_hdr.msg_namelen = sizeof(c->msgs[i].addr);
    }
    int r = recvmmsg(u->fd, mm, n, MSG_DONTWAIT, NULL);
    if (r < 0)
        return errno_rc();
    for (int i = 0; i < r; i++) {
        c->msgs[i].len = mm[i].msg_len;
        c->msgs[i].addrlen = mm[i].msg_hdr.msg_namelen;
        c->msgs[i].flags = (mm[i].msg_hdr.msg_flags & MSG_TRUNC) ? LOOM_DGRAM_TRUNC : 0;
    }
    return r;
}

int loom_udp_recv_batch(struct loom_udp *u, struct loom_dgram *msgs, unsigned n, int64_t timeout_ns)
{
    if (!n)
        return -EINVAL;
    struct batch_ctx c = {msgs, n};
    return (int)udp_io(u, LOOM_READABLE, op_recv_batch, &c, timeout_ns);
}

/* --- the callback protocol --- */

int loom_udp_set_protocol(struct loom_udp *u, const struct loom_datagram_protocol *p, void *arg)
{
    if (!u || u->closed)
        return -EBADF;
    if (p && !loom_list_empty(&u->readers))
        return -EBUSY;
    if (p && !u->pbuf && !(u->pbuf = malloc(LOOM_UDP_MAX)))
        return -ENOMEM;
    u->proto = p;
    u->proto_arg = arg;
    if (!p && !u->in_cb) { /* inside a callback the buffer is still the view it was given */
        free(u->pbuf);
        u->pbuf = NULL;
    }
    update(u);
    return 0;
}

/* --- options --- */

int loom_udp_set_broadcast(struct loom_udp *u, bool on)
{
    return set_flag(u->fd, SOL_SOCKET, SO_BROADCAST, on);
}

static int membership(struct loom_udp *u, const char *group, const char *iface, bool join)
{
    if (!group)
        return -EINVAL;
    if (u->family == AF_INET) {
        struct ip_mreq m;
        memset(&m, 0, sizeof m);
        if (inet_pton(AF_INET, group, &m.imr_multiaddr) != 1)
            return -EINVAL;
        m.imr_interface.s_addr = htonl(INADDR_ANY);
        if (iface && inet_pton(AF_INET, iface, &m.imr_interface) != 1)
            return -EINVAL;
        int opt = join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP;
        return setsockopt(u->fd, IPPROTO_IP, opt, &m, sizeof m) < 0 ? -errno : 0;
    }
    struct ipv6_mreq m;
    memset(&m, 0, sizeof m);
    if (inet_pton(AF_INET6, group, &m.ipv6mr_multiaddr) != 1)
        return -EINVAL;
    if (iface && !(m.ipv6mr_interface = if_nametoindex(iface)))
        return -ENODEV;
    int opt = join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP;
    return setsockopt(u->fd, IPPROTO_IPV6, opt, &m, sizeof m) < 0 ? -errno : 0;
}

int loom_udp_join(struct loom_udp *u, const char *group, const char *iface)
{
    return membership(u, group, iface, true);
}

int loom_udp_leave(struct loom_udp *u, const char *group, const char *iface)
{
    return membership(u, group, iface, false);
}

int loom_udp_set_multicast_if(struct loom_udp *u, const char *iface)
{
    if (u->family == AF_INET) {
        struct in_addr a = {htonl(INADDR_ANY)};
        if (iface && inet_pton(AF_INET, iface, &a) != 1)
            return -EINVAL;
        return setsockopt(u->fd, IPPROTO_IP, IP_MULTICAST_IF, &a, sizeof a) < 0 ? -errno : 0;
    }
    unsigned idx = 0;
    if (iface && !(idx = if_nametoindex(iface)))
        return -ENODEV;
    return setsockopt(u->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof idx) < 0 ? -errno : 0;
}

int loom_udp_set_multicast_ttl(struct loom_udp *u, int ttl)
{
    if (u->family == AF_INET)
        return set_flag(u->fd, IPPROTO_IP, IP_MULTICAST_TTL, ttl);
    return set_flag(u->fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, ttl);
}

int loom_udp_set_multicast_loop(struct loom_udp *u, bool on)
{
    if (u->family == AF_INET)
        return set_flag(u->fd, IPPROTO_IP, IP_MULTICAST_LOOP, on);
    return set_flag(u->fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, on);
}

int loom_udp_set_ttl(struct loom_udp *u, int ttl)
{
    if (u->family == AF_INET)
        return set_flag(u->fd, IPPROTO_IP, IP_TTL, ttl);
    return set_flag(u->fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl);
}

/* --- accessors --- */

int loom_udp_fd(const struct loom_udp *u) { return u ? u->fd : -EBADF; }

int loom_udp_family(const struct loom_udp *u) { return u->family; }

int loom_udp_port(const struct loom_udp *u)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(u->fd, (struct sockaddr *)&ss, &len) < 0)
        return -errno;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -EAFNOSUPPORT;
}

static int name_of(const struct loom_udp *u, bool peer, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int rc = peer ? getpeername(u->fd, (struct sockaddr *)&ss, &sl)
                  : getsockname(u->fd, (struct sockaddr *)&ss, &sl);
    if (rc < 0)
        return -errno;
    return loom_sockaddr_format((struct sockaddr *)&ss, sl, buf, len);
}

int loom_udp_sockname(const struct loom_udp *u, char *buf, size_t len)
{
    return name_of(u, false, buf, len);
}

int loom_udp_peername(const struct loom_udp *u, char *buf, size_t len)
{
    return name_of(u, true, buf, len);
}
