/* http_route.c - the route table, path parameters, synchronous handlers on
 * the executor, and the small text helpers the server needs. */
#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_server_internal.h"
#include "reactor/executor.h"

struct route {
    struct route *next;
    char *method;  /* "GET", "*" */
    char *pattern; /* kept for Allow and debugging */
    char **segs;   /* split pattern; "{name}" segments are parameters */
    char **names;  /* per segment: the parameter's bare name, or NULL */
    size_t nsegs;
    bool rest; /* the last segment is "{name...}" */
    loom_http_handler fn;
    loom_http_sync_handler sync_fn;
    void *arg;
};

struct loom_http_router {
    struct route *head, **tail;
};

int loom_http_router_new(struct loom_http_router **out)
{
    struct loom_http_router *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->tail = &r->head;
    *out = r;
    return 0;
}

static void route_free(struct route *rt)
{
    for (size_t i = 0; i < rt->nsegs; i++) {
        free(rt->segs[i]);
        free(rt->names[i]);
    }
    free(rt->segs);
    free(rt->names);
    free(rt->method);
    free(rt->pattern);
    free(rt);
}

void loom_http_router_free(struct loom_http_router *r)
{
    if (!r)
        return;
    for (struct route *rt = r->head, *next; rt; rt = next) {
        next = rt->next;
        route_free(rt);
    }
    free(r);
}

static bool is_param(const char *seg) { return seg[0] == '{' && seg[strlen(seg) - 1] == '}'; }

/* Split "/a/{b}/c" into segments; -EINVAL for a pattern not starting with '/'. */
static int split_pattern(struct route *rt, const char *pattern)
{
    if (pattern[0] != '/')
        return -EINVAL;
    size_t n = 0;
    for (const char *p = pattern; *p; p++)
        n += *p == '/';
    rt->segs = calloc(n, sizeof(char *));
    rt->names = calloc(n, sizeof(char *));
    if (!rt->segs || !rt->names)
        return -ENOMEM;
    const char *p = pattern + 1;
    for (size_t i = 0; i < n; i++) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (!(rt->segs[i] = strndup(p, len)))
            return -ENOMEM;
        rt->nsegs++;
        bool rest = is_param(rt->segs[i]) && len > 5 && !strcmp(rt->segs[i] + len - 4, "...}");
        if (rest) {
            if (e)
                return -EINVAL; /* a rest parameter must come last */
            rt->rest = true;
        }
        /* The name without braces and "...", kept with the route: requests
         * on other connections of the thread run between a handler's
         * suspensions, so nothing per thread may hold it. */
        if (is_param(rt->segs[i]) &&
            !(rt->names[i] = strndup(rt->segs[i] + 1, len - 2 - (rest ? 3 : 0))))
            return -ENOMEM;
        p = e ? e + 1 : p + len;
    }
    return 0;
}

static int add_route(struct loom_http_router *r, const char *method, const char *pattern,
                     loom_http_handler fn, loom_http_sync_handler sync_fn, void *arg)
{
    struct route *rt = calloc(1, sizeof(*rt));
    if (!rt)
        return -ENOMEM;
    rt->fn = fn;
    rt->sync_fn = sync_fn;
    rt->arg = arg;
    rt->method = strdup(method);
    rt->pattern = strdup(pattern);
    int rc = rt->method && rt->pattern ? split_pattern(rt, pattern) : -ENOMEM;
    if (rc < 0) {
        route_free(rt);
        return rc;
    }
    *r->tail = rt;
    r->tail = &rt->next;
    return 0;
}

int loom_http_route(struct loom_http_router *r, const char *method, const char *pattern,
                    loom_http_handler fn, void *arg)
{
    return fn ? add_route(r, method, pattern, fn, NULL, arg) : -EINVAL;
}

int loom_http_route_sync(struct loom_http_router *r, const char *method, const char *pattern,
                         loom_http_sync_handler fn, void *arg)
{
    return fn ? add_route(r, method, pattern, NULL, fn, arg) : -EINVAL;
}

/* --- matching --- */

/* Whether the request's path matches rt's pattern. */
static bool match(const struct route *rt, const struct loom_http_req *r)
{
    const char *p = r->path + 1;
    size_t np = 0;
    for (size_t i = 0; i < rt->nsegs; i++) {
        const char *seg = rt->segs[i];
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        bool last = i + 1 == rt->nsegs;
        if (last && rt->rest)
            len = strlen(p);
        if (is_param(seg)) {
            if (len == 0 || np == LOOM__HTTP_MAX_PARAMS)
                return false;
            np++;
        } else if (strlen(seg) != len || memcmp(seg, p, len)) {
            return false;
        }
        if (last)
            return p[len] == '\0';
        if (!e)
            return false;
        p = e + 1;
    }
    return false;
}

/* Fill r->params for the route that matched. */
static int take_params(const struct route *rt, struct loom_http_req *r)
{
    size_t len = strlen(r->path);
    free(r->params_buf);
    if (!(r->params_buf = malloc(len + 1)))
        return -ENOMEM;
    memcpy(r->params_buf, r->path, len + 1);
    r->nparams = 0;
    const char *p = r->path + 1;
    for (size_t i = 0; i < rt->nsegs; i++) {
        const char *e = strchr(p, '/');
        size_t l = e && !(rt->rest && i + 1 == rt->nsegs) ? (size_t)(e - p) : strlen(p);
        if (is_param(rt->segs[i])) {
            char *v = r->params_buf + (p - r->path);
            v[l] = '\0';
            r->params[r->nparams].name = rt->names[i];
            r->params[r->nparams++].value = v;
        }
        p += l + (p[l] == '/');
    }
    return 0;
}

static bool method_ok(const struct route *rt, const struct loom_http_req *r)
{
    return !strcmp(rt->method, "*") || !strcmp(rt->method, r->method) ||
           (r->is_head && !strcmp(rt->method, "GET"));
}

static int run_sync(const struct route *rt, struct loom_http_req *r, struct loom_http_reply *res);

static int not_allowed(struct loom_http_router *router, struct loom_http_req *r,
                       struct loom_http_reply *res)
{
    char allow[256] = "";
    size_t n = 0;
    bool get = false;
    for (const struct route *rt = router->head; rt; rt = rt->next) {
        if (!match(rt, r) || strstr(allow, rt->method))
            continue;
        get |= !strcmp(rt->method, "GET");
        n += (size_t)snprintf(allow + n, sizeof allow - n, "%s%s", n ? ", " : "", rt->method);
        if (n >= sizeof allow)
            break;
    }
    if (get && !strstr(allow, "HEAD") && n + 6 < sizeof allow)
        snprintf(allow + n, sizeof allow - n, ", HEAD");
    loom_http_reply_header(res, "Allow", allow);
    return loom_http_reply_error(res, 405);
}

int loom__http_dispatch(struct loom_http_router *router, struct loom_http_req *r,
                        struct loom_http_reply *res)
{
    bool path_matched = false;
    for (const struct route *rt = router->head; rt; rt = rt->next) {
        if (!match(rt, r))
            continue;
        path_matched = true;
        if (!method_ok(rt, r))
            continue;
        int rc = take_params(rt, r);
        if (rc < 0)
            return rc;
        return rt->fn ? rt->fn(r, res, rt->arg) : run_sync(rt, r, res);
    }
    if (path_matched)
        return not_allowed(router, r, res);
    return loom_http_reply_error(res, 404);
}

/* --- synchronous handlers --- */

/* Shared by the task and the pool thread: a task cancelled while the handler
 * runs leaves, and whichever side finishes last frees the job. */
struct sync_job {
    atomic_int refs;
    const struct route *rt;
    struct loom_http_sync_request req;
    struct loom_http_sync_response res;
    int rc;
    char **strings; /* header names and values, NUL-terminated copies */
    size_t nstrings;
};

static void job_unref(struct sync_job *j)
{
    if (atomic_fetch_sub(&j->refs, 1) != 1)
        return;
    for (size_t i = 0; i < j->nstrings; i++)
        free(j->strings[i]);
    free(j->strings);
    free((char *)j->req.body);
    free(j->res.body);
    free(j);
}

static intptr_t sync_thread(void *arg)
{
    struct sync_job *j = arg;
    j->rc = j->rt->sync_fn(&j->req, &j->res, j->rt->arg);
    job_unref(j);
    return 0;
}

/* Copy what the handler may read into the job (it outlives the request if
 * the task is cancelled). */
static int job_fill(struct sync_job *j, struct loom_http_req *r, const char *body, size_t len)
{
    size_t nh = r->h.header_count;
    j->strings = calloc(2 * nh + 5, sizeof(char *));
    if (!j->strings)
        return -ENOMEM;
    j->nstrings = 2 * nh + 5;
    char **s = j->strings;
    s[0] = strdup(r->method);
    s[1] = strdup(r->path);
    s[2] = strdup(r->query);
    s[3] = strdup(r->c->remote);
    s[4] = strdup(r->h.minor_version ? "HTTP/1.1" : "HTTP/1.0");
    for (size_t i = 0; i < nh; i++) {
        s[5 + i] = strdup(r->h.headers[i].name.ptr);
        s[5 + nh + i] = strdup(r->h.headers[i].value.ptr);
    }
    char *b = malloc(len + 1);
    for (size_t i = 0; i < 2 * nh + 5; i++)
        if (!s[i])
            b = (free(b), NULL);
    if (!b)
        return -ENOMEM;
    memcpy(b, body, len);
    b[len] = '\0';
    j->req = (struct loom_http_sync_request){s[0],
                                             s[1],
                                             s[2],
                                             s[3],
                                             s[4],
                                             nh,
                                             (const char *const *)s + 5,
                                             (const char *const *)s + 5 + nh,
                                             b,
                                             len};
    return 0;
}

static int run_sync(const struct route *rt, struct loom_http_req *r, struct loom_http_reply *res)
{
    const char *body = "";
    ssize_t len = r->fr.body == LOOM_HTTP_BODY_NONE ? 0 : loom_http_req_body(r, &body);
    if (len < 0)
        return (int)len;
    struct sync_job *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    atomic_init(&j->refs, 1);
    j->rt = rt;
    int rc = job_fill(j, r, body, (size_t)len);
    if (rc < 0) {
        job_unref(j);
        return rc;
    }
    atomic_fetch_add(&j->refs, 1); /* the thread's */
    intptr_t x = loom_to_thread(sync_thread, j);
    if (x == -ECANCELED || x == -ENOMEM || x == -ESHUTDOWN || x == -EPERM) {
        if (x != -ECANCELED)
            job_unref(j); /* never ran: drop the thread's reference too */
        job_unref(j);
        return (int)x;
    }
    rc = j->rc;
    if (rc == 0) {
        const char *ct = j->res.content_type[0] ? j->res.content_type : "text/plain; charset=utf-8";
        rc = loom_http_reply_send(res, j->res.status ? j->res.status : 200, ct,
                                  j->res.body ? j->res.body : "", j->res.body_len);
    }
    job_unref(j);
    return rc;
}

/* --- text helpers --- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int loom__http_decode_path(const char *in, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] != '%') {
            out[o++] = in[i];
            continue;
        }
        if (len - i < 3)
            return -EINVAL;
        int hi = hexval((unsigned char)in[i + 1]);
        int lo = hexval((unsigned char)in[i + 2]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        int ch = hi * 16 + lo;
        if (ch == 0)
            return -EINVAL;
        if (ch == '/') { /* keep "%2F": it is data, not a separator */
            memcpy(out + o, in + i, 3);
            o += 3;
        } else {
            out[o++] = (char)ch;
        }
        i += 2;
    }
    out[o] = '\0';
    return 0;
}

/* Decode a query component ('+' is a space) into out; its length or -1. */
static ssize_t decode_query(const char *in, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '+') {
            out[o++] = ' ';
        } else if (in[i] == '%' && len - i >= 3) {
            int hi = hexval((unsigned char)in[i + 1]), lo = hexval((unsigned char)in[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
    return (ssize_t)o;
}

const char *loom__http_query_param(const char *query, const char *name,
                                   struct loom__http_qval **kept)
{
    size_t nlen = strlen(name);
    for (const char *p = query; *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        if (klen == nlen && !memcmp(p, name, nlen)) {
            const char *v = eq ? eq + 1 : p + len;
            size_t vlen = (size_t)(p + len - v);
            /* Each value handed out stays valid until the request ends. */
            struct loom__http_qval *q = malloc(sizeof *q + vlen + 1);
            if (!q)
                return NULL;
            q->next = *kept;
            *kept = q;
            return decode_query(v, vlen, q->value) < 0 ? NULL : q->value;
        }
        p += len + (amp != NULL);
    }
    return NULL;
}

void loom__http_log_escape(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in && o + 5 < cap; in++) {
        unsigned char ch = (unsigned char)*in;
        if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
        else
            out[o++] = (char)ch;
    }
    out[o] = '\0';
}
