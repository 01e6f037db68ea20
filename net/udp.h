/* udp.h - UDP (datagram) endpoints over IPv4 and IPv6: bind, connect, send and
 * receive with addresses from tasks (with timeouts and cancellation), batches
 * (recvmmsg/sendmmsg), multicast, broadcast, and a callback protocol API beside
 * it (asyncio's create_datagram_endpoint).
 *
 * A loom_udp is owned by whoever opened it: loom_udp_open() pairs with
 * loom_udp_close(). Its fd is non-blocking and close-on-exec. Any number of
 * tasks may send and receive on one endpoint at the same time; waiting
 * receivers are served oldest first.
 *
 * Addresses are numeric ("127.0.0.1", "::1", NULL or "" for the wildcard):
 * resolve names first with loom_resolve(host, port, SOCK_DGRAM, ...) (tcp.h).
 *
 * Errors: negative errno. A connected endpoint reports ICMP errors for what it
 * sent (a closed port: -ECONNREFUSED) on its next recv or send, once each, as
 * the kernel does; an unconnected one ignores them (no IP_RECVERR). A datagram
 * longer than the buffer given is truncated (recv returns the buffer's length;
 * the batch call marks it with LOOM_DGRAM_TRUNC). Datagrams are at most
 * LOOM_UDP_MAX bytes.
 *
 * asyncio's create_datagram_endpoint(local_addr, remote_addr) is loom_udp_open()
 * (local), loom_udp_connect() (remote) and loom_udp_set_protocol(); its
 * transport.sendto is loom_udp_try_sendto() and transport.close loom_udp_close().
 *
 * Lifetime: closing an endpoint wakes its waiting tasks with -EBADF; the memory
 * is freed once the last of them has resumed, so close may be called from any
 * task or callback of the loop, even from inside the protocol's callbacks. */
#ifndef LOOM_NET_UDP_H
#define LOOM_NET_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "loom/reactor/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* The largest UDP payload (IPv4: 65535 - 20 - 8). */
#define LOOM_UDP_MAX 65507

/* Flags for loom_udp_open(). */
enum loom_udp_flags {
    LOOM_UDP_REUSEADDR = 1, /* SO_REUSEADDR (several multicast listeners on one port) */
    LOOM_UDP_REUSEPORT = 2, /* SO_REUSEPORT: the kernel spreads datagrams over sockets */
    LOOM_UDP_V6ONLY = 4,    /* an IPv6 endpoint takes no IPv4-mapped traffic */
    LOOM_UDP_BROADCAST = 8, /* SO_BROADCAST (see loom_udp_set_broadcast) */
};

/* Flags a batch receive sets on a datagram. */
enum { LOOM_DGRAM_TRUNC = 1 /* longer than the buffer: the rest was dropped */ };

struct loom_udp;

/* One datagram of a batch (loom_udp_recv_batch / loom_udp_send_batch). */
struct loom_dgram {
    void *buf;                    /* the payload */
    size_t len;                   /* recv: capacity in, bytes received out; send: bytes */
    struct sockaddr_storage addr; /* recv: the sender; send: the destination */
    socklen_t addrlen;            /* send: 0 to use the connected peer */
    unsigned flags;               /* recv: LOOM_DGRAM_TRUNC */
};

/* The datagram protocol (asyncio's DatagramProtocol). Callbacks run on the
 * loop; any may be NULL. The endpoint may be closed from inside any of them. */
struct loom_datagram_protocol {
    /* A datagram arrived. data is a view valid until the callback returns. */
    void (*datagram_received)(struct loom_udp *u, const void *data, size_t len,
                              const struct sockaddr *from, socklen_t fromlen, void *arg);
    /* A receive error (an ICMP error on a connected endpoint: -ECONNREFUSED...).
     * Reading goes on. */
    void (*error_received)(struct loom_udp *u, int err, void *arg);
    /* The endpoint is being closed (loom_udp_close); the last callback. */
    void (*connection_lost)(struct loom_udp *u, void *arg);
};

/* --- addresses --- */

/* Fill ss and len from a numeric host (NULL or "" is 0.0.0.0) and port.
 * 0 or -EINVAL (not a numeric address, or port out of 0..65535). */
int loom_sockaddr_parse(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len);

/* --- lifecycle --- */

/* Open an endpoint bound to host:port (numeric; host NULL or "": every IPv4
 * address, "::" every IPv6 one; port 0: any free port, see loom_udp_port()).
 * Returns 0 and an owned endpoint in *out, -EINVAL (bad address),
 * -EADDRINUSE, -ENOMEM or another OS error; on error nothing is left open.
 * Never suspends. */
int loom_udp_open(struct loom_loop *loop, const char *host, int port, unsigned flags,
                  struct loom_udp **out);

/* Adopt a datagram socket fd (made non-blocking and close-on-exec here); the
 * endpoint owns it from now on, also on failure (then it is closed). */
int loom_udp_open_fd(struct loom_loop *loop, int fd, struct loom_udp **out);

/* Connect to host:port (numeric): send/recv without addresses, datagrams from
 * other senders are dropped by the kernel, ICMP errors are reported. host NULL
 * disconnects (AF_UNSPEC). 0, -EINVAL or an OS error. Never suspends. */
int loom_udp_connect(struct loom_udp *u, const char *host, int port);

/* Close the endpoint and its fd. Waiting tasks get -EBADF; a protocol gets
 * connection_lost. NULL is ignored. Never suspends. */
void loom_udp_close(struct loom_udp *u);

/* --- sending (suspend only while the socket buffer is full) --- */

/* Send one datagram to the connected peer. Returns len, -EDESTADDRREQ (not
 * connected), -EMSGSIZE, -ECONNREFUSED (an earlier datagram was refused),
 * -ETIMEDOUT, -ECANCELED, -EBADF (closed meanwhile), -EPERM (would wait outside a
 * task). Suspends. */
ssize_t loom_udp_send(struct loom_udp *u, const void *buf, size_t len, int64_t timeout_ns);

/* Send one datagram to addr. Same returns. Suspends. */
ssize_t loom_udp_sendto(struct loom_udp *u, const void *buf, size_t len,
                        const struct sockaddr *addr, socklen_t addrlen, int64_t timeout_ns);

/* Send now or not at all (for callbacks): len, -EAGAIN (socket buffer full: the
 * datagram was not sent) or an error as above. addr NULL: the connected peer. */
ssize_t loom_udp_try_sendto(struct loom_udp *u, const void *buf, size_t len,
                            const struct sockaddr *addr, socklen_t addrlen);

/* Send up to n datagrams with as few syscalls as the OS allows (sendmmsg).
 * Returns how many were sent (>= 1; fewer than n when the buffer filled after
 * some went), or an error as above if none could be sent. Suspends. */
int loom_udp_send_batch(struct loom_udp *u, const struct loom_dgram *msgs, unsigned n,
                        int64_t timeout_ns);

/* --- receiving (suspend until a datagram is there) --- */

/* Receive one datagram into buf (truncated to len). Returns its length (0 for
 * an empty datagram), -ECONNREFUSED (connected: an ICMP error), -ETIMEDOUT,
 * -ECANCELED, -EBADF, -EBUSY (a protocol reads this endpoint), -EPERM (would
 * wait outside a task). Suspends. */
ssize_t loom_udp_recv(struct loom_udp *u, void *buf, size_t len, int64_t timeout_ns);

/* Same, and the sender's address into *from / *fromlen (*fromlen in: the size
 * of *from). from may be NULL. Suspends. */
ssize_t loom_udp_recvfrom(struct loom_udp *u, void *buf, size_t len, struct sockaddr_storage *from,
                          socklen_t *fromlen, int64_t timeout_ns);

/* Wait for at least one datagram, then take up to n that are queued (recvmmsg)
 * into msgs (each buf/len given by the caller). Returns how many (>= 1) or an
 * error as loom_udp_recv. Suspends. */
int loom_udp_recv_batch(struct loom_udp *u, struct loom_dgram *msgs, unsigned n,
                        int64_t timeout_ns);

/* --- the callback protocol --- */

/* Deliver incoming datagrams to p's callbacks (arg passed back) instead of
 * tasks; p NULL stops it. Allocates one LOOM_UDP_MAX receive buffer while set.
 * 0, -EBUSY (a task is receiving), -ENOMEM. Datagrams go out with
 * loom_udp_try_sendto (or the task calls, from a task). */
int loom_udp_set_protocol(struct loom_udp *u, const struct loom_datagram_protocol *p, void *arg);

/* --- options (0 or -errno) --- */

/* SO_BROADCAST: allow sending to broadcast addresses (255.255.255.255...). */
int loom_udp_set_broadcast(struct loom_udp *u, bool on);
/* Join / leave the multicast group (numeric, IPv4 or IPv6 as the endpoint).
 * iface: IPv4: the interface's address (NULL: the kernel picks); IPv6: an
 * interface name ("lo"; NULL: the kernel picks). -EINVAL for a bad group. */
int loom_udp_join(struct loom_udp *u, const char *group, const char *iface);
int loom_udp_leave(struct loom_udp *u, const char *group, const char *iface);
/* Outgoing multicast: the interface (as loom_udp_join's iface), hop limit
 * (TTL), and whether our own datagrams loop back to us. */
int loom_udp_set_multicast_if(struct loom_udp *u, const char *iface);
int loom_udp_set_multicast_ttl(struct loom_udp *u, int ttl);
int loom_udp_set_multicast_loop(struct loom_udp *u, bool on);
/* IP_TTL / IPV6_UNICAST_HOPS. */
int loom_udp_set_ttl(struct loom_udp *u, int ttl);

/* --- accessors --- */

/* The fd (still owned by the endpoint). */
int loom_udp_fd(const struct loom_udp *u);
/* AF_INET or AF_INET6. */
int loom_udp_family(const struct loom_udp *u);
/* The bound port, or a negative error. */
int loom_udp_port(const struct loom_udp *u);
/* Our address / the connected peer's as text ("127.0.0.1:5353", "[::1]:5353").
 * 0, -ENOTCONN (peername of an unconnected endpoint), -ENOSPC. */
int loom_udp_sockname(const struct loom_udp *u, char *buf, size_t len);
int loom_udp_peername(const struct loom_udp *u, char *buf, size_t len);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
