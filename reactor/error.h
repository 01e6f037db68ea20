/* error.h - loom's error codes: negative errno values plus loom's own codes.
 *
 * Every loom call that can fail returns 0 (or a non-negative count) on success
 * and a negative code on failure: -errno (-ETIMEDOUT, -ECANCELED, ...) or one
 * of the LOOM_E* codes below, which sit under the errno range. */
#ifndef LOOM_REACTOR_ERROR_H
#define LOOM_REACTOR_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* X(name, value, message) - loom's own codes. Add new ones here only: every list
 * below is known to loom_strerror() and loom_errname(). */
#define LOOM_ERROR_CODES(X)                                                                        \
    X(LOOM_EOF, -4001, "end of stream")                                                            \
    X(LOOM_EHTTP, -4002, "HTTP protocol error")                                                    \
    X(LOOM_EPG, -4003, "PostgreSQL error")                                                         \
    X(LOOM_ETLS, -4004, "TLS error")                                                               \
    X(LOOM_EWS, -4005, "WebSocket protocol error")                                                 \
    X(LOOM_EDNS, -4006, "name resolution failed")                                                  \
    X(LOOM_ELIMIT, -4007, "size limit exceeded")                                                   \
    X(LOOM_EDEADLOCK, -4008, "loop has nothing left that could wake the waiting task")             \
    X(LOOM_ECHILD, -4009, "worker process died")

/* URL parse errors (net/url.h): X(name, value, message). */
#define LOOM_URL_ERRORS(X)                                                                         \
    X(LOOM_URL_ENOSCHEME, -4101, "URL is not absolute (no scheme)")                                \
    X(LOOM_URL_ESCHEME, -4102, "invalid URL scheme")                                               \
    X(LOOM_URL_ECTRL, -4103, "control character in URL")                                           \
    X(LOOM_URL_EHOST, -4104, "invalid host in URL")                                                \
    X(LOOM_URL_EEMPTYHOST, -4105, "empty host in an http(s)/ws(s) URL")                            \
    X(LOOM_URL_EIDNA, -4106, "non-ASCII host name (IDNA is not supported)")                        \
    X(LOOM_URL_EPORT, -4107, "invalid port in URL (not digits, or over 65535)")                    \
    X(LOOM_URL_EPERCENT, -4108, "malformed percent-escape in URL")                                 \
    X(LOOM_URL_ETOOLONG, -4109, "URL longer than LOOM_URL_MAX")

/* X(name, value, status a server answers, message) */
#define LOOM_HTTP_PARSE_ERRORS(X)                                                                  \
    X(LOOM_HTTP_EMALFORMED, -4201, 400, "malformed HTTP message")                                  \
    X(LOOM_HTTP_EMETHOD, -4202, 400, "invalid method")                                             \
    X(LOOM_HTTP_ETARGET, -4203, 400, "invalid request-target")                                     \
    X(LOOM_HTTP_EVERSION, -4204, 400, "malformed HTTP version")                                    \
    X(LOOM_HTTP_EVERSION_UNSUPPORTED, -4205, 505, "unsupported HTTP version")                      \
    X(LOOM_HTTP_ESTATUS, -4206, 400, "malformed status line")                                      \
    X(LOOM_HTTP_ENUL, -4207, 400, "NUL byte in message head")                                      \
    X(LOOM_HTTP_EBARE_CR, -4208, 400, "CR not followed by LF")                                     \
    X(LOOM_HTTP_EOBS_FOLD, -4209, 400, "obsolete line folding (line starts with whitespace)")      \
    X(LOOM_HTTP_EWS_BEFORE_COLON, -4210, 400, "whitespace between field name and colon")           \
    X(LOOM_HTTP_EHEADER_NAME, -4211, 400, "invalid field name")                                    \
    X(LOOM_HTTP_EHEADER_VALUE, -4212, 400, "invalid character in field value")                     \
    X(LOOM_HTTP_ELINE_TOO_LONG, -4213, 414, "request/status line over the limit")                  \
    X(LOOM_HTTP_EHEADERS_TOO_LARGE, -4214, 431, "header section over the byte limit")              \
    X(LOOM_HTTP_ETOO_MANY_HEADERS, -4215, 431, "more header fields than the limit")                \
    X(LOOM_HTTP_ECONTENT_LENGTH, -4216, 400, "invalid Content-Length")                             \
    X(LOOM_HTTP_ECONFLICTING_LENGTH, -4217, 400, "differing Content-Length values")                \
    X(LOOM_HTTP_ESMUGGLING, -4218, 400, "request with both Transfer-Encoding and Content-Length")  \
    X(LOOM_HTTP_ETRANSFER_ENCODING, -4219, 501, "unsupported Transfer-Encoding")                   \
    X(LOOM_HTTP_ECHUNKED_NOT_LAST, -4220, 400, "Transfer-Encoding not ending in one chunked")      \
    X(LOOM_HTTP_EHOST, -4221, 400, "HTTP/1.1 request without exactly one Host")                    \
    X(LOOM_HTTP_ECHUNK_SIZE, -4222, 400, "invalid or overflowing chunk size")                      \
    X(LOOM_HTTP_ECHUNK_LINE_TOO_LONG, -4223, 400, "chunk-size line (extensions) over the limit")   \
    X(LOOM_HTTP_ECHUNK, -4224, 400, "malformed chunked body")                                      \
    X(LOOM_HTTP_ETRAILERS_TOO_LARGE, -4225, 431, "trailer section over the limit")                 \
    X(LOOM_HTTP_EBODY_TOO_LARGE, -4226, 413, "body over the size limit")                           \
    X(LOOM_HTTP_ETE_HTTP10, -4227, 400, "Transfer-Encoding in an HTTP/1.0 request")

/* loom's own error codes (below the errno range); loom_strerror() names them. */
enum loom_error {
#define LOOM__ENUM(name, value, msg) name = value,
    LOOM_ERROR_CODES(LOOM__ENUM)
#undef LOOM__ENUM
};

/* A human-readable message for a negative error code; never NULL, static storage. */
const char *loom_strerror(int err);

/* The symbolic name of a negative error code ("ECANCELED", "LOOM_EOF"); never NULL. */
const char *loom_errname(int err);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
