/* utf8.h - UTF-8 validation (incremental and one-shot) and a sanitiser that
 * makes network text safe to print on a terminal.
 *
 * Validation follows RFC 3629: overlong forms, UTF-16 surrogates (U+D800..DFFF),
 * code points above U+10FFFF and sequences cut off at the end are invalid. The
 * incremental validator carries its state across calls, so a character split
 * between two reads or two WebSocket fragments validates. Runs of ASCII are
 * checked eight bytes at a time. Nothing here allocates. */
#ifndef LOOM_NET_UTF8_H
#define LOOM_NET_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* Bits of loom_utf8_sanitize()'s allow mask: bit c keeps the C0 control c. */
#define LOOM_UTF8_ALLOW_TAB (1u << 9)
#define LOOM_UTF8_ALLOW_LF (1u << 10)
#define LOOM_UTF8_ALLOW_CR (1u << 13)

/* Worst-case output size of loom_utf8_sanitize() for len input bytes (with the NUL). */
#define LOOM_UTF8_SANITIZE_MAX(len) (3 * (size_t)(len) + 1)

/* Incremental validator state. Caller-owned; initialise with loom_utf8_init(). */
struct loom_utf8 {
    uint8_t _need; /* continuation bytes still expected; 0xFF once invalid */
    uint8_t _lo;   /* the next continuation byte must be in [_lo, _hi] */
    uint8_t _hi;
};

/* Start (or restart) validating a new text. */
void loom_utf8_init(struct loom_utf8 *v);

/* Validate len more bytes. Returns false as soon as the text so far is invalid
 * (and from then on); true while it is a valid prefix. */
bool loom_utf8_feed(struct loom_utf8 *v, const void *buf, size_t len);

/* True if everything fed so far is valid and no character is left unfinished. */
bool loom_utf8_complete(const struct loom_utf8 *v);

/* One shot: true if buf[0..len) is complete, valid UTF-8. */
bool loom_utf8_valid(const void *buf, size_t len);

/* Copy src[0..len) to dst as text a terminal can show without being driven:
 * C0 controls (unless their bit is in allow) become the matching Control
 * Picture (ESC -> U+241B, so no escape sequence survives), DEL becomes U+2421,
 * C1 controls (U+0080..U+009F, including the 8-bit CSI), the bidi embedding,
 * override and isolate controls (U+202A..U+202E, U+2066..U+2069: text that
 * reorders the rest of the line) and each maximal invalid sequence become U+FFFD. ESC is replaced whatever allow says. dst always gets a
 * NUL; output stops at the last whole character that fits in cap - 1 bytes (cap
 * LOOM_UTF8_SANITIZE_MAX(len) is always enough). Returns the bytes written
 * without the NUL. */
size_t loom_utf8_sanitize(char *dst, size_t cap, const void *src, size_t len, uint32_t allow);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
