/* http_body.c - reading a response body: framing (Content-Length, chunked
 * with trailers, until close; RFC 9112 §6.3), content decoding, lines, the
 * whole body with a cap, and the response's accessors.
 *
 * Layers, bottom up: raw_next() hands out views of the message body bytes in
 * the connection's buffer (the chunked decoder strips the framing); read_raw()
 * passes them through or inflates them; readline() keeps a decoded look-ahead.
 * Any failure (including a timeout or a cancellation) closes the connection:
 * only a body read to its end gives the connection back to the pool. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/http_internal.h"
#include "reactor/error.h"
#include "reactor/park.h"

int loom__http_map_parse(ssize_t e)
{
    switch (e) {
    case LOOM_HTTP_ELINE_TOO_LONG:
    case LOOM_HTTP_EHEADERS_TOO_LARGE:
    case LOOM_HTTP_ETOO_MANY_HEADERS:
    case LOOM_HTTP_ECHUNK_LINE_TOO_LONG:
    case LOOM_HTTP_ETRAILERS_TOO_LARGE:
    case LOOM_HTTP_EBODY_TOO_LARGE:
        return LOOM_ELIMIT;
    default:
        return e == -ENOMEM ? -ENOMEM : LOOM_EHTTP;
    }
}

static int64_t deadline_min(int64_t a, int64_t b)
{
    if (a < 0)
        return b;
    return b < 0 || a < b ? a : b;
}

int64_t loom__http_min_deadline(const struct loom__http_req *q, int64_t timeout_ns)
{
    return deadline_min(q->total_dl, loom_deadline(q->s->loop, timeout_ns));
}

int64_t loom__http_req_timeout(const struct loom__http_req *q)
{
    int64_t dl = loom__http_min_deadline(q, q->t.sock_read);
    if (dl < 0)
        return -1;
    int64_t left = dl - loom_deadline(q->s->loop, 0);
    return left > 0 ? left : 0;
}

/* Format u into a malloc'd string (URLs may be up to ~3 x LOOM_URL_MAX once
 * percent-encoded, too big for a task's stack). NULL on ENOMEM. */
char *loom__http_url_string(const struct loom_url *u)
{
    for (size_t cap = 512;; cap *= 2) {
        char *b = malloc(cap);
        ssize_t n = b ? loom_url_format(u, b, cap) : -ENOMEM;
        if (n >= 0 || n != -ENOSPC || cap > 4 * (size_t)LOOM_URL_MAX) {
            if (n < 0)
                free(b), b = NULL;
            return b;
        }
        free(b);
    }
}

int loom__http_visited(struct loom__http_req *q)
{
    char *u = loom__http_url_string(&q->url);
    if (!u)
        return -ENOMEM;
    free(q->url_str);
    q->url_str = u;
    size_t n = strlen(q->method) + 1 + strlen(u) + 1;
    char *key = malloc(n);
    char **v = key ? realloc(q->visited, (q->nvisited + 1) * sizeof *v) : NULL;
    if (!v) {
        free(key);
        return -ENOMEM;
    }
    q->visited = v;
    snprintf(key, n, "%s %s", q->method, u);
    for (size_t i = 0; i < q->nvisited; i++)
        if (!strcmp(q->visited[i], key)) {
            free(key);
            return 1;
        }
    v[q->nvisited++] = key;
    return 0;
}

int loom__http_history_push(struct loom_http_response *r, struct loom__http_req *q, int status)
{
    struct loom__http_hist *h = realloc(r->hist, (r->nhist + 1) * sizeof *h);
    if (!h)
        return -ENOMEM;
    r->hist = h;
    if (!(h[r->nhist].url = strdup(q->url_str ? q->url_str : "")))
        return -ENOMEM;
    h[r->nhist++].status = status;
    return 0;
}

struct loom_http_response *loom__http_response_new(struct loom_http_session *s)
{
    struct loom_http_response *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->hdrs = calloc(s->lim.max_headers ? s->lim.max_headers : 1, sizeof *r->hdrs);
    if (!r->hdrs) {
        free(r);
        return NULL;
    }
    r->q.s = s;
    s->refs++;
    return r;
}

static int fail(struct loom_http_response *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reading failed: remember why and close the connection. */
static int fail(struct loom_http_response *r, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->errmsg, sizeof r->errmsg, fmt, ap);
    va_end(ap);
    r->error = rc;
    loom__http_body_end(r, false);
    return rc;
}

void loom__http_body_end(struct loom_http_response *r, bool ok)
{
    if (r->q.c) {
        bool reuse =
            ok && r->fr.keep_alive && r->fr.body != LOOM_HTTP_BODY_UNTIL_CLOSE && !r->q.unsent;
        loom__http_release(r->q.s, r->q.c, reuse);
        r->q.c = NULL;
    }
    if (ok)
        r->done = true;
    for (size_t i = 0; i < r->ndec; i++) {
        loom__http_decoder_close(&r->dec[i]);
        free(r->stage[i].buf);
        r->stage[i].buf = NULL;
    }
    r->ndec = 0;
    r->decoding = false;
    r->pend_len = 0;
}

/* The charset parameter of Content-Type (RFC 9110 §8.3.1), lowercased. */
static void find_charset(struct loom_http_response *r)
{
    const char *ct = loom_http_response_header(r, "Content-Type", 0);
    const char *p = ct ? strchr(ct, ';') : NULL;
    while (p) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!strncasecmp(p, "charset=", 8)) {
            p += 8;
            bool quoted = *p == '"';
            p += quoted;
            size_t n = 0;
            while (p[n] && n + 1 < sizeof r->charset &&
                   (quoted ? p[n] != '"' : (p[n] != ';' && p[n] != ' ' && p[n] != '\t')))
                r->charset[n] = (char)tolower((unsigned char)p[n]), n++;
            r->charset[n] = 0;
            return;
        }
        p = strchr(p, ';');
    }
}

/* Bytes a stage holds between two decoders. */
#define STAGE 16384

/* The codings of every Content-Encoding field, in the order they were applied
 * (RFC 9110 §8.4): *n of them into c (identity left out). Returns 1 if all are
 * known, 0 if one is not (the body is then passed on as it came, the header
 * saying what it is), LOOM_EHTTP when there are more than c holds. */
static int list_codings(const struct loom_http_response *r, int *c, size_t *n)
{
    *n = 0;
    const char *v;
    for (size_t i = 0; (v = loom_http_response_header(r, "Content-Encoding", i)); i++)
        for (const char *p = v; *p; p += *p == ',') {
            size_t len = strcspn(p, ",");
            int k = loom__http_coding_parse(p, len);
            p += len;
            if (k < 0)
                return 0;
            if (k == LOOM__HTTP_IDENTITY)
                continue;
            if (*n == LOOM__HTTP_CODINGS)
                return LOOM_EHTTP;
            c[(*n)++] = k;
        }
    return 1;
}

/* Set up a decoder per content coding, the last applied reading the raw body. */
static int start_decoding(struct loom_http_response *r, struct loom__http_req *q)
{
    int c[LOOM__HTTP_CODINGS];
    size_t n;
    int rc = list_codings(r, c, &n);
    if (rc < 0)
        return loom__http_fail(q->err, q->errlen, rc, "more than %d content codings",
                               LOOM__HTTP_CODINGS);
    for (size_t i = 0; rc > 0 && i < n; i++) {
        loom__http_decoder_init(&r->dec[i], c[n - 1 - i], q->s->o.max_decoded);
        r->stage[i] = (struct loom__http_stage){0};
        r->ndec = i + 1;
        if (i > 0 && !(r->stage[i].buf = malloc(STAGE))) {
            loom__http_body_end(r, false);
            return loom__http_fail(q->err, q->errlen, -ENOMEM, "out of memory");
        }
    }
    r->decoding = r->ndec > 0;
    return 0;
}

int loom__http_body_start(struct loom_http_response *r, struct loom__http_req *q)
{
    const char *m = q->method;
    int rc = loom_http_response_framing(&r->rh, m, strlen(m), &q->s->lim, &r->fr);
    if (rc < 0)
        return loom__http_fail(q->err, q->errlen, loom__http_map_parse(rc),
                               "bad response framing: %s", loom_http_parse_strerror(rc));
    if (r->fr.te_other)
        return loom__http_fail(q->err, q->errlen, LOOM_EHTTP,
                               "response uses a transfer coding other than chunked");
    r->remaining = r->fr.content_length;
    r->raw_total = 0;
    r->raw_ended = false;
    r->done = r->truncated = false;
    r->error = 0;
    r->errmsg[0] = r->charset[0] = 0;
    if (r->fr.body == LOOM_HTTP_BODY_CHUNKED) {
        loom_http_chunked_init(&r->ch, &q->s->lim);
        r->ch.trailers = r->trv;
        r->ch.trailer_cap = LOOM__HTTP_TRAILERS;
    }
    find_charset(r);
    int rc2 = 0;
    if (!q->s->o.no_decompress && r->fr.body != LOOM_HTTP_BODY_NONE)
        rc2 = start_decoding(r, q);
    if (rc2 < 0)
        return rc2;
    if (r->fr.body == LOOM_HTTP_BODY_NONE ||
        (r->fr.body == LOOM_HTTP_BODY_LENGTH && r->remaining == 0))
        loom__http_body_end(r, true);
    return 0;
}

/* Keep copies of the trailer fields (views into the connection buffer). */
static int keep_trailers(struct loom_http_response *r)
{
    size_t n = r->ch.trailer_count, size = 0;
    for (size_t i = 0; i < n; i++)
        size += r->trv[i].name.len + r->trv[i].value.len + 2;
    char *p = r->trailer_buf = malloc(size + 1);
    if (!p)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        r->trailers[2 * i] = p;
        memcpy(p, r->trv[i].name.ptr, r->trv[i].name.len);
        p += r->trv[i].name.len;
        *p++ = 0;
        r->trailers[2 * i + 1] = p;
        memcpy(p, r->trv[i].value.ptr, r->trv[i].value.len);
        p += r->trv[i].value.len;
        *p++ = 0;
    }
    r->ntrailers = n;
    return 0;
}

static int fill(struct loom_http_response *r)
{
    struct loom_http_limits *lim = &r->q.s->lim;
    size_t max = lim->max_start_line + lim->max_header_bytes + lim->max_trailer_bytes + 1024;
    ssize_t n = loom__http_conn_fill(r->q.c, max, loom__http_req_timeout(&r->q));
    if (n > 0)
        return 0;
    if (n == LOOM_EOF)
        return LOOM_EOF;
    if (n == -ETIMEDOUT)
        return fail(r, (int)n, "timed out reading the body");
    if (n == -ECANCELED)
        return fail(r, (int)n, "cancelled while reading the body");
    return fail(r, (int)n, "reading the body: %s", loom_strerror((int)n));
}

static int cut_short(struct loom_http_response *r)
{
    r->truncated = true;
    return fail(r, LOOM_EHTTP, "the connection closed before the end of the body (%llu bytes in)",
                (unsigned long long)r->raw_total);
}

/* The next raw body bytes: 1 with a view in (*p, *n), 0 at the end, or an error. */
static int raw_next(struct loom_http_response *r, const char **p, size_t *n)
{
    for (;;) {
        struct loom__http_conn *c = r->q.c;
        if (r->error)
            return r->error;
        if (!c)
            return 0;
        size_t avail = c->end - c->start;
        if (r->fr.body == LOOM_HTTP_BODY_CHUNKED) {
            if (loom_http_chunked_done(&r->ch))
                return 0;
            struct loom_http_str data;
            ssize_t used = loom_http_chunked_next(&r->ch, c->buf + c->start, avail, &data);
            if (used < 0)
                return fail(r, loom__http_map_parse(used), "bad chunked body: %s",
                            loom_http_parse_strerror((int)used));
            c->start += (size_t)used;
            bool done = loom_http_chunked_done(&r->ch);
            if (done && keep_trailers(r) < 0)
                return fail(r, -ENOMEM, "out of memory");
            if (data.len > 0) {
                *p = data.ptr, *n = data.len;
                r->raw_total += data.len;
                return 1;
            }
            if (done)
                return 0;
            if (used > 0)
                continue;
        } else if (avail > 0) {
            size_t k = avail;
            if (r->fr.body == LOOM_HTTP_BODY_LENGTH && k > r->remaining)
                k = (size_t)r->remaining;
            if (r->fr.body == LOOM_HTTP_BODY_UNTIL_CLOSE && r->raw_total + k > r->q.s->lim.max_body)
                return fail(r, LOOM_ELIMIT, "body over %llu bytes",
                            (unsigned long long)r->q.s->lim.max_body);
            *p = c->buf + c->start, *n = k;
            c->start += k;
            r->remaining -= r->fr.body == LOOM_HTTP_BODY_LENGTH ? k : 0;
            r->raw_total += k;
            return 1;
        }
        if (r->fr.body == LOOM_HTTP_BODY_LENGTH && r->remaining == 0)
            return 0;
        int rc = fill(r);
        if (rc == LOOM_EOF && r->fr.body == LOOM_HTTP_BODY_UNTIL_CLOSE) {
            /* TLS without close_notify: accepted (as browsers do), but said */
            r->truncated = loom_tls_eof_unclean(c->st);
            return 0;
        }
        if (rc == LOOM_EOF)
            return cut_short(r);
        if (rc < 0)
            return rc;
    }
}

/* Up to cap bytes of the raw body: > 0, 0 at its end, or an error. */
static ssize_t raw_copy(struct loom_http_response *r, char *buf, size_t cap)
{
    if (r->pend_len == 0) {
        int rc = raw_next(r, &r->pend, &r->pend_len);
        if (rc <= 0)
            return rc;
    }
    size_t k = r->pend_len < cap ? r->pend_len : cap;
    memcpy(buf, r->pend, k);
    r->pend += k, r->pend_len -= k;
    return (ssize_t)k;
}

/* Up to cap bytes out of decoder k (its input: the raw body for 0, else what
 * decoder k - 1 produced): > 0, 0 at the end of its stream, or an error. */
static ssize_t decode(struct loom_http_response *r, size_t k, char *buf, size_t cap)
{
    struct loom__http_decoder *d = &r->dec[k];
    struct loom__http_stage *st = &r->stage[k];
    for (;;) {
        const char *in;
        size_t len;
        bool ended;
        if (k == 0) {
            if (r->pend_len == 0 && !r->raw_ended) {
                int rc = raw_next(r, &r->pend, &r->pend_len);
                if (rc < 0)
                    return rc;
                r->raw_ended = rc == 0;
            }
            in = r->pend, len = r->pend_len, ended = r->raw_ended;
        } else {
            if (st->start == st->end && !st->ended) {
                ssize_t n = decode(r, k - 1, st->buf, STAGE);
                if (n < 0)
                    return n;
                st->start = 0, st->end = (size_t)n, st->ended = n == 0;
            }
            in = st->buf + st->start, len = st->end - st->start, ended = st->ended;
        }
        size_t used, out;
        int rc = loom__http_decoder_run(d, in, len, &used, buf, cap, &out);
        if (rc < 0)
            return fail(r, rc, "%s", rc == -ENOMEM ? "out of memory" : d->msg);
        if (k == 0)
            r->pend += used, r->pend_len -= used;
        else
            st->start += used;
        if (out > 0)
            return (ssize_t)out;
        if (used == 0 && len > 0) /* cannot happen with room to write: never spin */
            return fail(r, LOOM_EHTTP, "the content decoder is stuck");
        if (len == 0 && ended) {
            if (loom__http_decoder_finish(d) == 0)
                return 0;
            r->truncated = true;
            return fail(r, LOOM_EHTTP, "%s", d->msg);
        }
    }
}

/* Up to cap decoded bytes: > 0, 0 at the end (the connection is then given
 * back), or an error. */
static ssize_t read_decoded(struct loom_http_response *r, char *buf, size_t cap)
{
    if (r->error)
        return r->error;
    if (r->done || cap == 0)
        return 0;
    ssize_t n = r->ndec ? decode(r, r->ndec - 1, buf, cap) : raw_copy(r, buf, cap);
    if (n == 0)
        loom__http_body_end(r, true);
    return n;
}

ssize_t loom_http_response_read(struct loom_http_response *r, void *buf, size_t cap)
{
    if (r->lend > r->lstart) {
        size_t k = r->lend - r->lstart < cap ? r->lend - r->lstart : cap;
        memcpy(buf, r->lbuf + r->lstart, k);
        r->lstart += k;
        return (ssize_t)k;
    }
    return read_decoded(r, buf, cap);
}

ssize_t loom_http_response_readline(struct loom_http_response *r, char *buf, size_t cap)
{
    if (cap == 0)
        return -EINVAL;
    for (size_t scan = 0;;) {
        size_t have = r->lend - r->lstart;
        char *nl = have > scan ? memchr(r->lbuf + r->lstart + scan, '\n', have - scan) : NULL;
        size_t len = nl ? (size_t)(nl - (r->lbuf + r->lstart)) + 1 : have;
        if (len > cap - 1)
            return LOOM_ELIMIT;
        if (nl || (r->done && have > 0) || (r->error && have > 0)) {
            memcpy(buf, r->lbuf + r->lstart, len);
            buf[len] = 0;
            r->lstart += len;
            return (ssize_t)len;
        }
        scan = have;
        if (r->lstart > 0) {
            memmove(r->lbuf, r->lbuf + r->lstart, have);
            r->lend = have, r->lstart = 0;
        }
        if (r->lend == r->lcap) {
            size_t ncap = r->lcap ? r->lcap * 2 : 4096;
            char *nb = realloc(r->lbuf, ncap);
            if (!nb)
                return -ENOMEM;
            r->lbuf = nb, r->lcap = ncap;
        }
        ssize_t n = read_decoded(r, r->lbuf + r->lend, r->lcap - r->lend);
        if (n < 0)
            return n;
        if (n == 0 && have == 0)
            return 0;
        r->lend += (size_t)n;
    }
}

ssize_t loom_http_response_read_all(struct loom_http_response *r, char **data, uint64_t max)
{
    if (!max)
        max = LOOM_HTTP_MAX_DECODED;
    size_t cap = 16384, len = 0;
    if (r->fr.body == LOOM_HTTP_BODY_LENGTH && !r->decoding && r->fr.content_length < max)
        cap = (size_t)r->fr.content_length + 1;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (len + 1 >= cap) {
            size_t ncap = cap * 2 > max + 2 ? (size_t)max + 2 : cap * 2;
            char *nb = ncap > cap ? realloc(buf, ncap) : NULL;
            if (!nb) {
                free(buf);
                return ncap > cap ? -ENOMEM : LOOM_ELIMIT;
            }
            buf = nb, cap = ncap;
        }
        ssize_t n = loom_http_response_read(r, buf + len, cap - len - 1);
        if (n <= 0) {
            if (n < 0) {
                free(buf);
                return n;
            }
            break;
        }
        len += (size_t)n;
        if (len > max) {
            free(buf);
            return fail(r, LOOM_ELIMIT, "body over %llu bytes", (unsigned long long)max);
        }
    }
    buf[len] = 0;
    *data = buf;
    return (ssize_t)len;
}

/* A body not read to its end normally costs the connection; but when the rest
 * of a Content-Length body is already buffered, skip it and keep the
 * connection (a caller that only wanted the status of a small response). */
static bool skip_buffered_rest(struct loom_http_response *r)
{
    struct loom__http_conn *c = r->q.c;
    if (!c || r->error || r->fr.body != LOOM_HTTP_BODY_LENGTH || r->remaining > 65536)
        return r->done;
    while (c->end - c->start < r->remaining) /* what the kernel has, without waiting */
        if (loom__http_conn_fill(c, c->start + 65536 + 16384, 0) <= 0)
            return false;
    c->start += (size_t)r->remaining;
    r->remaining = 0;
    return true;
}

void loom_http_response_close(struct loom_http_response *r)
{
    if (!r)
        return;
    loom__http_body_end(r, skip_buffered_rest(r));
    struct loom_http_session *s = r->q.s;
    for (size_t i = 0; i < r->q.nvisited; i++)
        free(r->q.visited[i]);
    for (size_t i = 0; i < r->nhist; i++)
        free(r->hist[i].url);
    free(r->q.visited);
    free(r->hist);
    free(r->q.url_str);
    loom_url_close(&r->q.url);
    free(r->head);
    free(r->hdrs);
    free(r->trailer_buf);
    free(r->lbuf);
    free(r);
    loom__http_session_unref(s);
}

/* --- accessors --- */

int loom_http_response_status(const struct loom_http_response *r) { return r->rh.status; }
int loom_http_response_version(const struct loom_http_response *r) { return r->rh.minor_version; }
const char *loom_http_response_reason(const struct loom_http_response *r)
{
    return r->head ? r->rh.reason.ptr : "";
}

const char *loom_http_response_header(const struct loom_http_response *r, const char *name,
                                      size_t nth)
{
    if (!r->head)
        return NULL;
    const struct loom_http_header *h =
        loom_http_header_find(r->rh.headers, r->rh.header_count, name, nth);
    return h ? h->value.ptr : NULL;
}

size_t loom_http_response_header_count(const struct loom_http_response *r)
{
    return r->rh.header_count;
}

int loom_http_response_header_at(const struct loom_http_response *r, size_t i, const char **name,
                                 const char **value)
{
    if (i >= r->rh.header_count)
        return -ERANGE;
    *name = r->rh.headers[i].name.ptr;
    *value = r->rh.headers[i].value.ptr;
    return 0;
}

const char *loom_http_response_trailer(const struct loom_http_response *r, const char *name,
                                       size_t nth)
{
    for (size_t i = 0; i < r->ntrailers; i++)
        if (!strcasecmp(r->trailers[2 * i], name) && nth-- == 0)
            return r->trailers[2 * i + 1];
    return NULL;
}

int64_t loom_http_response_content_length(const struct loom_http_response *r)
{
    return r->fr.body == LOOM_HTTP_BODY_LENGTH ? (int64_t)r->fr.content_length : -1;
}

const char *loom_http_response_charset(const struct loom_http_response *r)
{
    return r->charset[0] ? r->charset : NULL;
}

const char *loom_http_response_url(const struct loom_http_response *r)
{
    return r->q.url_str ? r->q.url_str : "";
}

size_t loom_http_response_history_count(const struct loom_http_response *r) { return r->nhist; }

int loom_http_response_history(const struct loom_http_response *r, size_t i, int *status,
                               const char **url)
{
    if (i >= r->nhist)
        return -ERANGE;
    *status = r->hist[i].status;
    *url = r->hist[i].url;
    return 0;
}

const char *loom_http_response_error(const struct loom_http_response *r) { return r->errmsg; }
bool loom_http_response_reused(const struct loom_http_response *r) { return r->reused; }
bool loom_http_response_truncated(const struct loom_http_response *r) { return r->truncated; }
