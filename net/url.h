/* url.h - URLs per RFC 3986: parse, resolve a reference, serialise, and the
 * pieces an HTTP client needs (origin key, request-target, Host header value).
 *
 * A parsed URL owns one heap buffer holding its components as NUL-terminated
 * strings, already normalised: scheme and host lowercased, bytes that may not
 * appear in a URI (non-ASCII, space, '"', '<', '>', '`', '{', '}') percent-encoded
 * ("%20", upper-case hex); existing %XX escapes are kept as written. Control
 * characters (0x00-0x1F, 0x7F) anywhere are rejected. Hosts are ASCII only:
 * IDNA is not implemented, a non-ASCII host fails with LOOM_URL_EIDNA.
 *
 * Errors are -ENOMEM, -ENOSPC (output buffer too small) or one of the
 * LOOM_URL_E* codes below (loom_url_strerror() names them). */
#ifndef LOOM_NET_URL_H
#define LOOM_NET_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loom/reactor/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* X(name, value, message): URL errors, below loom's errno-range codes. */
/* LOOM_URL_ERRORS(X) lives in reactor/error.h with every loom error code. */

/* URL parse errors (LOOM_URL_ERRORS); loom_strerror() names them. */
enum loom_url_error {
#define LOOM__URL_ENUM(name, value, msg) name = value,
    LOOM_URL_ERRORS(LOOM__URL_ENUM)
#undef LOOM__URL_ENUM
};

enum {
    LOOM_URL_MAX = 64 * 1024, /* longest URL (input) accepted */
};

/* A parsed absolute URL. Every string is NUL-terminated and points into _buf. */
struct loom_url {
    char *scheme;       /* lowercased, e.g. "https"; never NULL */
    char *userinfo;     /* "user:pass" before '@', or NULL when absent */
    char *host;         /* lowercased; IPv6 literal without brackets; NULL: no authority */
    char *path;         /* as given (dot segments removed); "" when empty, never NULL */
    char *query;        /* after '?', or NULL when there is no '?' */
    char *fragment;     /* after '#', or NULL when there is no '#' */
    uint16_t port;      /* explicit port, else the scheme's default, else 0 */
    bool port_explicit; /* the URL spelled a port (":8080") */
    bool host_ipv6;     /* host was a bracketed IP literal ("[::1]") */
    char *_buf;         /* owns every string above */
};

/* Parse the absolute URL s[0..len) into *u (len may be (size_t)-1 for a C string).
 * Returns 0, or a LOOM_URL_E* code / -ENOMEM, leaving *u empty (close is then a
 * no-op but harmless). On success the caller owns *u: release with loom_url_close(). */
int loom_url_parse(struct loom_url *u, const char *s, size_t len);

/* Resolve the reference ref[0..len) against base per RFC 3986 §5.2 (relative path,
 * "../" and "./" removal, "//host/x", "?q", "#f", or absolute) into *out, which
 * the caller then owns. Returns 0 or a negative code as loom_url_parse(). */
int loom_url_resolve(struct loom_url *out, const struct loom_url *base, const char *ref,
                     size_t len);

/* Release what loom_url_parse()/resolve() allocated; *u is zeroed. */
void loom_url_close(struct loom_url *u);

/* Serialise u as a URL string into buf (NUL-terminated). The port appears when it
 * was explicit and differs from the scheme's default. Returns the length (without
 * the NUL), or -ENOSPC when cap is too small. */
ssize_t loom_url_format(const struct loom_url *u, char *buf, size_t cap);

/* The origin key "scheme://host:port" (port always present, IPv6 in brackets),
 * for connection pools. Returns the length or -ENOSPC. */
ssize_t loom_url_origin(const struct loom_url *u, char *buf, size_t cap);

/* The request-target for a request line: path + "?" + query ("/" when the path is
 * empty; never the fragment). Returns the length or -ENOSPC. */
ssize_t loom_url_target(const struct loom_url *u, char *buf, size_t cap);

/* The Host header value: host, ":port" only when not the scheme's default, IPv6
 * in brackets. Returns the length or -ENOSPC. */
ssize_t loom_url_host_header(const struct loom_url *u, char *buf, size_t cap);

/* The default port of a scheme (http/ws 80, https/wss 443), 0 when unknown. */
uint16_t loom_url_default_port(const char *scheme);

/* True for the schemes carried over TLS (https, wss). */
bool loom_url_is_tls(const struct loom_url *u);

/* Message for a LOOM_URL_E* code; other codes go to loom_strerror(). Never NULL. */
const char *loom_url_strerror(int err);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
