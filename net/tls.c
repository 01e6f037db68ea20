/* tls.c - TLS over OpenSSL 3 as a loom_stream transport.
 *
 * The stream is made first, over the TLS ops, and the handshake then runs on
 * it, parking on the stream's own fd watcher (loom__stream_wait): one watcher
 * for the connection's whole life, and a failed handshake is cleaned up by
 * closing the stream.
 *
 * OpenSSL talks to the socket through a tiny BIO of ours rather than its
 * socket BIO: that one write()s, and a write to a reset peer would raise
 * SIGPIPE; ours uses send(MSG_NOSIGNAL) like the rest of loom.
 *
 * Error queue hygiene: OpenSSL's error queue is per thread and shared by every
 * connection on it, so it is cleared before each SSL_ call and emptied after
 * each failure (its text goes to the connection's error string). */
#ifndef OPENSSL_API_COMPAT
#define OPENSSL_API_COMPAT 30000 /* no deprecated call compiles here */
#endif
#ifndef OPENSSL_NO_DEPRECATED
#define OPENSSL_NO_DEPRECATED 1
#endif

#include "net/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net/stream_internal.h"
#include "net/tcp.h"
#include "reactor/park.h"

#define TEXT_MAX 256      /* error strings */
#define KEY_MAX 280       /* session cache keys: host (<= 255) + ":port" */
#define COALESCE_MAX 4096 /* writev pieces up to this much in all are sent as one record */

/* One cached client session. */
struct sess_entry {
    char key[KEY_MAX];
    SSL_SESSION *sess; /* one reference, owned by the cache */
    uint64_t used;     /* LRU clock value of the last store or lookup */
};

struct loom_tls_context {
    SSL_CTX *ssl;
    atomic_int refs;         /* the creator's plus one per connection */
    bool verify;             /* client: peer verification on */
    unsigned char alpn[256]; /* server: accepted protocols, ALPN wire format */
    unsigned alpn_len;
    pthread_mutex_t lock;     /* guards the session cache (streams of many threads) */
    struct sess_entry *cache; /* client: LOOM_TLS_SESSION_CACHE entries, NULL: server */
    size_t ncache;
    uint64_t clock;
};

/* The transport ctx of a TLS stream. */
struct tls_conn {
    SSL *ssl;
    struct loom_tls_context *ctx;
    int fd;              /* owned */
    int sys_err;         /* errno of the last failed send/recv, 0: none */
    int dead;            /* upgraded in place but the handshake failed: the error */
    bool fatal;          /* a fatal TLS error: never SSL_shutdown */
    bool unclean_eof;    /* the peer closed TCP without close_notify */
    bool notify_pending; /* close_notify only partly sent */
    char key[KEY_MAX];   /* client: session cache key, "" for none */
    char alpn[256];      /* the protocol agreed on, NUL-terminated */
    char err[TEXT_MAX];  /* why the last LOOM_ETLS happened */
};

/* --- error text --- */

static void put_text(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* Append the error queue's reasons (and their detail) to buf, then clear it. */
static void queue_text(char *buf, size_t len)
{
    size_t off = strlen(buf);
    const char *data;
    int flags;
    unsigned long e;
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        const char *r = ERR_reason_error_string(e);
        char num[32];
        if (!r) {
            snprintf(num, sizeof num, "error %#lx", e);
            r = num;
        }
        if (strstr(buf, r) || off + 3 >= len)
            continue; /* the same reason twice says nothing new */
        bool detail = (flags & ERR_TXT_STRING) && data && *data;
        int n = snprintf(buf + off, len - off, "%s%s%s%s%s", off ? ": " : "", r, detail ? " (" : "",
                         detail ? data : "", detail ? ")" : "");
        off = n < 0 ? off : (size_t)n >= len - off ? len - 1 : off + (size_t)n;
    }
}

/* err = "what: <queue text>"; returns LOOM_ETLS. */
static int ssl_fail(char *err, size_t errlen, const char *what)
{
    char text[TEXT_MAX];
    snprintf(text, sizeof text, "%s", what);
    queue_text(text, sizeof text);
    put_text(err, errlen, "%s", text);
    return LOOM_ETLS;
}

/* --- the socket BIO (send/recv, never SIGPIPE) --- */

static int bio_write(BIO *b, const char *buf, int len)
{
    struct tls_conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n;
    do
        n = send(c->fd, buf, (size_t)len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        BIO_set_retry_write(b);
    else
        c->sys_err = errno;
    return -1;
}

static int bio_read(BIO *b, char *buf, int len)
{
    struct tls_conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n;
    do
        n = recv(c->fd, buf, (size_t)len, 0);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        BIO_set_retry_read(b);
    else
        c->sys_err = errno;
    return -1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b, (void)num, (void)ptr;
    return cmd == BIO_CTRL_FLUSH; /* writes are never buffered here */
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

/* Made once per process and kept (it is tiny and shared by every context). */
static void bio_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "loom socket");
    if (m && BIO_meth_set_write(m, bio_write) && BIO_meth_set_read(m, bio_read) &&
        BIO_meth_set_ctrl(m, bio_ctrl) && BIO_meth_set_create(m, bio_create))
        bio_method = m;
    else
        BIO_meth_free(m);
}

/* --- the client session cache --- */

static struct sess_entry *cache_find(struct loom_tls_context *t, const char *key)
{
    for (size_t i = 0; i < t->ncache; i++)
        if (!strcmp(t->cache[i].key, key))
            return &t->cache[i];
    return NULL;
}

/* Store sess (taking its reference) under key; at capacity the least recently
 * used entry goes. Linear scans: the cache is small and touched once per
 * handshake and per ticket. */
static void cache_put(struct loom_tls_context *t, const char *key, SSL_SESSION *sess)
{
    pthread_mutex_lock(&t->lock);
    struct sess_entry *e = cache_find(t, key);
    if (!e && t->ncache < LOOM_TLS_SESSION_CACHE)
        e = &t->cache[t->ncache++];
    if (!e) {
        e = &t->cache[0];
        for (size_t i = 1; i < t->ncache; i++)
            if (t->cache[i].used < e->used)
                e = &t->cache[i];
    }
    if (e->sess)
        SSL_SESSION_free(e->sess);
    snprintf(e->key, sizeof e->key, "%s", key);
    e->sess = sess;
    e->used = ++t->clock;
    pthread_mutex_unlock(&t->lock);
}

/* A new reference to the session cached under key, or NULL. */
static SSL_SESSION *cache_get(struct loom_tls_context *t, const char *key)
{
    SSL_SESSION *sess = NULL;
    pthread_mutex_lock(&t->lock);
    struct sess_entry *e = cache_find(t, key);
    if (e && SSL_SESSION_is_resumable(e->sess) && SSL_SESSION_up_ref(e->sess)) {
        sess = e->sess;
        e->used = ++t->clock;
    }
    pthread_mutex_unlock(&t->lock);
    return sess;
}

static void cache_drop(struct loom_tls_context *t, const char *key)
{
    pthread_mutex_lock(&t->lock);
    struct sess_entry *e = cache_find(t, key);
    if (e) {
        SSL_SESSION_free(e->sess);
        *e = t->cache[--t->ncache];
        /* clear the vacated slot: cache_put reuses it and frees what it holds */
        memset(&t->cache[t->ncache], 0, sizeof t->cache[0]);
    }
    pthread_mutex_unlock(&t->lock);
}

/* OpenSSL hands us each new session: at the end of a TLS 1.2 handshake, and
 * for TLS 1.3 whenever a ticket arrives (after the handshake, during a read). */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    struct tls_conn *c = SSL_get_app_data(ssl);
    if (!c || !c->key[0])
        return 0;
    cache_put(c->ctx, c->key, sess);
    return 1; /* we keep the reference */
}

/* --- contexts --- */

static void ctx_unref(struct loom_tls_context *t)
{
    if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    for (size_t i = 0; i < t->ncache; i++)
        SSL_SESSION_free(t->cache[i].sess);
    free(t->cache);
    SSL_CTX_free(t->ssl);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

void loom_tls_context_free(struct loom_tls_context *ctx) { ctx_unref(ctx); }

struct loom_tls_context *loom_tls_context_ref(struct loom_tls_context *ctx)
{
    atomic_fetch_add(&ctx->refs, 1);
    return ctx;
}

/* "a,b" -> ALPN wire format (length-prefixed names). 0 or -EINVAL. */
static int alpn_encode(const char *list, unsigned char *out, unsigned *outlen, char *err,
                       size_t errlen)
{
    size_t n = 0;
    for (const char *p = list; *p;) {
        while (*p == ' ') /* "h2, http/1.1" */
            p++;
        size_t len = strcspn(p, ","), name = len;
        while (name && p[name - 1] == ' ')
            name--;
        if (name == 0 || name > 255 || n + 1 + name > 255) {
            put_text(err, errlen, "bad ALPN list \"%s\" (empty or too long a name)", list);
            return -EINVAL;
        }
        out[n++] = (unsigned char)name;
        memcpy(out + n, p, name);
        n += name;
        p += len;
        if (*p == ',')
            p++;
    }
    *outlen = (unsigned)n;
    return 0;
}

/* A context with what both sides share: TLS 1.2+, no renegotiation, partial
 * writes from a buffer that may move (the stream's), idle buffers released. */
static int ctx_new(const SSL_METHOD *method, struct loom_tls_context **out, char *err,
                   size_t errlen)
{
    pthread_once(&bio_once, bio_method_init);
    if (!bio_method)
        return -ENOMEM;
    struct loom_tls_context *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    ERR_clear_error();
    t->ssl = SSL_CTX_new(method);
    if (!t->ssl) {
        free(t);
        return ssl_fail(err, errlen, "cannot make a TLS context");
    }
    atomic_init(&t->refs, 1);
    pthread_mutex_init(&t->lock, NULL);
    SSL_CTX_set_min_proto_version(t->ssl, TLS1_2_VERSION);
    SSL_CTX_set_options(t->ssl, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(t->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                 SSL_MODE_RELEASE_BUFFERS);
    *out = t;
    return 0;
}

/* Load a certificate chain and its key; LOOM_ETLS with the reason. */
static int load_cert(SSL_CTX *ssl, const char *cert, const char *key, char *err, size_t errlen)
{
    char what[TEXT_MAX];
    if (SSL_CTX_use_certificate_chain_file(ssl, cert) != 1) {
        snprintf(what, sizeof what, "cannot load certificate chain %s", cert);
        return ssl_fail(err, errlen, what);
    }
    if (SSL_CTX_use_PrivateKey_file(ssl, key ? key : cert, SSL_FILETYPE_PEM) != 1) {
        snprintf(what, sizeof what, "cannot load private key %s", key ? key : cert);
        return ssl_fail(err, errlen, what);
    }
    if (SSL_CTX_check_private_key(ssl) != 1)
        return ssl_fail(err, errlen, "the private key does not match the certificate");
    return 0;
}

static int client_setup(struct loom_tls_context *t, const struct loom_tls_client_options *o,
                        char *err, size_t errlen)
{
    t->verify = !o->insecure_no_verify;
    SSL_CTX_set_verify(t->ssl, t->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (t->verify && SSL_CTX_set_default_verify_paths(t->ssl) != 1)
        return ssl_fail(err, errlen, "cannot load the system trust store");
    if ((o->ca_file || o->ca_dir) &&
        SSL_CTX_load_verify_locations(t->ssl, o->ca_file, o->ca_dir) != 1) {
        char what[TEXT_MAX];
        snprintf(what, sizeof what, "cannot load CA %s", o->ca_file ? o->ca_file : o->ca_dir);
        return ssl_fail(err, errlen, what);
    }
    if (o->alpn) {
        unsigned char wire[256];
        unsigned len;
        if (alpn_encode(o->alpn, wire, &len, err, errlen) < 0)
            return -EINVAL;
        if (SSL_CTX_set_alpn_protos(t->ssl, wire, len) != 0) /* 0 is success here */
            return ssl_fail(err, errlen, "cannot set ALPN");
    }
    if (o->cert_file) {
        int rc = load_cert(t->ssl, o->cert_file, o->key_file, err, errlen);
        if (rc < 0)
            return rc;
    }
    t->cache = calloc(LOOM_TLS_SESSION_CACHE, sizeof(*t->cache));
    if (!t->cache)
        return -ENOMEM;
    SSL_CTX_set_session_cache_mode(t->ssl,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(t->ssl, new_session_cb);
    return 0;
}

int loom_tls_client_context_new(const struct loom_tls_client_options *o,
                                struct loom_tls_context **out, char *err, size_t errlen)
{
    static const struct loom_tls_client_options none;
    struct loom_tls_context *t;
    put_text(err, errlen, "%s", "");
    int rc = ctx_new(TLS_client_method(), &t, err, errlen);
    if (rc < 0)
        return rc;
    rc = client_setup(t, o ? o : &none, err, errlen);
    ERR_clear_error();
    if (rc < 0) {
        ctx_unref(t);
        return rc;
    }
    *out = t;
    return 0;
}

/* Pick the first of our protocols that the client offers. Called only when
 * the client sent ALPN: no overlap is then fatal ("no_application_protocol",
 * RFC 7301 section 3.2); a client without ALPN is served as is. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned inlen, void *arg)
{
    struct loom_tls_context *t = arg;
    unsigned char *sel;
    (void)ssl;
    if (SSL_select_next_proto(&sel, outlen, t->alpn, t->alpn_len, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* Ask every client for a certificate and refuse those without a valid one. */
static int require_client_cert(struct loom_tls_context *t, const char *ca, char *err, size_t errlen)
{
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
    if (!names || SSL_CTX_load_verify_locations(t->ssl, ca, NULL) != 1) {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        char what[TEXT_MAX];
        snprintf(what, sizeof what, "cannot load client CA %s", ca);
        return ssl_fail(err, errlen, what);
    }
    SSL_CTX_set_client_CA_list(t->ssl, names); /* takes names */
    SSL_CTX_set_verify(t->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    t->verify = true;
    return 0;
}

int loom_tls_server_context_new(const struct loom_tls_server_options *o,
                                struct loom_tls_context **out, char *err, size_t errlen)
{
    put_text(err, errlen, "%s", "");
    if (!o || !o->cert_file) {
        put_text(err, errlen, "a TLS server needs a certificate");
        return -EINVAL;
    }
    struct loom_tls_context *t;
    int rc = ctx_new(TLS_server_method(), &t, err, errlen);
    if (rc < 0)
        return rc;
    rc = load_cert(t->ssl, o->cert_file, o->key_file, err, errlen);
    if (rc == 0 && o->client_ca_file)
        rc = require_client_cert(t, o->client_ca_file, err, errlen);
    if (rc == 0 && o->alpn &&
        (rc = alpn_encode(o->alpn, t->alpn, &t->alpn_len, err, errlen)) == 0 && t->alpn_len)
        SSL_CTX_set_alpn_select_cb(t->ssl, alpn_select, t);
    ERR_clear_error();
    if (rc < 0) {
        ctx_unref(t);
        return rc;
    }
    static const unsigned char sid[] = "loom";
    SSL_CTX_set_session_id_context(t->ssl, sid, sizeof sid - 1);
    SSL_CTX_sess_set_cache_size(t->ssl, 1024); /* bounded; tickets need no server state */
    *out = t;
    return 0;
}

/* --- the transport --- */

/* Map a failed SSL_read/SSL_write/SSL_shutdown: -EAGAIN with *wait, 0 (EOF,
 * reads only), -errno, or LOOM_ETLS with c->err set. Empties the queue. */
static ssize_t io_error(struct tls_conn *c, int ret, unsigned *wait, bool reading)
{
    int e = SSL_get_error(c->ssl, ret);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        *wait = e == SSL_ERROR_WANT_READ ? LOOM_READABLE : LOOM_WRITABLE;
        return -EAGAIN;
    }
    if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify */
        ERR_clear_error();
        return reading ? 0 : -EPIPE;
    }
    c->fatal = true;
    unsigned long top = ERR_peek_error();
    bool eof = (e == SSL_ERROR_SYSCALL && !c->sys_err) ||
               (e == SSL_ERROR_SSL && ERR_GET_LIB(top) == ERR_LIB_SSL &&
                ERR_GET_REASON(top) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
    if (eof || c->sys_err) {
        ERR_clear_error();
        if (c->sys_err)
            return -c->sys_err;
        if (!reading)
            return -EPIPE;
        /* TCP EOF without close_notify. Between records it reads as EOF (see
         * tls.h); inside a record data was cut off: an error. */
        c->unclean_eof = true;
        return SSL_has_pending(c->ssl) ? -ECONNRESET : 0;
    }
    c->err[0] = '\0';
    ssl_fail(c->err, sizeof c->err, reading ? "TLS read failed" : "TLS write failed");
    return LOOM_ETLS;
}

static ssize_t tls_read(void *ctx, void *buf, size_t len, unsigned *wait)
{
    struct tls_conn *c = ctx;
    if (c->dead)
        return c->dead;
    size_t n;
    ERR_clear_error();
    c->sys_err = 0;
    if (SSL_read_ex(c->ssl, buf, len, &n))
        return (ssize_t)n;
    return io_error(c, 0, wait, true);
}

/* SSL_write takes one buffer and, in partial-write mode, sends at most one
 * record per call: loop over records and pieces until the socket is full.
 * After a would-block with some bytes already counted, the stream calls again
 * starting right after them, which is the retry OpenSSL requires for the
 * record it has pending (same bytes, possibly moved: ACCEPT_MOVING_WRITE_BUFFER). */
static ssize_t tls_writev(void *ctx, const struct iovec *iov, int iovcnt, unsigned *wait)
{
    struct tls_conn *c = ctx;
    if (c->dead)
        return c->dead;
    /* Small pieces (a head and a short body) go out as one record and one
     * send() instead of one each. */
    char small[COALESCE_MAX];
    struct iovec one;
    size_t total = 0;
    for (int i = 0; i < iovcnt && iovcnt > 1 && total <= sizeof small; i++)
        total += iov[i].iov_len;
    if (iovcnt > 1 && total <= sizeof small) {
        total = 0;
        for (int i = 0; i < iovcnt; i++) {
            if (iov[i].iov_len) /* iov_base may be NULL then */
                memcpy(small + total, iov[i].iov_base, iov[i].iov_len);
            total += iov[i].iov_len;
        }
        one = (struct iovec){small, total};
        iov = &one;
        iovcnt = 1;
    }
    total = 0;
    for (int i = 0; i < iovcnt; i++) {
        for (size_t off = 0; off < iov[i].iov_len;) {
            size_t n;
            ERR_clear_error();
            c->sys_err = 0;
            if (SSL_write_ex(c->ssl, (const char *)iov[i].iov_base + off, iov[i].iov_len - off,
                             &n)) {
                off += n;
                total += n;
                continue;
            }
            if (total) { /* report what went; the error (if any) comes again next call */
                ERR_clear_error();
                return (ssize_t)total;
            }
            return io_error(c, 0, wait, false);
        }
    }
    return (ssize_t)total;
}

/* One attempt at sending close_notify: 0 (sent, or nothing to send), -EAGAIN
 * with *wait, or -EPIPE. */
static int send_notify(struct tls_conn *c, unsigned *wait)
{
    if (c->dead || c->fatal || !SSL_is_init_finished(c->ssl))
        return -EPIPE;
    if ((SSL_get_shutdown(c->ssl) & SSL_SENT_SHUTDOWN) && !c->notify_pending)
        return 0;
    ERR_clear_error();
    c->sys_err = 0;
    int r = SSL_shutdown(c->ssl);
    if (r >= 0) {
        c->notify_pending = false;
        return 0;
    }
    ssize_t rc = io_error(c, r, wait, false);
    c->notify_pending = rc == -EAGAIN;
    return rc == -EAGAIN ? -EAGAIN : -EPIPE;
}

/* Half-close: close_notify, after which TLS 1.3 lets the peer go on sending
 * (and OpenSSL lets us go on reading). If the socket is full, the rest of the
 * alert goes with loom_tls_shutdown() or the close. */
static int tls_shutdown_write(void *ctx)
{
    unsigned wait;
    int rc = send_notify(ctx, &wait);
    return rc == -EAGAIN ? 0 : rc;
}

static void tls_close(void *ctx)
{
    struct tls_conn *c = ctx;
    if (c->ssl) {
        unsigned wait;
        send_notify(c, &wait); /* one try, never waits */
        ERR_clear_error();
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
    ctx_unref(c->ctx);
    free(c);
}

static const struct loom_stream_ops tls_ops = {tls_read, tls_writev, tls_shutdown_write, tls_close};

static struct tls_conn *conn_of(const struct loom_stream *s)
{
    return s ? loom_stream_transport_ctx(s, &tls_ops) : NULL;
}

/* A connection over fd (not yet owned: the caller closes fd if this fails). */
static struct tls_conn *conn_new(struct loom_tls_context *t, int fd, bool server)
{
    struct tls_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    ERR_clear_error();
    c->ssl = SSL_new(t->ssl);
    BIO *b = c->ssl ? BIO_new(bio_method) : NULL;
    if (!b) {
        SSL_free(c->ssl);
        ERR_clear_error();
        free(c);
        return NULL;
    }
    BIO_set_data(b, c);
    SSL_set_bio(c->ssl, b, b);
    SSL_set_app_data(c->ssl, c);
    if (server)
        SSL_set_accept_state(c->ssl);
    else
        SSL_set_connect_state(c->ssl);
    c->fd = fd;
    c->ctx = t;
    atomic_fetch_add(&t->refs, 1);
    return c;
}

/* --- handshake --- */

/* Hints for the verify results that mean "we do not trust who signed it". */
static const char *verify_hint(long v)
{
    switch (v) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        return " (unknown CA)";
    default:
        return "";
    }
}

/* Describe a failed handshake in c->err; the code to return. */
static int handshake_error(struct tls_conn *c, int ret)
{
    int e = SSL_get_error(c->ssl, ret);
    long v = SSL_get_verify_result(c->ssl);
    unsigned long top = ERR_peek_error();
    c->fatal = true;
    c->err[0] = '\0';
    int rc = LOOM_ETLS;
    if (v != X509_V_OK && c->ctx->verify) {
        snprintf(c->err, sizeof c->err, "certificate verify failed: %s%s",
                 X509_verify_cert_error_string(v), verify_hint(v));
        ERR_clear_error();
    } else if (c->sys_err) {
        rc = -c->sys_err;
        snprintf(c->err, sizeof c->err, "TLS handshake: %s", strerror(c->sys_err));
        ERR_clear_error();
    } else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN ||
               (ERR_GET_LIB(top) == ERR_LIB_SSL &&
                ERR_GET_REASON(top) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
        rc = -ECONNRESET;
        snprintf(c->err, sizeof c->err, "TLS handshake: the peer closed the connection");
        ERR_clear_error();
    } else {
        ssl_fail(c->err, sizeof c->err, "TLS handshake failed");
    }
    return rc;
}

/* Run the handshake on stream s (transport c) until done or deadline. */
static int handshake(struct loom_stream *s, struct tls_conn *c, int64_t deadline)
{
    for (;;) {
        ERR_clear_error();
        c->sys_err = 0;
        int r = SSL_do_handshake(c->ssl);
        if (r == 1)
            break;
        int e = SSL_get_error(c->ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return handshake_error(c, r);
        ERR_clear_error();
        int rc = loom__stream_wait(s, e == SSL_ERROR_WANT_READ ? LOOM_READABLE : LOOM_WRITABLE,
                                   deadline);
        if (rc < 0) {
            snprintf(c->err, sizeof c->err, "TLS handshake: %s",
                     rc == -ETIMEDOUT ? "timed out" : loom_strerror(rc));
            return rc;
        }
    }
    const unsigned char *p;
    unsigned len;
    SSL_get0_alpn_selected(c->ssl, &p, &len);
    if (len) /* <= 255 */
        memcpy(c->alpn, p, len);
    c->alpn[len] = '\0';
    return 0;
}

/* Client-side settings for one connection: SNI, the name or address to
 * verify, and a cached session to resume. 0 or LOOM_ETLS/-ENOMEM. */
static int client_conn_setup(struct tls_conn *c, const char *host, int fd)
{
    char name[256] = "";
    if (host) {
        size_t len = strlen(host);
        if (len >= sizeof name) { /* never verify a truncated name */
            snprintf(c->err, sizeof c->err, "host name too long (%zu bytes)", len);
            return -EINVAL;
        }
        if (host[0] == '[' && len > 2 && host[len - 1] == ']') /* "[::1]" */
            snprintf(name, sizeof name, "%.*s", (int)(len - 2), host + 1);
        else
            snprintf(name, sizeof name, "%s", host);
    }
    unsigned char addr[16];
    bool ip = inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
    ERR_clear_error();
    if (name[0] && c->ctx->verify) {
        int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), name)
                    : SSL_set1_host(c->ssl, name);
        SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (ok != 1)
            return ssl_fail(c->err, sizeof c->err, "cannot set the name to verify");
    }
    if (name[0] && !ip && SSL_set_tlsext_host_name(c->ssl, name) != 1)
        return ssl_fail(c->err, sizeof c->err, "cannot set SNI");
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char peer[80];
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0 &&
        loom_sockaddr_format((struct sockaddr *)&ss, sl, peer, sizeof peer) == 0) {
        const char *port = strrchr(peer, ':');
        if (name[0])
            snprintf(c->key, sizeof c->key, "%s%s", name, port);
        else
            snprintf(c->key, sizeof c->key, "%s", peer);
    }
    SSL_SESSION *sess = c->key[0] ? cache_get(c->ctx, c->key) : NULL;
    if (sess) {
        SSL_set_session(c->ssl, sess);
        SSL_SESSION_free(sess);
    }
    ERR_clear_error();
    return 0;
}

/* Shared by connect_fd and accept_fd: wrap fd in a TLS stream and handshake. */
static int tls_open(struct loom_loop *loop, int fd, struct loom_tls_context *ctx, bool server,
                    const char *host, int64_t timeout_ns, struct loom_stream **out, char *err,
                    size_t errlen)
{
    put_text(err, errlen, "%s", "");
    int64_t deadline = loom_deadline(loop, timeout_ns);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || !ctx || (server && ctx->cache) || (!server && !ctx->cache)) {
        put_text(err, errlen, "%s", fl < 0 ? "bad fd" : "wrong kind of TLS context");
        if (fl >= 0)
            close(fd);
        return fl < 0 ? -EBADF : -EINVAL;
    }
    if (!(fl & O_NONBLOCK))
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    struct tls_conn *c = conn_new(ctx, fd, server);
    if (!c) {
        close(fd);
        return -ENOMEM;
    }
    int rc = server ? 0 : client_conn_setup(c, host, fd);
    if (rc < 0) {
        put_text(err, errlen, "%s", c->err);
        tls_close(c);
        return rc;
    }
    struct loom_stream *s;
    rc = loom_stream_open(loop, fd, &tls_ops, c, 0, &s); /* closes c on failure */
    if (rc < 0)
        return rc;
    rc = handshake(s, c, deadline);
    if (rc < 0) {
        put_text(err, errlen, "%s", c->err);
        if (c->key[0])
            cache_drop(ctx, c->key);
        loom_stream_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

int loom_tls_connect_fd(struct loom_loop *loop, int fd, struct loom_tls_context *ctx,
                        const char *host, int64_t timeout_ns, struct loom_stream **out, char *err,
                        size_t errlen)
{
    return tls_open(loop, fd, ctx, false, host, timeout_ns, out, err, errlen);
}

int loom_tls_accept_fd(struct loom_loop *loop, int fd, struct loom_tls_context *ctx,
                       int64_t timeout_ns, struct loom_stream **out, char *err, size_t errlen)
{
    return tls_open(loop, fd, ctx, true, NULL, timeout_ns, out, err, errlen);
}

int loom_tls_connect(const char *host, int port, struct loom_tls_context *ctx, int64_t timeout_ns,
                     struct loom_stream **out, char *err, size_t errlen)
{
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    struct loom_loop *loop = loom_task_loop(self);
    int64_t deadline = loom_deadline(loop, timeout_ns);
    int fd = loom_tcp_connect_fd(host, port, timeout_ns);
    if (fd < 0) {
        put_text(err, errlen, "cannot connect to %s:%d: %s", host ? host : "localhost", port,
                 loom_strerror(fd));
        return fd;
    }
    int64_t left = -1;
    if (deadline >= 0) {
        left = deadline - loom_loop_now(loop);
        left = left > 0 ? left : 0;
    }
    return tls_open(loop, fd, ctx, false, host, left, out, err, errlen);
}

int loom_tls_accept_stream(struct loom_stream **sp, struct loom_tls_context *ctx,
                           int64_t timeout_ns, char *err, size_t errlen)
{
    put_text(err, errlen, "%s", "");
    struct loom_stream *s = *sp;
    if (!ctx || ctx->cache) {
        put_text(err, errlen, "not a server TLS context");
        return -EINVAL;
    }
    int64_t deadline = loom_deadline(loom_stream_loop(s), timeout_ns);
    int fd = loom_stream_fd(s);
    struct tls_conn *c = fd >= 0 ? conn_new(ctx, fd, true) : NULL;
    if (!c)
        return fd >= 0 ? -ENOMEM : -EINVAL;
    int rc = loom__stream_set_transport(s, &tls_ops, c);
    if (rc < 0) {
        put_text(err, errlen, "not a fresh socket stream: %s", loom_strerror(rc));
        c->fd = -1; /* still the plain stream's */
        tls_close(c);
        return rc;
    }
    rc = handshake(s, c, deadline);
    if (rc < 0) {
        put_text(err, errlen, "%s", c->err);
        c->dead = rc == LOOM_ETLS ? LOOM_ETLS : -ECONNABORTED;
    }
    return rc;
}

int loom_tls_close_notify(struct loom_stream *s, int64_t timeout_ns)
{
    struct tls_conn *c = conn_of(s);
    if (!c)
        return -EINVAL;
    int64_t deadline = loom_deadline(loom_stream_loop(s), timeout_ns);
    int rc = loom_stream_flush(s, timeout_ns);
    for (unsigned wait = LOOM_WRITABLE; rc == 0;) {
        rc = send_notify(c, &wait);
        if (rc != -EAGAIN)
            break;
        rc = loom__stream_wait(s, wait, deadline);
    }
    return rc;
}

int loom_tls_shutdown(struct loom_stream *s, int64_t timeout_ns)
{
    int rc = conn_of(s) ? loom_tls_close_notify(s, timeout_ns) : loom_stream_flush(s, timeout_ns);
    loom_stream_close(s);
    return rc;
}

/* --- accessors --- */

bool loom_stream_is_tls(const struct loom_stream *s) { return conn_of(s) != NULL; }

const char *loom_tls_alpn_selected(const struct loom_stream *s)
{
    struct tls_conn *c = conn_of(s);
    return c && c->alpn[0] ? c->alpn : NULL;
}

bool loom_tls_session_reused(const struct loom_stream *s)
{
    struct tls_conn *c = conn_of(s);
    return c && SSL_session_reused(c->ssl);
}

const char *loom_tls_version(const struct loom_stream *s)
{
    struct tls_conn *c = conn_of(s);
    return c ? SSL_get_version(c->ssl) : NULL;
}

bool loom_tls_eof_unclean(const struct loom_stream *s)
{
    struct tls_conn *c = conn_of(s);
    return c && c->unclean_eof;
}

/* A DNS name as SNI carries it (RFC 6066 3: ASCII; IDNs as "xn--" labels). */
static bool host_name_ok(const char *name)
{
    size_t len = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");
    return len && len <= 253 && !name[len];
}

const char *loom_tls_server_name(const struct loom_stream *s)
{
    struct tls_conn *c = conn_of(s);
    const char *name = c ? SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name) : NULL;
    /* OpenSSL passes any bytes but NUL: an escape sequence must not reach a log. */
    return name && host_name_ok(name) ? name : NULL;
}

int loom_tls_peer_name(const struct loom_stream *s, char *buf, size_t len)
{
    struct tls_conn *c = conn_of(s);
    if (!c)
        return -EINVAL;
    X509 *x = SSL_get0_peer_certificate(c->ssl);
    X509_NAME *n = x ? X509_get_subject_name(x) : NULL;
    int i = n ? X509_NAME_get_index_by_NID(n, NID_commonName, -1) : -1;
    ASN1_STRING *d = i >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)) : NULL;
    if (!d)
        return -ENOENT;
    int dl = ASN1_STRING_length(d);
    if (dl < 0 || memchr(ASN1_STRING_get0_data(d), 0, (size_t)dl))
        return -ENOENT; /* a CN with a NUL in it names nobody */
    if ((size_t)dl >= len)
        return -ENOSPC;
    memcpy(buf, ASN1_STRING_get0_data(d), (size_t)dl);
    buf[dl] = '\0';
    return 0;
}

const char *loom_tls_error(const struct loom_stream *s)
{
    struct tls_conn *c = conn_of(s);
    return c ? c->err : "";
}
