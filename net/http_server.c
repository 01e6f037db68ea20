/* http_server.c - the HTTP/1.1 server: connection loop, requests, responses.
 * Routing lives in http_route.c, files and MIME types in http_file.c. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/http_server_internal.h"
#include "net/server_internal.h"
#include "net/tls.h"

#define DEFAULT_MAX_BODY ((uint64_t)1 << 20)
#define DEFAULT_HEADER_TIMEOUT LOOM_SEC(10)
#define DEFAULT_BODY_TIMEOUT LOOM_SEC(30)
#define DEFAULT_KEEPALIVE LOOM_SEC(15)
#define DEFAULT_WRITE_TIMEOUT LOOM_SEC(30)
#define DEFAULT_MIN_BODY_RATE 512 /* bytes/s a body averages after body_timeout_ns */
#define MAX_SERVER_HEADER 256     /* the "Server:" value (opt.server_header) */
#define LINGER_NS LOOM_SEC(2)     /* lingering close: time for the client's EOF */
#define LINGER_MAX (64 << 20)     /* ... and bytes read away meanwhile */
#define DISCARD_MAX (64 * 1024)   /* unread body we read away to keep the connection */

static int64_t or_default(int64_t v, int64_t d) { return v > 0 ? v : d; }

/* --- the Date header, formatted once a second per thread --- */

static const char *http_date(void)
{
    static _Thread_local char buf[40];
    static _Thread_local time_t last;
    time_t now = time(NULL);
    if (now != last) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        last = now;
    }
    return buf;
}

/* --- reading the request head --- */

/* Time left until deadline as a timeout (at least 1 ns so it still waits). */
static int64_t left(struct loom_loop *loop, int64_t deadline)
{
    int64_t d = deadline - loom_loop_now(loop);
    return d > 0 ? d : 1;
}

/* Re-point a view from the parse buffer to the copy and NUL-terminate it:
 * every view is followed by a separator (SP, ':', OWS or CR) that no other
 * view covers, so it may be overwritten. */
static void move_view(struct loom_http_str *v, const char *from, char *to)
{
    if (!v->len) {
        v->ptr = "";
        return;
    }
    char *p = to + (v->ptr - from);
    p[v->len] = '\0';
    v->ptr = p;
}

/* Copy the head into the connection's buffer, NUL-terminate every view in
 * place and re-point the views there, so they survive reads of the body. */
static int keep_head(struct conn *c, struct loom_http_req *r, const char *src, size_t n)
{
    if (n + 1 > c->head_cap) {
        char *b = realloc(c->head, n + 1);
        if (!b)
            return -ENOMEM;
        c->head = b;
        c->head_cap = n + 1;
    }
    memcpy(c->head, src, n);
    c->head[n] = '\0';
    move_view(&r->h.method, src, c->head);
    move_view(&r->h.target, src, c->head);
    for (size_t i = 0; i < r->h.header_count; i++) {
        move_view(&r->h.headers[i].name, src, c->head);
        move_view(&r->h.headers[i].value, src, c->head);
    }
    return 0;
}

/* Wait for and parse the next request head. 1: a request; 0: the client
 * closed or went idle between requests (close quietly); < 0: an error, with
 * *status set when it deserves an answer. */
static int read_head(struct conn *c, struct loom_http_req *r, int *status)
{
    struct loom_http_server *srv = c->srv;
    const void *data;
    int64_t idle = or_default(srv->opt.keepalive_timeout_ns, DEFAULT_KEEPALIVE);
    if (c->nreq == 0)
        idle = or_default(srv->opt.header_timeout_ns, DEFAULT_HEADER_TIMEOUT);
    /* Between requests the connection is reusable: a server at its
     * connection limit may close it for a new client (clients retry a
     * request on a kept-alive connection that closes before an answer). A
     * first request is awaited like a request: a client gets its answer. */
    struct loom__server_idle rec = {.srv = NULL};
    if (c->nreq > 0)
        loom__server_idle_begin(&rec, c->s);
    ssize_t n = loom_stream_peek(c->s, &data, 1, idle);
    loom__server_idle_end(&rec);
    if (n < 0)
        return n == LOOM_EOF || n == -ETIMEDOUT ? 0 : (int)n;
    int64_t deadline =
        loom_deadline(c->loop, or_default(srv->opt.header_timeout_ns, DEFAULT_HEADER_TIMEOUT));
    size_t last = 0;
    for (;;) {
        r->h.headers = c->hdrs;
        r->h.header_cap = c->nhdrs;
        ssize_t rc = loom_http_parse_request(&r->h, data, (size_t)n, last, &srv->lim);
        if (rc > 0) {
            int e = keep_head(c, r, data, (size_t)rc);
            if (e < 0)
                return *status = 500, e;
            loom_stream_consume(c->s, (size_t)rc);
            return 1;
        }
        if (rc < 0)
            return *status = loom_http_error_status((int)rc), (int)rc;
        last = (size_t)n;
        n = loom_stream_peek(c->s, &data, last + 1, left(c->loop, deadline));
        if (n == -ETIMEDOUT)
            return *status = 408, (int)n;
        if (n == LOOM_ELIMIT)
            return *status = 431, (int)n;
        if (n < 0)
            return (int)n; /* EOF mid-head, reset: nobody to answer */
    }
}

/* Split the target into path (decoded) and query; 0 or a status to answer. */
static int split_target(struct loom_http_req *r)
{
    const char *t = r->h.target.ptr;
    r->query = "";
    if (!strcmp(t, "*")) { /* asterisk-form: the server itself, never a route */
        if (strcmp(r->method, "OPTIONS"))
            return 400;
        r->path = strdup("*");
        return r->path ? 0 : 500;
    }
    bool empty_path = false;
    if (!strncasecmp(t, "http://", 7) || !strncasecmp(t, "https://", 8)) {
        /* The authority ends at the first '/' or '?': a '/' inside the query
         * ("http://h?a=/admin") is data, never the start of the path. */
        t = strstr(t, "://") + 3;
        t += strcspn(t, "/?");
        empty_path = t[0] != '/'; /* "http://h" and "http://h?q" ask for "/" */
    }
    if (t[0] != '/' && !empty_path)
        return 400;
    const char *q = strchr(t, '?');
    size_t plen = q ? (size_t)(q - t) : strlen(t);
    r->query = q ? q + 1 : "";
    if (empty_path) {
        r->path = strdup("/");
        return r->path ? 0 : 500;
    }
    r->path = malloc(plen + 1);
    if (!r->path)
        return 500;
    return loom__http_decode_path(t, plen, r->path) < 0 ? 400 : 0;
}

/* --- the body --- */

static int send_continue(struct loom_http_req *r)
{
    if (!r->fr.expect_continue || r->continue_sent || r->res->started)
        return 0;
    r->continue_sent = true;
    return loom_stream_write(r->c->s, "HTTP/1.1 100 Continue\r\n\r\n", 25);
}

static ssize_t read_length(struct loom_http_req *r, void *buf, size_t len, int64_t timeout)
{
    if (r->body_left == 0)
        return 0;
    if (len > r->body_left)
        len = (size_t)r->body_left;
    ssize_t n = loom_stream_read_some(r->c->s, buf, len, timeout);
    if (n == LOOM_EOF)
        return LOOM_EHTTP; /* the client promised more */
    if (n > 0)
        r->body_left -= (uint64_t)n;
    return n;
}

/* Chunked: a decoded piece may be larger than the caller's buffer; the rest
 * stays pending in the stream's buffer, which nothing moves until the
 * next read (response writes use the other buffer). */
static ssize_t read_chunked(struct loom_http_req *r, void *buf, size_t len, int64_t timeout)
{
    while (!r->pend_len) {
        if (r->pend_consume) {
            loom_stream_consume(r->c->s, r->pend_consume);
            r->pend_consume = 0;
        }
        if (loom_http_chunked_done(&r->ch))
            return 0;
        const void *data;
        ssize_t n = loom_stream_peek(r->c->s, &data, r->need, timeout);
        if (n == LOOM_EOF)
            return LOOM_EHTTP;
        if (n < 0)
            return n;
        struct loom_http_str v;
        ssize_t used = loom_http_chunked_next(&r->ch, data, (size_t)n, &v);
        if (used < 0)
            return used == LOOM_HTTP_EBODY_TOO_LARGE ? LOOM_ELIMIT : LOOM_EHTTP;
        r->need = used == 0 ? (size_t)n + 1 : 1;
        r->pend = v.ptr;
        r->pend_len = v.len;
        r->pend_consume = (size_t)used;
    }
    size_t k = r->pend_len < len ? r->pend_len : len;
    memcpy(buf, r->pend, k);
    r->pend += k;
    r->pend_len -= k;
    return (ssize_t)k;
}

ssize_t loom_http_req_read(struct loom_http_req *r, void *buf, size_t len)
{
    if (r->body_err)
        return r->body_err;
    int rc = send_continue(r);
    if (rc < 0)
        return rc;
    int64_t timeout = or_default(r->c->srv->opt.body_timeout_ns, DEFAULT_BODY_TIMEOUT);
    int64_t rate = r->c->srv->opt.min_body_rate, start = loom_loop_now(r->c->loop);
    rate = rate ? rate : DEFAULT_MIN_BODY_RATE;
    if (rate > 0 && !r->rate_started) {
        r->rate_started = true;
        r->rate_budget = timeout;
    }
    int64_t limit = rate > 0 ? r->rate_budget : INT64_MAX;
    if (r->body_deadline && r->body_deadline - start < limit)
        limit = r->body_deadline - start;
    if (limit <= 0)
        return r->body_err = -ETIMEDOUT;
    timeout = limit < timeout ? limit : timeout;
    ssize_t n = 0;
    if (r->fr.body == LOOM_HTTP_BODY_LENGTH)
        n = read_length(r, buf, len, timeout);
    else if (r->fr.body == LOOM_HTTP_BODY_CHUNKED)
        n = read_chunked(r, buf, len, timeout);
    /* Minimum rate: the time spent waiting for the client (never the
     * handler's own time between reads) is paid from a budget that starts at
     * body_timeout_ns and that each byte received adds 1/rate s to. */
    if (rate > 0) {
        r->rate_budget -= loom_loop_now(r->c->loop) - start;
        if (n > 0)
            r->rate_budget += (int64_t)((uint64_t)n * 1000000000u / (uint64_t)rate);
    }
    if (n > 0 && (r->body_read += (uint64_t)n) > r->c->srv->max_body)
        n = LOOM_ELIMIT;
    if (n < 0)
        r->body_err = (int)n;
    return n;
}

ssize_t loom_http_req_body(struct loom_http_req *r, const char **data)
{
    if (r->body_buf) {
        *data = r->body_buf;
        return (ssize_t)r->body_len;
    }
    size_t cap = 1024, len = 0;
    if (r->fr.body == LOOM_HTTP_BODY_LENGTH && r->fr.content_length < r->c->srv->max_body)
        cap = (size_t)r->fr.content_length + 1;
    char *b = malloc(cap);
    if (!b)
        return -ENOMEM;
    for (;;) {
        if (len + 1 == cap) {
            char *nb = cap * 2 > r->c->srv->max_body + 1 ? NULL : realloc(b, cap * 2);
            if (!nb && cap * 2 > r->c->srv->max_body + 1 &&
                (nb = realloc(b, (size_t)r->c->srv->max_body + 2)))
                cap = (size_t)r->c->srv->max_body + 2;
            else if (nb)
                cap *= 2;
            if (!nb) {
                free(b);
                return -ENOMEM;
            }
            b = nb;
        }
        ssize_t n = loom_http_req_read(r, b + len, cap - 1 - len);
        if (n < 0) {
            free(b);
            return n;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    b[len] = '\0';
    r->body_buf = b;
    r->body_len = len;
    *data = b;
    return (ssize_t)len;
}

/* Whether JSON text nests arrays and objects deeper than max. jansson parses
 * by recursion (to 2,048 levels) on the handler's task stack: a small stack
 * would overflow long before its limit. */
static bool json_too_deep(const char *s, size_t len, int max)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return true;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return false;
}

int loom_http_req_json(struct loom_http_req *r, struct json_t **out)
{
    const char *data;
    *out = NULL;
    ssize_t n = loom_http_req_body(r, &data);
    if (n < 0)
        return (int)n;
    if (json_too_deep(data, (size_t)n, LOOM_HTTP_JSON_MAX_DEPTH))
        return -EINVAL;
    json_error_t err;
    *out = json_loadb(data, (size_t)n, JSON_REJECT_DUPLICATES, &err);
    return *out ? 0 : -EINVAL;
}

/* Whether the whole request body has arrived (and nothing of it is in flight). */
static bool body_read(const struct loom_http_req *r)
{
    if (r->body_err)
        return false;
    if (r->fr.body == LOOM_HTTP_BODY_LENGTH)
        return r->body_left == 0;
    return r->fr.body == LOOM_HTTP_BODY_NONE || loom_http_chunked_done(&r->ch);
}

/* After the handler: read away a small unread body so the connection can
 * carry the next request; a large one costs the connection instead, and so
 * does one that takes longer than body_timeout_ns in all (a client dripping
 * a byte now and then would otherwise hold the connection for ever). */
static bool discard_body(struct loom_http_req *r)
{
    if (r->fr.body == LOOM_HTTP_BODY_NONE || r->body_err)
        return r->body_err == 0;
    if (r->fr.body == LOOM_HTTP_BODY_LENGTH && r->body_left > DISCARD_MAX)
        return false;
    if (r->fr.expect_continue && !r->continue_sent)
        return r->fr.body == LOOM_HTTP_BODY_LENGTH && r->body_left == 0;
    r->body_deadline =
        loom_deadline(r->c->loop, or_default(r->c->srv->opt.body_timeout_ns, DEFAULT_BODY_TIMEOUT));
    char sink[4096];
    size_t total = 0;
    ssize_t n;
    while ((n = loom_http_req_read(r, sink, sizeof sink)) > 0)
        if ((total += (size_t)n) > DISCARD_MAX)
            return false;
    return n == 0;
}

/* --- request accessors --- */

const char *loom_http_req_method(const struct loom_http_req *r) { return r->method; }
const char *loom_http_req_path(const struct loom_http_req *r) { return r->path; }
const char *loom_http_req_query(const struct loom_http_req *r) { return r->query; }
const char *loom_http_req_target(const struct loom_http_req *r) { return r->h.target.ptr; }
int loom_http_req_minor_version(const struct loom_http_req *r) { return r->h.minor_version; }
const char *loom_http_req_remote(const struct loom_http_req *r) { return r->c->remote; }
uint64_t loom_http_req_id(const struct loom_http_req *r) { return r->id; }
struct loom_stream *loom_http_req_stream(struct loom_http_req *r) { return r->c->s; }
bool loom_http_req_is_websocket(const struct loom_http_req *r) { return r->fr.upgrade_websocket; }
size_t loom_http_req_header_count(const struct loom_http_req *r) { return r->h.header_count; }

const char *loom_http_req_header(const struct loom_http_req *r, const char *name, size_t nth)
{
    const struct loom_http_header *h =
        loom_http_header_find(r->h.headers, r->h.header_count, name, nth);
    return h ? h->value.ptr : NULL;
}

int loom_http_req_header_at(const struct loom_http_req *r, size_t i, const char **name,
                            const char **value)
{
    if (i >= r->h.header_count)
        return -ERANGE;
    *name = r->h.headers[i].name.ptr;
    *value = r->h.headers[i].value.ptr;
    return 0;
}

const char *loom_http_req_param(const struct loom_http_req *r, const char *name)
{
    for (size_t i = 0; i < r->nparams; i++)
        if (!strcmp(r->params[i].name, name))
            return r->params[i].value;
    return NULL;
}

const char *loom_http_req_query_param(struct loom_http_req *r, const char *name)
{
    return loom__http_query_param(r->query, name, &r->qvals);
}

/* --- responses --- */

static int64_t write_timeout(const struct loom_http_reply *res)
{
    return or_default(res->c->srv->opt.write_timeout_ns, DEFAULT_WRITE_TIMEOUT);
}

static bool token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

int loom_http_reply_header(struct loom_http_reply *res, const char *name, const char *value)
{
    if (res->started)
        return -EALREADY;
    size_t nlen = strlen(name), vlen = strlen(value);
    if (nlen == 0)
        return -EINVAL;
    for (size_t i = 0; i < nlen; i++)
        if (!token_char((unsigned char)name[i]))
            return -EINVAL;
    for (size_t i = 0; i < vlen; i++) /* no CR, LF or NUL: no header injection */
        if ((unsigned char)value[i] < 0x20 && value[i] != '\t')
            return -EINVAL;
    if (res->extra_len + nlen + vlen + 4 > sizeof res->extra)
        return -ENOSPC;
    char *p = res->extra + res->extra_len;
    memcpy(p, name, nlen);
    memcpy(p + nlen, ": ", 2);
    memcpy(p + nlen + 2, value, vlen);
    memcpy(p + nlen + 2 + vlen, "\r\n", 2);
    res->extra_len += nlen + vlen + 4;
    return 0;
}

/* Whether the response must close the connection (and say so). */
static bool must_close(const struct loom_http_reply *res)
{
    const struct loom_http_req *r = res->req;
    /* An Upgrade we did not take still ends the connection (serve_one): say so. */
    return res->close || !r->fr.keep_alive || r->fr.upgrade ||
           res->c->s->stop_reading /* shutting down */ ||
           (res->c->srv->opt.max_requests_per_conn &&
            res->c->nreq + 1 >= res->c->srv->opt.max_requests_per_conn);
}

/* Append to the head being formatted: the new length, or cap once it would
 * not fit (every later append is then a no-op). */
static size_t head_add(char *head, size_t cap, size_t n, const char *fmt, ...)
{
    if (n >= cap)
        return cap;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(head + n, cap - n, fmt, ap);
    va_end(ap);
    return k < 0 || (size_t)k >= cap - n ? cap : n + (size_t)k;
}

/* Send the head. content_length < 0: chunked (HTTP/1.1) or until close (1.0).
 * -EINVAL for a status outside 200-999 (101 aside), -ENOSPC if the head does not fit
 * (the Server header is bounded at start, so only a bug gets there). */
static int send_head(struct loom_http_reply *res, int status, int64_t content_length)
{
    const struct loom_http_req *r = res->req;
    if ((status < 200 && status != 101) || status > 999)
        return -EINVAL; /* a 1xx as the answer would leave the client waiting for the real one */
    bool bodiless = status < 200 || status == 204 || status == 304;
    bool chunked = false, close = false;
    if (content_length < 0 && !bodiless) {
        if (r->h.minor_version >= 1)
            chunked = true;
        else
            close = true;
    }
    close = close || must_close(res);
    char *head = res->head;
    size_t cap = sizeof res->head, n;
    const char *reason = loom_http_reason(status);
    n = head_add(head, cap, 0, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: %s\r\n", status,
                 reason[0] ? reason : "Unknown", http_date(),
                 res->c->srv->opt.server_header ? res->c->srv->opt.server_header : "loom");
    if (chunked)
        n = head_add(head, cap, n, "Transfer-Encoding: chunked\r\n");
    else if (content_length >= 0 && !(bodiless && status != 304))
        n = head_add(head, cap, n, "Content-Length: %lld\r\n", (long long)content_length);
    if (close && status != 101)
        n = head_add(head, cap, n, "Connection: close\r\n");
    else if (r->h.minor_version == 0)
        n = head_add(head, cap, n, "Connection: keep-alive\r\n");
    if (res->c->srv->opt.request_ids)
        n = head_add(head, cap, n, "X-Request-Id: %llu\r\n", (unsigned long long)r->id);
    if (n + res->extra_len + 2 > cap)
        return -ENOSPC;
    memcpy(head + n, res->extra, res->extra_len);
    n += res->extra_len;
    memcpy(head + n, "\r\n", 2);
    n += 2;
    res->started = true;
    res->status = status;
    res->chunked = chunked;
    res->close = close;
    res->remaining = content_length;
    res->head_only = r->is_head || bodiless;
    res->head_len = n; /* goes out with the first body bytes (one syscall) */
    return 0;
}

/* Write iov, preceded by the head if it has not gone out yet. */
static int out(struct loom_http_reply *res, const struct iovec *iov, int n)
{
    struct iovec v[4];
    int k = 0;
    if (res->head_len) {
        v[k++] = (struct iovec){res->head, res->head_len};
        res->head_len = 0;
    }
    for (int i = 0; i < n; i++)
        v[k++] = iov[i];
    return k ? loom_stream_writev(res->c->s, v, k) : 0;
}

int loom__http_reply_flush_head(struct loom_http_reply *res) { return out(res, NULL, 0); }

int loom__http_reply_begin(struct loom_http_reply *res, int status, int64_t content_length)
{
    return res->started ? -EALREADY : send_head(res, status, content_length);
}

/* Queue body bytes, then wait while the client is behind (backpressure). */
static int put_body(struct loom_http_reply *res, const void *data, size_t len)
{
    if (res->head_only || len == 0)
        return out(res, NULL, 0);
    int rc;
    if (res->chunked) {
        char size[24];
        int k = snprintf(size, sizeof size, "%zx\r\n", len);
        struct iovec iov[3] = {{size, (size_t)k}, {(void *)data, len}, {"\r\n", 2}};
        rc = out(res, iov, 3);
    } else {
        if (res->remaining >= 0) {
            if ((int64_t)len > res->remaining)
                return -EMSGSIZE; /* more than the Content-Length announced */
            res->remaining -= (int64_t)len;
        }
        rc = out(res, &(struct iovec){(void *)data, len}, 1);
    }
    res->sent += len;
    if (rc == 0)
        rc = loom_stream_drain(res->c->s, write_timeout(res));
    return rc;
}

int loom_http_reply_start(struct loom_http_reply *res, int status, int64_t content_length)
{
    if (res->started)
        return -EALREADY;
    int rc = send_head(res, status, content_length);
    if (rc == 0)
        rc = out(res, NULL, 0); /* a stream (SSE) must show its head before its first event */
    return rc < 0 ? rc : loom_stream_drain(res->c->s, write_timeout(res));
}

int loom_http_reply_write(struct loom_http_reply *res, const void *data, size_t len)
{
    if (!res->started) {
        int rc = send_head(res, 200, -1);
        if (rc < 0)
            return rc;
    }
    if (res->ended)
        return -EALREADY;
    return put_body(res, data, len);
}

int loom_http_reply_end(struct loom_http_reply *res)
{
    if (!res->started) {
        int rc = send_head(res, 204, 0);
        if (rc < 0)
            return rc;
    }
    if (res->ended)
        return 0;
    res->ended = true;
    if (res->chunked && !res->head_only)
        return out(res, &(struct iovec){"0\r\n\r\n", 5}, 1);
    if (res->remaining > 0 && !res->head_only)
        res->close = true; /* short of the Content-Length: the client must see the end */
    return out(res, NULL, 0);
}

int loom_http_reply_send(struct loom_http_reply *res, int status, const char *content_type,
                         const void *body, size_t len)
{
    if (res->started)
        return -EALREADY;
    int rc = content_type ? loom_http_reply_header(res, "Content-Type", content_type) : 0;
    if (rc == 0)
        rc = send_head(res, status, (int64_t)len);
    if (rc == 0)
        rc = put_body(res, body, len);
    res->ended = res->started; /* nothing sent: the server still answers */
    return rc;
}

int loom_http_reply_text(struct loom_http_reply *res, int status, const char *text)
{
    return loom_http_reply_send(res, status, "text/plain; charset=utf-8", text, strlen(text));
}

int loom_http_reply_json(struct loom_http_reply *res, int status, const struct json_t *json)
{
    char *s = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        return -ENOMEM;
    int rc = loom_http_reply_send(res, status, "application/json", s, strlen(s));
    free(s);
    return rc;
}

int loom_http_reply_error(struct loom_http_reply *res, int status)
{
    char body[96];
    const char *reason = loom_http_reason(status);
    int n = snprintf(body, sizeof body, "%d %s\n", status, reason[0] ? reason : "Error");
    return loom_http_reply_send(res, status, "text/plain; charset=utf-8", body, (size_t)n);
}

void loom_http_reply_upgraded(struct loom_http_reply *res)
{
    res->upgraded = res->started = res->ended = true;
}

void loom_http_reply_close(struct loom_http_reply *res) { res->close = true; }
bool loom_http_reply_started(const struct loom_http_reply *res) { return res->started; }
int loom_http_reply_status(const struct loom_http_reply *res) { return res->status; }

/* --- one request --- */

static void access_log(struct conn *c, struct loom_http_req *r, struct loom_http_reply *res,
                       int64_t start)
{
    FILE *f = c->srv->opt.access_log;
    if (!f)
        return;
    double ms = (double)(loom_loop_now(c->loop) - start) / 1e6;
    char target[256];
    loom__http_log_escape(r->h.target.ptr, target, sizeof target);
    fprintf(f, "%s \"%s %s HTTP/1.%d\" %d %llu %.3fms id=%llu\n", c->remote, r->method, target,
            r->h.minor_version, res->status, (unsigned long long)res->sent, ms,
            (unsigned long long)r->id);
    fflush(f);
}

/* Answer an error without a handler; the connection closes after it. */
static void answer_error(struct conn *c, struct loom_http_req *r, struct loom_http_reply *res,
                         int status)
{
    res->close = true;
    if (!res->started) {
        res->extra_len = 0; /* a failed handler's headers (its Content-Type...) are not ours */
        loom_http_reply_error(res, status);
    }
    (void)r;
}

static void request_free(struct loom_http_req *r)
{
    free(r->path);
    free(r->body_buf);
    for (struct loom__http_qval *q = r->qvals, *next; q; q = next) {
        next = q->next;
        free(q);
    }
    free(r->params_buf);
}

/* The answer to a handler that failed on the request body (the client's
 * fault: the body was malformed, too large or too slow), else 500. */
static int body_status(int body_err)
{
    return body_err == LOOM_ELIMIT  ? 413
           : body_err == LOOM_EHTTP ? 400
           : body_err == -ETIMEDOUT ? 408
                                    : 500;
}

/* Before closing: send what is queued, half-close, then read and drop what
 * the client still sends (the rest of a body we refused, pipelined requests)
 * until its EOF, within LINGER_NS and LINGER_MAX bytes. Closing with unread
 * bytes makes the kernel send a reset, and a client still sending its body
 * (Python's http.client posting 20 MB to a 413) then loses the answer.
 * unread: the client may still be sending (an error, a body not read in full). */
static void linger_close(struct conn *c, bool unread)
{
    int64_t deadline = loom_deadline(c->loop, LINGER_NS);
    /* Nothing may follow (a request answered in full): close at once, and
     * do not hold the connection slot for a client that keeps its socket. */
    unread = unread || loom_stream_buffered(c->s) > 0;
    if (loom_stream_flush(c->s, LOOM_SEC(1)) < 0 || !unread || loom_stream_write_eof(c->s) < 0)
        return;
    for (size_t total = 0; total < LINGER_MAX;) {
        const void *v;
        int64_t wait = deadline - loom_loop_now(c->loop);
        ssize_t n = wait > 0 ? loom_stream_read_view(c->s, &v, 1 << 16, wait) : -ETIMEDOUT;
        if (n <= 0)
            return; /* EOF, timeout, reset or cancelled */
        total += (size_t)n;
    }
}

/* Serve one request; returns whether the connection may carry another. */
static bool serve_one(struct conn *c)
{
    struct loom_http_req r = {.c = c};
    struct loom_http_reply res = {.c = c, .req = &r, .status = 0, .remaining = -1};
    r.res = &res;
    r.need = 1;
    int status = 0;
    int rc = read_head(c, &r, &status);
    if (rc <= 0) {
        if (status) {
            /* A malformed or oversized head: answer as HTTP/1.1, then close. */
            r.h.minor_version = 1;
            r.method = "-";
            r.h.target.ptr = "-";
            answer_error(c, &r, &res, status);
            access_log(c, &r, &res, loom_loop_now(c->loop));
            linger_close(c, true); /* the rest of the head, a body may follow */
        }
        request_free(&r);
        return false;
    }
    int64_t start = loom_loop_now(c->loop);
    r.id = atomic_fetch_add(&c->srv->next_id, 1) + 1;
    r.method = r.h.method.ptr;
    r.is_head = !strcmp(r.method, "HEAD");
    rc = loom_http_request_framing(&r.h, &c->srv->lim, &r.fr);
    if (rc < 0)
        status = loom_http_error_status(rc);
    else if (r.fr.body == LOOM_HTTP_BODY_LENGTH && r.fr.content_length > c->srv->max_body)
        status = 413;
    else
        status = split_target(&r);
    if (r.fr.body == LOOM_HTTP_BODY_LENGTH)
        r.body_left = r.fr.content_length;
    loom_http_chunked_init(&r.ch, &c->srv->lim);
    r.ch._lim.max_body = c->srv->max_body;
    if (status) {
        answer_error(c, &r, &res, status);
    } else if (r.path[0] == '*') { /* OPTIONS *: nothing to say beyond HTTP/1.1 */
        loom_http_reply_send(&res, 204, NULL, NULL, 0);
    } else {
        rc = loom__http_dispatch(c->srv->router, &r, &res);
        if (rc < 0 && !res.started)
            answer_error(c, &r, &res, body_status(r.body_err));
        else if (rc < 0)
            res.close = true; /* cannot tell the client: cut the response short */
        else if (!res.ended)
            loom_http_reply_end(&res);
    }
    bool again = !res.close && !res.upgraded && !r.fr.upgrade && discard_body(&r);
    if (!again && !res.upgraded)
        res.close = true;
    /* a refused request (its framing may be unknown) or a body not read in full */
    bool unread = status != 0 || !body_read(&r);
    atomic_fetch_add(&c->srv->requests, 1);
    access_log(c, &r, &res, start);
    request_free(&r);
    if (res.upgraded)
        return false;
    if (!again) /* let the client read the answer before the close */
        linger_close(c, unread);
    /* Backpressure between requests too: bodiless answers (HEAD, 304, 204)
     * never wait in put_body, so a pipelining client that never reads would
     * otherwise queue them without bound. */
    return again && loom_stream_write_error(c->s) == 0 &&
           loom_stream_drain(c->s, write_timeout(&res)) == 0;
}

/* The loom_server handler: one connection. */
static intptr_t serve_conn(struct loom_stream *s, void *arg)
{
    struct loom_http_server *srv = arg;
    struct conn c = {.srv = srv, .s = s, .loop = loom_stream_loop(s)};
    if (loom_stream_peername(s, c.remote, sizeof c.remote) < 0)
        strcpy(c.remote, "-");
    c.nhdrs = srv->lim.max_headers;
    c.hdrs = malloc(c.nhdrs * sizeof(*c.hdrs));
    if (!c.hdrs)
        return -ENOMEM;
    loom_stream_set_limit(s, srv->lim.max_start_line + srv->lim.max_header_bytes + 1024);
    int rc = 0;
    if (srv->opt.tls) {
        char err[256];
        rc = loom_tls_accept_stream(&c.s, srv->opt.tls,
                                    or_default(srv->opt.header_timeout_ns, DEFAULT_HEADER_TIMEOUT),
                                    err, sizeof err);
    }
    while (rc == 0 && serve_one(&c))
        c.nreq++;
    free(c.hdrs);
    free(c.head);
    return rc;
}

/* --- the server --- */

/* The user's on_listening gets the hook arg, not our server record. */
static void on_listening(struct loom_server *net, void *arg)
{
    struct loom_http_server *srv = arg;
    srv->opt.net.on_listening(net, srv->opt.hook_arg);
}

/* A Server value that fits every head beside the handler's headers, with
 * no byte that could end the field (CR, LF) or inject another. */
static bool server_header_ok(const char *v)
{
    if (!v)
        return true;
    size_t n = strlen(v);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return false;
    return n <= MAX_SERVER_HEADER;
}

static int setup(struct loom_http_server *srv, const struct loom_http_server_options *opt,
                 struct loom_http_router *router)
{
    srv->opt = *opt;
    srv->router = router;
    /* Each limit left 0 takes its default (a partly filled struct must not
     * leave, say, max_headers at 0 and refuse every request). */
    struct loom_http_limits def = LOOM_HTTP_LIMITS_DEFAULT, *l = &srv->lim;
    *l = opt->limits;
    l->max_start_line = l->max_start_line ? l->max_start_line : def.max_start_line;
    l->max_header_bytes = l->max_header_bytes ? l->max_header_bytes : def.max_header_bytes;
    l->max_headers = l->max_headers ? l->max_headers : def.max_headers;
    l->max_chunk_line = l->max_chunk_line ? l->max_chunk_line : def.max_chunk_line;
    l->max_trailer_bytes = l->max_trailer_bytes ? l->max_trailer_bytes : def.max_trailer_bytes;
    srv->max_body = opt->max_body ? opt->max_body : DEFAULT_MAX_BODY;
    srv->lim.max_body = srv->max_body;
    srv->net_opt = opt->net;
    if (opt->net.on_listening)
        srv->net_opt.on_listening = on_listening;
    return router && server_header_ok(opt->server_header) ? 0 : -EINVAL;
}

int loom_http_server_start(struct loom_loop *loop, const struct loom_http_server_options *opt,
                           struct loom_http_router *router, struct loom_http_server **out)
{
    struct loom_http_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return -ENOMEM;
    int rc = setup(srv, opt, router);
    srv->loop = loop;
    if (rc == 0 && opt->on_start)
        rc = opt->on_start(srv, opt->hook_arg);
    bool started = rc == 0;
    if (rc == 0)
        rc = loom_server_start(loop, &srv->net_opt, serve_conn, srv, &srv->net);
    if (rc < 0) {
        if (started && opt->on_stop)
            opt->on_stop(srv, opt->hook_arg);
        free(srv);
        return rc;
    }
    *out = srv;
    return 0;
}

int loom_http_server_serve_forever(struct loom_http_server *srv)
{
    int rc = loom_server_serve_forever(srv->net);
    if (srv->opt.on_stop && !srv->stopped) {
        srv->stopped = true;
        srv->opt.on_stop(srv, srv->opt.hook_arg);
    }
    return rc;
}

void loom_http_server_stop(struct loom_http_server *srv) { loom_server_stop(srv->net); }

int loom_http_server_shutdown(struct loom_http_server *srv, int64_t grace_ns)
{
    int rc = loom_server_shutdown(srv->net, grace_ns);
    if (srv->opt.on_stop && !srv->stopped) {
        srv->stopped = true;
        srv->opt.on_stop(srv, srv->opt.hook_arg);
    }
    return rc;
}

void loom_http_server_free(struct loom_http_server *srv)
{
    if (!srv)
        return;
    loom_server_free(srv->net);
    free(srv);
}

int loom_http_server_port(const struct loom_http_server *srv) { return loom_server_port(srv->net); }
struct loom_server *loom_http_server_net(const struct loom_http_server *srv) { return srv->net; }
uint64_t loom_http_server_requests(const struct loom_http_server *srv)
{
    return atomic_load(&((struct loom_http_server *)srv)->requests);
}

/* --- workers: one loom_server per thread, one shared configuration --- */

static int worker_start(struct loom_loop *loop, void *arg)
{
    struct loom_http_server *srv = arg;
    (void)loop;
    return srv->opt.on_start ? srv->opt.on_start(srv, srv->opt.hook_arg) : 0;
}

static void worker_stop(struct loom_loop *loop, void *arg)
{
    struct loom_http_server *srv = arg;
    (void)loop;
    if (srv->opt.on_stop)
        srv->opt.on_stop(srv, srv->opt.hook_arg);
}

int loom_http_server_run(const struct loom_http_server_options *opt,
                         struct loom_http_router *router, unsigned workers)
{
    struct loom_http_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return -ENOMEM;
    int rc = setup(srv, opt, router);
    if (rc == 0) {
        struct loom_server_options net = srv->net_opt;
        net.on_worker_start = worker_start;
        net.on_worker_stop = worker_stop;
        rc = loom_server_run(&net, &srv->opt.loop, workers, serve_conn, srv);
    }
    free(srv);
    return rc;
}
