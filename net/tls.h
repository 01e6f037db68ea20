/* tls.h - TLS (OpenSSL 3) as a stream transport.
 *
 * A TLS stream is an ordinary struct loom_stream whose transport is a TLS
 * session, so every stream call (readline, readexactly, drain, timeouts,
 * cancellation) works on it unchanged. TLS 1.2 is the minimum version;
 * renegotiation is refused.
 *
 * Client contexts verify the peer by default: the chain against the system
 * store plus ca_file/ca_dir, and the host name (or, for an IP literal, the IP
 * address) given to connect. They keep a bounded cache of sessions keyed by
 * "host:port", so a second connection to the same server resumes. TLS 1.3
 * tickets arrive after the handshake and are taken in by reads: a connection
 * closed before it read anything leaves no ticket behind.
 *
 * Memory: idle connections hold no TLS record buffers (SSL_MODE_RELEASE_BUFFERS),
 * only OpenSSL's per-connection state: measured at about 16 KiB per idle server
 * end and 40 KiB per idle client end (which keeps the peer's chain and session),
 * P-256 certificates, OpenSSL 3.0.
 *
 * Errors: the handshake calls return LOOM_ETLS with a sentence in err naming
 * the reason ("certificate verify failed: certificate has expired"), or
 * -ETIMEDOUT, -ECANCELED, -ECONNRESET... Later reads and writes that fail at
 * the TLS level end in LOOM_ETLS; loom_tls_error() tells why.
 *
 * End of stream: a close_notify from the peer reads as LOOM_EOF. A peer that
 * closes TCP without close_notify also reads as LOOM_EOF (as most HTTP clients
 * treat it), but loom_tls_eof_unclean() then says so: a protocol whose framing
 * relies on EOF should check it (truncation). A connection that ends in the
 * middle of a record is an error (-ECONNRESET), never EOF.
 *
 * No call here raises SIGPIPE: the TLS layer writes with send(MSG_NOSIGNAL).
 * A context may be shared by streams of several loops/threads. */
#ifndef LOOM_NET_TLS_H
#define LOOM_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loom/net/stream.h"
#include "loom/reactor/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

enum {
    LOOM_TLS_SESSION_CACHE = 256, /* client sessions kept per context (oldest go first) */
};

/* Wraps an SSL_CTX; shared by many connections. Refcounted: streams made
 * with it keep it alive after loom_tls_context_free(). */
struct loom_tls_context;

/* Client settings: zero-initialise and set what you need. */
struct loom_tls_client_options {
    const char *ca_file;     /* PEM trust anchors added to the system store; NULL: system only */
    const char *ca_dir;      /* hashed directory of trust anchors; NULL: none */
    bool insecure_no_verify; /* true: no chain or name check at all (tests only) */
    const char *alpn;        /* protocols offered, comma list ("h2,http/1.1"); NULL: none */
    const char *cert_file;   /* optional client certificate chain (PEM) */
    const char *key_file;    /* ...and its key (PEM); NULL: in cert_file */
};

/* Server settings. */
struct loom_tls_server_options {
    const char *cert_file;      /* certificate chain PEM, leaf first */
    const char *key_file;       /* private key PEM; NULL: in cert_file */
    const char *alpn;           /* protocols accepted, in our order of preference; a
                                   client offering ALPN with no overlap is refused, a
                                   client offering none is served */
    const char *client_ca_file; /* require a client certificate verified against these
                                   PEM trust anchors; NULL: none asked for */
};

/* --- contexts --- */

/* Make a client context. *out is owned: loom_tls_context_free(). Returns 0,
 * LOOM_ETLS (err says why: a CA file that does not load...), -EINVAL, -ENOMEM.
 * Never suspends. */
int loom_tls_client_context_new(const struct loom_tls_client_options *o,
                                struct loom_tls_context **out, char *err, size_t errlen);

/* Make a server context (certificate chain and key are loaded and checked to
 * match now). Same returns. */
int loom_tls_server_context_new(const struct loom_tls_server_options *o,
                                struct loom_tls_context **out, char *err, size_t errlen);

/* Drop the caller's reference; the context goes when its last stream closes.
 * NULL is ignored. */
void loom_tls_context_free(struct loom_tls_context *ctx);
/* Take another reference (thread-safe); each needs its own loom_tls_context_free(). */
struct loom_tls_context *loom_tls_context_ref(struct loom_tls_context *ctx);

/* --- connections (all suspend; err may be NULL) --- */

/* Client handshake over a connected socket fd; ownership of fd passes to the
 * stream, also on failure (then it is closed). host: the SNI name and the name
 * verified; an IP literal is verified as an IP address and not sent as SNI;
 * NULL: no SNI and no name check (the chain is still verified). The session
 * cache key is "host:<peer port>". On success *out is an owned stream
 * (loom_stream_close() or loom_tls_shutdown()). Returns 0, LOOM_ETLS,
 * -ETIMEDOUT, -ECANCELED, -ECONNRESET, -ENOMEM... */
int loom_tls_connect_fd(struct loom_loop *loop, int fd, struct loom_tls_context *ctx,
                        const char *host, int64_t timeout_ns, struct loom_stream **out, char *err,
                        size_t errlen);

/* loom_tcp_connect_fd(host, port) then loom_tls_connect_fd, within timeout_ns
 * overall, on the current task's loop. Also returns LOOM_EDNS, -ECONNREFUSED. */
int loom_tls_connect(const char *host, int port, struct loom_tls_context *ctx, int64_t timeout_ns,
                     struct loom_stream **out, char *err, size_t errlen);

/* Server handshake over an accepted socket fd (owned by the stream, closed on
 * failure). Same returns as loom_tls_connect_fd. */
int loom_tls_accept_fd(struct loom_loop *loop, int fd, struct loom_tls_context *ctx,
                       int64_t timeout_ns, struct loom_stream **out, char *err, size_t errlen);

/* Server handshake on a freshly accepted plain socket stream (e.g. the one a
 * loom_server handler gets), with nothing read or written on it yet. The
 * stream is upgraded IN PLACE: *s keeps pointing at the same stream, so a
 * loom_server that owns it still closes it. On failure the stream stays too,
 * dead (reads and writes fail with LOOM_ETLS after a TLS failure, else
 * -ECONNABORTED), and its owner closes it as usual. Returns 0, -EINVAL (not a
 * fresh plain socket stream), -EBUSY (a task waits on it) or as
 * loom_tls_accept_fd. */
int loom_tls_accept_stream(struct loom_stream **s, struct loom_tls_context *ctx, int64_t timeout_ns,
                           char *err, size_t errlen);

/* Flush what is buffered and send close_notify, within timeout_ns; the stream
 * stays open (reading goes on: TLS 1.3 lets the peer keep sending). For
 * borrowed streams, such as a loom_server handler's. Returns 0, -EINVAL (not
 * TLS), or the flush/send error (-ETIMEDOUT, -ECANCELED, -EPIPE...). Suspends. */
int loom_tls_close_notify(struct loom_stream *s, int64_t timeout_ns);

/* loom_tls_close_notify, then close the stream, which is gone whatever the
 * result (so not on a stream someone else closes, such as a loom_server
 * handler's). loom_stream_close() alone also sends close_notify, but only if the
 * socket takes it at once. On a plain stream: flush, then close. Same returns.
 * Suspends. */
int loom_tls_shutdown(struct loom_stream *s, int64_t timeout_ns);

/* --- accessors (on a stream; non-TLS streams give false/NULL) --- */

/* True if s is a TLS stream (from loom_tls_connect or loom_tls_accept). */
bool loom_stream_is_tls(const struct loom_stream *s);
/* The ALPN protocol agreed on, NULL if none; valid while the stream is open. */
const char *loom_tls_alpn_selected(const struct loom_stream *s);
/* True if the handshake resumed a cached session. */
bool loom_tls_session_reused(const struct loom_stream *s);
/* "TLSv1.3", "TLSv1.2"; static. */
const char *loom_tls_version(const struct loom_stream *s);
/* True once the peer ended the TCP connection without a close_notify. */
bool loom_tls_eof_unclean(const struct loom_stream *s);
/* Server side: the host name the client asked for (SNI), NULL if none or if
 * it is not a host name (anything but ASCII letters, digits, '.', '-' and '_',
 * such as control characters, or over 253 bytes): safe to log as is. Valid
 * while the stream is open. */
const char *loom_tls_server_name(const struct loom_stream *s);
/* The subject CN of the peer's (verified) certificate into buf: 0, -ENOENT
 * (no certificate, or no CN), -ENOSPC, -EINVAL (not TLS). */
int loom_tls_peer_name(const struct loom_stream *s, char *buf, size_t len);
/* Why the last TLS-level failure (LOOM_ETLS) happened; "" if none. Valid while
 * the stream is open. */
const char *loom_tls_error(const struct loom_stream *s);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
