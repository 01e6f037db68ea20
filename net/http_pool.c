/* http_pool.c - the HTTP client session: a pool of keep-alive connections per
 * origin with a total and a per-origin limit, idle expiry, and bounded waits
 * for a free slot.
 *
 * Slots: a connection counts against the limits from the moment it is being
 * made until it is closed, idle ones included (so the fds are bounded). When
 * the total limit is reached but some other origin has idle connections, the
 * least recently used of them is closed to make room. A task that finds no
 * slot parks on the session's waiter list; every release wakes all waiters,
 * which re-check (a herd of at most `limit`-bounded size, simpler than exact
 * hand-over, and a cancelled or timed-out waiter holds nothing).
 *
 * Idle expiry: connections idle for longer than keepalive_ns are closed by a
 * timer armed while any connection is idle (and on every use of the pool). A
 * pooled connection is also checked before reuse: one whose server closed it
 * (EOF pending), or with unexpected bytes waiting, is dropped. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "net/http_internal.h"
#include "net/tcp.h"
#include "reactor/error.h"
#include "reactor/park.h"

static void expiry_fired(struct loom_timer *t);

/* A pooled connection idle for less than this is reused without a peek. */
#define CHEAP_IDLE LOOM_MS(1000)

struct slot_wait {
    struct loom_list node;
    struct loom_task *task;
};

int loom__http_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

int loom_http_session_new(struct loom_loop *loop, const struct loom_http_session_options *opts,
                          struct loom_http_session **out)
{
    static const struct loom_http_session_options none;
    static const struct loom_http_limits deflim = LOOM_HTTP_LIMITS_DEFAULT;
    const struct loom_http_session_options *o = opts ? opts : &none;
    if (!loop)
        return -EINVAL;
    struct loom_http_session *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->loop = loop;
    s->o = *o;
    s->lim = o->limits ? *o->limits : deflim;
    s->o.limits = NULL;
    s->o.limit = o->limit ? o->limit : LOOM_HTTP_LIMIT;
    s->o.limit_per_host = o->limit_per_host ? o->limit_per_host : LOOM_HTTP_LIMIT_PER_HOST;
    s->o.keepalive_ns = o->keepalive_ns ? o->keepalive_ns : LOOM_SEC(LOOM_HTTP_KEEPALIVE_SEC);
    s->o.timeout.total = o->timeout.total ? o->timeout.total : LOOM_SEC(LOOM_HTTP_TOTAL_SEC);
    s->o.timeout.connect = o->timeout.connect ? o->timeout.connect : -1;
    s->o.timeout.sock_connect =
        o->timeout.sock_connect ? o->timeout.sock_connect : LOOM_SEC(LOOM_HTTP_SOCK_CONNECT_SEC);
    s->o.timeout.sock_read = o->timeout.sock_read ? o->timeout.sock_read : -1;
    s->o.max_redirects = o->max_redirects ? o->max_redirects : LOOM_HTTP_MAX_REDIRECTS;
    s->o.max_decoded = o->max_decoded ? o->max_decoded : LOOM_HTTP_MAX_DECODED;
    s->o.user_agent = dup_or_null(o->user_agent ? o->user_agent : LOOM_HTTP_USER_AGENT);
    s->o.ca_file = dup_or_null(o->ca_file);
    s->o.ca_dir = dup_or_null(o->ca_dir);
    if (!s->o.user_agent || (o->ca_file && !s->o.ca_file) || (o->ca_dir && !s->o.ca_dir)) {
        free((char *)s->o.user_agent), free((char *)s->o.ca_file), free((char *)s->o.ca_dir);
        free(s);
        return -ENOMEM;
    }
    loom_list_init(&s->hosts);
    loom_list_init(&s->waiters);
    loom_timer_init(loop, &s->expiry, expiry_fired);
    s->expiry.data = s;
    s->refs = 1;
    *out = s;
    return 0;
}

static void wake_waiters(struct loom_http_session *s)
{
    struct loom_list *n;
    for (n = s->waiters.next; n != &s->waiters; n = n->next)
        loom_wake(loom_list_entry(n, struct slot_wait, node)->task, 0);
}

static void host_maybe_free(struct loom_http_session *s, struct loom__http_host *h)
{
    if (h->nopen == 0) {
        loom_list_remove(&h->node);
        free(h);
    }
}

/* Close c and give back its slot. */
static void conn_destroy(struct loom_http_session *s, struct loom__http_conn *c)
{
    struct loom__http_host *h = c->host;
    loom_stream_close(c->st);
    free(c->buf);
    free(c);
    h->nopen--;
    s->nopen--;
    host_maybe_free(s, h);
    wake_waiters(s);
}

static void idle_remove(struct loom_http_session *s, struct loom__http_conn *c)
{
    loom_list_remove(&c->node);
    s->nidle--;
}

static void expire_idle(struct loom_http_session *s);

/* Arm the expiry timer for the oldest idle connection, if any. */
static void arm_expiry(struct loom_http_session *s)
{
    int64_t oldest = -1;
    struct loom_list *hn;
    for (hn = s->hosts.next; hn != &s->hosts; hn = hn->next) {
        struct loom__http_host *h = loom_list_entry(hn, struct loom__http_host, node);
        if (loom_list_empty(&h->idle))
            continue;
        struct loom__http_conn *c = loom_list_entry(h->idle.prev, struct loom__http_conn, node);
        if (oldest < 0 || c->idle_since < oldest)
            oldest = c->idle_since;
    }
    if (oldest < 0)
        loom_timer_stop(&s->expiry);
    else
        loom_timer_start_at(&s->expiry, oldest + s->o.keepalive_ns); /* ENOMEM: expiry stays lazy */
}

static void expiry_fired(struct loom_timer *t) { expire_idle(t->data); }

/* Close the idle connections that outlived keepalive_ns. O(idle connections). */
static void expire_idle(struct loom_http_session *s)
{
    int64_t now = loom_loop_now(s->loop);
    struct loom_list *hn, *hnext;
    for (hn = s->hosts.next; hn != &s->hosts; hn = hnext) {
        hnext = hn->next; /* the host may go with its last connection */
        struct loom__http_host *h = loom_list_entry(hn, struct loom__http_host, node);
        while (!loom_list_empty(&h->idle)) {
            struct loom__http_conn *c = loom_list_entry(h->idle.prev, struct loom__http_conn, node);
            if (now - c->idle_since < s->o.keepalive_ns)
                break; /* the list is most recent first: the rest are younger */
            idle_remove(s, c);
            bool last = h->nopen == 1;
            conn_destroy(s, c);
            if (last)
                break;
        }
    }
    arm_expiry(s);
}

/* Close the least recently used idle connection of any origin but keep. */
static bool evict_idle(struct loom_http_session *s, const struct loom__http_host *keep)
{
    struct loom__http_conn *oldest = NULL;
    struct loom_list *hn;
    for (hn = s->hosts.next; hn != &s->hosts; hn = hn->next) {
        struct loom__http_host *h = loom_list_entry(hn, struct loom__http_host, node);
        if (h == keep || loom_list_empty(&h->idle))
            continue;
        struct loom__http_conn *c = loom_list_entry(h->idle.prev, struct loom__http_conn, node);
        if (!oldest || c->idle_since < oldest->idle_since)
            oldest = c;
    }
    if (!oldest)
        return false;
    idle_remove(s, oldest);
    conn_destroy(s, oldest);
    return true;
}

static struct loom__http_host *host_find(struct loom_http_session *s, const char *key)
{
    struct loom_list *hn;
    for (hn = s->hosts.next; hn != &s->hosts; hn = hn->next) {
        struct loom__http_host *h = loom_list_entry(hn, struct loom__http_host, node);
        if (!strcmp(h->key, key))
            return h;
    }
    size_t n = strlen(key) + 1;
    struct loom__http_host *h = malloc(sizeof *h + n);
    if (!h)
        return NULL;
    memcpy(h->key, key, n);
    loom_list_init(&h->idle);
    h->nopen = 0;
    loom_list_push_back(&s->hosts, &h->node);
    return h;
}

/* A pooled connection is usable if nothing is pending on it: no stray bytes,
 * no EOF. Behind TLS, raw bytes may be a session ticket, so only EOF counts.
 * The peek costs a syscall, so a connection idle for less than CHEAP_IDLE is
 * taken on trust unless careful (a request that cannot be retried): servers
 * close idle connections after seconds, and a stale one is retried anyway. */
static bool conn_alive(struct loom_http_session *s, struct loom__http_conn *c, bool careful)
{
    if (c->end > c->start || loom_stream_buffered(c->st) > 0 || loom_stream_at_eof(c->st))
        return false;
    if (!careful && loom_loop_now(s->loop) - c->idle_since < CHEAP_IDLE)
        return true;
    char b;
    ssize_t n = recv(loom_stream_fd(c->st), &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
        return false;
    return n < 0 || c->tls;
}

static int64_t remaining(struct loom_loop *loop, int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - loom_deadline(loop, 0);
    return left > 0 ? left : 0;
}

static int64_t min_timeout(int64_t a, int64_t b)
{
    if (a < 0)
        return b;
    return b < 0 || a < b ? a : b;
}

/* Loading the system trust store parses every CA certificate (milliseconds),
 * so sessions with the same trust settings share the last client context made
 * (contexts are reference-counted and may be shared by threads). A blocking
 * GET, which makes a session per call, then pays for it once. */
static struct {
    pthread_mutex_t mu;
    char *ca_file, *ca_dir;
    bool insecure;
    struct timespec ca_mtime; /* a CA file rewritten in place is read again */
    struct loom_tls_context *ctx;
} shared_tls = {.mu = PTHREAD_MUTEX_INITIALIZER};

static struct timespec file_mtime(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 ? st.st_mtim : (struct timespec){0, 0};
}

static bool same(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

static int tls_context(struct loom_http_session *s, char *err, size_t errlen)
{
    if (s->tls)
        return 0;
    struct timespec mtime = file_mtime(s->o.ca_file);
    pthread_mutex_lock(&shared_tls.mu);
    if (shared_tls.ctx && same(shared_tls.ca_file, s->o.ca_file) &&
        same(shared_tls.ca_dir, s->o.ca_dir) && shared_tls.insecure == s->o.insecure_no_verify &&
        shared_tls.ca_mtime.tv_sec == mtime.tv_sec && shared_tls.ca_mtime.tv_nsec == mtime.tv_nsec)
        s->tls = loom_tls_context_ref(shared_tls.ctx);
    pthread_mutex_unlock(&shared_tls.mu);
    if (s->tls)
        return 0;
    struct loom_tls_client_options to = {
        .ca_file = s->o.ca_file,
        .ca_dir = s->o.ca_dir,
        .insecure_no_verify = s->o.insecure_no_verify,
        .alpn = "http/1.1",
    };
    int rc = loom_tls_client_context_new(&to, &s->tls, err, errlen);
    char *file = s->o.ca_file ? strdup(s->o.ca_file) : NULL;
    char *dir = s->o.ca_dir ? strdup(s->o.ca_dir) : NULL;
    if (rc < 0 || (s->o.ca_file && !file) || (s->o.ca_dir && !dir)) {
        free(file);
        free(dir);
        return rc;
    }
    pthread_mutex_lock(&shared_tls.mu);
    struct loom_tls_context *old = shared_tls.ctx;
    free(shared_tls.ca_file);
    free(shared_tls.ca_dir);
    shared_tls.ca_file = file;
    shared_tls.ca_dir = dir;
    shared_tls.insecure = s->o.insecure_no_verify;
    shared_tls.ca_mtime = mtime;
    shared_tls.ctx = loom_tls_context_ref(s->tls);
    pthread_mutex_unlock(&shared_tls.mu);
    if (old)
        loom_tls_context_free(old);
    return 0;
}

/* DNS, TCP, TLS: a new connection in the slot already counted for h. */
static int conn_open(struct loom_http_session *s, struct loom__http_host *h,
                     const struct loom_url *u, int64_t timeout_ns, struct loom__http_conn **out,
                     char *err, size_t errlen)
{
    struct loom__http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->tls = loom_url_is_tls(u);
    int64_t dl = loom_deadline(s->loop, timeout_ns);
    int rc = c->tls ? tls_context(s, err, errlen) : 0;
    int fd = rc < 0 ? rc : loom_tcp_connect_fd(u->host, u->port, timeout_ns);
    if (fd < 0) {
        rc = fd;
        if (rc != LOOM_ETLS)
            loom__http_fail(err, errlen, rc, "cannot connect to %s: %s", h->key, loom_strerror(rc));
    } else if (c->tls) {
        rc = loom_tls_connect_fd(s->loop, fd, s->tls, u->host, remaining(s->loop, dl), &c->st, err,
                                 errlen);
    } else {
        rc = loom_stream_open_fd(s->loop, fd, 0, &c->st);
    }
    if (rc < 0) {
        free(c);
        if (rc == -ETIMEDOUT)
            loom__http_fail(err, errlen, rc, "connecting to %s timed out", h->key);
        return rc;
    }
    c->host = h;
    loom_list_init(&c->node);
    *out = c;
    return 0;
}

/* Take an idle connection of h that is still good, or NULL. */
static struct loom__http_conn *take_idle(struct loom_http_session *s, struct loom__http_host *h,
                                         bool careful)
{
    while (!loom_list_empty(&h->idle)) {
        struct loom__http_conn *c = loom_list_entry(h->idle.next, struct loom__http_conn, node);
        idle_remove(s, c);
        if (conn_alive(s, c, careful))
            return c;
        bool last = h->nopen == 1;
        conn_destroy(s, c);
        if (last)
            return NULL; /* h is gone */
    }
    return NULL;
}

/* Wait for a release, until deadline. */
static int wait_slot(struct loom_http_session *s, int64_t deadline)
{
    struct slot_wait w = {.task = loom_task_current()};
    if (!w.task)
        return -EPERM;
    loom_list_push_back(&s->waiters, &w.node);
    int rc = loom_park(w.task, deadline);
    loom_list_remove(&w.node);
    return rc;
}

int loom__http_acquire(struct loom_http_session *s, const struct loom_url *u, unsigned how,
                       int64_t conn_deadline, int64_t sock_connect_ns, struct loom__http_conn **out,
                       bool *reused, char *err, size_t errlen)
{
    char key[1100];
    if (loom_url_origin(u, key, sizeof key) < 0)
        return loom__http_fail(err, errlen, LOOM_URL_ETOOLONG, "URL origin too long");
    for (;;) {
        if (s->closing)
            return loom__http_fail(err, errlen, -ESHUTDOWN, "the HTTP session was closed");
        expire_idle(s);
        struct loom__http_host *h = host_find(s, key);
        if (!h)
            return -ENOMEM;
        bool fresh = how & LOOM__HTTP_FRESH;
        struct loom__http_conn *c = fresh ? NULL : take_idle(s, h, how & LOOM__HTTP_CAREFUL);
        if (c) {
            *out = c, *reused = true;
            return 0;
        }
        h = host_find(s, key); /* take_idle may have freed it */
        if (!h)
            return -ENOMEM;
        if (h->nopen < s->o.limit_per_host && (s->nopen < s->o.limit || evict_idle(s, h))) {
            h->nopen++, s->nopen++;
            int64_t t = min_timeout(sock_connect_ns, remaining(s->loop, conn_deadline));
            int rc = t == 0 ? -ETIMEDOUT : conn_open(s, h, u, t, &c, err, errlen);
            if (rc < 0) {
                h->nopen--, s->nopen--;
                host_maybe_free(s, h);
                wake_waiters(s);
                if (rc == -ETIMEDOUT)
                    loom__http_fail(err, errlen, rc, "connecting to %s timed out", key);
                return rc;
            }
            *out = c, *reused = false;
            return 0;
        }
        if (fresh && !loom_list_empty(&h->idle)) {
            /* a retry wants a new connection: make room with an idle one of h */
            c = loom_list_entry(h->idle.prev, struct loom__http_conn, node);
            idle_remove(s, c);
            conn_destroy(s, c);
            continue;
        }
        host_maybe_free(s, h);
        int rc = wait_slot(s, conn_deadline);
        if (rc == -ETIMEDOUT)
            return loom__http_fail(err, errlen, rc,
                                   "no free connection to %s within the connect timeout", key);
        if (rc < 0)
            return rc;
    }
}

void loom__http_release(struct loom_http_session *s, struct loom__http_conn *c, bool reusable)
{
    if (reusable && !s->closing && s->o.keepalive_ns > 0 && c->end == c->start) {
        c->start = c->end = 0;
        if (c->cap > 16384) { /* an idle connection keeps at most the first size */
            free(c->buf);
            c->buf = NULL;
            c->cap = 0;
        }
        c->idle_since = loom_loop_now(s->loop);
        c->served++;
        loom_list_push_front(&c->host->idle, &c->node);
        s->nidle++;
        wake_waiters(s);
    } else {
        conn_destroy(s, c);
    }
    expire_idle(s);
}

/* Room after c->end: compact, or grow up to max bytes held. */
static int conn_room(struct loom__http_conn *c, size_t max)
{
    if (c->start == c->end)
        c->start = c->end = 0;
    if (c->end == c->cap && c->start > 0) {
        memmove(c->buf, c->buf + c->start, c->end - c->start);
        c->end -= c->start;
        c->start = 0;
    }
    if (c->end == c->cap) {
        if (c->cap >= max)
            return LOOM_ELIMIT;
        size_t ncap = c->cap ? c->cap * 2 : 16384;
        if (ncap > max)
            ncap = max;
        char *nb = realloc(c->buf, ncap);
        if (!nb)
            return -ENOMEM;
        c->buf = nb, c->cap = ncap;
    }
    return 0;
}

void loom__http_conn_take_queued(struct loom__http_conn *c, size_t max)
{
    while (loom__http_conn_fill(c, max, 0) > 0) /* buffered or received: then the reset */
        ;
}

ssize_t loom__http_conn_fill(struct loom__http_conn *c, size_t max, int64_t timeout_ns)
{
    int rc = conn_room(c, max);
    if (rc < 0)
        return rc;
    ssize_t n = loom_stream_read_some(c->st, c->buf + c->end, c->cap - c->end, timeout_ns);
    if (n > 0)
        c->end += (size_t)n;
    return n;
}

static void session_destroy(struct loom_http_session *s)
{
    loom_tls_context_free(s->tls);
    free((char *)s->o.user_agent), free((char *)s->o.ca_file), free((char *)s->o.ca_dir);
    free(s);
}

void loom__http_session_unref(struct loom_http_session *s)
{
    if (--s->refs == 0)
        session_destroy(s);
}

void loom_http_session_free(struct loom_http_session *s)
{
    if (!s)
        return;
    s->closing = true;
    struct loom_list *hn, *hnext;
    for (hn = s->hosts.next; hn != &s->hosts; hn = hnext) {
        hnext = hn->next;
        struct loom__http_host *h = loom_list_entry(hn, struct loom__http_host, node);
        while (!loom_list_empty(&h->idle)) {
            struct loom__http_conn *c = loom_list_entry(h->idle.next, struct loom__http_conn, node);
            idle_remove(s, c);
            bool last = h->nopen == 1;
            conn_destroy(s, c);
            if (last)
                break;
        }
    }
    loom_timer_stop(&s->expiry);
    wake_waiters(s);
    loom__http_session_unref(s);
}

size_t loom_http_session_open_count(const struct loom_http_session *s) { return s->nopen; }
size_t loom_http_session_idle_count(const struct loom_http_session *s) { return s->nidle; }
