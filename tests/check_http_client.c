/* check_http_client.c - the HTTP/1.1 client against real servers on
 * 127.0.0.1: tests/tools/http_origin.py (keep-alive, chunked, gzip, redirects,
 * stalls, connection counts, TLS with a CA made at run time) and nginx. Also a
 * unit test of the content decoder fed at every byte boundary.
 *
 * python3, openssl and nginx must be installed: their absence fails a test
 * with the reason. Each test starts its own origin, checks that the fd count
 * is unchanged afterwards and that the loop is empty. */
#include "harness/harness.h"
#include "harness/netclient.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <zlib.h>

#include "net/http.h"
#include "net/http_internal.h"
#include "net/tcp.h"
#include "reactor/error.h"
#include "reactor/task.h"

/* --- the origin server --- */

static struct test_server origin;
static char base[64];      /* "http://127.0.0.1:PORT" */
static char base_host[64]; /* "http://localhost:PORT": another origin, same server */
static char tmpdir[64];    /* certificates, nginx files */

static void origin_start_args(const char *cert, const char *key)
{
    char *argv[] = {
        "python3", "tests/tools/http_origin.py", "0", "--cert", (char *)cert, "--key", (char *)key,
        NULL};
    if (!cert)
        argv[3] = NULL;
    test_server_start(&origin, argv);
    const char *scheme = cert ? "https" : "http";
    snprintf(base, sizeof base, "%s://127.0.0.1:%d", scheme, origin.port);
    snprintf(base_host, sizeof base_host, "%s://localhost:%d", scheme, origin.port);
}

static void origin_start(void) { origin_start_args(NULL, NULL); }

static void origin_stop(void)
{
    kill(origin.pid, SIGTERM);
    test_server_wait(&origin, 10);
}

/* base + path, in one of a few rotating buffers. */
static const char *U(const char *path)
{
    static char bufs[8][512];
    static int i;
    char *b = bufs[i++ % 8];
    snprintf(b, 512, "%s%s", base, path);
    return b;
}

/* The body the origin's /bytes?n=N serves. */
static char *pattern(size_t n)
{
    char *p = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)(32 + i % 95);
    p[n] = 0;
    return p;
}

/* Run fn as a task on a fresh loop; the fd count must come back unchanged. */
static intptr_t run(loom_task_fn fn, void *arg)
{
    test_fd_mark();
    struct loom_loop *loop = test_loop_new();
    struct loom_task *t;
    ck_assert_int_eq(loom_task_spawn(loop, fn, arg, NULL, &t), 0);
    intptr_t r = loom_loop_run_until_complete(loop, t);
    test_loop_free(loop);
    test_fd_check();
    return r;
}

static struct loom_http_session *session(const struct loom_http_session_options *o)
{
    struct loom_http_session *s;
    ck_assert_int_eq(loom_http_session_new(loom_loop_current(), o, &s), 0);
    return s;
}

/* Request and read the whole body. Returns the request's or the read's code. */
static int fetch(struct loom_http_session *s, const char *url,
                 const struct loom_http_request_options *o, int *status, char **body, char *err)
{
    struct loom_http_response *r;
    *body = NULL;
    int rc = loom_http_request(s, url, o, &r, err, LOOM_HTTP_ERRLEN);
    if (rc < 0)
        return rc;
    *status = loom_http_response_status(r);
    ssize_t n = loom_http_response_read_all(r, body, 0);
    if (n < 0)
        snprintf(err, LOOM_HTTP_ERRLEN, "%s", loom_http_response_error(r));
    loom_http_response_close(r);
    return n < 0 ? (int)n : 0;
}

/* GET url expecting 200 and a body equal to want (NULL: not checked). */
static void get_ok(struct loom_http_session *s, const char *url, const char *want)
{
    int st;
    char *body, err[LOOM_HTTP_ERRLEN];
    int rc = fetch(s, url, NULL, &st, &body, err);
    ck_assert_msg(rc == 0, "GET %s: %s (%s)", url, loom_strerror(rc), err);
    ck_assert_int_eq(st, 200);
    if (want)
        ck_assert_str_eq(body, want);
    free(body);
}

/* One counter of the origin's /stats, fetched over session s. */
static int stat_of(struct loom_http_session *s, const char *name)
{
    int st;
    char *body, err[LOOM_HTTP_ERRLEN], key[32];
    ck_assert_int_eq(fetch(s, U("/stats"), NULL, &st, &body, err), 0);
    snprintf(key, sizeof key, "%s=", name);
    const char *p = strstr(body, key);
    ck_assert_msg(p != NULL, "no %s in %s", name, body);
    int v = atoi(p + strlen(key));
    free(body);
    return v;
}

/* --- basics --- */

static intptr_t basic_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN], buf[64];
    ck_assert_int_eq(loom_http_get(s, U("/hello"), &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_status(r), 200);
    ck_assert_str_eq(loom_http_response_reason(r), "OK");
    ck_assert_int_eq(loom_http_response_version(r), 1);
    ck_assert_str_eq(loom_http_response_header(r, "content-LENGTH", 0), "12");
    ck_assert_ptr_null(loom_http_response_header(r, "Content-Length", 1));
    ck_assert_int_eq(loom_http_response_content_length(r), 12);
    ck_assert_str_eq(loom_http_response_url(r), U("/hello"));
    ck_assert_int_eq(loom_http_response_history_count(r), 0);
    ck_assert(!loom_http_response_reused(r));
    ck_assert_int_eq(loom_http_response_read(r, buf, 5), 5);
    ck_assert_int_eq(loom_http_response_read(r, buf + 5, sizeof buf - 5), 7);
    ck_assert(!memcmp(buf, "hello world\n", 12));
    ck_assert_int_eq(loom_http_response_read(r, buf, sizeof buf), 0);
    loom_http_response_close(r);
    ck_assert_int_eq(loom_http_session_idle_count(s), 1);

    /* what went on the wire */
    int st;
    char *body;
    ck_assert_int_eq(fetch(s, U("/echo"), NULL, &st, &body, err), 0);
    ck_assert_contains(body, "GET /echo\n");
    ck_assert_contains(body, "User-Agent: loom/0.1\n");
    ck_assert_contains(body, "Accept-Encoding: gzip, deflate\n");
    ck_assert_contains(body, "Host: 127.0.0.1:");
    free(body);

    /* header names and repeated fields (the origin echoes ours back) */
    struct loom_http_field h[] = {{"X-Token", "abc"}, {"X-Token", "def"}};
    struct loom_http_request_options o = {.headers = h, .header_count = 2};
    ck_assert_int_eq(fetch(s, U("/echo"), &o, &st, &body, err), 0);
    ck_assert(TEST_IN_ORDER(body, "X-Token: abc\n", "X-Token: def\n") != NULL);
    free(body);
    /* a long URL (no big buffers on the task's stack), through a redirect */
    char *lu = malloc(40100);
    int ln = snprintf(lu, 40100, "%s/redirect?code=307&to=/echo&pad=", base);
    memset(lu + ln, 'a', 40000);
    lu[ln + 40000] = 0;
    ck_assert_int_eq(fetch(s, lu, NULL, &st, &body, err), 0);
    ck_assert_int_eq(st, 200);
    ck_assert_contains(body, "GET /echo\n");
    free(body);
    free(lu);

    /* credentials in the URL become Basic auth */
    char cred[128];
    snprintf(cred, sizeof cred, "http://us%%65r:p%%40ss@127.0.0.1:%d/echo", origin.port);
    ck_assert_int_eq(fetch(s, cred, NULL, &st, &body, err), 0);
    ck_assert_contains(body, "Authorization: Basic dXNlcjpwQHNz\n"); /* user:p@ss */
    free(body);
    /* a long token as the password is sent too (over 512 bytes it was left out) */
    char *tok = malloc(2200);
    int tn = snprintf(tok, 2200, "http://u:");
    memset(tok + tn, 'A', 2000);
    snprintf(tok + tn + 2000, 2200 - (size_t)tn - 2000, "@127.0.0.1:%d/echo", origin.port);
    ck_assert_int_eq(fetch(s, tok, NULL, &st, &body, err), 0);
    ck_assert_contains(body, "Authorization: Basic dTpBQUFB"); /* u:AAAA... */
    free(body);
    free(tok);
    struct loom_http_field vhost = {"host", "example.test"};
    struct loom_http_request_options vo = {.headers = &vhost, .header_count = 1};
    ck_assert_int_eq(fetch(s, U("/echo"), &vo, &st, &body, err), 0);
    ck_assert_contains(body, "host: example.test\n");
    ck_assert(strstr(body, "Host: 127.0.0.1") == NULL);
    free(body);
    struct loom_http_field crlf = {"X-Bad", "a\r\nInjected: yes"};
    struct loom_http_request_options bad = {.headers = &crlf, .header_count = 1};
    ck_assert_int_eq(loom_http_request(s, U("/echo"), &bad, &r, err, sizeof err), -EINVAL);
    /* a method too long to keep is refused, never cut into another one */
    struct loom_http_request_options longm = {.method = "PROPFINDPROPFINDPROPFINDPROPFINDX"};
    ck_assert_int_eq(loom_http_request(s, U("/echo"), &longm, &r, err, sizeof err), -EINVAL);
    ck_assert_contains(err, "method longer than 31 bytes");

    /* a response outlives its session */
    ck_assert_int_eq(loom_http_get(s, U("/bytes?n=50000"), &r, err, sizeof err), 0);
    loom_http_session_free(s);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), 50000);
    free(body);
    loom_http_response_close(r);
    return 0;
}

START_TEST(test_basic)
{
    origin_start();
    ck_assert_int_eq(run(basic_main, NULL), 0);
    origin_stop();
}
END_TEST

static intptr_t bad_scheme_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    struct loom_http_response *r = NULL;
    char err[LOOM_HTTP_ERRLEN];
    double t0 = test_now();
    int rc = loom_http_get(s, "error://example.com/", &r, err, sizeof err);
    ck_assert_int_eq(rc, -EPROTONOSUPPORT);
    ck_assert_contains(err, "unsupported URL scheme \"error\"");
    ck_assert_ptr_null(r);
    ck_assert_int_eq(loom_http_get(s, "http://[::1", &r, err, sizeof err) < 0, 1);
    ck_assert_int_eq(loom_http_get(s, "/relative", &r, err, sizeof err), LOOM_URL_ENOSCHEME);
    ck_assert(test_now() - t0 < 0.5);
    ck_assert_int_eq(loom_http_session_open_count(s), 0);
    loom_http_session_free(s);
    return 0;
}

START_TEST(test_bad_scheme) { ck_assert_int_eq(run(bad_scheme_main, NULL), 0); }
END_TEST

/* --- pool --- */

static intptr_t keepalive_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    for (int i = 0; i < 5; i++) {
        struct loom_http_response *r;
        char err[LOOM_HTTP_ERRLEN], *body;
        ck_assert_int_eq(loom_http_get(s, U("/bytes?n=3000"), &r, err, sizeof err), 0);
        ck_assert(loom_http_response_reused(r) == (i > 0));
        ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), 3000);
        free(body);
        loom_http_response_close(r);
    }
    /* HEAD, 204 and 304 carry no body and keep the connection */
    struct loom_http_request_options head = {.method = "HEAD"};
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN], buf[16];
    ck_assert_int_eq(loom_http_request(s, U("/bytes?n=1000"), &head, &r, err, sizeof err), 0);
    ck_assert_str_eq(loom_http_response_header(r, "Content-Length", 0), "1000");
    ck_assert_int_eq(loom_http_response_read(r, buf, sizeof buf), 0);
    loom_http_response_close(r);
    const char *codes[] = {"/status?code=204", "/status?code=304"};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(loom_http_get(s, U(codes[i]), &r, err, sizeof err), 0);
        ck_assert_int_eq(loom_http_response_status(r), i ? 304 : 204);
        ck_assert_int_eq(loom_http_response_read(r, buf, sizeof buf), 0);
        ck_assert(loom_http_response_reused(r));
        loom_http_response_close(r);
    }
    get_ok(s, U("/info"), "after info\n"); /* 100 and 103 skipped */
    ck_assert_int_eq(stat_of(s, "accepted"), 1);
    ck_assert_int_eq(stat_of(s, "requests"), 11);
    ck_assert_int_eq(loom_http_session_open_count(s), 1);
    loom_http_session_free(s);
    return 0;
}

START_TEST(test_keepalive)
{
    origin_start();
    ck_assert_int_eq(run(keepalive_main, NULL), 0);
    origin_stop();
}
END_TEST

struct par {
    struct loom_http_session *s;
    const char *url;
    int rc;
};

static intptr_t par_get(void *arg)
{
    struct par *p = arg;
    int st;
    char *body, err[LOOM_HTTP_ERRLEN];
    p->rc = fetch(p->s, p->url, NULL, &st, &body, err);
    free(body);
    return p->rc;
}

/* n parallel GETs of urls[i % nurls]. */
static void parallel(struct loom_http_session *s, const char *const *urls, int nurls, int n)
{
    struct loom_task **t = calloc((size_t)n, sizeof *t);
    struct par *p = calloc((size_t)n, sizeof *p);
    for (int i = 0; i < n; i++) {
        p[i] = (struct par){s, urls[i % nurls], 1};
        t[i] = loom_spawn(par_get, &p[i], NULL);
    }
    ck_assert_int_eq(loom_gather(t, (size_t)n, NULL, LOOM_GATHER_ALL), 0);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(p[i].rc, 0);
    free(t);
    free(p);
}

static intptr_t limits_main(void *arg)
{
    struct loom_http_session_options so = {.limit_per_host = 2};
    struct loom_http_session *s = session(&so);
    const char *u[] = {U("/delay?s=0.2")};
    parallel(s, u, 1, 6);
    ck_assert_int_eq(stat_of(s, "accepted"), 2);
    ck_assert_int_eq(stat_of(s, "max_open"), 2);
    loom_http_session_free(s);

    /* total limit across two origins of the same server */
    struct loom_http_session_options so2 = {.limit = 3};
    s = session(&so2);
    char h1[128], h2[128];
    snprintf(h1, sizeof h1, "%s/delay?s=0.2", base);
    snprintf(h2, sizeof h2, "%s/delay?s=0.2", base_host);
    const char *u2[] = {h1, h2};
    parallel(s, u2, 2, 10);
    ck_assert_int_le(loom_http_session_open_count(s), 3);
    ck_assert_int_le(stat_of(s, "max_open"), 3);
    loom_http_session_free(s);

    /* a slot that never frees: the wait ends with the connect timeout */
    struct loom_http_session_options so3 = {.limit = 1};
    s = session(&so3);
    struct loom_http_response *held, *r;
    char err[LOOM_HTTP_ERRLEN];
    ck_assert_int_eq(loom_http_get(s, U("/drip?n=100&s=0.05"), &held, err, sizeof err), 0);
    struct loom_http_request_options o = {.timeout.connect = LOOM_MS(200)};
    double t0 = test_now();
    ck_assert_int_eq(loom_http_request(s, U("/hello"), &o, &r, err, sizeof err), -ETIMEDOUT);
    ck_assert_contains(err, "no free connection");
    ck_assert(test_now() - t0 >= 0.15 && test_now() - t0 < 2);
    loom_http_response_close(held); /* unread body: the connection is closed */
    ck_assert_int_eq(loom_http_session_open_count(s), 0);
    get_ok(s, U("/hello"), "hello world\n");
    loom_http_session_free(s);
    return 0;
}

/* Chapter 4's listing 4.6: 300 concurrent GETs over one session. */
static intptr_t many_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    const char *u[] = {U("/hello")};
    parallel(s, u, 1, 300);
    ck_assert_int_le(stat_of(s, "max_open"), LOOM_HTTP_LIMIT);
    ck_assert_int_le(loom_http_session_open_count(s), LOOM_HTTP_LIMIT);
    ck_assert_int_eq(stat_of(s, "requests"), 302);
    loom_http_session_free(s);
    return 0;
}

START_TEST(test_many)
{
    origin_start();
    ck_assert_int_eq(run(many_main, NULL), 0);
    origin_stop();
}
END_TEST

START_TEST(test_limits)
{
    origin_start();
    ck_assert_int_eq(run(limits_main, NULL), 0);
    origin_stop();
}
END_TEST

static intptr_t expiry_main(void *arg)
{
    struct loom_http_session_options so = {.keepalive_ns = LOOM_MS(100)};
    struct loom_http_session *s = session(&so);
    get_ok(s, U("/hello"), "hello world\n");
    ck_assert_int_eq(loom_http_session_idle_count(s), 1);
    loom_sleep(LOOM_MS(250)); /* the expiry timer closes it meanwhile */
    ck_assert_int_eq(loom_http_session_idle_count(s), 0);
    ck_assert_int_eq(loom_http_session_open_count(s), 0);
    get_ok(s, U("/hello"), "hello world\n");
    ck_assert_int_eq(stat_of(s, "accepted"), 2);
    loom_http_session_free(s);
    return 0;
}

START_TEST(test_idle_expiry)
{
    origin_start();
    ck_assert_int_eq(run(expiry_main, NULL), 0);
    origin_stop();
}
END_TEST

static intptr_t stale_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    /* closed by the server while idle: seen before reuse (or retried) */
    get_ok(s, U("/close-after"), "closing\n");
    loom_sleep(LOOM_MS(50));
    get_ok(s, U("/close-after"), "closing\n");
    get_ok(s, U("/hello"), "hello world\n");
    ck_assert_int_eq(stat_of(s, "accepted"), 3);
    ck_assert_int_eq(stat_of(s, "requests"), 5);

    /* a POST (not retried) checks a pooled connection first: once the server
     * has closed it (seen through a second session), a new one is made */
    get_ok(s, U("/close-after"), "closing\n");
    struct loom_http_session *watch = session(NULL);
    for (int i = 0; i < 400 && stat_of(watch, "open") > 1; i++)
        loom_sleep(LOOM_MS(5));
    loom_http_session_free(watch);
    struct loom_http_request_options p1 = {.method = "POST", .body = "y", .body_len = 1};
    int st1;
    char *b1, e1[LOOM_HTTP_ERRLEN];
    ck_assert_int_eq(fetch(s, U("/echo"), &p1, &st1, &b1, e1), 0);
    free(b1);
    /* the origin answers, then closes the connection on the next request */
    get_ok(s, U("/close-next"), "ok\n");
    get_ok(s, U("/hello"), "hello world\n");     /* retried on a new connection */
    ck_assert_int_eq(stat_of(s, "accepted"), 6); /* 3, the watcher, the POST, the retry */
    /* a POST is not retried */
    struct loom_http_request_options post = {.method = "POST", .body = "x", .body_len = 1};
    int st;
    char *body, err[LOOM_HTTP_ERRLEN];
    ck_assert_int_eq(fetch(s, U("/close-next"), &post, &st, &body, err), 0);
    free(body);
    ck_assert_int_eq(fetch(s, U("/echo"), &post, &st, &body, err), LOOM_EHTTP);
    ck_assert_contains(err, "closed the connection without answering");
    ck_assert_int_eq(loom_http_session_open_count(s), 0);
    get_ok(s, U("/hello"), "hello world\n");
    loom_http_session_free(s);
    return 0;
}

START_TEST(test_stale_retry)
{
    origin_start();
    ck_assert_int_eq(run(stale_main, NULL), 0);
    origin_stop();
}
END_TEST

/* --- bodies --- */

static intptr_t bodies_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN], *body;
    char *want = pattern(200000);

    /* chunked with trailers */
    ck_assert_int_eq(loom_http_get(s, U("/chunked?n=5000&trailer=1"), &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_content_length(r), -1);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), 5000);
    ck_assert(!memcmp(body, want, 5000));
    long sum = 0;
    for (int i = 0; i < 5000; i++)
        sum += (unsigned char)body[i];
    char sums[32];
    snprintf(sums, sizeof sums, "%ld", sum);
    ck_assert_str_eq(loom_http_response_trailer(r, "x-sum", 0), sums);
    ck_assert_str_eq(loom_http_response_trailer(r, "X-Count", 0), "5000");
    free(body);
    loom_http_response_close(r);
    ck_assert_int_eq(loom_http_session_idle_count(s), 1);

    /* until close: the connection is not kept */
    ck_assert_int_eq(loom_http_get(s, U("/until-close?n=3000"), &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), 3000);
    ck_assert(!memcmp(body, want, 3000));
    free(body);
    loom_http_response_close(r);
    ck_assert_int_eq(loom_http_session_open_count(s), 0);

    /* a big body in small reads */
    ck_assert_int_eq(loom_http_get(s, U("/bytes?n=200000&chunked=1"), &r, err, sizeof err), 0);
    size_t got = 0;
    char buf[333];
    ssize_t n;
    while ((n = loom_http_response_read(r, buf, sizeof buf)) > 0) {
        ck_assert(!memcmp(buf, want + got, (size_t)n));
        got += (size_t)n;
    }
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(got, 200000);
    loom_http_response_close(r);

    /* Connection: close is honoured */
    get_ok(s, U("/conn-close"), "bye\n");
    ck_assert_int_eq(loom_http_session_open_count(s), 0);

    /* HTTP/1.0 without a length */
    ck_assert_int_eq(loom_http_get(s, U("/http10?n=2000"), &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_version(r), 0);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), 2000);
    ck_assert(!memcmp(body, want, 2000));
    ck_assert(!loom_http_response_truncated(r));
    free(body);
    loom_http_response_close(r);
    ck_assert_int_eq(loom_http_session_open_count(s), 0);

    /* the body cut short */
    ck_assert_int_eq(loom_http_get(s, U("/close-mid?n=1000"), &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), LOOM_EHTTP);
    ck_assert_contains(loom_http_response_error(r), "closed before the end of the body");
    ck_assert(loom_http_response_truncated(r));
    loom_http_response_close(r);

    /* lines and the charset */
    ck_assert_int_eq(
        loom_http_get(s, U("/text?n=300&charset=UTF-8&chunked=1"), &r, err, sizeof err), 0);
    ck_assert_str_eq(loom_http_response_charset(r), "utf-8");
    char line[64], exp[64];
    for (int i = 0; i < 300; i++) {
        snprintf(exp, sizeof exp, "line %d\n", i);
        ck_assert_int_eq(loom_http_response_readline(r, line, sizeof line), (ssize_t)strlen(exp));
        ck_assert_str_eq(line, exp);
    }
    ck_assert_int_eq(loom_http_response_readline(r, line, sizeof line), 0);
    loom_http_response_close(r);
    ck_assert_int_eq(loom_http_get(s, U("/hello"), &r, err, sizeof err), 0);
    ck_assert_ptr_null(loom_http_response_charset(r));
    ck_assert_int_eq(loom_http_response_readline(r, line, 4), LOOM_ELIMIT);
    ck_assert_int_eq(loom_http_response_readline(r, line, sizeof line), 12);
    loom_http_response_close(r);
    free(want);
    loom_http_session_free(s);
    return 0;
}

START_TEST(test_bodies)
{
    origin_start();
    ck_assert_int_eq(run(bodies_main, NULL), 0);
    origin_stop();
}
END_TEST

struct gen {
    size_t left;
};

static ssize_t gen_body(void *arg, void *buf, size_t cap)
{
    struct gen *g = arg;
    size_t n = g->left < cap ? g->left : cap;
    if (n > 1000)
        n = 1000;
    memset(buf, 'b', n);
    g->left -= n;
    loom_yield();
    return (ssize_t)n;
}

static ssize_t fail_body(void *arg, void *buf, size_t cap) { return -EIO; }

static intptr_t upload_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    int st;
    char *body, err[LOOM_HTTP_ERRLEN];
    struct loom_http_field ct = {"Content-Type", "text/plain"};
    struct loom_http_request_options o = {
        .method = "POST", .body = "payload!", .body_len = 8, .headers = &ct, .header_count = 1};
    ck_assert_int_eq(fetch(s, U("/echo"), &o, &st, &body, err), 0);
    ck_assert_contains(body, "POST /echo\n");
    ck_assert_contains(body, "Content-Length: 8\n");
    ck_assert_contains(body, "Content-Type: text/plain\n");
    ck_assert_contains(body, "\n\npayload!");
    free(body);

    for (int chunked = 0; chunked < 2; chunked++) {
        struct gen g = {5500};
        struct loom_http_request_options so = {.method = "PUT",
                                               .body_cb = gen_body,
                                               .body_arg = &g,
                                               .body_cb_length = chunked ? -1 : 5500};
        ck_assert_int_eq(fetch(s, U("/echo"), &so, &st, &body, err), 0);
        ck_assert_contains(body,
                           chunked ? "Transfer-Encoding: chunked\n" : "Content-Length: 5500\n");
        const char *b = strstr(body, "\n\n") + 2;
        ck_assert_int_eq(strlen(b), 5500);
        ck_assert_int_eq(strspn(b, "b"), 5500);
        free(body);
    }
    /* a callback that lies about its length */
    struct gen g = {10};
    struct loom_http_request_options bad = {
        .method = "POST", .body_cb = gen_body, .body_arg = &g, .body_cb_length = 20};
    ck_assert_int_eq(fetch(s, U("/echo"), &bad, &st, &body, err), -EINVAL);
    ck_assert_contains(err, "20 announced");

    /* a callback that fails */
    struct loom_http_request_options failing = {
        .method = "POST", .body_cb = fail_body, .body_cb_length = -1};
    ck_assert_int_eq(fetch(s, U("/echo"), &failing, &st, &body, err), -EIO);
    ck_assert_contains(err, "request body callback failed");
    ck_assert_int_eq(loom_http_session_open_count(s), 0);

    /* a writer */
    for (int chunked = 0; chunked < 2; chunked++) {
        struct loom_http_upload *up;
        struct loom_http_response *r;
        struct loom_http_request_options po = {.method = "POST"};
        ck_assert_int_eq(
            loom_http_upload_start(s, U("/echo"), &po, chunked ? -1 : 30000, &up, err, sizeof err),
            0);
        char piece[1000];
        memset(piece, 'w', sizeof piece);
        for (int i = 0; i < 30; i++)
            ck_assert_int_eq(loom_http_upload_write(up, piece, sizeof piece), 0);
        ck_assert_int_eq(loom_http_upload_finish(up, &r, err, sizeof err), 0);
        ck_assert_int_eq(loom_http_response_status(r), 200);
        ck_assert_int_gt(loom_http_response_read_all(r, &body, 0), 30000);
        ck_assert_contains(body,
                           chunked ? "Transfer-Encoding: chunked\n" : "Content-Length: 30000\n");
        const char *b = strstr(body, "\n\n") + 2;
        ck_assert_int_eq(strspn(b, "w"), 30000);
        ck_assert_int_eq(strlen(b), 30000);
        free(body);
        loom_http_response_close(r);
    }
    struct loom_http_upload *up;
    struct loom_http_response *r;
    ck_assert_int_eq(loom_http_upload_start(s, U("/echo"), NULL, 10, &up, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_upload_write(up, "0123456789", 10), 0);
    ck_assert_int_eq(loom_http_upload_write(up, "x", 1), -EINVAL);
    ck_assert_int_eq(loom_http_upload_finish(up, &r, err, sizeof err), -EINVAL);
    ck_assert_int_eq(loom_http_upload_start(s, U("/echo"), NULL, 10, &up, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_upload_write(up, "01234", 5), 0);
    ck_assert_int_eq(loom_http_upload_finish(up, &r, err, sizeof err), -EINVAL);
    ck_assert_contains(err, "5 bytes, 10 announced");
    ck_assert_int_eq(loom_http_upload_start(s, U("/echo"), NULL, -1, &up, err, sizeof err), 0);
    loom_http_upload_abort(up);
    ck_assert_int_eq(loom_http_upload_start(s, "error://x/", NULL, -1, &up, err, sizeof err),
                     -EPROTONOSUPPORT);
    ck_assert_int_eq(loom_http_session_open_count(s), 0);
    loom_http_session_free(s);
    return 0;
}

START_TEST(test_upload)
{
    origin_start();
    ck_assert_int_eq(run(upload_main, NULL), 0);
    origin_stop();
}
END_TEST

/* --- compression --- */

static intptr_t gzip_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    char *want = pattern(100000);
    const char *paths[] = {"/gzip?n=100000", "/gzip?n=100000&chunked=1", "/deflate?n=100000",
                           "/deflate?n=100000&raw=1&chunked=1"};
    for (int i = 0; i < 4; i++)
        get_ok(s, U(paths[i]), want);
    /* a chunk per compressed byte: chunked and gzip layers split everywhere */
    want[3000] = 0;
    get_ok(s, U("/gzip?n=3000&chunked=1&piece=1"), want);
    get_ok(s, U("/deflate?n=3000&raw=1&chunked=1&piece=1"), want);
    free(want);

    /* a compressed stream cut short inside intact framing */
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN], *body;
    ck_assert_int_eq(loom_http_get(s, U("/gzip-cut?n=5000"), &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), LOOM_EHTTP);
    ck_assert_contains(loom_http_response_error(r), "gzip body ends before");
    ck_assert(loom_http_response_truncated(r));
    loom_http_response_close(r);
    loom_http_session_free(s);

    /* the bomb: 50 MB of zeros in ~50 KB */
    struct loom_http_session_options so = {.max_decoded = 1 << 20};
    s = session(&so);
    ck_assert_int_eq(loom_http_get(s, U("/bomb?n=50000000"), &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 100 << 20), LOOM_ELIMIT);
    ck_assert_contains(loom_http_response_error(r), "decompression bomb");
    loom_http_response_close(r);
    ck_assert_int_eq(loom_http_session_open_count(s), 0);

    /* no decompression asked: the raw bytes */
    loom_http_session_free(s);
    struct loom_http_session_options raw = {.no_decompress = true};
    s = session(&raw);
    int st;
    ck_assert_int_eq(fetch(s, U("/echo"), NULL, &st, &body, err), 0);
    ck_assert(strstr(body, "Accept-Encoding") == NULL);
    free(body);
    ck_assert_int_eq(loom_http_get(s, U("/gzip?n=1000"), &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0),
                     atoi(loom_http_response_header(r, "Content-Length", 0)));
    ck_assert(!memcmp(body, "\x1f\x8b", 2));
    free(body);
    loom_http_response_close(r);
    loom_http_session_free(s);
    return 0;
}

START_TEST(test_gzip)
{
    origin_start();
    ck_assert_int_eq(run(gzip_main, NULL), 0);
    origin_stop();
}
END_TEST

/* Compress in with zlib: window bits 15 (zlib), -15 (raw) or 31 (gzip). */
static size_t squeeze(const char *in, size_t n, int bits, unsigned char *out, size_t cap)
{
    z_stream z = {0};
    ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)in, z.avail_in = (uInt)n;
    z.next_out = out, z.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t len = z.total_out;
    deflateEnd(&z);
    return len;
}

/* Feed comp to a decoder in pieces: [0, split) then the rest a byte at a time
 * when byte_wise, out in 7-byte windows; returns the decoded length. */
static size_t decode_split(int coding, const unsigned char *comp, size_t n, size_t split,
                           bool byte_wise, char *out, size_t cap)
{
    struct loom__http_decoder d;
    loom__http_decoder_init(&d, coding, cap);
    size_t pos = 0, len = 0;
    while (pos < n) {
        size_t end = pos < split ? split : byte_wise ? pos + 1 : n;
        if (end > n)
            end = n;
        for (;;) { /* feed [pos, end), taking the output 7 bytes at a time */
            size_t used, got, room = cap - len < 7 ? cap - len : 7;
            ck_assert_int_eq(
                loom__http_decoder_run(&d, comp + pos, end - pos, &used, out + len, room, &got), 0);
            pos += used, len += got;
            if (pos == end && got < room)
                break;
            ck_assert_msg(used > 0 || got > 0, "decoder stuck at %zu of %zu", pos, n);
        }
    }
    size_t got, used;
    do {
        ck_assert_int_eq(loom__http_decoder_run(&d, NULL, 0, &used, out + len, 7, &got), 0);
        len += got;
    } while (got > 0);
    ck_assert_msg(loom__http_decoder_finish(&d) == 0, "split %zu: %s", split, d.msg);
    loom__http_decoder_close(&d);
    return len;
}

START_TEST(test_decoder_splits)
{
    char *plain = pattern(3000);
    unsigned char comp[4096 * 2];
    char out[3100];
    const int bits[] = {31, 15, -15};
    const int coding[] = {LOOM__HTTP_GZIP, LOOM__HTTP_DEFLATE, LOOM__HTTP_DEFLATE};
    for (int k = 0; k < 3; k++) {
        size_t n = squeeze(plain, 3000, bits[k], comp, sizeof comp);
        for (size_t split = 0; split <= n; split++) {
            memset(out, 0, sizeof out);
            ck_assert_int_eq(decode_split(coding[k], comp, n, split, false, out, sizeof out), 3000);
            ck_assert(!memcmp(out, plain, 3000));
        }
        ck_assert_int_eq(decode_split(coding[k], comp, n, 0, true, out, sizeof out), 3000);
        ck_assert(!memcmp(out, plain, 3000));
    }
    /* two gzip members make one body */
    size_t n1 = squeeze(plain, 1000, 31, comp, sizeof comp);
    size_t n2 = squeeze(plain + 1000, 2000, 31, comp + n1, sizeof comp - n1);
    ck_assert_int_eq(decode_split(LOOM__HTTP_GZIP, comp, n1 + n2, n1 + 1, true, out, sizeof out),
                     3000);
    ck_assert(!memcmp(out, plain, 3000));

    /* trailing garbage after a whole gzip member is ignored at any split (a
     * newline or zero padding failed the body); a broken second member is not */
    memcpy(comp + n1, "\n\0\0 junk", 9);
    for (size_t split = 0; split <= n1 + 9; split += 3) {
        ck_assert_int_eq(decode_split(LOOM__HTTP_GZIP, comp, n1 + 9, split, true, out, sizeof out),
                         1000);
        ck_assert(!memcmp(out, plain, 1000));
    }
    {
        struct loom__http_decoder d2;
        size_t u2, g2;
        memcpy(comp + n1, "\x1f\x00\x00\x00", 4);
        loom__http_decoder_init(&d2, LOOM__HTTP_GZIP, 1 << 20);
        ck_assert_int_eq(loom__http_decoder_run(&d2, comp, n1 + 4, &u2, out, sizeof out, &g2),
                         LOOM_EHTTP);
        loom__http_decoder_close(&d2);
    }

    /* truncated, corrupt, over the cap */
    struct loom__http_decoder d;
    size_t n = squeeze(plain, 3000, 31, comp, sizeof comp), used, got;
    loom__http_decoder_init(&d, LOOM__HTTP_GZIP, 1 << 20);
    ck_assert_int_eq(loom__http_decoder_run(&d, comp, n - 5, &used, out, sizeof out, &got), 0);
    ck_assert_int_eq(loom__http_decoder_finish(&d), LOOM_EHTTP);
    ck_assert_msg(strstr(d.msg, "ends before") != NULL, "%s", d.msg);
    loom__http_decoder_close(&d);
    comp[n / 2] ^= 0x55;
    comp[n / 2 + 1] ^= 0x55;
    loom__http_decoder_init(&d, LOOM__HTTP_GZIP, 1 << 20);
    int rc = loom__http_decoder_run(&d, comp, n, &used, out, sizeof out, &got);
    if (rc == 0) /* the damage may show only at the checksum */
        rc = loom__http_decoder_run(&d, comp + used, n - used, &used, out, sizeof out, &got);
    ck_assert_int_eq(rc == LOOM_EHTTP || loom__http_decoder_finish(&d) == LOOM_EHTTP, 1);
    loom__http_decoder_close(&d);
    n = squeeze(plain, 3000, 31, comp, sizeof comp);
    loom__http_decoder_init(&d, LOOM__HTTP_GZIP, 2999);
    ck_assert_int_eq(loom__http_decoder_run(&d, comp, n, &used, out, sizeof out, &got),
                     LOOM_ELIMIT);
    loom__http_decoder_close(&d);
    ck_assert_int_eq(loom__http_coding_parse(" GZip ", 6), LOOM__HTTP_GZIP);
    ck_assert_int_eq(loom__http_coding_parse("x-gzip", 6), LOOM__HTTP_GZIP);
    ck_assert_int_eq(loom__http_coding_parse("br", 2), -1);
    free(plain);
}
END_TEST

/* --- redirects --- */

static intptr_t redirects_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN], *body, to[256];
    int st;
    ck_assert_int_eq(loom_http_get(s, U("/chain/3"), &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_status(r), 200);
    ck_assert_str_eq(loom_http_response_url(r), U("/hello"));
    ck_assert_int_eq(loom_http_response_history_count(r), 3);
    const char *hu;
    ck_assert_int_eq(loom_http_response_history(r, 0, &st, &hu), 0);
    ck_assert_int_eq(st, 302);
    ck_assert_str_eq(hu, U("/chain/3"));
    ck_assert_int_eq(loom_http_response_history(r, 2, &st, &hu), 0);
    ck_assert_str_eq(hu, U("/chain/1"));
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), 12);
    free(body);
    loom_http_response_close(r);
    ck_assert_int_eq(stat_of(s, "accepted"), 1); /* redirects reuse the connection */

    get_ok(s, U("/chain/10"), "hello world\n");
    ck_assert_int_eq(loom_http_get(s, U("/chain/11"), &r, err, sizeof err), LOOM_EHTTP);
    ck_assert_contains(err, "too many redirects");
    ck_assert_int_eq(loom_http_get(s, U("/loop/a"), &r, err, sizeof err), LOOM_EHTTP);
    ck_assert_contains(err, "redirect loop");
    ck_assert_contains(err, "/loop/a");
    snprintf(to, sizeof to, "/redirect?code=302&to=ftp://127.0.0.1/x");
    ck_assert_int_eq(loom_http_get(s, U(to), &r, err, sizeof err), LOOM_EHTTP);
    ck_assert_contains(err, "unsupported scheme");

    /* not followed when asked */
    struct loom_http_request_options nofollow = {.max_redirects = -1};
    ck_assert_int_eq(loom_http_request(s, U("/chain/2"), &nofollow, &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_status(r), 302);
    ck_assert_str_eq(loom_http_response_header(r, "location", 0), "/chain/1");
    loom_http_response_close(r);

    /* method rules (RFC 9110 §15.4) */
    static const struct {
        int code;
        const char *method, *want;
        bool body;
    } rules[] = {
        {303, "POST", "GET /echo\n", false}, {303, "PUT", "GET /echo\n", false},
        {301, "POST", "GET /echo\n", false}, {302, "POST", "GET /echo\n", false},
        {302, "PUT", "PUT /echo\n", true},   {307, "POST", "POST /echo\n", true},
        {308, "POST", "POST /echo\n", true}, {303, "HEAD", NULL, false},
    };
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
        snprintf(to, sizeof to, "/redirect?code=%d&to=/echo", rules[i].code);
        struct loom_http_request_options o = {
            .method = rules[i].method, .body = "data=1", .body_len = 6};
        ck_assert_int_eq(fetch(s, U(to), &o, &st, &body, err), 0);
        ck_assert_int_eq(st, 200);
        if (rules[i].want) {
            ck_assert_msg(!strncmp(body, rules[i].want, strlen(rules[i].want)), "%d %s: %s",
                          rules[i].code, rules[i].method, body);
            ck_assert_int_eq(strstr(body, "\n\ndata=1") != NULL, rules[i].body);
        }
        free(body);
    }

    /* Authorization kept on the same origin, dropped on another (with
     * Proxy-Authorization and Cookie) */
    struct loom_http_field auth[] = {{"Authorization", "Bearer secret"},
                                     {"Proxy-Authorization", "Basic c2VjcmV0"},
                                     {"Cookie", "s=1"}};
    struct loom_http_request_options ao = {.headers = auth, .header_count = 3};
    ck_assert_int_eq(fetch(s, U("/redirect?code=302&to=/echo"), &ao, &st, &body, err), 0);
    ck_assert_contains(body, "Authorization: Bearer secret");
    free(body);
    snprintf(to, sizeof to, "/redirect?code=302&to=%s/echo", base_host);
    ck_assert_int_eq(loom_http_request(s, U(to), &ao, &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0) > 0, 1);
    ck_assert_msg(strstr(body, "Authorization") == NULL && strstr(body, "Cookie") == NULL, "%s",
                  body);
    ck_assert_contains(body, "Host: localhost:");
    char want_url[128];
    snprintf(want_url, sizeof want_url, "%s/echo", base_host);
    ck_assert_str_eq(loom_http_response_url(r), want_url);
    free(body);
    loom_http_response_close(r);
    loom_http_session_free(s);
    return 0;
}

START_TEST(test_redirects)
{
    origin_start();
    ck_assert_int_eq(run(redirects_main, NULL), 0);
    origin_stop();
}
END_TEST

/* --- protocol limits --- */

static intptr_t protocol_limits_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN], *body;
    static const struct {
        const char *path;
        int rc;
        const char *msg;
    } cases[] = {
        {"/headers?n=150", LOOM_ELIMIT, "more header fields than the limit"},
        {"/headers?n=4&size=10000", LOOM_ELIMIT, "header section over the byte limit"},
        {"/longreason?n=10000", LOOM_ELIMIT, "status line over the limit"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ck_assert_int_eq(loom_http_get(s, U(cases[i].path), &r, err, sizeof err), cases[i].rc);
        ck_assert_contains(err, cases[i].msg);
    }
    ck_assert_int_eq(loom_http_get(s, U("/info-flood"), &r, err, sizeof err), LOOM_EHTTP);
    ck_assert_contains(err, "interim");
    ck_assert_int_eq(loom_http_get(s, U("/switch"), &r, err, sizeof err), LOOM_EHTTP);
    ck_assert_contains(err, "101");
    ck_assert_int_eq(loom_http_get(s, U("/badchunk"), &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), LOOM_EHTTP);
    ck_assert_contains(loom_http_response_error(r), "chunk");
    loom_http_response_close(r);
    ck_assert_int_eq(loom_http_get(s, U("/longchunkline"), &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), LOOM_ELIMIT);
    ck_assert_contains(loom_http_response_error(r), "chunk-size line");
    loom_http_response_close(r);
    ck_assert_int_eq(loom_http_get(s, U("/bytes?n=1000"), &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 999), LOOM_ELIMIT);
    ck_assert_contains(loom_http_response_error(r), "body over 999 bytes");
    loom_http_response_close(r);
    ck_assert_int_eq(loom_http_session_open_count(s), 0);
    loom_http_session_free(s);

    struct loom_http_limits lim = LOOM_HTTP_LIMITS_DEFAULT;
    lim.max_body = 100;
    struct loom_http_session_options so = {.limits = &lim};
    s = session(&so);
    ck_assert_int_eq(loom_http_get(s, U("/bytes?n=1000"), &r, err, sizeof err), LOOM_ELIMIT);
    ck_assert_int_eq(loom_http_get(s, U("/chunked?n=1000"), &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), LOOM_ELIMIT);
    loom_http_response_close(r);
    ck_assert_int_eq(loom_http_get(s, U("/until-close?n=1000"), &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), LOOM_ELIMIT);
    loom_http_response_close(r);
    loom_http_session_free(s);
    return 0;
}

START_TEST(test_protocol_limits)
{
    origin_start();
    ck_assert_int_eq(run(protocol_limits_main, NULL), 0);
    origin_stop();
}
END_TEST

/* --- timeouts and cancellation --- */

static intptr_t timeouts_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN], *body;

    /* per read: a server that never answers */
    struct loom_http_request_options o = {.timeout.sock_read = LOOM_MS(300)};
    double t0 = test_now();
    ck_assert_int_eq(loom_http_request(s, U("/never"), &o, &r, err, sizeof err), -ETIMEDOUT);
    double el = test_now() - t0;
    ck_assert_msg(el >= 0.25 && el < 2, "took %.3f s", el);
    ck_assert_contains(err, "timed out");

    /* a dripping body within its per-read timeout is fine... */
    struct loom_http_request_options drip = {.timeout.sock_read = LOOM_SEC(2)};
    ck_assert_int_eq(loom_http_request(s, U("/drip?n=5&s=0.05"), &drip, &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), 5);
    free(body);
    loom_http_response_close(r);

    /* ...but not past the total */
    struct loom_http_request_options tot = {.timeout.total = LOOM_MS(500)};
    t0 = test_now();
    ck_assert_int_eq(loom_http_request(s, U("/drip?n=100&s=0.05"), &tot, &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), -ETIMEDOUT);
    el = test_now() - t0;
    ck_assert_msg(el >= 0.45 && el < 2, "took %.3f s", el);
    loom_http_response_close(r);

    /* the session's timeout, overridden per request */
    loom_http_session_free(s);
    struct loom_http_session_options so = {.timeout.sock_read = LOOM_MS(200)};
    s = session(&so);
    t0 = test_now();
    ck_assert_int_eq(loom_http_get(s, U("/delay?s=0.6"), &r, err, sizeof err), -ETIMEDOUT);
    ck_assert(test_now() - t0 < 2);
    ck_assert_int_eq(loom_http_request(s, U("/delay?s=0.6"), &drip, &r, err, sizeof err), 0);
    loom_http_response_close(r); /* unread, but the 5 bytes are there by now or not */
    ck_assert_int_le(loom_http_session_open_count(s), 1);
    loom_http_session_free(s);

    /* listing 4.3: session total 1 s and connect 0.1 s, one request's total 10 ms */
    struct loom_http_session_options so43 = {
        .timeout = {.total = LOOM_SEC(1), .connect = LOOM_MS(100)}};
    s = session(&so43);
    struct loom_http_request_options o43 = {.timeout.total = LOOM_MS(10)};
    t0 = test_now();
    ck_assert_int_eq(loom_http_request(s, U("/?delay=1"), &o43, &r, err, sizeof err), -ETIMEDOUT);
    el = test_now() - t0;
    ck_assert_msg(el >= 0.009 && el < 0.5, "took %.3f s", el);
    ck_assert_int_eq(loom_http_get(s, U("/"), &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_status(r), 200);
    loom_http_response_close(r);
    loom_http_session_free(s);
    return 0;
}

START_TEST(test_timeouts)
{
    origin_start();
    ck_assert_int_eq(run(timeouts_main, NULL), 0);
    origin_stop();
}
END_TEST

static intptr_t connect_timeout_main(void *arg)
{
    /* a listener whose backlog is full: the next SYN is dropped */
    int port, l = test_listen(0, &port);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fill[4];
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        connect(fill[i], (struct sockaddr *)&a, sizeof a);
    }
    loom_sleep(LOOM_MS(50));
    struct loom_http_session_options so = {.timeout.sock_connect = LOOM_MS(300)};
    struct loom_http_session *s = session(&so);
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN], url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(a.sin_port));
    double t0 = test_now();
    int rc = loom_http_get(s, url, &r, err, sizeof err);
    double el = test_now() - t0;
    ck_assert_msg(rc == -ETIMEDOUT, "%s (%s)", loom_strerror(rc), err);
    ck_assert_msg(el >= 0.25 && el < 2, "took %.3f s", el);
    ck_assert_contains(err, "timed out");
    ck_assert_int_eq(loom_http_session_open_count(s), 0);
    /* refused */
    close(l);
    rc = loom_http_get(s, url, &r, err, sizeof err);
    ck_assert_int_eq(rc, -ECONNREFUSED);
    ck_assert_contains(err, "cannot connect");
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    loom_http_session_free(s);
    return 0;
}

START_TEST(test_connect_timeout) { ck_assert_int_eq(run(connect_timeout_main, NULL), 0); }
END_TEST

struct reader {
    struct loom_http_session *s;
    size_t got;
    bool in_body;
    int rc;
};

static intptr_t slow_reader(void *arg)
{
    struct reader *rd = arg;
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN], buf[16];
    rd->rc = loom_http_get(rd->s, U("/drip?n=100&s=0.02"), &r, err, sizeof err);
    if (rd->rc < 0)
        return rd->rc;
    rd->in_body = true;
    ssize_t n;
    while ((n = loom_http_response_read(r, buf, sizeof buf)) > 0)
        rd->got += (size_t)n;
    rd->rc = (int)n;
    loom_http_response_close(r);
    return n;
}

static intptr_t cancel_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    get_ok(s, U("/hello"), "hello world\n");
    /* cancelled mid-body: the connection is closed, not pooled */
    struct reader rd = {s, 0, false, 1};
    struct loom_task *t = loom_spawn(slow_reader, &rd, "reader");
    while (rd.got < 5)
        loom_sleep(LOOM_MS(10));
    ck_assert(rd.in_body);
    loom_task_cancel(t);
    ck_assert_int_eq(loom_task_join(t), -ECANCELED);
    ck_assert_int_eq(rd.rc, -ECANCELED);
    ck_assert_int_eq(loom_http_session_open_count(s), 0);
    get_ok(s, U("/hello"), "hello world\n");
    ck_assert_int_eq(stat_of(s, "accepted"), 2);

    /* cancelled while waiting for the head, and while waiting for a slot */
    struct loom_http_session_options so = {.limit = 1};
    struct loom_http_session *s1 = session(&so);
    struct reader a = {s1, 0, false, 1}, b = {s1, 0, false, 1};
    struct loom_task *ta = loom_spawn(slow_reader, &a, "a");
    struct loom_task *tb = loom_spawn(slow_reader, &b, "b");
    loom_sleep(LOOM_MS(5));
    ck_assert(!b.in_body);
    loom_task_cancel(tb);
    ck_assert_int_eq(loom_task_join(tb), -ECANCELED);
    loom_task_cancel(ta);
    ck_assert_int_eq(loom_task_join(ta), -ECANCELED);
    ck_assert_int_eq(loom_http_session_open_count(s1), 0);
    get_ok(s1, U("/hello"), "hello world\n");
    loom_http_session_free(s1);
    loom_http_session_free(s);
    return 0;
}

struct sweep {
    struct loom_http_session *s;
    const char *url;
};

static intptr_t sweep_get(void *arg)
{
    struct sweep *w = arg;
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN], *body;
    int rc = loom_http_get(w->s, w->url, &r, err, sizeof err);
    if (rc < 0)
        return rc;
    ssize_t n = loom_http_response_read_all(r, &body, 0);
    if (n >= 0)
        free(body);
    loom_http_response_close(r);
    return n < 0 ? n : 0;
}

/* Cancel a GET after k loop iterations, for k = 0, 1, 2... (then after
 * growing delays) until it has completed first three times: every suspension point of a request, its connect and its
 * body. The pool must stay consistent: no connection left in use, and the next
 * request works. */
static void cancel_sweep(struct loom_http_session *s, const char *url)
{
    int completed = 0;
    for (int k = 0; k < 400 && completed < 3; k++) {
        struct sweep w = {s, url};
        struct loom_task *t = loom_spawn(sweep_get, &w, "sweep");
        if (k < 100) /* every loop iteration first, then later and later */
            for (int i = 0; i < k && !loom_task_done(t); i++)
                loom_yield();
        else
            loom_sleep(LOOM_US(50) * (k - 100));
        loom_task_cancel(t);
        intptr_t rc = loom_task_join(t);
        ck_assert_msg(rc == 0 || rc == -ECANCELED, "k=%d: %s", k, loom_strerror((int)rc));
        completed += rc == 0;
        ck_assert_int_eq(loom_http_session_open_count(s), loom_http_session_idle_count(s));
        if (k % 16 == 0)
            get_ok(s, url, NULL);
    }
    ck_assert_int_eq(completed, 3);
    get_ok(s, url, NULL);
}

static intptr_t cancel_sweep_main(void *arg)
{
    struct loom_http_session *s = session(arg);
    cancel_sweep(s, U("/gzip?n=30000&chunked=1"));
    loom_http_session_free(s);
    return 0;
}

START_TEST(test_cancel_sweep)
{
    origin_start();
    ck_assert_int_eq(run(cancel_sweep_main, NULL), 0);
    origin_stop();
}
END_TEST

START_TEST(test_cancel)
{
    origin_start();
    ck_assert_int_eq(run(cancel_main, NULL), 0);
    origin_stop();
}
END_TEST

/* --- the blocking call --- */

struct blk {
    const char *url;
    int rc, status;
    char *body;
    size_t len;
    char err[LOOM_HTTP_ERRLEN];
};

static void *blk_thread(void *arg)
{
    struct blk *b = arg;
    b->rc = loom_http_get_blocking(b->url, NULL, 0, &b->status, &b->body, &b->len, b->err,
                                   sizeof b->err);
    return NULL;
}

START_TEST(test_blocking)
{
    origin_start();
    test_fd_mark();
    struct blk b[3] = {
        {.url = U("/chain/2")}, {.url = U("/gzip?n=5000")}, {.url = "error://nowhere/"}};
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, blk_thread, &b[i]), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(b[0].rc, 0);
    ck_assert_int_eq(b[0].status, 200);
    ck_assert_str_eq(b[0].body, "hello world\n");
    ck_assert_int_eq(b[1].rc, 0);
    ck_assert_int_eq(b[1].len, 5000);
    char *want = pattern(5000);
    ck_assert_str_eq(b[1].body, want);
    ck_assert_int_eq(b[2].rc, -EPROTONOSUPPORT);
    ck_assert_ptr_null(b[2].body);
    free(want), free(b[0].body), free(b[1].body);
    test_fd_check();
    origin_stop();
}
END_TEST

/* --- HTTPS --- */

/* Make a CA and a server certificate for localhost and 127.0.0.1 in tmpdir. */
static void make_certs(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/loom-http-XXXXXX");
    ck_assert(mkdtemp(tmpdir) != NULL);
    char script[2048];
    snprintf(script, sizeof script,
             "set -e; cd %s;"
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
             " -keyout ca.key -out ca.pem -days 2 -subj /CN=loom-test-ca 2>/dev/null;"
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
             " -keyout srv.key -out srv.csr -subj /CN=localhost 2>/dev/null;"
             "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext.cnf;"
             "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
             " -out srv.pem -days 2 -extfile ext.cnf 2>/dev/null",
             tmpdir);
    char *argv[] = {"/bin/sh", "-c", script, NULL}, *out;
    double el;
    int rc = test_run(argv, NULL, 30, &out, &el);
    ck_assert_msg(rc == 0, "cannot make certificates with openssl (installed?): %s", out);
    free(out);
}

static void rm_tmpdir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static intptr_t https_main(void *arg)
{
    char ca[128];
    snprintf(ca, sizeof ca, "%s/ca.pem", tmpdir);
    struct loom_http_session_options so = {.ca_file = ca};
    struct loom_http_session *s = session(&so);
    for (int i = 0; i < 3; i++)
        get_ok(s, U("/hello"), "hello world\n");
    char *want = pattern(100000);
    get_ok(s, U("/gzip?n=100000&chunked=1"), want);
    free(want);
    char u[128];
    snprintf(u, sizeof u, "%s/hello", base_host); /* the name, not the address */
    get_ok(s, u, "hello world\n");
    ck_assert_int_eq(stat_of(s, "accepted"), 2);
    cancel_sweep(s, U("/gzip?n=30000&chunked=1"));
    loom_http_session_free(s);

    /* without the CA: refused, with the reason */
    s = session(NULL);
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN];
    ck_assert_int_eq(loom_http_get(s, U("/hello"), &r, err, sizeof err), LOOM_ETLS);
    ck_assert_contains(err, "verif");
    ck_assert_int_eq(loom_http_session_open_count(s), 0);
    loom_http_session_free(s);
    return 0;
}

/* The certificates are made (and removed) in the parent, once for the tcase,
 * so a failing test leaves no directory behind. */
static void certs_setup(void) { make_certs(); }
static void tmpdir_teardown(void) { rm_tmpdir(); }

/* A plain origin redirecting to the TLS one: the scheme changes on the way. */
static intptr_t upgrade_main(void *arg)
{
    const char *plain = arg;
    char ca[128], u[256];
    snprintf(ca, sizeof ca, "%s/ca.pem", tmpdir);
    struct loom_http_session_options so = {.ca_file = ca};
    struct loom_http_session *s = session(&so);
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN], *body;
    snprintf(u, sizeof u, "%s/redirect?code=301&to=%s/hello%%23top", plain, base_host);
    ck_assert_int_eq(loom_http_get(s, u, &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), 12);
    ck_assert_str_eq(body, "hello world\n");
    free(body);
    snprintf(u, sizeof u, "%s/hello#top", base_host);
    ck_assert_str_eq(loom_http_response_url(r), u);
    ck_assert_int_eq(loom_http_response_history_count(r), 1);
    loom_http_response_close(r);
    ck_assert_int_eq(loom_http_session_open_count(s), 2); /* one per origin */
    /* a Location without a fragment keeps the request's */
    snprintf(u, sizeof u, "%s/redirect?code=302&to=%s/hello#frag", plain, base_host);
    ck_assert_int_eq(loom_http_get(s, u, &r, err, sizeof err), 0);
    snprintf(u, sizeof u, "%s/hello#frag", base_host);
    ck_assert_str_eq(loom_http_response_url(r), u);
    loom_http_response_close(r);
    /* a downgrade (https to http) is followed, without credentials of any kind */
    struct loom_http_field auth = {"Authorization", "Bearer secret"};
    struct loom_http_request_options ao = {.headers = &auth, .header_count = 1};
    snprintf(u, sizeof u, "https://us:pw@%s/redirect?code=302&to=%s/echo", base_host + 8, plain);
    ck_assert_int_eq(loom_http_request(s, u, &ao, &r, err, sizeof err), 0);
    ck_assert_int_gt(loom_http_response_read_all(r, &body, 0), 0);
    ck_assert_msg(strstr(body, "Authorization") == NULL, "%s", body);
    ck_assert_contains(body, "GET /echo\n");
    free(body);
    snprintf(u, sizeof u, "%s/echo", plain);
    ck_assert_str_eq(loom_http_response_url(r), u);
    loom_http_response_close(r);
    loom_http_session_free(s);
    return 0;
}

START_TEST(test_https)
{
    char cert[128], key[128];
    snprintf(cert, sizeof cert, "%s/srv.pem", tmpdir);
    snprintf(key, sizeof key, "%s/srv.key", tmpdir);
    origin_start_args(cert, key);
    ck_assert_int_eq(run(https_main, NULL), 0);

    struct test_server tls = origin;
    char tls_base[64], plain[64];
    snprintf(tls_base, sizeof tls_base, "%s", base);
    origin_start();
    snprintf(plain, sizeof plain, "%s", base);
    snprintf(base_host, sizeof base_host, "https://localhost:%d", tls.port);
    ck_assert_int_eq(run(upgrade_main, plain), 0);
    origin_stop();
    origin = tls;
    origin_stop();
}
END_TEST

/* --- nginx --- */

static intptr_t nginx_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    char *want = pattern(300000);
    for (int i = 0; i < 3; i++) {
        struct loom_http_response *r;
        char err[LOOM_HTTP_ERRLEN], *body;
        ck_assert_int_eq(loom_http_get(s, U("/big.txt"), &r, err, sizeof err), 0);
        ck_assert_int_eq(loom_http_response_status(r), 200);
        ck_assert_str_eq(loom_http_response_header(r, "Content-Encoding", 0), "gzip");
        ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), 300000);
        ck_assert(!memcmp(body, want, 300000));
        ck_assert(loom_http_response_reused(r) == (i > 0));
        free(body);
        loom_http_response_close(r);
    }
    get_ok(s, U("/old"), want); /* nginx's 301 */
    free(want);
    loom_http_session_free(s);
    return 0;
}

static void nginx_setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/loom-nginx-XXXXXX");
    ck_assert(mkdtemp(tmpdir) != NULL);
}

START_TEST(test_nginx)
{
    char path[256], conf[2048];
    snprintf(path, sizeof path, "%s/big.txt", tmpdir);
    FILE *f = fopen(path, "w");
    char *p = pattern(300000);
    fputs(p, f);
    fclose(f);
    free(p);
    /* pick a free port */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    bind(l, (struct sockaddr *)&a, sizeof a);
    getsockname(l, (struct sockaddr *)&a, &al);
    int port = ntohs(a.sin_port);
    close(l);
    snprintf(conf, sizeof conf,
             "daemon off; master_process off; pid %s/nginx.pid; error_log %s/error.log;"
             "events { worker_connections 64; }"
             "http { access_log off; client_body_temp_path %s; proxy_temp_path %s;"
             " fastcgi_temp_path %s; uwsgi_temp_path %s; scgi_temp_path %s;"
             " types { text/plain txt; }"
             " server { listen 127.0.0.1:%d; root %s; gzip on; gzip_types text/plain;"
             "  gzip_min_length 10; location = /old { return 301 /big.txt; } } }",
             tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, port, tmpdir);
    snprintf(path, sizeof path, "%s/nginx.conf", tmpdir);
    f = fopen(path, "w");
    fputs(conf, f);
    fclose(f);
    char script[1024];
    snprintf(script, sizeof script,
             "command -v nginx >/dev/null || { echo 'nginx is not installed'; exit 1; }; "
             "nginx -p %s -c %s -e %s/error.log & for i in $(seq 100); do "
             "(exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null && break; sleep 0.05; done; "
             "echo listening on 127.0.0.1:%d; wait",
             tmpdir, path, tmpdir, port, port);
    char *argv[] = {"bash", "-c", script, NULL};
    test_server_start(&origin, argv);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    intptr_t rc = run(nginx_main, NULL);
    char *kill_argv[] = {"/bin/sh", "-c", NULL, NULL}, *out, cmd[256];
    snprintf(cmd, sizeof cmd, "kill $(cat %s/nginx.pid)", tmpdir);
    kill_argv[2] = cmd;
    double el;
    test_run(kill_argv, NULL, 10, &out, &el);
    free(out);
    test_server_wait(&origin, 10);
    ck_assert_int_eq(rc, 0);
}
END_TEST

/* --- a hostile server (tests/tools/http_hostile.py) --- */

static void hostile_start(void)
{
    char *argv[] = {"python3", "tests/tools/http_hostile.py", NULL};
    test_server_start(&origin, argv);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", origin.port);
}

/* A test running fn against the hostile server. */
#define HOSTILE_TEST(name, fn)                                                                     \
    START_TEST(name)                                                                               \
    {                                                                                              \
        hostile_start();                                                                           \
        ck_assert_int_eq(run(fn, NULL), 0);                                                        \
        origin_stop();                                                                             \
    }                                                                                              \
    END_TEST

/* GET base + path over s expecting 200 "ok\n" on a reused connection. */
static void ok_reused(struct loom_http_session *s)
{
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN], *body;
    int rc = loom_http_get(s, U("/ok"), &r, err, sizeof err);
    ck_assert_msg(rc == 0, "GET /ok after a response with excess bytes: %s (%s)", loom_strerror(rc),
                  err);
    ck_assert_int_eq(loom_http_response_status(r), 200);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), 3);
    ck_assert_str_eq(body, "ok\n");
    free(body);
    loom_http_response_close(r);
}

/* A response that by rule has no body (HEAD, 204) but comes with one anyway,
 * or a body longer than its Content-Length, leaves bytes on the connection
 * after it went back to the pool: the next request must not read them as its
 * response head (or fail because of them). */
static intptr_t excess_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN], *body;
    struct loom_http_request_options head = {.method = "HEAD"};
    static const char *const paths[] = {"/head-body", "/204-body", "/short-cl"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        ok_reused(s); /* a pooled connection to start from */
        const struct loom_http_request_options *o = i == 0 ? &head : NULL;
        ck_assert_int_eq(loom_http_request(s, U(paths[i]), o, &r, err, sizeof err), 0);
        ssize_t n = loom_http_response_read_all(r, &body, 0);
        ck_assert_int_eq(n, i == 2 ? 3 : 0);
        free(body);
        loom_http_response_close(r);
        /* the excess arrives 50 ms after the head: wait for it (bounded) */
        loom_sleep(LOOM_MS(200));
        ok_reused(s);
    }
    loom_http_session_free(s);
    return 0;
}

/* GET /loc?v=<loc> (loc percent-encoded here); returns the request's code,
 * the final URL in *final when it succeeded. */
static int redirect_to(struct loom_http_session *s, const char *loc, char *final, size_t cap,
                       char *err)
{
    char path[512] = "/loc?v=";
    size_t n = strlen(path);
    for (const unsigned char *p = (const unsigned char *)loc; *p && n + 4 < sizeof path; p++)
        n += (size_t)snprintf(path + n, sizeof path - n, "%%%02X", *p);
    struct loom_http_response *r;
    int rc = loom_http_get(s, U(path), &r, err, LOOM_HTTP_ERRLEN);
    if (rc == 0) {
        snprintf(final, cap, "%s", loom_http_response_url(r));
        loom_http_response_close(r);
    }
    return rc;
}

/* Locations no client should follow, and odd ones it should. */
static intptr_t locations_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    char err[LOOM_HTTP_ERRLEN], final[512];
    static const char *const refused[] = {
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
        "javascript:alert(1)",
        "data:text/plain,hi",
        "gopher://127.0.0.1:70/x",
        "/ok\x01x",
        "/o\x7fk",
        "http://[::1",
        "http://a b/",
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        int rc = redirect_to(s, refused[i], final, sizeof final, err);
        ck_assert_msg(rc == LOOM_EHTTP, "Location %s: %s (%s)", refused[i], loom_strerror(rc), err);
    }
    char want[128];
    snprintf(want, sizeof want, "%s/ok", base);
    static const char *const followed[] = {"/ok", "ok", "./ok", "../../ok"};
    for (size_t i = 0; i < sizeof followed / sizeof *followed; i++) {
        ck_assert_int_eq(redirect_to(s, followed[i], final, sizeof final, err), 0);
        ck_assert_str_eq(final, want);
    }
    char proto_rel[128];
    snprintf(proto_rel, sizeof proto_rel, "//127.0.0.1:%d/ok", origin.port);
    ck_assert_int_eq(redirect_to(s, proto_rel, final, sizeof final, err), 0);
    ck_assert_str_eq(final, want);
    /* a space is sent percent-encoded, never raw on the request line */
    int rc = redirect_to(s, "/ok ok", final, sizeof final, err);
    ck_assert_msg(rc == 0 || rc == LOOM_EHTTP, "%s", loom_strerror(rc));
    if (rc == 0)
        ck_assert_msg(strstr(final, " ") == NULL, "final URL %s", final);
    loom_http_session_free(s);
    return 0;
}

HOSTILE_TEST(test_locations, locations_main)

/* GET url on a session with options so: -ETIMEDOUT after at least lo
 * seconds (and less than lo + 2), nothing left open. */
static void get_times_out(const struct loom_http_session_options *so, const char *url, double lo)
{
    struct loom_http_session *s = session(so);
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN];
    double t0 = test_now();
    int rc = loom_http_get(s, url, &r, err, sizeof err);
    double el = test_now() - t0;
    ck_assert_msg(rc == -ETIMEDOUT, "%s: %s (%s)", url, loom_strerror(rc), err);
    ck_assert_msg(el >= lo && el < lo + 2, "%s took %.3f s", url, el);
    ck_assert_int_eq(loom_http_session_open_count(s), 0);
    loom_http_session_free(s);
}

/* https to a server that never answers the ClientHello: the handshake is
 * bounded by sock_connect, and by total. */
static intptr_t tls_stall_main(void *arg)
{
    char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%d/ok", origin.port);
    for (int i = 0; i < 2; i++) {
        struct loom_http_session_options so = {.timeout.sock_connect = LOOM_MS(300)};
        struct loom_http_session_options st = {.timeout.total = LOOM_MS(300)};
        get_times_out(i ? &st : &so, url, 0.25);
    }
    return 0;
}

HOSTILE_TEST(test_tls_stall, tls_stall_main)

/* Content-Encoding listing several codings, in one field or several. */
static intptr_t codings_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN], *body;
    static const char *const stacked[] = {
        "/ce?v=gzip,%20gzip&layers=2",
        "/ce-split?n=2",
        "/ce?v=identity,gzip,%20identity&layers=1",
        "/ce?v=x-gzip,gzip,gzip,gzip,GZIP&layers=5",
        "/ce-split?n=5",
    };
    for (size_t i = 0; i < sizeof stacked / sizeof *stacked; i++) {
        int rc = loom_http_get(s, U(stacked[i]), &r, err, sizeof err);
        ck_assert_msg(rc == 0, "%s: %s (%s)", stacked[i], loom_strerror(rc), err);
        ssize_t n = loom_http_response_read_all(r, &body, 0);
        ck_assert_msg(n == 8 && !memcmp(body, "stacked\n", 8), "%s: %zd %s", stacked[i], n,
                      loom_http_response_error(r));
        free(body);
        loom_http_response_close(r);
    }
    ck_assert_int_eq(loom_http_session_idle_count(s), 1); /* all read to the end: kept */
    /* more codings than the client decodes: refused, never half-decoded */
    ck_assert_int_eq(
        loom_http_get(s, U("/ce?v=gzip,gzip,gzip,gzip,gzip,gzip&layers=6"), &r, err, sizeof err),
        LOOM_EHTTP);
    ck_assert_contains(err, "content codings");
    ck_assert_int_eq(loom_http_get(s, U("/ce-split?n=6"), &r, err, sizeof err), LOOM_EHTTP);
    /* a coding it does not know: the body as it came (gzip inside), nothing decoded */
    ck_assert_int_eq(loom_http_get(s, U("/ce?v=br,%20gzip&layers=1"), &r, err, sizeof err), 0);
    ssize_t n = loom_http_response_read_all(r, &body, 0);
    ck_assert_int_gt(n, 8);
    ck_assert(!memcmp(body, "\x1f\x8b", 2));
    free(body);
    loom_http_response_close(r);
    loom_http_session_free(s);

    /* the cap holds for every layer: an inner bomb is refused too */
    struct loom_http_session_options so = {.max_decoded = 7};
    s = session(&so);
    ck_assert_int_eq(loom_http_get(s, U("/ce-split?n=3"), &r, err, sizeof err), 0);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), LOOM_ELIMIT);
    ck_assert_contains(loom_http_response_error(r), "decoded body over 7 bytes");
    loom_http_response_close(r);
    loom_http_session_free(s);
    return 0;
}

HOSTILE_TEST(test_codings, codings_main)

/* base + "/raw?b=<bytes percent-encoded>" + extra, in a malloc'd string. */
static char *raw_url(const char *bytes, size_t len, const char *extra)
{
    size_t cap = strlen(base) + 16 + 3 * len + strlen(extra);
    char *u = malloc(cap);
    size_t n = (size_t)snprintf(u, cap, "%s/raw?b=", base);
    for (size_t i = 0; i < len; i++)
        n += (size_t)snprintf(u + n, cap - n, "%%%02X", (unsigned char)bytes[i]);
    snprintf(u + n, cap - n, "%s", extra);
    return u;
}

/* One raw answer: the request's code, then (when it succeeded) the status and
 * the body read to the end. */
struct raw_case {
    const char *name;
    const char *bytes;
    size_t len;
    int rc;      /* of the request */
    int status;  /* when rc == 0 */
    int read_rc; /* of read_all: its length, or an error */
};

#define RAW(name, bytes, rc, status, read_rc)                                                      \
    {                                                                                              \
        name, bytes, sizeof(bytes) - 1, rc, status, read_rc                                        \
    }

static const struct raw_case raw_cases[] = {
    RAW("status 9999", "HTTP/1.1 9999 X\r\nContent-Length: 0\r\n\r\n", LOOM_EHTTP, 0, 0),
    RAW("status 99", "HTTP/1.1 099 X\r\nContent-Length: 0\r\n\r\n", LOOM_EHTTP, 0, 0),
    RAW("no reason", "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", 0, 200, 2),
    RAW("HTTP/2.0", "HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok", LOOM_EHTTP, 0, 0),
    RAW("HTTP/1.2", "HTTP/1.2 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, 200, 2),
    RAW("not http", "SSH-2.0-OpenSSH\r\n\r\n", LOOM_EHTTP, 0, 0),
    RAW("two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
        LOOM_EHTTP, 0, 0),
    RAW("same length twice", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
        0, 200, 2),
    RAW("length list", "HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok", LOOM_EHTTP, 0, 0),
    RAW("negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok", LOOM_EHTTP, 0, 0),
    RAW("huge length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nok",
        LOOM_EHTTP, 0, 0),
    RAW("te and cl",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 100\r\n\r\n"
        "2\r\nok\r\n0\r\n\r\n",
        0, 200, 2),
    RAW("te not last", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nok", LOOM_EHTTP,
        0, 0),
    RAW("cl longer", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok", 0, 200, LOOM_EHTTP),
    RAW("chunk cut", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nok", 0, 200,
        LOOM_EHTTP),
    RAW("bad gzip", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope", 0,
        200, LOOM_EHTTP),
    RAW("cut gzip",
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "
        "5\r\n\r\n\x1f\x8b\x08\x00\x00",
        0, 200, LOOM_EHTTP),
    RAW("bare lf", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 0, 200, 2),
    RAW("header no colon", "HTTP/1.1 200 OK\r\nbroken\r\nContent-Length: 2\r\n\r\nok", LOOM_EHTTP,
        0, 0),
    RAW("space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok", LOOM_EHTTP, 0, 0),
    RAW("obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 2\r\n\r\nok", LOOM_EHTTP, 0,
        0),
    RAW("nul in header", "HTTP/1.1 200 OK\r\nX: a\0b\r\nContent-Length: 2\r\n\r\nok", LOOM_EHTTP, 0,
        0),
    RAW("304 with length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", 0, 304, 0),
    RAW("100 then 200",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        0, 200, 2),
    RAW("1xx with length",
        "HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: "
        "2\r\n\r\nok",
        0, 200, 2),
    RAW("close no answer", "", LOOM_EHTTP, 0, 0),
};

/* Hostile answers, each on a new connection (close=1 after the bytes). */
static intptr_t raw_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN], *body;
    for (size_t i = 0; i < sizeof raw_cases / sizeof *raw_cases; i++) {
        const struct raw_case *c = &raw_cases[i];
        char *u = raw_url(c->bytes, c->len, "&close=1");
        int rc = loom_http_get(s, u, &r, err, sizeof err);
        free(u);
        ck_assert_msg(rc == c->rc, "%s: %s (%s)", c->name, loom_strerror(rc), err);
        if (rc < 0)
            continue;
        ck_assert_msg(loom_http_response_status(r) == c->status, "%s: status %d", c->name,
                      loom_http_response_status(r));
        ssize_t n = loom_http_response_read_all(r, &body, 0);
        ck_assert_msg(n == c->read_rc, "%s: read %zd (%s)", c->name, n,
                      loom_http_response_error(r));
        if (n >= 0)
            free(body);
        loom_http_response_close(r);
    }
    ck_assert_int_eq(loom_http_session_open_count(s), 0);
    /* Transfer-Encoding with Content-Length: read as chunked, but a smuggling
     * attempt's connection is never reused (RFC 9112 §6.1) */
    const char *both = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
                       "2\r\nok\r\n0\r\n\r\n";
    char *u = raw_url(both, strlen(both), "");
    ck_assert_int_eq(loom_http_get(s, u, &r, err, sizeof err), 0);
    free(u);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), 2);
    free(body);
    loom_http_response_close(r);
    ck_assert_int_eq(loom_http_session_open_count(s), 0);
    loom_http_session_free(s);
    return 0;
}

HOSTILE_TEST(test_raw_answers, raw_main)

/* A head dripped a byte at a time, each within sock_read: total still ends it. */
static intptr_t drip_head_main(void *arg)
{
    struct loom_http_session_options so = {
        .timeout = {.total = LOOM_MS(800), .sock_read = LOOM_MS(500)}};
    get_times_out(&so, U("/drip-head?s=0.1"), 0.75);
    return 0;
}

HOSTILE_TEST(test_drip_head, drip_head_main)

/* A pooled connection the server reset or half-closed after its answer: the
 * next GET is retried on a new connection, a POST is never sent on it. */
static intptr_t resets_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN], *body;
    struct loom_http_request_options post = {.method = "POST", .body = "x", .body_len = 1};
    static const char *const paths[] = {"/rst", "/half-close"};
    for (int i = 0; i < 4; i++) {
        ok_reused(s);
        ck_assert_int_eq(loom_http_get(s, U(paths[i % 2]), &r, err, sizeof err), 0);
        ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), 3);
        free(body);
        loom_http_response_close(r);
        ck_assert_int_eq(loom_http_session_idle_count(s), 1);
        loom_sleep(LOOM_MS(200)); /* the reset comes 50 ms after the answer */
        if (i < 2) {
            ok_reused(s);
            continue;
        }
        int rc = loom_http_request(s, U("/ok"), &post, &r, err, sizeof err);
        ck_assert_msg(rc == 0, "POST after %s: %s (%s)", paths[i % 2], loom_strerror(rc), err);
        ck_assert(!loom_http_response_reused(r));
        loom_http_response_close(r);
    }
    loom_http_session_free(s);
    return 0;
}

HOSTILE_TEST(test_resets, resets_main)

/* The cancel sweep over a body decoded through three gzip layers. */
static intptr_t sweep_stacked_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    cancel_sweep(s, U("/ce-split?n=3"));
    loom_http_session_free(s);
    return 0;
}

HOSTILE_TEST(test_cancel_sweep_stacked, sweep_stacked_main)

/* A server that answers a big upload early (413) and closes without reading
 * it: the client reports the answer, not the reset its writes then meet. */
static intptr_t early_main(void *arg)
{
    struct loom_http_session *s = session(NULL);
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN], *body;
    size_t n = 16 << 20;
    char *big = calloc(1, n);
    struct loom_http_request_options post = {.method = "POST", .body = big, .body_len = n};
    int rc = loom_http_request(s, U("/early-413"), &post, &r, err, sizeof err);
    ck_assert_msg(rc == 0, "%s (%s)", loom_strerror(rc), err);
    ck_assert_int_eq(loom_http_response_status(r), 413);
    ck_assert_int_eq(loom_http_response_read_all(r, &body, 0), 10);
    ck_assert_str_eq(body, "too large\n");
    free(body);
    loom_http_response_close(r);
    ck_assert_int_eq(loom_http_session_open_count(s), 0); /* never reused */
    /* the same through a body the caller writes: the writes fail, finish answers */
    struct loom_http_upload *u;
    ck_assert_int_eq(loom_http_upload_start(s, U("/early-413"), NULL, -1, &u, err, sizeof err), 0);
    int wrc = 0;
    for (size_t sent = 0; wrc == 0 && sent < n; sent += 65536)
        wrc = loom_http_upload_write(u, big, 65536);
    ck_assert_msg(wrc == -ECONNRESET || wrc == -EPIPE, "%s", loom_strerror(wrc));
    rc = loom_http_upload_finish(u, &r, err, sizeof err);
    ck_assert_msg(rc == 0, "%s (%s)", loom_strerror(rc), err);
    ck_assert_int_eq(loom_http_response_status(r), 413);
    loom_http_response_close(r);
    ck_assert_int_eq(loom_http_session_open_count(s), 0);
    free(big);
    loom_http_session_free(s);
    return 0;
}

HOSTILE_TEST(test_early_answer, early_main)

HOSTILE_TEST(test_excess_bytes, excess_main)

int main(void)
{
    signal(SIGPIPE, SIG_DFL); /* nothing here may raise it */
    Suite *s = suite_create("http_client");
    TCase *tc = test_tcase(s, "basics", 30);
    tcase_add_test(tc, test_basic);
    tcase_add_test(tc, test_bad_scheme);
    tcase_add_test(tc, test_bodies);
    tcase_add_test(tc, test_upload);
    tc = test_tcase(s, "pool", 30);
    tcase_add_test(tc, test_keepalive);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_many);
    tcase_add_test(tc, test_idle_expiry);
    tcase_add_test(tc, test_stale_retry);
    tc = test_tcase(s, "compression", 30);
    tcase_add_test(tc, test_gzip);
    tcase_add_test(tc, test_decoder_splits);
    tc = test_tcase(s, "redirects", 30);
    tcase_add_test(tc, test_redirects);
    tc = test_tcase(s, "limits", 30);
    tcase_add_test(tc, test_protocol_limits);
    tc = test_tcase(s, "timeouts", 30);
    tcase_add_test(tc, test_timeouts);
    tcase_add_test(tc, test_connect_timeout);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_cancel_sweep);
    tc = test_tcase(s, "blocking", 30);
    tcase_add_test(tc, test_blocking);
    tc = test_tcase(s, "tls", 30);
    tcase_add_unchecked_fixture(tc, certs_setup, tmpdir_teardown);
    tcase_add_test(tc, test_https);
    tc = test_tcase(s, "nginx", 30);
    tcase_add_unchecked_fixture(tc, nginx_setup, tmpdir_teardown);
    tcase_add_test(tc, test_nginx);
    tc = test_tcase(s, "hostile", 60);
    tcase_add_test(tc, test_excess_bytes);
    tcase_add_test(tc, test_raw_answers);
    tcase_add_test(tc, test_resets);
    tcase_add_test(tc, test_early_answer);
    tcase_add_test(tc, test_cancel_sweep_stacked);
    tcase_add_test(tc, test_drip_head);
    tcase_add_test(tc, test_codings);
    tcase_add_test(tc, test_locations);
    tcase_add_test(tc, test_tls_stall);
    return test_main(s);
}
