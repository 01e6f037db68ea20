/* http.h - the HTTP/1.1 client: a session with a connection pool per origin
 * (aiohttp's ClientSession), over loom streams, TLS (net/tls.h), the one
 * message parser (net/http_parse.h) and URLs (net/url.h).
 *
 *     struct loom_http_session *s;
 *     loom_http_session_new(loom_loop_current(), NULL, &s);
 *     struct loom_http_response *r;
 *     char err[256];
 *     int rc = loom_http_request(s, "http://127.0.0.1:8080/", NULL, &r, err, sizeof err);
 *     ... loom_http_response_status(r), loom_http_response_read(r, buf, sizeof buf) ...
 *     loom_http_response_close(r);
 *     loom_http_session_free(s);
 *
 * Pool. Connections are kept per origin (scheme, host, port) and reused while
 * idle for at most keepalive_ns (a timer closes them after that, so free the
 * session before its loop). The session opens at most `limit` connections
 * in all and `limit_per_host` per origin; a request beyond that waits for a
 * slot, within its connect/total timeouts. A pooled connection the server
 * closed while it was idle is retried once on a new connection when the
 * request is idempotent and its body can be sent again.
 *
 * Responses. A response holds its connection until its body has been read to
 * the end (then the connection goes back to the pool) or it is closed (a
 * half-read connection is closed, never reused; only a small Content-Length
 * rest that has already arrived is skipped to keep it). Bodies are decoded
 * (chunked, then gzip/deflate when the session asked for them) as they are read:
 * every coding the Content-Encoding fields list, in reverse order ("gzip, gzip"
 * twice; more than 5 fails the request with LOOM_EHTTP), each capped at
 * max_decoded; a body with a coding the client does not know is passed on as
 * it came (the header says what it is); bytes after the last gzip member
 * that cannot start another (zero padding, a newline) are ignored, as gzip(1)
 * does. A pooled connection that answers with
 * bytes an earlier response left behind (a body sent with a HEAD or 204
 * answer, more body than its Content-Length) is retried once on a new
 * connection, as a stale one is. A server that answers before the request
 * body was sent whole (a 413 to an upload it will not read) and resets the
 * connection: its answer is returned, not the reset the sending met (over
 * plain TCP; behind TLS the reset stands), and the connection is not kept.
 *
 * Timeouts (struct loom_http_timeout) bound the whole request including its
 * redirects and the reading of the body (total), getting a connection
 * (connect: pool wait + DNS + TCP + TLS; sock_connect: DNS + TCP + TLS alone),
 * and each wait for bytes from the server (sock_read; it also bounds each wait
 * to send). Cancelling the task at any suspension ends the call with
 * -ECANCELED and leaves the pool consistent.
 *
 * Errors: negative codes. LOOM_EHTTP (the server broke the protocol, a
 * redirect loop, too many redirects, a body cut short), LOOM_ELIMIT (a size
 * limit: status line, header section, header count, chunk-size line,
 * trailers, body, decoded body), LOOM_ETLS, LOOM_EDNS, -ECONNREFUSED,
 * -ETIMEDOUT, -ECANCELED, -EPROTONOSUPPORT (a scheme other than http/https,
 * found before any I/O), LOOM_URL_E* (a URL that does not parse). The calls
 * that can fail with a reason fill a message buffer (err/errlen) or keep it
 * (loom_http_response_error()). Messages that callers may match start with:
 * "redirect loop", "too many redirects", "redirect to an unsupported scheme"
 * (LOOM_EHTTP from a request); a body cut short is LOOM_EHTTP from a read with
 * loom_http_response_truncated() true.
 *
 * A session belongs to one loop; every call here that suspends must run in a
 * task of that loop. Nothing here raises SIGPIPE. */
#ifndef LOOM_NET_HTTP_H
#define LOOM_NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loom/net/http_parse.h"
#include "loom/reactor/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* Defaults. */
enum {
    LOOM_HTTP_LIMIT = 100,           /* connections in all */
    LOOM_HTTP_LIMIT_PER_HOST = 100,  /* per origin: as many as the total (aiohttp's default) */
    LOOM_HTTP_MAX_REDIRECTS = 10,    /* redirects followed */
    LOOM_HTTP_KEEPALIVE_SEC = 15,    /* idle expiry of a pooled connection */
    LOOM_HTTP_TOTAL_SEC = 300,       /* total timeout (aiohttp's 5 minutes) */
    LOOM_HTTP_SOCK_CONNECT_SEC = 30, /* sock_connect timeout (aiohttp's) */
    LOOM_HTTP_ERRLEN = 256,          /* a comfortable message buffer */
};
#define LOOM_HTTP_MAX_DECODED ((uint64_t)64 << 20) /* decoded (inflated) body cap */
#define LOOM_HTTP_USER_AGENT "loom/0.1"

/* aiohttp's ClientTimeout. In nanoseconds; -1: no limit; 0 in a request's
 * options: take the session's value. */
struct loom_http_timeout {
    int64_t total;        /* the whole request: redirects, connecting, sending, body reads */
    int64_t connect;      /* getting a connection, waiting for a pool slot included */
    int64_t sock_connect; /* DNS + TCP connect + TLS handshake of a new connection */
    int64_t sock_read;    /* each wait for bytes from (or room to send to) the server */
};

/* A request header field (C strings; CR, LF and NUL are refused). */
struct loom_http_field {
    /* the field name ("Authorization") */
    const char *name;
    /* its value */
    const char *value;
};

/* Produces a streamed request body: write up to cap bytes into buf and return
 * the count, 0 at the end, or a negative error (which fails the request). May
 * suspend. */
typedef ssize_t (*loom_http_body_cb)(void *arg, void *buf, size_t cap);

/* Session settings: zero-initialise and set what you need (0 = default). */
struct loom_http_session_options {
    size_t limit;          /* total connections (LOOM_HTTP_LIMIT) */
    size_t limit_per_host; /* per origin (LOOM_HTTP_LIMIT_PER_HOST) */
    int64_t keepalive_ns;  /* idle connections close after this (15 s); < 0: never kept */
    struct loom_http_timeout
        timeout;             /* 0 fields: total 300 s, sock_connect 30 s, the others none */
    int max_redirects;       /* 0: 10; < 0: never follow redirects */
    uint64_t max_decoded;    /* cap on a decoded (inflated) body (64 MiB) */
    bool no_decompress;      /* do not send Accept-Encoding nor decode */
    const char *user_agent;  /* NULL: "loom/0.1"; "": no User-Agent */
    const char *ca_file;     /* TLS trust anchors added to the system store */
    const char *ca_dir;      /* hashed CA directory */
    bool insecure_no_verify; /* TLS without any check (tests only) */
    const struct loom_http_limits *limits; /* message limits; NULL: LOOM_HTTP_LIMITS_DEFAULT */
};

/* Per-request settings: zero-initialise; NULL options mean a plain GET. */
struct loom_http_request_options {
    const char *method;                    /* NULL: "GET"; at most 31 bytes */
    const struct loom_http_field *headers; /* extra fields; they replace the defaults of the
                                        same name (Host, User-Agent, Accept, Accept-Encoding,
                                        Authorization); Content-Length and Transfer-Encoding
                                        are ignored: the framing is the client's */
    /* fields in headers */
    size_t header_count;
    const void *body; /* request body bytes (copied as sent), or NULL */
    /* bytes in body */
    size_t body_len;
    loom_http_body_cb body_cb; /* or a streamed body (not replayable: no stale retry,
                                        a 307/308 is returned instead of followed) */
    /* passed to body_cb */
    void *body_arg;
    int64_t body_cb_length;           /* its exact length, or -1: sent chunked */
    struct loom_http_timeout timeout; /* 0 fields: the session's */
    int max_redirects;                /* 0: the session's; < 0: do not follow */
};

struct loom_http_session;
struct loom_http_response;
struct loom_http_upload;

/* --- session --- */

/* Make a session on loop (opts may be NULL). *out is owned:
 * loom_http_session_free(). Returns 0, -EINVAL, -ENOMEM. Never suspends. */
int loom_http_session_new(struct loom_loop *loop, const struct loom_http_session_options *opts,
                          struct loom_http_session **out);

/* Close every idle connection and release the session. Responses still open
 * stay readable and close their connection when they are closed; requests
 * waiting for a pool slot fail with -ESHUTDOWN. The memory goes with the last
 * of them. Never suspends. NULL is ignored. */
void loom_http_session_free(struct loom_http_session *s);

/* Connections open now (idle + in use) in all, and idle ones. */
size_t loom_http_session_open_count(const struct loom_http_session *s);
size_t loom_http_session_idle_count(const struct loom_http_session *s);

/* --- requests --- */

/* Send a request to url and read the response head, following redirects.
 * On success *out is an owned response (loom_http_response_close()); its body
 * is then read with the calls below. 1xx interim responses are skipped.
 * Credentials in the URL ("http://user:pass@host/") are sent as Basic auth;
 * neither they nor Authorization, Proxy-Authorization and Cookie fields in
 * o->headers are sent after a redirect to another origin (https to http on
 * the same host included: a downgrade is followed, without them).
 * Returns 0 or a negative code (see above), with a message in err (may be
 * NULL) saying why. Suspends. */
int loom_http_request(struct loom_http_session *s, const char *url,
                      const struct loom_http_request_options *o, struct loom_http_response **out,
                      char *err, size_t errlen);

/* GET url. Same as loom_http_request() with NULL options. Suspends. */
int loom_http_get(struct loom_http_session *s, const char *url, struct loom_http_response **out,
                  char *err, size_t errlen);

/* A request whose body the caller writes piece by piece (a writer, where
 * body_cb is a pull): connect and send the head now, with Content-Length
 * length, or chunked when length is -1 (o->body and o->body_cb are ignored).
 * The final response is not followed if it is a redirect. *out is owned: end
 * it with loom_http_upload_finish() or loom_http_upload_abort(). Returns 0
 * or a negative code, err saying why. Suspends. */
int loom_http_upload_start(struct loom_http_session *s, const char *url,
                           const struct loom_http_request_options *o, int64_t length,
                           struct loom_http_upload **out, char *err, size_t errlen);

/* Send len bytes of the body (waits while the connection cannot take more,
 * within the request's timeouts). Returns 0, -EINVAL (over the announced
 * length), -ETIMEDOUT, -ECANCELED, -EPIPE...; after a failure every call
 * repeats it. Suspends. */
int loom_http_upload_write(struct loom_http_upload *u, const void *buf, size_t len);

/* End the body and read the response head: *out as from loom_http_request().
 * u is freed whatever the result. Returns 0 or a negative code (-EINVAL: the
 * body fell short of its announced length). When the writes failed with a
 * reset, an answer the server sent before it (a 413) is still returned.
 * Suspends. */
int loom_http_upload_finish(struct loom_http_upload *u, struct loom_http_response **out, char *err,
                            size_t errlen);

/* Give up: the connection is closed and u freed. Never suspends. NULL is ignored. */
void loom_http_upload_abort(struct loom_http_upload *u);

/* requests.get for threads: runs its own loop and session on the calling
 * thread (which must not be running a loop), GETs url with redirects, reads
 * the whole (decoded) body into *body (malloc'd, NUL-terminated, free();
 * *body_len may be NULL) up to max_body bytes (0: 64 MiB), sets *status.
 * opts may be NULL. Returns 0 or a negative code as loom_http_request(),
 * the message in err. Blocks the thread. */
int loom_http_get_blocking(const char *url, const struct loom_http_session_options *opts,
                           uint64_t max_body, int *status, char **body, size_t *body_len, char *err,
                           size_t errlen);

/* --- response --- */

/* Read up to cap decoded body bytes. Returns the count (> 0), 0 at the end of
 * the body (the connection is then back in the pool), or a negative code (the
 * connection is then closed; loom_http_response_error() says why). Bounded by
 * the request's sock_read and total timeouts. Suspends. */
ssize_t loom_http_response_read(struct loom_http_response *r, void *buf, size_t cap);

/* Read one line of the decoded body, up to and including '\n' (the last line
 * may lack it), NUL-terminated into buf; at most cap - 1 bytes, else
 * LOOM_ELIMIT (nothing consumed). Returns the length, 0 at the end. Suspends. */
ssize_t loom_http_response_readline(struct loom_http_response *r, char *buf, size_t cap);

/* Read the whole (rest of the) decoded body into *data (malloc'd,
 * NUL-terminated, free()), at most max bytes (0: 64 MiB) else LOOM_ELIMIT.
 * Returns the length or a negative code. Suspends. */
ssize_t loom_http_response_read_all(struct loom_http_response *r, char **data, uint64_t max);

/* Release the response: its connection goes back to the pool if the body was
 * read to the end and the connection may be kept, else it is closed. Never
 * suspends. NULL is ignored. */
void loom_http_response_close(struct loom_http_response *r);

/* Status code, reason phrase (NUL-terminated, valid while r is open) and HTTP minor version. */
int loom_http_response_status(const struct loom_http_response *r);
const char *loom_http_response_reason(const struct loom_http_response *r);
int loom_http_response_version(const struct loom_http_response *r);

/* The value of the nth (0-based) header field named name (any case), or NULL.
 * Repeated fields are kept in order. Valid while r is open. */
const char *loom_http_response_header(const struct loom_http_response *r, const char *name,
                                      size_t nth);
/* Number of header fields, and field i (name and value, valid while r is open). */
size_t loom_http_response_header_count(const struct loom_http_response *r);
int loom_http_response_header_at(const struct loom_http_response *r, size_t i, const char **name,
                                 const char **value);

/* A trailer field of a chunked body (available once the body was read to the end), or NULL. */
const char *loom_http_response_trailer(const struct loom_http_response *r, const char *name,
                                       size_t nth);

/* The body's length from Content-Length (-1: unknown or chunked; the length
 * on the wire, before decoding). */
int64_t loom_http_response_content_length(const struct loom_http_response *r);

/* The charset parameter of Content-Type, lowercased, unquoted ("utf-8"), or
 * NULL when there is none. Valid while r is open. */
const char *loom_http_response_charset(const struct loom_http_response *r);

/* The final URL (after redirects), NUL-terminated, valid while r is open. */
const char *loom_http_response_url(const struct loom_http_response *r);

/* The redirects that led here: how many, and the ith (status and the URL that
 * answered it, oldest first; url valid while r is open). */
size_t loom_http_response_history_count(const struct loom_http_response *r);
int loom_http_response_history(const struct loom_http_response *r, size_t i, int *status,
                               const char **url);

/* Why the last body read failed ("" if none). Valid while r is open. */
const char *loom_http_response_error(const struct loom_http_response *r);

/* True if the body ended before its end: the connection closed early (the
 * read failed with LOOM_EHTTP), the compressed stream stopped short, or a body
 * delimited by the end of a TLS connection ended without close_notify (the
 * read ended normally). */
bool loom_http_response_truncated(const struct loom_http_response *r);

/* True if the response came over a connection reused from the pool. */
bool loom_http_response_reused(const struct loom_http_response *r);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
