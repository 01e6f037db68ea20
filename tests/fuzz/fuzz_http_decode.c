/* fuzz_http_decode.c - libFuzzer target: the HTTP client's content decoder
 * (gzip / deflate, zlib-wrapped or raw). The first input byte picks the
 * coding; the rest is the body, fed whole with a roomy output buffer and one
 * byte at a time with 3-byte output windows. Both must agree on the verdict
 * and the decoded bytes, and never pass the 64 KiB cap. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_internal.h"

enum { CAP = 64 * 1024 };

struct result {
    int rc;
    size_t len;
    char out[CAP + 16];
};

/* Decode in[0..n) in pieces of `step` bytes (0: all at once) with output
 * windows of `win` bytes. */
static void run(int coding, const uint8_t *in, size_t n, size_t step, size_t win, struct result *r)
{
    struct loom__http_decoder d;
    loom__http_decoder_init(&d, coding, CAP);
    size_t pos = 0;
    r->rc = 0;
    r->len = 0;
    while (r->rc == 0) {
        size_t end = step && pos + step < n ? pos + step : n;
        size_t used, got;
        r->rc = loom__http_decoder_run(&d, in + pos, end - pos, &used, r->out + r->len,
                                       win < CAP + 16 - r->len ? win : CAP + 16 - r->len, &got);
        if (r->len + got > CAP + 16 || used > end - pos)
            abort();
        pos += used;
        r->len += got;
        if (r->rc == 0 && used == 0 && got == 0 && pos == n)
            break; /* all in, nothing more out */
        if (r->rc == 0 && used == 0 && got == 0 && pos < end)
            abort(); /* stuck with input left and room for output */
    }
    if (r->rc == 0)
        r->rc = loom__http_decoder_finish(&d);
    loom__http_decoder_close(&d);
    if (r->len > CAP && r->rc != LOOM_ELIMIT)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int coding = data[0] & 1 ? LOOM__HTTP_GZIP : LOOM__HTTP_DEFLATE;
    static struct result a, b;
    run(coding, data + 1, size - 1, 0, CAP + 16, &a);
    run(coding, data + 1, size - 1, 1, 3, &b);
    /* a cap error may come at different points; anything else must match */
    if ((a.rc == LOOM_ELIMIT) != (b.rc == LOOM_ELIMIT))
        abort();
    if (a.rc != LOOM_ELIMIT && (a.rc != b.rc || a.len != b.len || memcmp(a.out, b.out, a.len)))
        abort();
    return 0;
}
