/* fuzz_http_chunked.c - libFuzzer target: the chunked decoder, fed whole through
 * loom_http_chunked_next() and one byte at a time through the in-place decoder
 * (unconsumed bytes kept and presented again, as a stream reader does). Both
 * must agree on the verdict, the bytes consumed and the decoded body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_parse.h"

/* Small limits so the fuzzer reaches them. */
static const struct loom_http_limits lim = {
    .max_start_line = 8192,
    .max_header_bytes = 32768,
    .max_headers = 8,
    .max_chunk_line = 64,
    .max_trailer_bytes = 256,
    .max_body = 1 << 20,
};

struct result {
    ssize_t rc; /* 0 done, 1 incomplete, or an error */
    size_t consumed, body_len;
    char *body;
};

static void whole(const char *buf, size_t len, struct result *r)
{
    struct loom_http_chunked c;
    struct loom_http_header tr[8];
    loom_http_chunked_init(&c, &lim);
    c.trailers = tr;
    c.trailer_cap = 8;
    r->rc = 1;
    while (!loom_http_chunked_done(&c)) {
        struct loom_http_str d;
        ssize_t n = loom_http_chunked_next(&c, buf + r->consumed, len - r->consumed, &d);
        if (n < 0) {
            r->rc = n;
            return;
        }
        if (n == 0)
            return;
        memcpy(r->body + r->body_len, d.ptr, d.len);
        r->body_len += d.len;
        r->consumed += (size_t)n;
    }
    r->rc = 0;
}

static void bytewise(const char *buf, size_t len, struct result *r)
{
    struct loom_http_chunked c;
    char *pending = malloc(len + 1);
    size_t plen = 0;
    loom_http_chunked_init(&c, &lim);
    r->rc = 1;
    for (size_t fed = 0; fed < len && !loom_http_chunked_done(&c); fed++) {
        pending[plen++] = buf[fed];
        size_t out;
        ssize_t n = loom_http_chunked_decode(&c, pending, plen, &out);
        if (n < 0) {
            r->rc = n;
            break;
        }
        memcpy(r->body + r->body_len, pending, out);
        r->body_len += out;
        memmove(pending, pending + n, plen - (size_t)n);
        plen -= (size_t)n;
        r->consumed += (size_t)n;
    }
    if (loom_http_chunked_done(&c))
        r->rc = 0;
    free(pending);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct result a = {0}, b = {0};
    a.body = malloc(size + 1);
    b.body = malloc(size + 1);
    whole((const char *)data, size, &a);
    bytewise((const char *)data, size, &b);
    if (a.rc != b.rc)
        abort();
    if (a.rc >= 0 && (a.consumed != b.consumed || a.body_len != b.body_len ||
                      memcmp(a.body, b.body, a.body_len) != 0))
        abort();
    free(a.body);
    free(b.body);
    return 0;
}
