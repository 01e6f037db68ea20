/* check_tls.c - TLS streams against a real peer (openssl s_server, curl) and
 * against loom's own accept side: round trips and 8 MiB both ways, refusal of
 * unknown CAs, expired certificates and wrong names (with the reason in the
 * text), IP-address checks, ALPN, session resumption, handshake timeout and
 * cancellation, a peer vanishing mid-record or without close_notify, and
 * close_notify shutdown. The certificates are made at run time (OpenSSL API)
 * in a temp dir; openssl and curl must be installed (their absence fails). */
#include "harness/harness.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "net/server.h"
#include "net/stream.h"
#include "net/tcp.h"
#include "net/tls.h"
#include "proc/proc.h"
#include "reactor/task.h"

#define BIG (8u << 20) /* the large transfer, each way */

/* --- certificates, made once before the tests fork --- */

static char dir[64];
static char certs_why[512]; /* why the certificates could not be made, "" if they were */

/* "<dir>/<name>" in one of a few rotating buffers. */
static const char *P(const char *name)
{
    static _Thread_local char bufs[8][256]; /* threads (test_threads) call this too */
    static _Thread_local int i;
    char *b = bufs[i++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

static int add_ext(X509 *x, X509V3_CTX *v, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, v, nid, value);
    int ok = e && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok;
}

/* A certificate for key with CN cn, SAN san (NULL: a CA), valid from nb to na
 * seconds from now, signed by (issuer, ikey) or self-signed. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, const char *san, X509 *issuer, EVP_PKEY *ikey,
                       long nb, long na)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), nb);
    X509_gmtime_adj(X509_getm_notAfter(x), na);
    X509_set_pubkey(x, key);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    X509V3_CTX v;
    X509V3_set_ctx(&v, issuer ? issuer : x, x, NULL, NULL, 0);
    int ok = san ? add_ext(x, &v, NID_basic_constraints, "CA:FALSE") &&
                       add_ext(x, &v, NID_subject_alt_name, san) &&
                       add_ext(x, &v, NID_ext_key_usage, "serverAuth,clientAuth")
                 : add_ext(x, &v, NID_basic_constraints, "critical,CA:TRUE") &&
                       add_ext(x, &v, NID_key_usage, "critical,keyCertSign,cRLSign");
    if (!ok || !X509_sign(x, ikey ? ikey : key, EVP_sha256())) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Write x (then x2 if not NULL), or else the key k, to a PEM file. */
static int write_pem2(const char *name, X509 *x, X509 *x2, EVP_PKEY *k)
{
    FILE *f = fopen(P(name), "w");
    if (!f)
        return 0;
    int ok = x ? PEM_write_X509(f, x) && (!x2 || PEM_write_X509(f, x2))
               : PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    return fclose(f) == 0 && ok;
}

static int write_pem(const char *name, X509 *x, EVP_PKEY *k)
{
    return write_pem2(name, x, NULL, k);
}

/* Leaf certificate + key files "<name>.pem" / "<name>.key"; the .pem also
 * holds chain (an intermediate) if not NULL. */
static int make_leaf(const char *name, const char *san, X509 *ca, EVP_PKEY *cakey, long nb, long na,
                     X509 *chain)
{
    char f[64];
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = k ? make_cert(k, name, san, ca, cakey, nb, na) : NULL;
    snprintf(f, sizeof f, "%s.pem", name);
    int ok = x && write_pem2(f, x, chain, NULL);
    snprintf(f, sizeof f, "%s.key", name);
    ok = ok && write_pem(f, NULL, k);
    X509_free(x);
    EVP_PKEY_free(k);
    return ok;
}

static const char *const files[] = {"ca.pem",      "srv.pem",   "srv.key",   "expired.pem",
                                    "expired.key", "other.pem", "other.key", "rogue.pem",
                                    "rogue.key",   "chain.pem", "chain.key", "cadir/ca.0"};

static char cadir_link[64]; /* "cadir/<subject hash>.0" */

/* A hashed CA directory (for ca_dir) holding our CA under its subject hash. */
static int make_cadir(X509 *ca)
{
    snprintf(cadir_link, sizeof cadir_link, "cadir/%08lx.0", X509_subject_name_hash(ca));
    return mkdir(P("cadir"), 0700) == 0 && write_pem("cadir/ca.0", ca, NULL) &&
           symlink("ca.0", P(cadir_link)) == 0;
}

static void make_certs(void)
{
    snprintf(dir, sizeof dir, "/tmp/loom-tls-XXXXXX");
    if (!mkdtemp(dir)) {
        snprintf(certs_why, sizeof certs_why, "mkdtemp: %s", strerror(errno));
        return;
    }
    const long day = 86400;
    const char *san = "DNS:localhost,IP:127.0.0.1";
    EVP_PKEY *cak = EVP_EC_gen("P-256"), *rk = EVP_EC_gen("P-256"), *ik = EVP_EC_gen("P-256");
    X509 *ca = cak ? make_cert(cak, "loom test CA", NULL, NULL, NULL, -day, day) : NULL;
    X509 *rca = rk ? make_cert(rk, "loom rogue CA", NULL, NULL, NULL, -day, day) : NULL;
    X509 *ica = ik && ca ? make_cert(ik, "loom intermediate CA", NULL, ca, cak, -day, day) : NULL;
    int ok = ca && rca && ica && write_pem("ca.pem", ca, NULL) &&
             make_leaf("srv", san, ca, cak, -3600, day, NULL) &&
             make_leaf("expired", san, ca, cak, -2 * day, -day, NULL) &&
             make_leaf("other", "DNS:other.example,IP:192.0.2.1", ca, cak, -3600, day, NULL) &&
             make_leaf("rogue", san, rca, rk, -3600, day, NULL) &&
             make_leaf("chain", san, ica, ik, -3600, day, ica) && make_cadir(ca);
    if (!ok)
        snprintf(certs_why, sizeof certs_why, "making test certificates in %s failed", dir);
    X509_free(ca);
    X509_free(rca);
    X509_free(ica);
    EVP_PKEY_free(cak);
    EVP_PKEY_free(rk);
    EVP_PKEY_free(ik);
}

static pid_t main_pid; /* the tests' children exit too: only the parent cleans up */

static void remove_certs(void)
{
    if (getpid() != main_pid || !dir[0])
        return;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(P(files[i]));
    if (cadir_link[0])
        unlink(P(cadir_link));
    rmdir(P("cadir"));
    rmdir(dir);
}

/* --- helpers --- */

static intptr_t run_main(loom_task_fn fn, void *arg)
{
    ck_assert_msg(!certs_why[0], "%s", certs_why);
    return test_run_task(fn, arg);
}

static struct loom_tls_context *client_ctx(const char *alpn)
{
    struct loom_tls_client_options o = {.ca_file = P("ca.pem"), .alpn = alpn};
    struct loom_tls_context *c;
    char err[256];
    int rc = loom_tls_client_context_new(&o, &c, err, sizeof err);
    ck_assert_msg(rc == 0, "client context: %s", err);
    return c;
}

enum mode { ECHO, MIDRECORD, UNCLEAN, HTTP, GARBAGE, DRIP, DEAF };

/* A loom TLS server on 127.0.0.1 serving `conns` connections in one task. */
struct srv {
    struct loom_listener l;
    struct loom_tls_context *ctx;
    struct loom_task *task;
    enum mode mode;
    int conns;
    int64_t hs_timeout;
    int hs_rc;     /* the last handshake's result */
    char err[256]; /* ...and its error text */
    char alpn[32]; /* the ALPN protocol of the last connection */
    char peer[64]; /* ...and the CN of its client certificate */
    char sni[64];  /* ...and the name it asked for, "-" for none */
};

/* Echo until EOF, then close_notify. */
static void serve_echo(struct loom_stream *s)
{
    char *buf = malloc(65536);
    ssize_t n;
    while ((n = loom_stream_read_some(s, buf, 65536, LOOM_SEC(20))) > 0) {
        if (loom_stream_write(s, buf, (size_t)n) < 0 || loom_stream_drain(s, LOOM_SEC(20)) < 0)
            break;
    }
    free(buf);
    loom_tls_shutdown(s, LOOM_SEC(5));
}

/* Send a line, then a record header promising 64 bytes, 10 of them, and vanish. */
static void serve_midrecord(struct loom_stream *s)
{
    static const unsigned char cut[] = {0x17, 0x03, 0x03, 0x00, 0x40, 1, 2, 3,
                                        4,    5,    6,    7,    8,    9, 10};
    loom_stream_write(s, "hi\n", 3);
    loom_stream_flush(s, LOOM_SEC(5));
    ck_assert_int_eq(send(loom_stream_fd(s), cut, sizeof cut, MSG_NOSIGNAL), (ssize_t)sizeof cut);
    shutdown(loom_stream_fd(s), SHUT_RDWR);
    loom_stream_close(s);
}

/* Send a line, then end TCP without close_notify. */
static void serve_unclean(struct loom_stream *s)
{
    char buf[64];
    loom_stream_write(s, "bye\n", 4);
    loom_stream_flush(s, LOOM_SEC(5));
    shutdown(loom_stream_fd(s), SHUT_WR);
    loom_stream_read_some(s, buf, sizeof buf, LOOM_SEC(5)); /* until the client is done */
    shutdown(loom_stream_fd(s), SHUT_RDWR);
    loom_stream_close(s);
}

/* A record that is no valid encryption of anything. */
static void serve_garbage(struct loom_stream *s)
{
    static const unsigned char bad[] = {
        0x17, 0x03, 0x03, 0x00, 0x20, 'g', 'a', 'r', 'b', 'a', 'g', 'e', 0,  1,  2,  3,  4,  5, 6,
        7,    8,    9,    10,   11,   12,  13,  14,  15,  16,  17,  18,  19, 20, 21, 22, 23, 24};
    char buf[64];
    ck_assert_int_eq(send(loom_stream_fd(s), bad, sizeof bad, MSG_NOSIGNAL), (ssize_t)sizeof bad);
    loom_stream_read_some(s, buf, sizeof buf, LOOM_SEC(5)); /* the client's alert, or EOF */
    loom_stream_close(s);
}

/* One byte per record, one record every 5 ms. */
static void serve_drip(struct loom_stream *s)
{
    for (const char *p = "drip, drop\n"; *p; p++) {
        loom_stream_write(s, p, 1);
        loom_sleep(LOOM_MS(5));
    }
    loom_tls_shutdown(s, LOOM_SEC(5));
}

/* Never read: the client's writes back up until its drain times out. */
static void serve_deaf(struct loom_stream *s)
{
    loom_sleep(LOOM_SEC(3)); /* cancelled by srv_stop... or the test ends first */
    loom_stream_close(s);
}

/* Read a request head, answer it, close_notify. */
static void serve_http(struct loom_stream *s)
{
    char head[4096];
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 16\r\nConnection: close\r\n"
                               "\r\nhello from loom\n";
    if (loom_stream_readuntil(s, "\r\n\r\n", 4, head, sizeof head, LOOM_SEC(10)) > 0)
        loom_stream_write(s, resp, sizeof resp - 1);
    loom_tls_shutdown(s, LOOM_SEC(5));
}

static intptr_t srv_main(void *arg)
{
    struct srv *v = arg;
    for (int i = 0; i < v->conns; i++) {
        int fd = loom_listener_accept(&v->l, LOOM_SEC(20));
        if (fd < 0)
            return fd;
        struct loom_stream *s;
        v->hs_rc = loom_tls_accept_fd(loom_loop_current(), fd, v->ctx, v->hs_timeout, &s, v->err,
                                      sizeof v->err);
        if (v->hs_rc < 0)
            continue;
        const char *a = loom_tls_alpn_selected(s);
        snprintf(v->alpn, sizeof v->alpn, "%s", a ? a : "");
        const char *sni = loom_tls_server_name(s);
        snprintf(v->sni, sizeof v->sni, "%s", sni ? sni : "-");
        if (loom_tls_peer_name(s, v->peer, sizeof v->peer) < 0)
            v->peer[0] = '\0';
        if (v->mode == ECHO)
            serve_echo(s);
        else if (v->mode == MIDRECORD)
            serve_midrecord(s);
        else if (v->mode == UNCLEAN)
            serve_unclean(s);
        else if (v->mode == GARBAGE)
            serve_garbage(s);
        else if (v->mode == DRIP)
            serve_drip(s);
        else if (v->mode == DEAF)
            serve_deaf(s);
        else
            serve_http(s);
    }
    return 0;
}

static void srv_start_ca(struct srv *v, const char *cert, const char *alpn, const char *client_ca,
                         enum mode mode, int conns)
{
    memset(v, 0, sizeof *v);
    char c[32], k[32], err[256];
    snprintf(c, sizeof c, "%s.pem", cert);
    snprintf(k, sizeof k, "%s.key", cert);
    struct loom_tls_server_options o = {
        .cert_file = P(c), .key_file = P(k), .alpn = alpn, .client_ca_file = client_ca};
    int rc = loom_tls_server_context_new(&o, &v->ctx, err, sizeof err);
    ck_assert_msg(rc == 0, "server context: %s", err);
    ck_assert_int_eq(loom_tcp_listen(loom_loop_current(), &v->l, "127.0.0.1", 0, 0, 0), 0);
    v->mode = mode;
    v->conns = conns;
    v->hs_timeout = LOOM_SEC(10);
    v->hs_rc = 1;
    v->task = loom_spawn(srv_main, v, "tls-server");
}

static void srv_start(struct srv *v, const char *cert, const char *alpn, enum mode mode, int conns)
{
    srv_start_ca(v, cert, alpn, NULL, mode, conns);
}

static intptr_t srv_stop(struct srv *v)
{
    intptr_t r = loom_task_join(v->task);
    loom_listener_close(&v->l);
    loom_tls_context_free(v->ctx);
    return r;
}

static int port_of(struct srv *v) { return loom_listener_port(&v->l); }

/* Fill buf with the pattern for offset off. */
static void pattern(unsigned char *buf, size_t len, size_t off)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)((off + i) * 31 + ((off + i) >> 13));
}

struct writer {
    struct loom_stream *s;
    size_t total;
    bool lines; /* 1023-byte lines + "\n" instead of the byte pattern */
    bool eof;   /* write_eof (close_notify) at the end */
};

static intptr_t writer_main(void *arg)
{
    struct writer *w = arg;
    unsigned char *buf = malloc(65536);
    for (size_t off = 0; off < w->total; off += 65536) {
        if (w->lines) {
            for (size_t j = 0; j < 65536; j++)
                buf[j] = j % 1024 == 1023
                             ? '\n'
                             : (unsigned char)('a' + ((off + j) / 1024 + j % 1024) % 26);
        } else {
            pattern(buf, 65536, off);
        }
        int rc = loom_stream_write(w->s, buf, 65536);
        if (rc == 0)
            rc = loom_stream_drain(w->s, LOOM_SEC(30));
        if (rc < 0) {
            free(buf);
            return rc;
        }
    }
    free(buf);
    return w->eof ? loom_stream_write_eof(w->s) : 0;
}

/* --- against loom's own accept side --- */

static intptr_t loom_roundtrip_main(void *arg)
{
    struct srv v;
    srv_start(&v, "srv", "h2,http/1.1", ECHO, 1);
    struct loom_tls_context *cc = client_ctx("http/1.1");
    struct loom_stream *s;
    char err[256], line[128];
    int rc = loom_tls_connect("localhost", port_of(&v), cc, LOOM_SEC(10), &s, err, sizeof err);
    ck_assert_msg(rc == 0, "connect: %s (%s)", loom_strerror(rc), err);
    ck_assert(loom_stream_is_tls(s));
    ck_assert_str_eq(loom_tls_version(s), "TLSv1.3");
    ck_assert_str_eq(loom_tls_alpn_selected(s), "http/1.1");
    ck_assert(!loom_tls_session_reused(s));
    ck_assert_int_eq(loom_stream_write(s, "hello\nworld", 11), 0);
    ck_assert_int_eq(loom_stream_readline(s, line, sizeof line, LOOM_SEC(10)), 6);
    ck_assert_str_eq(line, "hello\n");
    ck_assert_int_eq(loom_stream_readexactly(s, line, 5, LOOM_SEC(10)), 5);
    ck_assert(!memcmp(line, "world", 5));
    ck_assert_str_eq(v.alpn, "http/1.1");
    ck_assert_str_eq(v.sni, "localhost");
    /* Several small pieces at once (coalesced into one record). */
    struct iovec iov[] = {{"a", 1}, {NULL, 0}, {"bc", 2}, {"d\n", 2}};
    ck_assert_int_eq(loom_stream_writev(s, iov, 4), 0);
    ck_assert_int_eq(loom_stream_readline(s, line, sizeof line, LOOM_SEC(10)), 5);
    ck_assert_str_eq(line, "abcd\n");

    /* 8 MiB there and back, with drain on both sides; then close_notify each way. */
    struct writer w = {s, BIG, false, true};
    struct loom_task *wt = loom_spawn(writer_main, &w, "writer");
    unsigned char *got = malloc(65536), *want = malloc(65536);
    for (size_t off = 0; off < BIG; off += 65536) {
        ck_assert_int_eq(loom_stream_readexactly(s, got, 65536, LOOM_SEC(30)), 65536);
        pattern(want, 65536, off);
        ck_assert_msg(!memcmp(got, want, 65536), "data differs near offset %zu", off);
    }
    free(got);
    free(want);
    ck_assert_int_eq(loom_task_join(wt), 0);
    ck_assert_int_eq(loom_stream_read_some(s, line, sizeof line, LOOM_SEC(10)), LOOM_EOF);
    ck_assert(!loom_tls_eof_unclean(s)); /* the server's close_notify came */
    ck_assert_int_eq(loom_tls_shutdown(s, LOOM_SEC(5)), 0);
    ck_assert_int_eq(srv_stop(&v), 0);
    ck_assert_int_eq(v.hs_rc, 0);
    loom_tls_context_free(cc);
    return 0;
}

/* Connect to a server with the given certificate; the rc, err filled. */
static int try_cert(const char *cert, const char *host, struct loom_tls_context *cc, char *err,
                    size_t errlen, struct srv *v)
{
    srv_start(v, cert, NULL, ECHO, 1);
    struct loom_stream *s = NULL;
    int fd = loom_tcp_connect_fd("127.0.0.1", port_of(v), LOOM_SEC(5));
    ck_assert_int_ge(fd, 0);
    int rc = loom_tls_connect_fd(loom_loop_current(), fd, cc, host, LOOM_SEC(10), &s, err, errlen);
    if (rc == 0)
        loom_stream_close(s);
    srv_stop(v);
    return rc;
}

static intptr_t verify_main(void *arg)
{
    struct loom_tls_context *cc = client_ctx(NULL);
    struct srv v;
    char err[256];
    /* A leaf signed by an intermediate: the server sends the chain from its file. */
    ck_assert_int_eq(try_cert("chain", "localhost", cc, err, sizeof err, &v), 0);
    ck_assert_int_eq(try_cert("expired", "localhost", cc, err, sizeof err, &v), LOOM_ETLS);
    ck_assert_contains(err, "certificate verify failed: certificate has expired");
    ck_assert_int_lt(v.hs_rc, 0); /* the server saw the client's alert */
    ck_assert_int_eq(try_cert("other", "localhost", cc, err, sizeof err, &v), LOOM_ETLS);
    ck_assert_contains(err, "certificate verify failed: hostname mismatch");
    ck_assert_int_eq(try_cert("rogue", "localhost", cc, err, sizeof err, &v), LOOM_ETLS);
    ck_assert_contains(err, "certificate verify failed: unable to get local issuer certificate");
    ck_assert_contains(err, "(unknown CA)");
    /* The system store alone does not know our CA either. */
    struct loom_tls_context *sys;
    ck_assert_int_eq(loom_tls_client_context_new(NULL, &sys, err, sizeof err), 0);
    ck_assert_int_eq(try_cert("srv", "localhost", sys, err, sizeof err, &v), LOOM_ETLS);
    ck_assert_contains(err, "unknown CA");
    loom_tls_context_free(sys);
    /* Verification off (explicitly) accepts anything. */
    struct loom_tls_client_options o = {.insecure_no_verify = true};
    struct loom_tls_context *ins;
    ck_assert_int_eq(loom_tls_client_context_new(&o, &ins, err, sizeof err), 0);
    ck_assert_int_eq(try_cert("rogue", "wrong.example", ins, err, sizeof err, &v), 0);
    ck_assert_str_eq(v.sni, "wrong.example");
    /* An SNI that is no host name (an escape sequence for whoever logs it) reads as none. */
    ck_assert_int_eq(try_cert("srv", "evil\033[2J\007.example", ins, err, sizeof err, &v), 0);
    ck_assert_str_eq(v.sni, "-");
    ck_assert_int_eq(try_cert("srv", "Host-1_a.xn--bcher-kva.example", ins, err, sizeof err, &v),
                     0);
    ck_assert_str_eq(v.sni, "Host-1_a.xn--bcher-kva.example");
    loom_tls_context_free(ins);
    /* IP literals are checked against IP SANs; no stale error from the failures
     * above leaks into this connection. */
    srv_start(&v, "srv", NULL, ECHO, 1);
    struct loom_stream *s;
    ck_assert_int_eq(
        loom_tls_connect("127.0.0.1", port_of(&v), cc, LOOM_SEC(10), &s, err, sizeof err), 0);
    ck_assert_str_eq(err, "");
    ck_assert_str_eq(loom_tls_error(s), "");
    ck_assert_int_eq(loom_tls_peer_name(s, err, 3), -ENOSPC);
    ck_assert_int_eq(loom_tls_peer_name(s, err, sizeof err), 0);
    ck_assert_str_eq(err, "srv");
    loom_stream_close(s);
    srv_stop(&v);
    ck_assert_str_eq(v.sni, "-"); /* an IP literal is not sent as SNI (RFC 6066 section 3) */
    ck_assert_int_eq(try_cert("other", "127.0.0.1", cc, err, sizeof err, &v), LOOM_ETLS);
    ck_assert_contains(err, "certificate verify failed: IP address mismatch");
    /* Trust anchors from a hashed directory. */
    struct loom_tls_client_options od = {.ca_dir = P("cadir")};
    struct loom_tls_context *dc;
    ck_assert_int_eq(loom_tls_client_context_new(&od, &dc, err, sizeof err), 0);
    ck_assert_int_eq(try_cert("srv", "localhost", dc, err, sizeof err, &v), 0);
    ck_assert_int_eq(try_cert("rogue", "localhost", dc, err, sizeof err, &v), LOOM_ETLS);
    loom_tls_context_free(dc);
    /* ALPN lists may have spaces; a bad one is refused with the reason. */
    struct loom_tls_client_options oa = {.ca_file = P("ca.pem"), .alpn = "h2, http/1.1"};
    ck_assert_int_eq(loom_tls_client_context_new(&oa, &dc, err, sizeof err), 0);
    loom_tls_context_free(dc);
    oa.alpn = "h2,,http/1.1";
    ck_assert_int_eq(loom_tls_client_context_new(&oa, &dc, err, sizeof err), -EINVAL);
    ck_assert_contains(err, "bad ALPN list");
    /* A bad CA file is named. */
    struct loom_tls_client_options bad = {.ca_file = P("nonexistent.pem")};
    struct loom_tls_context *b;
    ck_assert_int_eq(loom_tls_client_context_new(&bad, &b, err, sizeof err), LOOM_ETLS);
    ck_assert_contains(err, "nonexistent.pem");
    loom_tls_context_free(cc);
    return 0;
}

static intptr_t resume_main(void *arg)
{
    struct srv v;
    srv_start(&v, "srv", NULL, ECHO, 4);
    struct loom_tls_context *cc = client_ctx(NULL);
    char err[256], line[64];
    for (int i = 0; i < 4; i++) {
        struct loom_stream *s;
        if (i == 2) {
            /* A failed handshake drops the cached session (and the next store
             * reuses its slot: this once freed a stale session twice). */
            int fd = loom_tcp_connect_fd("127.0.0.1", port_of(&v), LOOM_SEC(5));
            ck_assert_int_ge(fd, 0);
            ck_assert_int_eq(loom_tls_connect_fd(loom_loop_current(), fd, cc, "localhost", 0, &s,
                                                 err, sizeof err),
                             -ETIMEDOUT);
            continue;
        }
        int rc = loom_tls_connect("localhost", port_of(&v), cc, LOOM_SEC(10), &s, err, sizeof err);
        ck_assert_msg(rc == 0, "connect: %s", err);
        ck_assert_int_eq(loom_tls_session_reused(s), i == 1);
        loom_stream_write(s, "x\n", 2); /* a read lets the TLS 1.3 tickets in */
        ck_assert_int_eq(loom_stream_readline(s, line, sizeof line, LOOM_SEC(10)), 2);
        ck_assert_int_eq(loom_tls_shutdown(s, LOOM_SEC(5)), 0);
    }
    ck_assert_int_eq(srv_stop(&v), 0);
    loom_tls_context_free(cc);
    return 0;
}

/* --- ALPN refusal, timeouts, cancellation --- */

static intptr_t alpn_main(void *arg)
{
    struct srv v;
    char err[256];
    struct loom_tls_context *cc = client_ctx("h2");
    srv_start(&v, "srv", "http/1.1", ECHO, 1);
    struct loom_stream *s;
    int rc = loom_tls_connect("localhost", port_of(&v), cc, LOOM_SEC(10), &s, err, sizeof err);
    ck_assert_int_eq(rc, LOOM_ETLS);
    ck_assert_contains(err, "no application protocol");
    srv_stop(&v);
    loom_tls_context_free(cc);
    /* A client offering no ALPN is served; none is selected. */
    cc = client_ctx(NULL);
    srv_start(&v, "srv", "http/1.1", ECHO, 1);
    rc = loom_tls_connect("localhost", port_of(&v), cc, LOOM_SEC(10), &s, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_ptr_null(loom_tls_alpn_selected(s));
    loom_stream_close(s);
    srv_stop(&v);
    loom_tls_context_free(cc);
    return 0;
}

struct conn_try {
    int port;
    struct loom_tls_context *cc;
    int64_t timeout;
    char err[256];
};

static intptr_t connect_task(void *arg)
{
    struct conn_try *c = arg;
    struct loom_stream *s;
    int rc = loom_tls_connect("127.0.0.1", c->port, c->cc, c->timeout, &s, c->err, sizeof c->err);
    if (rc == 0)
        loom_stream_close(s);
    return rc;
}

static intptr_t timeout_main(void *arg)
{
    /* A listener that never accepts: the kernel completes TCP, nobody speaks TLS. */
    struct loom_listener l;
    ck_assert_int_eq(loom_tcp_listen(loom_loop_current(), &l, "127.0.0.1", 0, 0, 0), 0);
    struct conn_try c = {loom_listener_port(&l), client_ctx(NULL), LOOM_MS(300), ""};
    double t0 = test_now();
    ck_assert_int_eq(connect_task(&c), -ETIMEDOUT);
    double dt = test_now() - t0;
    ck_assert_msg(dt > 0.25 && dt < 3, "timed out after %.3f s", dt);
    ck_assert_contains(c.err, "timed out");

    /* Cancelled while in the handshake: -ECANCELED, nothing left open. */
    c.timeout = -1;
    struct loom_task *t = loom_spawn(connect_task, &c, "connect");
    loom_sleep(LOOM_MS(50));
    ck_assert(!loom_task_done(t));
    loom_task_cancel(t);
    ck_assert_int_eq(loom_task_join(t), -ECANCELED);

    /* The server side times out a client that connects and says nothing. */
    struct srv v;
    srv_start(&v, "srv", NULL, ECHO, 1);
    v.hs_timeout = LOOM_MS(300);
    struct loom_stream *plain;
    ck_assert_int_eq(loom_tcp_connect("127.0.0.1", port_of(&v), LOOM_SEC(5), &plain), 0);
    char buf[16];
    ck_assert_int_lt(loom_stream_read_some(plain, buf, sizeof buf, LOOM_SEC(5)), 0); /* closed */
    ck_assert_int_eq(srv_stop(&v), 0);
    ck_assert_int_eq(v.hs_rc, -ETIMEDOUT);
    loom_stream_close(plain);
    loom_listener_close(&l);
    loom_tls_context_free(c.cc);
    return 0;
}

static intptr_t client_cert_main(void *arg)
{
    struct srv v;
    char err[256], line[64];
    struct loom_stream *s;
    /* Without a certificate: refused by the server, which says why. In TLS 1.3
     * the client finishes first and hears of it on its first read. */
    struct loom_tls_context *cc = client_ctx(NULL);
    srv_start_ca(&v, "srv", NULL, P("ca.pem"), ECHO, 1);
    int rc = loom_tls_connect("localhost", port_of(&v), cc, LOOM_SEC(10), &s, err, sizeof err);
    if (rc == 0) {
        loom_stream_write(s, "x\n", 2);
        rc = (int)loom_stream_readline(s, line, sizeof line, LOOM_SEC(10));
        ck_assert_int_eq(rc, LOOM_ETLS);
        ck_assert_contains(loom_tls_error(s), "certificate required");
        loom_stream_close(s);
    }
    ck_assert_int_lt(rc, 0);
    srv_stop(&v);
    ck_assert_int_lt(v.hs_rc, 0);
    ck_assert_contains(v.err, "peer did not return a certificate");
    loom_tls_context_free(cc);
    /* With one signed by the CA: accepted, and the server sees who it is. */
    struct loom_tls_client_options o = {
        .ca_file = P("ca.pem"), .cert_file = P("srv.pem"), .key_file = P("srv.key")};
    ck_assert_int_eq(loom_tls_client_context_new(&o, &cc, err, sizeof err), 0);
    srv_start_ca(&v, "srv", NULL, P("ca.pem"), ECHO, 1);
    rc = loom_tls_connect("localhost", port_of(&v), cc, LOOM_SEC(10), &s, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    loom_stream_write(s, "x\n", 2);
    ck_assert_int_eq(loom_stream_readline(s, line, sizeof line, LOOM_SEC(10)), 2);
    ck_assert_int_eq(loom_tls_shutdown(s, LOOM_SEC(5)), 0);
    ck_assert_int_eq(srv_stop(&v), 0);
    ck_assert_int_eq(v.hs_rc, 0);
    ck_assert_str_eq(v.peer, "srv");
    loom_tls_context_free(cc);
    /* With one from an unknown CA: the server refuses it. */
    o.cert_file = P("rogue.pem");
    o.key_file = P("rogue.key");
    ck_assert_int_eq(loom_tls_client_context_new(&o, &cc, err, sizeof err), 0);
    srv_start_ca(&v, "srv", NULL, P("ca.pem"), ECHO, 1);
    rc = loom_tls_connect("localhost", port_of(&v), cc, LOOM_SEC(10), &s, err, sizeof err);
    if (rc == 0) {
        loom_stream_write(s, "x\n", 2);
        ck_assert_int_eq(loom_stream_readline(s, line, sizeof line, LOOM_SEC(10)), LOOM_ETLS);
        loom_stream_close(s);
    }
    srv_stop(&v);
    ck_assert_int_eq(v.hs_rc, LOOM_ETLS);
    ck_assert_contains(v.err, "certificate verify failed: unable to get local issuer certificate");
    loom_tls_context_free(cc);
    return 0;
}

/* --- peers that go away --- */

static intptr_t vanish_main(void *arg)
{
    struct sigaction sa;
    ck_assert_int_eq(sigaction(SIGPIPE, NULL, &sa), 0);
    ck_assert_msg(sa.sa_handler == SIG_DFL, "SIGPIPE must be at its default to test this");
    struct loom_tls_context *cc = client_ctx(NULL);
    char err[256], line[64];
    struct srv v;
    struct loom_stream *s;
    srv_start(&v, "srv", NULL, MIDRECORD, 1);
    ck_assert_int_eq(
        loom_tls_connect("localhost", port_of(&v), cc, LOOM_SEC(10), &s, err, sizeof err), 0);
    ck_assert_int_eq(loom_stream_readline(s, line, sizeof line, LOOM_SEC(10)), 3);
    ck_assert_int_eq(loom_stream_readline(s, line, sizeof line, LOOM_SEC(10)), -ECONNRESET);
    ck_assert(loom_tls_eof_unclean(s));
    /* Writing to the vanished peer fails (RST: no SIGPIPE, which would kill us). */
    int wrc = 0;
    for (int i = 0; i < 100 && wrc == 0; i++) {
        wrc = loom_stream_write(s, line, sizeof line);
        loom_sleep(LOOM_MS(2));
    }
    ck_assert_msg(wrc == -EPIPE || wrc == -ECONNRESET, "write: %s", loom_strerror(wrc));
    loom_stream_close(s);
    srv_stop(&v);

    srv_start(&v, "srv", NULL, UNCLEAN, 1);
    ck_assert_int_eq(
        loom_tls_connect("localhost", port_of(&v), cc, LOOM_SEC(10), &s, err, sizeof err), 0);
    ck_assert_int_eq(loom_stream_readline(s, line, sizeof line, LOOM_SEC(10)), 4);
    ck_assert_int_eq(loom_stream_readline(s, line, sizeof line, LOOM_SEC(10)), LOOM_EOF);
    ck_assert(loom_tls_eof_unclean(s));
    loom_stream_close(s);
    srv_stop(&v);
    loom_tls_context_free(cc);
    return 0;
}

/* --- hostile peers after the handshake --- */

static intptr_t hostile_main(void *arg)
{
    struct loom_tls_context *cc = client_ctx(NULL);
    char err[256], line[64];
    struct srv v;
    struct loom_stream *s;
    /* A forged record: an error naming the reason, not data. */
    srv_start(&v, "srv", NULL, GARBAGE, 1);
    ck_assert_int_eq(
        loom_tls_connect("localhost", port_of(&v), cc, LOOM_SEC(10), &s, err, sizeof err), 0);
    ck_assert_int_eq(loom_stream_readline(s, line, sizeof line, LOOM_SEC(10)), LOOM_ETLS);
    ck_assert_contains(loom_tls_error(s), "TLS read failed: ");
    ck_assert_msg(strstr(loom_tls_error(s), "bad record mac") ||
                      strstr(loom_tls_error(s), "decryption failed"),
                  "%s", loom_tls_error(s));
    loom_stream_close(s);
    srv_stop(&v);
    /* A line dripped one byte per record still reads as one line. */
    srv_start(&v, "srv", NULL, DRIP, 1);
    ck_assert_int_eq(
        loom_tls_connect("localhost", port_of(&v), cc, LOOM_SEC(10), &s, err, sizeof err), 0);
    ck_assert_int_eq(loom_stream_readline(s, line, sizeof line, LOOM_SEC(10)), 11);
    ck_assert_str_eq(line, "drip, drop\n");
    ck_assert_int_eq(loom_stream_readline(s, line, sizeof line, LOOM_SEC(10)), LOOM_EOF);
    ck_assert(!loom_tls_eof_unclean(s));
    loom_stream_close(s);
    srv_stop(&v);
    /* A peer that never reads: drain times out, and memory stays bounded by
     * what we chose to write. */
    srv_start(&v, "srv", NULL, DEAF, 1);
    ck_assert_int_eq(
        loom_tls_connect("localhost", port_of(&v), cc, LOOM_SEC(10), &s, err, sizeof err), 0);
    char *chunk = calloc(1, 65536);
    int rc = 0;
    size_t sent = 0;
    double t0 = test_now();
    while (rc == 0 && sent < (64u << 20)) {
        ck_assert_int_eq(loom_stream_write(s, chunk, 65536), 0);
        sent += 65536;
        rc = loom_stream_drain(s, LOOM_MS(200));
    }
    free(chunk);
    ck_assert_int_eq(rc, -ETIMEDOUT);
    ck_assert_double_lt(test_now() - t0, 5);
    ck_assert_uint_le(loom_stream_write_buffered(s), 65536 + LOOM_STREAM_HIGH_WATER);
    loom_stream_close(s);
    srv_stop(&v);
    loom_tls_context_free(cc);
    return 0;
}

/* --- one context shared by loops in several threads --- */

struct shared {
    struct loom_tls_context *cc, *sc;
    int resumed; /* connections that resumed a session */
    int failures;
};

static intptr_t shared_loop_main(void *arg)
{
    struct shared *sh = arg;
    struct srv v;
    char err[256], line[64];
    srv_start(&v, "srv", NULL, ECHO, 20);
    loom_tls_context_free(v.ctx); /* serve with the shared one (the task has not run yet) */
    v.ctx = sh->sc;
    int resumed = 0;
    for (int i = 0; i < 20; i++) {
        struct loom_stream *s;
        if (loom_tls_connect("localhost", port_of(&v), sh->cc, LOOM_SEC(10), &s, err, sizeof err) <
            0) {
            __atomic_add_fetch(&sh->failures, 1, __ATOMIC_RELAXED);
            continue;
        }
        resumed += loom_tls_session_reused(s);
        loom_stream_write(s, "x\n", 2);
        if (loom_stream_readline(s, line, sizeof line, LOOM_SEC(10)) != 2)
            __atomic_add_fetch(&sh->failures, 1, __ATOMIC_RELAXED);
        loom_tls_shutdown(s, LOOM_SEC(5));
    }
    __atomic_add_fetch(&sh->resumed, resumed, __ATOMIC_RELAXED);
    intptr_t r = loom_task_join(v.task);
    loom_listener_close(&v.l);
    return r;
}

static void *shared_thread(void *arg) { return (void *)loom_run(shared_loop_main, arg); }

START_TEST(test_threads)
{
    ck_assert_msg(!certs_why[0], "%s", certs_why);
    struct shared sh = {0};
    char err[256];
    struct loom_tls_client_options co = {.ca_file = P("ca.pem")};
    struct loom_tls_server_options so = {.cert_file = P("srv.pem"), .key_file = P("srv.key")};
    ck_assert_int_eq(loom_tls_client_context_new(&co, &sh.cc, err, sizeof err), 0);
    ck_assert_int_eq(loom_tls_server_context_new(&so, &sh.sc, err, sizeof err), 0);
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, shared_thread, &sh), 0);
    for (int i = 0; i < 3; i++) {
        void *r;
        pthread_join(th[i], &r);
        ck_assert_int_eq((intptr_t)r, 0);
    }
    ck_assert_int_eq(sh.failures, 0);
    ck_assert_int_ge(sh.resumed, 3 * 18); /* all but the first of each port resume */
    loom_tls_context_free(sh.cc);
    loom_tls_context_free(sh.sc);
}
END_TEST

/* --- loom_server + loom_tls_accept_stream --- */

struct tls_server_arg {
    struct loom_tls_context *ctx;
    int ok, failed;
    char err[256];
};

static intptr_t tls_handler(struct loom_stream *s, void *arg)
{
    struct tls_server_arg *a = arg;
    char line[256];
    int rc = loom_tls_accept_stream(&s, a->ctx, LOOM_SEC(5), a->err, sizeof a->err);
    if (rc < 0) {
        a->failed++;
        ck_assert_int_lt(loom_stream_write(s, "x", 1), 0); /* dead, but still valid */
        return rc;
    }
    a->ok++;
    ssize_t n = loom_stream_readline(s, line, sizeof line, LOOM_SEC(5));
    if (n > 0)
        loom_stream_write(s, line, (size_t)n);
    return loom_tls_close_notify(s, LOOM_SEC(5)); /* the server closes the stream */
}

static intptr_t accept_stream_main(void *arg)
{
    struct tls_server_arg a = {0};
    char err[256], line[64];
    struct loom_tls_server_options so = {.cert_file = P("srv.pem"), .key_file = P("srv.key")};
    ck_assert_int_eq(loom_tls_server_context_new(&so, &a.ctx, err, sizeof err), 0);
    struct loom_server_options o = {.host = "127.0.0.1"};
    struct loom_server *srv;
    ck_assert_int_eq(loom_server_start(loom_loop_current(), &o, tls_handler, &a, &srv), 0);
    struct loom_tls_context *cc = client_ctx(NULL);
    struct loom_stream *s;
    int rc =
        loom_tls_connect("localhost", loom_server_port(srv), cc, LOOM_SEC(10), &s, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    loom_stream_write(s, "ping\n", 5);
    ck_assert_int_eq(loom_stream_readline(s, line, sizeof line, LOOM_SEC(10)), 5);
    ck_assert_str_eq(line, "ping\n");
    ck_assert_int_eq(loom_stream_readline(s, line, sizeof line, LOOM_SEC(10)), LOOM_EOF);
    loom_stream_close(s);
    /* Plain HTTP to the TLS port: the handshake fails and says why. */
    ck_assert_int_eq(loom_tcp_connect("127.0.0.1", loom_server_port(srv), LOOM_SEC(5), &s), 0);
    loom_stream_write(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
    ssize_t n = loom_stream_read_some(s, line, sizeof line, LOOM_SEC(10));
    ck_assert_int_le(n, (ssize_t)sizeof line); /* an alert or EOF, not a hang */
    loom_stream_close(s);
    for (int i = 0; i < 1000 && a.failed == 0; i++)
        loom_sleep(LOOM_MS(5));
    ck_assert_int_eq(a.ok, 1);
    ck_assert_int_eq(a.failed, 1);
    ck_assert_contains(a.err, "http request");
    ck_assert_int_ge(loom_server_shutdown(srv, LOOM_SEC(1)), 0);
    loom_server_free(srv);
    loom_tls_context_free(cc);
    loom_tls_context_free(a.ctx);
    return 0;
}

/* --- real peers: openssl s_server and curl --- */

struct ossl {
    struct loom_proc p;
    int port;
};

/* Start `openssl s_server -rev` (reverses each line) and wait for its ACCEPT line. */
static void ossl_start(struct ossl *o, const char *extra)
{
    const char *argv[] = {"openssl",    "s_server", "-accept",    "127.0.0.1:0", "-cert",
                          P("srv.pem"), "-key",     P("srv.key"), "-rev",        "-alpn",
                          "http/1.1",   extra,      NULL};
    struct loom_proc_options po = {
        .argv = argv, .in = LOOM_PROC_PIPE, .out = LOOM_PROC_PIPE, .err = LOOM_PROC_STDOUT};
    int rc = loom_proc_spawn(NULL, &o->p, &po);
    ck_assert_msg(rc == 0, "cannot run openssl s_server: %s (is openssl installed?)",
                  loom_strerror(rc));
    char line[512];
    o->port = 0;
    for (int i = 0; i < 50 && !o->port; i++) {
        ssize_t n = loom_stream_readline(o->p.out, line, sizeof line, LOOM_SEC(10));
        ck_assert_msg(n > 0, "openssl s_server printed no ACCEPT line (%s)", loom_strerror((int)n));
        if (!strncmp(line, "ACCEPT ", 7) && strrchr(line, ':'))
            o->port = atoi(strrchr(line, ':') + 1);
    }
    ck_assert_int_gt(o->port, 0);
}

static void ossl_stop(struct ossl *o)
{
    loom_proc_terminate(&o->p);
    ck_assert_int_eq(loom_proc_wait(&o->p, LOOM_SEC(5), NULL), 0);
    loom_proc_close(&o->p);
}

static intptr_t ossl_main(void *arg)
{
    struct ossl o;
    ossl_start(&o, NULL);
    struct loom_tls_context *cc = client_ctx("h2,http/1.1");
    char err[256], line[2048];
    struct loom_stream *s;
    int rc = loom_tls_connect("localhost", o.port, cc, LOOM_SEC(10), &s, err, sizeof err);
    ck_assert_msg(rc == 0, "connect to s_server: %s", err);
    ck_assert_str_eq(loom_tls_alpn_selected(s), "http/1.1");
    ck_assert_str_eq(loom_tls_version(s), "TLSv1.3");
    loom_stream_write(s, "hello\n", 6);
    ck_assert_int_eq(loom_stream_readline(s, line, sizeof line, LOOM_SEC(10)), 6);
    ck_assert_str_eq(line, "olleh\n");
    /* 8 MiB of lines there, 8 MiB of reversed lines back. */
    struct writer w = {s, BIG, true, false};
    struct loom_task *wt = loom_spawn(writer_main, &w, "writer");
    for (size_t i = 0; i < BIG / 1024; i++) {
        ck_assert_int_eq(loom_stream_readline(s, line, sizeof line, LOOM_SEC(30)), 1024);
        for (size_t j = 0; j < 1023; j++)
            ck_assert_msg(line[j] == (char)('a' + (i + (1022 - j)) % 26), "line %zu byte %zu", i,
                          j);
    }
    ck_assert_int_eq(loom_task_join(wt), 0);
    ck_assert_int_eq(loom_tls_shutdown(s, LOOM_SEC(5)), 0);
    /* The second connection resumes the session (ticket from the first). */
    rc = loom_tls_connect("localhost", o.port, cc, LOOM_SEC(10), &s, err, sizeof err);
    ck_assert_msg(rc == 0, "reconnect to s_server: %s", err);
    ck_assert(loom_tls_session_reused(s));
    loom_stream_write(s, "abc\n", 4);
    ck_assert_int_eq(loom_stream_readline(s, line, sizeof line, LOOM_SEC(10)), 4);
    ck_assert_str_eq(line, "cba\n");
    loom_stream_close(s);
    ossl_stop(&o);
    loom_tls_context_free(cc);
    return 0;
}

/* Start `openssl s_client` against port with one more option; stdin piped. */
static void s_client_start(struct loom_proc *p, int port, const char *opt)
{
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    const char *argv[] = {"openssl", "s_client", "-connect", addr, opt, NULL};
    struct loom_proc_options po = {
        .argv = argv, .in = LOOM_PROC_PIPE, .out = LOOM_PROC_PIPE, .err = LOOM_PROC_STDOUT};
    int rc = loom_proc_spawn(NULL, p, &po);
    ck_assert_msg(rc == 0, "cannot run openssl s_client: %s (is openssl installed?)",
                  loom_strerror(rc));
}

/* Read p's output until a line containing want (10 s); false at its end. */
static bool s_client_wait(struct loom_proc *p, const char *want)
{
    char line[4096];
    ssize_t n;
    while ((n = loom_stream_readline(p->out, line, sizeof line, LOOM_SEC(10))) > 0 ||
           n == LOOM_ELIMIT)
        if (n > 0 && strstr(line, want))
            return true;
    ck_assert_msg(n == LOOM_EOF, "s_client output: %s", loom_strerror((int)n));
    return false;
}

/* tls.h's promises to a hostile client: TLS 1.1 and 1.0 are refused at the
 * handshake, and a TLS 1.2 client's renegotiation is refused (the connection
 * ends instead of running a second handshake). */
static intptr_t old_tls_main(void *arg)
{
    struct srv v;
    const char *old[] = {"-tls1_1", "-tls1"};
    for (int i = 0; i < 2; i++) {
        srv_start(&v, "srv", NULL, ECHO, 1);
        struct loom_proc p;
        s_client_start(&p, port_of(&v), old[i]);
        loom_stream_close(p.in);
        p.in = NULL;
        s_client_wait(&p, "never printed");
        ck_assert_int_eq(loom_proc_wait(&p, LOOM_SEC(10), NULL), 0);
        loom_proc_close(&p);
        srv_stop(&v);
        ck_assert_msg(v.hs_rc == LOOM_ETLS && strstr(v.err, "unsupported protocol"),
                      "%s: %s (%s); if the client refused to offer it, openssl's configuration "
                      "forbids the old version on this machine",
                      old[i], loom_strerror(v.hs_rc), v.err);
    }
    srv_start(&v, "srv", NULL, ECHO, 1);
    struct loom_proc p;
    s_client_start(&p, port_of(&v), "-tls1_2");
    ck_assert_int_eq(loom_stream_write(p.in, "hello\n", 6), 0);
    ck_assert_msg(s_client_wait(&p, "hello"), "no echo through s_client");
    ck_assert_int_eq(loom_stream_write(p.in, "R\n", 2), 0); /* s_client: renegotiate */
    ck_assert_msg(s_client_wait(&p, "no renegotiation"), "renegotiation was not refused");
    s_client_wait(&p, "never printed"); /* s_client ends: the connection is over */
    ck_assert_int_eq(srv_stop(&v), 0);
    ck_assert_int_eq(v.hs_rc, 0);
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_SEC(10), NULL), 0);
    loom_proc_close(&p);
    return 0;
}

/* TLS 1.2: another handshake, resumption from the session (not a 1.3 ticket). */
static intptr_t ossl12_main(void *arg)
{
    struct ossl o;
    ossl_start(&o, "-tls1_2");
    struct loom_tls_context *cc = client_ctx(NULL);
    char err[256], line[64];
    for (int i = 0; i < 2; i++) {
        struct loom_stream *s;
        int rc = loom_tls_connect("localhost", o.port, cc, LOOM_SEC(10), &s, err, sizeof err);
        ck_assert_msg(rc == 0, "connect to s_server -tls1_2: %s", err);
        ck_assert_str_eq(loom_tls_version(s), "TLSv1.2");
        ck_assert_int_eq(loom_tls_session_reused(s), i == 1);
        loom_stream_write(s, "tls12\n", 6);
        ck_assert_int_eq(loom_stream_readline(s, line, sizeof line, LOOM_SEC(10)), 6);
        ck_assert_str_eq(line, "21slt\n");
        ck_assert_int_eq(loom_tls_shutdown(s, LOOM_SEC(5)), 0);
    }
    ossl_stop(&o);
    loom_tls_context_free(cc);
    return 0;
}

/* Run curl against a loom HTTPS server; its exit code, output in out. */
static int run_curl(const char *cafile, int port, struct loom_bytes *out)
{
    char url[64], resolve[64];
    snprintf(url, sizeof url, "https://localhost:%d/", port);
    snprintf(resolve, sizeof resolve, "localhost:%d:127.0.0.1", port);
    const char *argv[] = {"curl", "-sS",       "--http1.1", "--max-time", "20", "--cacert",
                          cafile, "--resolve", resolve,     url,          NULL};
    struct loom_proc p;
    struct loom_proc_options po = {
        .argv = argv, .in = LOOM_PROC_DEVNULL, .out = LOOM_PROC_PIPE, .err = LOOM_PROC_STDOUT};
    int rc = loom_proc_spawn(NULL, &p, &po);
    ck_assert_msg(rc == 0, "cannot run curl: %s (is curl installed?)", loom_strerror(rc));
    ck_assert_int_eq(loom_proc_communicate(&p, NULL, 0, out, NULL, LOOM_SEC(30)), 0);
    int code = -1;
    loom_proc_returncode(&p, &code);
    loom_proc_close(&p);
    return code;
}

static intptr_t curl_main(void *arg)
{
    struct srv v;
    struct loom_bytes out;
    srv_start(&v, "srv", "h2,http/1.1", HTTP, 1);
    ck_assert_int_eq(run_curl(P("ca.pem"), port_of(&v), &out), 0);
    ck_assert_int_eq(out.len, 16);
    ck_assert(!memcmp(out.data, "hello from loom\n", 16));
    free(out.data);
    ck_assert_int_eq(srv_stop(&v), 0);
    ck_assert_str_eq(v.alpn, "http/1.1");
    /* curl refuses our rogue certificate too (60: peer certificate cannot be authenticated). */
    srv_start(&v, "rogue", NULL, HTTP, 1);
    ck_assert_int_eq(run_curl(P("ca.pem"), port_of(&v), &out), 60);
    free(out.data);
    srv_stop(&v);
    ck_assert_int_lt(v.hs_rc, 0);
    return 0;
}

#define CASE(name)                                                                                 \
    START_TEST(test_##name) { ck_assert_int_eq(run_main(name##_main, NULL), 0); }                  \
    END_TEST

CASE(loom_roundtrip)
CASE(verify)
CASE(resume)
CASE(alpn)
CASE(timeout)
CASE(vanish)
CASE(client_cert)
CASE(ossl12)
CASE(old_tls)
CASE(hostile)
CASE(accept_stream)
CASE(ossl)
CASE(curl)

int main(void)
{
    main_pid = getpid();
    atexit(remove_certs); /* also if the run ends early */
    make_certs();
    Suite *s = suite_create("tls");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"loom_roundtrip", test_loom_roundtrip},
        {"verify", test_verify},
        {"resume", test_resume},
        {"alpn", test_alpn},
        {"timeout", test_timeout},
        {"vanish", test_vanish},
        {"accept_stream", test_accept_stream},
        {"openssl_s_server", test_ossl},
        {"curl", test_curl},
        {"client_cert", test_client_cert},
        {"openssl_tls12", test_ossl12},
        {"old_tls_renegotiation", test_old_tls},
        {"hostile", test_hostile},
        {"threads", test_threads},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = test_tcase(s, cases[i].name, 60);
        tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
        tcase_add_test(tc, cases[i].fn);
    }
    return test_main(s);
}
