/* tcp.h - TCP (IPv4 and IPv6) and Unix-domain sockets: connect, listen, accept,
 * name resolution, socket options.
 *
 * Every fd made here is non-blocking and close-on-exec, and no write on it can
 * raise SIGPIPE (loom writes with MSG_NOSIGNAL). Names are resolved with
 * getaddrinfo on the loop's executor (a thread), so the loop never blocks; a
 * cancelled or timed-out resolution leaks nothing.
 *
 * A listener is caller-owned: loom_tcp_listen() (or loom_unix_listen()) pairs
 * with loom_listener_close(). loom_listener_accept() survives running out of
 * fds (EMFILE/ENFILE): it pauses accepting for a moment with a timer and tries
 * again instead of spinning, and it ignores connections aborted before accept. */
#ifndef LOOM_NET_TCP_H
#define LOOM_NET_TCP_H

#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "loom/net/stream.h"
#include "loom/reactor/loop.h"

/* <netdb.h> declares struct addrinfo only with POSIX feature macros; a strict
 * -std=c11 user still compiles this header. */
struct addrinfo;

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* Flags for loom_tcp_listen() / loom_unix_listen(). */
enum loom_listen_flags {
    LOOM_LISTEN_REUSEPORT = 1, /* SO_REUSEPORT: several listeners (threads) share the port */
    LOOM_LISTEN_V6ONLY = 2,    /* an IPv6 listener takes no IPv4-mapped connections */
    LOOM_LISTEN_UNLINK = 4,    /* Unix: remove a stale socket file first and on close */
};

/* Happy Eyeballs (RFC 8305): the default delay before the next address is
 * tried while earlier attempts are still pending, and the most addresses one
 * connect tries (the rest of a longer answer is ignored). */
#define LOOM_CONNECT_ATTEMPT_DELAY LOOM_MS(250)
enum { LOOM_CONNECT_MAX_ADDRS = 32 };

/* Options for loom_tcp_connect_with(); zero-initialise and set what you need. */
struct loom_connect_options {
    /* Connection Attempt Delay: 0: LOOM_CONNECT_ATTEMPT_DELAY; > 0: that (at
     * least 10 ms, as RFC 8305 requires); < 0: no racing, one address at a
     * time, each until it fails. */
    int64_t attempt_delay_ns;
    int family;      /* 0: IPv4 and IPv6; AF_INET or AF_INET6: only that family */
    bool keep_order; /* try addresses in the resolver's order instead of alternating families */
};

/* Most listeners loom_tcp_listen_all() makes. */
enum { LOOM_LISTEN_MAX = 16 };

/* How long accept pauses after EMFILE/ENFILE/ENOBUFS/ENOMEM before retrying. */
#define LOOM_ACCEPT_RETRY_NS LOOM_MS(100)

/* A listening socket. Caller-owned; fields with a leading _ are private. */
struct loom_listener {
    /* the listening socket */
    int fd;
    struct loom_loop *_loop;
    struct loom_io _io;
    struct loom_timer _retry;  /* re-enables accepting after EMFILE */
    struct loom_task *_waiter; /* the task parked in accept */
    bool _paused;              /* out of fds: waiting for _retry */
    void *_acc;                /* io_uring: the multishot accept and its queue, see tcp.c */
    unsigned _flags;
    char _path[108]; /* Unix socket path to unlink on close */
};

/* --- resolution --- */

/* getaddrinfo(host, port) on the executor, bounded by timeout_ns (-1: none).
 * socktype SOCK_STREAM or SOCK_DGRAM; host NULL means the wildcard address
 * (AI_PASSIVE). *out is owned: free with freeaddrinfo(). Returns 0, LOOM_EDNS
 * (the name does not resolve), -ETIMEDOUT, -ECANCELED, -ENOMEM. Suspends. */
int loom_resolve(const char *host, int port, int socktype, int64_t timeout_ns,
                 struct addrinfo **out);

/* --- connecting (suspend) --- */

/* Connect to host:port (host NULL or "": localhost) with Happy Eyeballs
 * (RFC 8305, default options of loom_tcp_connect_with): every address the
 * name resolves to, IPv6 and IPv4 alternating, a new attempt every 250 ms
 * while earlier ones are pending (at once when one fails), the first to
 * connect wins and the others are closed. Within timeout_ns overall (-1:
 * none). The stream gets TCP_NODELAY. Returns 0 and an owned stream in *out,
 * or LOOM_EDNS, the latest connect error (-ECONNREFUSED, -ENETUNREACH...),
 * -ETIMEDOUT, -ECANCELED (no attempt is left open). Suspends. */
int loom_tcp_connect(const char *host, int port, int64_t timeout_ns, struct loom_stream **out);

/* loom_tcp_connect with options (opt may be NULL: defaults), returning the
 * connected non-blocking fd (owned) or a negative error as above; -EINVAL for
 * a bad port or family. Suspends. */
int loom_tcp_connect_with(const char *host, int port, const struct loom_connect_options *opt,
                          int64_t timeout_ns);

/* The same race over addresses already resolved (e.g. by loom_resolve; only
 * AF_INET/AF_INET6 entries are used, at most LOOM_CONNECT_MAX_ADDRS). ai is
 * borrowed. Returns the fd, LOOM_EDNS (no usable address) or an error as
 * above. Suspends. */
int loom_tcp_connect_addrinfo(const struct addrinfo *ai, const struct loom_connect_options *opt,
                              int64_t timeout_ns);

/* Connect to a Unix-domain stream socket at path. Same returns. Suspends. */
int loom_unix_connect(const char *path, int64_t timeout_ns, struct loom_stream **out);

/* Connect to host:port (as loom_tcp_connect, Happy Eyeballs included) and
 * return the connected non-blocking fd (owned) instead of a stream: for the
 * callback transport API and for custom transports (TLS). Returns the fd or a
 * negative error as above. Suspends. */
int loom_tcp_connect_fd(const char *host, int port, int64_t timeout_ns);

/* --- listening --- */

/* Bind and listen on host:port (host NULL or "": every IPv4 address; a name
 * binds the first address it resolves to, resolved on the executor only if it
 * is not a numeric address - loom_tcp_listen_all() binds every one; port 0:
 * any free port, see loom_listener_port()).
 * SO_REUSEADDR is always set. backlog <= 0: SOMAXCONN. Returns 0, LOOM_EDNS,
 * -EADDRINUSE or another OS error; on error nothing is left open. Suspends only
 * to resolve a name, so numeric hosts may be used outside a task. */
int loom_tcp_listen(struct loom_loop *loop, struct loom_listener *l, const char *host, int port,
                    int backlog, unsigned flags);

/* Listen on every address that each of hosts (a NULL-terminated list; NULL or
 * an empty list: every interface) resolves to, all on one port (asyncio
 * create_server with a host sequence). A NULL or "" host means every
 * interface of each configured family (0.0.0.0 and ::); a name binds each
 * address it resolves to (duplicates once), IPv4 and IPv6. IPv6 listeners
 * are always IPV6_V6ONLY, so :: and 0.0.0.0 coexist. Port 0: the first bind
 * picks a free port and the others take the same (retried with a new one if
 * it is taken on another address). Fills ls[0..n-1] and returns n >= 1; each
 * needs loom_listener_close(). Errors: LOOM_EDNS (a name resolves to nothing,
 * or no usable address), -ENOSPC (more than max or LOOM_LISTEN_MAX addresses),
 * -EADDRINUSE, -EINVAL, another OS error; nothing is left open then. Suspends
 * only to resolve a name. */
int loom_tcp_listen_all(struct loom_loop *loop, struct loom_listener *ls, size_t max,
                        const char *const *hosts, int port, int backlog, unsigned flags);

/* Bind and listen on a Unix-domain socket path. 0 or -errno. Never suspends. */
int loom_unix_listen(struct loom_loop *loop, struct loom_listener *l, const char *path, int backlog,
                     unsigned flags);

/* Adopt an already listening socket fd (made non-blocking/close-on-exec here). */
int loom_listener_open_fd(struct loom_loop *loop, struct loom_listener *l, int fd);

/* Accept one connection: the new fd (owned by the caller, non-blocking,
 * close-on-exec, TCP_NODELAY on TCP) or -ETIMEDOUT, -ECANCELED, -EBUSY (another
 * task is accepting), -EBADF (closed meanwhile), or an OS error. EMFILE/ENFILE
 * pause accepting for LOOM_ACCEPT_RETRY_NS and retry; ECONNABORTED and EINTR
 * are retried at once. Suspends. */
int loom_listener_accept(struct loom_listener *l, int64_t timeout_ns);

/* loom_listener_accept() wrapped in a stream (owned: loom_stream_close()). */
int loom_listener_accept_stream(struct loom_listener *l, int64_t timeout_ns,
                                struct loom_stream **out);

/* Stop listening and close the fd (and unlink the Unix path with
 * LOOM_LISTEN_UNLINK). A task waiting in accept gets -EBADF. */
void loom_listener_close(struct loom_listener *l);

/* The bound port (TCP), or a negative error. */
int loom_listener_port(const struct loom_listener *l);
/* The bound address as text ("127.0.0.1:8000", "[::1]:8000", the Unix path). */
int loom_listener_name(const struct loom_listener *l, char *buf, size_t len);

/* --- socket options (0 or -errno) --- */

/* TCP_NODELAY: send small writes at once (no Nagle delay). */
int loom_tcp_set_nodelay(int fd, bool on);
/* Keepalive: probes after idle_s seconds of silence, every interval_s, count times
 * (0: the OS default). */
int loom_tcp_set_keepalive(int fd, bool on, int idle_s, int interval_s, int count);
/* SO_SNDBUF / SO_RCVBUF (the kernel may double the value). */
int loom_socket_set_buffers(int fd, int sndbuf, int rcvbuf);
/* SO_LINGER 0: close() sends a RST instead of a FIN. */
int loom_socket_set_linger0(int fd);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
