/* fuzz_http_request.c - libFuzzer target: request heads, framing, and a chunked
 * body behind them. Checks that feeding the head in two pieces (with the
 * last_len hint) gives the same verdict as feeding it whole. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_parse.h"

static ssize_t parse(struct loom_http_req_head *req, const char *buf, size_t len, size_t last)
{
    static struct loom_http_header h[100];
    req->headers = h;
    req->header_cap = 100;
    return loom_http_parse_request(req, buf, len, last, NULL);
}

/* A result for a prefix must be INCOMPLETE or final (limit errors come early). */
static void check_split(const char *buf, size_t len, size_t k, ssize_t whole)
{
    struct loom_http_req_head req;
    ssize_t part = parse(&req, buf, k, 0);
    if (part != LOOM_HTTP_INCOMPLETE) {
        if (part != whole)
            abort();
        return;
    }
    if (parse(&req, buf, len, k) != whole)
        abort();
}

static void body(const char *buf, size_t len)
{
    struct loom_http_chunked c;
    struct loom_http_header tr[8];
    struct loom_http_str d;
    loom_http_chunked_init(&c, NULL);
    c.trailers = tr;
    c.trailer_cap = 8;
    while (len > 0 && !loom_http_chunked_done(&c)) {
        ssize_t n = loom_http_chunked_next(&c, buf, len, &d);
        if (n <= 0)
            return;
        if (d.len && (d.ptr < buf || d.ptr + d.len > buf + n))
            abort();
        buf += n;
        len -= (size_t)n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct loom_http_req_head req;
    struct loom_http_framing f;
    ssize_t whole = parse(&req, buf, size, 0);

    if (size > 1) {
        check_split(buf, size, size / 2, whole);
        check_split(buf, size, size - 1, whole);
    }
    /* Small inputs: every prefix in turn, with the hint, as a drip-feeding peer. */
    for (size_t k = 0, last = 0; size <= 256 && k <= size; k++) {
        struct loom_http_req_head r;
        ssize_t rc = parse(&r, buf, k, last);
        if (rc == LOOM_HTTP_INCOMPLETE && k < size) {
            last = k;
            continue;
        }
        if (rc != whole)
            abort();
        break;
    }
    whole = parse(&req, buf, size, 0);
    if (whole < 0 && loom_http_error_status((int)whole) < 400)
        abort();
    if (whole <= 0)
        return 0;
    if ((size_t)whole > size || req.header_count > 100)
        abort();
    if (loom_http_request_framing(&req, NULL, &f) == 0 && f.body == LOOM_HTTP_BODY_CHUNKED)
        body(buf + whole, size - (size_t)whole);
    loom_http_header_find(req.headers, req.header_count, "host", 1);
    return 0;
}
