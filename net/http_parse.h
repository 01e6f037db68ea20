/* http_parse.h - the one HTTP/1.1 message parser (RFC 9112), both directions.
 *
 * Incremental and zero-copy: a parse call looks at the bytes received so far
 * and either returns how many bytes the complete message head took, or
 * LOOM_HTTP_INCOMPLETE (call again with more bytes appended; pass the previous
 * length as last_len so the search for the end of the head does not rescan), or
 * a negative LOOM_HTTP_E* error. Results are views (pointer + length) into the
 * caller's buffer, valid while that buffer is; headers go into an array the
 * caller supplies. Nothing here allocates, reads past len, or recurses.
 *
 * Limits (struct loom_http_limits) bound every size a peer controls, and are
 * checked before the head is complete, so a peer that never ends its head gets
 * an error once it passes a limit rather than being buffered forever.
 *
 * On an error a server answers loom_http_error_status(err) (400, 413, 414, 431,
 * 501, 505) and closes the connection. */
#ifndef LOOM_NET_HTTP_PARSE_H
#define LOOM_NET_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loom/reactor/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* LOOM_HTTP_PARSE_ERRORS(X) (name, value, status a server answers, message) lives in
 * reactor/error.h with every loom error code. */

/* What the parser returns: LOOM_HTTP_INCOMPLETE, or an error from
 * LOOM_HTTP_PARSE_ERRORS (with the status a server answers). */
enum loom_http_parse_error {
    /* Not an error: the head (or trailer section) is not complete yet. */
    LOOM_HTTP_INCOMPLETE = 0,
#define LOOM__HTTP_ENUM(name, value, status, msg) name = value,
    LOOM_HTTP_PARSE_ERRORS(LOOM__HTTP_ENUM)
#undef LOOM__HTTP_ENUM
};

/* Every size a peer controls. A NULL limits pointer means the defaults. */
struct loom_http_limits {
    size_t max_start_line;    /* request/status line, CRLF included (8 KiB) */
    size_t max_header_bytes;  /* header section after the start line (32 KiB) */
    size_t max_headers;       /* header fields (100); the array capacity also bounds it */
    size_t max_chunk_line;    /* chunk-size line with extensions (1 KiB) */
    size_t max_trailer_bytes; /* trailer section of a chunked body (8 KiB) */
    uint64_t max_body;        /* Content-Length or decoded chunked bytes (64 MiB) */
};
/* The default limits, as an initialiser. */
#define LOOM_HTTP_LIMITS_DEFAULT                                                                   \
    {                                                                                              \
        8192, 32768, 100, 1024, 8192, (uint64_t)64 << 20                                           \
    }

/* A view into the caller's buffer; not NUL-terminated. */
struct loom_http_str {
    /* the first byte */
    const char *ptr;
    /* bytes from ptr */
    size_t len;
};

/* One header field: name as received (compare case-insensitively), value with
 * leading and trailing whitespace removed. */
struct loom_http_header {
    /* the field name */
    struct loom_http_str name;
    /* its value, trimmed */
    struct loom_http_str value;
};

/* A request head. Set headers/header_cap before parsing; the rest is output. */
struct loom_http_req_head {
    struct loom_http_str method;      /* e.g. "GET" (a token, case-sensitive) */
    struct loom_http_str target;      /* request-target as received */
    int minor_version;                /* HTTP/1.<minor>: 0 or 1 (1.2+ parse as given) */
    struct loom_http_header *headers; /* in: caller's array */
    size_t header_cap;                /* in: its capacity */
    size_t header_count;              /* out: fields parsed */
};

/* A response head. Set headers/header_cap before parsing; the rest is output. */
struct loom_http_resp_head {
    int minor_version;                /* HTTP/1.<minor> */
    int status;                       /* 100..999 */
    struct loom_http_str reason;      /* may be empty */
    struct loom_http_header *headers; /* in: caller's array */
    size_t header_cap;                /* in: its capacity */
    size_t header_count;              /* out: fields parsed */
};

/* How the body of a message is delimited (RFC 9112 §6.3). */
enum loom_http_body {
    LOOM_HTTP_BODY_NONE,        /* no body (HEAD/1xx/204/304 response; request without CL/TE) */
    LOOM_HTTP_BODY_LENGTH,      /* content_length bytes (possibly 0) */
    LOOM_HTTP_BODY_CHUNKED,     /* chunked coding: use struct loom_http_chunked */
    LOOM_HTTP_BODY_UNTIL_CLOSE, /* response read until the server closes */
};

/* What the headers say about framing and the connection. */
struct loom_http_framing {
    /* how the body is delimited */
    enum loom_http_body body;
    uint64_t content_length; /* for LOOM_HTTP_BODY_LENGTH */
    bool keep_alive;         /* the connection may carry another message after this one */
    bool expect_continue;    /* request: "Expect: 100-continue" */
    bool upgrade;            /* Upgrade header and "Connection: upgrade" both present */
    bool upgrade_websocket;  /* ...and Upgrade names websocket */
    bool te_other;           /* response: a transfer coding besides chunked is applied */
};

/* State of a chunked body decoder; fields with a leading _ are private. */
struct loom_http_chunked {
    struct loom_http_header *trailers; /* in (optional): array for trailer fields */
    size_t trailer_cap;                /* in: its capacity (0: trailers are checked, dropped) */
    size_t trailer_count;              /* out: trailer fields parsed, once done */
    uint64_t body_bytes;               /* out: decoded body bytes so far */
    int _state;
    uint64_t _remaining; /* data bytes left in the current chunk */
    size_t _line;        /* bytes of the current chunk-size line seen */
    size_t _scan;        /* trailer bytes already searched for the end */
    int _digits;         /* significant hex digits of the chunk size */
    struct loom_http_limits _lim;
};

/* --- message heads --- */

/* Parse a request head from buf[0..len). last_len: the len of the previous call
 * on the same message (0 the first time). Returns the head's byte count (> 0:
 * the body starts at buf + that), LOOM_HTTP_INCOMPLETE, or a LOOM_HTTP_E* code.
 * Leading empty lines are skipped (RFC 9112 §2.2). */
ssize_t loom_http_parse_request(struct loom_http_req_head *req, const char *buf, size_t len,
                                size_t last_len, const struct loom_http_limits *lim);

/* Parse a response head; same contract as loom_http_parse_request(). A client
 * that gets a 1xx (but 101) parses the next head from after it. */
ssize_t loom_http_parse_response(struct loom_http_resp_head *resp, const char *buf, size_t len,
                                 size_t last_len, const struct loom_http_limits *lim);

/* --- framing (RFC 9112 §6, §9.3) --- */

/* Framing of a parsed request: Content-Length (repeats must be identical), or
 * Transfer-Encoding ending in chunked (only chunked is supported: anything else
 * is LOOM_HTTP_ETRANSFER_ENCODING, 501), both at once is LOOM_HTTP_ESMUGGLING;
 * also checks Host (exactly one on HTTP/1.1, at most one on 1.0: LOOM_HTTP_EHOST).
 * Returns 0 or a LOOM_HTTP_E* code. */
int loom_http_request_framing(const struct loom_http_req_head *req,
                              const struct loom_http_limits *lim, struct loom_http_framing *f);

/* Framing of a parsed response to a request with method[0..method_len) (NULL:
 * GET): no body for HEAD, 1xx, 204, 304 (and 2xx to CONNECT); Transfer-Encoding
 * wins over Content-Length (and the connection then closes); neither means
 * until close. Returns 0 or a LOOM_HTTP_E* code (a client then closes the connection). */
int loom_http_response_framing(const struct loom_http_resp_head *resp, const char *method,
                               size_t method_len, const struct loom_http_limits *lim,
                               struct loom_http_framing *f);

/* Host header check alone (loom_http_request_framing() does it too): at most
 * one (exactly one in 1.1), its value uri-host [":" port] characters only. */
int loom_http_request_check_host(const struct loom_http_req_head *req);

/* --- header helpers --- */

/* The nth (0-based) field named name (NUL-terminated, any case), or NULL. */
const struct loom_http_header *loom_http_header_find(const struct loom_http_header *h, size_t n,
                                                     const char *name, size_t nth);

/* Whether the comma-separated list value[0..len) holds token (any case, OWS
 * around elements ignored), as in Connection or Transfer-Encoding. */
bool loom_http_list_has_token(const char *value, size_t len, const char *token);

/* Whether any field named name holds token in its list value. */
bool loom_http_headers_have_token(const struct loom_http_header *h, size_t n, const char *name,
                                  const char *token);

/* --- chunked bodies (RFC 9112 §7.1) --- */

/* Start decoding a chunked body (lim NULL: defaults). Set c->trailers and
 * c->trailer_cap afterwards to keep trailer fields. */
void loom_http_chunked_init(struct loom_http_chunked *c, const struct loom_http_limits *lim);

/* Decode from buf[0..len): returns the bytes consumed (>= 0) and sets *data to a
 * view of body bytes inside them (possibly empty). Call again with the rest;
 * consuming 0 bytes while not done means "need more data": keep the unconsumed
 * bytes and present them again with more appended (the trailer section is
 * parsed only once it is complete in the buffer; its fields are views into it).
 * Bytes after the end of the body are never consumed. Returns a LOOM_HTTP_E*
 * code on a malformed body or a limit (ECHUNK_SIZE, ECHUNK_LINE_TOO_LONG,
 * ECHUNK, ETRAILERS_TOO_LARGE, EBODY_TOO_LARGE, header errors in trailers). */
ssize_t loom_http_chunked_next(struct loom_http_chunked *c, const char *buf, size_t len,
                               struct loom_http_str *data);

/* Decode buf[0..len) in place: body bytes are moved to buf[0..*out_len), the
 * bytes consumed are returned (the unconsumed rest stays at buf + that, untouched).
 * Same errors and "need more" rule as loom_http_chunked_next(). */
ssize_t loom_http_chunked_decode(struct loom_http_chunked *c, char *buf, size_t len,
                                 size_t *out_len);

/* True once the last chunk and the trailer section have been consumed. */
bool loom_http_chunked_done(const struct loom_http_chunked *c);

/* --- serialising heads (both sides) --- */

/* Format "METHOD target HTTP/1.1\r\n" + headers + "\r\n" into buf. Rejects CR,
 * LF or NUL in any part and non-token names/methods (-EINVAL). Returns the
 * length, or -ENOSPC when it does not fit in cap. */
ssize_t loom_http_format_request(char *buf, size_t cap, const char *method, const char *target,
                                 const struct loom_http_header *h, size_t n);

/* Format "HTTP/1.1 status reason\r\n" + headers + "\r\n" (reason NULL: the
 * standard phrase). Same returns as loom_http_format_request(). */
ssize_t loom_http_format_response(char *buf, size_t cap, int status, const char *reason,
                                  const struct loom_http_header *h, size_t n);

/* --- errors and status codes --- */

/* The status a server answers to a LOOM_HTTP_E* code (400 for anything else). */
int loom_http_error_status(int err);

/* Message for a LOOM_HTTP_E* code; other codes go to loom_strerror(). Never NULL. */
const char *loom_http_parse_strerror(int err);

/* The standard reason phrase of a status code ("Not Found"), "" when unknown. */
const char *loom_http_reason(int status);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
