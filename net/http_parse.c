/* http_parse.c - incremental zero-copy HTTP/1.1 parser (RFC 9112), see http_parse.h.
 *
 * A head is parsed in two steps: first find the empty line that ends it (only
 * the bytes new since last_len are searched), checking the size limits on the
 * way; then, with the whole head known to lie in [buf, end), validate it line by
 * line. The second step never needs a bounds check against len, and a message
 * split anywhere gets the same verdict as the message in one piece, because
 * the limits are checked first, the same way, in both paths.
 *
 * The chunked decoder is a byte-at-a-time state machine (except body data,
 * taken in runs, and the trailer section, parsed once complete), so its result
 * cannot depend on how the input was split. */
#include "net/http_parse.h"

#include <errno.h>
#include <string.h>

static const struct loom_http_limits default_limits = LOOM_HTTP_LIMITS_DEFAULT;

static const struct loom_http_limits *limits_or_default(const struct loom_http_limits *lim)
{
    return lim ? lim : &default_limits;
}

/* tchar per RFC 9110 §5.6.2: ALPHA, DIGIT and !#$%&'*+-.^_`|~, as a bitmap of
 * the 128 ASCII codes (one test per byte on the hot path). */
static bool is_tchar(char ch)
{
    static const uint64_t map[2] = {0x03ff6cfa00000000u, 0x57ffffffc7fffffeu};
    unsigned char c = (unsigned char)ch;
    return c < 128 && (map[c >> 6] >> (c & 63) & 1);
}

/* field-vchar, SP or HTAB: anything but a control character (obs-text allowed). */
static bool is_field_char(char ch)
{
    unsigned char c = (unsigned char)ch;
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_ows(char c) { return c == ' ' || c == '\t'; }

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }

static bool ieq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* ---- finding the end of a head ---- */

/* Offset just past the empty line that ends a head, looking at LFs from `from`
 * on; 0 when it is not in buf yet. Lines end in LF or CRLF (RFC 9112 §2.2). */
static size_t find_head_end(const char *buf, size_t len, size_t from)
{
    size_t i = from;
    while (i < len) {
        const char *lf = memchr(buf + i, '\n', len - i);
        if (!lf)
            return 0;
        i = (size_t)(lf - buf);
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
        i++;
    }
    return 0;
}

/* Bytes of empty lines (CRLF or LF) before the start line, which are ignored. */
static size_t skip_empty_lines(const char *buf, size_t len)
{
    size_t i = 0;
    for (;;) {
        if (i < len && buf[i] == '\n')
            i++;
        else if (i + 1 < len && buf[i] == '\r' && buf[i + 1] == '\n')
            i += 2;
        else
            return i;
    }
}

/* Find where the head ends, checking the limits first. Returns its length (> 0),
 * LOOM_HTTP_INCOMPLETE or a limit error; *start gets the skipped empty lines. */
static ssize_t locate_head(const char *buf, size_t len, size_t last_len,
                           const struct loom_http_limits *lim, size_t *start)
{
    size_t s = skip_empty_lines(buf, len);
    size_t from = last_len >= 2 ? last_len - 2 : 0;
    size_t end = find_head_end(buf, len, from > s ? from : s);
    size_t upto = end ? end : len;
    const char *lf = memchr(buf + s, '\n', upto - s);
    size_t line_end = lf ? (size_t)(lf - buf) + 1 : len;

    *start = s;
    if (line_end > lim->max_start_line)
        return LOOM_HTTP_ELINE_TOO_LONG;
    if (lf && upto - line_end > lim->max_header_bytes)
        return LOOM_HTTP_EHEADERS_TOO_LARGE;
    return end ? (ssize_t)end : LOOM_HTTP_INCOMPLETE;
}

/* ---- lines of a complete head ---- */

/* The next line of a complete section: [*p, *eol) without its CR LF; *p moves
 * past the LF. Rejects NUL, and a CR that does not end the line. */
static int next_line(const char **p, const char *end, const char **eol)
{
    const char *s = *p;
    const char *lf = memchr(s, '\n', (size_t)(end - s));
    if (!lf)
        return LOOM_HTTP_EMALFORMED; /* cannot happen: the section ends in an LF */
    const char *e = (lf > s && lf[-1] == '\r') ? lf - 1 : lf;
    if (memchr(s, '\0', (size_t)(e - s)))
        return LOOM_HTTP_ENUL;
    if (memchr(s, '\r', (size_t)(e - s)))
        return LOOM_HTTP_EBARE_CR;
    *eol = e;
    *p = lf + 1;
    return 0;
}

/* "HTTP/" DIGIT "." DIGIT in exactly n bytes; major version 1 only. */
static int parse_version(const char *p, size_t n, int *minor)
{
    if (n != 8 || memcmp(p, "HTTP/", 5) != 0 || !is_digit(p[5]) || p[6] != '.' || !is_digit(p[7]))
        return LOOM_HTTP_EVERSION;
    if (p[5] != '1')
        return LOOM_HTTP_EVERSION_UNSUPPORTED;
    *minor = p[7] - '0';
    return 0;
}

/* request-line = method SP request-target SP HTTP-version (RFC 9112 §3). */
static int parse_request_line(struct loom_http_req_head *req, const char *s, const char *e)
{
    const char *p = s;
    while (p < e && is_tchar(*p))
        p++;
    if (p == s || p == e || *p != ' ')
        return LOOM_HTTP_EMETHOD;
    req->method = (struct loom_http_str){s, (size_t)(p - s)};
    const char *t = ++p;
    /* Visible ASCII only: a URI has no raw whitespace, controls or non-ASCII. */
    while (p < e && (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f)
        p++;
    if (p == t || p == e || *p != ' ')
        return LOOM_HTTP_ETARGET;
    req->target = (struct loom_http_str){t, (size_t)(p - t)};
    p++;
    return parse_version(p, (size_t)(e - p), &req->minor_version);
}

/* status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4);
 * a missing SP before an empty reason is tolerated. */
static int parse_status_line(struct loom_http_resp_head *resp, const char *s, const char *e)
{
    size_t n = (size_t)(e - s);
    int rc = parse_version(s, min_size(n, 8), &resp->minor_version);
    if (rc < 0)
        return rc;
    if (n < 12 || s[8] != ' ' || !is_digit(s[9]) || !is_digit(s[10]) || !is_digit(s[11]))
        return LOOM_HTTP_ESTATUS;
    resp->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (resp->status < 100)
        return LOOM_HTTP_ESTATUS;
    const char *p = s + 12;
    if (p < e && *p++ != ' ')
        return LOOM_HTTP_ESTATUS;
    for (const char *q = p; q < e; q++)
        if (!is_field_char(*q))
            return LOOM_HTTP_ESTATUS;
    resp->reason = (struct loom_http_str){p, (size_t)(e - p)};
    return 0;
}

/* field-line = field-name ":" OWS field-value OWS (RFC 9112 §5). */
static int parse_field(const char *s, const char *e, struct loom_http_header *out)
{
    if (is_ows(*s))
        return LOOM_HTTP_EOBS_FOLD; /* §5.2: obs-fold, or whitespace after the start line */
    const char *p = s;
    while (p < e && is_tchar(*p))
        p++;
    if (p < e && is_ows(*p))
        return LOOM_HTTP_EWS_BEFORE_COLON; /* §5.1: MUST reject */
    if (p == s || p == e || *p != ':')
        return LOOM_HTTP_EHEADER_NAME;
    const char *v = p + 1;
    while (v < e && is_ows(*v))
        v++;
    const char *ve = e;
    while (ve > v && is_ows(ve[-1]))
        ve--;
    for (const char *q = v; q < ve; q++)
        if (!is_field_char(*q))
            return LOOM_HTTP_EHEADER_VALUE;
    if (out) {
        out->name = (struct loom_http_str){s, (size_t)(p - s)};
        out->value = (struct loom_http_str){v, (size_t)(ve - v)};
    }
    return 0;
}

/* Field lines from *p through the empty line ending the section (before end).
 * At most max fields; h may be NULL to validate and count only. */
static int parse_fields(const char **p, const char *end, struct loom_http_header *h, size_t max,
                        size_t *count)
{
    size_t n = 0;
    *count = 0;
    for (;;) {
        const char *s = *p, *e;
        int rc = next_line(p, end, &e);
        if (rc < 0)
            return rc;
        if (e == s)
            break;
        rc = parse_field(s, e, h && n < max ? &h[n] : NULL);
        if (rc < 0)
            return rc;
        if (n == max)
            return LOOM_HTTP_ETOO_MANY_HEADERS;
        n++;
    }
    *count = n;
    return 0;
}

/* An incomplete request whose method already holds a byte no method may
 * hold (a TLS ClientHello on a plain port, binary garbage): refuse it now
 * instead of waiting for a head that will never end. */
static int early_method_check(const char *p, size_t len)
{
    if (len && (p[0] == '\r' || p[0] == '\n'))
        return LOOM_HTTP_INCOMPLETE; /* an empty line split after its CR */
    for (size_t i = 0; i < len && p[i] != ' '; i++)
        if (!is_tchar(p[i]))
            return LOOM_HTTP_EMETHOD;
    return LOOM_HTTP_INCOMPLETE;
}

ssize_t loom_http_parse_request(struct loom_http_req_head *req, const char *buf, size_t len,
                                size_t last_len, const struct loom_http_limits *lim)
{
    lim = limits_or_default(lim);
    size_t start;
    ssize_t end = locate_head(buf, len, last_len, lim, &start);
    if (end == LOOM_HTTP_INCOMPLETE)
        return early_method_check(buf + start, len - start);
    if (end < 0)
        return end;
    const char *p = buf + start, *stop = buf + end, *s = p, *e;
    /* The same method check first, so a split message gets the same verdict. */
    int rc = early_method_check(s, (size_t)(stop - s));
    if (rc == 0)
        rc = next_line(&p, stop, &e);
    if (rc == 0)
        rc = parse_request_line(req, s, e);
    if (rc == 0)
        rc = parse_fields(&p, stop, req->headers, min_size(req->header_cap, lim->max_headers),
                          &req->header_count);
    return rc < 0 ? rc : end;
}

ssize_t loom_http_parse_response(struct loom_http_resp_head *resp, const char *buf, size_t len,
                                 size_t last_len, const struct loom_http_limits *lim)
{
    lim = limits_or_default(lim);
    size_t start;
    ssize_t end = locate_head(buf, len, last_len, lim, &start);
    if (end <= 0)
        return end;
    const char *p = buf + start, *stop = buf + end, *s = p, *e;
    int rc = next_line(&p, stop, &e);
    if (rc == 0)
        rc = parse_status_line(resp, s, e);
    if (rc == 0)
        rc = parse_fields(&p, stop, resp->headers, min_size(resp->header_cap, lim->max_headers),
                          &resp->header_count);
    return rc < 0 ? rc : end;
}

/* ---- header helpers ---- */

const struct loom_http_header *loom_http_header_find(const struct loom_http_header *h, size_t n,
                                                     const char *name, size_t nth)
{
    size_t nlen = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (ieq(h[i].name.ptr, h[i].name.len, name, nlen) && nth-- == 0)
            return &h[i];
    return NULL;
}

/* The next element of a comma list at *p (before end), OWS trimmed; false at
 * the end. Empty elements are returned as such (callers skip them). */
static bool next_element(const char **p, const char *end, struct loom_http_str *el)
{
    if (*p > end)
        return false;
    const char *s = *p;
    const char *c = memchr(s, ',', (size_t)(end - s));
    const char *e = c ? c : end;
    *p = e + 1;
    while (s < e && is_ows(*s))
        s++;
    while (e > s && is_ows(e[-1]))
        e--;
    *el = (struct loom_http_str){s, (size_t)(e - s)};
    return true;
}

bool loom_http_list_has_token(const char *value, size_t len, const char *token)
{
    const char *p = value, *end = value + len;
    size_t tlen = strlen(token);
    struct loom_http_str el;
    if (tlen == 0)
        return false;
    while (next_element(&p, end, &el))
        if (ieq(el.ptr, el.len, token, tlen))
            return true;
    return false;
}

bool loom_http_headers_have_token(const struct loom_http_header *h, size_t n, const char *name,
                                  const char *token)
{
    const struct loom_http_header *f;
    for (size_t i = 0; (f = loom_http_header_find(h, n, name, i)); i++)
        if (loom_http_list_has_token(f->value.ptr, f->value.len, token))
            return true;
    return false;
}

/* ---- framing (RFC 9112 §6) ---- */

/* Content-Length over every field and list element: all must be the same
 * 1*DIGIT value (RFC 9110 §8.6). *present tells whether there was any. */
static int content_length(const struct loom_http_header *h, size_t n, bool *present,
                          uint64_t *value)
{
    const struct loom_http_header *f;
    *present = false;
    *value = 0;
    for (size_t i = 0; (f = loom_http_header_find(h, n, "content-length", i)); i++) {
        const char *p = f->value.ptr, *end = p + f->value.len;
        struct loom_http_str el;
        while (next_element(&p, end, &el)) {
            uint64_t v = 0;
            if (el.len == 0)
                return LOOM_HTTP_ECONTENT_LENGTH;
            for (size_t k = 0; k < el.len; k++) {
                if (!is_digit(el.ptr[k]) || v > (UINT64_MAX - 9) / 10)
                    return LOOM_HTTP_ECONTENT_LENGTH;
                v = v * 10 + (uint64_t)(el.ptr[k] - '0');
            }
            if (*present && v != *value)
                return LOOM_HTTP_ECONFLICTING_LENGTH;
            *present = true;
            *value = v;
        }
    }
    return 0;
}

/* What Transfer-Encoding says, over all its fields in order. */
struct te_info {
    bool present;      /* any Transfer-Encoding field */
    bool chunked_last; /* the final coding is chunked */
    int chunked;       /* how many times chunked appears */
    bool other;        /* a coding other than chunked appears */
};

static void transfer_encoding(const struct loom_http_header *h, size_t n, struct te_info *te)
{
    const struct loom_http_header *f;
    memset(te, 0, sizeof *te);
    for (size_t i = 0; (f = loom_http_header_find(h, n, "transfer-encoding", i)); i++) {
        const char *p = f->value.ptr, *end = p + f->value.len;
        struct loom_http_str el;
        te->present = true;
        while (next_element(&p, end, &el)) {
            if (el.len == 0)
                continue;
            size_t nlen = 0; /* the coding name, before any ";param" */
            while (nlen < el.len && el.ptr[nlen] != ';' && !is_ows(el.ptr[nlen]))
                nlen++;
            te->chunked_last = ieq(el.ptr, nlen, "chunked", 7);
            if (te->chunked_last)
                te->chunked++;
            else
                te->other = true;
        }
    }
}

static bool keep_alive(int minor, const struct loom_http_header *h, size_t n)
{
    if (loom_http_headers_have_token(h, n, "connection", "close"))
        return false;
    return minor >= 1 || loom_http_headers_have_token(h, n, "connection", "keep-alive");
}

static void upgrade_flags(const struct loom_http_header *h, size_t n, struct loom_http_framing *f)
{
    const struct loom_http_header *up = loom_http_header_find(h, n, "upgrade", 0);
    f->upgrade = up && loom_http_headers_have_token(h, n, "connection", "upgrade");
    f->upgrade_websocket = f->upgrade && loom_http_headers_have_token(h, n, "upgrade", "websocket");
}

/* A byte of uri-host [ ":" port ] (RFC 3986: reg-name, IP literals, pct-encoding). */
static bool host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("-._~%!$&'()*+,;=:[]", c));
}

int loom_http_request_check_host(const struct loom_http_req_head *req)
{
    size_t hosts = 0;
    const struct loom_http_header *h;
    while ((h = loom_http_header_find(req->headers, req->header_count, "host", hosts))) {
        /* §3.2: a Host with an invalid value is refused too (no spaces, '/', '@'...). */
        for (size_t i = 0; i < h->value.len; i++)
            if (!host_char((unsigned char)h->value.ptr[i]))
                return LOOM_HTTP_EHOST;
        hosts++;
    }
    /* RFC 9112 §3.2: exactly one Host in 1.1; never more than one. */
    if (hosts > 1 || (req->minor_version >= 1 && hosts != 1))
        return LOOM_HTTP_EHOST;
    return 0;
}

int loom_http_request_framing(const struct loom_http_req_head *req,
                              const struct loom_http_limits *lim, struct loom_http_framing *f)
{
    const struct loom_http_header *h = req->headers;
    size_t n = req->header_count;
    struct te_info te;
    bool has_cl;
    uint64_t cl;

    lim = limits_or_default(lim);
    memset(f, 0, sizeof *f);
    int rc = loom_http_request_check_host(req);
    if (rc < 0)
        return rc;
    transfer_encoding(h, n, &te);
    rc = content_length(h, n, &has_cl, &cl);
    if (te.present && (has_cl || rc < 0))
        return LOOM_HTTP_ESMUGGLING; /* §6.3: MAY reject; we always do */
    if (rc < 0)
        return rc;
    if (te.present) {
        if (req->minor_version == 0)
            return LOOM_HTTP_ETE_HTTP10; /* §6.1: framing is faulty */
        if (!te.chunked_last || te.chunked != 1)
            return LOOM_HTTP_ECHUNKED_NOT_LAST; /* §6.3 rule 4: MUST respond 400 */
        if (te.other)
            return LOOM_HTTP_ETRANSFER_ENCODING; /* §6.1: SHOULD respond 501 */
        f->body = LOOM_HTTP_BODY_CHUNKED;
    } else if (has_cl) {
        if (cl > lim->max_body)
            return LOOM_HTTP_EBODY_TOO_LARGE;
        f->body = LOOM_HTTP_BODY_LENGTH;
        f->content_length = cl;
    }
    f->keep_alive = keep_alive(req->minor_version, h, n);
    /* RFC 9110 §10.1.1: a 1.0 client cannot expect 100-continue. */
    f->expect_continue =
        req->minor_version >= 1 && loom_http_headers_have_token(h, n, "expect", "100-continue");
    upgrade_flags(h, n, f);
    return 0;
}

/* Framing of a response that has a body (not HEAD, 1xx, 204, 304). */
static int response_body(const struct loom_http_resp_head *resp, const struct loom_http_limits *lim,
                         struct loom_http_framing *f)
{
    const struct loom_http_header *h = resp->headers;
    size_t n = resp->header_count;
    struct te_info te;
    bool has_cl;
    uint64_t cl;

    transfer_encoding(h, n, &te);
    if (te.present) {
        /* §6.3 rule 3: TE overrides CL, and such a message may be an attack:
         * close after it. In 1.0, or without chunked last, read until close. */
        f->te_other = te.other;
        if (resp->minor_version == 0 || !te.chunked_last || te.chunked != 1) {
            f->body = LOOM_HTTP_BODY_UNTIL_CLOSE;
            f->keep_alive = false;
            return 0;
        }
        f->body = LOOM_HTTP_BODY_CHUNKED;
        if (loom_http_header_find(h, n, "content-length", 0))
            f->keep_alive = false;
        return 0;
    }
    int rc = content_length(h, n, &has_cl, &cl);
    if (rc < 0)
        return rc;
    if (!has_cl) {
        f->body = LOOM_HTTP_BODY_UNTIL_CLOSE;
        f->keep_alive = false;
        return 0;
    }
    if (cl > lim->max_body)
        return LOOM_HTTP_EBODY_TOO_LARGE;
    f->body = LOOM_HTTP_BODY_LENGTH;
    f->content_length = cl;
    return 0;
}

int loom_http_response_framing(const struct loom_http_resp_head *resp, const char *method,
                               size_t method_len, const struct loom_http_limits *lim,
                               struct loom_http_framing *f)
{
    const struct loom_http_header *h = resp->headers;
    size_t n = resp->header_count;
    int st = resp->status;

    lim = limits_or_default(lim);
    memset(f, 0, sizeof *f);
    f->keep_alive = keep_alive(resp->minor_version, h, n);
    upgrade_flags(h, n, f);
    if (method && ieq(method, method_len, "CONNECT", 7) && st >= 200 && st < 300) {
        f->keep_alive = false; /* the connection is a tunnel now */
        return 0;
    }
    if ((method && ieq(method, method_len, "HEAD", 4)) || st < 200 || st == 204 || st == 304)
        return 0; /* §6.3 rules 1-2: no body, whatever the headers say */
    return response_body(resp, lim, f);
}

/* ---- chunked bodies (RFC 9112 §7.1) ---- */

enum {
    CH_SIZE,     /* hex digits of chunk-size */
    CH_EXT,      /* whitespace or chunk-ext after the size, until CR */
    CH_SIZE_LF,  /* the LF ending the size line */
    CH_DATA,     /* _remaining bytes of chunk data */
    CH_DATA_CR,  /* CR after the data */
    CH_DATA_LF,  /* LF after the data */
    CH_TRAILERS, /* last chunk seen: trailer section, parsed once complete */
    CH_DONE,
};

void loom_http_chunked_init(struct loom_http_chunked *c, const struct loom_http_limits *lim)
{
    memset(c, 0, sizeof *c);
    c->_lim = *limits_or_default(lim);
    c->_state = CH_SIZE;
}

bool loom_http_chunked_done(const struct loom_http_chunked *c) { return c->_state == CH_DONE; }

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = lower(ch);
    return (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10 : -1;
}

/* One byte of a chunk-size line: 1*HEXDIG [ chunk-ext ] CRLF. Only CRLF ends
 * it: a lone LF here is a known smuggling vector, so it is an error. */
static int chunk_size_byte(struct loom_http_chunked *c, char ch)
{
    if (++c->_line > c->_lim.max_chunk_line)
        return LOOM_HTTP_ECHUNK_LINE_TOO_LONG;
    if (c->_state == CH_SIZE) {
        int d = hex_value(ch);
        if (d >= 0) {
            if (c->_remaining > (UINT64_MAX >> 4))
                return LOOM_HTTP_ECHUNK_SIZE;
            c->_remaining = c->_remaining << 4 | (uint64_t)d;
            c->_digits++;
            if (c->_remaining > c->_lim.max_body - c->body_bytes)
                return LOOM_HTTP_EBODY_TOO_LARGE;
            return 0;
        }
        if (c->_digits == 0 || (ch != ';' && !is_ows(ch) && ch != '\r'))
            return LOOM_HTTP_ECHUNK_SIZE;
        c->_state = ch == '\r' ? CH_SIZE_LF : CH_EXT;
        return 0;
    }
    if (c->_state == CH_EXT) {
        /* Extensions are ignored; only their characters and length are checked. */
        if (ch == '\r')
            c->_state = CH_SIZE_LF;
        else if (!is_field_char(ch))
            return LOOM_HTTP_ECHUNK;
        return 0;
    }
    if (ch != '\n') /* CH_SIZE_LF */
        return LOOM_HTTP_ECHUNK;
    c->_line = 0;
    c->_digits = 0;
    c->_state = c->_remaining ? CH_DATA : CH_TRAILERS;
    return 0;
}

/* One framing byte outside data runs and trailers. */
static int chunk_byte(struct loom_http_chunked *c, char ch)
{
    switch (c->_state) {
    case CH_DATA_CR:
        if (ch != '\r')
            return LOOM_HTTP_ECHUNK;
        c->_state = CH_DATA_LF;
        return 0;
    case CH_DATA_LF:
        if (ch != '\n')
            return LOOM_HTTP_ECHUNK;
        c->_state = CH_SIZE;
        return 0;
    default:
        return chunk_size_byte(c, ch);
    }
}

/* The trailer section starting at buf + i: consumed with the rest once complete.
 * Returns the new consumed total, or an error. */
static ssize_t chunked_trailers(struct loom_http_chunked *c, const char *buf, size_t len, size_t i)
{
    const char *t = buf + i;
    size_t n = len - i, end;
    if (n >= 1 && t[0] == '\n')
        end = 1;
    else if (n >= 2 && t[0] == '\r' && t[1] == '\n')
        end = 2;
    else
        end = find_head_end(t, n, c->_scan);
    if (!end) {
        c->_scan = n >= 2 ? n - 2 : 0;
        return n > c->_lim.max_trailer_bytes ? LOOM_HTTP_ETRAILERS_TOO_LARGE : (ssize_t)i;
    }
    if (end > c->_lim.max_trailer_bytes)
        return LOOM_HTTP_ETRAILERS_TOO_LARGE;
    size_t max = c->trailers ? min_size(c->trailer_cap, c->_lim.max_headers) : c->_lim.max_headers;
    const char *p = t;
    int rc = parse_fields(&p, t + end, c->trailers, max, &c->trailer_count);
    if (rc < 0)
        return rc;
    c->_state = CH_DONE;
    return (ssize_t)(i + end);
}

ssize_t loom_http_chunked_next(struct loom_http_chunked *c, const char *buf, size_t len,
                               struct loom_http_str *data)
{
    size_t i = 0;
    *data = (struct loom_http_str){buf, 0};
    while (i < len) {
        if (c->_state == CH_DONE)
            break;
        if (c->_state == CH_TRAILERS)
            return chunked_trailers(c, buf, len, i);
        if (c->_state == CH_DATA) {
            size_t n = len - i;
            if (n > c->_remaining)
                n = (size_t)c->_remaining;
            *data = (struct loom_http_str){buf + i, n};
            c->_remaining -= n;
            c->body_bytes += n;
            if (c->_remaining == 0)
                c->_state = CH_DATA_CR;
            return (ssize_t)(i + n);
        }
        int rc = chunk_byte(c, buf[i]);
        if (rc < 0)
            return rc;
        i++;
    }
    return (ssize_t)i;
}

ssize_t loom_http_chunked_decode(struct loom_http_chunked *c, char *buf, size_t len,
                                 size_t *out_len)
{
    size_t in = 0, out = 0;
    *out_len = 0;
    while (in < len && c->_state != CH_DONE) {
        struct loom_http_str d;
        ssize_t n = loom_http_chunked_next(c, buf + in, len - in, &d);
        if (n < 0)
            return n;
        if (n == 0)
            break;
        /* Data only moves towards the front: out <= d.ptr - buf always. */
        memmove(buf + out, d.ptr, d.len);
        out += d.len;
        in += (size_t)n;
    }
    *out_len = out;
    return (ssize_t)in;
}

/* ---- serialising heads ---- */

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

static bool is_token(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_tchar(s[i]))
            return false;
    return n > 0;
}

static bool is_field_text(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_field_char(s[i]))
            return false;
    return true;
}

static ssize_t put_fields(struct out *o, const struct loom_http_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!is_token(h[i].name.ptr, h[i].name.len) ||
            !is_field_text(h[i].value.ptr, h[i].value.len))
            return -EINVAL;
        put(o, h[i].name.ptr, h[i].name.len);
        put(o, ": ", 2);
        put(o, h[i].value.ptr, h[i].value.len);
        put(o, "\r\n", 2);
    }
    put(o, "\r\n", 2);
    return o->full ? -ENOSPC : (ssize_t)o->len;
}

ssize_t loom_http_format_request(char *buf, size_t cap, const char *method, const char *target,
                                 const struct loom_http_header *h, size_t n)
{
    struct out o = {buf, cap, 0, cap == 0};
    size_t tlen = strlen(target);
    if (!is_token(method, strlen(method)) || tlen == 0)
        return -EINVAL;
    for (size_t i = 0; i < tlen; i++)
        if ((unsigned char)target[i] <= 0x20 || target[i] == 0x7f)
            return -EINVAL;
    puts_(&o, method);
    put(&o, " ", 1);
    put(&o, target, tlen);
    puts_(&o, " HTTP/1.1\r\n");
    return put_fields(&o, h, n);
}

ssize_t loom_http_format_response(char *buf, size_t cap, int status, const char *reason,
                                  const struct loom_http_header *h, size_t n)
{
    struct out o = {buf, cap, 0, cap == 0};
    char line[16];
    if (status < 100 || status > 999)
        return -EINVAL;
    if (!reason)
        reason = loom_http_reason(status);
    if (!is_field_text(reason, strlen(reason)))
        return -EINVAL;
    memcpy(line, "HTTP/1.1 000 ", 14);
    line[9] = (char)('0' + status / 100);
    line[10] = (char)('0' + status / 10 % 10);
    line[11] = (char)('0' + status % 10);
    puts_(&o, line);
    puts_(&o, reason);
    put(&o, "\r\n", 2);
    return put_fields(&o, h, n);
}

/* ---- errors and status codes ---- */

int loom_http_error_status(int err)
{
    switch (err) {
#define LOOM__HTTP_STATUS(name, value, status, msg)                                                \
    case name:                                                                                     \
        return status;
        LOOM_HTTP_PARSE_ERRORS(LOOM__HTTP_STATUS)
#undef LOOM__HTTP_STATUS
    default:
        return 400;
    }
}

const char *loom_http_parse_strerror(int err)
{
    switch (err) {
#define LOOM__HTTP_MSG(name, value, status, msg)                                                   \
    case name:                                                                                     \
        return msg;
        LOOM_HTTP_PARSE_ERRORS(LOOM__HTTP_MSG)
#undef LOOM__HTTP_MSG
    case LOOM_HTTP_INCOMPLETE:
        return "incomplete message";
    default:
        return "unknown HTTP parse error";
    }
}

const char *loom_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "";
    }
}
