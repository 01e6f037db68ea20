/* http_client.c - HTTP/1.1 requests over the session's pool: sending the
 * request, reading the response head (1xx skipped), redirects (RFC 9110
 * §15.4), the stale-connection retry, and the blocking convenience call.
 * Response bodies are read in http_body.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "net/http_internal.h"
#include "reactor/error.h"
#include "reactor/park.h"
#include "reactor/task.h"

/* Request bodies from a callback are sent in pieces of this size. */
#define PIECE 16384
/* 1xx responses skipped before the final one; more is a misbehaving server. */
#define MAX_INTERIM 16

struct body_src {
    const void *bytes;
    size_t len;
    loom_http_body_cb cb;
    void *arg;
    int64_t cb_len;
    bool none;
};

static bool idempotent(const char *m)
{
    static const char *const ok[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (!strcmp(m, ok[i]))
            return true;
    return false;
}

static bool user_has(const struct loom_http_request_options *o, const char *name)
{
    for (size_t i = 0; o && i < o->header_count; i++)
        if (!strcasecmp(o->headers[i].name, name))
            return true;
    return false;
}

static void hdr(struct loom_http_header *h, size_t *n, const char *name, const char *value)
{
    h[*n].name = (struct loom_http_str){name, strlen(name)};
    h[*n].value = (struct loom_http_str){value, strlen(value)};
    (*n)++;
}

/* "Basic " + base64 of the percent-decoded userinfo (RFC 7617), for a URL
 * that carries credentials, malloc'd (a token as the password is often longer
 * than any fixed buffer: the header was left out then). NULL on ENOMEM. */
static char *basic_auth(const char *userinfo)
{
    size_t len = strlen(userinfo), n = 0;
    unsigned char *raw = malloc(len + 1);
    char *out = raw ? malloc(6 + 4 * ((len + 2) / 3) + 1) : NULL;
    if (!out) {
        free(raw);
        return NULL;
    }
    for (const char *p = userinfo; *p; p++) {
        unsigned v;
        if (*p == '%' && sscanf(p + 1, "%2x", &v) == 1 && p[1] && p[2])
            raw[n++] = (unsigned char)v, p += 2;
        else
            raw[n++] = (unsigned char)*p;
    }
    memcpy(out, "Basic ", 6);
    EVP_EncodeBlock((unsigned char *)out + 6, raw, (int)n);
    free(raw);
    return out;
}

/* Format the request head into a malloc'd buffer. */
static ssize_t format_head(struct loom__http_req *q, const struct body_src *b, char **out)
{
    const struct loom_http_request_options *o = q->o;
    size_t nuser = o ? o->header_count : 0, n = 0;
    struct loom_http_header *h = calloc(nuser + 8, sizeof *h);
    char host[1100], clen[32];
    size_t tcap = strlen(q->url.path) + (q->url.query ? strlen(q->url.query) : 0) + 4;
    char *target = malloc(tcap);
    if (!h || !target) {
        free(h), free(target);
        return -ENOMEM;
    }
    if (loom_url_host_header(&q->url, host, sizeof host) < 0 ||
        loom_url_target(&q->url, target, tcap) < 0) {
        free(h), free(target);
        return -ENOSPC;
    }
    if (!user_has(o, "Host") || q->drop_auth)
        hdr(h, &n, "Host", host);
    if (*q->s->o.user_agent && !user_has(o, "User-Agent"))
        hdr(h, &n, "User-Agent", q->s->o.user_agent);
    char *auth = NULL;
    if (q->url.userinfo && !q->drop_auth && !user_has(o, "Authorization") &&
        !(auth = basic_auth(q->url.userinfo))) {
        free(h), free(target);
        return -ENOMEM;
    }
    if (auth)
        hdr(h, &n, "Authorization", auth);
    if (!user_has(o, "Accept"))
        hdr(h, &n, "Accept", "*/*");
    if (!q->s->o.no_decompress && !user_has(o, "Accept-Encoding"))
        hdr(h, &n, "Accept-Encoding", "gzip, deflate");
    bool has_body = !b->none && (b->cb || b->bytes || b->len);
    bool wants_len =
        !strcmp(q->method, "POST") || !strcmp(q->method, "PUT") || !strcmp(q->method, "PATCH");
    if (b->cb && b->cb_len < 0) {
        hdr(h, &n, "Transfer-Encoding", "chunked");
    } else if (has_body || wants_len) {
        snprintf(clen, sizeof clen, "%llu",
                 (unsigned long long)(b->none ? 0
                                      : b->cb ? (uint64_t)b->cb_len
                                              : b->len));
        hdr(h, &n, "Content-Length", clen);
    }
    for (size_t i = 0; i < nuser; i++) {
        const char *name = o->headers[i].name;
        if (!strcasecmp(name, "Content-Length") || !strcasecmp(name, "Transfer-Encoding"))
            continue; /* framing is ours */
        if (q->drop_auth && !strcasecmp(name, "Host"))
            continue; /* the Host asked for was for the first origin */
        if (q->drop_auth && (!strcasecmp(name, "Authorization") || !strcasecmp(name, "Cookie") ||
                             !strcasecmp(name, "Proxy-Authorization")))
            continue; /* never sent to another origin after a redirect */
        if (b->none && q->body_dropped && !strcasecmp(name, "Content-Type"))
            continue;
        hdr(h, &n, name, o->headers[i].value);
    }
    size_t cap = 4096;
    for (size_t i = 0; i < n; i++)
        cap += h[i].name.len + h[i].value.len + 4;
    cap += strlen(target) + strlen(q->method);
    char *buf = malloc(cap);
    ssize_t len = buf ? loom_http_format_request(buf, cap, q->method, target, h, n) : -ENOMEM;
    free(h);
    free(target);
    free(auth);
    if (len < 0)
        free(buf);
    else
        *out = buf;
    return len;
}

/* Send one piece of a streamed body; chunked framing when asked (n == 0 then
 * ends the body). Applies backpressure within the request's timeouts. */
static int send_piece(struct loom__http_req *q, bool chunked, const void *data, size_t n)
{
    int rc = 0;
    if (chunked) {
        char line[24];
        int l = snprintf(line, sizeof line, "%zx\r\n", n);
        struct iovec iov[3] = {{line, (size_t)l}, {(void *)data, n}, {"\r\n", 2}};
        rc = n ? loom_stream_writev(q->c->st, iov, 3) : loom_stream_write(q->c->st, "0\r\n\r\n", 5);
    } else if (n > 0) {
        rc = loom_stream_write(q->c->st, data, n);
    }
    return rc < 0 ? rc : loom_stream_drain(q->c->st, loom__http_req_timeout(q));
}

/* A streamed body that went over (or, at its end, under) its announced length. */
static int length_mismatch(struct loom__http_req *q, uint64_t sent, int64_t len, bool end)
{
    if (len < 0 || (end ? sent == (uint64_t)len : sent <= (uint64_t)len))
        return 0;
    return loom__http_fail(q->err, q->errlen, -EINVAL,
                           "streamed request body of %llu bytes, %lld announced",
                           (unsigned long long)sent, (long long)len);
}

/* Send a body produced by the callback, chunked or with its announced length. */
static int send_cb_body(struct loom__http_req *q, const struct body_src *b)
{
    char *buf = malloc(PIECE);
    uint64_t sent = 0;
    int rc = buf ? 0 : -ENOMEM;
    while (rc == 0) {
        ssize_t n = b->cb(b->arg, buf, PIECE);
        if (n < 0) {
            rc = loom__http_fail(q->err, q->errlen, (int)n, "request body callback failed: %s",
                                 loom_strerror((int)n));
            break;
        }
        sent += (uint64_t)n;
        rc = length_mismatch(q, sent, b->cb_len, n == 0);
        if (rc == 0)
            rc = send_piece(q, b->cb_len < 0, buf, (size_t)n);
        if (n == 0)
            break;
    }
    free(buf);
    return rc;
}

/* Format and queue the request head. */
static int send_head(struct loom__http_req *q, const struct body_src *b)
{
    char *head;
    ssize_t len = format_head(q, b, &head);
    if (len < 0)
        return loom__http_fail(q->err, q->errlen, len == -ENOMEM ? -ENOMEM : -EINVAL,
                               "cannot format the request (a header with CR/LF/NUL?)");
    int rc = loom_stream_write(q->c->st, head, (size_t)len);
    free(head);
    if (rc < 0)
        loom__http_fail(q->err, q->errlen, rc, "sending the request: %s", loom_strerror(rc));
    return rc;
}

/* Write the head and the body. */
static int send_request(struct loom__http_req *q, const struct body_src *b)
{
    int rc = send_head(q, b);
    if (rc < 0)
        return rc;
    if (!b->none && b->cb)
        rc = send_cb_body(q, b);
    else if (!b->none && b->len)
        rc = loom_stream_write(q->c->st, b->bytes, b->len);
    if (rc == 0)
        rc = loom_stream_drain(q->c->st, loom__http_req_timeout(q));
    if (rc < 0 && (!q->err || !*q->err))
        loom__http_fail(q->err, q->errlen, rc, "sending the request: %s", loom_strerror(rc));
    return rc;
}

/* Point v into the copy at head (d bytes from the original) and NUL-terminate
 * it there: in a head each view is followed by ':', CR, LF or a space. */
static void rebase(struct loom_http_str *v, char *head, const char *src, size_t len)
{
    if (v->ptr >= src && v->ptr + v->len < src + len) {
        v->ptr = head + (v->ptr - src);
        head[v->ptr - head + v->len] = 0;
    } else {
        v->ptr = head + len, v->len = 0; /* empty: the final NUL */
    }
}

/* Copy the head out of the connection buffer into r. */
static int keep_head(struct loom_http_response *r, const char *src, size_t len)
{
    r->head = malloc(len + 1);
    if (!r->head)
        return -ENOMEM;
    memcpy(r->head, src, len);
    r->head[len] = 0;
    rebase(&r->rh.reason, r->head, src, len);
    for (size_t i = 0; i < r->rh.header_count; i++) {
        rebase(&r->rh.headers[i].name, r->head, src, len);
        rebase(&r->rh.headers[i].value, r->head, src, len);
    }
    return 0;
}

/* Read the response head (after any 1xx). *got says whether any byte came,
 * *junk whether the first bytes were no response at all (bytes a previous
 * response left behind: a body sent to HEAD or with a 204/304, or more body
 * than its Content-Length said). */
static int read_head(struct loom__http_req *q, struct loom_http_response *r, bool *got, bool *junk)
{
    struct loom__http_conn *c = q->c;
    struct loom_http_limits *lim = &q->s->lim;
    size_t last = 0, max = lim->max_start_line + lim->max_header_bytes + 1024;
    int interim = 0;
    *got = *junk = false;
    for (;;) {
        size_t avail = c->end - c->start;
        if (avail > 0) {
            *got = true;
            r->rh.headers = r->hdrs;
            r->rh.header_cap = lim->max_headers;
            ssize_t n = loom_http_parse_response(&r->rh, c->buf + c->start, avail, last, lim);
            *junk = n < 0 && interim == 0 && loom__http_map_parse(n) == LOOM_EHTTP;
            if (n < 0)
                return loom__http_fail(q->err, q->errlen, loom__http_map_parse(n),
                                       "bad response head: %s", loom_http_parse_strerror((int)n));
            if (n > 0 && r->rh.status == 101)
                return loom__http_fail(q->err, q->errlen, LOOM_EHTTP,
                                       "101 Switching Protocols to a request without Upgrade");
            if (n > 0 && r->rh.status < 200) {
                if (++interim > MAX_INTERIM)
                    return loom__http_fail(q->err, q->errlen, LOOM_EHTTP,
                                           "more than %d interim (1xx) responses", MAX_INTERIM);
                c->start += (size_t)n; /* interim response: skip it */
                last = 0;
                continue;
            }
            if (n > 0) {
                int rc = keep_head(r, c->buf + c->start, (size_t)n);
                c->start += (size_t)n;
                return rc;
            }
            last = avail;
        }
        ssize_t rc = loom__http_conn_fill(c, max, loom__http_req_timeout(q));
        if (rc == LOOM_EOF && !*got)
            return loom__http_fail(q->err, q->errlen, LOOM_EHTTP,
                                   "the server closed the connection without answering");
        if (rc == LOOM_EOF)
            return loom__http_fail(q->err, q->errlen, LOOM_EHTTP,
                                   "the connection closed in the middle of the response head");
        if (rc == -ETIMEDOUT)
            return loom__http_fail(q->err, q->errlen, (int)rc,
                                   "timed out waiting for the response head");
        if (rc < 0)
            return loom__http_fail(q->err, q->errlen, (int)rc, "reading the response: %s",
                                   loom_strerror((int)rc));
    }
}

/* Sending failed with a reset: the server may have answered early (a 413 to
 * an upload it will not read) and closed; what it said is read if it is
 * there. Else the sending error stands (*got still tells the stale retry
 * whether any byte came). The connection is never reused after it. */
static int early_answer(struct loom__http_req *q, struct loom_http_response *r, int rc, bool *got,
                        bool *junk)
{
    char *saved = q->err && q->errlen ? strdup(q->err) : NULL;
    const struct loom_http_limits *lim = &q->s->lim;
    loom__http_conn_take_queued(q->c, lim->max_start_line + lim->max_header_bytes +
                                          lim->max_trailer_bytes + 1024);
    int hrc = read_head(q, r, got, junk);
    if (hrc == 0) {
        q->unsent = true;
        if (q->err && q->errlen)
            *q->err = 0;
    } else if (saved) {
        snprintf(q->err, q->errlen, "%s", saved);
    }
    free(saved);
    return hrc == 0 ? 0 : rc;
}

/* A failure that a stale pooled connection explains. */
static bool stale_error(int rc)
{
    return rc == LOOM_EHTTP || rc == -ECONNRESET || rc == -EPIPE || rc == LOOM_EOF;
}

/* One request/response exchange on one connection (with the stale retry: a
 * pooled connection that the server closed, or that answered with junk left
 * over from an earlier response, is retried once on a new connection). */
static int exchange(struct loom__http_req *q, struct loom_http_response *r,
                    const struct body_src *b)
{
    bool replayable = !b->cb || b->none;
    for (int attempt = 0;; attempt++) {
        bool reused = false, got = false, junk = false;
        int64_t cdl = loom__http_min_deadline(q, q->t.connect);
        bool retryable = replayable && idempotent(q->method);
        unsigned how = (attempt > 0 ? LOOM__HTTP_FRESH : 0) | (retryable ? 0 : LOOM__HTTP_CAREFUL);
        int rc = loom__http_acquire(q->s, &q->url, how, cdl, q->t.sock_connect, &q->c, &reused,
                                    q->err, q->errlen);
        if (rc < 0)
            return rc;
        r->reused = reused;
        q->unsent = false;
        rc = send_request(q, b);
        if (rc == -ECONNRESET || rc == -EPIPE)
            rc = early_answer(q, r, rc, &got, &junk);
        else if (rc == 0)
            rc = read_head(q, r, &got, &junk);
        if (rc == 0)
            return 0;
        loom__http_release(q->s, q->c, false);
        q->c = NULL;
        if (!(reused && (!got || junk) && attempt == 0 && stale_error(rc) && retryable))
            return rc;
        if (q->err && q->errlen)
            *q->err = 0;
        free(r->head);
        r->head = NULL;
    }
}

static bool is_redirect(int st)
{
    return st == 301 || st == 302 || st == 303 || st == 307 || st == 308;
}

static void response_drop_head(struct loom_http_response *r)
{
    free(r->head);
    free(r->trailer_buf);
    r->head = r->trailer_buf = NULL;
    r->ntrailers = 0;
    r->lstart = r->lend = 0;
    memset(&r->rh, 0, sizeof r->rh);
}

/* Read and drop a redirect's body (a little of it: more closes the connection). */
static void discard_body(struct loom_http_response *r)
{
    char tmp[4096];
    size_t total = 0;
    ssize_t n;
    while (r->q.c && total < 65536 && (n = loom_http_response_read(r, tmp, sizeof tmp)) > 0)
        total += (size_t)n;
    loom__http_body_end(r, false);
}

/* Resolve a Location against the current URL; one without a fragment keeps
 * the current fragment (RFC 9110 §10.2.2). */
static int resolve_location(struct loom__http_req *q, const char *loc, struct loom_url *next)
{
    if (strchr(loc, '#') || !q->url.fragment)
        return loom_url_resolve(next, &q->url, loc, strlen(loc));
    size_t n = strlen(loc) + strlen(q->url.fragment) + 2;
    char *ref = malloc(n);
    if (!ref)
        return -ENOMEM;
    snprintf(ref, n, "%s#%s", loc, q->url.fragment);
    int rc = loom_url_resolve(next, &q->url, ref, n - 1);
    free(ref);
    return rc;
}

/* Follow r's redirect: the next URL into q->url, method and body rules. Returns
 * 1 to follow, 0 to stop here (return r), or an error. */
static int next_hop(struct loom__http_req *q, struct loom_http_response *r, struct body_src *b,
                    int hops)
{
    int st = r->rh.status;
    const char *loc = loom_http_response_header(r, "Location", 0);
    if (!is_redirect(st) || !loc || q->max_redirects < 0)
        return 0;
    if ((st == 307 || st == 308) && !b->none && b->cb)
        return 0; /* a streamed body cannot be sent again */
    if (hops >= q->max_redirects)
        return loom__http_fail(q->err, q->errlen, LOOM_EHTTP,
                               "too many redirects (more than %d), last to %s", q->max_redirects,
                               loc);
    struct loom_url next;
    int rc = resolve_location(q, loc, &next);
    if (rc < 0)
        return loom__http_fail(q->err, q->errlen, LOOM_EHTTP, "bad redirect Location \"%s\": %s",
                               loc, loom_url_strerror(rc));
    if (strcmp(next.scheme, "http") && strcmp(next.scheme, "https")) {
        loom__http_fail(q->err, q->errlen, LOOM_EHTTP, "redirect to an unsupported scheme: %s",
                        loc);
        loom_url_close(&next);
        return LOOM_EHTTP;
    }
    if ((st == 303 && strcmp(q->method, "HEAD")) ||
        ((st == 301 || st == 302) && !strcmp(q->method, "POST"))) {
        snprintf(q->method, sizeof q->method, "GET"); /* RFC 9110 §15.4.2-4 */
        q->body_dropped = !b->none;
        b->none = true;
    }
    char a[1100], o2[1100];
    if (loom_url_origin(&q->url, a, sizeof a) < 0 || loom_url_origin(&next, o2, sizeof o2) < 0 ||
        strcmp(a, o2))
        q->drop_auth = true;
    rc = loom__http_history_push(r, q, st);
    loom_url_close(&q->url);
    q->url = next;
    int seen = rc < 0 ? rc : loom__http_visited(q);
    if (seen < 0)
        rc = seen;
    else if (seen)
        rc = loom__http_fail(q->err, q->errlen, LOOM_EHTTP, "redirect loop: %s %s visited twice",
                             q->method, q->url_str);
    return rc < 0 ? rc : 1;
}

static void merge_timeouts(struct loom__http_req *q, const struct loom_http_request_options *o)
{
    q->t = q->s->o.timeout;
    if (o && o->timeout.total)
        q->t.total = o->timeout.total;
    if (o && o->timeout.connect)
        q->t.connect = o->timeout.connect;
    if (o && o->timeout.sock_connect)
        q->t.sock_connect = o->timeout.sock_connect;
    if (o && o->timeout.sock_read)
        q->t.sock_read = o->timeout.sock_read;
    q->total_dl = loom_deadline(q->s->loop, q->t.total);
}

/* Parse and check the URL: no I/O happens for a bad one. */
static int start_url(struct loom__http_req *q, const char *url)
{
    int rc = loom_url_parse(&q->url, url, (size_t)-1);
    if (rc < 0)
        return loom__http_fail(q->err, q->errlen, rc, "bad URL \"%s\": %s", url,
                               loom_url_strerror(rc));
    if (strcmp(q->url.scheme, "http") && strcmp(q->url.scheme, "https"))
        return loom__http_fail(q->err, q->errlen, -EPROTONOSUPPORT,
                               "unsupported URL scheme \"%s\" (only http and https)",
                               q->url.scheme);
    if (!q->url.host || !*q->url.host)
        return loom__http_fail(q->err, q->errlen, LOOM_URL_EEMPTYHOST, "no host in URL \"%s\"",
                               url);
    return loom__http_visited(q) < 0 ? -ENOMEM : 0;
}

static int request(struct loom__http_req *q, struct loom_http_response *r, const char *url,
                   struct body_src *b)
{
    int rc = start_url(q, url);
    for (int hops = 0; rc == 0; hops++) {
        rc = exchange(q, r, b);
        if (rc == 0)
            rc = loom__http_body_start(r, q);
        if (rc < 0)
            break;
        rc = next_hop(q, r, b, hops);
        if (rc <= 0)
            break;
        discard_body(r);
        response_drop_head(r);
        rc = 0;
    }
    return rc;
}

/* A response object carrying a request being made with options o. */
static struct loom_http_response *req_new(struct loom_http_session *s,
                                          const struct loom_http_request_options *o, char *err,
                                          size_t errlen)
{
    if (err && errlen)
        *err = 0;
    if (o && o->method && strlen(o->method) >= sizeof((struct loom__http_req *)0)->method)
        return NULL; /* it would be cut: another method; the caller says -EINVAL */
    struct loom_http_response *r = loom__http_response_new(s);
    if (!r)
        return NULL;
    struct loom__http_req *q = &r->q;
    q->o = o;
    q->err = err, q->errlen = errlen;
    snprintf(q->method, sizeof q->method, "%s", o && o->method ? o->method : "GET");
    q->max_redirects = o && o->max_redirects ? o->max_redirects : s->o.max_redirects;
    merge_timeouts(q, o);
    return r;
}

/* Why req_new() made nothing. */
static int req_failed(const struct loom_http_request_options *o, char *err, size_t errlen)
{
    if (o && o->method && strlen(o->method) >= sizeof((struct loom__http_req *)0)->method)
        return loom__http_fail(err, errlen, -EINVAL, "method longer than %zu bytes",
                               sizeof((struct loom__http_req *)0)->method - 1);
    return loom__http_fail(err, errlen, -ENOMEM, "out of memory");
}

/* The call that made r is over: r keeps no pointer into the caller's data. */
static int req_done(struct loom_http_response *r, int rc, struct loom_http_response **out)
{
    r->q.o = NULL;
    r->q.err = NULL;
    if (rc < 0) {
        loom_http_response_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

int loom_http_request(struct loom_http_session *s, const char *url,
                      const struct loom_http_request_options *o, struct loom_http_response **out,
                      char *err, size_t errlen)
{
    struct loom_http_response *r = req_new(s, o, err, errlen);
    if (!r)
        return req_failed(o, err, errlen);
    struct body_src b = {.none = true};
    if (o && (o->body || o->body_len || o->body_cb))
        b = (struct body_src){o->body,     o->body_len,       o->body_cb,
                              o->body_arg, o->body_cb_length, false};
    return req_done(r, request(&r->q, r, url, &b), out);
}

/* --- a body the caller writes --- */

static ssize_t no_body(void *arg, void *buf, size_t cap) { return 0; }

struct loom_http_upload {
    struct loom_http_response *r;
    int64_t len; /* announced length, -1: chunked */
    uint64_t sent;
    int error; /* the first failure: later calls repeat it */
};

int loom_http_upload_start(struct loom_http_session *s, const char *url,
                           const struct loom_http_request_options *o, int64_t length,
                           struct loom_http_upload **out, char *err, size_t errlen)
{
    struct loom_http_upload *u = calloc(1, sizeof *u);
    struct loom_http_response *r = u ? req_new(s, o, err, errlen) : NULL;
    if (!r) {
        free(u);
        return req_failed(o, err, errlen);
    }
    u->r = r, u->len = length;
    struct loom__http_req *q = &r->q;
    struct body_src b = {.cb = no_body, .cb_len = length};
    bool reused;
    int rc = start_url(q, url);
    if (rc == 0)
        rc = loom__http_acquire(s, &q->url, LOOM__HTTP_CAREFUL,
                                loom__http_min_deadline(q, q->t.connect), q->t.sock_connect, &q->c,
                                &reused, err, errlen);
    if (rc == 0) {
        r->reused = reused;
        rc = send_head(q, &b);
    }
    q->o = NULL; /* the head is out: nothing of o is needed any more */
    q->err = NULL;
    if (rc < 0) {
        loom_http_response_close(r);
        free(u);
        return rc;
    }
    *out = u;
    return 0;
}

int loom_http_upload_write(struct loom_http_upload *u, const void *buf, size_t len)
{
    struct loom__http_req *q = &u->r->q;
    if (u->error || len == 0)
        return u->error;
    u->sent += len;
    int rc = length_mismatch(q, u->sent, u->len, false);
    if (rc == 0)
        rc = send_piece(q, u->len < 0, buf, len);
    return rc < 0 ? (u->error = rc) : 0;
}

int loom_http_upload_finish(struct loom_http_upload *u, struct loom_http_response **out, char *err,
                            size_t errlen)
{
    struct loom_http_response *r = u->r;
    struct loom__http_req *q = &r->q;
    if (err && errlen)
        *err = 0;
    q->err = err, q->errlen = errlen;
    int rc = u->error;
    if (rc < 0)
        loom__http_fail(err, errlen, rc, "sending the request body: %s", loom_strerror(rc));
    if (rc == 0)
        rc = length_mismatch(q, u->sent, u->len, true);
    if (rc == 0 && u->len < 0)
        rc = send_piece(q, true, NULL, 0);
    bool got, junk;
    if ((rc == -ECONNRESET || rc == -EPIPE) && q->c) /* answered early? */
        rc = early_answer(q, r, rc, &got, &junk);
    else if (rc == 0)
        rc = read_head(q, r, &got, &junk);
    if (rc == 0)
        rc = loom__http_body_start(r, q);
    free(u);
    return req_done(r, rc, out);
}

void loom_http_upload_abort(struct loom_http_upload *u)
{
    if (!u)
        return;
    loom_http_response_close(u->r);
    free(u);
}

int loom_http_get(struct loom_http_session *s, const char *url, struct loom_http_response **out,
                  char *err, size_t errlen)
{
    return loom_http_request(s, url, NULL, out, err, errlen);
}

/* --- the blocking call --- */

struct blocking {
    const char *url;
    const struct loom_http_session_options *opts;
    uint64_t max;
    int status;
    char *body;
    size_t len;
    char *err;
    size_t errlen;
};

static intptr_t blocking_main(void *arg)
{
    struct blocking *bl = arg;
    struct loom_http_session *s;
    struct loom_http_response *r;
    int rc = loom_http_session_new(loom_loop_current(), bl->opts, &s);
    if (rc < 0)
        return rc;
    rc = loom_http_get(s, bl->url, &r, bl->err, bl->errlen);
    if (rc == 0) {
        bl->status = loom_http_response_status(r);
        ssize_t n = loom_http_response_read_all(r, &bl->body, bl->max);
        if (n < 0)
            loom__http_fail(bl->err, bl->errlen, (int)n, "%s", loom_http_response_error(r));
        rc = n < 0 ? (int)n : 0;
        bl->len = n < 0 ? 0 : (size_t)n;
        loom_http_response_close(r);
    }
    loom_http_session_free(s);
    return rc;
}

int loom_http_get_blocking(const char *url, const struct loom_http_session_options *opts,
                           uint64_t max_body, int *status, char **body, size_t *body_len, char *err,
                           size_t errlen)
{
    struct blocking bl = {url, opts, max_body, 0, NULL, 0, err, errlen};
    struct loom_loop *loop;
    struct loom_task *t;
    *body = NULL;
    int rc = loom_loop_new(&loop, NULL);
    if (rc < 0)
        return loom__http_fail(err, errlen, rc, "cannot make a loop: %s", loom_strerror(rc));
    rc = loom_task_spawn(loop, blocking_main, &bl, NULL, &t);
    if (rc == 0)
        rc = (int)loom_loop_run_until_complete(loop, t);
    loom_loop_free(loop);
    if (rc < 0) {
        free(bl.body);
        return rc;
    }
    *status = bl.status;
    *body = bl.body;
    if (body_len)
        *body_len = bl.len;
    return 0;
}
