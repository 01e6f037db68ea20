/* check_demos_ch09.c - the chapter-9 web listings driven by real clients:
 * curl, Python's http.client (tests/tools/ch09_http.py), Node's `ws`
 * (tests/tools/ch09_counter.js) and headless Chromium over the DevTools
 * protocol (tests/tools/ch09_browser.js), against a fresh database `ch09` on
 * the harness's throwaway PostgreSQL cluster (brands Levis and Seven, four
 * products, so ids are known). Each server runs on a free port and is stopped
 * with SIGINT, which must end it cleanly. */
#include "harness/harness.h"
#include "harness/pg.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char ch09_sql[] =
    "CREATE TABLE brand(brand_id SERIAL PRIMARY KEY, brand_name TEXT NOT NULL);"
    "CREATE TABLE product(product_id SERIAL PRIMARY KEY, product_name TEXT NOT NULL,"
    " brand_id INT NOT NULL REFERENCES brand(brand_id));"
    "INSERT INTO brand(brand_name) VALUES('Levis'), ('Seven');"
    "INSERT INTO product(product_name, brand_id) VALUES('Blue Jeans', 1), ('Black Jeans', 1),"
    " ('Blue Shirt', 2), ('Black Shirt', 2);";

/* --- running things --- */

/* Start demos/ch09/<name> on a free port with extra args (NULL-terminated). */
static void start(struct test_server *srv, const char *name, ...)
{
    char rel[64], path[512];
    snprintf(rel, sizeof rel, "demos/ch09/%s", name);
    char *argv[12] = {(char *)test_build_path(rel, path, sizeof path), "--port", "0"};
    int n = 3;
    va_list ap;
    va_start(ap, name);
    for (char *a; n < 11 && (a = va_arg(ap, char *));)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    test_server_start(srv, argv);
}

/* SIGINT: the server must exit 0 within 10 s; its output stays in srv->buf. */
static void stop(struct test_server *srv)
{
    kill(srv->pid, SIGINT);
    int rc = test_server_wait(srv, 10);
    ck_assert_msg(rc == 0, "server exited %d after SIGINT:\n%s", rc, srv->buf);
}

/* Run argv (NULL-terminated list) and return its output; assert exit 0. */
static char *run(const char *what, char **argv)
{
    char *out = NULL;
    int rc = test_run(argv, NULL, 60, &out, NULL);
    ck_assert_msg(rc == 0, "%s exited %d:\n%s", what, rc, out ? out : "");
    return out;
}

/* tests/tools/ch09_http.py port args... */
static char *py(int port, ...)
{
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    char *argv[16] = {"/usr/bin/python3", "tests/tools/ch09_http.py", p};
    int n = 3;
    va_list ap;
    va_start(ap, port);
    for (char *a; n < 15 && (a = va_arg(ap, char *));)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return run("python3 ch09_http.py", argv);
}

/* curl -s -w ' %{http_code}' http://127.0.0.1:port<path> [more args]. */
static char *curl(int port, const char *path, ...)
{
    char url[1024];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    char *argv[16] = {"/usr/bin/env", "curl", "-sS", "--max-time", "20", "-w", " %{http_code}"};
    int n = 7;
    va_list ap;
    va_start(ap, path);
    for (char *a; n < 14 && (a = va_arg(ap, char *));)
        argv[n++] = a;
    va_end(ap);
    argv[n++] = url;
    argv[n] = NULL;
    return run("curl", argv);
}

/* The JSON after "JSON " in ch09_http.py's output, parsed (caller decrefs). */
static json_t *json_of(const char *out)
{
    const char *j = strstr(out, "\nJSON ");
    ck_assert_msg(j != NULL, "no JSON body in:\n%s", out);
    json_error_t err;
    json_t *v = json_loadb(j + 6, strcspn(j + 6, "\n"), 0, &err);
    ck_assert_msg(v != NULL, "bad JSON (%s) in:\n%s", err.text, out);
    return v;
}

/* --- listings 9.1-9.8 --- */

START_TEST(listing_9_1)
{
    struct test_server srv;
    start(&srv, "listing_9_1", NULL);
    char *out = py(srv.port, "GET", "/time", "-", "X-Loom-Test:yes", NULL);
    ck_assert_contains(out, "STATUS 200\n");
    ck_assert_contains(out, "HEADER Content-Type: application/json");
    json_t *v = json_of(out);
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "month")), tm.tm_mon + 1);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "day")), tm.tm_mday);
    const char *t = json_string_value(json_object_get(v, "time"));
    int h, m, s, us, end = 0;
    ck_assert_msg(t && sscanf(t, "%2d:%2d:%2d.%6d%n", &h, &m, &s, &us, &end) == 4 && end == 15 &&
                      strlen(t) == 15,
                  "time %s is not HH:MM:SS.ffffff", t ? t : "(none)");
    json_decref(v);
    free(out);
    stop(&srv);
    ck_assert_contains(srv.buf, "Request headers:");
    ck_assert_contains(srv.buf, "X-Loom-Test: yes");
}
END_TEST

START_TEST(listing_9_2)
{
    struct test_server srv;
    start(&srv, "listing_9_2", NULL);
    char *out = py(srv.port, "GET", "/brands", NULL);
    ck_assert_contains(out, "STATUS 200\n");
    ck_assert_contains(out, "JSON [{\"brand_id\": 1, \"brand_name\": \"Levis\"}, "
                            "{\"brand_id\": 2, \"brand_name\": \"Seven\"}]\n");
    free(out);
    stop(&srv);
    TEST_IN_ORDER(srv.buf, "Creating database pool.\n", "listening on ",
                  "Destroying database pool.\n");
}
END_TEST

START_TEST(listing_9_3)
{
    struct test_server srv;
    start(&srv, "listing_9_3", NULL);
    char *out = py(srv.port, "GET", "/products/3", NULL);
    ck_assert_contains(out, "STATUS 200\n");
    ck_assert_contains(out, "JSON {\"brand_id\": 2, \"product_id\": 3, "
                            "\"product_name\": \"Blue Shirt\"}\n");
    free(out);
    const char *cases[][2] = {{"/products/99", " 404"}, {"/products/abc", " 400"},
                              {"/products/1x", " 400"}, {"/products/99999999999", " 404"},
                              {"/products/", " 404"},   {"/products/1", " 200"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        out = curl(srv.port, cases[i][0], "-o", "/dev/null", NULL);
        ck_assert_msg(!strcmp(out, cases[i][1]), "%s answered%s, expected%s", cases[i][0], out,
                      cases[i][1]);
        free(out);
    }
    stop(&srv);
    ck_assert_contains(srv.buf, "Destroying database pool.");
}
END_TEST

START_TEST(listing_9_4)
{
    struct test_server srv;
    start(&srv, "listing_9_4", NULL);
    char *out = py(srv.port, "POST", "/product",
                   "{\"product_name\": \"loom jeans\", \"brand_id\": 2}", NULL);
    ck_assert_contains(out, "STATUS 201\n");
    free(out);
    out = py(srv.port, "GET", "/products/5", NULL);
    ck_assert_contains(out, "JSON {\"brand_id\": 2, \"product_id\": 5, "
                            "\"product_name\": \"loom jeans\"}\n");
    free(out);
    const char *bad[] = {"{\"product_name\": \"no brand\"}",
                         "{\"brand_id\": 1}",
                         "not json",
                         "[1, 2]",
                         "{\"product_name\": \"x\", \"brand_id\": \"two\"}",
                         "{\"product_name\": \"x\", \"brand_id\": 77}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        out = py(srv.port, "POST", "/product", bad[i], NULL);
        ck_assert_msg(strstr(out, "STATUS 400\n"), "%s answered:\n%s", bad[i], out);
        free(out);
    }
    out = curl(srv.port, "/product", "-o", "/dev/null", "-X", "POST", NULL); /* no body */
    ck_assert_str_eq(out, " 400");
    free(out);
    /* Nesting as deep as the JSON parser goes (2,048) and far past it: the
     * parser recurses on the connection task's stack, which must hold it. */
    static char deep[100001];
    for (size_t depth = 2047; depth <= 100000; depth += 100000 - 2047) {
        memset(deep, '[', depth);
        memset(deep + depth, ']', depth < 5000 ? depth : 0);
        deep[depth < 5000 ? 2 * depth : depth] = '\0';
        out = py(srv.port, "POST", "/product", deep, NULL);
        ck_assert_msg(strstr(out, "STATUS 400\n"), "%zu deep answered:\n%.300s", depth, out);
        free(out);
    }
    out = py(srv.port, "GET", "/products/6", NULL); /* nothing else was inserted */
    ck_assert_contains(out, "STATUS 404\n");
    free(out);
    out = py(srv.port, "GET", "/brands", NULL);
    ck_assert_contains(out, "{\"brand_id\": 2, \"brand_name\": \"Seven\"}]\n");
    free(out);
    stop(&srv);
    TEST_IN_ORDER(srv.buf, "Creating database pool.", "Destroying database pool.");
}
END_TEST

START_TEST(listing_9_5)
{
    struct test_server srv;
    start(&srv, "listing_9_5", "--threads", "2", NULL);
    char *out = py(srv.port, "GET", "/brands", NULL);
    ck_assert_contains(out, "STATUS 200\n");
    ck_assert_contains(out, "HEADER Connection: close");
    ck_assert_contains(out, "JSON {\"brands\": [[1, \"Levis\"], [2, \"Seven\"]]}\n");
    free(out);
    out = py(srv.port, "many", "20", "/brands", NULL); /* more clients than threads */
    ck_assert_str_eq(out, "STATUS 200 x20\n");
    free(out);
    out = curl(srv.port, "/nothing", "-o", "/dev/null", NULL);
    ck_assert_str_eq(out, " 404");
    free(out);
    stop(&srv);
}
END_TEST

START_TEST(listing_9_6)
{
    struct test_server srv;
    start(&srv, "listing_9_6", NULL);
    char *out = py(srv.port, "GET", "/hello?x=1", "-", "X-Loom:yes", NULL);
    ck_assert_contains(out, "STATUS 200\n");
    ck_assert_contains(out, "HEADER Content-Type: text/html\n");
    ck_assert_contains(out, "BODY Hello WSGI world!\n");
    free(out);
    out = curl(srv.port, "/form", "-d", "a=1", NULL);
    ck_assert_str_eq(out, "Hello WSGI world! 200");
    free(out);
    stop(&srv);
    TEST_IN_ORDER(srv.buf,
                  "{'REQUEST_METHOD': 'GET', 'PATH_INFO': '/hello', 'QUERY_STRING': 'x=1', "
                  "'SERVER_PROTOCOL': 'HTTP/1.1'",
                  "'HTTP_X_LOOM': 'yes'", "}\n", "{'REQUEST_METHOD': 'POST', 'PATH_INFO': '/form'",
                  "'CONTENT_LENGTH': '3'");
}
END_TEST

START_TEST(listing_9_7)
{
    struct test_server srv;
    start(&srv, "listing_9_7", NULL);
    char *out = py(srv.port, "GET", "/hello?x=1", "-", "X-Loom:yes", NULL);
    ck_assert_contains(out, "STATUS 200\n");
    ck_assert_contains(out, "HEADER Content-Type: text/html\n");
    ck_assert_contains(out, "HEADER Transfer-Encoding: chunked\n"); /* head sent before the body */
    ck_assert_contains(out, "BODY Hello ASGI world!\n");
    free(out);
    stop(&srv);
    TEST_IN_ORDER(srv.buf, "{'type': 'http', 'asgi': {'version': '3.0'", "'http_version': '1.1'",
                  "'client': ('127.0.0.1', ", "'method': 'GET'", "'path': '/hello'",
                  "'query_string': b'x=1'", "(b'x-loom', b'yes')", "]}\n");
}
END_TEST

START_TEST(listing_9_8)
{
    struct test_server srv;
    start(&srv, "listing_9_8", "--workers", "2", NULL);
    ck_assert_int_eq(test_count(srv.buf, "Creating database pool."), 2);
    char *out = py(srv.port, "many", "40", "/brands", NULL);
    ck_assert_str_eq(out, "STATUS 200 x40\n");
    free(out);
    out = py(srv.port, "GET", "/brands", NULL);
    ck_assert_contains(out, "JSON [{\"brand_id\": 1, \"brand_name\": \"Levis\"}, "
                            "{\"brand_id\": 2, \"brand_name\": \"Seven\"}]\n");
    free(out);
    stop(&srv);
    ck_assert_int_eq(test_count(srv.buf, "Destroying database pool."), 2);
}
END_TEST

/* --- listings 9.9 and 9.10 --- */

/* Node's ws package in $LOOM_BUILD/node (installed once; fails with npm's words). */
static const char *node_path(void)
{
    static char env[700];
    char rel[256], cwd[256], prefix[520], pkg[700];
    test_build_path("node", rel, sizeof rel);
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(prefix, sizeof prefix, "%s%s%s", rel[0] == '/' ? "" : cwd, rel[0] == '/' ? "" : "/",
             rel);
    snprintf(pkg, sizeof pkg, "%s/node_modules/ws/package.json", prefix);
    struct stat st;
    if (stat(pkg, &st) != 0) {
        char *out = NULL;
        char *argv[] = {"/usr/bin/env", "npm",  "install", "--no-audit", "--no-fund",
                        "--prefix",     prefix, "ws",      NULL};
        int rc = test_run(argv, NULL, 180, &out, NULL);
        ck_assert_msg(rc == 0 && stat(pkg, &st) == 0,
                      "Node's ws package is needed: `npm install --prefix %s ws` failed (%d):\n%s",
                      prefix, rc, out ? out : "(npm not found?)");
        free(out);
    }
    snprintf(env, sizeof env, "NODE_PATH=%s/node_modules", prefix);
    return env;
}

/* A raw WebSocket client that reads nothing: handshake, then the first count. */
static int silent_user(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const char req[] = "GET /counter HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n";
    ck_assert_int_eq(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    char buf[1024];
    size_t len = 0;
    const char *end = NULL;
    while (!(end = memmem(buf, len, "\r\n\r\n", 4)) || (size_t)(end + 4 - buf) + 3 > len) {
        ssize_t n = read(fd, buf + len, sizeof buf - len);
        ck_assert_msg(n > 0, "handshake: read %zd after %zu bytes", n, len);
        len += (size_t)n;
    }
    ck_assert_msg(!strncmp(buf, "HTTP/1.1 101 ", 13), "not switched: %.*s", (int)len, buf);
    ck_assert_mem_eq(end + 4,
                     "\x81\x01"
                     "1",
                     3); /* a text frame: "1" */
    return fd;
}

/* Flood fd with pings (125-byte payloads) for `seconds`, reading nothing. */
static size_t flood_pings(int fd, double seconds)
{
    static unsigned char frames[64 * 131];
    for (size_t i = 0; i < sizeof frames; i += 131) {
        memcpy(frames + i, "\x89\xfd\0\0\0\0", 6); /* masked with a zero key */
        memset(frames + i + 6, 'p', 125);
    }
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    size_t sent = 0, off = 0;
    for (double t0 = test_now(); test_now() - t0 < seconds;) {
        ssize_t n = write(fd, frames + off, sizeof frames - off);
        if (n > 0)
            sent += (size_t)n, off = (off + (size_t)n) % sizeof frames;
        else
            usleep(1000); /* the server is behind: its socket is full */
    }
    while (off) { /* end on a frame boundary */
        ssize_t n = write(fd, frames + off, sizeof frames - off);
        if (n > 0)
            off = (off + (size_t)n) % sizeof frames;
        else
            usleep(1000);
    }
    fcntl(fd, F_SETFL, flags);
    return sent;
}

/* Resident memory of pid in KiB. */
/* Send a masked close frame and read everything up to the server's EOF. */
static void silent_user_leaves(int fd)
{
    const unsigned char close_frame[] = {0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2};
    ck_assert_int_eq(write(fd, close_frame, sizeof close_frame), (ssize_t)sizeof close_frame);
    char buf[4096];
    ssize_t n;
    bool closed = false;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        closed = closed || memmem(buf, (size_t)n, "\x88\x02\x03\xe8", 4);
    ck_assert_msg(n == 0 && closed, "no close frame then EOF (read %zd)", n);
    close(fd);
}

START_TEST(listing_9_9_ws)
{
    const char *env = node_path();
    struct test_server srv;
    start(&srv, "listing_9_9", NULL);
    char port[16];
    snprintf(port, sizeof port, "%d", srv.port);
    char *argv[] = {"/usr/bin/env", (char *)env, "node", "tests/tools/ch09_counter.js",
                    port,           NULL,        NULL};
    char *out = run("node ch09_counter.js", argv);
    TEST_IN_ORDER(out, "A 1\n", "A 2\n", "A 1\n", "closed 1000\nOK\n");
    ck_assert_contains(out, "B 2\n");
    free(out);
    /* A client that is no WebSocket gets 400, and the counter goes on. */
    out = curl(srv.port, "/counter", "-o", "/dev/null", NULL);
    ck_assert_str_eq(out, " 400");
    free(out);
    /* A user who reads nothing holds nobody up; once it leaves, the count is back. */
    int fd = silent_user(srv.port);
    argv[5] = "1";
    out = run("node ch09_counter.js", argv);
    TEST_IN_ORDER(out, "A 2\n", "A 3\n", "A 2\n", "OK\n");
    free(out);
    silent_user_leaves(fd);
    /* One that floods pings and reads nothing (no pong can go out): the server's
     * memory stays bounded and the others are still counted at once. */
    fd = silent_user(srv.port);
    size_t sent = flood_pings(fd, 1.0);
    long rss = test_rss_kib(srv.pid);
    ck_assert_msg(rss > 0 && rss < 64 * 1024, "server RSS %ld KiB after %zu bytes of pings", rss,
                  sent);
    argv[5] = "1";
    out = run("node ch09_counter.js", argv);
    TEST_IN_ORDER(out, "A 2\n", "A 3\n", "A 2\n", "OK\n");
    free(out);
    silent_user_leaves(fd);
    argv[5] = NULL;
    out = run("node ch09_counter.js", argv);
    TEST_IN_ORDER(out, "A 1\n", "A 2\n", "A 1\n", "OK\n");
    free(out);
    stop(&srv);
}
END_TEST

/* The page at / is counter.html byte for byte. */
START_TEST(listing_9_10_page)
{
    struct test_server srv;
    start(&srv, "listing_9_9", NULL);
    char *out = curl(srv.port, "/", NULL);
    FILE *f = fopen("demos/ch09/counter.html", "r");
    ck_assert_ptr_nonnull(f);
    static char page[65536];
    size_t n = fread(page, 1, sizeof page - 16, f);
    fclose(f);
    strcpy(page + n, " 200");
    ck_assert_str_eq(out, page);
    ck_assert_contains(out, "<title>Starlette Web Sockets</title>");
    free(out);
    stop(&srv);
}
END_TEST

/* Headless Chromium shows the count go 1 -> 2 -> 1 (tests/tools/ch09_browser.js). */
START_TEST(listing_9_10_browser)
{
    const char *env = node_path();
    struct stat st;
    ck_assert_msg(stat("/usr/bin/chromium", &st) == 0,
                  "the browser test needs Debian's chromium at /usr/bin/chromium (make deps)");
    struct test_server srv;
    start(&srv, "listing_9_9", NULL);
    char port[16], shot[] = "/tmp/loom-ch09-shot-XXXXXX";
    int fd = mkstemp(shot);
    ck_assert_int_ge(fd, 0);
    close(fd);
    snprintf(port, sizeof port, "%d", srv.port);
    char *argv[] = {"/usr/bin/env", (char *)env, "node", "tests/tools/ch09_browser.js",
                    port,           shot,        NULL};
    char *out = run("node ch09_browser.js", argv);
    TEST_IN_ORDER(out, "page 1 shows 1\n", "title: Starlette Web Sockets\n",
                  "text: Connected users count: 1\n", "page 2 shows 2\n", "page 1 shows 2\n",
                  "page 2 closed\n", "page 1 shows 1\n", "OK\n");
    free(out);
    /* The screenshot is a PNG of some size (the page was really rendered). */
    FILE *f = fopen(shot, "rb");
    unsigned char sig[8] = {0};
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fread(sig, 1, 8, f), 8);
    fclose(f);
    ck_assert(stat(shot, &st) == 0 && st.st_size > 1000);
    ck_assert_mem_eq(sig, "\x89PNG\r\n\x1a\n", 8);
    unlink(shot);
    stop(&srv);
}
END_TEST

/* --- listing 9.11 --- */

START_TEST(listing_9_11)
{
    struct test_server up, srv;
    start(&up, "listing_9_1", NULL);
    start(&srv, "listing_9_11", NULL);
    char path[256];
    snprintf(path, sizeof path, "/requests/?url=http://127.0.0.1:%d/time&request_num=5", up.port);
    char *out = py(srv.port, "GET", path, NULL);
    ck_assert_contains(out, "STATUS 200\n");
    ck_assert_contains(out, "<title>Request Summary</title>");
    ck_assert_int_eq(test_count(out, "<tr><td>200</td><td>"), 5);
    TEST_IN_ORDER(out, "<h2>Failures:</h2>\n<table>\n</table>", "<h2>Successful Results:</h2>",
                  "<td>Response time (microseconds)</td>");
    free(out);
    /* Failures are listed, with what went wrong. */
    out = py(srv.port, "GET", "/requests/?url=http://127.0.0.1:1/&request_num=3", NULL);
    ck_assert_int_eq(test_count(out, "Connection refused</td></tr>"), 3);
    ck_assert_int_eq(test_count(out, "<tr><td>200</td>"), 0);
    free(out);
    const char *bad[] = {"/requests/?url=x", "/requests/?request_num=2",
                         "/requests/?url=http://127.0.0.1:1/&request_num=0",
                         "/requests/?url=http://127.0.0.1:1/&request_num=1001",
                         "/requests/?url=http://127.0.0.1:1/&request_num=2x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        out = curl(srv.port, bad[i], "-o", "/dev/null", NULL);
        ck_assert_msg(!strcmp(out, " 400"), "%s answered%s", bad[i], out);
        free(out);
    }
    stop(&srv);
    stop(&up);
    ck_assert_int_eq(test_count(up.buf, "Request headers:"), 5);
}
END_TEST

/* The peak resident size of pid in KiB (VmHWM), or -1. */

/* 9.11 asked 30 times at once for a 2 MB answer, each held back by its last
 * byte until all are nearly sent: it only counts the bytes, so it must not hold
 * the answers (it kept each whole: 60 MB here; 1,000 x 8 MB would be 8 GB). */
START_TEST(listing_9_11_big_answers)
{
    static const char script[] =
        "import http.server, threading\n"
        "body = b'x' * (2 << 20)\n"
        "all_sent = threading.Barrier(30, timeout=20)\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    protocol_version = 'HTTP/1.1'\n"
        "    def do_GET(self):\n"
        "        self.send_response(200)\n"
        "        self.send_header('Content-Length', str(len(body)))\n"
        "        self.end_headers()\n"
        "        self.wfile.write(body[:-1])\n"
        "        all_sent.wait()\n" /* every answer in flight, but for its last byte */
        "        self.wfile.write(body[-1:])\n"
        "    def log_message(self, *a): pass\n"
        "s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
        "print('listening on 127.0.0.1:%d' % s.server_port, flush=True)\n"
        "s.serve_forever()\n";
    struct test_server up, srv;
    char *argv[] = {"/usr/bin/python3", "-c", (char *)script, NULL};
    test_server_start(&up, argv);
    start(&srv, "listing_9_11", NULL);
    char path[256];
    snprintf(path, sizeof path, "/requests/?url=http://127.0.0.1:%d/&request_num=30", up.port);
    char *out = py(srv.port, "GET", path, NULL);
    ck_assert_contains(out, "STATUS 200\n");
    ck_assert_int_eq(test_count(out, "</td><td>2097152</td></tr>"), 30);
    free(out);
    long kib = test_proc_status_kib(srv.pid, "VmHWM:");
    ck_assert_msg(kib > 0 && kib < 40 * 1024, "listing 9.11 peaked at %ld KiB", kib);
    stop(&srv);
    kill(up.pid, SIGTERM);
    test_server_wait(&up, 10);
}
END_TEST

/* Every listing answers --help with its usage and exit 0. */
START_TEST(help)
{
    const char *names[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "11"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char rel[64], path[512], want[64];
        snprintf(rel, sizeof rel, "demos/ch09/listing_9_%s", names[i]);
        snprintf(want, sizeof want, "usage: listing_9_%s ", names[i]);
        char *argv[] = {(char *)test_build_path(rel, path, sizeof path), "--help", NULL};
        char *out = run(rel, argv);
        ck_assert_contains(out, want);
        free(out);
    }
}
END_TEST

/* One raw request: an escape sequence in the path (%1b, decoded), the
 * query and a header (the 8-bit CSI U+009B as UTF-8); the answer must be 200.
 * Python sends it with a plain socket, as a hostile peer would. */
static void send_escapes(int port)
{
    static const char script[] =
        "import socket,sys\n"
        "s=socket.create_connection(('127.0.0.1',int(sys.argv[1])),timeout=10)\n"
        "s.sendall(b'GET /b%1b[31mRED?q=%1b[2J HTTP/1.1\\r\\nHost: x\\r\\n'\n"
        "          b'X-Esc: caf\\xc2\\x9b31m\\r\\nConnection: close\\r\\n\\r\\n')\n"
        "d=b''\n"
        "while True:\n"
        "    c=s.recv(4096)\n"
        "    if not c: break\n"
        "    d+=c\n"
        "print(d.split(b'\\r\\n')[0].decode())\n";
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    char *argv[] = {"/usr/bin/python3", "-c", (char *)script, p, NULL};
    char *out = run("python3 raw request", argv);
    ck_assert_contains(out, "HTTP/1.1 200 ");
    free(out);
}

/* What a listing printed of send_escapes()'s request: no ESC, no C1 byte pair. */
static void assert_no_controls(const char *buf)
{
    ck_assert_msg(!strchr(buf, '\x1b'), "a raw ESC reached the terminal:\n%s", buf);
    ck_assert_msg(!strstr(buf, "\xc2\x9b"), "a raw CSI (U+009B) reached the terminal:\n%s", buf);
}

/* Listings 9.1, 9.6 and 9.7 print what the peer sent: escaped as Python's repr
 * escapes it, so a peer cannot drive the terminal. */
START_TEST(escapes_printed)
{
    struct test_server srv;
    start(&srv, "listing_9_7", NULL);
    send_escapes(srv.port);
    stop(&srv);
    assert_no_controls(srv.buf);
    TEST_IN_ORDER(srv.buf, "'path': '/b\\x1b[31mRED'", "'raw_path': b'/b%1b[31mRED'",
                  "'query_string': b'q=%1b[2J'", "(b'x-esc', b'caf\\xc2\\x9b31m')");
    start(&srv, "listing_9_6", NULL);
    send_escapes(srv.port);
    stop(&srv);
    assert_no_controls(srv.buf);
    TEST_IN_ORDER(srv.buf, "'PATH_INFO': '/b\\x1b[31mRED'", "'HTTP_X_ESC': 'caf\\x9b31m'");
    start(&srv, "listing_9_1", NULL);
    char *out = curl(srv.port, "/time", "-H",
                     "X-Esc: caf\xc2\x9b"
                     "31m",
                     NULL);
    ck_assert_contains(out, " 200");
    free(out);
    stop(&srv);
    assert_no_controls(srv.buf);
    ck_assert_contains(srv.buf, "X-Esc: caf\\x9b31m");
}
END_TEST

/* A number argument that is not one ("8080x" was taken as 8080, 70000 failed
 * late as "Invalid argument", exit 1): exit 2 with the argument named, at once. */
START_TEST(bad_numbers)
{
    const char *cases[][3] = {{"1", "--port", "8080x"},
                              {"1", "--port", "70000"},
                              {"7", "--port", "99999999999999999999"},
                              {"5", "--threads", "8x"},
                              {"8", "--workers", "2 "}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[64], path[512], want[96];
        snprintf(rel, sizeof rel, "demos/ch09/listing_9_%s", cases[i][0]);
        char *argv[] = {(char *)test_build_path(rel, path, sizeof path), (char *)cases[i][1],
                        (char *)cases[i][2], NULL};
        char *out = NULL;
        int rc = test_run(argv, NULL, 10, &out, NULL);
        ck_assert_msg(rc == 2, "%s %s '%s' exited %d:\n%s", rel, cases[i][1], cases[i][2], rc,
                      out ? out : "");
        snprintf(want, sizeof want, "%s: '%s' is not a whole number in ", cases[i][1], cases[i][2]);
        ck_assert_contains(out, want);
        free(out);
    }
}
END_TEST

int main(void)
{
    char dsn[512];
    if (test_pg_start() < 0 || test_pg_createdb("ch09") < 0 || test_pg_psql("ch09", ch09_sql) < 0)
        return EXIT_FAILURE;
    setenv("LOOM_PG_DSN", test_pg_dsn("ch09", dsn, sizeof dsn), 1);
    Suite *s = suite_create("demos_ch09");
    TCase *tc = test_tcase(s, "ch09", 120);
    tcase_add_test(tc, listing_9_1);
    tcase_add_test(tc, listing_9_2);
    tcase_add_test(tc, listing_9_3);
    tcase_add_test(tc, listing_9_4);
    tcase_add_test(tc, listing_9_5);
    tcase_add_test(tc, listing_9_6);
    tcase_add_test(tc, listing_9_7);
    tcase_add_test(tc, escapes_printed);
    tcase_add_test(tc, listing_9_8);
    tcase_add_test(tc, listing_9_9_ws);
    tcase_add_test(tc, listing_9_10_page);
    tcase_add_test(tc, listing_9_10_browser);
    tcase_add_test(tc, listing_9_11);
    tcase_add_test(tc, listing_9_11_big_answers);
    tcase_add_test(tc, help);
    tcase_add_test(tc, bad_numbers);
    int rc = test_main(s);
    test_pg_stop();
    return rc;
}
