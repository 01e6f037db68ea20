/* stream.h - buffered byte streams (asyncio StreamReader + StreamWriter in one).
 *
 * A stream reads and writes through a small transport interface (struct
 * loom_stream_ops): plain fds (TCP, Unix sockets, pipes, a TTY, stdin/stdout,
 * regular files) use the built-in one; TLS plugs in its own later.
 *
 * Reading: every read call takes a timeout (-1: the stream's default timeout,
 * which is itself "none" unless loom_stream_set_timeout() set one; 0: do not
 * wait at all). Reads that need a delimiter or a count fail cleanly past their
 * size limit with LOOM_ELIMIT and keep the data in the stream. A read that is
 * cancelled or times out loses no byte: what arrived stays buffered for the next
 * read. LOOM_EOF means the peer closed its side and nothing is buffered.
 *
 * Writing: loom_stream_write() never suspends. It tries the write at once and
 * buffers what the transport did not take; the loop flushes the buffer (writev,
 * coalesced) whenever the fd becomes writable, with no task involved.
 * loom_stream_drain() applies backpressure: it suspends while more than the high
 * watermark is buffered, until the buffer falls to the low watermark.
 *
 * One task may read and one task may drain at a time (another gets -EBUSY);
 * any task (or callback) may write. A stream belongs to one loop/thread.
 * Streams never raise SIGPIPE: a write to a closed peer returns -EPIPE. */
#ifndef LOOM_NET_STREAM_H
#define LOOM_NET_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "loom/reactor/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* Flags for loom_stream_open_fd() / loom_stream_open(). */
enum loom_stream_flags {
    /* The stream borrows the fd: closing the stream leaves it open and puts back
     * its original O_NONBLOCK setting (use for stdin/stdout/stderr). */
    LOOM_STREAM_BORROW = 1,
};

/* Defaults. */
enum {
    LOOM_STREAM_LIMIT = 64 * 1024,      /* readline/readuntil limit unless set */
    LOOM_STREAM_HIGH_WATER = 64 * 1024, /* drain() waits above this many bytes */
    LOOM_STREAM_LOW_WATER = 16 * 1024,  /* ...until the buffer is down to this */
};

struct loom_stream;

/* The transport under a stream. ctx is the pointer given to loom_stream_open().
 * On "would block" read and writev return -EAGAIN and store in *wait which
 * readiness of the fd to wait for (LOOM_READABLE or LOOM_WRITABLE: TLS may need
 * to write in order to read). */
struct loom_stream_ops {
    /* Read up to len bytes: > 0 bytes read, 0 at end of stream, or -errno. */
    ssize_t (*read)(void *ctx, void *buf, size_t len, unsigned *wait);
    /* Write from iov: bytes written (> 0), or -errno (-EPIPE if the peer is gone). */
    ssize_t (*writev)(void *ctx, const struct iovec *iov, int iovcnt, unsigned *wait);
    /* Half-close: no more writes (shutdown(SHUT_WR)); 0 or -errno. NULL: unsupported. */
    int (*shutdown_write)(void *ctx);
    /* Release the transport and its fd (if it owns it). */
    void (*close)(void *ctx);
};

/* --- lifecycle --- */

/* Make a stream over fd (socket, pipe, FIFO, TTY, regular file, /dev/null...).
 * Sets O_NONBLOCK (restored on close with LOOM_STREAM_BORROW). Fds that cannot
 * be polled (regular files, /dev/null) are read and written directly. Takes
 * ownership of fd unless LOOM_STREAM_BORROW (on failure an owned fd is closed).
 * Returns 0, -ENOMEM or -EBADF. */
int loom_stream_open_fd(struct loom_loop *loop, int fd, unsigned flags, struct loom_stream **out);

/* Make a stream over a custom transport; fd is what the loop polls (-1: never
 * wait, the transport never returns -EAGAIN). On failure ops->close(ctx) is
 * called. Returns 0 or -ENOMEM. */
int loom_stream_open(struct loom_loop *loop, int fd, const struct loom_stream_ops *ops, void *ctx,
                     unsigned flags, struct loom_stream **out);

/* Close the stream: one last non-blocking attempt to write what is buffered
 * (use loom_stream_flush() first to be sure it all went), then the transport is
 * closed and the stream freed. Tasks still waiting on it are woken with -EBADF
 * (the memory is released after they left). Never suspends. NULL is ignored. */
void loom_stream_close(struct loom_stream *s);

/* Close at once, discarding buffered output; on a TCP socket the peer gets a RST. */
void loom_stream_abort(struct loom_stream *s);

/* --- reading (all suspend, all may end in -ETIMEDOUT, -ECANCELED, -EBADF) --- */

/* Read at least 1 and at most len bytes. Returns the count, LOOM_EOF, or -errno. */
ssize_t loom_stream_read_some(struct loom_stream *s, void *buf, size_t len, int64_t timeout_ns);

/* Zero-copy read_some: *data points to at most max buffered bytes, which count as
 * consumed. The view stays valid until the next call on the stream. */
ssize_t loom_stream_read_view(struct loom_stream *s, const void **data, size_t max,
                              int64_t timeout_ns);

/* Read until end of stream (asyncio read(-1)): returns the count (0 if the stream
 * was already at its end). LOOM_ELIMIT if more than len bytes come before EOF:
 * nothing is consumed then. */
ssize_t loom_stream_read(struct loom_stream *s, void *buf, size_t len, int64_t timeout_ns);

/* Read exactly n bytes into buf. Returns n; LOOM_EOF if the stream ends first
 * (the partial data stays buffered: loom_stream_buffered() tells how much). */
ssize_t loom_stream_readexactly(struct loom_stream *s, void *buf, size_t n, int64_t timeout_ns);

/* Read up to and including sep (seplen >= 1) into buf, NUL-terminated; the data
 * (with sep) may be at most cap - 1 bytes, else LOOM_ELIMIT and nothing consumed.
 * Returns the length with sep; LOOM_EOF if the stream ends before sep (partial
 * data stays buffered). */
ssize_t loom_stream_readuntil(struct loom_stream *s, const void *sep, size_t seplen, char *buf,
                              size_t cap, int64_t timeout_ns);

/* readuntil("\n"), except that at end of stream a last unterminated line is
 * returned as is; LOOM_EOF only when nothing is left. */
ssize_t loom_stream_readline(struct loom_stream *s, char *buf, size_t cap, int64_t timeout_ns);

/* Zero-copy readline: *line points to the line (with its "\n", not NUL-terminated),
 * valid until the next call on the stream. The limit is the stream's limit. */
ssize_t loom_stream_readline_view(struct loom_stream *s, const char **line, int64_t timeout_ns);

/* For incremental parsers: wait until at least min bytes are buffered (min 0:
 * never wait), then point *data at everything buffered and return its length;
 * nothing is consumed. Ask for one byte more than last time to get more data.
 * The view is valid until the next call on the stream. LOOM_ELIMIT when min is
 * over the stream's limit (loom_stream_set_limit); LOOM_EOF when the stream ends
 * with fewer than min bytes (they stay buffered). */
ssize_t loom_stream_peek(struct loom_stream *s, const void **data, size_t min, int64_t timeout_ns);

/* Drop n buffered bytes (at most what is buffered), e.g. after loom_stream_peek. */
void loom_stream_consume(struct loom_stream *s, size_t n);

/* Make reads that would have to wait return LOOM_EOF from now on (data already
 * buffered or already in the kernel is still returned). Wakes a waiting reader.
 * Servers use it for graceful shutdown. */
void loom_stream_stop_reading(struct loom_stream *s);

/* --- writing --- */

/* Queue len bytes (copied) and try to send them at once. Never suspends.
 * Returns 0, -EPIPE/-ECONNRESET (the peer is gone; later writes fail too;
 * after a reset, reads still return what the peer sent before it, then
 * -ECONNRESET), -ESHUTDOWN after write_eof, or -ENOMEM. */
int loom_stream_write(struct loom_stream *s, const void *buf, size_t len);

/* Same for several pieces at once. */
int loom_stream_writev(struct loom_stream *s, const struct iovec *iov, int iovcnt);

/* Backpressure: if more than the high watermark is buffered, wait until it is
 * down to the low watermark. Returns 0, a write error, -ETIMEDOUT, -ECANCELED.
 * Suspends only when over the high watermark. */
int loom_stream_drain(struct loom_stream *s, int64_t timeout_ns);

/* Wait until every buffered byte has gone to the transport. Suspends. */
int loom_stream_flush(struct loom_stream *s, int64_t timeout_ns);

/* Half-close: once the buffer is flushed, shut down the write side (the peer
 * reads EOF); reading goes on. On a socket: shutdown(SHUT_WR); on an owned
 * write-only pipe: the fd is closed. Returns 0, -ENOTSUP (a borrowed fd, a
 * TTY) or -errno; never suspends. */
int loom_stream_write_eof(struct loom_stream *s);

/* --- settings and accessors --- */

/* Limit for readline_view and the internal read buffer (default LOOM_STREAM_LIMIT). */
void loom_stream_set_limit(struct loom_stream *s, size_t limit);
/* Watermarks for drain() (low <= high; 0,0 restores the defaults). */
void loom_stream_set_write_limits(struct loom_stream *s, size_t high, size_t low);
/* The timeout reads use when passed -1 (an idle timeout); -1: none (default). */
void loom_stream_set_timeout(struct loom_stream *s, int64_t timeout_ns);

/* Bytes read from the transport but not consumed yet. */
size_t loom_stream_buffered(const struct loom_stream *s);
/* Bytes written but not yet accepted by the transport. */
size_t loom_stream_write_buffered(const struct loom_stream *s);
/* True once the peer's end of stream was seen. */
bool loom_stream_at_eof(const struct loom_stream *s);
/* The first write error (0: none). */
int loom_stream_write_error(const struct loom_stream *s);

/* The ctx given to loom_stream_open() if the stream's transport is ops, else
 * NULL: lets a layer (TLS) recognise its own streams. */
void *loom_stream_transport_ctx(const struct loom_stream *s, const struct loom_stream_ops *ops);

/* The fd (-1 if none); still owned by the stream. */
int loom_stream_fd(const struct loom_stream *s);
/* The loop the stream belongs to. */
struct loom_loop *loom_stream_loop(const struct loom_stream *s);

/* The peer's / our own socket address as text ("127.0.0.1:8000", "[::1]:8000",
 * a Unix path, "" for an unnamed Unix socket) into buf. 0, -ENOTSOCK, -ENOSPC. */
int loom_stream_peername(const struct loom_stream *s, char *buf, size_t len);
int loom_stream_sockname(const struct loom_stream *s, char *buf, size_t len);

/* For callers: format a socket address like the two above. */
int loom_sockaddr_format(const struct sockaddr *sa, socklen_t salen, char *buf, size_t len);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
