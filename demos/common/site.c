/* site.c - the local web site of the HTTP listings (see site.h). */
#include "site.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../demo.h"
#include "net/http.h"
#include "net/http_server.h"
#include "net/tls.h"

struct demo_site {
    struct demo_site_options opt;
    char dir[64]; /* certificates */
    char ca[96], cert[96], key[96];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool ready;
    int rc, port;
    struct loom_loop *loop;
    struct loom_http_server *srv;
    struct loom_tls_context *tls;
    struct loom_http_router *router;
    atomic_ulong requests;
    atomic_uint max_conns;
    atomic_uint in_flight, max_in_flight;
};

/* --- certificates --- */

static X509 *make_cert(EVP_PKEY *key, EVP_PKEY *signer, X509 *issuer, const char *cn, bool ca,
                       int days, long serial)
{
    X509 *x = X509_new();
    if (!x)
        return NULL;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), days < 0 ? (long)days * 86400 - 3600 : -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    const char *ext[][2] = {
        {"basicConstraints", ca ? "critical,CA:TRUE" : "CA:FALSE"},
        {"keyUsage", ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature"},
        {"subjectAltName", ca ? NULL : "IP:127.0.0.1,DNS:localhost"},
        {"extendedKeyUsage", ca ? NULL : "serverAuth"},
    };
    bool ok = true;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        if (!ext[i][1])
            continue;
        X509_EXTENSION *e = X509V3_EXT_nconf(NULL, &ctx, ext[i][0], ext[i][1]);
        ok = ok && e && X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    if (!ok || !X509_sign(x, signer, EVP_sha256())) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static bool write_pem(const char *dir, const char *name, X509 *x, EVP_PKEY *k)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    bool ok = x ? PEM_write_X509(f, x) : PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    return fclose(f) == 0 && ok;
}

int demo_certs_make(const char *dir, int days)
{
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256");
    X509 *ca = ca_key ? make_cert(ca_key, ca_key, NULL, "loom demo CA", true, 2, 1) : NULL;
    X509 *leaf = ca && key ? make_cert(key, ca_key, ca, "127.0.0.1", false, days, 2) : NULL;
    bool ok = leaf && write_pem(dir, "ca.pem", ca, NULL) &&
              write_pem(dir, "cert.pem", leaf, NULL) && write_pem(dir, "key.pem", NULL, key);
    X509_free(leaf);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    return ok ? 0 : -EIO;
}

/* --- the site --- */

static void raise_max(atomic_uint *max, unsigned n)
{
    unsigned m = atomic_load(max);
    while (n > m && !atomic_compare_exchange_weak(max, &m, n))
        ;
}

/* Page n of the link graph (site.h) into body; returns the length. */
static int link_page(const struct demo_site *s, long n, char *body, size_t cap)
{
    char self[64];
    demo_site_url(s, "", self, sizeof self);
    return snprintf(body, cap,
                    "<!DOCTYPE html>\n<html><head><title>Page %ld &amp; links</title></head>\n"
                    "<body><h1>Page %ld</h1>\n<p>Children: <a href=/p/%ld>first</a>, "
                    "<A HREF=\"../p/%ld\">second</A>, <a class=x href='%s/p/%ld'>third</a>\n"
                    "<p><a href=\"/\">home</a> <a name=top>anchor</a> "
                    "<a href=\"https://example.invalid/\">elsewhere</a>\n</body></html>\n",
                    n, n, 3 * n + 1, 3 * n + 2, self, 3 * n + 3);
}

/* A page: "/status/N" answers N, the link graph's pages with links, everything
 * else 200, after the delay. */
static int answer_page(struct demo_site *s, struct loom_http_req *req, struct loom_http_reply *rep)
{
    const char *d = loom_http_req_query_param(req, "delay");
    double delay = d ? atof(d) : s->opt.delay_s;
    if (delay > 0) {
        int rc = loom_sleep(demo_sec(delay));
        if (rc < 0)
            return rc;
    }
    atomic_fetch_add(&s->requests, 1);
    const char *path = loom_http_req_path(req);
    int status = 200;
    if (!strncmp(path, "/status/", 8))
        status = atoi(path + 8);
    if (status < 200 || status > 599)
        status = 400;
    char body[1024];
    int len;
    if (s->opt.links && (!strcmp(path, "/") || !strncmp(path, "/p/", 3)))
        len = link_page(s, strtol(path + (path[1] ? 3 : 1), NULL, 10), body, sizeof body);
    else
        len = snprintf(body, sizeof body,
                       "<!DOCTYPE html>\n<html><head><title>%d</title></head>"
                       "<body><p>loom demo site: %.100s</p></body></html>\n",
                       status, path);
    return loom_http_reply_send(rep, status, "text/html; charset=utf-8", body, (size_t)len);
}

static int answer(struct loom_http_req *req, struct loom_http_reply *rep, void *arg)
{
    struct demo_site *s = arg;
    raise_max(&s->max_conns, (unsigned)loom_server_connections(loom_http_server_net(s->srv)));
    raise_max(&s->max_in_flight, atomic_fetch_add(&s->in_flight, 1) + 1);
    int rc = answer_page(s, req, rep);
    atomic_fetch_sub(&s->in_flight, 1);
    return rc;
}

static intptr_t site_main(void *arg)
{
    struct demo_site *s = arg;
    int rc = 0;
    if (s->opt.tls) {
        struct loom_tls_server_options to = {
            .cert_file = s->cert, .key_file = s->key, .alpn = "http/1.1"};
        char err[256];
        rc = loom_tls_server_context_new(&to, &s->tls, err, sizeof err);
        if (rc < 0)
            fprintf(stderr, "demo site: %s\n", err);
    }
    struct loom_http_server_options o = {.net = {.host = "127.0.0.1", .grace_ns = LOOM_SEC(1)},
                                         .tls = s->tls};
    if (rc == 0)
        rc = loom_http_server_start(loom_loop_current(), &o, s->router, &s->srv);
    pthread_mutex_lock(&s->mu);
    s->rc = rc;
    s->loop = loom_loop_current();
    s->port = rc == 0 ? loom_http_server_port(s->srv) : -1;
    s->ready = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    if (rc == 0) {
        rc = loom_http_server_serve_forever(s->srv);
        loom_http_server_free(s->srv);
    }
    loom_tls_context_free(s->tls);
    return rc;
}

static void *site_thread(void *arg)
{
    loom_run(site_main, arg);
    return NULL;
}

int demo_site_start(const struct demo_site_options *o, struct demo_site **out)
{
    struct demo_site *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->opt = *o;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    int rc = 0;
    if (o->tls) {
        snprintf(s->dir, sizeof s->dir, "/tmp/loom-demo-site-XXXXXX");
        rc = mkdtemp(s->dir) ? demo_certs_make(s->dir, 1) : -errno;
        snprintf(s->ca, sizeof s->ca, "%s/ca.pem", s->dir);
        snprintf(s->cert, sizeof s->cert, "%s/cert.pem", s->dir);
        snprintf(s->key, sizeof s->key, "%s/key.pem", s->dir);
    }
    if (rc == 0 && (rc = loom_http_router_new(&s->router)) == 0 &&
        (rc = loom_http_route(s->router, "*", "/", answer, s)) == 0)
        rc = loom_http_route(s->router, "*", "/{path...}", answer, s);
    if (rc == 0 && (rc = -pthread_create(&s->thread, NULL, site_thread, s)) == 0) {
        pthread_mutex_lock(&s->mu);
        while (!s->ready)
            pthread_cond_wait(&s->cond, &s->mu);
        pthread_mutex_unlock(&s->mu);
        rc = s->rc;
        if (rc < 0)
            pthread_join(s->thread, NULL);
    }
    if (rc < 0) {
        s->ready = false;
        demo_site_stop(s);
        return rc;
    }
    *out = s;
    return 0;
}

const char *demo_site_url(const struct demo_site *s, const char *path, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s://127.0.0.1:%d%s", s->opt.tls ? "https" : "http", s->port, path);
    return buf;
}

int demo_site_port(const struct demo_site *s) { return s->port; }
const char *demo_site_ca_file(const struct demo_site *s) { return s->opt.tls ? s->ca : NULL; }
unsigned long demo_site_requests(const struct demo_site *s) { return atomic_load(&s->requests); }
unsigned demo_site_max_connections(const struct demo_site *s) { return atomic_load(&s->max_conns); }
unsigned demo_site_max_in_flight(const struct demo_site *s)
{
    return atomic_load(&s->max_in_flight);
}

static void stop_cb(void *arg) { loom_http_server_stop(arg); }

void demo_site_stop(struct demo_site *s)
{
    if (!s)
        return;
    if (s->ready) {
        loom_call_soon_threadsafe(s->loop, stop_cb, s->srv);
        pthread_join(s->thread, NULL);
    }
    loom_http_router_free(s->router);
    if (s->dir[0]) {
        unlink(s->ca);
        unlink(s->cert);
        unlink(s->key);
        rmdir(s->dir);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond);
    free(s);
}

/* --- the client side --- */

int demo_site_session(const struct demo_site *s, struct loom_http_session **out)
{
    struct loom_http_session_options o = {.ca_file = demo_site_ca_file(s)};
    return loom_http_session_new(loom_loop_current(), &o, out);
}

int demo_fetch_status(struct loom_http_session *s, const char *url, double delay, char *err,
                      size_t errlen)
{
    if (delay > 0) {
        int rc = loom_sleep(demo_sec(delay));
        if (rc < 0)
            return rc;
    }
    struct loom_http_response *r;
    int rc = loom_http_get(s, url, &r, err, errlen);
    if (rc < 0)
        return rc;
    /* read the (small) body to its end so the connection goes back to the pool */
    char *body;
    ssize_t n = loom_http_response_read_all(r, &body, 1 << 20);
    int status = n < 0 ? (int)n : loom_http_response_status(r);
    if (n >= 0)
        free(body);
    else if (err)
        snprintf(err, errlen, "%s", loom_http_response_error(r));
    loom_http_response_close(r);
    return status;
}

int demo_site_get_blocking(const struct demo_site *s, const char *path)
{
    struct loom_http_session_options o = {.ca_file = demo_site_ca_file(s)};
    char url[256], err[LOOM_HTTP_ERRLEN], *body;
    int status;
    demo_site_url(s, path, url, sizeof url);
    int rc = loom_http_get_blocking(url, &o, 0, &status, &body, NULL, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "GET %s: %s\n", url, err);
        return rc;
    }
    free(body);
    return status;
}
