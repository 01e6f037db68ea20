/* utf8.c - UTF-8 validation and terminal sanitising (RFC 3629 section 4).
 *
 * The validator is a small state machine: a lead byte tells how many
 * continuation bytes follow and narrows the range of the first one, which is
 * how overlongs (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points
 * past U+10FFFF (F4 90.., F5..FF) are refused without decoding. */
#include "net/utf8.h"

#include <string.h>

#define INVALID 0xFF

/* Classify a lead byte: continuation bytes that follow (0 for ASCII) and the
 * range allowed for the first of them. Returns -1 for a byte that cannot start
 * a character (80..C1, F5..FF). */
static int lead(uint8_t b, uint8_t *lo, uint8_t *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (b < 0x80)
        return 0;
    if (b < 0xC2)
        return -1;
    if (b < 0xE0)
        return 1;
    if (b < 0xF0) {
        if (b == 0xE0)
            *lo = 0xA0;
        else if (b == 0xED)
            *hi = 0x9F;
        return 2;
    }
    if (b < 0xF5) {
        if (b == 0xF0)
            *lo = 0x90;
        else if (b == 0xF4)
            *hi = 0x8F;
        return 3;
    }
    return -1;
}

/* Length of the run of ASCII bytes at the start of p (word at a time). */
static size_t ascii_run(const uint8_t *p, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w & 0x8080808080808080ull)
            break;
    }
    while (i < len && p[i] < 0x80)
        i++;
    return i;
}

void loom_utf8_init(struct loom_utf8 *v)
{
    v->_need = 0;
    v->_lo = 0x80;
    v->_hi = 0xBF;
}

bool loom_utf8_feed(struct loom_utf8 *v, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    if (v->_need == INVALID)
        return false;
    for (size_t i = 0; i < len;) {
        if (v->_need == 0) {
            i += ascii_run(p + i, len - i);
            if (i == len)
                break;
            int n = lead(p[i++], &v->_lo, &v->_hi);
            if (n < 0)
                goto invalid;
            v->_need = (uint8_t)n;
            continue;
        }
        if (p[i] < v->_lo || p[i] > v->_hi)
            goto invalid;
        i++;
        v->_need--;
        v->_lo = 0x80;
        v->_hi = 0xBF;
    }
    return true;
invalid:
    v->_need = INVALID;
    return false;
}

bool loom_utf8_complete(const struct loom_utf8 *v) { return v->_need == 0; }

bool loom_utf8_valid(const void *buf, size_t len)
{
    struct loom_utf8 v;
    loom_utf8_init(&v);
    return loom_utf8_feed(&v, buf, len) && loom_utf8_complete(&v);
}

/* --- sanitising --- */

/* Append the 3-byte encoding of cp (U+0800..U+FFFF) if it fits. */
static bool put3(char *dst, size_t cap, size_t *o, unsigned cp)
{
    if (*o + 3 >= cap)
        return false;
    dst[(*o)++] = (char)(0xE0 | (cp >> 12));
    dst[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    dst[(*o)++] = (char)(0x80 | (cp & 0x3F));
    return true;
}

/* Length of the valid character at p (1..4), or 0 with *bad set to the length
 * of the maximal invalid subpart to replace (Unicode's "U+FFFD substitution of
 * maximal subparts"). */
static size_t char_len(const uint8_t *p, size_t len, size_t *bad)
{
    uint8_t lo, hi;
    int n = lead(p[0], &lo, &hi);
    if (n < 0) {
        *bad = 1;
        return 0;
    }
    for (int k = 1; k <= n; k++) {
        if ((size_t)k >= len || p[k] < lo || p[k] > hi) {
            *bad = (size_t)k;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return (size_t)n + 1;
}

/* The bidi embedding, override and isolate controls (U+202A..U+202E,
 * U+2066..U+2069) at a valid 3-byte character: they reorder what follows on
 * the line, so network text could make a terminal show something else than
 * it holds ("Trojan Source"). The marks (LRM, RLM, ALM) reorder nothing and stay. */
static bool bidi_control(const uint8_t *c)
{
    return c[0] == 0xE2 && ((c[1] == 0x80 && c[2] >= 0xAA && c[2] <= 0xAE) ||
                            (c[1] == 0x81 && c[2] >= 0xA6 && c[2] <= 0xA9));
}

size_t loom_utf8_sanitize(char *dst, size_t cap, const void *src, size_t len, uint32_t allow)
{
    const uint8_t *p = src;
    size_t o = 0, i = 0;
    if (cap == 0)
        return 0;
    allow &= ~(1u << 27); /* ESC is never let through */
    while (i < len) {
        uint8_t b = p[i];
        if (b >= 0x20 && b < 0x7F) {
            size_t run = ascii_run(p + i, len - i), k = 0;
            while (k < run && p[i + k] >= 0x20 && p[i + k] != 0x7F && o + 1 < cap)
                dst[o++] = (char)p[i + k++];
            if (k == 0)
                break; /* out of room */
            i += k;
            continue;
        }
        if (b < 0x20 || b == 0x7F) {
            if (b < 0x20 && (allow & (1u << b))) {
                if (o + 1 >= cap)
                    break;
                dst[o++] = (char)b;
            } else if (!put3(dst, cap, &o, b == 0x7F ? 0x2421 : 0x2400 + b)) {
                break;
            }
            i++;
            continue;
        }
        size_t bad = 0, n = char_len(p + i, len - i, &bad);
        if (n == 0 || (n == 2 && b == 0xC2 && p[i + 1] < 0xA0) || (n == 3 && bidi_control(p + i))) {
            if (!put3(dst, cap, &o, 0xFFFD))
                break;
            i += n ? n : bad;
            continue;
        }
        if (o + n >= cap)
            break;
        memcpy(dst + o, p + i, n);
        o += n;
        i += n;
    }
    dst[o] = '\0';
    return o;
}
