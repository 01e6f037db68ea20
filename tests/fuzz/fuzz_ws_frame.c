/* fuzz_ws_frame.c - libFuzzer target for the WebSocket frame parser, the
 * connection's receive path and the UTF-8 validator/sanitiser.
 *
 * Input: byte 0 picks the role and small limits (bit 7: also run a loom_ws
 * connection over a socketpair on the bytes), byte 1 seeds the chunk sizes;
 * the rest is the byte stream. It is parsed twice, whole and in pseudo-random
 * chunks, and both runs must see the same events (headers, payload bytes,
 * error). Also checked: views stay inside the buffer given, nothing is consumed
 * past it, payload offsets are contiguous, need() is honoured, and text
 * payloads validate the same incrementally as in one shot. The connection
 * must return only documented results, text that is valid UTF-8 and messages
 * within the limit, and end (the peer's end of stream follows the bytes). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/stream.h"
#include "net/utf8.h"
#include "net/ws.h"
#include "reactor/task.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

struct summary {
    uint64_t hash; /* over headers and unmasked payload */
    size_t headers;
    size_t ends;
    size_t consumed;
    int error; /* parser error at the end, 0 if none */
};

static void mix(struct summary *s, uint64_t v) { s->hash = (s->hash ^ v) * 0x100000001b3ull; }

/* Parse data[0..len) in chunks whose sizes come from seed (0: one chunk). */
static void run(const uint8_t *data, size_t len, unsigned role, uint64_t max_frame,
                uint64_t max_msg, uint32_t seed, struct summary *out)
{
    struct loom_ws_parser p;
    loom_ws_parser_init(&p, role, max_frame, max_msg);
    memset(out, 0, sizeof *out);
    out->hash = 0xcbf29ce484222325ull;
    size_t off = 0;
    uint64_t expect_off = 0;
    uint8_t chunk[64];
    while (off < len || loom_ws_parser_need(&p) == 0) {
        size_t n = len - off;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            size_t c = 1 + (seed >> 16) % 17;
            n = n < c ? n : c;
        }
        struct loom_ws_event ev;
        ssize_t r = loom_ws_parse(&p, data + off, n, &ev);
        if (r < 0) {
            CHECK(r == LOOM_EWS && p.error != LOOM_WS_ERR_NONE);
            CHECK(loom_ws_parse_close_code(p.error) == 1002 ||
                  loom_ws_parse_close_code(p.error) == 1009);
            out->error = p.error;
            break;
        }
        CHECK((size_t)r <= n);
        off += (size_t)r;
        if (ev.type == LOOM_WS_EV_MORE) {
            CHECK((size_t)r == n);
            if (off == len)
                break;
            continue;
        }
        if (ev.type == LOOM_WS_EV_HEADER) {
            const struct loom_ws_frame *f = &p.frame;
            out->headers++;
            CHECK(f->opcode < LOOM_WS_CLOSE || (f->fin && f->len <= 125));
            CHECK(f->opcode >= LOOM_WS_CLOSE || f->len <= max_frame);
            CHECK(f->masked == (role == LOOM_WS_SERVER));
            CHECK(loom_ws_parser_need(&p) == f->len);
            mix(out, f->opcode | (uint64_t)f->fin << 8);
            mix(out, f->len);
            expect_off = 0;
            continue;
        }
        CHECK(ev.type == LOOM_WS_EV_DATA);
        CHECK(ev.len == (size_t)r);
        CHECK(ev.len == 0 || (ev.data >= data && ev.data + ev.len <= data + len));
        CHECK(ev.offset == expect_off);
        expect_off += ev.len;
        CHECK(ev.end == (expect_off == p.frame.len));
        for (size_t i = 0; i < ev.len; i += sizeof chunk) {
            size_t k = ev.len - i < sizeof chunk ? ev.len - i : sizeof chunk;
            loom_ws_mask(chunk, ev.data + i, k, p.frame.key, ev.offset + i);
            for (size_t j = 0; j < k; j++)
                mix(out, chunk[j]);
        }
        out->ends += ev.end;
    }
    out->consumed = off;
}

/* A bidi embedding, override or isolate control (U+202A..U+202E,
 * U+2066..U+2069) at d: the sanitiser replaces those too. */
static bool bidi(const uint8_t *d, size_t n)
{
    return n >= 3 && d[0] == 0xe2 &&
           ((d[1] == 0x80 && d[2] >= 0xaa && d[2] <= 0xae) ||
            (d[1] == 0x81 && d[2] >= 0xa6 && d[2] <= 0xa9));
}

/* The validator agrees with itself however the input is split, and the
 * sanitiser's output is always valid UTF-8 without ESC. */
static void utf8_checks(const uint8_t *d, size_t len)
{
    bool whole = loom_utf8_valid(d, len);
    struct loom_utf8 v;
    loom_utf8_init(&v);
    bool ok = true;
    for (size_t i = 0; i < len; i += 3)
        ok = loom_utf8_feed(&v, d + i, len - i < 3 ? len - i : 3) && ok;
    CHECK((ok && loom_utf8_complete(&v)) == whole);
    size_t cap = LOOM_UTF8_SANITIZE_MAX(len);
    char *out = malloc(cap);
    CHECK(out);
    size_t n = loom_utf8_sanitize(out, cap, d, len, LOOM_UTF8_ALLOW_TAB | LOOM_UTF8_ALLOW_LF);
    CHECK(n < cap && out[n] == 0);
    CHECK(loom_utf8_valid(out, n));
    CHECK(!memchr(out, 0x1b, n));
    if (whole && len < 64) {
        bool plain = true;
        for (size_t i = 0; i < len; i++)
            plain = plain && d[i] >= 0x20 && d[i] != 0x7f &&
                    !(d[i] == 0xc2 && i + 1 < len && d[i + 1] < 0xa0) && !bidi(d + i, len - i);
        if (plain)
            CHECK(n == len && memcmp(out, d, len) == 0);
    }
    free(out);
}

struct conn_case {
    int fd;
    unsigned role;
    uint64_t max_frame, max_msg;
};

static intptr_t conn_main(void *arg)
{
    struct conn_case *c = arg;
    struct loom_stream *s;
    CHECK(loom_stream_open_fd(loom_loop_current(), c->fd, 0, &s) == 0);
    struct loom_ws_options opt = {
        .max_frame = c->max_frame, .max_message = c->max_msg, .close_timeout_ns = LOOM_MS(1)};
    struct loom_ws *ws;
    CHECK(loom_ws_attach(s, c->role, &opt, &ws) == 0);
    struct loom_ws_message m;
    int rc;
    while ((rc = loom_ws_recv(ws, &m, LOOM_SEC(5))) > 0) {
        CHECK(rc == LOOM_WS_TEXT || rc == LOOM_WS_BINARY);
        CHECK(m.len <= c->max_msg && m.data[m.len] == 0);
        CHECK(rc == LOOM_WS_BINARY || loom_utf8_valid(m.data, m.len));
    }
    CHECK(rc == LOOM_EOF || rc == LOOM_EWS || rc == -ECONNRESET);
    CHECK(loom_ws_state(ws) == LOOM_WS_CLOSED);
    int code = loom_ws_local_close_code(ws);
    CHECK(rc != LOOM_EWS || code == 1002 || code == 1007 || code == 1009);
    CHECK(loom_ws_close(ws, 0, NULL, 0) == 0);
    return 0;
}

/* Feed the bytes to a loom_ws over a socketpair whose other end then closes. */
static void conn_run(const uint8_t *d, size_t len, unsigned role, uint64_t max_frame,
                     uint64_t max_msg)
{
    static struct loom_loop *loop;
    if (!loop)
        CHECK(loom_loop_new(&loop, NULL) == 0);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    for (size_t off = 0; off < len;) {
        ssize_t n = write(sv[0], d + off, len - off);
        CHECK(n > 0);
        off += (size_t)n;
    }
    close(sv[0]);
    struct conn_case c = {sv[1], role, max_frame, max_msg};
    struct loom_task *t;
    CHECK(loom_task_spawn(loop, conn_main, &c, NULL, &t) == 0);
    CHECK(loom_loop_run_until_complete(loop, t) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned role = data[0] & 1 ? LOOM_WS_CLIENT : LOOM_WS_SERVER;
    static const uint64_t frames[] = {125, 1000, 65536, LOOM_WS_MAX_FRAME};
    uint64_t max_frame = frames[data[0] >> 1 & 3];
    uint64_t max_msg = max_frame * (1 + (data[0] >> 3 & 3));
    uint32_t seed = data[1] | 1u;
    const uint8_t *in = data + 2;
    size_t len = size - 2;
    /* A copy of exactly len bytes, so ASan catches any read past the end. */
    uint8_t *buf = malloc(len ? len : 1);
    CHECK(buf);
    memcpy(buf, in, len);
    struct summary a, b;
    run(buf, len, role, max_frame, max_msg, 0, &a);
    run(buf, len, role, max_frame, max_msg, seed, &b);
    CHECK(a.hash == b.hash && a.headers == b.headers && a.ends == b.ends && a.error == b.error);
    CHECK(a.error || a.consumed == b.consumed); /* on error: partial headers differ */
    utf8_checks(buf, len);
    if ((data[0] & 0x80) && len <= 65536)
        conn_run(buf, len, role, max_frame, max_msg);
    free(buf);
    return 0;
}
