/* fdio.h - task-level I/O on raw fds (asyncio's loop.sock_recv, sock_sendall,
 * sock_accept, sock_connect, add_reader as a wait), fd passing over Unix
 * sockets (SCM_RIGHTS), sendfile from a file to a stream, and getnameinfo.
 *
 * These calls are for fds the caller owns and that no loom object (stream,
 * listener, UDP endpoint, another waiting task) watches on the same loop: a
 * wait registers the fd with the loop for its duration only, and the loop
 * keeps one watcher per fd. The fds should be non-blocking (the calls try the
 * operation first and wait only on EAGAIN; a blocking fd blocks the loop).
 * Every waiting call takes a timeout in ns (-1: none; 0: do not wait, then
 * -ETIMEDOUT) and may end in -ETIMEDOUT or -ECANCELED; -EPERM if it would
 * have to wait outside a task. Nothing here closes the caller's fds. */
#ifndef LOOM_NET_FDIO_H
#define LOOM_NET_FDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "loom/net/stream.h"
#include "loom/reactor/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* Most fds one message may carry (loom_sock_sendmsg_fds / _recvmsg_fds). */
#define LOOM_FDIO_MAX_FDS 64

/* --- waiting for readiness --- */

/* Wait until fd is ready for any of events (LOOM_READABLE | LOOM_WRITABLE).
 * Returns the ready events (> 0; an error or hang-up reports both, so the next
 * read or write sees it), -EINVAL (no events), -EBADF (fd < 0), -ENOMEM,
 * -ETIMEDOUT, -ECANCELED, -EPERM. Suspends. */
int loom_fd_wait(int fd, unsigned events, int64_t timeout_ns);

/* --- socket calls (asyncio's loop.sock_*) --- */

/* Receive up to len bytes: the count, 0 at end of stream, or -errno. Suspends. */
ssize_t loom_sock_recv(int fd, void *buf, size_t len, int64_t timeout_ns);

/* Send all len bytes. Returns 0, or an error (-EPIPE, -ECONNRESET,
 * -ETIMEDOUT...); *sent (may be NULL) gets how many went out either way. Never
 * raises SIGPIPE. Suspends. */
int loom_sock_sendall(int fd, const void *buf, size_t len, int64_t timeout_ns, size_t *sent);

/* Accept a connection on a listening socket: the new fd (owned by the caller,
 * non-blocking, close-on-exec) and the peer's address in addr and addrlen (both
 * may be NULL), or -errno. Suspends. */
int loom_sock_accept(int fd, struct sockaddr_storage *addr, socklen_t *addrlen, int64_t timeout_ns);

/* Connect a non-blocking socket to addr and wait for the outcome. 0,
 * -ECONNREFUSED, -ETIMEDOUT (the attempt is abandoned: close the socket),
 * -ECANCELED or another -errno. Suspends. */
int loom_sock_connect(int fd, const struct sockaddr *addr, socklen_t addrlen, int64_t timeout_ns);

/* --- fd passing over Unix sockets (SCM_RIGHTS) --- */

/* Send len bytes (len >= 1: a message must carry data) with nfds fds
 * (<= LOOM_FDIO_MAX_FDS). The fds stay the caller's (the peer gets copies).
 * Returns the bytes sent (the fds went with the first byte), -EINVAL, or
 * -errno. Suspends. */
ssize_t loom_sock_sendmsg_fds(int fd, const void *buf, size_t len, const int *fds, size_t nfds,
                              int64_t timeout_ns);

/* Receive up to len bytes and the fds sent with them. *nfds in: room in fds;
 * out: how many were received (owned by the caller, close-on-exec). Fds past
 * the room are closed at once, so a peer cannot make us leak them. Returns the
 * bytes (0 at end of stream) or -errno. Suspends. */
ssize_t loom_sock_recvmsg_fds(int fd, void *buf, size_t len, int *fds, size_t *nfds,
                              int64_t timeout_ns);

/* --- sendfile --- */

/* Send count bytes of file_fd from offset (count 0: up to the end of the file)
 * to the stream: its buffered output is flushed first, then on a plain fd
 * stream the kernel copies (sendfile(2), no user-space copy) and otherwise (TLS,
 * custom transports) the data goes through the stream in 64 KiB pieces.
 * file_fd's own position is not used or moved. Returns the bytes sent (fewer
 * than count only if the file is shorter), or an error: the stream's write
 * error, -EBUSY (a task is reading the stream), -ETIMEDOUT, -ECANCELED, or a
 * read error of the file. The timeout bounds the whole call. Suspends. */
ssize_t loom_sendfile(struct loom_stream *s, int file_fd, off_t offset, size_t count,
                      int64_t timeout_ns);

/* --- names --- */

/* getnameinfo(3) on the executor (reverse DNS blocks): host and service of
 * addr into host/serv (either may be NULL with length 0). flags are
 * getnameinfo's (NI_NUMERICHOST, NI_NUMERICSERV, NI_NAMEREQD, NI_DGRAM...).
 * Returns 0, LOOM_EDNS (no name, with NI_NAMEREQD), -ENOSPC (a buffer is too
 * small), -EINVAL, -ETIMEDOUT, -ECANCELED (a lookup left behind finishes
 * unobserved and leaks nothing), -EPERM. Suspends. */
int loom_getnameinfo(const struct sockaddr *addr, socklen_t addrlen, char *host, size_t hostlen,
                     char *serv, size_t servlen, int flags, int64_t timeout_ns);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
