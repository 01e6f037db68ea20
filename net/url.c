/* url.c - RFC 3986 URL parsing, reference resolution and serialisation (url.h).
 *
 * Parsing splits the input into the five components of RFC 3986 §3 (views),
 * then copies them into one owned buffer, normalising on the way (lowercase
 * scheme and host, dot segments removed, disallowed bytes percent-encoded).
 * Resolution (§5.2.2) picks components from the base and the reference,
 * recomposes them (§5.3) and parses the result, so a resolved URL is
 * normalised exactly like a parsed one. */
#include "net/url.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Components of a URI-reference as views into the input (NULL: absent). */
struct parts {
    const char *scheme, *auth, *path, *query, *frag;
    size_t scheme_len, auth_len, path_len, query_len, frag_len;
};

static bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static bool is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }

/* Index of the first of `stops` in s[0..n), or n. */
static size_t span_until(const char *s, size_t n, const char *stops)
{
    for (size_t i = 0; i < n; i++)
        if (strchr(stops, s[i]) && s[i])
            return i;
    return n;
}

/* Split a URI-reference (RFC 3986 §4.1 / appendix B). Returns 0 or ESCHEME. */
static int split(const char *s, size_t n, struct parts *p)
{
    memset(p, 0, sizeof *p);
    size_t colon = span_until(s, n, ":/?#");
    if (colon < n && s[colon] == ':') {
        bool ok = colon > 0 && is_alpha((unsigned char)s[0]);
        for (size_t i = 1; ok && i < colon; i++)
            ok = is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) || s[i] == '+' ||
                 s[i] == '-' || s[i] == '.';
        if (!ok)
            return LOOM_URL_ESCHEME;
        p->scheme = s;
        p->scheme_len = colon;
        s += colon + 1;
        n -= colon + 1;
    }
    if (n >= 2 && s[0] == '/' && s[1] == '/') {
        p->auth = s + 2;
        p->auth_len = span_until(s + 2, n - 2, "/?#");
        s += 2 + p->auth_len;
        n -= 2 + p->auth_len;
    }
    p->path = s;
    p->path_len = span_until(s, n, "?#");
    s += p->path_len;
    n -= p->path_len;
    if (n > 0 && s[0] == '?') {
        p->query = s + 1;
        p->query_len = span_until(s + 1, n - 1, "#");
        s += 1 + p->query_len;
        n -= 1 + p->query_len;
    }
    if (n > 0 && s[0] == '#') {
        p->frag = s + 1;
        p->frag_len = n - 1;
    }
    return 0;
}

/* RFC 3986 §5.2.4 remove_dot_segments, from in[0..n) into out (>= n bytes).
 * Each step consumes input, so it runs in O(n) plus the segment pops. */
static size_t remove_dots(const char *in, size_t n, char *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        const char *r = in + i;
        size_t rn = n - i;
        if (rn >= 3 && memcmp(r, "../", 3) == 0) {
            i += 3;
        } else if (rn >= 2 && memcmp(r, "./", 2) == 0) {
            i += 2;
        } else if (rn >= 3 && memcmp(r, "/./", 3) == 0) {
            i += 2;
        } else if (rn == 2 && memcmp(r, "/.", 2) == 0) {
            out[o++] = '/';
            i = n;
        } else if ((rn >= 4 && memcmp(r, "/../", 4) == 0) ||
                   (rn == 3 && memcmp(r, "/..", 3) == 0)) {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
            if (rn == 3) {
                out[o++] = '/';
                i = n;
            } else {
                i += 3;
            }
        } else if ((rn == 1 && r[0] == '.') || (rn == 2 && memcmp(r, "..", 2) == 0)) {
            i = n;
        } else {
            size_t k = r[0] == '/' ? 1 : 0;
            while (k < rn && r[k] != '/')
                k++;
            memcpy(out + o, r, k);
            o += k;
            i += k;
        }
    }
    return o;
}

/* Bytes RFC 3986 does not allow anywhere in a URI, encoded on output. */
static bool needs_encoding(unsigned char c)
{
    return c >= 0x80 || (c && strchr(" \"<>\\^`{|}", c));
}

/* Append s[0..n) to b at *o percent-encoding what needs it; existing escapes
 * must be well formed. b has room for 3n bytes more. */
static int encode(char *b, size_t *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%' &&
            (i + 2 >= n || !is_hex((unsigned char)s[i + 1]) || !is_hex((unsigned char)s[i + 2])))
            return LOOM_URL_EPERCENT;
        if (needs_encoding(c)) {
            b[(*o)++] = '%';
            b[(*o)++] = hex[c >> 4];
            b[(*o)++] = hex[c & 15];
        } else {
            b[(*o)++] = (char)c;
        }
    }
    b[(*o)++] = '\0';
    return 0;
}

/* reg-name / IPv4 characters (RFC 3986 §3.2.2), lowercased into b. */
static int copy_host(char *b, size_t *o, const char *s, size_t n, bool v6)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = v6 ? (is_hex(c) || c == ':' || c == '.')
                     : (is_alpha(c) || is_digit(c) || (c && strchr("-._~!$&'()*+,;=%", c)));
        if (c >= 0x80)
            return LOOM_URL_EIDNA;
        if (!ok)
            return LOOM_URL_EHOST;
        if (c == '%' &&
            (i + 2 >= n || !is_hex((unsigned char)s[i + 1]) || !is_hex((unsigned char)s[i + 2])))
            return LOOM_URL_EPERCENT;
        b[(*o)++] = lower((char)c);
    }
    b[(*o)++] = '\0';
    return 0;
}

static int parse_port(const char *s, size_t n, uint16_t *port)
{
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit((unsigned char)s[i]))
            return LOOM_URL_EPORT;
        v = v * 10 + (unsigned long)(s[i] - '0');
        if (v > 65535)
            return LOOM_URL_EPORT;
    }
    *port = (uint16_t)v;
    return 0;
}

/* authority = [ userinfo "@" ] host [ ":" port ]; offsets of the strings in b. */
static int parse_authority(struct loom_url *u, char *b, size_t *o, const struct parts *p,
                           size_t *userinfo, size_t *host)
{
    const char *a = p->auth, *at = NULL;
    size_t n = p->auth_len;
    for (size_t i = 0; i < n; i++)
        if (a[i] == '@')
            at = a + i;
    if (at) {
        *userinfo = *o;
        int rc = encode(b, o, a, (size_t)(at - a));
        if (rc < 0)
            return rc;
        n -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    const char *h = a, *port = NULL;
    size_t hlen;
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (!close || close == a + 1)
            return LOOM_URL_EHOST;
        h = a + 1;
        hlen = (size_t)(close - h);
        u->host_ipv6 = true;
        if (close + 1 < a + n && close[1] != ':')
            return LOOM_URL_EHOST;
        if (close + 1 < a + n)
            port = close + 2;
    } else {
        const char *c = memchr(a, ':', n);
        hlen = c ? (size_t)(c - a) : n;
        port = c ? c + 1 : NULL;
    }
    *host = *o;
    int rc = copy_host(b, o, h, hlen, u->host_ipv6);
    if (rc < 0)
        return rc;
    if (port && port < a + n) {
        rc = parse_port(port, (size_t)(a + n - port), &u->port);
        u->port_explicit = true;
    }
    return rc;
}

uint16_t loom_url_default_port(const char *scheme)
{
    if (!scheme)
        return 0;
    if (strcmp(scheme, "http") == 0 || strcmp(scheme, "ws") == 0)
        return 80;
    if (strcmp(scheme, "https") == 0 || strcmp(scheme, "wss") == 0)
        return 443;
    return 0;
}

static bool needs_host(const char *scheme) { return loom_url_default_port(scheme) != 0; }

/* The owned copy of split parts p: offsets into b, pointers set at the end. */
static int build(struct loom_url *u, const struct parts *p, char *b)
{
    size_t o = 0, userinfo = SIZE_MAX, host = SIZE_MAX, path, query = SIZE_MAX, frag = SIZE_MAX;
    int rc = 0;
    for (size_t i = 0; i < p->scheme_len; i++)
        b[o++] = lower(p->scheme[i]);
    b[o++] = '\0';
    if (p->auth)
        rc = parse_authority(u, b, &o, p, &userinfo, &host);
    if (rc < 0)
        return rc;
    if (needs_host(b) && (host == SIZE_MAX || b[host] == '\0'))
        return LOOM_URL_EEMPTYHOST;
    char *tmp = malloc(p->path_len + 1);
    if (!tmp)
        return -ENOMEM;
    path = o;
    rc = encode(b, &o, tmp, remove_dots(p->path, p->path_len, tmp));
    free(tmp);
    if (rc == 0 && p->query) {
        query = o;
        rc = encode(b, &o, p->query, p->query_len);
    }
    if (rc == 0 && p->frag) {
        frag = o;
        rc = encode(b, &o, p->frag, p->frag_len);
    }
    if (rc < 0)
        return rc;
    u->scheme = b;
    u->userinfo = userinfo == SIZE_MAX ? NULL : b + userinfo;
    u->host = host == SIZE_MAX ? NULL : b + host;
    u->path = b + path;
    u->query = query == SIZE_MAX ? NULL : b + query;
    u->fragment = frag == SIZE_MAX ? NULL : b + frag;
    if (!u->port_explicit)
        u->port = loom_url_default_port(u->scheme);
    return 0;
}

int loom_url_parse(struct loom_url *u, const char *s, size_t len)
{
    struct parts p;
    memset(u, 0, sizeof *u);
    if (len == (size_t)-1)
        len = strnlen(s, (size_t)LOOM_URL_MAX + 1);
    if (len > LOOM_URL_MAX)
        return LOOM_URL_ETOOLONG;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return LOOM_URL_ECTRL;
    int rc = split(s, len, &p);
    if (rc < 0)
        return rc;
    if (!p.scheme)
        return LOOM_URL_ENOSCHEME;
    /* Worst case every byte becomes %XX, plus six NULs. */
    char *b = malloc(3 * len + 8);
    if (!b)
        return -ENOMEM;
    rc = build(u, &p, b);
    if (rc < 0) {
        free(b);
        memset(u, 0, sizeof *u);
        return rc;
    }
    u->_buf = b;
    return 0;
}

void loom_url_close(struct loom_url *u)
{
    free(u->_buf);
    memset(u, 0, sizeof *u);
}

/* ---- output ---- */

struct out {
    char *buf;
    size_t cap, len;
    bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->full || n >= o->cap - o->len) {
        o->full = true;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void puts_(struct out *o, const char *s) { put(o, s, strlen(s)); }

static void put_port(struct out *o, uint16_t port)
{
    char d[8];
    int i = (int)sizeof d;
    do {
        d[--i] = (char)('0' + port % 10);
        port /= 10;
    } while (port);
    d[--i] = ':';
    put(o, d + i, sizeof d - (size_t)i);
}

static void put_host(struct out *o, const struct loom_url *u)
{
    if (u->host_ipv6)
        put(o, "[", 1);
    puts_(o, u->host);
    if (u->host_ipv6)
        put(o, "]", 1);
}

static ssize_t finish(struct out *o) { return o->full ? -ENOSPC : (ssize_t)o->len; }

static struct out out_init(char *buf, size_t cap)
{
    struct out o = {buf, cap, 0, cap == 0};
    if (cap)
        buf[0] = '\0';
    return o;
}

ssize_t loom_url_format(const struct loom_url *u, char *buf, size_t cap)
{
    struct out o = out_init(buf, cap);
    puts_(&o, u->scheme);
    put(&o, ":", 1);
    if (u->host) {
        put(&o, "//", 2);
        if (u->userinfo) {
            puts_(&o, u->userinfo);
            put(&o, "@", 1);
        }
        put_host(&o, u);
        if (u->port_explicit && u->port != loom_url_default_port(u->scheme))
            put_port(&o, u->port);
    }
    /* §5.3 pitfall: a path starting "//" without an authority would read back
     * as one; "/." in front keeps it a path (dot removal takes it off again). */
    if (!u->host && u->path[0] == '/' && u->path[1] == '/')
        put(&o, "/.", 2);
    puts_(&o, u->path);
    if (u->query) {
        put(&o, "?", 1);
        puts_(&o, u->query);
    }
    if (u->fragment) {
        put(&o, "#", 1);
        puts_(&o, u->fragment);
    }
    return finish(&o);
}

ssize_t loom_url_origin(const struct loom_url *u, char *buf, size_t cap)
{
    struct out o = out_init(buf, cap);
    if (!u->host)
        return -EINVAL;
    puts_(&o, u->scheme);
    put(&o, "://", 3);
    put_host(&o, u);
    put_port(&o, u->port);
    return finish(&o);
}

ssize_t loom_url_target(const struct loom_url *u, char *buf, size_t cap)
{
    struct out o = out_init(buf, cap);
    puts_(&o, u->path[0] ? u->path : "/");
    if (u->query) {
        put(&o, "?", 1);
        puts_(&o, u->query);
    }
    return finish(&o);
}

ssize_t loom_url_host_header(const struct loom_url *u, char *buf, size_t cap)
{
    struct out o = out_init(buf, cap);
    if (!u->host)
        return -EINVAL;
    put_host(&o, u);
    if (u->port != loom_url_default_port(u->scheme))
        put_port(&o, u->port);
    return finish(&o);
}

bool loom_url_is_tls(const struct loom_url *u)
{
    return strcmp(u->scheme, "https") == 0 || strcmp(u->scheme, "wss") == 0;
}

/* ---- resolution (RFC 3986 §5.2.2, recomposed per §5.3) ---- */

/* Base path up to and including its last '/', for merging (§5.2.3). */
static size_t base_dir_len(const struct loom_url *base)
{
    const char *slash = strrchr(base->path, '/');
    return slash ? (size_t)(slash - base->path) + 1 : 0;
}

/* Append the base's "//authority". */
static void put_authority(struct out *o, const struct loom_url *base)
{
    if (!base->host)
        return;
    put(o, "//", 2);
    if (base->userinfo) {
        puts_(o, base->userinfo);
        put(o, "@", 1);
    }
    put_host(o, base);
    if (base->port_explicit)
        put_port(o, base->port);
}

/* The path of a reference without authority (§5.2.2), plus the base query
 * when the reference has neither path nor query. */
static void put_path(struct out *o, const struct loom_url *base, const struct parts *r)
{
    if (r->path_len == 0) {
        puts_(o, base->path);
        if (!r->query && base->query) {
            put(o, "?", 1);
            puts_(o, base->query);
        }
    } else if (r->path[0] == '/') {
        put(o, r->path, r->path_len);
    } else {
        if (base->host && base->path[0] == '\0')
            put(o, "/", 1);
        else
            put(o, base->path, base_dir_len(base));
        put(o, r->path, r->path_len);
    }
}

static void put_target(struct out *o, const struct loom_url *base, const struct parts *r)
{
    if (r->auth) {
        put(o, "//", 2);
        put(o, r->auth, r->auth_len);
        put(o, r->path, r->path_len);
    } else {
        put_authority(o, base);
        size_t start = o->len;
        put_path(o, base, r);
        /* The "//" pitfall of loom_url_format(): prefix "/." (room checked by put). */
        if (!base->host && o->len - start >= 2 && o->buf[start] == '/' &&
            o->buf[start + 1] == '/') {
            put(o, "..", 2);
            if (!o->full) {
                memmove(o->buf + start + 2, o->buf + start, o->len - 2 - start);
                memcpy(o->buf + start, "/.", 2);
            }
        }
    }
    if (r->query) {
        put(o, "?", 1);
        put(o, r->query, r->query_len);
    }
    if (r->frag) {
        put(o, "#", 1);
        put(o, r->frag, r->frag_len);
    }
}

int loom_url_resolve(struct loom_url *out, const struct loom_url *base, const char *ref, size_t len)
{
    struct parts r;
    memset(out, 0, sizeof *out);
    if (len == (size_t)-1)
        len = strnlen(ref, (size_t)LOOM_URL_MAX + 1);
    if (len > LOOM_URL_MAX)
        return LOOM_URL_ETOOLONG;
    int rc = split(ref, len, &r);
    if (rc < 0)
        return rc;
    if (r.scheme)
        return loom_url_parse(out, ref, len);
    size_t cap = len + strlen(base->scheme) + (base->userinfo ? strlen(base->userinfo) : 0) +
                 (base->host ? strlen(base->host) : 0) + strlen(base->path) +
                 (base->query ? strlen(base->query) : 0) + 32;
    char *s = malloc(cap);
    if (!s)
        return -ENOMEM;
    struct out o = out_init(s, cap);
    puts_(&o, base->scheme);
    put(&o, ":", 1);
    put_target(&o, base, &r);
    rc = o.full ? -ENOSPC : loom_url_parse(out, s, o.len);
    free(s);
    return rc;
}

const char *loom_url_strerror(int err)
{
    switch (err) {
#define LOOM__URL_MSG(name, value, msg)                                                            \
    case name:                                                                                     \
        return msg;
        LOOM_URL_ERRORS(LOOM__URL_MSG)
#undef LOOM__URL_MSG
    default:
        return "unknown URL error";
    }
}
