/* fuzz_http_response.c - libFuzzer target: response heads and their framing for
 * a request method chosen by the first byte; a chunked body is decoded in place. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_parse.h"

static const char *const methods[] = {"GET", "HEAD", "CONNECT", "POST"};

static ssize_t parse(struct loom_http_resp_head *resp, const char *buf, size_t len, size_t last)
{
    static struct loom_http_header h[100];
    resp->headers = h;
    resp->header_cap = 100;
    return loom_http_parse_response(resp, buf, len, last, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *method = methods[data[0] & 3];
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    struct loom_http_resp_head resp;
    struct loom_http_framing f;

    ssize_t whole = parse(&resp, buf, len, 0);
    if (len > 1) {
        ssize_t part = parse(&resp, buf, len / 2, 0);
        if (part != LOOM_HTTP_INCOMPLETE && part != whole)
            abort();
        if (part == LOOM_HTTP_INCOMPLETE && parse(&resp, buf, len, len / 2) != whole)
            abort();
        whole = parse(&resp, buf, len, 0);
    }
    if (whole <= 0)
        return 0;
    if (resp.status < 100 || resp.status > 999)
        abort();
    if (loom_http_response_framing(&resp, method, strlen(method), NULL, &f) < 0)
        return 0;
    if (f.body == LOOM_HTTP_BODY_CHUNKED) {
        size_t rest = len - (size_t)whole, out;
        char *copy = malloc(rest ? rest : 1);
        memcpy(copy, buf + whole, rest);
        struct loom_http_chunked c;
        loom_http_chunked_init(&c, NULL);
        ssize_t n = loom_http_chunked_decode(&c, copy, rest, &out);
        if (n >= 0 && (out > (size_t)n || (size_t)n > rest || out != c.body_bytes))
            abort();
        free(copy);
    }
    return 0;
}
