/* http_server.h - an HTTP/1.1 server: a task per connection on loom_server,
 * routes with path parameters, fixed, streamed and file responses.
 *
 * Each connection runs in its own task (so workers, graceful shutdown and the
 * connection limit come from loom_server). Requests are parsed with the one
 * incremental parser (net/http_parse.h) under limits, answered in order
 * (pipelining), and the connection is kept alive unless either side says
 * otherwise. What a peer can make the server hold or wait for is bounded:
 *
 *   - the request head: header_timeout_ns for the whole head from its first
 *     byte (slowloris), the parser's limits (400/414/431 on excess);
 *   - the body: max_body bytes (413), body_timeout_ns per read, and on
 *     average at least min_body_rate bytes/s once body_timeout_ns has passed
 *     (a byte every few seconds holds no connection for ever: 408); a body the
 *     handler left unread is read away within body_timeout_ns in all, or the
 *     connection closes;
 *   - idle keep-alive connections: keepalive_timeout_ns; and at the
 *     connection limit (net.max_connections) they make room: a new client is
 *     accepted and the connection idle longest between requests is closed
 *     (a clean close; clients retry such a request). A connection that has
 *     received part of a request, or is answering one, a WebSocket, or a
 *     new one waiting for its first request is never closed this way;
 *   - responses: every write applies backpressure (the handler waits while
 *     more than the stream's high watermark is queued) within write_timeout_ns,
 *     so a client that never reads a large response cannot grow server memory:
 *     it is disconnected when the timeout passes.
 *
 * Framing follows RFC 9112: conflicting Content-Length, Transfer-Encoding with
 * Content-Length, an unknown transfer coding, NUL or bare CR, and a missing
 * Host on HTTP/1.1 are answered with an error status and the connection is
 * closed (no request smuggling). HEAD gets the headers GET would get.
 *
 * A handler gets the request and a response to fill, and returns 0 or a
 * negative error. If it returns before sending anything, the server answers
 * 500 (an error) or 204 (0). If it started a response, the server ends it. */
#ifndef LOOM_NET_HTTP_SERVER_H
#define LOOM_NET_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "loom/net/http_parse.h"
#include "loom/net/server.h"
#include "loom/net/stream.h"
#include "loom/reactor/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

struct loom_http_server;
struct loom_http_req;
struct loom_http_reply;
struct loom_http_router;
struct loom_tls_context;
struct json_t; /* jansson's json_t */
struct loom_ws;
struct loom_ws_options;

/* A request handler (asyncio/aiohttp style: runs in the connection's task and
 * may suspend). Returns 0 or a negative error (logged; 500 if nothing sent). */
typedef int (*loom_http_handler)(struct loom_http_req *req, struct loom_http_reply *res, void *arg);

/* --- routing --- */

/* An empty route table. */
int loom_http_router_new(struct loom_http_router **out);
/* Free the table (once no server uses it). */
void loom_http_router_free(struct loom_http_router *r);

/* Route method (e.g. "GET"; "*" for any) and pattern ("/products/{id}": each
 * {name} matches one non-empty path segment, read with
 * loom_http_req_param; a trailing "/{name...}" matches the rest of the
 * path). Routes are tried in the order added. A GET route also answers HEAD.
 * Unmatched paths get 404; a path matched by other methods only gets 405 with
 * Allow. Returns 0, -EINVAL (bad pattern), -ENOMEM. */
int loom_http_route(struct loom_http_router *r, const char *method, const char *pattern,
                    loom_http_handler fn, void *arg);

/* --- synchronous handlers (the WSGI style) --- */

/* What a synchronous handler gets: NUL-terminated copies, safe to use on any
 * thread. headers[i].name/value alternate as in CGI/WSGI's environ. */
struct loom_http_sync_request {
    /* "GET", the decoded path, the query ("" if none), the peer's address,
     * "HTTP/1.1" */
    const char *method, *path, *query, *remote, *server_protocol;
    /* header fields, and their names and values, in the order received */
    size_t nheaders;
    const char *const *header_names;
    const char *const *header_values;
    const char *body; /* NUL-terminated too; body_len bytes */
    /* bytes in body */
    size_t body_len;
};

/* What it fills: status, content type and body (malloc'd, owned by the server). */
struct loom_http_sync_response {
    int status;             /* 0: 200 */
    char content_type[128]; /* "": text/plain; charset=utf-8 */
    char *body;             /* malloc'd; the server frees it */
    /* bytes in body */
    size_t body_len;
};

/* A blocking handler: runs on the loop's executor thread pool, never on the
 * loop thread, so it may block (a blocking DB call, a file read). */
typedef int (*loom_http_sync_handler)(const struct loom_http_sync_request *req,
                                      struct loom_http_sync_response *res, void *arg);

/* Route a blocking handler (the whole body, up to max_body, is read first). */
int loom_http_route_sync(struct loom_http_router *r, const char *method, const char *pattern,
                         loom_http_sync_handler fn, void *arg);

/* --- the server --- */

/* Options for loom_http_server_start() and loom_http_server_run(). */
struct loom_http_server_options {
    struct loom_server_options net; /* host, port, max_connections, grace, signals... */
    struct loom_http_limits limits; /* zero: LOOM_HTTP_LIMITS_DEFAULT */
    uint64_t max_body;              /* request body limit (0: 1 MiB) -> 413 */
    int64_t header_timeout_ns;      /* whole request head (0: 10 s) -> 408 + close */
    int64_t body_timeout_ns;        /* per body read; all of an unread rest (0: 30 s) */
    int64_t min_body_rate;          /* bytes/s a body must average after its first
                                       body_timeout_ns, else 408 (0: 512; < 0: none) */
    int64_t keepalive_timeout_ns;   /* idle between requests (0: 15 s) */
    int64_t write_timeout_ns;       /* a response write waiting for the client (0: 30 s) */
    size_t max_requests_per_conn;   /* 0: unlimited */
    struct loom_tls_context *tls;   /* serve HTTPS (borrowed; outlives the server) */
    FILE *access_log;               /* NULL: no access log; else one line per request */
    bool request_ids;               /* add X-Request-Id (a per-server counter) */
    const char *server_header;      /* "Server:" value; NULL: "loom" (at most 256 bytes, no
                                       control bytes, else the start fails with -EINVAL) */
    struct loom_loop_options loop;  /* loom_http_server_run: each worker's loop */
    /* Called on the loop before the first accept (e.g. open a database pool) and
     * after shutdown (close it). A start hook that fails stops the start. */
    int (*on_start)(struct loom_http_server *srv, void *arg);
    void (*on_stop)(struct loom_http_server *srv, void *arg);
    /* passed to on_start and on_stop */
    void *hook_arg;
};

/* Start serving router on loop (the router is borrowed: keep it until the
 * server is freed). Suspends only to run on_start and resolve the host.
 * Returns 0 or the error of the listen or of on_start. */
int loom_http_server_start(struct loom_loop *loop, const struct loom_http_server_options *opt,
                           struct loom_http_router *router, struct loom_http_server **out);

/* Serve until SIGINT/SIGTERM (if opt.net.handle_signals) or loom_http_server_stop,
 * then shut down gracefully and run on_stop. Suspends. */
int loom_http_server_serve_forever(struct loom_http_server *srv);
/* Ask serve_forever to shut down (as loom_server_stop). */
void loom_http_server_stop(struct loom_http_server *srv);
/* Shut down now (grace as loom_server_shutdown), run on_stop. Suspends. */
int loom_http_server_shutdown(struct loom_http_server *srv, int64_t grace_ns);
/* Free a server once it was shut down. NULL is ignored. */
void loom_http_server_free(struct loom_http_server *srv);

/* The bound port, the underlying loom_server, and requests served so far. */
int loom_http_server_port(const struct loom_http_server *srv);
struct loom_server *loom_http_server_net(const struct loom_http_server *srv);
uint64_t loom_http_server_requests(const struct loom_http_server *srv);

/* Serve on `workers` threads with SO_REUSEPORT (loom_server_run's model), each
 * with its own loop; on_start/on_stop run once per worker. Blocks until a
 * signal (opt.net.handle_signals) ends it. */
int loom_http_server_run(const struct loom_http_server_options *opt,
                         struct loom_http_router *router, unsigned workers);

/* --- the request --- */

/* The method as received ("GET"). */
const char *loom_http_req_method(const struct loom_http_req *req);
/* The path, percent-decoded ("%2F" stays undecoded so segments keep their meaning). */
const char *loom_http_req_path(const struct loom_http_req *req);
const char *loom_http_req_query(const struct loom_http_req *req);  /* "" if none */
const char *loom_http_req_target(const struct loom_http_req *req); /* as received */
/* The request's HTTP minor version: 0 (HTTP/1.0) or 1. */
int loom_http_req_minor_version(const struct loom_http_req *req);
/* A route parameter ({id}), NUL-terminated, or NULL. */
const char *loom_http_req_param(const struct loom_http_req *req, const char *name);
/* A query parameter, percent- and '+'-decoded, or NULL. Valid until the request ends. */
const char *loom_http_req_query_param(struct loom_http_req *req, const char *name);
/* The nth header field named name (any case), NUL-terminated, or NULL. */
const char *loom_http_req_header(const struct loom_http_req *req, const char *name, size_t nth);
/* How many header fields the request has. */
size_t loom_http_req_header_count(const struct loom_http_req *req);
/* The ith field (0-based) in arrival order; 0 or -ERANGE. */
int loom_http_req_header_at(const struct loom_http_req *req, size_t i, const char **name,
                            const char **value);
/* "127.0.0.1:50312" */
const char *loom_http_req_remote(const struct loom_http_req *req);
/* The request's number on its server, from 1 (the X-Request-Id value). */
uint64_t loom_http_req_id(const struct loom_http_req *req);
/* The connection's stream (for an upgrade to WebSocket: see net/ws.h). */
struct loom_stream *loom_http_req_stream(struct loom_http_req *req);
/* Whether this is a WebSocket upgrade request (Upgrade: websocket + Connection: upgrade). */
bool loom_http_req_is_websocket(const struct loom_http_req *req);

/* Read some of the body: > 0 bytes, 0 at its end, or -errno / LOOM_EHTTP /
 * LOOM_ELIMIT (over max_body: the server answers 413 if nothing was sent).
 * Sends "100 Continue" first if the client asked for it. Suspends. */
ssize_t loom_http_req_read(struct loom_http_req *req, void *buf, size_t len);
/* The whole body (at most max_body), NUL-terminated; *data stays valid until
 * the request ends. Returns its length or an error as above. */
ssize_t loom_http_req_body(struct loom_http_req *req, const char **data);
/* The body parsed as JSON (caller json_decref()s it): 0, LOOM_ELIMIT, -EINVAL
 * (not JSON, or arrays and objects nested deeper than
 * LOOM_HTTP_JSON_MAX_DEPTH: the parser recurses on the handler's stack). */
#define LOOM_HTTP_JSON_MAX_DEPTH 128
int loom_http_req_json(struct loom_http_req *req, struct json_t **out);

/* --- the response --- */

/* Add a header to send (copied). -EINVAL for CR/LF/NUL or a bad name, -ENOSPC
 * past the head size limit, -EALREADY once the head was sent. */
int loom_http_reply_header(struct loom_http_reply *res, const char *name, const char *value);
/* Send a whole response: status, Content-Type (NULL: none), body. */
int loom_http_reply_send(struct loom_http_reply *res, int status, const char *content_type,
                         const void *body, size_t len);
/* Same with a NUL-terminated text and "text/plain; charset=utf-8". */
int loom_http_reply_text(struct loom_http_reply *res, int status, const char *text);
/* Serialise json compactly and send it as application/json (json is not freed). */
int loom_http_reply_json(struct loom_http_reply *res, int status, const struct json_t *json);
/* An error response: status with a short text body (the reason phrase). */
int loom_http_reply_error(struct loom_http_reply *res, int status);

/* Streaming (the ASGI style): send the head (status + headers so far; chunked
 * unless content_length >= 0), then any number of writes, then end. A status
 * outside 200-999 (101 aside) is -EINVAL here and in every call that sends a
 * head. */
int loom_http_reply_start(struct loom_http_reply *res, int status, int64_t content_length);
int loom_http_reply_write(struct loom_http_reply *res, const void *data, size_t len);
int loom_http_reply_end(struct loom_http_reply *res);

/* A file: Content-Length, Last-Modified, ETag, 304 for If-None-Match /
 * If-Modified-Since, 206 for one Range (416 if unsatisfiable), sendfile(2) on
 * plain sockets. content_type NULL: application/octet-stream. Takes no
 * ownership of fd. Returns 0, a write error, or before anything is sent
 * -EISDIR (fd is a directory) or -EINVAL (not a regular file). */
int loom_http_reply_file(struct loom_http_reply *res, struct loom_http_req *req, int fd,
                         const char *content_type);

/* After a 101 the connection is no longer HTTP: the handler keeps the stream
 * (WebSocket) and the server closes it once the handler returns. */
void loom_http_reply_upgraded(struct loom_http_reply *res);

/* Accept a WebSocket upgrade (RFC 6455 section 4.2): check the handshake,
 * answer 101 and attach a connection to the request's stream, which stays the
 * server's (it is closed after the handler returns: loom_ws_close still runs
 * the close handshake). An invalid handshake is answered here (400, or 426
 * with Sec-WebSocket-Version: 13) and LOOM_EWS returned. opt may be NULL. */
int loom_http_ws_accept(struct loom_http_req *req, struct loom_http_reply *rep,
                        const struct loom_ws_options *opt, struct loom_ws **out);

/* Ask for the connection to close after this response. */
void loom_http_reply_close(struct loom_http_reply *res);

/* Whether the response head was sent, and the status it carried. */
bool loom_http_reply_started(const struct loom_http_reply *res);
int loom_http_reply_status(const struct loom_http_reply *res);

/* A MIME type for a file name by its extension ("application/octet-stream"). */
const char *loom_http_mime_type(const char *name);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
