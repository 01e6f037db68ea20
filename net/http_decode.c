/* http_decode.c - Content-Encoding gzip/deflate decoding for the HTTP client,
 * streaming over zlib, with a cap on the decoded size (gzip inflates up to
 * ~1000x, so a small body can be a bomb).
 *
 * "deflate" is the zlib format (RFC 1950) per RFC 9110 §8.4.1.2, but some
 * servers send raw deflate (RFC 1951). The first two bytes tell them apart: a
 * zlib header has compression method 8, a window of at most 32 KiB and a
 * header checksum (CMF*256 + FLG divisible by 31). They are held until both
 * arrived, so input split at any byte boundary decodes the same.
 *
 * After a complete gzip member, bytes that cannot start another (the first
 * is not 0x1f: zero padding, a newline some servers append) are ignored, as
 * gzip(1) and browsers do; a second member that starts and then breaks is
 * an error. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net/http_internal.h"
#include "reactor/error.h"

int loom__http_coding_parse(const char *v, size_t len)
{
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    while (len > 0 && (*v == ' ' || *v == '\t'))
        v++, len--;
    if (len == 0 || (len == 8 && !strncasecmp(v, "identity", 8)))
        return LOOM__HTTP_IDENTITY;
    if ((len == 4 && !strncasecmp(v, "gzip", 4)) || (len == 6 && !strncasecmp(v, "x-gzip", 6)))
        return LOOM__HTTP_GZIP;
    if (len == 7 && !strncasecmp(v, "deflate", 7))
        return LOOM__HTTP_DEFLATE;
    return -1;
}

int loom__http_decoder_init(struct loom__http_decoder *d, enum loom__http_coding coding,
                            uint64_t max)
{
    memset(d, 0, sizeof *d);
    d->coding = coding;
    d->max = max;
    return 0;
}

static bool zlib_header(const unsigned char *h)
{
    return (h[0] & 0x0f) == 8 && (h[0] >> 4) <= 7 && ((h[0] << 8) | h[1]) % 31 == 0;
}

/* inflateInit2 once the window bits are known. */
static int start(struct loom__http_decoder *d)
{
    int bits = d->coding == LOOM__HTTP_GZIP ? 16 + 15 : zlib_header(d->hdr) ? 15 : -15;
    int rc = inflateInit2(&d->z, bits);
    if (rc != Z_OK) {
        snprintf(d->msg, sizeof d->msg, "zlib init failed (%d)", rc);
        return rc == Z_MEM_ERROR ? -ENOMEM : LOOM_EHTTP;
    }
    d->started = true;
    return 0;
}

/* One inflate step over src; advances *used and *produced. */
static int step(struct loom__http_decoder *d, const unsigned char *src, size_t len, size_t *used,
                unsigned char *out, size_t cap, size_t *produced)
{
    if (d->ended) {
        if (d->coding != LOOM__HTTP_GZIP) {
            snprintf(d->msg, sizeof d->msg, "data after the end of the deflate stream");
            return LOOM_EHTTP;
        }
        if (src[0] != 0x1f) { /* no gzip member starts so: trailing garbage, as gzip(1) */
            d->trailing = true;
            *used = len;
            return 0;
        }
        inflateReset(&d->z); /* a further gzip member (RFC 1952 §2.2) */
        d->ended = false;
    }
    d->z.next_in = (unsigned char *)src;
    d->z.avail_in = len > UINT32_MAX ? UINT32_MAX : (uInt)len;
    d->z.next_out = out + *produced;
    d->z.avail_out = cap - *produced > UINT32_MAX ? UINT32_MAX : (uInt)(cap - *produced);
    uInt in0 = d->z.avail_in, out0 = d->z.avail_out;
    int rc = inflate(&d->z, Z_NO_FLUSH);
    *used = in0 - d->z.avail_in;
    size_t n = out0 - d->z.avail_out;
    *produced += n;
    d->total += n;
    if (d->total > d->max) {
        snprintf(d->msg, sizeof d->msg, "decoded body over %llu bytes (a decompression bomb?)",
                 (unsigned long long)d->max);
        return LOOM_ELIMIT;
    }
    d->full = d->z.avail_out == 0;
    if (rc == Z_STREAM_END)
        d->ended = true;
    else if (rc == Z_MEM_ERROR)
        return -ENOMEM;
    else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        snprintf(d->msg, sizeof d->msg, "corrupt %s body: %s",
                 d->coding == LOOM__HTTP_GZIP ? "gzip" : "deflate", d->z.msg ? d->z.msg : "?");
        return LOOM_EHTTP;
    }
    return 0;
}

int loom__http_decoder_run(struct loom__http_decoder *d, const void *in, size_t in_len,
                           size_t *in_used, void *out, size_t out_cap, size_t *out_len)
{
    const unsigned char *p = in;
    size_t used = 0;
    *in_used = *out_len = 0;
    if (d->trailing) {
        *in_used = in_len;
        return 0;
    }
    if (!d->started && d->coding == LOOM__HTTP_DEFLATE) {
        while (d->nhdr < 2 && used < in_len)
            d->hdr[d->nhdr++] = p[used++];
        *in_used = used;
        if (d->nhdr < 2)
            return 0;
    }
    if (!d->started && (d->coding == LOOM__HTTP_DEFLATE || in_len > 0)) {
        int rc = start(d);
        if (rc < 0)
            return rc;
    }
    while (*out_len < out_cap) {
        const unsigned char *src = p + used;
        size_t len = in_len - used, n = 0;
        bool held = d->hpos < d->nhdr;
        if (held)
            src = d->hdr + d->hpos, len = d->nhdr - d->hpos;
        if (len == 0 && (d->ended || !d->full))
            break; /* nothing to feed, and zlib holds no output back */
        size_t before = *out_len;
        int rc = step(d, src, len, &n, out, out_cap, out_len);
        if (held)
            d->hpos += n;
        else
            used += n;
        *in_used = used;
        if (rc < 0)
            return rc;
        if (n == 0 && *out_len == before && !d->ended)
            break; /* no progress: zlib wants more input or more room */
    }
    return 0;
}

int loom__http_decoder_finish(struct loom__http_decoder *d)
{
    if (d->coding == LOOM__HTTP_IDENTITY || d->ended || (!d->started && d->nhdr == 0))
        return 0;
    snprintf(d->msg, sizeof d->msg, "%s body ends before the end of its compressed stream",
             d->coding == LOOM__HTTP_GZIP ? "gzip" : "deflate");
    return LOOM_EHTTP;
}

void loom__http_decoder_close(struct loom__http_decoder *d)
{
    if (d->started)
        inflateEnd(&d->z);
    d->started = false;
}
