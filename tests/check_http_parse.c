/* check_http_parse.c - net/http_parse.h: request/response heads (a table of named
 * cases, every RFC 9112 rejection rule), framing, chunked bodies, limits, and the
 * head formatters. Every input sits right before a PROT_NONE page, so reading one
 * byte past len crashes the test; every message is also fed split at every byte. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness/harness.h"
#include "net/http_parse.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define OK 1 /* expected result: the whole input parses as one head */

/* ---- guard page ---- */

static void *g_map;
static size_t g_maplen;

/* A copy of s[0..n) ending right before a PROT_NONE page (valid until the next call). */
static char *guarded(const void *s, size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t data = (n + pg - 1) / pg * pg;
    if (g_map)
        munmap(g_map, g_maplen);
    g_maplen = data + pg;
    g_map = mmap(NULL, g_maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(g_map, MAP_FAILED);
    ck_assert_int_eq(mprotect((char *)g_map + data, pg, PROT_NONE), 0);
    char *p = (char *)g_map + data - n;
    memcpy(p, s, n);
    return p;
}

/* ---- heads ---- */

static struct loom_http_header g_hdrs[128];

static ssize_t parse_head(bool request, const char *in, size_t n, size_t last,
                          const struct loom_http_limits *lim)
{
    char *buf = guarded(in, n);
    if (request) {
        struct loom_http_req_head req = {.headers = g_hdrs, .header_cap = N_ELEMS(g_hdrs)};
        return loom_http_parse_request(&req, buf, n, last, lim);
    }
    struct loom_http_resp_head resp = {.headers = g_hdrs, .header_cap = N_ELEMS(g_hdrs)};
    return loom_http_parse_response(&resp, buf, n, last, lim);
}

/* Feed every prefix of in (with and without the last_len hint): each must be
 * INCOMPLETE until the result, which must be want (OK: the whole input). */
static void check_head(const char *name, bool request, const char *in, size_t n, ssize_t want,
                       const struct loom_http_limits *lim)
{
    ssize_t full = want == OK ? (ssize_t)n : want;
    for (int hint = 0; hint < 2; hint++) {
        size_t last = 0;
        for (size_t k = 0; k <= n; k++) {
            ssize_t rc = parse_head(request, in, k, hint ? last : 0, lim);
            if (rc == LOOM_HTTP_INCOMPLETE && k < n) {
                last = k;
                continue;
            }
            ck_assert_msg(rc == full, "%s: prefix %zu/%zu gave %zd (%s), want %zd (%s)", name, k, n,
                          rc, loom_http_parse_strerror((int)rc), full,
                          loom_http_parse_strerror((int)full));
            break;
        }
    }
}

struct head_case {
    const char *name;
    const char *in;
    int want; /* OK or a LOOM_HTTP_E* code */
};

static const struct head_case request_cases[] = {
    {"simple", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", OK},
    {"http10 no headers", "GET / HTTP/1.0\r\n\r\n", OK},
    {"bare LF lines", "GET / HTTP/1.1\nHost: a\n\n", OK},
    {"mixed line ends", "GET / HTTP/1.1\r\nHost: a\n\r\n", OK},
    {"leading empty lines", "\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", OK},
    {"empty value", "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n", OK},
    {"value tab and obs-text", "GET / HTTP/1.1\r\nX: a\tb \xe9\xff\r\n\r\n", OK},
    {"absolute-form", "GET http://a/b?c HTTP/1.1\r\nHost: a\r\n\r\n", OK},
    {"asterisk-form", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", OK},
    {"authority-form", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", OK},
    {"extension method", "M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n", OK},
    {"minor 9", "GET / HTTP/1.9\r\nHost: a\r\n\r\n", OK},
    {"token chars in name", "GET / HTTP/1.1\r\n!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n", OK},
    /* RFC 9112 §3: request-line = method SP request-target SP HTTP-version */
    {"empty method", " / HTTP/1.1\r\n\r\n", LOOM_HTTP_EMETHOD},
    {"bad method char", "GE@T / HTTP/1.1\r\n\r\n", LOOM_HTTP_EMETHOD},
    {"method then CRLF", "GET\r\n\r\n", LOOM_HTTP_EMETHOD},
    {"tab after method", "GET\t/ HTTP/1.1\r\n\r\n", LOOM_HTTP_EMETHOD},
    {"NUL in method", "G\0T / HTTP/1.1\r\n\r\n", LOOM_HTTP_EMETHOD},
    {"CR in method", "G\rT / HTTP/1.1\r\n\r\n", LOOM_HTTP_EMETHOD},
    {"bare CR first", "\rGET / HTTP/1.1\r\n\r\n", LOOM_HTTP_EBARE_CR},
    {"double SP", "GET  / HTTP/1.1\r\n\r\n", LOOM_HTTP_ETARGET},
    {"no version", "GET /\r\n\r\n", LOOM_HTTP_ETARGET},
    {"control in target", "GET /a\x01 HTTP/1.1\r\n\r\n", LOOM_HTTP_ETARGET},
    {"DEL in target", "GET /a\x7f HTTP/1.1\r\n\r\n", LOOM_HTTP_ETARGET},
    {"non-ASCII target", "GET /\xc3\xa9 HTTP/1.1\r\n\r\n", LOOM_HTTP_ETARGET},
    {"space in target", "GET /a b HTTP/1.1\r\n\r\n", LOOM_HTTP_EVERSION},
    {"trailing SP", "GET / HTTP/1.1 \r\n\r\n", LOOM_HTTP_EVERSION},
    {"lowercase version", "GET / http/1.1\r\n\r\n", LOOM_HTTP_EVERSION},
    {"version 1.10", "GET / HTTP/1.10\r\n\r\n", LOOM_HTTP_EVERSION},
    {"version 1", "GET / HTTP/1\r\n\r\n", LOOM_HTTP_EVERSION},
    {"version junk", "GET / HTTP/x.y\r\n\r\n", LOOM_HTTP_EVERSION},
    {"HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", LOOM_HTTP_EVERSION_UNSUPPORTED},
    {"HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", LOOM_HTTP_EVERSION_UNSUPPORTED},
    /* RFC 9112 §2.2: NUL, bare CR; §5.1-5.2: field syntax */
    {"NUL in line", "GET /\0 HTTP/1.1\r\n\r\n", LOOM_HTTP_ENUL},
    {"NUL in value", "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", LOOM_HTTP_ENUL},
    {"bare CR in line", "GET / HTTP/1.1\rHost: a\r\n\r\n", LOOM_HTTP_EBARE_CR},
    {"bare CR in value", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", LOOM_HTTP_EBARE_CR},
    {"CR CR LF", "GET / HTTP/1.1\r\nX: a\r\r\n\r\n", LOOM_HTTP_EBARE_CR},
    {"obs-fold", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", LOOM_HTTP_EOBS_FOLD},
    {"obs-fold tab", "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", LOOM_HTTP_EOBS_FOLD},
    {"ws after start line", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", LOOM_HTTP_EOBS_FOLD},
    {"SP before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", LOOM_HTTP_EWS_BEFORE_COLON},
    {"tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", LOOM_HTTP_EWS_BEFORE_COLON},
    {"space in name", "GET / HTTP/1.1\r\nX Y: a\r\n\r\n", LOOM_HTTP_EWS_BEFORE_COLON},
    {"empty name", "GET / HTTP/1.1\r\n: a\r\n\r\n", LOOM_HTTP_EHEADER_NAME},
    {"no colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", LOOM_HTTP_EHEADER_NAME},
    {"bad name char", "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", LOOM_HTTP_EHEADER_NAME},
    {"non-ASCII name", "GET / HTTP/1.1\r\nH\xe9: a\r\n\r\n", LOOM_HTTP_EHEADER_NAME},
    {"control in value", "GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", LOOM_HTTP_EHEADER_VALUE},
    {"DEL in value", "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", LOOM_HTTP_EHEADER_VALUE},
};

static const struct head_case response_cases[] = {
    {"200", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", OK},
    {"no reason no SP", "HTTP/1.1 204\r\n\r\n", OK},
    {"empty reason", "HTTP/1.1 200 \r\n\r\n", OK},
    {"1.0 404", "HTTP/1.0 404 Not Found\r\n\r\n", OK},
    {"reason with obs-text", "HTTP/1.1 200 \xc3\x9c\tok\r\n\r\n", OK},
    {"999", "HTTP/1.1 999 Odd\r\n\r\n", OK},
    {"LF only", "HTTP/1.1 200 OK\nA: b\n\n", OK},
    {"status 99", "HTTP/1.1 099 X\r\n\r\n", LOOM_HTTP_ESTATUS},
    {"4 digits", "HTTP/1.1 2000 X\r\n\r\n", LOOM_HTTP_ESTATUS},
    {"hex status", "HTTP/1.1 20a X\r\n\r\n", LOOM_HTTP_ESTATUS},
    {"short status", "HTTP/1.1 20\r\n\r\n", LOOM_HTTP_ESTATUS},
    {"no SP", "HTTP/1.1200 OK\r\n\r\n", LOOM_HTTP_ESTATUS},
    {"control in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", LOOM_HTTP_ESTATUS},
    {"ICY", "ICY 200 OK\r\n\r\n", LOOM_HTTP_EVERSION},
    {"HTTP/2", "HTTP/2 200\r\n\r\n", LOOM_HTTP_EVERSION},
    {"HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", LOOM_HTTP_EVERSION_UNSUPPORTED},
    {"bare CR", "HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", LOOM_HTTP_EBARE_CR},
    {"obs-fold", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", LOOM_HTTP_EOBS_FOLD},
    {"ws before colon", "HTTP/1.1 200 OK\r\nA : b\r\n\r\n", LOOM_HTTP_EWS_BEFORE_COLON},
    {"NUL", "HTTP/1.1 200 OK\r\nA: \0\r\n\r\n", LOOM_HTTP_ENUL},
};

/* Input length: the name table holds literal strings with embedded NULs, so
 * measure up to the final "\n\n" or "\r\n\r\n". */
static size_t case_len(const char *in)
{
    size_t n = 0;
    for (;;) {
        if (in[n] == '\0' && n >= 2 && in[n - 1] == '\n' &&
            (in[n - 2] == '\n' || (n >= 4 && in[n - 2] == '\r' && in[n - 3] == '\n')))
            return n;
        n++;
    }
}

START_TEST(request_table)
{
    for (size_t i = 0; i < N_ELEMS(request_cases); i++)
        check_head(request_cases[i].name, true, request_cases[i].in, case_len(request_cases[i].in),
                   request_cases[i].want, NULL);
}
END_TEST

START_TEST(response_table)
{
    for (size_t i = 0; i < N_ELEMS(response_cases); i++)
        check_head(response_cases[i].name, false, response_cases[i].in,
                   case_len(response_cases[i].in), response_cases[i].want, NULL);
}
END_TEST

static bool str_is(struct loom_http_str s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

/* A head that can never be valid is refused before it ends: a TLS ClientHello
 * on a plain port, or binary, fails at its first byte instead of at a limit. */
START_TEST(request_early_reject)
{
    static const char hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
    ck_assert_int_eq(parse_head(true, hello, 1, 0, NULL), LOOM_HTTP_EMETHOD);
    ck_assert_int_eq(parse_head(true, hello, sizeof hello - 1, 0, NULL), LOOM_HTTP_EMETHOD);
    ck_assert_int_eq(parse_head(true, "GET", 3, 0, NULL), LOOM_HTTP_INCOMPLETE);
    ck_assert_int_eq(parse_head(true, "GET /\x01", 6, 0, NULL), LOOM_HTTP_INCOMPLETE);
    ck_assert_int_eq(parse_head(true, "\r", 1, 0, NULL), LOOM_HTTP_INCOMPLETE);
    ck_assert_int_eq(parse_head(true, "\r\nG{", 4, 0, NULL), LOOM_HTTP_EMETHOD);
}
END_TEST

START_TEST(request_fields)
{
    const char *msg = "\r\nPOST /a/b?c=d HTTP/1.1\r\nHost: example.com\r\n"
                      "X-Pad:  \t spaced out \t \r\nEmpty:\r\n\r\nBODY";
    size_t n = strlen(msg);
    char *buf = guarded(msg, n);
    struct loom_http_header h[4];
    struct loom_http_req_head req = {.headers = h, .header_cap = 4};
    ck_assert_int_eq(loom_http_parse_request(&req, buf, n, 0, NULL), n - 4);
    ck_assert(str_is(req.method, "POST"));
    ck_assert(str_is(req.target, "/a/b?c=d"));
    ck_assert_int_eq(req.minor_version, 1);
    ck_assert_int_eq(req.header_count, 3);
    ck_assert(str_is(h[0].name, "Host"));
    ck_assert(str_is(h[0].value, "example.com"));
    ck_assert(str_is(h[1].value, "spaced out"));
    ck_assert(str_is(h[2].name, "Empty"));
    ck_assert_int_eq(h[2].value.len, 0);
    ck_assert_ptr_eq(req.method.ptr, buf + 2); /* views into the buffer */
}
END_TEST

START_TEST(response_fields)
{
    const char *msg = "HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\n";
    size_t n = strlen(msg);
    char *buf = guarded(msg, n);
    struct loom_http_header h[2];
    struct loom_http_resp_head resp = {.headers = h, .header_cap = 2};
    ck_assert_int_eq(loom_http_parse_response(&resp, buf, n, 0, NULL), n);
    ck_assert_int_eq(resp.minor_version, 0);
    ck_assert_int_eq(resp.status, 404);
    ck_assert(str_is(resp.reason, "Not Found"));
    ck_assert_int_eq(resp.header_count, 1);
    ck_assert(str_is(h[0].name, "Server"));
}
END_TEST

START_TEST(pipelined)
{
    const char *msg = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGE";
    size_t n = strlen(msg), off = 0;
    char *buf = guarded(msg, n);
    struct loom_http_header h[4];
    struct loom_http_req_head req = {.headers = h, .header_cap = 4};
    ssize_t rc = loom_http_parse_request(&req, buf, n, 0, NULL);
    ck_assert_int_eq(rc, 28);
    ck_assert(str_is(req.target, "/1"));
    off += (size_t)rc;
    rc = loom_http_parse_request(&req, buf + off, n - off, 0, NULL);
    ck_assert_int_eq(rc, 28);
    ck_assert(str_is(req.target, "/2"));
    off += (size_t)rc;
    ck_assert_int_eq(loom_http_parse_request(&req, buf + off, n - off, 0, NULL),
                     LOOM_HTTP_INCOMPLETE);
}
END_TEST

/* ---- limits ---- */

static char *repeat(const char *head, char c, size_t count, const char *tail)
{
    size_t hl = strlen(head), tl = strlen(tail);
    char *s = malloc(hl + count + tl + 1);
    memcpy(s, head, hl);
    memset(s + hl, c, count);
    memcpy(s + hl + count, tail, tl + 1);
    return s;
}

START_TEST(limit_request_line)
{
    /* "GET /" + pad + " HTTP/1.1\r\n" is exactly 8192 bytes: accepted. */
    char *ok = repeat("GET /", 'a', 8192 - 16, " HTTP/1.1\r\nHost: a\r\n\r\n");
    check_head("line at limit", true, ok, strlen(ok), OK, NULL);
    free(ok);
    char *big = repeat("GET /", 'a', 8192 - 15, " HTTP/1.1\r\nHost: a\r\n\r\n");
    check_head("line over limit", true, big, strlen(big), LOOM_HTTP_ELINE_TOO_LONG, NULL);
    ck_assert_int_eq(loom_http_error_status(LOOM_HTTP_ELINE_TOO_LONG), 414);
    /* Detected before any LF arrives: a peer cannot make us buffer forever. */
    ck_assert_int_eq(parse_head(true, big, 8193, 0, NULL), LOOM_HTTP_ELINE_TOO_LONG);
    ck_assert_int_eq(parse_head(true, big, 8192, 0, NULL), LOOM_HTTP_INCOMPLETE);
    free(big);
    /* Endless empty lines count against the start line. */
    char *crlf = repeat("", '\n', 9000, "");
    ck_assert_int_eq(parse_head(true, crlf, 9000, 0, NULL), LOOM_HTTP_ELINE_TOO_LONG);
    free(crlf);
}
END_TEST

START_TEST(limit_header_bytes)
{
    /* Header section = "X: " + pad + "\r\n\r\n" after a 16-byte request line. */
    char *ok = repeat("GET / HTTP/1.0\r\nX: ", 'v', 32768 - 7, "\r\n\r\n");
    ck_assert_int_eq(parse_head(true, ok, strlen(ok), 0, NULL), (ssize_t)strlen(ok));
    free(ok);
    char *big = repeat("GET / HTTP/1.0\r\nX: ", 'v', 32768 - 6, "\r\n\r\n");
    size_t n = strlen(big);
    ck_assert_int_eq(parse_head(true, big, n, 0, NULL), LOOM_HTTP_EHEADERS_TOO_LARGE);
    ck_assert_int_eq(parse_head(true, big, n - 1, 0, NULL), LOOM_HTTP_INCOMPLETE);
    /* Refused as soon as the section passes the limit, before it is complete. */
    memset(big + n - 4, 'v', 4);
    ck_assert_int_eq(parse_head(true, big, n - 1, 0, NULL), LOOM_HTTP_INCOMPLETE);
    ck_assert_int_eq(parse_head(true, big, n, 0, NULL), LOOM_HTTP_EHEADERS_TOO_LARGE);
    ck_assert_int_eq(loom_http_error_status(LOOM_HTTP_EHEADERS_TOO_LARGE), 431);
    free(big);
    /* Same for responses, with custom limits. */
    struct loom_http_limits lim = LOOM_HTTP_LIMITS_DEFAULT;
    lim.max_header_bytes = 12;
    check_head("resp 12", false, "HTTP/1.1 200 OK\r\nA: 12345\r\n\r\n", 29, OK, &lim);
    check_head("resp 13", false, "HTTP/1.1 200 OK\r\nA: 123456\r\n\r\n", 30,
               LOOM_HTTP_EHEADERS_TOO_LARGE, &lim);
}
END_TEST

START_TEST(limit_header_count)
{
    char msg[4096];
    size_t n = (size_t)sprintf(msg, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 100; i++)
        n += (size_t)sprintf(msg + n, "H%d: %d\r\n", i, i);
    strcpy(msg + n, "\r\n");
    check_head("100 headers", true, msg, n + 2, OK, NULL);
    n += (size_t)sprintf(msg + n, "H100: x\r\n\r\n") - 2;
    check_head("101 headers", true, msg, n + 2, LOOM_HTTP_ETOO_MANY_HEADERS, NULL);
    ck_assert_int_eq(loom_http_error_status(LOOM_HTTP_ETOO_MANY_HEADERS), 431);
    /* The caller's array capacity bounds it too. */
    struct loom_http_header h[3];
    struct loom_http_req_head req = {.headers = h, .header_cap = 2};
    const char *three = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    char *buf = guarded(three, strlen(three));
    ck_assert_int_eq(loom_http_parse_request(&req, buf, strlen(three), 0, NULL),
                     LOOM_HTTP_ETOO_MANY_HEADERS);
    req.header_cap = 3;
    ck_assert_int_eq(loom_http_parse_request(&req, buf, strlen(three), 0, NULL), strlen(three));
    struct loom_http_limits lim = LOOM_HTTP_LIMITS_DEFAULT;
    lim.max_headers = 1;
    ck_assert_int_eq(loom_http_parse_request(&req, buf, strlen(three), 0, &lim),
                     LOOM_HTTP_ETOO_MANY_HEADERS);
}
END_TEST

/* ---- framing ---- */

struct framing_case {
    const char *name;
    const char *head;
    const char *method; /* responses: the request's method */
    int want;           /* 0 or a LOOM_HTTP_E* code */
    int body;
    uint64_t length;
    int keep_alive, expect, upgrade, websocket; /* -1: do not check */
};

static const struct framing_case req_framing[] = {
    {"no body", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", NULL, 0, LOOM_HTTP_BODY_NONE, 0, 1, 0, 0, 0},
    {"content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n", NULL, 0,
     LOOM_HTTP_BODY_LENGTH, 10, 1, 0, 0, 0},
    {"CL 0", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", NULL, 0,
     LOOM_HTTP_BODY_LENGTH, 0, 1, -1, -1, -1},
    {"CL identical twice",
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-length: 5\r\n\r\n", NULL, 0,
     LOOM_HTTP_BODY_LENGTH, 5, -1, -1, -1, -1},
    {"CL list identical", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", NULL, 0,
     LOOM_HTTP_BODY_LENGTH, 5, -1, -1, -1, -1},
    {"CL conflicting",
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", NULL,
     LOOM_HTTP_ECONFLICTING_LENGTH, 0, 0, -1, -1, -1, -1},
    {"CL list conflicting", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,6\r\n\r\n", NULL,
     LOOM_HTTP_ECONFLICTING_LENGTH, 0, 0, -1, -1, -1, -1},
    {"CL letters", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5a\r\n\r\n", NULL,
     LOOM_HTTP_ECONTENT_LENGTH, 0, 0, -1, -1, -1, -1},
    {"CL sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", NULL,
     LOOM_HTTP_ECONTENT_LENGTH, 0, 0, -1, -1, -1, -1},
    {"CL negative", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", NULL,
     LOOM_HTTP_ECONTENT_LENGTH, 0, 0, -1, -1, -1, -1},
    {"CL empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", NULL,
     LOOM_HTTP_ECONTENT_LENGTH, 0, 0, -1, -1, -1, -1},
    {"CL inner space", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", NULL,
     LOOM_HTTP_ECONTENT_LENGTH, 0, 0, -1, -1, -1, -1},
    {"CL overflow", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n",
     NULL, LOOM_HTTP_ECONTENT_LENGTH, 0, 0, -1, -1, -1, -1},
    {"CL over max_body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 67108865\r\n\r\n", NULL,
     LOOM_HTTP_EBODY_TOO_LARGE, 0, 0, -1, -1, -1, -1},
    {"CL at max_body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 67108864\r\n\r\n", NULL, 0,
     LOOM_HTTP_BODY_LENGTH, 67108864, -1, -1, -1, -1},
    {"chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", NULL, 0,
     LOOM_HTTP_BODY_CHUNKED, 0, 1, 0, 0, 0},
    {"chunked any case", "POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: ChUnKeD\r\n\r\n", NULL,
     0, LOOM_HTTP_BODY_CHUNKED, 0, -1, -1, -1, -1},
    {"TE + CL",
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", NULL,
     LOOM_HTTP_ESMUGGLING, 0, 0, -1, -1, -1, -1},
    {"TE + bad CL",
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\nTransfer-Encoding: chunked\r\n\r\n", NULL,
     LOOM_HTTP_ESMUGGLING, 0, 0, -1, -1, -1, -1},
    {"chunked not last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
     NULL, LOOM_HTTP_ECHUNKED_NOT_LAST, 0, 0, -1, -1, -1, -1},
    {"gzip only", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", NULL,
     LOOM_HTTP_ECHUNKED_NOT_LAST, 0, 0, -1, -1, -1, -1},
    {"chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
     NULL, LOOM_HTTP_ECHUNKED_NOT_LAST, 0, 0, -1, -1, -1, -1},
    {"empty TE", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", NULL,
     LOOM_HTTP_ECHUNKED_NOT_LAST, 0, 0, -1, -1, -1, -1},
    {"gzip, chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
     NULL, LOOM_HTTP_ETRANSFER_ENCODING, 0, 0, -1, -1, -1, -1},
    {"TE over two fields",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
     NULL, LOOM_HTTP_ETRANSFER_ENCODING, 0, 0, -1, -1, -1, -1},
    {"TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", NULL,
     LOOM_HTTP_ETE_HTTP10, 0, 0, -1, -1, -1, -1},
    {"no Host in 1.1", "GET / HTTP/1.1\r\n\r\n", NULL, LOOM_HTTP_EHOST, 0, 0, -1, -1, -1, -1},
    {"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", NULL, LOOM_HTTP_EHOST, 0, 0, -1,
     -1, -1, -1},
    {"two Hosts in 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", NULL, LOOM_HTTP_EHOST, 0,
     0, -1, -1, -1, -1},
    {"empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", NULL, 0, LOOM_HTTP_BODY_NONE, 0, 1, -1, -1,
     -1},
    {"1.0 close by default", "GET / HTTP/1.0\r\n\r\n", NULL, 0, LOOM_HTTP_BODY_NONE, 0, 0, 0, 0, 0},
    {"1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", NULL, 0,
     LOOM_HTTP_BODY_NONE, 0, 1, -1, -1, -1},
    {"1.1 close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n", NULL, 0,
     LOOM_HTTP_BODY_NONE, 0, 0, -1, -1, -1},
    {"close in second field",
     "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo\r\nConnection: CLOSE\r\n\r\n", NULL, 0,
     LOOM_HTTP_BODY_NONE, 0, 0, -1, -1, -1},
    {"closed is not close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", NULL, 0,
     LOOM_HTTP_BODY_NONE, 0, 1, -1, -1, -1},
    {"expect", "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n",
     NULL, 0, LOOM_HTTP_BODY_LENGTH, 1, 1, 1, 0, 0},
    {"expect in 1.0 ignored", "PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", NULL, 0,
     LOOM_HTTP_BODY_NONE, 0, 0, 0, 0, 0},
    {"websocket",
     "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
     NULL, 0, LOOM_HTTP_BODY_NONE, 0, 1, 0, 1, 1},
    {"upgrade without Connection", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", NULL,
     0, LOOM_HTTP_BODY_NONE, 0, 1, 0, 0, 0},
    {"h2c upgrade", "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
     NULL, 0, LOOM_HTTP_BODY_NONE, 0, 1, 0, 1, 0},
};

static const struct framing_case resp_framing[] = {
    {"length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", "GET", 0, LOOM_HTTP_BODY_LENGTH, 3,
     1, -1, 0, 0},
    {"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n", "HEAD", 0, LOOM_HTTP_BODY_NONE, 0, 1,
     -1, -1, -1},
    {"HEAD chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD", 0,
     LOOM_HTTP_BODY_NONE, 0, 1, -1, -1, -1},
    {"204", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", "GET", 0, LOOM_HTTP_BODY_NONE,
     0, 1, -1, -1, -1},
    {"304", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", 0,
     LOOM_HTTP_BODY_NONE, 0, 1, -1, -1, -1},
    {"100", "HTTP/1.1 100 Continue\r\n\r\n", "PUT", 0, LOOM_HTTP_BODY_NONE, 0, 1, -1, -1, -1},
    {"101 websocket",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", "GET",
     0, LOOM_HTTP_BODY_NONE, 0, -1, -1, 1, 1},
    {"CONNECT 200", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "CONNECT", 0,
     LOOM_HTTP_BODY_NONE, 0, 0, -1, -1, -1},
    {"CONNECT 407", "HTTP/1.1 407 Auth\r\nContent-Length: 5\r\n\r\n", "CONNECT", 0,
     LOOM_HTTP_BODY_LENGTH, 5, 1, -1, -1, -1},
    {"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", 0,
     LOOM_HTTP_BODY_CHUNKED, 0, 1, -1, -1, -1},
    {"TE wins over CL, then close",
     "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", 0,
     LOOM_HTTP_BODY_CHUNKED, 0, 0, -1, -1, -1},
    {"gzip only: until close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "GET", 0,
     LOOM_HTTP_BODY_UNTIL_CLOSE, 0, 0, -1, -1, -1},
    {"gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "GET", 0,
     LOOM_HTTP_BODY_CHUNKED, 0, 1, -1, -1, -1},
    {"TE in 1.0: until close", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", 0,
     LOOM_HTTP_BODY_UNTIL_CLOSE, 0, 0, -1, -1, -1},
    {"neither: until close", "HTTP/1.1 200 OK\r\n\r\n", "GET", 0, LOOM_HTTP_BODY_UNTIL_CLOSE, 0, 0,
     -1, -1, -1},
    {"bad CL", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", "GET", LOOM_HTTP_ECONTENT_LENGTH, 0,
     0, -1, -1, -1, -1},
    {"conflicting CL", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "GET",
     LOOM_HTTP_ECONFLICTING_LENGTH, 0, 0, -1, -1, -1, -1},
    {"CL over max_body", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", "GET",
     LOOM_HTTP_EBODY_TOO_LARGE, 0, 0, -1, -1, -1, -1},
    {"1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
     "GET", 0, LOOM_HTTP_BODY_LENGTH, 0, 1, -1, -1, -1},
    {"1.0 default close", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", "GET", 0,
     LOOM_HTTP_BODY_LENGTH, 0, 0, -1, -1, -1},
    {"1.1 close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", "GET", 0,
     LOOM_HTTP_BODY_LENGTH, 0, 0, -1, -1, -1},
};

static void check_framing(const struct framing_case *c, bool request)
{
    struct loom_http_header h[16];
    struct loom_http_framing f;
    size_t n = strlen(c->head);
    char *buf = guarded(c->head, n);
    int rc;
    if (request) {
        struct loom_http_req_head req = {.headers = h, .header_cap = 16};
        ck_assert_int_eq(loom_http_parse_request(&req, buf, n, 0, NULL), n);
        rc = loom_http_request_framing(&req, NULL, &f);
    } else {
        struct loom_http_resp_head resp = {.headers = h, .header_cap = 16};
        ck_assert_int_eq(loom_http_parse_response(&resp, buf, n, 0, NULL), n);
        rc = loom_http_response_framing(&resp, c->method, strlen(c->method), NULL, &f);
    }
    ck_assert_msg(rc == c->want, "%s: rc %d (%s), want %d", c->name, rc,
                  loom_http_parse_strerror(rc), c->want);
    if (rc < 0)
        return;
    ck_assert_msg((int)f.body == c->body, "%s: body %d want %d", c->name, f.body, c->body);
    if (c->body == LOOM_HTTP_BODY_LENGTH)
        ck_assert_msg(f.content_length == c->length, "%s: length", c->name);
    ck_assert_msg(c->keep_alive < 0 || f.keep_alive == c->keep_alive, "%s: keep_alive", c->name);
    ck_assert_msg(c->expect < 0 || f.expect_continue == c->expect, "%s: expect", c->name);
    ck_assert_msg(c->upgrade < 0 || f.upgrade == c->upgrade, "%s: upgrade", c->name);
    ck_assert_msg(c->websocket < 0 || f.upgrade_websocket == c->websocket, "%s: websocket",
                  c->name);
}

START_TEST(request_framing)
{
    for (size_t i = 0; i < N_ELEMS(req_framing); i++)
        check_framing(&req_framing[i], true);
}
END_TEST

START_TEST(response_framing)
{
    for (size_t i = 0; i < N_ELEMS(resp_framing); i++)
        check_framing(&resp_framing[i], false);
}
END_TEST

START_TEST(te_other_flag)
{
    struct loom_http_header h[4];
    struct loom_http_framing f;
    const char *m = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
    struct loom_http_resp_head resp = {.headers = h, .header_cap = 4};
    ck_assert_int_gt(loom_http_parse_response(&resp, m, strlen(m), 0, NULL), 0);
    ck_assert_int_eq(loom_http_response_framing(&resp, "GET", 3, NULL, &f), 0);
    ck_assert(f.te_other);
    m = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    ck_assert_int_gt(loom_http_parse_response(&resp, m, strlen(m), 0, NULL), 0);
    ck_assert_int_eq(loom_http_response_framing(&resp, "GET", 3, NULL, &f), 0);
    ck_assert(!f.te_other);
}
END_TEST

START_TEST(header_helpers)
{
    const char *m =
        "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\nConnection: a ,\tB,, c \r\n\r\n";
    struct loom_http_header h[8];
    struct loom_http_req_head req = {.headers = h, .header_cap = 8};
    ck_assert_int_gt(loom_http_parse_request(&req, m, strlen(m), 0, NULL), 0);
    const struct loom_http_header *f = loom_http_header_find(h, req.header_count, "X-a", 0);
    ck_assert(f && str_is(f->value, "1"));
    f = loom_http_header_find(h, req.header_count, "X-A", 1);
    ck_assert(f && str_is(f->value, "2"));
    ck_assert_ptr_null(loom_http_header_find(h, req.header_count, "x-a", 2));
    ck_assert_ptr_null(loom_http_header_find(h, req.header_count, "x", 0));
    ck_assert(loom_http_headers_have_token(h, req.header_count, "connection", "b"));
    ck_assert(loom_http_headers_have_token(h, req.header_count, "connection", "C"));
    ck_assert(!loom_http_headers_have_token(h, req.header_count, "connection", "d"));
    ck_assert(!loom_http_headers_have_token(h, req.header_count, "connection", ""));
    ck_assert(loom_http_list_has_token("x", 1, "X"));
    ck_assert(!loom_http_list_has_token("xy", 2, "x"));
    ck_assert(!loom_http_list_has_token("", 0, "x"));
}
END_TEST

/* ---- chunked ---- */

struct chunk_result {
    int rc; /* 0 done, LOOM_HTTP_INCOMPLETE, or an error */
    char data[512];
    size_t data_len;
    size_t consumed; /* bytes consumed over all calls */
    size_t trailers;
    char trailer_names[128];
};

/* Decode msg fed in pieces of `step` bytes (0: first piece `split` bytes, then
 * the rest), the way a stream reader would: unconsumed bytes stay buffered and
 * are presented again with the next piece. Each call's input is guarded. */
static void chunk_feed(const char *msg, size_t n, size_t split, size_t step, bool in_place,
                       const struct loom_http_limits *lim, struct chunk_result *res)
{
    struct loom_http_chunked c;
    struct loom_http_header tr[8];
    char pending[1024];
    size_t plen = 0, fed = 0, pieces = 0;
    memset(res, 0, sizeof *res);
    loom_http_chunked_init(&c, lim);
    c.trailers = tr;
    c.trailer_cap = 8;
    while (!loom_http_chunked_done(&c)) {
        if (fed == n) {
            res->rc = LOOM_HTTP_INCOMPLETE;
            return;
        }
        size_t take = step ? step : (pieces++ == 0 ? split : n - fed);
        if (take > n - fed)
            take = n - fed;
        memcpy(pending + plen, msg + fed, take);
        plen += take;
        fed += take;
        for (;;) {
            char *buf = guarded(pending, plen);
            ssize_t used;
            if (in_place) {
                size_t out;
                used = loom_http_chunked_decode(&c, buf, plen, &out);
                if (used >= 0) {
                    memcpy(res->data + res->data_len, buf, out);
                    res->data_len += out;
                }
            } else {
                struct loom_http_str d;
                used = loom_http_chunked_next(&c, buf, plen, &d);
                if (used >= 0) {
                    ck_assert(d.len == 0 || (d.ptr >= buf && d.ptr + d.len <= buf + used));
                    memcpy(res->data + res->data_len, d.ptr, d.len);
                    res->data_len += d.len;
                }
            }
            if (used < 0) {
                res->rc = (int)used;
                return;
            }
            if (used > 0 && c.trailer_count) /* trailers are views: copy names now */
                for (size_t i = 0; i < c.trailer_count; i++)
                    snprintf(res->trailer_names + strlen(res->trailer_names),
                             sizeof res->trailer_names - strlen(res->trailer_names), "%.*s;",
                             (int)tr[i].name.len, tr[i].name.ptr);
            memmove(pending, pending + used, plen - (size_t)used);
            plen -= (size_t)used;
            res->consumed += (size_t)used;
            if (used == 0 || plen == 0 || loom_http_chunked_done(&c))
                break;
        }
    }
    res->trailers = c.trailer_count;
    ck_assert_uint_eq(c.body_bytes, res->data_len);
}

struct chunk_case {
    const char *name;
    const char *in;
    int want;         /* 0 or a LOOM_HTTP_E* code */
    const char *data; /* decoded body when want == 0 */
    size_t tail;      /* bytes after the body, never consumed */
    size_t trailers;
};

static const struct chunk_case chunk_cases[] = {
    {"one chunk", "5\r\nhello\r\n0\r\n\r\n", 0, "hello", 0, 0},
    {"two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 0, "hello world", 0, 0},
    {"empty body", "0\r\n\r\n", 0, "", 0, 0},
    {"hex upper lower", "A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", 0,
     "0123456789abcdefghij", 0, 0},
    {"leading zeros", "0003\r\nabc\r\n000\r\n\r\n", 0, "abc", 0, 0},
    {"extensions", "3;a=b;c=\"d e\"\r\nabc\r\n2 ; x\r\nde\r\n0;last\r\n\r\n", 0, "abcde", 0, 0},
    {"trailers", "3\r\nabc\r\n0\r\nX-T: 1\r\nY: two\r\n\r\n", 0, "abc", 0, 2},
    {"trailers LF", "3\r\nabc\r\n0\r\nX-T: 1\n\n", 0, "abc", 0, 1},
    {"tail not consumed", "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n", 0, "abc", 16, 0},
    {"tail after trailers", "1\r\nx\r\n0\r\nA: b\r\n\r\nNEXT", 0, "x", 4, 1},
    {"data with CRLF inside", "4\r\n\r\n\r\n\r\n0\r\n\r\n", 0, "\r\n\r\n", 0, 0},
    {"no digits", "\r\nabc", LOOM_HTTP_ECHUNK_SIZE, NULL, 0, 0},
    {"bad digit", "x\r\n", LOOM_HTTP_ECHUNK_SIZE, NULL, 0, 0},
    {"ext without digits", ";a\r\n", LOOM_HTTP_ECHUNK_SIZE, NULL, 0, 0},
    {"minus", "-1\r\n", LOOM_HTTP_ECHUNK_SIZE, NULL, 0, 0},
    {"0x prefix", "0x5\r\nhello\r\n", LOOM_HTTP_ECHUNK_SIZE, NULL, 0, 0},
    {"bare LF after size", "5\nhello\r\n0\r\n\r\n", LOOM_HTTP_ECHUNK_SIZE, NULL, 0, 0},
    {"CR then junk", "5\rhello", LOOM_HTTP_ECHUNK, NULL, 0, 0},
    {"bare LF in ext", "5;a\nhello\r\n", LOOM_HTTP_ECHUNK, NULL, 0, 0},
    {"control in ext", "5;a\x01\r\nhello\r\n", LOOM_HTTP_ECHUNK, NULL, 0, 0},
    {"data too long", "5\r\nhelloX\r\n0\r\n\r\n", LOOM_HTTP_ECHUNK, NULL, 0, 0},
    {"bare LF after data", "5\r\nhello\n0\r\n\r\n", LOOM_HTTP_ECHUNK, NULL, 0, 0},
    {"CR junk after data", "5\r\nhello\rX", LOOM_HTTP_ECHUNK, NULL, 0, 0},
    {"over max_body", "4000001\r\n", LOOM_HTTP_EBODY_TOO_LARGE, NULL, 0, 0},
    {"huge size", "ffffffffffffffffff\r\n", LOOM_HTTP_EBODY_TOO_LARGE, NULL, 0, 0},
    {"trailer obs-fold", "0\r\nA: b\r\n c\r\n\r\n", LOOM_HTTP_EOBS_FOLD, NULL, 0, 0},
    {"trailer bad name", "0\r\nA b: c\r\n\r\n", LOOM_HTTP_EWS_BEFORE_COLON, NULL, 0, 0},
    {"trailer bare CR", "0\r\nA: b\rc\r\n\r\n", LOOM_HTTP_EBARE_CR, NULL, 0, 0},
    {"trailer NUL", "0\r\nA: \0\r\n\r\n", LOOM_HTTP_ENUL, NULL, 0, 0},
};

/* Table inputs may hold NULs: the length runs to the last non-NUL byte... which
 * only the NUL case needs, so it is listed with its length. */
static size_t chunk_len(const struct chunk_case *c)
{
    if (strcmp(c->name, "trailer NUL") == 0)
        return 11;
    return strlen(c->in);
}

static void check_chunk_result(const struct chunk_case *c, const struct chunk_result *r, size_t n,
                               const char *how)
{
    ck_assert_msg(r->rc == c->want, "%s (%s): rc %d (%s) want %d", c->name, how, r->rc,
                  loom_http_parse_strerror(r->rc), c->want);
    if (c->want < 0)
        return;
    ck_assert_msg(r->data_len == strlen(c->data) && memcmp(r->data, c->data, r->data_len) == 0,
                  "%s (%s): data \"%.*s\"", c->name, how, (int)r->data_len, r->data);
    ck_assert_msg(r->consumed == n - c->tail, "%s (%s): consumed %zu", c->name, how, r->consumed);
    ck_assert_msg(r->trailers == c->trailers, "%s (%s): trailers %zu", c->name, how, r->trailers);
}

START_TEST(chunked_table)
{
    for (size_t i = 0; i < N_ELEMS(chunk_cases); i++) {
        const struct chunk_case *c = &chunk_cases[i];
        size_t n = chunk_len(c);
        struct chunk_result r;
        chunk_feed(c->in, n, n, 0, false, NULL, &r);
        check_chunk_result(c, &r, n, "whole");
        chunk_feed(c->in, n, n, 0, true, NULL, &r);
        check_chunk_result(c, &r, n, "in place");
    }
}
END_TEST

/* Every split point, and one byte at a time, in both APIs: same result. */
START_TEST(chunked_splits)
{
    for (size_t i = 0; i < N_ELEMS(chunk_cases); i++) {
        const struct chunk_case *c = &chunk_cases[i];
        size_t n = chunk_len(c);
        struct chunk_result r;
        char how[64];
        for (int in_place = 0; in_place < 2; in_place++) {
            for (size_t k = 0; k <= n; k++) {
                chunk_feed(c->in, n, k, 0, in_place, NULL, &r);
                snprintf(how, sizeof how, "split at %zu%s", k, in_place ? ", in place" : "");
                check_chunk_result(c, &r, n, how);
            }
            chunk_feed(c->in, n, 0, 1, in_place, NULL, &r);
            check_chunk_result(c, &r, n, in_place ? "bytewise, in place" : "bytewise");
        }
    }
}
END_TEST

START_TEST(chunked_trailer_views)
{
    const char *m = "2\r\nab\r\n0\r\nExpires: never\r\nX-Sum:  42 \r\n\r\n";
    size_t n = strlen(m);
    char *buf = guarded(m, n);
    struct loom_http_chunked c;
    struct loom_http_header tr[2];
    struct loom_http_str d;
    loom_http_chunked_init(&c, NULL);
    c.trailers = tr;
    c.trailer_cap = 2;
    ck_assert_int_eq(loom_http_chunked_next(&c, buf, n, &d), 5);
    ck_assert(str_is(d, "ab"));
    ck_assert_int_eq(loom_http_chunked_next(&c, buf + 5, n - 5, &d), n - 5);
    ck_assert_int_eq(d.len, 0);
    ck_assert(loom_http_chunked_done(&c));
    ck_assert_int_eq(c.trailer_count, 2);
    ck_assert(str_is(tr[0].name, "Expires"));
    ck_assert(str_is(tr[1].value, "42"));
    /* Done: nothing more is consumed. */
    ck_assert_int_eq(loom_http_chunked_next(&c, "x", 1, &d), 0);
    /* Too many trailers for the array, or dropped without one. */
    loom_http_chunked_init(&c, NULL);
    c.trailers = tr;
    c.trailer_cap = 1;
    ck_assert_int_eq(loom_http_chunked_decode(&c, (char[64]){0}, 0, &(size_t){0}), 0);
    char copy[64];
    memcpy(copy, m, n);
    size_t out;
    ck_assert_int_eq(loom_http_chunked_decode(&c, copy, n, &out), LOOM_HTTP_ETOO_MANY_HEADERS);
    loom_http_chunked_init(&c, NULL);
    memcpy(copy, m, n);
    ck_assert_int_eq(loom_http_chunked_decode(&c, copy, n, &out), n);
    ck_assert_int_eq(out, 2);
    ck_assert_int_eq(c.trailer_count, 2);
}
END_TEST

START_TEST(chunked_limits)
{
    struct loom_http_limits lim = LOOM_HTTP_LIMITS_DEFAULT;
    struct chunk_result r;
    /* Size overflow with no body limit: 17 significant hex digits. */
    lim.max_body = UINT64_MAX;
    chunk_feed("10000000000000000\r\n", 19, 19, 0, false, &lim, &r);
    ck_assert_int_eq(r.rc, LOOM_HTTP_ECHUNK_SIZE);
    chunk_feed("ffffffffffffffff\r\n", 18, 18, 0, false, &lim, &r);
    ck_assert_int_eq(r.rc, LOOM_HTTP_INCOMPLETE); /* the largest size is fine */
    /* Total over several chunks. */
    lim.max_body = 5;
    chunk_feed("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 20, 20, 0, false, &lim, &r);
    ck_assert_int_eq(r.rc, 0);
    chunk_feed("3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n", 21, 21, 0, false, &lim, &r);
    ck_assert_int_eq(r.rc, LOOM_HTTP_EBODY_TOO_LARGE);
    ck_assert_int_eq(loom_http_error_status(LOOM_HTTP_EBODY_TOO_LARGE), 413);
    /* Chunk-size line (with extensions) limit, even without its end. */
    lim = (struct loom_http_limits)LOOM_HTTP_LIMITS_DEFAULT;
    lim.max_chunk_line = 16;
    chunk_feed("1;aaaaaaaaaaa\r\nx\r\n0\r\n\r\n", 23, 23, 0, false, &lim, &r);
    ck_assert_int_eq(r.rc, 0); /* 15 bytes */
    chunk_feed("1;aaaaaaaaaaaa\r\nx\r\n0\r\n\r\n", 24, 24, 0, false, &lim, &r);
    ck_assert_int_eq(r.rc, 0); /* 16 bytes: at the limit */
    chunk_feed("1;aaaaaaaaaaaaa\r\nx\r\n0\r\n\r\n", 25, 25, 0, false, &lim, &r);
    ck_assert_int_eq(r.rc, LOOM_HTTP_ECHUNK_LINE_TOO_LONG);
    chunk_feed("00000000000000000000", 20, 20, 0, false, &lim, &r);
    ck_assert_int_eq(r.rc, LOOM_HTTP_ECHUNK_LINE_TOO_LONG);
}
END_TEST

START_TEST(chunked_trailer_limit)
{
    struct loom_http_limits lim = LOOM_HTTP_LIMITS_DEFAULT;
    struct chunk_result r;
    lim.max_trailer_bytes = 11;
    chunk_feed("0\r\nA: 1234\r\n\r\n", 14, 14, 0, false, &lim, &r);
    ck_assert_int_eq(r.rc, 0);
    lim.max_trailer_bytes = 10;
    chunk_feed("0\r\nA: 1234\r\n\r\n", 14, 14, 0, false, &lim, &r);
    ck_assert_int_eq(r.rc, LOOM_HTTP_ETRAILERS_TOO_LARGE);
    chunk_feed("0\r\nA: 1234\r\n\r\n", 14, 0, 1, false, &lim, &r);
    ck_assert_int_eq(r.rc, LOOM_HTTP_ETRAILERS_TOO_LARGE);
    /* Never-ending trailer line: refused once past the limit. */
    chunk_feed("0\r\nAAAAAAAAAAAAAAAAAAAA", 23, 0, 1, false, &lim, &r);
    ck_assert_int_eq(r.rc, LOOM_HTTP_ETRAILERS_TOO_LARGE);
    ck_assert_int_eq(loom_http_error_status(LOOM_HTTP_ETRAILERS_TOO_LARGE), 431);
}
END_TEST

/* ---- formatting ---- */

START_TEST(format_heads)
{
    char buf[256];
    struct loom_http_header h[] = {
        {{"Host", 4}, {"example.com", 11}},
        {{"Content-Length", 14}, {"0", 1}},
    };
    ssize_t n = loom_http_format_request(buf, sizeof buf, "GET", "/x?y", h, 2);
    const char *want = "GET /x?y HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n";
    ck_assert_int_eq(n, strlen(want));
    ck_assert_str_eq(buf, want);
    /* It parses back. */
    struct loom_http_header ph[4];
    struct loom_http_req_head req = {.headers = ph, .header_cap = 4};
    ck_assert_int_eq(loom_http_parse_request(&req, buf, (size_t)n, 0, NULL), n);

    n = loom_http_format_response(buf, sizeof buf, 404, NULL, h + 1, 1);
    ck_assert_str_eq(buf, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    n = loom_http_format_response(buf, sizeof buf, 299, NULL, NULL, 0);
    ck_assert_str_eq(buf, "HTTP/1.1 299 \r\n\r\n");
    n = loom_http_format_response(buf, sizeof buf, 200, "Fine", NULL, 0);
    ck_assert_str_eq(buf, "HTTP/1.1 200 Fine\r\n\r\n");
    ck_assert_int_eq(n, 21);

    /* Bounds: the exact size plus the NUL fits, one less does not. */
    ck_assert_int_eq(loom_http_format_response(buf, 22, 200, "Fine", NULL, 0), 21);
    ck_assert_int_eq(loom_http_format_response(buf, 21, 200, "Fine", NULL, 0), -ENOSPC);
    ck_assert_int_eq(loom_http_format_response(buf, 0, 200, "Fine", NULL, 0), -ENOSPC);

    /* Injection attempts are refused. */
    struct loom_http_header bad_v[] = {{{"X", 1}, {"a\r\nEvil: 1", 10}}};
    struct loom_http_header bad_n[] = {{{"X Y", 3}, {"a", 1}}};
    struct loom_http_header nul_v[] = {{{"X", 1}, {"a\0b", 3}}};
    ck_assert_int_eq(loom_http_format_request(buf, sizeof buf, "GET", "/", bad_v, 1), -EINVAL);
    ck_assert_int_eq(loom_http_format_request(buf, sizeof buf, "GET", "/", bad_n, 1), -EINVAL);
    ck_assert_int_eq(loom_http_format_request(buf, sizeof buf, "GET", "/", nul_v, 1), -EINVAL);
    ck_assert_int_eq(loom_http_format_request(buf, sizeof buf, "G T", "/", NULL, 0), -EINVAL);
    ck_assert_int_eq(loom_http_format_request(buf, sizeof buf, "GET", "/ x", NULL, 0), -EINVAL);
    ck_assert_int_eq(loom_http_format_request(buf, sizeof buf, "GET", "", NULL, 0), -EINVAL);
    ck_assert_int_eq(loom_http_format_response(buf, sizeof buf, 200, "O\r\nK", NULL, 0), -EINVAL);
    ck_assert_int_eq(loom_http_format_response(buf, sizeof buf, 99, NULL, NULL, 0), -EINVAL);
}
END_TEST

START_TEST(error_statuses)
{
    static const struct {
        int err, status;
    } map[] = {
        {LOOM_HTTP_EMALFORMED, 400},
        {LOOM_HTTP_ENUL, 400},
        {LOOM_HTTP_EBARE_CR, 400},
        {LOOM_HTTP_EOBS_FOLD, 400},
        {LOOM_HTTP_EWS_BEFORE_COLON, 400},
        {LOOM_HTTP_EHEADER_NAME, 400},
        {LOOM_HTTP_EHOST, 400},
        {LOOM_HTTP_ESMUGGLING, 400},
        {LOOM_HTTP_ELINE_TOO_LONG, 414},
        {LOOM_HTTP_EHEADERS_TOO_LARGE, 431},
        {LOOM_HTTP_ETOO_MANY_HEADERS, 431},
        {LOOM_HTTP_ETRANSFER_ENCODING, 501},
        {LOOM_HTTP_EVERSION_UNSUPPORTED, 505},
        {LOOM_HTTP_EBODY_TOO_LARGE, 413},
        {-EINVAL, 400},
    };
    for (size_t i = 0; i < N_ELEMS(map); i++)
        ck_assert_int_eq(loom_http_error_status(map[i].err), map[i].status);
    for (int e = LOOM_HTTP_ETE_HTTP10; e <= LOOM_HTTP_EMALFORMED; e++)
        ck_assert_str_ne(loom_http_parse_strerror(e), "unknown HTTP parse error");
    ck_assert_str_eq(loom_http_reason(431), "Request Header Fields Too Large");
    ck_assert_str_eq(loom_http_reason(299), "");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_parse");
    const struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"request_table", request_table},
        {"response_table", response_table},
        {"request_early_reject", request_early_reject},
        {"request_fields", request_fields},
        {"response_fields", response_fields},
        {"pipelined", pipelined},
        {"limit_request_line", limit_request_line},
        {"limit_header_bytes", limit_header_bytes},
        {"limit_header_count", limit_header_count},
        {"request_framing", request_framing},
        {"response_framing", response_framing},
        {"te_other_flag", te_other_flag},
        {"header_helpers", header_helpers},
        {"chunked_table", chunked_table},
        {"chunked_splits", chunked_splits},
        {"chunked_trailer_views", chunked_trailer_views},
        {"chunked_limits", chunked_limits},
        {"chunked_trailer_limit", chunked_trailer_limit},
        {"format_heads", format_heads},
        {"error_statuses", error_statuses},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        TCase *tc = test_tcase(s, cases[i].name, 60);
        tcase_add_test(tc, cases[i].fn);
    }
    return test_main(s);
}
