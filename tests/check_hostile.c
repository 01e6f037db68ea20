/* check_hostile.c - the HTTP server, its WebSocket upgrade and loom-http
 * against hostile clients: the regressions of an attack pass (OPTIONS * took
 * the server down; pipelined bodiless answers to a client that never reads
 * grew server memory without bound; duplicated WebSocket handshake fields and
 * an upgrade with a body were accepted; a malformed chunked body was a 500;
 * loom-http put an absolute-form target's authority into its Location) and
 * the attacks that already failed (smuggling variants, Range abuse, hundreds
 * of slowloris connections), kept failing by a test. */
#include "harness/harness.h"
#include "harness/httpsrv.h"
#include "harness/netclient.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/http_server.h"
#include "net/tls.h"
#include "net/ws.h"
#include "reactor/task.h"

/* --- handlers --- */

static int h_hello(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    return loom_http_reply_text(res, 200, "hello\n");
}

static int h_echo(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    const char *b;
    ssize_t n = loom_http_req_body(req, &b);
    return n < 0 ? (int)n : loom_http_reply_send(res, 200, "text/plain", b, (size_t)n);
}

static int h_ws(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    struct loom_ws *ws;
    int rc = loom_http_ws_accept(req, res, NULL, &ws);
    if (rc < 0)
        return rc == LOOM_EWS ? 0 : rc;
    loom_ws_close(ws, 1000, NULL, LOOM_SEC(1));
    return 0;
}

static char file_path[64];

static int h_file(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    int fd = open(file_path, O_RDONLY);
    if (fd < 0)
        return -errno;
    int rc = loom_http_reply_file(res, req, fd, "text/plain");
    close(fd);
    return rc;
}

static struct test_http_server st;
static struct loom_tls_context *tls_ctx; /* serve HTTPS when set */

static void start_server(void)
{
    memset(&st, 0, sizeof st);
    st.opt.tls = tls_ctx;
    ck_assert_int_eq(loom_http_router_new(&st.router), 0);
    ck_assert_int_eq(loom_http_route(st.router, "GET", "/", h_hello, NULL), 0);
    ck_assert_int_eq(loom_http_route(st.router, "POST", "/echo", h_echo, NULL), 0);
    ck_assert_int_eq(loom_http_route(st.router, "GET", "/ws", h_ws, NULL), 0);
    ck_assert_int_eq(loom_http_route(st.router, "GET", "/file", h_file, NULL), 0);
    st.opt.net.host = "127.0.0.1";
    st.opt.header_timeout_ns = LOOM_MS(500);
    st.opt.keepalive_timeout_ns = LOOM_SEC(5);
    st.opt.write_timeout_ns = LOOM_SEC(10);
    st.opt.body_timeout_ns = LOOM_SEC(1);
    test_http_server_start(&st);
}

static void stop_server(void) { test_http_server_stop(&st); }

/* Send req on a fresh connection; the answer up to the close, which must come. */
static char *exchange_closed(const char *req, size_t len)
{
    int fd = test_dial(st.port);
    test_send_all(fd, req, len);
    bool closed;
    char *out = test_recv_until_close(fd, 5, &closed);
    close(fd);
    ck_assert_msg(closed, "connection left open after:\n%s", req);
    return out;
}

/* --- tests --- */

/* "OPTIONS *" used to dereference a NULL path and take the process down. */
START_TEST(test_options_asterisk)
{
    start_server();
    const char req[] = "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char *out = exchange_closed(req, sizeof req - 1);
    TEST_IN_ORDER(out, "HTTP/1.1 204 No Content\r\n", "HTTP/1.1 200 OK\r\n", "hello\n");
    free(out);
    out = TEST_HTTP_EXCHANGE(st.port, "GET * HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert_msg(!strncmp(out, "HTTP/1.1 400 ", 13), "GET *: %s", out);
    free(out);
    out = TEST_HTTP_EXCHANGE(st.port,
                             "GET / HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n");
    ck_assert_msg(!strncmp(out, "HTTP/1.1 200 ", 13), "IPv6 literal Host: %s", out);
    free(out);
    out = TEST_HTTP_EXCHANGE(st.port, "GET / HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n");
    ck_assert_msg(!strncmp(out, "HTTP/1.1 200 ", 13), "empty Host: %s", out);
    free(out);
    ck_assert_int_eq(loom_http_server_requests(st.srv), 5);
    stop_server();
}
END_TEST

/* 150,000 pipelined HEAD requests from a client that reads nothing:
 * bodiless answers never waited in put_body, so the server read every
 * request and queued every answer (kernel buffers take some 30,000 here).
 * Now it stops reading once its queue passes the high watermark, and serves
 * them all, in order, once the client reads. */
START_TEST(test_pipelined_head_never_read)
{
    enum { N = 150000 };
    start_server();
    const char one[] = "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t len = (sizeof one - 1) * N, off = 0;
    char *reqs = malloc(len);
    for (size_t i = 0; i < N; i++)
        memcpy(reqs + i * (sizeof one - 1), one, sizeof one - 1);
    int fd = test_dial(st.port);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    /* Send without reading until the server stops taking requests (its count
     * stands still for 0.5 s) or has answered them all. */
    uint64_t served = 0;
    double t0 = test_now(), moved = t0;
    while (test_now() - t0 < 20 && test_now() - moved < 0.5 && served < N) {
        if (off < len) {
            ssize_t n = send(fd, reqs + off, len - off, MSG_NOSIGNAL);
            if (n > 0)
                off += (size_t)n;
        }
        poll(&(struct pollfd){fd, POLLOUT, 0}, 1, 10);
        uint64_t now = loom_http_server_requests(st.srv);
        if (now != served)
            served = now, moved = test_now();
    }
    ck_assert_msg(served < N / 2, "%llu of %d answers queued for a client that reads nothing",
                  (unsigned long long)served, N);
    /* Now read: every request is answered. */
    size_t seen = 0;
    char buf[65536], tail[4] = {0};
    t0 = test_now();
    while (seen < N && test_now() - t0 < 30) {
        if (off < len) {
            ssize_t n = send(fd, reqs + off, len - off, MSG_NOSIGNAL);
            if (n > 0)
                off += (size_t)n;
        }
        poll(&(struct pollfd){fd, POLLIN | (off < len ? POLLOUT : 0), 0}, 1, 100);
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        ck_assert_msg(n != 0, "closed after %zu answers", seen);
        for (ssize_t i = 0; i < n; i++) { /* each HEAD answer ends with an empty line */
            memmove(tail, tail + 1, 3);
            tail[3] = buf[i];
            seen += !memcmp(tail, "\r\n\r\n", 4);
        }
    }
    ck_assert_msg(seen == N, "%zu of %d answers read", seen, N);
    close(fd);
    free(reqs);
    stop_server();
}
END_TEST

/* An Upgrade the handler does not take (h2c here) ends the connection after
 * the answer; the answer must say so, or a client reuses a dying connection. */
START_TEST(test_ignored_upgrade_says_close)
{
    start_server();
    const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                       "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n";
    char *out = exchange_closed(req, sizeof req - 1);
    TEST_IN_ORDER(out, "HTTP/1.1 200 OK\r\n", "Connection: close\r\n", "\r\n\r\nhello\n");
    free(out);
    stop_server();
}
END_TEST

/* A body the handler leaves unread, dripped a byte every 100 ms: the server
 * reads it away for at most body_timeout_ns in all, then closes (it held the
 * connection as long as each byte came within the per-read timeout). */
START_TEST(test_unread_body_dripped)
{
    start_server();
    int fd = test_dial(st.port);
    const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n";
    test_send_all(fd, req, sizeof req - 1);
    char *a = test_recv_http_response(fd, 5);
    ck_assert_contains(a, "hello\n");
    free(a);
    double t0 = test_now();
    bool closed = false;
    while (!closed && test_now() - t0 < 5) {
        char buf[256];
        if (poll(&(struct pollfd){fd, POLLIN, 0}, 1, 100) == 1)
            closed = recv(fd, buf, sizeof buf, 0) <= 0;
        else
            send(fd, "x", 1, MSG_NOSIGNAL);
    }
    ck_assert_msg(closed, "a dripped unread body held the connection for %.1f s", test_now() - t0);
    ck_assert_double_lt(test_now() - t0, 3.0);
    close(fd);
    /* A small unread body that comes at once still keeps the connection. */
    const char two[] = "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                       "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char *out = exchange_closed(two, sizeof two - 1);
    ck_assert_int_eq(test_count(out, "hello\n"), 2);
    free(out);
    stop_server();
}
END_TEST

/* RFC 6455 4.2.1: one key, one version, and no body in a handshake. */
START_TEST(test_ws_handshake_refusals)
{
    static const char base[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    static const struct {
        const char *name, *extra, *status;
    } cases[] = {
        {"valid", "\r\n", "101"},
        {"two keys", "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\r\n", "400"},
        {"two versions", "Sec-WebSocket-Version: 8\r\n\r\n", "400"},
        {"a body", "Content-Length: 8\r\n\r\n\x81\x82\x01\x02\x03\x04\x60\x60", "400"},
        {"a chunked body", "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"},
        {"an empty body", "Content-Length: 0\r\n\r\n", "101"},
    };
    start_server();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char req[512];
        int n = snprintf(req, sizeof req, "%s%s", base, cases[i].extra);
        char *out = exchange_closed(req, (size_t)n);
        char want[32];
        snprintf(want, sizeof want, "HTTP/1.1 %s ", cases[i].status);
        ck_assert_msg(!strncmp(out, want, strlen(want)), "%s: want %s, got:\n%s", cases[i].name,
                      want, out);
        free(out);
    }
    stop_server();
}
END_TEST

/* A malformed chunked body is the client's fault (400), never a 500; the
 * well-formed control case is echoed and the connection carries on. */
START_TEST(test_bad_chunked_body)
{
    static const char *const bad[] = {
        "+3\r\nabc\r\n0\r\n\r\n",
        "0x3\r\nabc\r\n0\r\n\r\n",
        " 3\r\nabc\r\n0\r\n\r\n",
        "-3\r\nabc\r\n0\r\n\r\n",
        "3\nabc\n0\n\n",
        "3\r\nabcd\r\n0\r\n\r\n",
        "3;a=\rb\r\nabc\r\n0\r\n\r\n",
        "3\r\nabc\r\n0\r\nX: a\r\n b\r\n\r\n",
    };
    start_server();
    const char head[] = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char req[512];
        int n = snprintf(req, sizeof req, "%s%s", head, bad[i]);
        char *out = exchange_closed(req, (size_t)n);
        ck_assert_msg(!strncmp(out, "HTTP/1.1 400 ", 13), "body %d: want 400, got:\n%s", (int)i,
                      out);
        free(out);
    }
    char req[512];
    int n = snprintf(req, sizeof req,
                     "%s3;x=\"a;b\"\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"
                     "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                     head);
    char *out = exchange_closed(req, (size_t)n);
    TEST_IN_ORDER(out, "HTTP/1.1 200 ", "\r\n\r\nabc", "HTTP/1.1 200 ", "hello\n");
    free(out);
    stop_server();
}
END_TEST

/* Request smuggling variants: refused with an error, and the connection
 * closes (no second request may be read out of the first's body). */
START_TEST(test_smuggling_refused)
{
    static const struct {
        const char *name, *req, *status;
    } cases[] = {
        {"TE chunked, chunked",
         "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
         "400"},
        {"TE twice",
         "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         "400"},
        {"TE folded",
         "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n"
         "0\r\n\r\n",
         "400"},
        {"TE in HTTP/1.0", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         "400"},
        {"CL.TE",
         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n"
         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
         "400"},
        {"CL list", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\nxx", "400"},
        {"CL +1", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\nx", "400"},
        {"CL 0x1", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0x1\r\n\r\nx", "400"},
        {"CL overflow",
         "POST /echo HTTP/1.1\r\nHost: x\r\n"
         "Content-Length: 99999999999999999999999\r\n\r\nx",
         "400"},
        {"header name with a space", "GET / HTTP/1.1\r\nHost: x\r\nBad Name: x\r\n\r\n", "400"},
        {"header name with a control", "GET / HTTP/1.1\r\nHost: x\r\nBad\x01: x\r\n\r\n", "400"},
        {"lower-case version", "GET / http/1.1\r\nHost: x\r\n\r\n", "400"},
        {"Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "400"},
        {"Host with userinfo", "GET / HTTP/1.1\r\nHost: evil@x\r\n\r\n", "400"},
        {"Host with a path", "GET / HTTP/1.1\r\nHost: x/y\r\n\r\n", "400"},
        {"HTTP/0.9", "GET /\r\n\r\n", "400"},
        {"chunk size overflow",
         "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
         "\r\n10000000000000003\r\nabc\r\n0\r\n\r\n",
         "413"},
    };
    start_server();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = exchange_closed(cases[i].req, strlen(cases[i].req));
        char want[32];
        snprintf(want, sizeof want, "HTTP/1.1 %s ", cases[i].status);
        ck_assert_msg(!strncmp(out, want, strlen(want)), "%s: want %s, got:\n%s", cases[i].name,
                      want, out);
        ck_assert_msg(test_count(out, "HTTP/1.1 ") == 1, "%s: two answers:\n%s", cases[i].name,
                      out);
        free(out);
    }
    stop_server();
}
END_TEST

/* Range abuse: thousands of ranges, "-0", numbers past 2^63, an If-Range
 * date; and 416 says its name. */
START_TEST(test_range_abuse)
{
    snprintf(file_path, sizeof file_path, "/tmp/loom-hostile-XXXXXX");
    int fd = mkstemp(file_path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "0123456789", 10), 10);
    close(fd);
    start_server();
    char *many = malloc(16384);
    int n = snprintf(many, 16384,
                     "GET /file HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     "Range: bytes=0-0");
    for (int i = 0; i < 2000; i++)
        n += snprintf(many + n, 16384 - (size_t)n, ",0-0");
    n += snprintf(many + n, 16384 - (size_t)n, "\r\n\r\n");
    char *out = exchange_closed(many, (size_t)n);
    TEST_IN_ORDER(out, "HTTP/1.1 200 OK\r\n", "Content-Length: 10\r\n", "\r\n\r\n0123456789");
    free(out);
    free(many);
    static const struct {
        const char *range, *want;
    } cases[] = {
        {"bytes=-0", "HTTP/1.1 416 Range Not Satisfiable\r\n"},
        {"bytes=99999999999999999999-", "HTTP/1.1 416 Range Not Satisfiable\r\n"},
        {"bytes=10-", "HTTP/1.1 416 Range Not Satisfiable\r\n"},
        {"bytes=2-99999999999999999999", "HTTP/1.1 206 Partial Content\r\n"},
        {"bytes=-99999999999999999999", "HTTP/1.1 206 Partial Content\r\n"},
        {"bytes= 0-1", "HTTP/1.1 200 OK\r\n"},
        {"bytes=0-+1", "HTTP/1.1 200 OK\r\n"},
        {"bytes=5-3", "HTTP/1.1 200 OK\r\n"},
        {"items=0-1", "HTTP/1.1 200 OK\r\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char req[256];
        n = snprintf(req, sizeof req,
                     "GET /file HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     "Range: %s\r\n\r\n",
                     cases[i].range);
        out = exchange_closed(req, (size_t)n);
        ck_assert_msg(!strncmp(out, cases[i].want, strlen(cases[i].want)), "%s: want %s got:\n%s",
                      cases[i].range, cases[i].want, out);
        if (strstr(cases[i].want, "416"))
            ck_assert_contains(out, "Content-Range: bytes */10\r\n");
        free(out);
    }
    const char ifr[] = "GET /file HTTP/1.1\r\nHost: x\r\nConnection: close\r\nRange: bytes=0-1\r\n"
                       "If-Range: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n";
    out = exchange_closed(ifr, sizeof ifr - 1);
    ck_assert_msg(!strncmp(out, "HTTP/1.1 200 OK\r\n", 17), "If-Range date: %s", out);
    free(out);
    stop_server();
    unlink(file_path);
}
END_TEST

/* 400 slowloris connections (each dripping a header line every 100 ms) are all
 * cut at the header timeout while a plain client is still served. */
START_TEST(test_slowloris_many)
{
    enum { N = 400 };
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 2 * N + 64) {
        rl.rlim_cur = rl.rlim_max < 2 * N + 64 ? rl.rlim_max : 2 * N + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    start_server();
    static int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = test_dial(st.port);
        test_send_all(fds[i], "GET / HTTP/1.1\r\nHost: x\r\n", 25);
    }
    char *out =
        TEST_HTTP_EXCHANGE(st.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ck_assert_contains(out, "hello\n");
    free(out);
    int open = N;
    static bool done[N];
    memset(done, 0, sizeof done);
    double t0 = test_now();
    while (open > 0 && test_now() - t0 < 5) {
        for (int i = 0; i < N; i++) {
            if (done[i])
                continue;
            char buf[512];
            ssize_t n = recv(fds[i], buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN))
                done[i] = true, open--;
            else if (n < 0)
                send(fds[i], "X: y\r\n", 6, MSG_NOSIGNAL);
        }
        usleep(100000);
    }
    ck_assert_msg(open == 0, "%d of %d dripping connections still open after %.1f s", open, N,
                  test_now() - t0);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    stop_server();
}
END_TEST

/* The TLS side: plain HTTP and garbage on the TLS port are cut at once, a
 * ClientHello trickled or never finished is cut at the handshake deadline
 * (the header timeout), and a real client is still served meanwhile. */
START_TEST(test_tls_hostile)
{
    test_require_tool("openssl", "openssl", "makes the test certificate");
    test_require_tool("curl", "curl", "the real HTTPS client");
    char dir[] = "/tmp/loom-hostile-tls-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char cert[96], key[96], cmd[512];
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
             "-nodes -keyout %s -out %s -days 1 -subj /CN=localhost 2>/dev/null",
             key, cert);
    ck_assert_int_eq(system(cmd), 0);
    char err[256];
    struct loom_tls_server_options to = {.cert_file = cert, .key_file = key};
    ck_assert_int_eq(loom_tls_server_context_new(&to, &tls_ctx, err, sizeof err), 0);
    start_server();
    static const struct {
        const char *name, *data;
        double within;
    } cases[] = {
        {"plain HTTP", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1.0},
        {"garbage", "\x16\x03\x01\xff\xff garbage garbage garbage", 1.0},
        {"half a ClientHello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 2.0},
        {"nothing", "", 2.0},
    };
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = test_dial(st.port);
        test_send_all(fds[i], cases[i].data, strlen(cases[i].data));
    }
    char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%d/", st.port);
    char *argv[] = {"/usr/bin/env", "curl", "-sk", "--max-time", "5", url, NULL};
    char *out = NULL;
    ck_assert_int_eq(test_run(argv, NULL, 10, &out, NULL), 0);
    ck_assert_contains(out, "hello\n");
    free(out);
    double t0 = test_now();
    for (int i = 0; i < 4; i++) {
        bool closed;
        char *got = test_recv_until_close(fds[i], 3, &closed);
        ck_assert_msg(closed && test_now() - t0 < cases[i].within, "%s: %s after %.1f s",
                      cases[i].name, closed ? "closed" : "still open", test_now() - t0);
        ck_assert_msg(!strstr(got, "HTTP/1.1"), "%s: answered in plain text", cases[i].name);
        free(got);
        close(fds[i]);
    }
    stop_server();
    loom_tls_context_free(tls_ctx);
    tls_ctx = NULL;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* --- loom-http as a process --- */

static char root[64];

static void make_root(void)
{
    snprintf(root, sizeof root, "/tmp/loom-hostile-root-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    char path[256];
    snprintf(path, sizeof path, "%s/sub", root);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/a.txt", root);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("alpha\n", f);
    fclose(f);
}

static void remove_root(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}

/* A directory redirect never echoes an absolute-form target's authority; and
 * 200,000 pipelined HEAD requests never read leave the server's RSS bounded. */
START_TEST(test_app_http_hostile)
{
    make_root();
    char bin[256];
    test_build_path("bin/loom-http", bin, sizeof bin);
    char *argv[] = {bin, "--root", root, "--port", "0", NULL};
    struct test_server s;
    test_server_start(&s, argv);
    char *out = TEST_HTTP_EXCHANGE(s.port, "GET http://evil.example/sub?q=1 HTTP/1.1\r\nHost: x\r\n"
                                           "Connection: close\r\n\r\n");
    TEST_IN_ORDER(out, "HTTP/1.1 301 ", "Location: /sub/?q=1\r\n");
    ck_assert_msg(!strstr(out, "evil"), "authority echoed:\n%s", out);
    free(out);

    enum { N = 200000 };
    const char one[] = "HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t len = (sizeof one - 1) * (size_t)N, off = 0;
    char *reqs = malloc(len);
    for (size_t i = 0; i < N; i++)
        memcpy(reqs + i * (sizeof one - 1), one, sizeof one - 1);
    long before = test_rss_kib(s.pid);
    int fd = test_dial(s.port);
    int v = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    double t0 = test_now();
    while (off < len && test_now() - t0 < 3) {
        ssize_t n = send(fd, reqs + off, len - off, MSG_NOSIGNAL);
        if (n > 0)
            off += (size_t)n;
        else
            poll(&(struct pollfd){fd, POLLOUT, 0}, 1, 50);
    }
    usleep(300000); /* let the server take what it will (it must not take it all) */
    long after = test_rss_kib(s.pid);
    ck_assert_msg(after - before < 16 * 1024,
                  "RSS %ld -> %ld KiB under %d pipelined HEADs "
                  "never read (%zu bytes sent)",
                  before, after, N, off);
    close(fd);
    free(reqs);
    kill(s.pid, SIGTERM);
    ck_assert_int_eq(test_server_wait(&s, 10), 0);
    remove_root();
}
END_TEST

/* Clients that reset the connection in the middle of a large file: sendfile(2)
 * to a reset socket raises SIGPIPE, which killed loom-http within a hundred
 * such clients. 500 of them, then the server must still answer. */
START_TEST(test_app_http_reset_mid_file)
{
    make_root();
    char path[256];
    snprintf(path, sizeof path, "%s/big.bin", root);
    int f = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(f, 0);
    ck_assert_int_eq(ftruncate(f, 256 << 10), 0);
    close(f);
    char bin[256];
    test_build_path("bin/loom-http", bin, sizeof bin);
    char *argv[] = {bin, "--root", root, "--port", "0", NULL};
    struct test_server s;
    test_server_start(&s, argv);
    const char three[] = "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /big.bin HTTP/1.1\r\n"
                         "Host: x\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n";
    double t0 = test_now();
    for (int i = 0; i < 500 && test_now() - t0 < 20; i++) {
        int fd = test_try_dial(s.port);
        ck_assert_msg(fd >= 0, "loom-http gone after %d resetting clients", i);
        int v = 4096;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
        test_send_all(fd, three, sizeof three - 1);
        char buf[4096];
        if (poll(&(struct pollfd){fd, POLLIN, 0}, 1, 2000) == 1)
            (void)!recv(fd, buf, 1000 + (size_t)(i * 7) % 3000, 0);
        usleep((useconds_t)(i % 20) * 250); /* the reset lands at varied points */
        struct linger lg = {1, 0};          /* close with RST */
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd);
    }
    char *out =
        TEST_HTTP_EXCHANGE(s.port, "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ck_assert_contains(out, "alpha\n");
    free(out);
    kill(s.pid, SIGTERM);
    ck_assert_int_eq(test_server_wait(&s, 10), 0);
    remove_root();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hostile");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"options_asterisk", test_options_asterisk},
        {"pipelined_head_never_read", test_pipelined_head_never_read},
        {"ignored_upgrade_says_close", test_ignored_upgrade_says_close},
        {"unread_body_dripped", test_unread_body_dripped},
        {"ws_handshake_refusals", test_ws_handshake_refusals},
        {"bad_chunked_body", test_bad_chunked_body},
        {"smuggling_refused", test_smuggling_refused},
        {"range_abuse", test_range_abuse},
        {"slowloris_many", test_slowloris_many},
        {"tls_hostile", test_tls_hostile},
        {"app_http_hostile", test_app_http_hostile},
        {"app_http_reset_mid_file", test_app_http_reset_mid_file},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = test_tcase(s, cases[i].name, 60);
        tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
        tcase_add_test(tc, cases[i].fn);
    }
    return test_main(s);
}
