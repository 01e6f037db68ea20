/* check_ws.c - WebSocket: the frame parser, a loom server against a raw
 * client written frame by frame (every close path, fragmentation with pings,
 * UTF-8 split inside a character, every protocol error and its close code,
 * the 1 GiB header refused without allocating, limits, byte-at-a-time input, a
 * peer vanishing mid-frame, timeouts, cancellation, keepalive, backpressure),
 * a loom client against a raw server, the handshake helpers, loom client and
 * server over TCP on 127.0.0.1, and Node's `ws` package as client and server. */
#include "harness/harness.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/stream.h"
#include "net/tcp.h"
#include "net/tls.h"
#include "net/ws.h"
#include "reactor/task.h"

#define FIN 0x80

/* --- helpers --- */

static void stream_pair(struct loom_stream **a, struct loom_stream **b)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(loom_stream_open_fd(loom_loop_current(), sv[0], 0, a), 0);
    ck_assert_int_eq(loom_stream_open_fd(loom_loop_current(), sv[1], 0, b), 0);
}

/* A growing byte buffer for frames written by hand. */
struct buf {
    uint8_t *p;
    size_t n, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        ck_assert_ptr_nonnull(b->p);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static const uint8_t KEY[4] = {0x37, 0xfa, 0x21, 0x3d};

/* A frame header with b0 as given (so reserved bits can be set). */
static void put_header(struct buf *b, unsigned b0, bool mask, uint64_t len)
{
    uint8_t h[LOOM_WS_MAX_HEADER];
    size_t n = loom_ws_frame_header(h, b0 & 0x0F, b0 & FIN, len, mask ? KEY : NULL);
    h[0] = (uint8_t)b0;
    put(b, h, n);
}

static void put_frame(struct buf *b, unsigned b0, bool mask, const void *data, size_t len)
{
    put_header(b, b0, mask, len);
    uint8_t *m = malloc(len + 1);
    loom_ws_mask(m, data, len, mask ? KEY : (const uint8_t[4]){0}, 0);
    put(b, m, len);
    free(m);
}

static void put_close(struct buf *b, bool mask, int code, const char *reason, size_t rlen)
{
    uint8_t pl[200] = {(uint8_t)(code >> 8), (uint8_t)code};
    memcpy(pl + 2, reason, rlen);
    put_frame(b, FIN | LOOM_WS_CLOSE, mask, pl, 2 + rlen);
}

static void send_buf(struct loom_stream *s, struct buf *b)
{
    ck_assert_int_eq(loom_stream_write(s, b->p, b->n), 0);
    free(b->p);
    *b = (struct buf){0};
}

/* Write one masked (client) frame. */
static void cframe(struct loom_stream *s, unsigned b0, const void *data, size_t len)
{
    struct buf b = {0};
    put_frame(&b, b0, true, data, len);
    send_buf(s, &b);
}

/* A frame as a raw peer reads it. */
struct rframe {
    unsigned b0;
    bool masked;
    uint8_t key[4];
    size_t len;
    uint8_t data[400000];
};

static int read_frame(struct loom_stream *s, struct rframe *f, int64_t timeout)
{
    uint8_t h[8];
    ssize_t n = loom_stream_readexactly(s, h, 2, timeout);
    if (n < 0)
        return (int)n;
    f->b0 = h[0];
    f->masked = h[1] & 0x80;
    uint64_t len = h[1] & 0x7F;
    size_t ext = len == 126 ? 2 : len == 127 ? 8 : 0;
    if (ext) {
        ck_assert_int_eq(loom_stream_readexactly(s, h, ext, timeout), (ssize_t)ext);
        len = 0;
        for (size_t i = 0; i < ext; i++)
            len = len << 8 | h[i];
    }
    if (f->masked)
        ck_assert_int_eq(loom_stream_readexactly(s, f->key, 4, timeout), 4);
    ck_assert_uint_le(len, sizeof f->data);
    if (len)
        ck_assert_int_eq(loom_stream_readexactly(s, f->data, len, timeout), (ssize_t)len);
    if (f->masked)
        loom_ws_mask(f->data, f->data, len, f->key, 0);
    f->len = (size_t)len;
    return 0;
}

static struct rframe *frame_new(void)
{
    struct rframe *f = malloc(sizeof *f);
    ck_assert_ptr_nonnull(f);
    return f;
}

/* Read the next frame but pongs: a close with code (0: no payload). */
static void expect_close(struct loom_stream *s, int code)
{
    struct rframe *f = frame_new();
    do
        ck_assert_int_eq(read_frame(s, f, LOOM_SEC(5)), 0);
    while (f->b0 == (FIN | LOOM_WS_PONG));
    ck_assert_uint_eq(f->b0, FIN | LOOM_WS_CLOSE);
    if (code == 0) {
        ck_assert_uint_eq(f->len, 0);
    } else {
        ck_assert_uint_ge(f->len, 2);
        ck_assert_int_eq(f->data[0] << 8 | f->data[1], code);
    }
    free(f);
}

static void expect_frame(struct loom_stream *s, unsigned b0, const void *data, size_t len)
{
    struct rframe *f = frame_new();
    ck_assert_int_eq(read_frame(s, f, LOOM_SEC(5)), 0);
    ck_assert_uint_eq(f->b0, b0);
    ck_assert_uint_eq(f->len, len);
    ck_assert(memcmp(f->data, data, len) == 0);
    free(f);
}

static void expect_eof(struct loom_stream *s)
{
    char c;
    ck_assert_int_eq(loom_stream_read_some(s, &c, 1, LOOM_SEC(5)), LOOM_EOF);
}

static void expect_msg(struct loom_ws *ws, int type, const void *data, size_t len)
{
    struct loom_ws_message m;
    ck_assert_int_eq(loom_ws_recv(ws, &m, LOOM_SEC(5)), type);
    ck_assert_int_eq(m.type, type);
    ck_assert_uint_eq(m.len, len);
    ck_assert(memcmp(m.data, data, len) == 0);
    ck_assert_int_eq(m.data[len], 0);
}

static struct loom_ws *server_over(struct loom_stream *s, const struct loom_ws_options *opt)
{
    struct loom_ws *ws;
    ck_assert_int_eq(loom_ws_attach(s, LOOM_WS_SERVER, opt, &ws), 0);
    return ws;
}

/* --- the frame parser on its own --- */

START_TEST(test_parser_events)
{
    struct buf b = {0};
    put_frame(&b, LOOM_WS_TEXT, true, "Hel", 3);
    put_frame(&b, FIN | LOOM_WS_PING, true, "", 0);
    put_frame(&b, FIN | LOOM_WS_CONT, true, "lo", 2);
    struct loom_ws_parser p;
    loom_ws_parser_init(&p, LOOM_WS_SERVER, 0, 0);
    ck_assert_uint_eq(loom_ws_parser_need(&p), 2);
    char text[8] = {0};
    size_t off = 0, tlen = 0;
    int headers = 0, ends = 0;
    while (off < b.n || loom_ws_parser_need(&p) == 0) {
        struct loom_ws_event ev;
        ssize_t r = loom_ws_parse(&p, b.p + off, b.n - off, &ev);
        ck_assert_int_ge(r, 0);
        off += (size_t)r;
        if (ev.type == LOOM_WS_EV_MORE)
            break;
        if (ev.type == LOOM_WS_EV_HEADER)
            headers++;
        if (ev.type == LOOM_WS_EV_DATA) {
            if (p.frame.opcode != LOOM_WS_PING) {
                loom_ws_mask(text + tlen, ev.data, ev.len, p.frame.key, ev.offset);
                tlen += ev.len;
            }
            ends += ev.end;
        }
    }
    ck_assert_uint_eq(off, b.n);
    ck_assert_int_eq(headers, 3);
    ck_assert_int_eq(ends, 3);
    ck_assert_str_eq(text, "Hello");
    free(b.p);
    ck_assert_int_eq(loom_ws_parse_close_code(LOOM_WS_ERR_MESSAGE_TOO_BIG), 1009);
    ck_assert_int_eq(loom_ws_parse_close_code(LOOM_WS_ERR_RSV), 1002);
    ck_assert_str_eq(loom_ws_parse_strerror(LOOM_WS_ERR_OPCODE), "unknown opcode");
}
END_TEST

/* Masking from any offset equals masking the whole. */
START_TEST(test_mask_offsets)
{
    uint8_t src[100], whole[100], parts[100];
    for (int i = 0; i < 100; i++)
        src[i] = (uint8_t)(i * 13);
    loom_ws_mask(whole, src, 100, KEY, 0);
    for (size_t cut = 0; cut <= 100; cut++) {
        loom_ws_mask(parts, src, cut, KEY, 0);
        loom_ws_mask(parts + cut, src + cut, 100 - cut, KEY, cut);
        ck_assert(memcmp(parts, whole, 100) == 0);
    }
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(whole[i], src[i] ^ KEY[i % 4]);
}
END_TEST

/* A 1 GiB header is refused after its header bytes, and a client parser
 * refuses masked frames. */
START_TEST(test_parser_limits)
{
    struct buf b = {0};
    put_header(&b, FIN | LOOM_WS_BINARY, true, 1ull << 30);
    struct loom_ws_parser p;
    struct loom_ws_event ev;
    loom_ws_parser_init(&p, LOOM_WS_SERVER, 0, 0);
    ck_assert_int_eq(loom_ws_parse(&p, b.p, b.n, &ev), LOOM_EWS);
    ck_assert_int_eq(p.error, LOOM_WS_ERR_FRAME_TOO_BIG);
    ck_assert_int_eq(loom_ws_parse(&p, b.p, b.n, &ev), LOOM_EWS); /* stays failed */
    loom_ws_parser_init(&p, LOOM_WS_CLIENT, 0, 0);
    ck_assert_int_eq(loom_ws_parse(&p, b.p, 2, &ev), LOOM_EWS);
    ck_assert_int_eq(p.error, LOOM_WS_ERR_MASKED);
    free(b.p);
}
END_TEST

/* --- server: messages --- */

static intptr_t echo_main(void *arg)
{
    struct loom_stream *raw, *s;
    stream_pair(&raw, &s);
    struct loom_ws *ws = server_over(s, NULL);
    static uint8_t big[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 31);
    struct buf b = {0};
    put_frame(&b, FIN | LOOM_WS_TEXT, true, "hello", 5);
    put_frame(&b, FIN | LOOM_WS_BINARY, true, "\0\1\2\377", 4);
    put_frame(&b, FIN | LOOM_WS_TEXT, true, "", 0);
    put_frame(&b, FIN | LOOM_WS_BINARY, true, big, 200);
    put_frame(&b, FIN | LOOM_WS_BINARY, true, big, sizeof big);
    send_buf(raw, &b);
    expect_msg(ws, LOOM_WS_TEXT, "hello", 5);
    expect_msg(ws, LOOM_WS_BINARY, "\0\1\2\377", 4);
    expect_msg(ws, LOOM_WS_TEXT, "", 0);
    expect_msg(ws, LOOM_WS_BINARY, big, 200);
    expect_msg(ws, LOOM_WS_BINARY, big, sizeof big);
    /* Server frames go out unmasked, in order. */
    ck_assert_int_eq(loom_ws_send_text(ws, "hi \xe2\x82\xac", 6), 0);
    ck_assert_int_eq(loom_ws_send_binary(ws, big, 300), 0);
    ck_assert_int_eq(loom_ws_send_text(ws, "\xff", 1), -EINVAL);
    ck_assert_int_eq(loom_ws_send(ws, LOOM_WS_BINARY, big, sizeof big, LOOM_SEC(5)), 0);
    expect_frame(raw, FIN | LOOM_WS_TEXT, "hi \xe2\x82\xac", 6);
    expect_frame(raw, FIN | LOOM_WS_BINARY, big, 300);
    expect_frame(raw, FIN | LOOM_WS_BINARY, big, sizeof big);
    /* The client closes: echoed, then the server ends TCP. */
    struct buf c = {0};
    put_close(&c, true, 1000, "bye", 3);
    send_buf(raw, &c);
    struct loom_ws_message m;
    ck_assert_int_eq(loom_ws_recv(ws, &m, LOOM_SEC(5)), LOOM_EOF);
    ck_assert_int_eq(loom_ws_close_code(ws), 1000);
    ck_assert_str_eq(loom_ws_close_reason(ws), "bye");
    ck_assert_int_eq(loom_ws_local_close_code(ws), 1000);
    ck_assert_int_eq(loom_ws_state(ws), LOOM_WS_CLOSED);
    ck_assert_ptr_null(loom_ws_stream(ws));
    expect_close(raw, 1000);
    expect_eof(raw);
    ck_assert_int_eq(loom_ws_recv(ws, &m, LOOM_SEC(5)), LOOM_EOF);
    ck_assert_int_eq(loom_ws_send_text(ws, "x", 1), -EPIPE);
    ck_assert_int_eq(loom_ws_close(ws, 1000, NULL, LOOM_SEC(1)), 0);
    loom_stream_close(raw);
    return 0;
}

START_TEST(test_echo) { ck_assert_int_eq(test_run_task(echo_main, NULL), 0); }
END_TEST

/* Fragments with pings and a pong between them; a character split across
 * fragments; each ping answered with its payload, in order. */
static intptr_t fragments_main(void *arg)
{
    struct loom_stream *raw, *s;
    stream_pair(&raw, &s);
    struct loom_ws *ws = server_over(s, NULL);
    struct buf b = {0};
    put_frame(&b, LOOM_WS_TEXT, true, "Hel", 3);
    put_frame(&b, FIN | LOOM_WS_PING, true, "p1", 2);
    put_frame(&b, LOOM_WS_CONT, true, "lo \xe2", 4);
    put_frame(&b, FIN | LOOM_WS_PONG, true, "unsolicited", 11);
    put_frame(&b, FIN | LOOM_WS_PING, true, "p2", 2);
    put_frame(&b, LOOM_WS_CONT, true, "\x82", 1);
    put_frame(&b, FIN | LOOM_WS_CONT, true, "\xac!", 2);
    /* A 4-byte character over three fragments and an empty final one. */
    put_frame(&b, LOOM_WS_TEXT, true, "\xf0\x9f", 2);
    put_frame(&b, LOOM_WS_CONT, true, "\x98", 1);
    put_frame(&b, LOOM_WS_CONT, true, "\x80", 1);
    put_frame(&b, FIN | LOOM_WS_CONT, true, "", 0);
    /* Binary fragments may split anything. */
    put_frame(&b, LOOM_WS_BINARY, true, "\xe2", 1);
    put_frame(&b, FIN | LOOM_WS_CONT, true, "\xff", 1);
    send_buf(raw, &b);
    expect_msg(ws, LOOM_WS_TEXT, "Hello \xe2\x82\xac!", 10);
    expect_msg(ws, LOOM_WS_TEXT, "\xf0\x9f\x98\x80", 4);
    expect_msg(ws, LOOM_WS_BINARY, "\xe2\xff", 2);
    expect_frame(raw, FIN | LOOM_WS_PONG, "p1", 2);
    expect_frame(raw, FIN | LOOM_WS_PONG, "p2", 2);
    /* Sending fragments and pings. */
    ck_assert_int_eq(loom_ws_send_frame(ws, LOOM_WS_TEXT, false, "a", 1), 0);
    ck_assert_int_eq(loom_ws_ping(ws, "k", 1), 0);
    ck_assert_int_eq(loom_ws_send_frame(ws, LOOM_WS_CONT, true, "b", 1), 0);
    ck_assert_int_eq(loom_ws_send_frame(ws, LOOM_WS_PING, true, "b", 1), -EINVAL);
    static char long_ping[126];
    ck_assert_int_eq(loom_ws_ping(ws, long_ping, sizeof long_ping), -EINVAL);
    expect_frame(raw, LOOM_WS_TEXT, "a", 1);
    expect_frame(raw, FIN | LOOM_WS_PING, "k", 1);
    expect_frame(raw, FIN | LOOM_WS_CONT, "b", 1);
    loom_stream_close(raw);
    ck_assert_int_eq(loom_ws_close(ws, 1000, NULL, LOOM_SEC(1)), -ECONNRESET);
    return 0;
}

START_TEST(test_fragments) { ck_assert_int_eq(test_run_task(fragments_main, NULL), 0); }
END_TEST

/* Writes its bytes one per loop iteration. */
struct dribble {
    struct loom_stream *s;
    struct buf b;
};

static intptr_t dribbler(void *arg)
{
    struct dribble *d = arg;
    for (size_t i = 0; i < d->b.n; i++) {
        if (loom_stream_write(d->s, d->b.p + i, 1) < 0 || loom_yield() < 0)
            return -1;
    }
    free(d->b.p);
    return 0;
}

static intptr_t dribbled_main(void *arg)
{
    struct loom_stream *raw, *s;
    stream_pair(&raw, &s);
    struct loom_ws *ws = server_over(s, NULL);
    static uint8_t big[300];
    memset(big, 'z', sizeof big);
    struct dribble d = {raw, {0}};
    put_frame(&d.b, LOOM_WS_TEXT, true, "caf\xc3", 4);
    put_frame(&d.b, FIN | LOOM_WS_PING, true, "x", 1);
    put_frame(&d.b, FIN | LOOM_WS_CONT, true, "\xa9", 1);
    put_frame(&d.b, FIN | LOOM_WS_BINARY, true, big, sizeof big);
    put_close(&d.b, true, 4001, "slow", 4);
    struct loom_task *t = loom_spawn(dribbler, &d, "dribbler");
    expect_msg(ws, LOOM_WS_TEXT, "caf\xc3\xa9", 5);
    expect_msg(ws, LOOM_WS_BINARY, big, sizeof big);
    struct loom_ws_message m;
    ck_assert_int_eq(loom_ws_recv(ws, &m, LOOM_SEC(5)), LOOM_EOF);
    ck_assert_int_eq(loom_ws_close_code(ws), 4001);
    ck_assert_str_eq(loom_ws_close_reason(ws), "slow");
    ck_assert_int_eq(loom_task_join(t), 0);
    expect_frame(raw, FIN | LOOM_WS_PONG, "x", 1);
    expect_close(raw, 4001);
    expect_eof(raw);
    ck_assert_int_eq(loom_ws_close(ws, 0, NULL, 0), 0);
    loom_stream_close(raw);
    return 0;
}

START_TEST(test_dribbled) { ck_assert_int_eq(test_run_task(dribbled_main, NULL), 0); }
END_TEST

/* --- server: protocol errors and their close codes --- */

enum { MAX_MSG_SMALL = 1000 };

struct ecase {
    const char *name;
    int code;
    bool small_limit; /* max_message MAX_MSG_SMALL */
    void (*build)(struct buf *b);
};

static void b_unmasked(struct buf *b) { put_frame(b, FIN | LOOM_WS_TEXT, false, "hi", 2); }
static void b_rsv1(struct buf *b) { put_frame(b, FIN | 0x40 | LOOM_WS_TEXT, true, "hi", 2); }
static void b_rsv2(struct buf *b) { put_frame(b, FIN | 0x20 | LOOM_WS_BINARY, true, "hi", 2); }
static void b_rsv3(struct buf *b) { put_frame(b, FIN | 0x10 | LOOM_WS_PING, true, "", 0); }
static void b_op3(struct buf *b) { put_frame(b, FIN | 3, true, "", 0); }
static void b_op7(struct buf *b) { put_frame(b, FIN | 7, true, "x", 1); }
static void b_opB(struct buf *b) { put_frame(b, FIN | 0xB, true, "", 0); }
static void b_opF(struct buf *b) { put_frame(b, FIN | 0xF, true, "", 0); }
static void b_ping126(struct buf *b)
{
    static char p[126];
    put_frame(b, FIN | LOOM_WS_PING, true, p, sizeof p);
}
static void b_ping_frag(struct buf *b) { put_frame(b, LOOM_WS_PING, true, "a", 1); }
static void b_close_frag(struct buf *b) { put_frame(b, LOOM_WS_CLOSE, true, "", 0); }
static void b_len_top_bit(struct buf *b) { put_header(b, FIN | LOOM_WS_BINARY, true, 1ull << 63); }
static void b_cont_alone(struct buf *b) { put_frame(b, FIN | LOOM_WS_CONT, true, "x", 1); }
static void b_interleaved(struct buf *b)
{
    put_frame(b, LOOM_WS_TEXT, true, "a", 1);
    put_frame(b, FIN | LOOM_WS_TEXT, true, "b", 1);
}
static void b_gib(struct buf *b) { put_header(b, FIN | LOOM_WS_BINARY, true, 1ull << 30); }
static void b_frame_limit(struct buf *b)
{
    put_header(b, FIN | LOOM_WS_TEXT, true, LOOM_WS_MAX_FRAME + 1);
}
static void b_msg_limit(struct buf *b)
{
    static char p[600];
    memset(p, 'a', sizeof p);
    put_frame(b, LOOM_WS_TEXT, true, p, sizeof p);
    put_frame(b, FIN | LOOM_WS_PING, true, "", 0);
    put_frame(b, FIN | LOOM_WS_CONT, true, p, sizeof p);
}
static void b_bad_utf8(struct buf *b) { put_frame(b, FIN | LOOM_WS_TEXT, true, "ok\xff", 3); }
static void b_bad_utf8_first(struct buf *b) { put_frame(b, LOOM_WS_TEXT, true, "\xed\xa0\x80", 3); }
static void b_utf8_cut(struct buf *b)
{
    put_frame(b, LOOM_WS_TEXT, true, "ab", 2);
    put_frame(b, FIN | LOOM_WS_CONT, true, "\xe2\x82", 2);
}
static void b_overlong(struct buf *b) { put_frame(b, FIN | LOOM_WS_TEXT, true, "\xc0\xaf", 2); }
static void b_close1(struct buf *b) { put_frame(b, FIN | LOOM_WS_CLOSE, true, "\x03", 1); }
static void b_close_reason(struct buf *b) { put_close(b, true, 1000, "bad\xff", 4); }
#define BAD_CODE(v)                                                                                \
    static void b_code_##v(struct buf *b) { put_close(b, true, v, "", 0); }
BAD_CODE(0)
BAD_CODE(999)
BAD_CODE(1004)
BAD_CODE(1005)
BAD_CODE(1006)
BAD_CODE(1015)
BAD_CODE(1016)
BAD_CODE(2999)
BAD_CODE(5000)
BAD_CODE(65535)

static const struct ecase ecases[] = {
    {"unmasked", 1002, false, b_unmasked},
    {"rsv1", 1002, false, b_rsv1},
    {"rsv2", 1002, false, b_rsv2},
    {"rsv3", 1002, false, b_rsv3},
    {"opcode_3", 1002, false, b_op3},
    {"opcode_7", 1002, false, b_op7},
    {"opcode_B", 1002, false, b_opB},
    {"opcode_F", 1002, false, b_opF},
    {"ping_126", 1002, false, b_ping126},
    {"ping_fragmented", 1002, false, b_ping_frag},
    {"close_fragmented", 1002, false, b_close_frag},
    {"len_top_bit", 1002, false, b_len_top_bit},
    {"continuation_alone", 1002, false, b_cont_alone},
    {"interleaved", 1002, false, b_interleaved},
    {"frame_1GiB", 1009, false, b_gib},
    {"frame_limit", 1009, false, b_frame_limit},
    {"message_limit", 1009, true, b_msg_limit},
    {"bad_utf8", 1007, false, b_bad_utf8},
    {"bad_utf8_first_fragment", 1007, false, b_bad_utf8_first},
    {"utf8_cut_at_end", 1007, false, b_utf8_cut},
    {"overlong", 1007, false, b_overlong},
    {"close_1_byte", 1002, false, b_close1},
    {"close_reason_utf8", 1007, false, b_close_reason},
    {"close_code_0", 1002, false, b_code_0},
    {"close_code_999", 1002, false, b_code_999},
    {"close_code_1004", 1002, false, b_code_1004},
    {"close_code_1005", 1002, false, b_code_1005},
    {"close_code_1006", 1002, false, b_code_1006},
    {"close_code_1015", 1002, false, b_code_1015},
    {"close_code_1016", 1002, false, b_code_1016},
    {"close_code_2999", 1002, false, b_code_2999},
    {"close_code_5000", 1002, false, b_code_5000},
    {"close_code_65535", 1002, false, b_code_65535},
};
#define N_ECASES (sizeof ecases / sizeof ecases[0])

/* The raw client: send the bytes (whole or one at a time), expect a close frame
 * with the code, then the server's half-close, then leave. */
struct epeer {
    struct loom_stream *raw;
    struct buf b;
    bool drip;
    int code;
};

static intptr_t epeer_main(void *arg)
{
    struct epeer *e = arg;
    struct dribble d = {e->raw, e->b};
    if (e->drip)
        ck_assert_int_eq(dribbler(&d), 0);
    else
        send_buf(e->raw, &e->b);
    expect_close(e->raw, e->code);
    expect_eof(e->raw);
    loom_stream_close(e->raw);
    return 0;
}

static intptr_t error_main(void *arg)
{
    int i = (int)(intptr_t)arg;
    const struct ecase *c = &ecases[i % N_ECASES];
    struct loom_stream *raw, *s;
    stream_pair(&raw, &s);
    struct loom_ws_options opt = {.max_message = c->small_limit ? MAX_MSG_SMALL : 0};
    struct loom_ws *ws = server_over(s, &opt);
    struct epeer e = {raw, {0}, i >= (int)N_ECASES, c->code};
    c->build(&e.b);
    struct loom_task *t = loom_spawn(epeer_main, &e, "peer");
    double t0 = test_now();
    struct loom_ws_message m;
    ck_assert_msg(loom_ws_recv(ws, &m, LOOM_SEC(5)) == LOOM_EWS, "%s", c->name);
    ck_assert_msg(test_now() - t0 < 2.5, "%s: lingering close was not ended by the EOF", c->name);
    ck_assert_int_eq(loom_ws_local_close_code(ws), c->code);
    ck_assert_int_eq(loom_ws_state(ws), LOOM_WS_CLOSED);
    ck_assert_int_eq(loom_task_join(t), 0);
    ck_assert_int_eq(loom_ws_recv(ws, &m, LOOM_SEC(5)), LOOM_EWS);
    ck_assert_int_eq(loom_ws_send_binary(ws, "x", 1), -EPIPE);
    ck_assert_int_eq(loom_ws_close(ws, 1000, NULL, LOOM_SEC(1)), 0);
    return 0;
}

START_TEST(test_errors) { ck_assert_int_eq(test_run_task(error_main, (void *)(intptr_t)_i), 0); }
END_TEST

/* The 1 GiB header and an over-limit message cost no memory to refuse. */
static intptr_t no_alloc_main(void *arg)
{
    struct loom_stream *raw, *s;
    stream_pair(&raw, &s);
    struct loom_ws_options opt1 = {.close_timeout_ns = LOOM_MS(100)};
    struct loom_ws_options opt = {.max_frame = 1ull << 31, .max_message = 1ull << 31};
    struct loom_ws *ws = server_over(s, &opt1);
    struct buf b = {0};
    put_header(&b, FIN | LOOM_WS_BINARY, true, 1ull << 30);
    size_t before = mallinfo2().uordblks;
    send_buf(raw, &b);
    struct loom_ws_message m;
    ck_assert_int_eq(loom_ws_recv(ws, &m, LOOM_SEC(5)), LOOM_EWS);
    ck_assert_int_eq(loom_ws_local_close_code(ws), 1009);
    size_t after = mallinfo2().uordblks;
    ck_assert_msg(after < before + 64 * 1024, "grew by %zu bytes", after - before);
    ck_assert_int_eq(loom_ws_close(ws, 0, NULL, 0), 0);
    expect_close(raw, 1009);
    loom_stream_close(raw);
    /* With a 2 GiB limit, a 1 GiB frame that never comes allocates only what arrived. */
    stream_pair(&raw, &s);
    ws = server_over(s, &opt);
    before = mallinfo2().uordblks;
    put_header(&b, FIN | LOOM_WS_BINARY, true, 1ull << 30);
    put(&b, "0123456789", 10);
    send_buf(raw, &b);
    ck_assert_int_eq(loom_ws_recv(ws, &m, LOOM_MS(100)), -ETIMEDOUT);
    after = mallinfo2().uordblks;
    ck_assert_msg(after < before + 64 * 1024, "grew by %zu bytes", after - before);
    loom_stream_close(raw);
    ck_assert_int_eq(loom_ws_recv(ws, &m, LOOM_SEC(5)), -ECONNRESET);
    ck_assert_int_eq(loom_ws_close_code(ws), LOOM_WS_ABNORMAL);
    ck_assert_int_eq(loom_ws_close(ws, 0, NULL, 0), 0);
    return 0;
}

START_TEST(test_no_alloc) { ck_assert_int_eq(test_run_task(no_alloc_main, NULL), 0); }
END_TEST

/* A message of exactly the limit passes, in fragments. */
static intptr_t limit_ok_main(void *arg)
{
    struct loom_stream *raw, *s;
    stream_pair(&raw, &s);
    struct loom_ws_options opt = {.max_message = MAX_MSG_SMALL};
    struct loom_ws *ws = server_over(s, &opt);
    static char p[MAX_MSG_SMALL];
    memset(p, 'q', sizeof p);
    struct buf b = {0};
    put_frame(&b, LOOM_WS_BINARY, true, p, 400);
    put_frame(&b, FIN | LOOM_WS_CONT, true, p + 400, 600);
    put_frame(&b, FIN | LOOM_WS_TEXT, true, p, sizeof p);
    send_buf(raw, &b);
    expect_msg(ws, LOOM_WS_BINARY, p, sizeof p);
    expect_msg(ws, LOOM_WS_TEXT, p, sizeof p);
    loom_stream_close(raw);
    ck_assert_int_eq(loom_ws_close(ws, 1000, NULL, LOOM_SEC(1)), -ECONNRESET);
    return 0;
}

START_TEST(test_limit_ok) { ck_assert_int_eq(test_run_task(limit_ok_main, NULL), 0); }
END_TEST

/* --- server: the peer vanishes --- */

static intptr_t vanish_main(void *arg)
{
    /* 0 mid-header, 1 mid-payload, 2 between frames, 3 mid-message */
    int where = (int)(intptr_t)arg;
    struct loom_stream *raw, *s;
    stream_pair(&raw, &s);
    struct loom_ws *ws = server_over(s, NULL);
    struct buf b = {0};
    put_frame(&b, FIN | LOOM_WS_TEXT, true, "whole", 5);
    size_t first = b.n;
    put_frame(&b, where == 3 ? LOOM_WS_TEXT : FIN | LOOM_WS_TEXT, true, "0123456789", 10);
    size_t cut[] = {first + 1, first + 8, first, b.n};
    ck_assert_int_eq(loom_stream_write(raw, b.p, cut[where]), 0);
    free(b.p);
    loom_stream_close(raw);
    expect_msg(ws, LOOM_WS_TEXT, "whole", 5);
    struct loom_ws_message m;
    ck_assert_int_eq(loom_ws_recv(ws, &m, LOOM_SEC(5)), -ECONNRESET);
    ck_assert_int_eq(loom_ws_close_code(ws), LOOM_WS_ABNORMAL);
    ck_assert_int_eq(loom_ws_state(ws), LOOM_WS_CLOSED);
    ck_assert_int_eq(loom_ws_recv(ws, &m, LOOM_SEC(5)), -ECONNRESET);
    ck_assert_int_eq(loom_ws_close(ws, 1000, NULL, LOOM_SEC(1)), 0); /* already over */
    return 0;
}

START_TEST(test_vanish) { ck_assert_int_eq(test_run_task(vanish_main, (void *)(intptr_t)_i), 0); }
END_TEST

/* --- server: timeouts and cancellation lose nothing --- */

static intptr_t recv_forever(void *arg)
{
    struct loom_ws_message m;
    return loom_ws_recv(arg, &m, -1);
}

static intptr_t timeout_main(void *arg)
{
    struct loom_stream *raw, *s;
    stream_pair(&raw, &s);
    struct loom_ws *ws = server_over(s, NULL);
    struct loom_ws_message m;
    double t0 = test_now();
    ck_assert_int_eq(loom_ws_recv(ws, &m, LOOM_MS(50)), -ETIMEDOUT);
    double dt = test_now() - t0;
    ck_assert_msg(dt >= 0.045 && dt < 2, "waited %.3f s", dt);
    ck_assert_int_eq(loom_ws_recv(ws, &m, 0), -ETIMEDOUT);
    /* Half a message, a timeout, the rest: the message arrives whole. */
    struct buf b = {0};
    put_frame(&b, LOOM_WS_TEXT, true, "first half, ", 12);
    put_frame(&b, FIN | LOOM_WS_CONT, true, "second half", 11);
    size_t half = b.n - 8;
    ck_assert_int_eq(loom_stream_write(raw, b.p, half), 0);
    ck_assert_int_eq(loom_ws_recv(ws, &m, LOOM_MS(30)), -ETIMEDOUT);
    ck_assert_int_eq(loom_stream_write(raw, b.p + half, b.n - half), 0);
    free(b.p);
    expect_msg(ws, LOOM_WS_TEXT, "first half, second half", 23);
    /* A cancelled receive (mid-frame) loses nothing either. */
    b = (struct buf){0};
    put_frame(&b, FIN | LOOM_WS_BINARY, true, "after cancel", 12);
    ck_assert_int_eq(loom_stream_write(raw, b.p, 5), 0);
    struct loom_task *t = loom_spawn(recv_forever, ws, "receiver");
    ck_assert_int_eq(loom_sleep(LOOM_MS(20)), 0);
    ck_assert_int_eq(loom_ws_recv(ws, &m, 0), -EBUSY);
    ck_assert_int_eq(loom_ws_close(ws, 1000, NULL, 0), -EBUSY); /* nothing done */
    ck_assert_int_eq(loom_ws_state(ws), LOOM_WS_OPEN);
    loom_task_cancel(t);
    ck_assert_int_eq(loom_task_join(t), -ECANCELED);
    ck_assert_int_eq(loom_stream_write(raw, b.p + 5, b.n - 5), 0);
    free(b.p);
    expect_msg(ws, LOOM_WS_BINARY, "after cancel", 12);
    /* A buffered message is returned even with timeout 0. */
    cframe(raw, FIN | LOOM_WS_TEXT, "now", 3);
    ck_assert_int_eq(loom_sleep(LOOM_MS(10)), 0);
    ck_assert_int_eq(loom_ws_recv(ws, &m, 0), LOOM_WS_TEXT);
    loom_stream_close(raw);
    ck_assert_int_eq(loom_ws_close(ws, 1000, NULL, LOOM_SEC(1)), -ECONNRESET);
    return 0;
}

START_TEST(test_timeouts) { ck_assert_int_eq(test_run_task(timeout_main, NULL), 0); }
END_TEST

/* --- server: close handshakes --- */

static const int good_codes[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                 1011, 1012, 1013, 1014, 3000, 4999, 0 /* none */};

static intptr_t close_echo_main(void *arg)
{
    int code = good_codes[(intptr_t)arg];
    struct loom_stream *raw, *s;
    stream_pair(&raw, &s);
    struct loom_ws *ws = server_over(s, NULL);
    struct buf b = {0};
    if (code)
        put_close(&b, true, code, "why \xc3\xa9", 6);
    else
        put_frame(&b, FIN | LOOM_WS_CLOSE, true, "", 0);
    send_buf(raw, &b);
    struct loom_ws_message m;
    ck_assert_int_eq(loom_ws_recv(ws, &m, LOOM_SEC(5)), LOOM_EOF);
    ck_assert_int_eq(loom_ws_close_code(ws), code ? code : LOOM_WS_NO_STATUS);
    ck_assert_str_eq(loom_ws_close_reason(ws), code ? "why \xc3\xa9" : "");
    expect_close(raw, code);
    expect_eof(raw);
    ck_assert_int_eq(loom_ws_close(ws, 1000, NULL, LOOM_SEC(1)), 0);
    loom_stream_close(raw);
    return 0;
}

START_TEST(test_close_echo)
{
    ck_assert_int_eq(test_run_task(close_echo_main, (void *)(intptr_t)_i), 0);
}
END_TEST

/* The raw client answers a close: optionally sends a message first, then
 * echoes the code and waits for the server's EOF. */
struct answer {
    struct loom_stream *raw;
    int code;
    bool chatter;
};

static intptr_t answer_main(void *arg)
{
    struct answer *a = arg;
    expect_close(a->raw, a->code);
    if (a->chatter)
        cframe(a->raw, FIN | LOOM_WS_TEXT, "late", 4);
    struct buf b = {0};
    put_close(&b, true, a->code, "", 0);
    send_buf(a->raw, &b);
    expect_eof(a->raw);
    loom_stream_close(a->raw);
    return 0;
}

static intptr_t close_local_main(void *arg)
{
    struct loom_stream *raw, *s;
    /* Clean: the peer answers (after one more message, which is dropped). */
    stream_pair(&raw, &s);
    struct loom_ws *ws = server_over(s, NULL);
    struct answer a = {raw, 1001, true};
    struct loom_task *t = loom_spawn(answer_main, &a, "peer");
    ck_assert_int_eq(loom_ws_close(ws, 1001, "going away", LOOM_SEC(5)), 0);
    ck_assert_int_eq(loom_task_join(t), 0);
    /* A bad code: 1000 goes out instead, and -EINVAL comes back. */
    stream_pair(&raw, &s);
    ws = server_over(s, NULL);
    a = (struct answer){raw, 1000, false};
    t = loom_spawn(answer_main, &a, "peer");
    ck_assert_int_eq(loom_ws_send_close(ws, 1005, NULL), -EINVAL);
    ck_assert_int_eq(loom_ws_send_close(ws, 1000, "\xff"), -EINVAL);
    ck_assert_int_eq(loom_ws_close(ws, 1006, NULL, LOOM_SEC(5)), -EINVAL);
    ck_assert_int_eq(loom_task_join(t), 0);
    /* The peer never answers: bounded. */
    stream_pair(&raw, &s);
    ws = server_over(s, NULL);
    double t0 = test_now();
    ck_assert_int_eq(loom_ws_close(ws, 1000, NULL, LOOM_MS(100)), -ETIMEDOUT);
    ck_assert_msg(test_now() - t0 < 2, "close took %.3f s", test_now() - t0);
    expect_close(raw, 1000);
    expect_eof(raw);
    loom_stream_close(raw);
    /* send_close + recv in the same task: LOOM_EOF when the answer comes. */
    stream_pair(&raw, &s);
    ws = server_over(s, NULL);
    ck_assert_int_eq(loom_ws_send_close(ws, 3001, "app"), 0);
    ck_assert_int_eq(loom_ws_state(ws), LOOM_WS_CLOSING);
    ck_assert_int_eq(loom_ws_send_close(ws, 1000, NULL), -EPIPE);
    ck_assert_int_eq(loom_ws_send_text(ws, "x", 1), -EPIPE);
    ck_assert_int_eq(loom_ws_ping(ws, "x", 1), -EPIPE);
    expect_close(raw, 3001);
    cframe(raw, FIN | LOOM_WS_TEXT, "still delivered", 15);
    cframe(raw, FIN | LOOM_WS_PING, "no pong after close", 19);
    struct buf b = {0};
    put_close(&b, true, 3001, "", 0);
    send_buf(raw, &b);
    expect_msg(ws, LOOM_WS_TEXT, "still delivered", 15);
    struct loom_ws_message m;
    ck_assert_int_eq(loom_ws_recv(ws, &m, LOOM_SEC(5)), LOOM_EOF);
    ck_assert_int_eq(loom_ws_close_code(ws), 3001);
    expect_eof(raw); /* and no pong before it */
    ck_assert_int_eq(loom_ws_close(ws, 1000, NULL, LOOM_SEC(1)), 0);
    loom_stream_close(raw);
    return 0;
}

/* A borrowed stream is left open (flushed) for its owner, on every path. */
static intptr_t borrow_main(void *arg)
{
    struct loom_stream *raw, *s;
    struct loom_ws_options opt = {.borrow_stream = true, .close_timeout_ns = LOOM_MS(100)};
    struct loom_ws_message m;
    /* Peer closes. */
    stream_pair(&raw, &s);
    struct loom_ws *ws = server_over(s, &opt);
    struct buf b = {0};
    put_close(&b, true, 1000, "", 0);
    send_buf(raw, &b);
    ck_assert_int_eq(loom_ws_recv(ws, &m, LOOM_SEC(5)), LOOM_EOF);
    ck_assert_ptr_null(loom_ws_stream(ws));
    ck_assert_int_eq(loom_ws_close(ws, 0, NULL, 0), 0);
    expect_close(raw, 1000);
    ck_assert_int_eq(loom_stream_write(s, "still mine", 10), 0);
    char buf[16];
    ck_assert_int_eq(loom_stream_readexactly(raw, buf, 10, LOOM_SEC(5)), 10);
    loom_stream_close(s);
    expect_eof(raw);
    loom_stream_close(raw);
    /* Protocol error. */
    stream_pair(&raw, &s);
    ws = server_over(s, &opt);
    cframe(raw, FIN | 0x40 | LOOM_WS_TEXT, "x", 1);
    ck_assert_int_eq(loom_ws_recv(ws, &m, LOOM_SEC(5)), LOOM_EWS);
    ck_assert_int_eq(loom_ws_close(ws, 0, NULL, 0), 0);
    expect_close(raw, 1002);
    ck_assert_int_ge(loom_stream_fd(s), 0);
    loom_stream_close(s);
    loom_stream_close(raw);
    /* We close, the peer does not answer. */
    stream_pair(&raw, &s);
    ws = server_over(s, &opt);
    ck_assert_int_eq(loom_ws_close(ws, 1001, NULL, LOOM_MS(50)), -ETIMEDOUT);
    expect_close(raw, 1001);
    ck_assert_int_eq(loom_stream_write(s, "ok", 2), 0);
    loom_stream_close(s);
    loom_stream_close(raw);
    return 0;
}

START_TEST(test_borrow) { ck_assert_int_eq(test_run_task(borrow_main, NULL), 0); }
END_TEST

START_TEST(test_close_local) { ck_assert_int_eq(test_run_task(close_local_main, NULL), 0); }
END_TEST

/* --- keepalive and backpressure --- */

static intptr_t keepalive_main(void *arg)
{
    struct loom_stream *raw, *s;
    stream_pair(&raw, &s);
    struct loom_ws_options opt = {.ping_interval_ns = LOOM_MS(40),
                                  .ping_timeout_ns = LOOM_MS(80),
                                  .close_timeout_ns = LOOM_MS(200)};
    struct loom_ws *ws = server_over(s, &opt);
    struct loom_ws_message m;
    struct rframe *f = frame_new();
    /* An answering peer keeps the connection: the receive only times out. */
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(loom_ws_recv(ws, &m, LOOM_MS(60)), -ETIMEDOUT);
        ck_assert_int_eq(read_frame(raw, f, LOOM_SEC(1)), 0);
        ck_assert_uint_eq(f->b0, FIN | LOOM_WS_PING);
        cframe(raw, FIN | LOOM_WS_PONG, f->data, f->len);
    }
    /* A silent peer: ping, then 1011 and -ECONNABORTED. */
    double t0 = test_now();
    ck_assert_int_eq(loom_ws_recv(ws, &m, LOOM_SEC(5)), -ECONNABORTED);
    double dt = test_now() - t0;
    ck_assert_msg(dt > 0.1 && dt < 2, "aborted after %.3f s", dt);
    ck_assert_int_eq(loom_ws_local_close_code(ws), 1011);
    ck_assert_int_eq(read_frame(raw, f, LOOM_SEC(1)), 0);
    ck_assert_uint_eq(f->b0, FIN | LOOM_WS_PING);
    expect_close(raw, 1011);
    free(f);
    ck_assert_int_eq(loom_ws_close(ws, 0, NULL, 0), 0);
    loom_stream_close(raw);
    return 0;
}

START_TEST(test_keepalive) { ck_assert_int_eq(test_run_task(keepalive_main, NULL), 0); }
END_TEST

static intptr_t backpressure_main(void *arg)
{
    struct loom_stream *raw, *s;
    stream_pair(&raw, &s);
    loom_stream_set_write_limits(s, 16384, 4096);
    struct loom_ws *ws = server_over(s, NULL);
    static char chunk[8192];
    int rc = 0, sent = 0;
    while (sent < 10000 &&
           (rc = loom_ws_send(ws, LOOM_WS_BINARY, chunk, sizeof chunk, LOOM_MS(20))) == 0)
        sent++;
    ck_assert_int_eq(rc, -ETIMEDOUT);
    ck_assert_uint_le(loom_stream_write_buffered(s), 16384 + sizeof chunk + 16);
    /* Once the peer reads, sending goes on. */
    struct rframe *f = frame_new();
    for (int i = 0; i <= sent; i++)
        ck_assert_int_eq(read_frame(raw, f, LOOM_SEC(5)), 0);
    free(f);
    ck_assert_int_eq(loom_ws_send(ws, LOOM_WS_TEXT, "ok", 2, LOOM_SEC(5)), 0);
    loom_stream_close(raw);
    loom_ws_close(ws, 0, NULL, 0);
    return 0;
}

/* A peer that floods pings and never reads: the pongs queued stay bounded. */
static intptr_t ping_flood_main(void *arg)
{
    struct loom_stream *raw, *s;
    stream_pair(&raw, &s);
    struct loom_ws *ws = server_over(s, NULL);
    static char pl[100];
    struct buf b = {0};
    for (int i = 0; i < 8000; i++)
        put_frame(&b, FIN | LOOM_WS_PING, true, pl, sizeof pl);
    put_frame(&b, FIN | LOOM_WS_TEXT, true, "end", 3);
    send_buf(raw, &b);
    expect_msg(ws, LOOM_WS_TEXT, "end", 3);
    ck_assert_uint_le(loom_stream_write_buffered(s), 64 * 1024 + 128);
    ck_assert_uint_gt(loom_stream_write_buffered(s), 0); /* it did answer some */
    loom_stream_close(raw);
    loom_ws_close(ws, 0, NULL, 0);
    return 0;
}

START_TEST(test_ping_flood) { ck_assert_int_eq(test_run_task(ping_flood_main, NULL), 0); }
END_TEST

START_TEST(test_backpressure) { ck_assert_int_eq(test_run_task(backpressure_main, NULL), 0); }
END_TEST

/* --- client role against a raw server --- */

struct rserver {
    struct loom_stream *raw;
};

/* Raw server: answer the client's close and end TCP. */
static intptr_t rserver_close_main(void *arg)
{
    struct loom_stream *raw = arg;
    expect_close(raw, 1000);
    struct buf b = {0};
    put_close(&b, false, 1000, "", 0);
    send_buf(raw, &b);
    ck_assert_int_eq(loom_stream_flush(raw, LOOM_SEC(5)), 0);
    loom_stream_close(raw);
    return 0;
}

static intptr_t client_main(void *arg)
{
    struct loom_stream *raw, *c;
    stream_pair(&raw, &c);
    struct loom_ws *ws;
    ck_assert_int_eq(loom_ws_attach(c, LOOM_WS_CLIENT, NULL, &ws), 0);
    /* Client frames are masked, each with its own key. */
    ck_assert_int_eq(loom_ws_send_text(ws, "abc", 3), 0);
    static uint8_t big[5000];
    memset(big, 0xAB, sizeof big);
    ck_assert_int_eq(loom_ws_send_binary(ws, big, sizeof big), 0);
    struct rframe *f1 = frame_new(), *f2 = frame_new();
    ck_assert_int_eq(read_frame(raw, f1, LOOM_SEC(5)), 0);
    ck_assert_int_eq(read_frame(raw, f2, LOOM_SEC(5)), 0);
    ck_assert(f1->masked && f2->masked);
    ck_assert(memcmp(f1->key, f2->key, 4) != 0);
    ck_assert(f1->len == 3 && memcmp(f1->data, "abc", 3) == 0);
    ck_assert(f2->len == sizeof big && memcmp(f2->data, big, sizeof big) == 0);
    free(f1);
    free(f2);
    /* Unmasked server frames are accepted; pings are answered masked. */
    struct buf b = {0};
    put_frame(&b, FIN | LOOM_WS_TEXT, false, "from server", 11);
    put_frame(&b, FIN | LOOM_WS_PING, false, "pp", 2);
    put_frame(&b, FIN | LOOM_WS_BINARY, false, "bin", 3);
    send_buf(raw, &b);
    expect_msg(ws, LOOM_WS_TEXT, "from server", 11);
    expect_msg(ws, LOOM_WS_BINARY, "bin", 3);
    struct rframe *f = frame_new();
    ck_assert_int_eq(read_frame(raw, f, LOOM_SEC(5)), 0);
    ck_assert(f->masked && f->b0 == (FIN | LOOM_WS_PONG) && f->len == 2);
    free(f);
    /* The client closes; the server answers and ends TCP. */
    struct loom_task *t = loom_spawn(rserver_close_main, raw, "server");
    ck_assert_int_eq(loom_ws_close(ws, 1000, NULL, LOOM_SEC(5)), 0);
    ck_assert_int_eq(loom_task_join(t), 0);
    return 0;
}

START_TEST(test_client) { ck_assert_int_eq(test_run_task(client_main, NULL), 0); }
END_TEST

/* A masked frame from a server fails the client with 1002; the server closing
 * first is echoed and the client waits for the server's EOF. */
static intptr_t client_errors_main(void *arg)
{
    struct loom_stream *raw, *c;
    stream_pair(&raw, &c);
    struct loom_ws_options opt = {.close_timeout_ns = LOOM_MS(100)};
    struct loom_ws *ws;
    ck_assert_int_eq(loom_ws_attach(c, LOOM_WS_CLIENT, &opt, &ws), 0);
    cframe(raw, FIN | LOOM_WS_TEXT, "masked", 6);
    struct loom_ws_message m;
    ck_assert_int_eq(loom_ws_recv(ws, &m, LOOM_SEC(5)), LOOM_EWS);
    ck_assert_int_eq(loom_ws_local_close_code(ws), 1002);
    expect_close(raw, 1002);
    ck_assert_int_eq(loom_ws_close(ws, 0, NULL, 0), 0);
    loom_stream_close(raw);

    stream_pair(&raw, &c);
    ck_assert_int_eq(loom_ws_attach(c, LOOM_WS_CLIENT, NULL, &ws), 0);
    struct buf b = {0};
    put_close(&b, false, 1001, "restart", 7);
    send_buf(raw, &b);
    struct loom_task *t = loom_spawn(recv_forever, ws, "client");
    expect_close(raw, 1001); /* the echo, masked */
    loom_stream_close(raw);  /* only now may the client finish */
    ck_assert_int_eq(loom_task_join(t), LOOM_EOF);
    ck_assert_int_eq(loom_ws_close_code(ws), 1001);
    ck_assert_int_eq(loom_ws_close(ws, 0, NULL, 0), 0);
    return 0;
}

START_TEST(test_client_errors) { ck_assert_int_eq(test_run_task(client_errors_main, NULL), 0); }
END_TEST

/* --- handshake helpers --- */

START_TEST(test_accept_key)
{
    char out[LOOM_WS_ACCEPT_LEN + 1];
    const char *key = "dGhlIHNhbXBsZSBub25jZQ=="; /* RFC 6455 section 1.3 */
    ck_assert_int_eq(loom_ws_accept_key(key, strlen(key), out), 0);
    ck_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    char k1[LOOM_WS_KEY_LEN + 1], k2[LOOM_WS_KEY_LEN + 1];
    ck_assert_int_eq(loom_ws_client_key(k1), 0);
    ck_assert_int_eq(loom_ws_client_key(k2), 0);
    ck_assert_uint_eq(strlen(k1), 24);
    ck_assert_str_ne(k1, k2);
}
END_TEST

#define SV(s) s, sizeof(s) - 1

struct hcase {
    const char *name;
    struct loom_ws_request req;
    int status;
};

#define GOOD_KEY SV("dGhlIHNhbXBsZSBub25jZQ==")

static const struct hcase hcases[] = {
    {"ok", {SV("GET"), 1, SV("websocket"), SV("Upgrade"), GOOD_KEY, SV("13")}, 0},
    {"ok_tokens",
     {SV("GET"), 1, SV("WebSocket"), SV("keep-alive, upgrade"), SV(" dGhlIHNhbXBsZSBub25jZQ== "),
      SV("13")},
     0},
    {"post", {SV("POST"), 1, SV("websocket"), SV("Upgrade"), GOOD_KEY, SV("13")}, 400},
    {"http10", {SV("GET"), 0, SV("websocket"), SV("Upgrade"), GOOD_KEY, SV("13")}, 400},
    {"no_upgrade", {SV("GET"), 1, NULL, 0, SV("Upgrade"), GOOD_KEY, SV("13")}, 400},
    {"upgrade_h2c", {SV("GET"), 1, SV("h2c"), SV("Upgrade"), GOOD_KEY, SV("13")}, 400},
    {"no_connection", {SV("GET"), 1, SV("websocket"), NULL, 0, GOOD_KEY, SV("13")}, 400},
    {"connection_close", {SV("GET"), 1, SV("websocket"), SV("close"), GOOD_KEY, SV("13")}, 400},
    {"connection_substr", {SV("GET"), 1, SV("websocket"), SV("upgraded"), GOOD_KEY, SV("13")}, 400},
    {"no_key", {SV("GET"), 1, SV("websocket"), SV("Upgrade"), NULL, 0, SV("13")}, 400},
    {"short_key", {SV("GET"), 1, SV("websocket"), SV("Upgrade"), SV("dGhl"), SV("13")}, 400},
    {"key_17_bytes",
     {SV("GET"), 1, SV("websocket"), SV("Upgrade"), SV("dGhlIHNhbXBsZSBub25jZQ=A"), SV("13")},
     400},
    {"key_bad_char",
     {SV("GET"), 1, SV("websocket"), SV("Upgrade"), SV("dGhlIHNhbXBsZSBub25j*Q=="), SV("13")},
     400},
    {"key_bits",
     {SV("GET"), 1, SV("websocket"), SV("Upgrade"), SV("dGhlIHNhbXBsZSBub25jZR=="), SV("13")},
     400},
    {"no_version", {SV("GET"), 1, SV("websocket"), SV("Upgrade"), GOOD_KEY, NULL, 0}, 400},
    {"version_8", {SV("GET"), 1, SV("websocket"), SV("Upgrade"), GOOD_KEY, SV("8")}, 426},
    {"version_130", {SV("GET"), 1, SV("websocket"), SV("Upgrade"), GOOD_KEY, SV("130")}, 426},
};

START_TEST(test_server_check)
{
    const struct hcase *c = &hcases[_i];
    ck_assert_msg(loom_ws_server_check(&c->req) == c->status, "%s", c->name);
}
END_TEST

START_TEST(test_format)
{
    char buf[512];
    ck_assert_int_gt(loom_ws_format_refusal(buf, sizeof buf, 426), 0);
    ck_assert_contains(buf, "HTTP/1.1 426 Upgrade Required\r\n");
    ck_assert_contains(buf, "\r\nSec-WebSocket-Version: 13\r\n");
    ck_assert_int_gt(loom_ws_format_refusal(buf, sizeof buf, 400), 0);
    ck_assert_contains(buf, "HTTP/1.1 400 ");
    ck_assert_int_eq(loom_ws_format_refusal(buf, 10, 400), -ENOSPC);
    ck_assert_int_eq(loom_ws_format_refusal(buf, sizeof buf, 500), -EINVAL);
    struct loom_ws_client_options o = {.host = "example.com:8080",
                                       .path = "/chat?x=1",
                                       .protocol = "chat",
                                       .origin = "http://example.com"};
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    ssize_t n = loom_ws_format_request(buf, sizeof buf, &o, key);
    ck_assert_int_eq(n, (ssize_t)strlen(buf));
    ck_assert_str_eq(buf, "GET /chat?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n"
                          "Upgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n"
                          "Origin: http://example.com\r\n\r\n");
    ck_assert_int_eq(loom_ws_format_request(buf, 40, &o, key), -ENOSPC);
    o.host = "evil\r\nX: y";
    ck_assert_int_eq(loom_ws_format_request(buf, sizeof buf, &o, key), -EINVAL);
    o.host = "h";
    o.path = "/a b";
    ck_assert_int_eq(loom_ws_format_request(buf, sizeof buf, &o, key), -EINVAL);
    o.path = NULL;
    o.origin = "o\n";
    ck_assert_int_eq(loom_ws_format_request(buf, sizeof buf, &o, key), -EINVAL);
    o.origin = NULL;
    ck_assert_int_eq(loom_ws_format_request(buf, sizeof buf, &o, "short"), -EINVAL);
    ck_assert_int_gt(loom_ws_format_request(buf, sizeof buf, &o, key), 0);
    ck_assert_contains(buf, "GET / HTTP/1.1\r\n");
    /* Response check. */
    struct loom_ws_response r = {101, SV("websocket"), SV("Upgrade"),
                                 SV("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")};
    ck_assert_int_eq(loom_ws_client_check(&r, key), 0);
    r.status = 200;
    ck_assert_int_eq(loom_ws_client_check(&r, key), LOOM_EWS);
    r.status = 101;
    r.accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo!";
    ck_assert_int_eq(loom_ws_client_check(&r, key), LOOM_EWS);
    r.accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    r.connection = NULL;
    ck_assert_int_eq(loom_ws_client_check(&r, key), LOOM_EWS);
}
END_TEST

/* --- loom client and loom server over TCP on 127.0.0.1 --- */

/* The value of header name in an HTTP head (a view), or NULL. */
static const char *find_header(const char *head, const char *name, size_t *len)
{
    size_t nlen = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1, *e = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            *len = (size_t)(e - v);
            return v;
        }
    }
    *len = 0;
    return NULL;
}

/* Read an upgrade request and check it with loom_ws_server_check. */
static struct loom_ws *accept_upgrade(struct loom_stream *s, const char *protocol,
                                      const struct loom_ws_options *opt)
{
    char head[4096];
    ssize_t n = loom_stream_readuntil(s, "\r\n\r\n", 4, head, sizeof head, LOOM_SEC(5));
    ck_assert_int_gt(n, 0);
    struct loom_ws_request r = {.method = head,
                                .method_len = (size_t)(strchr(head, ' ') - head),
                                .version_minor = strstr(head, " HTTP/1.1\r\n") ? 1 : 0};
    r.upgrade = find_header(head, "Upgrade", &r.upgrade_len);
    r.connection = find_header(head, "Connection", &r.connection_len);
    r.key = find_header(head, "Sec-WebSocket-Key", &r.key_len);
    r.version = find_header(head, "Sec-WebSocket-Version", &r.version_len);
    ck_assert_int_eq(loom_ws_server_check(&r), 0);
    struct loom_ws *ws;
    ck_assert_int_eq(loom_ws_server_accept(s, r.key, r.key_len, protocol, opt, &ws), 0);
    return ws;
}

struct tcp_server {
    struct loom_listener l;
    int messages;
    int close_code;
};

/* Echo every message until the client closes. */
static intptr_t tcp_server_main(void *arg)
{
    struct tcp_server *srv = arg;
    struct loom_stream *s;
    ck_assert_int_eq(loom_listener_accept_stream(&srv->l, LOOM_SEC(10), &s), 0);
    struct loom_ws *ws = accept_upgrade(s, "chat", NULL);
    struct loom_ws_message m;
    int rc;
    while ((rc = loom_ws_recv(ws, &m, LOOM_SEC(10))) > 0) {
        srv->messages++;
        ck_assert_int_eq(loom_ws_send(ws, m.type, m.data, m.len, LOOM_SEC(10)), 0);
    }
    ck_assert_int_eq(rc, LOOM_EOF);
    srv->close_code = loom_ws_close_code(ws);
    return loom_ws_close(ws, 0, NULL, 0);
}

static intptr_t tcp_main(void *arg)
{
    static struct tcp_server srv;
    ck_assert_int_eq(loom_tcp_listen(loom_loop_current(), &srv.l, "127.0.0.1", 0, 0, 0), 0);
    int port = loom_listener_port(&srv.l);
    struct loom_task *st = loom_spawn(tcp_server_main, &srv, "server");
    struct loom_stream *s;
    ck_assert_int_eq(loom_tcp_connect("127.0.0.1", port, LOOM_SEC(5), &s), 0);
    char host[32];
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    struct loom_ws_client_options o = {.host = host, .path = "/chat", .protocol = "chat"};
    struct loom_ws *ws;
    int status;
    ck_assert_int_eq(loom_ws_connect(s, &o, &status, &ws), 0);
    ck_assert_int_eq(status, 101);
    static char big[200000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    ck_assert_int_eq(loom_ws_send_text(ws, "hello \xe2\x82\xac", 9), 0);
    ck_assert_int_eq(loom_ws_send(ws, LOOM_WS_TEXT, big, sizeof big, LOOM_SEC(5)), 0);
    expect_msg(ws, LOOM_WS_TEXT, "hello \xe2\x82\xac", 9);
    expect_msg(ws, LOOM_WS_TEXT, big, sizeof big);
    ck_assert_int_eq(loom_ws_close(ws, 1000, "done", LOOM_SEC(5)), 0);
    ck_assert_int_eq(loom_task_join(st), 0);
    ck_assert_int_eq(srv.messages, 2);
    ck_assert_int_eq(srv.close_code, 1000);
    loom_listener_close(&srv.l);
    return 0;
}

START_TEST(test_tcp) { ck_assert_int_eq(test_run_task(tcp_main, NULL), 0); }
END_TEST

/* --- over TLS: the same stack on a TLS stream --- */

struct tls_env {
    char dir[64], cert[128], key[128];
    struct loom_listener l;
    struct loom_tls_context *sctx;
    int messages;
};

/* A self-signed certificate for 127.0.0.1 made by the openssl tool. */
static void make_cert(struct tls_env *e)
{
    snprintf(e->dir, sizeof e->dir, "/tmp/loom-ws-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(e->dir));
    snprintf(e->cert, sizeof e->cert, "%s/cert.pem", e->dir);
    snprintf(e->key, sizeof e->key, "%s/key.pem", e->dir);
    char *out = NULL;
    char *argv[] = {"/usr/bin/env",
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-days",
                    "1",
                    "-subj",
                    "/CN=127.0.0.1",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1",
                    "-keyout",
                    e->key,
                    "-out",
                    e->cert,
                    NULL};
    int rc = test_run(argv, NULL, 30, &out, NULL);
    ck_assert_msg(rc == 0, "the openssl tool is needed to make a certificate (%d):\n%s", rc,
                  out ? out : "");
    free(out);
}

static intptr_t tls_server_main(void *arg)
{
    struct tls_env *e = arg;
    int fd = loom_listener_accept(&e->l, LOOM_SEC(10));
    ck_assert_int_ge(fd, 0);
    struct loom_stream *s;
    char err[256] = "";
    ck_assert_msg(loom_tls_accept_fd(loom_loop_current(), fd, e->sctx, LOOM_SEC(10), &s, err,
                                     sizeof err) == 0,
                  "%s", err);
    struct loom_ws *ws = accept_upgrade(s, NULL, NULL);
    struct loom_ws_message m;
    int rc;
    while ((rc = loom_ws_recv(ws, &m, LOOM_SEC(10))) > 0) {
        e->messages++;
        ck_assert_int_eq(loom_ws_send(ws, m.type, m.data, m.len, LOOM_SEC(10)), 0);
    }
    ck_assert_int_eq(rc, LOOM_EOF);
    return loom_ws_close(ws, 0, NULL, 0);
}

static intptr_t tls_main(void *arg)
{
    static struct tls_env e;
    make_cert(&e);
    char err[256] = "";
    struct loom_tls_server_options so = {.cert_file = e.cert, .key_file = e.key};
    ck_assert_msg(loom_tls_server_context_new(&so, &e.sctx, err, sizeof err) == 0, "%s", err);
    struct loom_tls_client_options co = {.ca_file = e.cert};
    struct loom_tls_context *cctx;
    ck_assert_msg(loom_tls_client_context_new(&co, &cctx, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(loom_tcp_listen(loom_loop_current(), &e.l, "127.0.0.1", 0, 0, 0), 0);
    int port = loom_listener_port(&e.l);
    struct loom_task *st = loom_spawn(tls_server_main, &e, "server");
    struct loom_stream *s;
    ck_assert_msg(loom_tls_connect("127.0.0.1", port, cctx, LOOM_SEC(10), &s, err, sizeof err) == 0,
                  "%s", err);
    ck_assert(loom_stream_is_tls(s));
    char host[32];
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    struct loom_ws_client_options o = {.host = host};
    struct loom_ws *ws;
    ck_assert_int_eq(loom_ws_connect(s, &o, NULL, &ws), 0);
    static char big[300000];
    memset(big, 'T', sizeof big);
    ck_assert_int_eq(loom_ws_send_text(ws, "over TLS", 8), 0);
    ck_assert_int_eq(loom_ws_send(ws, LOOM_WS_BINARY, big, sizeof big, LOOM_SEC(10)), 0);
    expect_msg(ws, LOOM_WS_TEXT, "over TLS", 8);
    expect_msg(ws, LOOM_WS_BINARY, big, sizeof big);
    ck_assert_int_eq(loom_ws_close(ws, 1000, NULL, LOOM_SEC(5)), 0);
    ck_assert_int_eq(loom_task_join(st), 0);
    ck_assert_int_eq(e.messages, 2);
    loom_listener_close(&e.l);
    loom_tls_context_free(e.sctx);
    loom_tls_context_free(cctx);
    unlink(e.cert);
    unlink(e.key);
    rmdir(e.dir);
    return 0;
}

START_TEST(test_tls) { ck_assert_int_eq(test_run_task(tls_main, NULL), 0); }
END_TEST

/* loom_ws_connect against canned responses. */
struct canned {
    struct loom_stream *s;
    const char *text; /* NULL: answer correctly, then a frame in the same write */
    bool hang_up;     /* close the stream after writing text */
};

static intptr_t canned_main(void *arg)
{
    struct canned *c = arg;
    char head[4096], out[512];
    ssize_t n = loom_stream_readuntil(c->s, "\r\n\r\n", 4, head, sizeof head, LOOM_SEC(5));
    ck_assert_int_gt(n, 0);
    if (c->text) {
        int rc = loom_stream_write(c->s, c->text, strlen(c->text));
        if (c->hang_up) {
            ck_assert_int_eq(loom_stream_flush(c->s, LOOM_SEC(5)), 0);
            loom_stream_close(c->s);
        }
        return rc;
    }
    size_t klen;
    const char *key = find_header(head, "Sec-WebSocket-Key", &klen);
    char acc[LOOM_WS_ACCEPT_LEN + 1];
    ck_assert_int_eq(loom_ws_accept_key(key, klen, acc), 0);
    int len = snprintf(out, sizeof out,
                       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n\x81\x02hi",
                       acc);
    return loom_stream_write(c->s, out, (size_t)len);
}

static const struct {
    const char *text;
    int rc, status;
} canned_cases[] = {
    {NULL, 0, 101},
    {"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\r\n", LOOM_EWS, 426},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
     LOOM_EWS, 101},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", LOOM_EWS, 101},
    {"garbage\r\n\r\n", LOOM_EHTTP, 0},
    {"HTTP/1.1 101 OK\r\n folded: x\r\n\r\n", LOOM_EHTTP, 0},
    {"HTTP/1.1 101 OK\r\nNo colon\r\n\r\n", LOOM_EHTTP, 0},
    {"HTTP/1.1 101 OK\r\nX: a\nY: b\r\n\r\n", LOOM_EHTTP, 0},
    {"HTTP/1.1 101 OK\r\nUpgrade: websocket", LOOM_EOF, 0},
};
#define N_CANNED (sizeof canned_cases / sizeof canned_cases[0])

static intptr_t connect_main(void *arg)
{
    int i = (int)(intptr_t)arg;
    struct loom_stream *c, *s;
    stream_pair(&c, &s);
    bool hang_up = canned_cases[i].rc == LOOM_EOF;
    struct canned cn = {s, canned_cases[i].text, hang_up};
    struct loom_task *t = loom_spawn(canned_main, &cn, "server");
    struct loom_ws_client_options o = {.host = "localhost"};
    struct loom_ws *ws = NULL;
    int status = -1;
    ck_assert_int_eq(loom_ws_connect(c, &o, &status, &ws), canned_cases[i].rc);
    ck_assert_int_eq(status, canned_cases[i].status);
    ck_assert_int_eq(loom_task_join(t), 0);
    if (canned_cases[i].rc == 0) {
        expect_msg(ws, LOOM_WS_TEXT, "hi", 2); /* the frame right behind the 101 */
        loom_stream_close(s);
        ck_assert_int_eq(loom_ws_close(ws, 1000, NULL, LOOM_SEC(1)), -ECONNRESET);
        return 0;
    }
    ck_assert_ptr_null(ws);
    loom_stream_close(c); /* still ours */
    if (!hang_up)
        loom_stream_close(s);
    return 0;
}

START_TEST(test_connect) { ck_assert_int_eq(test_run_task(connect_main, (void *)(intptr_t)_i), 0); }
END_TEST

/* A response head that never ends, or never comes. */
static intptr_t connect_limits_main(void *arg)
{
    struct loom_stream *c, *s;
    stream_pair(&c, &s);
    static char junk[10000];
    memset(junk, 'x', sizeof junk);
    ck_assert_int_eq(loom_stream_write(s, "HTTP/1.1 101 OK\r\nX: ", 20), 0);
    ck_assert_int_eq(loom_stream_write(s, junk, sizeof junk), 0);
    struct loom_ws_client_options o = {.host = "localhost", .max_response = 4096};
    struct loom_ws *ws = NULL;
    ck_assert_int_eq(loom_ws_connect(c, &o, NULL, &ws), LOOM_ELIMIT);
    loom_stream_close(c);
    loom_stream_close(s);
    stream_pair(&c, &s);
    o.timeout_ns = LOOM_MS(50);
    double t0 = test_now();
    ck_assert_int_eq(loom_ws_connect(c, &o, NULL, &ws), -ETIMEDOUT);
    ck_assert(test_now() - t0 < 2);
    o.host = NULL;
    ck_assert_int_eq(loom_ws_connect(c, &o, NULL, &ws), -EINVAL);
    loom_stream_close(c);
    loom_stream_close(s);
    return 0;
}

START_TEST(test_connect_limits) { ck_assert_int_eq(test_run_task(connect_limits_main, NULL), 0); }
END_TEST

/* --- Node's ws package as a real peer --- */

/* Install ws into $LOOM_BUILD/node once; fail with npm's output if it cannot. */
static const char *node_modules(void)
{
    static char dir[600];
    char pkg[700], prefix[520], rel[256], cwd[256];
    test_build_path("node", rel, sizeof rel);
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(prefix, sizeof prefix, "%s%s%s", rel[0] == '/' ? "" : cwd, rel[0] == '/' ? "" : "/",
             rel);
    snprintf(dir, sizeof dir, "%s/node_modules", prefix);
    snprintf(pkg, sizeof pkg, "%s/ws/package.json", dir);
    struct stat st;
    if (stat(pkg, &st) == 0)
        return dir;
    char *out = NULL;
    char *argv[] = {"/usr/bin/env", "npm",  "install", "--no-audit", "--no-fund",
                    "--prefix",     prefix, "ws",      NULL};
    int rc = test_run(argv, NULL, 180, &out, NULL);
    ck_assert_msg(rc == 0 && stat(pkg, &st) == 0,
                  "Node's ws package is needed: `npm install --prefix %s ws` failed (%d):\n%s",
                  prefix, rc, out ? out : "(npm not found?)");
    free(out);
    return dir;
}

static void tools_path(const char *name, char *buf, size_t len)
{
    char cwd[400];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(buf, len, "%s/tests/tools/%s", cwd, name);
}

/* The loom echo server runs on its own loop in a thread while node runs. */
struct node_srv {
    _Atomic int port;
    int messages, close_code, rc;
    char reason[128];
};

static intptr_t node_srv_main(void *arg)
{
    struct node_srv *ns = arg;
    struct loom_listener l;
    int rc = loom_tcp_listen(loom_loop_current(), &l, "127.0.0.1", 0, 0, 0);
    if (rc < 0)
        return rc;
    ns->port = loom_listener_port(&l);
    struct loom_stream *s;
    rc = loom_listener_accept_stream(&l, LOOM_SEC(20), &s);
    loom_listener_close(&l);
    if (rc < 0)
        return rc;
    struct loom_ws *ws = accept_upgrade(s, NULL, NULL);
    struct loom_ws_message m;
    while ((rc = loom_ws_recv(ws, &m, LOOM_SEC(20))) > 0) {
        ns->messages++;
        if ((rc = loom_ws_send(ws, m.type, m.data, m.len, LOOM_SEC(10))) < 0)
            break;
    }
    ns->close_code = loom_ws_close_code(ws);
    snprintf(ns->reason, sizeof ns->reason, "%s", loom_ws_close_reason(ws));
    loom_ws_close(ws, 0, NULL, 0);
    return rc;
}

static void *node_srv_thread(void *arg)
{
    struct node_srv *ns = arg;
    ns->rc = (int)loom_run(node_srv_main, ns);
    if (ns->port == 0)
        ns->port = -1;
    return NULL;
}

START_TEST(test_node_client)
{
    const char *mods = node_modules();
    struct node_srv ns = {0};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, node_srv_thread, &ns), 0);
    for (int i = 0; i < 1000 && ns.port == 0; i++)
        usleep(10000);
    ck_assert_int_gt(ns.port, 0);
    char script[512], port[16], env[600], *out = NULL;
    tools_path("ws_client.js", script, sizeof script);
    snprintf(port, sizeof port, "%d", ns.port);
    snprintf(env, sizeof env, "NODE_PATH=%s", mods);
    char *argv[] = {"/usr/bin/env", env, "node", script, port, NULL};
    int rc = test_run(argv, NULL, 30, &out, NULL);
    pthread_join(th, NULL);
    ck_assert_msg(rc == 0, "node client exited %d:\n%s", rc, out);
    ck_assert_contains(out, "OK");
    ck_assert_contains(out, "closed 4000"); /* the echo carries the code only */
    ck_assert_int_eq(ns.rc, LOOM_EOF);
    ck_assert_int_eq(ns.messages, 4);
    ck_assert_int_eq(ns.close_code, 4000);
    ck_assert_str_eq(ns.reason, "done");
    free(out);
}
END_TEST

static intptr_t node_server_main(void *arg)
{
    int port = (int)(intptr_t)arg;
    struct loom_stream *s;
    ck_assert_int_eq(loom_tcp_connect("127.0.0.1", port, LOOM_SEC(5), &s), 0);
    char host[32];
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    struct loom_ws_client_options o = {.host = host, .path = "/loom?x=1"};
    struct loom_ws *ws;
    ck_assert_int_eq(loom_ws_connect(s, &o, NULL, &ws), 0);
    expect_msg(ws, LOOM_WS_TEXT, "fragmented \xc3\xa9", 13);
    ck_assert_int_eq(loom_ws_send_text(ws, "hello \xe2\x82\xac", 9), 0);
    expect_msg(ws, LOOM_WS_TEXT, "hello \xe2\x82\xac", 9);
    static uint8_t big[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    ck_assert_int_eq(loom_ws_send(ws, LOOM_WS_BINARY, big, sizeof big, LOOM_SEC(5)), 0);
    expect_msg(ws, LOOM_WS_BINARY, big, sizeof big);
    ck_assert_int_eq(loom_ws_send_frame(ws, LOOM_WS_TEXT, false, "a\xe2", 2), 0);
    ck_assert_int_eq(loom_ws_ping(ws, "mid", 3), 0);
    ck_assert_int_eq(loom_ws_send_frame(ws, LOOM_WS_CONT, true, "\x82\xac", 2), 0);
    expect_msg(ws, LOOM_WS_TEXT, "a\xe2\x82\xac", 4);
    return loom_ws_close(ws, 1000, "bye", LOOM_SEC(5));
}

START_TEST(test_node_server)
{
    const char *mods = node_modules();
    char script[512], env[600];
    tools_path("ws_server.js", script, sizeof script);
    snprintf(env, sizeof env, "NODE_PATH=%s", mods);
    char *argv[] = {"/usr/bin/env", env, "node", script, NULL};
    struct test_server srv;
    test_server_start(&srv, argv);
    ck_assert_int_eq(test_run_task(node_server_main, (void *)(intptr_t)srv.port), 0);
    ck_assert_int_eq(test_server_wait(&srv, 10), 0);
    TEST_IN_ORDER(srv.buf, "path /loom?x=1 protocol -", "echo text 9", "echo binary 100000",
                  "echo text 4", "server saw close 1000 bye");
    ck_assert_contains(srv.buf, "pong from-node");
    ck_assert_contains(srv.buf, "pong mid");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ws");
    TCase *tc = test_tcase(s, "parser", 20);
    tcase_add_test(tc, test_parser_events);
    tcase_add_test(tc, test_mask_offsets);
    tcase_add_test(tc, test_parser_limits);
    tc = test_tcase(s, "server", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_echo);
    tcase_add_test(tc, test_fragments);
    tcase_add_test(tc, test_dribbled);
    tcase_add_test(tc, test_limit_ok);
    tcase_add_test(tc, test_no_alloc);
    tcase_add_loop_test(tc, test_vanish, 0, 4);
    tcase_add_test(tc, test_timeouts);
    tcase_add_test(tc, test_keepalive);
    tcase_add_test(tc, test_backpressure);
    tcase_add_test(tc, test_ping_flood);
    tc = test_tcase(s, "errors", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_loop_test(tc, test_errors, 0, 2 * N_ECASES); /* whole, then byte by byte */
    tc = test_tcase(s, "close", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_loop_test(tc, test_close_echo, 0, sizeof good_codes / sizeof good_codes[0]);
    tcase_add_test(tc, test_close_local);
    tcase_add_test(tc, test_borrow);
    tc = test_tcase(s, "client", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_client);
    tcase_add_test(tc, test_client_errors);
    tc = test_tcase(s, "handshake", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_accept_key);
    tcase_add_loop_test(tc, test_server_check, 0, sizeof hcases / sizeof hcases[0]);
    tcase_add_test(tc, test_format);
    tcase_add_test(tc, test_tcp);
    tcase_add_test(tc, test_tls);
    tcase_add_loop_test(tc, test_connect, 0, N_CANNED);
    tcase_add_test(tc, test_connect_limits);
    tc = test_tcase(s, "node", 240);
    tcase_add_test(tc, test_node_client);
    tcase_add_test(tc, test_node_server);
    return test_main(s);
}
