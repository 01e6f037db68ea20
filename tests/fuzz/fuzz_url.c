/* fuzz_url.c - libFuzzer target: parse, serialise and re-parse (the output must
 * parse to itself), the client helpers, and resolution of a reference (after
 * the first newline) against the URL before it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/url.h"

static char out1[4 * LOOM_URL_MAX], out2[4 * LOOM_URL_MAX];

/* format(u) must re-parse to a URL that formats the same. */
static void roundtrip(const struct loom_url *u)
{
    struct loom_url v;
    ssize_t n = loom_url_format(u, out1, sizeof out1);
    if (n < 0)
        abort();
    if (n > LOOM_URL_MAX)
        return;
    if (loom_url_parse(&v, out1, (size_t)n) != 0)
        abort();
    ssize_t m = loom_url_format(&v, out2, sizeof out2);
    if (m != n || memcmp(out1, out2, (size_t)n) != 0)
        abort();
    if (v.port != u->port || (v.host == NULL) != (u->host == NULL))
        abort();
    loom_url_close(&v);
    loom_url_target(u, out2, sizeof out2);
    if (u->host) {
        loom_url_origin(u, out2, sizeof out2);
        loom_url_host_header(u, out2, sizeof out2);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nl = memchr(s, '\n', size);
    size_t blen = nl ? (size_t)(nl - s) : size;
    struct loom_url base, r;

    if (loom_url_parse(&base, s, blen) != 0)
        return 0;
    roundtrip(&base);
    if (nl) {
        if (loom_url_resolve(&r, &base, nl + 1, size - blen - 1) == 0) {
            roundtrip(&r);
            loom_url_close(&r);
        }
    }
    loom_url_close(&base);
    return 0;
}
