/* transport.h - the callback-style transport/protocol API (asyncio's
 * Transport and Protocol) for embedders that do not want tasks.
 *
 * A transport owns a connected fd (or a stream transport, see stream.h) and calls
 * the protocol's callbacks on the loop: connection_made once, data_received for
 * each chunk read, eof_received when the peer half-closes, and connection_lost
 * exactly once at the end (err 0 for a clean close). The protocol writes with
 * loom_transport_write() (buffered, never blocks) and gets pause_writing /
 * resume_writing when the write buffer crosses the high / low watermark.
 *
 * Callbacks may call any transport function, including close. The transport's
 * memory is released after connection_lost returns.
 *
 * A protocol may receive without a copy (asyncio's BufferedProtocol): with
 * get_buffer/buffer_updated the transport reads straight into the protocol's
 * buffer. Servers that give each accepted connection a protocol of its own are
 * in net/server.h (loom_server_start_protocol). */
#ifndef LOOM_NET_TRANSPORT_H
#define LOOM_NET_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loom/net/stream.h"
#include "loom/reactor/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

struct loom_transport;

/* The protocol: any callback may be NULL. arg is the pointer given at creation. */
struct loom_protocol {
    /* The transport is ready (called on the loop, before any data). */
    void (*connection_made)(struct loom_transport *t, void *arg);
    /* len (> 0) bytes arrived; data is valid only during the call. */
    void (*data_received)(struct loom_transport *t, const void *data, size_t len, void *arg);
    /* The peer sent EOF. Return true to keep the transport open (half-closed,
     * writes still possible); false (or a NULL callback) closes it. */
    bool (*eof_received)(struct loom_transport *t, void *arg);
    /* The end: err 0 after close/EOF, else why (-ECONNRESET, -EPIPE...). Last call. */
    void (*connection_lost)(struct loom_transport *t, int err, void *arg);
    /* The write buffer went over the high watermark / back down to the low one. */
    void (*pause_writing)(struct loom_transport *t, void *arg);
    void (*resume_writing)(struct loom_transport *t, void *arg);
    /* Zero-copy receive (asyncio's BufferedProtocol). When get_buffer is set,
     * data_received is not used: before each read the transport asks for a
     * buffer (sizehint: the size it would like, LOOM_TRANSPORT_READ_SIZE),
     * reads straight into it and calls buffer_updated(n) with the count
     * (n > 0). Return the buffer and store its size (> 0) in *len; NULL or a
     * size of 0 aborts the connection (connection_lost gets -ENOBUFS). The
     * buffer stays the protocol's: the transport writes into it only between
     * get_buffer and the buffer_updated (or connection_lost) that follows.
     * Either callback may pause reading or close the transport. */
    void *(*get_buffer)(struct loom_transport *t, size_t sizehint, size_t *len, void *arg);
    void (*buffer_updated)(struct loom_transport *t, size_t n, void *arg);
};

/* The read size a transport asks get_buffer for (its own buffer for
 * data_received is 16 KiB on the stack). */
enum { LOOM_TRANSPORT_READ_SIZE = 64 * 1024 };

/* --- lifecycle --- */

/* Wrap a connected non-blocking fd (taken over; closed on failure too).
 * protocol must outlive the transport. connection_made runs on the next loop
 * iteration. *out (may be NULL) is a borrowed pointer valid until
 * connection_lost returns. Returns 0 or -ENOMEM. */
int loom_transport_open_fd(struct loom_loop *loop, int fd, const struct loom_protocol *protocol,
                           void *arg, struct loom_transport **out);

/* asyncio create_connection: connect to host:port (loom_tcp_connect_fd) and
 * wrap the fd. Returns 0 or the connect error. Suspends. */
int loom_transport_connect(const char *host, int port, int64_t timeout_ns,
                           const struct loom_protocol *protocol, void *arg,
                           struct loom_transport **out);

/* Close after the write buffer is flushed; connection_lost(0) follows (on the loop). */
void loom_transport_close(struct loom_transport *t);
/* Close at once, dropping buffered output; connection_lost(0) follows. */
void loom_transport_abort(struct loom_transport *t);

/* --- operations --- */

/* Switch protocols (asyncio's set_protocol): every later callback goes to
 * protocol with arg, including connection_made if it has not run yet. Safe
 * from inside a callback. protocol must outlive the transport. */
void loom_transport_set_protocol(struct loom_transport *t, const struct loom_protocol *protocol,
                                 void *arg);

/* Buffer len bytes and send what the kernel takes now. 0, or the transport's
 * write error (connection_lost reports it too), or -ESHUTDOWN after write_eof/close. */
int loom_transport_write(struct loom_transport *t, const void *data, size_t len);
/* Half-close once the buffer is flushed. 0 or -errno. */
int loom_transport_write_eof(struct loom_transport *t);

/* Stop / resume calling data_received (the fd stops being polled for reading). */
void loom_transport_pause_reading(struct loom_transport *t);
void loom_transport_resume_reading(struct loom_transport *t);
/* Whether data_received is being called (reading not paused, not closing). */
bool loom_transport_is_reading(const struct loom_transport *t);

/* Watermarks for pause_writing/resume_writing (0,0: 64 KiB / 16 KiB). */
void loom_transport_set_write_buffer_limits(struct loom_transport *t, size_t high, size_t low);
/* Bytes buffered and not yet sent. */
size_t loom_transport_get_write_buffer_size(const struct loom_transport *t);

/* --- accessors --- */

/* True once the transport is closing or its connection was lost. */
bool loom_transport_is_closing(const struct loom_transport *t);
/* The socket's fd, still owned by the transport (-1 if none). */
int loom_transport_fd(const struct loom_transport *t);
/* Peer / local address as text, as loom_stream_peername(). */
int loom_transport_peername(const struct loom_transport *t, char *buf, size_t len);
int loom_transport_sockname(const struct loom_transport *t, char *buf, size_t len);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
