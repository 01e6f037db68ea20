/* check_http_server.c - the HTTP/1.1 server against raw blocking sockets and
 * real clients (curl, Python's http.client): routing, keep-alive, pipelining,
 * every RFC 9112 framing rule that must be refused, chunked bodies one byte at
 * a time, 100-continue, HEAD, files with ranges and validators, slowloris,
 * idle timeouts, a client that never reads, graceful shutdown, synchronous
 * handlers on the thread pool. The server runs on a loop in its own thread. */
#include "harness/harness.h"
#include "harness/httpsrv.h"
#include "harness/netclient.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/http_server.h"
#include "net/tls.h"
#include "reactor/task.h"

/* --- handlers --- */

static int h_hello(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    return loom_http_reply_text(res, 200, "hello\n");
}

static int h_product(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    const char *id = loom_http_req_param(req, "id");
    char *end;
    long v = strtol(id, &end, 10);
    if (*end)
        return loom_http_reply_error(res, 400);
    json_t *j = json_pack("{s:I}", "product_id", (json_int_t)v);
    int rc = loom_http_reply_json(res, 200, j);
    json_decref(j);
    return rc;
}

/* Echo the body back with its length. */
static int h_echo(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    const char *body;
    ssize_t n = loom_http_req_body(req, &body);
    if (n < 0)
        return (int)n;
    return loom_http_reply_send(res, 200, "application/octet-stream", body, (size_t)n);
}

/* The body parsed as JSON, sent back compact; 400 when it is not JSON. */
static int h_json(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    json_t *j;
    int rc = loom_http_req_json(req, &j);
    if (rc == -EINVAL)
        return loom_http_reply_error(res, 400);
    if (rc < 0)
        return rc;
    rc = loom_http_reply_json(res, 200, j);
    json_decref(j);
    return rc;
}

/* Both query values must stay valid at once. */
static int h_query(struct loom_http_req *req, struct loom_http_reply *rep, void *arg)
{
    const char *a = loom_http_req_query_param(req, "a");
    const char *b = loom_http_req_query_param(req, "b");
    char out[256];
    snprintf(out, sizeof out, "a=[%s] b=[%s] c=[%s]\n", a ? a : "-", b ? b : "-",
             loom_http_req_query_param(req, "c") ? "set" : "-");
    return loom_http_reply_text(rep, 200, out);
}

static int h_stream(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    int rc = loom_http_reply_start(res, 200, -1);
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = loom_http_reply_write(res, "part\n", 5);
    return rc;
}

static int h_slow(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    int rc = loom_sleep(LOOM_MS(300));
    return rc < 0 ? rc : loom_http_reply_text(res, 200, "slow done\n");
}

/* 64 MiB, written as fast as backpressure allows. */
static int h_big(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    static char chunk[65536];
    int *result = arg;
    int rc = loom_http_reply_start(res, 200, (int64_t)sizeof chunk * 1024);
    for (int i = 0; i < 1024 && rc == 0; i++)
        rc = loom_http_reply_write(res, chunk, sizeof chunk);
    *result = rc;
    return rc;
}

static int h_file(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    int fd = open(arg, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return loom_http_reply_error(res, 404);
    int rc = loom_http_reply_file(res, req, fd, "text/plain");
    close(fd);
    return rc;
}

static int h_sync(const struct loom_http_sync_request *req, struct loom_http_sync_response *res,
                  void *arg)
{
    pthread_t loop_thread = *(pthread_t *)arg;
    res->body = malloc(128);
    res->body_len =
        (size_t)snprintf(res->body, 128, "Hello WSGI world! %s %s other-thread=%d", req->method,
                         req->path, !pthread_equal(pthread_self(), loop_thread));
    snprintf(res->content_type, sizeof res->content_type, "text/html");
    return 0;
}

static pthread_t server_thread_id;

static void common_routes(struct test_http_server *st)
{
    ck_assert_int_eq(loom_http_router_new(&st->router), 0);
    ck_assert_int_eq(loom_http_route(st->router, "GET", "/", h_hello, NULL), 0);
    ck_assert_int_eq(loom_http_route(st->router, "GET", "/products/{id}", h_product, NULL), 0);
    ck_assert_int_eq(loom_http_route(st->router, "POST", "/echo", h_echo, NULL), 0);
    ck_assert_int_eq(loom_http_route(st->router, "POST", "/json", h_json, NULL), 0);
    ck_assert_int_eq(loom_http_route(st->router, "GET", "/stream", h_stream, NULL), 0);
    ck_assert_int_eq(loom_http_route(st->router, "GET", "/q", h_query, NULL), 0);
    ck_assert_int_eq(loom_http_route(st->router, "GET", "/slow", h_slow, NULL), 0);
    ck_assert_int_eq(loom_http_route_sync(st->router, "GET", "/wsgi", h_sync, &server_thread_id),
                     0);
    ck_assert_int_eq(loom_http_route(st->router, "GET", "/a/{x}/b", h_hello, NULL), 0);
    ck_assert_int_eq(loom_http_route(st->router, "DELETE", "/a/{x}/b", h_hello, NULL), 0);
}

static struct test_http_server st;

static void setup(void)
{
    memset(&st, 0, sizeof st);
    common_routes(&st);
    st.opt.header_timeout_ns = LOOM_MS(500);
    st.opt.keepalive_timeout_ns = LOOM_MS(500);
    st.opt.max_body = 1 << 20;
}

/* How many times needle occurs in hay. */
static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* Send req on fd and check that the response to it contains want. */
static void ask(int fd, const char *req, const char *want)
{
    test_send_all(fd, req, strlen(req));
    char *out = test_recv_http_response(fd, 5);
    ck_assert_contains(out, want);
    free(out);
}

/* Run a Python script (python3 is needed) within timeout_s; its output. */
static char *python(const char *script, double timeout_s)
{
    char *out;
    double el;
    int rc = test_run((char *[]){"/usr/bin/env", "python3", "-c", (char *)script, NULL}, NULL,
                      timeout_s, &out, &el);
    ck_assert_msg(rc == 0, "python3 failed %d: %s", rc, out);
    return out;
}

/* --- tests --- */

START_TEST(test_routes)
{
    setup();
    test_http_server_start(&st);
    char *out =
        TEST_HTTP_EXCHANGE(st.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    TEST_IN_ORDER(out, "HTTP/1.1 200 OK\r\n", "Content-Length: 6\r\n", "Connection: close",
                  "\r\n\r\nhello\n");
    free(out);
    out = TEST_HTTP_EXCHANGE(st.port,
                             "GET /products/42 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    TEST_IN_ORDER(out, "HTTP/1.1 200 OK", "application/json", "{\"product_id\":42}");
    free(out);
    out = TEST_HTTP_EXCHANGE(st.port,
                             "GET /products/x1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ck_assert_contains(out, "HTTP/1.1 400 Bad Request");
    free(out);
    out = TEST_HTTP_EXCHANGE(st.port, "GET /q?a=one+two&b=%C3%A9%26x HTTP/1.1\r\nHost: x\r\n"
                                      "Connection: close\r\n\r\n");
    ck_assert_contains(out, "a=[one two] b=[\xc3\xa9&x] c=[-]");
    free(out);
    out = TEST_HTTP_EXCHANGE(st.port, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ck_assert_contains(out, "HTTP/1.1 404 Not Found");
    free(out);
    out =
        TEST_HTTP_EXCHANGE(st.port, "PUT /a/1/b HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    TEST_IN_ORDER(out, "HTTP/1.1 405 Method Not Allowed", "Allow: GET, DELETE, HEAD");
    free(out);
    out = TEST_HTTP_EXCHANGE(
        st.port, "GET /products/1%2F2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ck_assert_contains(out, "HTTP/1.1 400"); /* "1%2F2" is one segment, and not a number */
    free(out);
    test_http_server_stop(&st);
}
END_TEST

/* POST body to /json; the response. */
static char *post_json(const char *body)
{
    size_t len = strlen(body);
    char *req = malloc(len + 200);
    snprintf(req, len + 200,
             "POST /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
             len, body);
    char *out = test_http_exchange(st.port, req, strlen(req));
    free(req);
    return out;
}

/* JSON nested deeper than LOOM_HTTP_JSON_MAX_DEPTH is refused before the
 * parser recurses on the handler's stack (100,000 levels would overflow it);
 * brackets inside strings do not count. */
START_TEST(test_json_depth)
{
    setup();
    test_http_server_start(&st);
    int max = LOOM_HTTP_JSON_MAX_DEPTH;
    char *body = malloc(200002);
    for (int depth = max; depth <= max + 1; depth++) {
        memset(body, '[', (size_t)depth);
        memset(body + depth, ']', (size_t)depth);
        body[2 * depth] = '\0';
        char *out = post_json(body);
        ck_assert_contains(out, depth == max ? "HTTP/1.1 200" : "HTTP/1.1 400");
        free(out);
    }
    memset(body, '[', 100000);
    memset(body + 100000, ']', 100000);
    body[200000] = '\0';
    char *out = post_json(body);
    ck_assert_contains(out, "HTTP/1.1 400");
    free(out);
    out = post_json("{\"a\":\"[[[[{{{{\\\"\",\"b\":[1]}");
    TEST_IN_ORDER(out, "HTTP/1.1 200", "[[[[{{{{\\\"");
    free(out);
    free(body);
    test_http_server_stop(&st);
}
END_TEST

START_TEST(test_keepalive_pipelining)
{
    setup();
    test_http_server_start(&st);
    int fd = test_dial(st.port);
    ask(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "hello");
    ask(fd, "GET /products/7 HTTP/1.1\r\nHost: x\r\n\r\n", "\"product_id\":7");
    /* Three pipelined in one write; the last closes: all answered, in order. */
    const char p[] = "GET /products/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /products/2 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /products/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                     "GET /products/4 HTTP/1.1\r\nHost: x\r\n\r\n";
    test_send_all(fd, p, sizeof p - 1);
    bool closed;
    char *out = test_recv_until_close(fd, 5, &closed);
    ck_assert(closed);
    TEST_IN_ORDER(out, "\"product_id\":1", "\"product_id\":2", "\"product_id\":3");
    ck_assert_msg(!strstr(out, "\"product_id\":4"), "answered after Connection: close:\n%s", out);
    free(out);
    close(fd);
    /* HTTP/1.0 closes by default; with keep-alive it stays. */
    out = TEST_HTTP_EXCHANGE(st.port, "GET / HTTP/1.0\r\n\r\n");
    TEST_IN_ORDER(out, "HTTP/1.1 200 OK", "Connection: close", "hello");
    free(out);
    fd = test_dial(st.port);
    ask(fd, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "Connection: keep-alive");
    test_send_all(fd, "GET / HTTP/1.0\r\n\r\n", 18);
    out = test_recv_until_close(fd, 5, &closed);
    ck_assert(closed);
    ck_assert_contains(out, "hello");
    free(out);
    close(fd);
    test_http_server_stop(&st);
}
END_TEST

/* Every message RFC 9112 says to reject: the status, and the connection closes. */
START_TEST(test_malformed)
{
    static const struct {
        const char *name, *req, *status;
    } cases[] = {
        {"no Host", "GET / HTTP/1.1\r\n\r\n", "400"},
        {"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"},
        {"CL+TE",
         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         "400"},
        {"two CLs",
         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
         "Content-Length: 4\r\n\r\nabcd",
         "400"},
        {"bad CL", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3x\r\n\r\nabc", "400"},
        {"TE not ending in chunked",
         "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", "400"},
        {"unknown TE", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo, chunked\r\n\r\n",
         "501"},
        {"bare CR", "GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", "400"},
        {"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", "400"},
        {"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", "400"},
        {"bad version", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", "505"},
        {"garbage", "\x16\x03\x01\x02\x01\x01\x01\x01\xfc\x03\x03\r\n\r\n", "400"},
        {"body too large", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n",
         "413"},
    };
    setup();
    test_http_server_start(&st);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int fd = test_dial(st.port);
        test_send_all(fd, cases[i].req, strlen(cases[i].req));
        bool closed;
        char *out = test_recv_until_close(fd, 5, &closed);
        char want[32];
        snprintf(want, sizeof want, "HTTP/1.1 %s ", cases[i].status);
        ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s: want %s, got:\n%s", cases[i].name,
                      want, out);
        ck_assert_msg(closed, "%s: connection left open", cases[i].name);
        free(out);
        close(fd);
    }
    /* NUL inside the head (not expressible in a C string literal). */
    char nul[] = "GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n";
    char *out = test_http_exchange(st.port, nul, sizeof nul - 1);
    ck_assert_msg(!strncmp(out, "HTTP/1.1 400 ", 13), "NUL: %s", out);
    free(out);
    /* Over the limits: 414 and 431. */
    char *big = malloc(70000);
    int n = snprintf(big, 70000, "GET /");
    memset(big + n, 'a', 9000);
    n += 9000;
    n += snprintf(big + n, 70000 - (size_t)n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    out = test_http_exchange(st.port, big, (size_t)n);
    ck_assert_msg(!strncmp(out, "HTTP/1.1 414 ", 13), "long target: %.80s", out);
    free(out);
    n = snprintf(big, 70000, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 150; i++)
        n += snprintf(big + n, 70000 - (size_t)n, "X-%d: y\r\n", i);
    n += snprintf(big + n, 70000 - (size_t)n, "\r\n");
    out = test_http_exchange(st.port, big, (size_t)n);
    ck_assert_msg(!strncmp(out, "HTTP/1.1 431 ", 13), "many headers: %.80s", out);
    free(out);
    free(big);
    test_http_server_stop(&st);
}
END_TEST

/* A chunked body with extensions and trailers, sent one byte at a time. */
START_TEST(test_chunked_bytewise)
{
    setup();
    test_http_server_start(&st);
    const char req[] = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                       "Connection: close\r\n\r\n"
                       "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: t\r\n\r\n";
    int fd = test_dial(st.port);
    for (size_t i = 0; i < sizeof req - 1; i++)
        test_send_all(fd, req + i, 1);
    bool closed;
    char *out = test_recv_until_close(fd, 5, &closed);
    TEST_IN_ORDER(out, "HTTP/1.1 200 OK", "Content-Length: 12", "\r\n\r\nhello, world");
    free(out);
    close(fd);
    /* A bad chunk size is a 400 and a close. */
    out = TEST_HTTP_EXCHANGE(st.port,
                             "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "zz\r\nhello\r\n0\r\n\r\n");
    ck_assert_msg(!strncmp(out, "HTTP/1.1 500 ", 13) || !strncmp(out, "HTTP/1.1 400 ", 13),
                  "bad chunk: %s", out);
    free(out);
    test_http_server_stop(&st);
}
END_TEST

START_TEST(test_continue_head_stream)
{
    setup();
    test_http_server_start(&st);
    int fd = test_dial(st.port);
    test_send_all(fd,
                  "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  "Expect: 100-continue\r\n\r\n",
                  73);
    char buf[64] = "";
    struct pollfd p = {fd, POLLIN, 0};
    ck_assert_int_eq(poll(&p, 1, 5000), 1);
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    ck_assert_int_gt(n, 0);
    ck_assert_msg(!strncmp(buf, "HTTP/1.1 100 Continue\r\n\r\n", 25), "got: %s", buf);
    test_send_all(fd, "abcde", 5);
    char *out = test_recv_http_response(fd, 5);
    TEST_IN_ORDER(out, "HTTP/1.1 200 OK", "abcde");
    free(out);
    close(fd);
    /* HEAD: GET's headers, no body. */
    out = TEST_HTTP_EXCHANGE(st.port, "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    TEST_IN_ORDER(out, "HTTP/1.1 200 OK", "Content-Length: 6\r\n");
    ck_assert_msg(!strstr(out, "hello"), "HEAD sent a body:\n%s", out);
    free(out);
    /* Streamed: chunked on 1.1, until close on 1.0. */
    out =
        TEST_HTTP_EXCHANGE(st.port, "GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    TEST_IN_ORDER(out, "Transfer-Encoding: chunked", "5\r\npart\n\r\n", "0\r\n\r\n");
    free(out);
    out = TEST_HTTP_EXCHANGE(st.port, "GET /stream HTTP/1.0\r\n\r\n");
    TEST_IN_ORDER(out, "Connection: close", "\r\n\r\npart\npart\npart\n");
    free(out);
    test_http_server_stop(&st);
}
END_TEST

/* Slowloris: a head dripped slower than the header timeout is cut off, in
 * bounded time; an idle keep-alive connection is closed. */
START_TEST(test_timeouts)
{
    setup();
    test_http_server_start(&st);
    int fd = test_dial(st.port);
    double t0 = test_now();
    const char *drip = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    test_send_all(fd, drip, strlen(drip));
    bool closed = false;
    for (int i = 0; i < 40 && !closed; i++) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) == 1) {
            char buf[256];
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            closed = n <= 0 || (buf[n - 1] = 0, strstr(buf, "408") != NULL);
        } else {
            send(fd, "a", 1, MSG_NOSIGNAL);
        }
    }
    ck_assert_msg(closed, "dripping client still connected after %.1f s", test_now() - t0);
    ck_assert_double_lt(test_now() - t0, 2.0);
    close(fd);
    fd = test_dial(st.port);
    test_send_all(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
    free(test_recv_http_response(fd, 5));
    t0 = test_now();
    char *out = test_recv_until_close(fd, 3, &closed);
    ck_assert_msg(closed, "idle keep-alive connection not closed");
    ck_assert_double_lt(test_now() - t0, 2.0);
    free(out);
    close(fd);
    test_http_server_stop(&st);
}
END_TEST

/* A client that never reads a 64 MiB response: the handler is held back by
 * backpressure and the connection is cut at the write timeout. */
START_TEST(test_never_reading_client)
{
    setup();
    int result = 1;
    ck_assert_int_eq(loom_http_route(st.router, "GET", "/big", h_big, &result), 0);
    st.opt.write_timeout_ns = LOOM_MS(500);
    test_http_server_start(&st);
    int fd = test_dial(st.port);
    test_send_all(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", 30);
    double t0 = test_now();
    while (__atomic_load_n(&result, __ATOMIC_SEQ_CST) == 1 && test_now() - t0 < 10)
        usleep(10000);
    ck_assert_int_eq(result, -ETIMEDOUT);
    close(fd);
    test_http_server_stop(&st);
}
END_TEST

static char file_path[64];

static void make_file(void)
{
    snprintf(file_path, sizeof file_path, "/tmp/loom-http-file-%d", getpid());
    FILE *f = fopen(file_path, "w");
    for (int i = 0; i < 1000; i++)
        fprintf(f, "%09d\n", i);
    fclose(f);
}

START_TEST(test_file_ranges)
{
    setup();
    make_file();
    ck_assert_int_eq(loom_http_route(st.router, "GET", "/file", h_file, file_path), 0);
    test_http_server_start(&st);
    char *out =
        TEST_HTTP_EXCHANGE(st.port, "GET /file HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    TEST_IN_ORDER(out, "HTTP/1.1 200 OK", "Content-Length: 10000", "ETag: \"", "000000999\n");
    const char *e = strstr(out, "ETag: ");
    char etag[64];
    ck_assert(e && sscanf(e, "ETag: %63s", etag) == 1);
    const char *lm = strstr(out, "Last-Modified: ");
    char lastmod[64];
    ck_assert(lm);
    snprintf(lastmod, sizeof lastmod, "%.29s", lm + 15);
    free(out);
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /file HTTP/1.1\r\nHost: x\r\nIf-None-Match: %s\r\n"
                     "Connection: close\r\n\r\n",
                     etag);
    out = test_http_exchange(st.port, req, (size_t)n);
    ck_assert_msg(!strncmp(out, "HTTP/1.1 304 ", 13), "INM: %s", out);
    ck_assert_msg(!strstr(out, "000000"), "304 with a body");
    free(out);
    n = snprintf(req, sizeof req,
                 "GET /file HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: %s\r\n"
                 "Connection: close\r\n\r\n",
                 lastmod);
    out = test_http_exchange(st.port, req, (size_t)n);
    ck_assert_msg(!strncmp(out, "HTTP/1.1 304 ", 13), "IMS: %s", out);
    free(out);
    out = TEST_HTTP_EXCHANGE(st.port, "GET /file HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\n"
                                      "Connection: close\r\n\r\n");
    TEST_IN_ORDER(out, "HTTP/1.1 206 ", "Content-Length: 10", "Content-Range: bytes 10-19/10000",
                  "\r\n\r\n000000001\n");
    free(out);
    out = TEST_HTTP_EXCHANGE(st.port, "GET /file HTTP/1.1\r\nHost: x\r\nRange: bytes=-10\r\n"
                                      "Connection: close\r\n\r\n");
    TEST_IN_ORDER(out, "HTTP/1.1 206 ", "bytes 9990-9999/10000", "\r\n\r\n000000999\n");
    free(out);
    out = TEST_HTTP_EXCHANGE(st.port, "GET /file HTTP/1.1\r\nHost: x\r\nRange: bytes=20000-\r\n"
                                      "Connection: close\r\n\r\n");
    TEST_IN_ORDER(out, "HTTP/1.1 416 ", "Content-Range: bytes */10000");
    /* the error's text body, not also the file's type */
    ck_assert_msg(count(out, "Content-Type:") == 1, "416 with two Content-Types:\n%s", out);
    free(out);
    test_http_server_stop(&st);
    unlink(file_path);
}
END_TEST

/* A client that half-closes, then resets the connection in the middle of a
 * large file (sent with sendfile, which has no MSG_NOSIGNAL) must not raise SIGPIPE in the
 * server's process: SIGPIPE keeps its default action here, which would kill
 * the test. The server answers a request afterwards. */
START_TEST(test_file_client_resets)
{
    signal(SIGPIPE, SIG_DFL);
    setup();
    char path[64];
    snprintf(path, sizeof path, "/tmp/loom-http-big-%d", getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert(fd >= 0);
    ck_assert_int_eq(ftruncate(fd, 16 << 20), 0);
    close(fd);
    ck_assert_int_eq(loom_http_route(st.router, "GET", "/big-file", h_file, path), 0);
    test_http_server_start(&st);
    for (int i = 0; i < 20; i++) {
        int c = test_dial(st.port);
        int small = 4096;
        setsockopt(c, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        test_send_all(c, "GET /big-file HTTP/1.1\r\nHost: x\r\n\r\n", 35);
        /* Half-close first: the server is then in CLOSE_WAIT, where the
         * kernel reports the reset below as EPIPE (and raises SIGPIPE). */
        shutdown(c, SHUT_WR);
        char buf[4096];
        ck_assert(recv(c, buf, sizeof buf, 0) > 0); /* the response has started */
        struct linger lg = {1, 0};
        setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(c); /* RST with the rest of the file unread */
        if (i % 2)
            usleep(2000); /* let the reset land while the server waits to send */
    }
    char *out =
        TEST_HTTP_EXCHANGE(st.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    TEST_IN_ORDER(out, "HTTP/1.1 200 OK\r\n", "\r\n\r\nhello\n");
    free(out);
    test_http_server_stop(&st);
    unlink(path);
}
END_TEST

/* Graceful shutdown answers a request in progress; the WSGI-style handler
 * runs on another thread. */
START_TEST(test_shutdown_and_sync)
{
    setup();
    test_http_server_start(&st);
    server_thread_id = st.thread;
    char *out = TEST_HTTP_EXCHANGE(
        st.port, "GET /wsgi?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    TEST_IN_ORDER(out, "HTTP/1.1 200 OK", "text/html",
                  "Hello WSGI world! GET /wsgi other-thread=1");
    free(out);
    int fd = test_dial(st.port);
    test_send_all(fd, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", 31);
    usleep(50000); /* the request is in the handler (300 ms) when the stop comes */
    test_http_server_request_stop(&st);
    bool closed;
    out = test_recv_until_close(fd, 5, &closed);
    TEST_IN_ORDER(out, "HTTP/1.1 200 OK", "Connection: close", "slow done");
    free(out);
    close(fd);
    test_http_server_join(&st);
}
END_TEST

/* Real clients: curl and Python's http.client. */
START_TEST(test_real_clients)
{
    setup();
    test_http_server_start(&st);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/products/5", st.port);
    char *out;
    double el;
    int rc = test_run((char *[]){"/usr/bin/env", "curl", "-sS", "-i", url, url, NULL}, NULL, 10,
                      &out, &el);
    ck_assert_msg(rc == 0, "curl (needed: apt-get install curl) failed %d: %s", rc, out);
    TEST_IN_ORDER(out, "HTTP/1.1 200 OK", "{\"product_id\":5}", "HTTP/1.1 200 OK",
                  "{\"product_id\":5}");
    free(out);
    char script[512];
    snprintf(script, sizeof script,
             "import http.client\n"
             "c = http.client.HTTPConnection('127.0.0.1', %d, timeout=5)\n"
             "for i in range(3):\n"
             "    c.request('POST', '/echo', body=b'x' * (1000 * i + 1))\n"
             "    r = c.getresponse(); b = r.read()\n"
             "    print(r.status, len(b))\n",
             st.port);
    out = python(script, 10);
    TEST_IN_ORDER(out, "200 1\n", "200 1001\n", "200 2001\n");
    free(out);
    test_http_server_stop(&st);
}
END_TEST

/* --- hostile clients and odd configurations (each pins a fix) --- */

/* Reads the body first (suspending), then its route parameter. */
static int h_item(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    const char *body;
    ssize_t n = loom_http_req_body(req, &body);
    if (n < 0)
        return (int)n;
    const char *id = loom_http_req_param(req, "id");
    char out[128];
    snprintf(out, sizeof out, "id=[%s] body=[%.*s]\n", id ? id : "-", (int)n, body);
    return loom_http_reply_text(res, 200, out);
}

static int h_user(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    const char *name = loom_http_req_param(req, "name");
    char out[128];
    snprintf(out, sizeof out, "name=[%s]\n", name ? name : "-");
    return loom_http_reply_text(res, 200, out);
}

/* A route's parameter names must survive another connection's request being
 * routed while the handler waits (they were kept per thread, so a request
 * to /users/{name} renamed the waiting /items/{id} handler's "id"). */
START_TEST(test_params_across_connections)
{
    setup();
    ck_assert_int_eq(loom_http_route(st.router, "PUT", "/items/{id}", h_item, NULL), 0);
    ck_assert_int_eq(loom_http_route(st.router, "GET", "/users/{name}/x", h_user, NULL), 0);
    test_http_server_start(&st);
    int a = test_dial(st.port);
    const char head[] = "PUT /items/7 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                        "Expect: 100-continue\r\n\r\n";
    test_send_all(a, head, sizeof head - 1);
    /* "100 Continue" shows the handler is routed and waiting for the body. */
    char *cont = test_recv_http_response(a, 5);
    ck_assert_contains(cont, "HTTP/1.1 100 Continue");
    free(cont);
    char *out = TEST_HTTP_EXCHANGE(st.port, "GET /users/bob/x HTTP/1.1\r\nHost: x\r\n"
                                            "Connection: close\r\n\r\n");
    ck_assert_contains(out, "name=[bob]");
    free(out);
    ask(a, "abc", "id=[7] body=[abc]");
    close(a);
    test_http_server_stop(&st);
}
END_TEST

/* Absolute-form targets: the authority ends at '/' or '?', so a '/' in the
 * query is never taken for the path ("http://x?a=/q" asks for "/"). */
START_TEST(test_absolute_form)
{
    setup();
    test_http_server_start(&st);
    char *out = TEST_HTTP_EXCHANGE(st.port, "GET http://x?a=/q HTTP/1.1\r\nHost: x\r\n"
                                            "Connection: close\r\n\r\n");
    TEST_IN_ORDER(out, "HTTP/1.1 200 OK", "\r\n\r\nhello\n");
    free(out);
    out = TEST_HTTP_EXCHANGE(st.port, "GET http://x/q?a=/products/1 HTTP/1.1\r\nHost: x\r\n"
                                      "Connection: close\r\n\r\n");
    ck_assert_contains(out, "a=[/products/1] b=[-]");
    free(out);
    out = TEST_HTTP_EXCHANGE(st.port, "GET HTTP://x HTTP/1.1\r\nHost: x\r\n"
                                      "Connection: close\r\n\r\n");
    TEST_IN_ORDER(out, "HTTP/1.1 200 OK", "\r\n\r\nhello\n");
    free(out);
    test_http_server_stop(&st);
}
END_TEST

/* Adds headers until the handler's header space is full, then answers. */
static int h_many_headers(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    char name[32], value[200];
    memset(value, 'v', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    int rc = 0;
    for (int i = 0; rc == 0; i++) {
        snprintf(name, sizeof name, "X-%d", i);
        rc = loom_http_reply_header(res, name, value);
    }
    ck_assert_int_eq(rc, -ENOSPC);
    return loom_http_reply_text(res, 200, "full\n");
}

/* Sets a Content-Type, then fails: the 500 carries only its own. */
static int h_fail_typed(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    loom_http_reply_header(res, "Content-Type", "image/png");
    return -EIO;
}

static int h_bad_status(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    ck_assert_int_eq(loom_http_reply_text(res, 1000, "no\n"), -EINVAL);
    ck_assert_int_eq(loom_http_reply_start(res, 42, -1), -EINVAL);
    ck_assert_int_eq(loom_http_reply_send(res, 100, NULL, "x", 1), -EINVAL);
    ck_assert_int_eq(loom_http_reply_send(res, 200, "a\nb", "x", 1), -EINVAL);
    /* Nothing went out: the server must still answer (it kept quiet, and the
     * client waited while the connection took the next request). */
    return 0;
}

static intptr_t start_expect_einval(void *arg)
{
    struct test_http_server *t = arg;
    struct loom_http_server *srv = NULL;
    int rc = loom_http_server_start(loom_loop_current(), &t->opt, t->router, &srv);
    if (rc == 0) {
        loom_http_server_shutdown(srv, 0);
        loom_http_server_free(srv);
    }
    return rc;
}

/* The response head cannot overflow: the Server value is bounded and checked
 * at start (a long one overran the head buffer once the handler filled its
 * header space), statuses outside 200-999 are refused, a failed handler's
 * headers stay out of the 500. */
START_TEST(test_head_bounds)
{
    setup();
    char *long_server = malloc(1001);
    memset(long_server, 's', 1000);
    long_server[1000] = '\0';
    st.opt.server_header = long_server;
    ck_assert_int_eq(loom_run(start_expect_einval, &st), -EINVAL);
    st.opt.server_header = "loom\r\nX-Injected: 1";
    ck_assert_int_eq(loom_run(start_expect_einval, &st), -EINVAL);
    long_server[256] = '\0'; /* the longest allowed */
    st.opt.server_header = long_server;
    st.opt.request_ids = true;
    ck_assert_int_eq(loom_http_route(st.router, "GET", "/full", h_many_headers, NULL), 0);
    ck_assert_int_eq(loom_http_route(st.router, "GET", "/fail", h_fail_typed, NULL), 0);
    ck_assert_int_eq(loom_http_route(st.router, "GET", "/status", h_bad_status, NULL), 0);
    test_http_server_start(&st);
    char *out = TEST_HTTP_EXCHANGE(st.port, "GET /full HTTP/1.1\r\nHost: x\r\n"
                                            "Connection: close\r\n\r\n");
    TEST_IN_ORDER(out, "HTTP/1.1 200 OK\r\n", long_server, "X-0: vvv", "\r\n\r\nfull\n");
    free(out);
    out = TEST_HTTP_EXCHANGE(st.port, "GET /fail HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert_contains(out, "HTTP/1.1 500 ");
    ck_assert_msg(!strstr(out, "image/png") && count(out, "Content-Type:") == 1, "%s", out);
    free(out);
    out = TEST_HTTP_EXCHANGE(st.port, "GET /status HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert_msg(!strncmp(out, "HTTP/1.1 204 ", 13), "%s", out);
    free(out);
    test_http_server_stop(&st);
    free(long_server);
}
END_TEST

/* Limits left 0 take their defaults one by one (setting only max_start_line
 * left max_headers 0 and every request with a header got 431; setting only
 * max_headers was ignored). */
START_TEST(test_partial_limits)
{
    setup();
    st.opt.limits.max_start_line = 64;
    test_http_server_start(&st);
    char *out = TEST_HTTP_EXCHANGE(st.port, "GET / HTTP/1.1\r\nHost: x\r\n"
                                            "Connection: close\r\n\r\n");
    TEST_IN_ORDER(out, "HTTP/1.1 200 OK", "hello");
    free(out);
    char big[128];
    int n = snprintf(big, sizeof big, "GET /%070d HTTP/1.1\r\nHost: x\r\n\r\n", 0);
    out = test_http_exchange(st.port, big, (size_t)n);
    ck_assert_msg(!strncmp(out, "HTTP/1.1 414 ", 13), "%s", out);
    free(out);
    test_http_server_stop(&st);
    setup();
    st.opt.limits.max_headers = 3;
    test_http_server_start(&st);
    out = TEST_HTTP_EXCHANGE(st.port, "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n"
                                      "Connection: close\r\n\r\n");
    ck_assert_msg(!strncmp(out, "HTTP/1.1 431 ", 13), "%s", out);
    free(out);
    test_http_server_stop(&st);
}
END_TEST

/* A client still sending a body the server refused gets the answer: the
 * server half-closes and reads the rest away before closing (a close with
 * unread bytes sends a reset, and Python's http.client, which sends the whole
 * body before reading, saw ConnectionResetError instead of the 413). */
START_TEST(test_lingering_close)
{
    setup();
    test_http_server_start(&st);
    char script[512];
    snprintf(script, sizeof script,
             "import http.client\n"
             "for i in range(3):\n"
             "    c = http.client.HTTPConnection('127.0.0.1', %d, timeout=10)\n"
             "    c.request('POST', '/echo', body=b'x' * (24 << 20))\n"
             "    r = c.getresponse(); r.read()\n"
             "    print(r.status, r.getheader('Connection'))\n",
             st.port);
    char *out = python(script, 30);
    TEST_IN_ORDER(out, "413 close\n", "413 close\n", "413 close\n");
    free(out);
    /* A client that never closes is let go at the bound: its EOF arrives. */
    int fd = test_dial(st.port);
    const char req[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\nabc";
    test_send_all(fd, req, sizeof req - 1);
    bool closed;
    out = test_recv_until_close(fd, 10, &closed);
    ck_assert_msg(closed && !strncmp(out, "HTTP/1.1 413 ", 13), "%s", out);
    free(out);
    close(fd);
    test_http_server_stop(&st);
}
END_TEST

/* Reads the body 100 bytes at a time, sleeping 50 ms between reads. */
static int h_slow_reader(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    char buf[100];
    size_t total = 0;
    ssize_t n;
    while ((n = loom_http_req_read(req, buf, sizeof buf)) > 0) {
        total += (size_t)n;
        int rc = loom_sleep(LOOM_MS(50));
        if (rc < 0)
            return rc;
    }
    if (n < 0)
        return (int)n;
    char out[64];
    snprintf(out, sizeof out, "read %zu\n", total);
    return loom_http_reply_text(res, 200, out);
}

/* A body dripped a byte at a time (well under min_body_rate, every byte
 * inside body_timeout_ns) is cut off with 408 instead of holding the
 * connection for as long as the client likes; time the handler spends
 * between reads is not the client's. */
START_TEST(test_body_min_rate)
{
    setup();
    st.opt.body_timeout_ns = LOOM_MS(300);
    ck_assert_int_eq(loom_http_route(st.router, "POST", "/slow-reader", h_slow_reader, NULL), 0);
    test_http_server_start(&st);
    int fd = test_dial(st.port);
    const char head[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n";
    test_send_all(fd, head, sizeof head - 1);
    bool answered = false;
    for (int i = 0; i < 1000 && !answered; i++) { /* 20 s at most: the body needs 20 */
        if (send(fd, "x", 1, MSG_NOSIGNAL) != 1)
            break; /* closed: the answer is waiting */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        answered = poll(&p, 1, 20) == 1;
    }
    bool closed;
    char *out = test_recv_until_close(fd, 5, &closed);
    ck_assert_msg(!strncmp(out, "HTTP/1.1 408 ", 13), "dripped body: %s", out);
    free(out);
    close(fd);
    char req[1200];
    int n = snprintf(req, sizeof req,
                     "POST /slow-reader HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                     "Connection: close\r\n\r\n%01000d",
                     0);
    out = test_http_exchange(st.port, req, (size_t)n);
    TEST_IN_ORDER(out, "HTTP/1.1 200 OK", "read 1000\n");
    free(out);
    test_http_server_stop(&st);
}
END_TEST

/* The peer closed fd cleanly (EOF, not a reset) within timeout_s, with
 * nothing more sent. */
static void expect_clean_close(int fd, double timeout_s)
{
    struct pollfd p = {fd, POLLIN, 0};
    ck_assert_msg(poll(&p, 1, (int)(timeout_s * 1000)) == 1, "not closed within %.1f s", timeout_s);
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    ck_assert_msg(n == 0, "expected a clean EOF, got %zd (%s)", n,
                  n < 0 ? strerror(errno) : "more data");
}

/* Nothing to read on fd: neither data nor a close. */
static void expect_open(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    ck_assert_msg(poll(&p, 1, 0) == 0, "connection answered or closed (revents %#x)", p.revents);
}

/* At max_connections, idle keep-alive connections make room for a new client
 * (oldest first, with a clean close); a connection in mid-request never does:
 * the new client waits until one goes idle. The timeouts are 30 s, so a
 * client served because a timeout fired would take 30 s. */
START_TEST(test_idle_reused_at_limit)
{
    setup();
    st.opt.keepalive_timeout_ns = LOOM_SEC(30);
    st.opt.header_timeout_ns = LOOM_SEC(30);
    st.opt.net.max_connections = 2;
    test_http_server_start(&st);
    const char *get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    int a = test_dial(st.port), b = test_dial(st.port);
    ask(a, get, "hello");
    ask(b, get, "hello");
    /* Both idle: a third client is answered at once, the oldest idle one closed. */
    int c = test_dial(st.port);
    double t0 = test_now();
    ask(c, get, "hello");
    ck_assert_double_lt(test_now() - t0, 5.0);
    expect_clean_close(a, 5);
    close(a);
    expect_open(b);
    /* b and c in mid-request: neither is closed, a fourth client waits... */
    const char *half = "GET / HTTP/1.1\r\nHost: x\r\n";
    test_send_all(b, half, strlen(half));
    test_send_all(c, half, strlen(half));
    int d = test_dial(st.port);
    test_send_all(d, get, strlen(get));
    struct pollfd p = {d, POLLIN, 0};
    ck_assert_msg(poll(&p, 1, 1000) == 0, "served while both connections were busy");
    expect_open(b);
    expect_open(c);
    /* ...until b's request is answered: b then goes idle and makes room. */
    t0 = test_now();
    ask(b, "\r\n", "hello");
    expect_clean_close(b, 5);
    char *out = test_recv_http_response(d, 5);
    ck_assert_contains(out, "hello");
    free(out);
    ck_assert_double_lt(test_now() - t0, 5.0);
    expect_open(c);
    ask(c, "\r\n", "hello");
    close(b);
    close(c);
    close(d);
    test_http_server_stop(&st);
}
END_TEST

/* The same over TLS, with Python's http.client: the third client is served
 * at once and the oldest idle connection ends with a clean EOF. */
START_TEST(test_idle_reused_at_limit_tls)
{
    test_require_tool("python3", "python3", "the HTTPS client");
    char dir[] = "/tmp/loom-idle-tls-XXXXXX", cert[96], key[96], cmd[128];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    test_make_certs(dir, "loom idle test CA");
    snprintf(cert, sizeof cert, "%s/srv.pem", dir);
    snprintf(key, sizeof key, "%s/srv.key", dir);
    char err[256];
    struct loom_tls_context *tls;
    struct loom_tls_server_options to = {.cert_file = cert, .key_file = key};
    ck_assert_int_eq(loom_tls_server_context_new(&to, &tls, err, sizeof err), 0);
    setup();
    st.opt.keepalive_timeout_ns = LOOM_SEC(30);
    st.opt.header_timeout_ns = LOOM_SEC(30);
    st.opt.net.max_connections = 2;
    st.opt.tls = tls;
    test_http_server_start(&st);
    char script[1024];
    snprintf(script, sizeof script,
             "import http.client, ssl, time\n"
             "ctx = ssl._create_unverified_context()\n"
             "def conn(): return http.client.HTTPSConnection('127.0.0.1', %d, context=ctx, "
             "timeout=10)\n"
             "a, b = conn(), conn()\n"
             "for x in (a, b):\n"
             "    x.request('GET', '/'); print(x.getresponse().read().decode().strip())\n"
             "t = time.monotonic(); c = conn(); c.request('GET', '/')\n"
             "print(c.getresponse().read().decode().strip())\n"
             "print('third', 'fast' if time.monotonic() - t < 5 else 'slow')\n"
             "a.sock.settimeout(5)\n"
             "print('a eof', a.sock.recv(1) == b'')\n",
             st.port);
    char *out = python(script, 20);
    TEST_IN_ORDER(out, "hello\nhello\nhello\n", "third fast\n", "a eof True\n");
    free(out);
    test_http_server_stop(&st);
    loom_tls_context_free(tls);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_server");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"routes", test_routes},
        {"json_depth", test_json_depth},
        {"keepalive_pipelining", test_keepalive_pipelining},
        {"malformed", test_malformed},
        {"chunked_bytewise", test_chunked_bytewise},
        {"continue_head_stream", test_continue_head_stream},
        {"timeouts", test_timeouts},
        {"never_reading_client", test_never_reading_client},
        {"file_ranges", test_file_ranges},
        {"file_client_resets", test_file_client_resets},
        {"shutdown_and_sync", test_shutdown_and_sync},
        {"real_clients", test_real_clients},
        {"params_across_connections", test_params_across_connections},
        {"absolute_form", test_absolute_form},
        {"head_bounds", test_head_bounds},
        {"partial_limits", test_partial_limits},
        {"lingering_close", test_lingering_close},
        {"body_min_rate", test_body_min_rate},
        {"idle_reused_at_limit", test_idle_reused_at_limit},
        {"idle_reused_at_limit_tls", test_idle_reused_at_limit_tls},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = test_tcase(s, cases[i].name, 30);
        tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
        tcase_add_test(tc, cases[i].fn);
    }
    return test_main(s);
}
