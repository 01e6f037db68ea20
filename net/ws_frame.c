/* ws_frame.c - the WebSocket frame parser and frame header writer (RFC 6455
 * section 5).
 *
 * The parser gathers at most 14 header bytes in its own small array and
 * validates the header as soon as each field is known; payload bytes are
 * handed back as views into the caller's buffer. It never allocates, so the
 * size limits are enforced before anyone buffers a byte of a frame. */
#include "net/ws.h"

#include <string.h>

static const struct {
    uint16_t code;
    const char *msg;
} parse_errors[] = {{0, "no error"},
#define LOOM__WS_ROW(name, code, msg) {code, msg},
                    LOOM_WS_PARSE_ERRORS(LOOM__WS_ROW)
#undef LOOM__WS_ROW
};

#define N_ERRORS (sizeof parse_errors / sizeof parse_errors[0])

uint16_t loom_ws_parse_close_code(enum loom_ws_parse_error err)
{
    return (unsigned)err < N_ERRORS ? parse_errors[err].code : LOOM_WS_PROTOCOL_ERROR;
}

const char *loom_ws_parse_strerror(enum loom_ws_parse_error err)
{
    return (unsigned)err < N_ERRORS ? parse_errors[err].msg : "unknown error";
}

void loom_ws_parser_init(struct loom_ws_parser *p, enum loom_ws_role role, uint64_t max_frame,
                         uint64_t max_message)
{
    memset(p, 0, sizeof *p);
    p->role = role;
    p->max_frame = max_frame ? max_frame : LOOM_WS_MAX_FRAME;
    p->max_message = max_message ? max_message : LOOM_WS_MAX_MESSAGE;
    p->_need = 2;
}

uint64_t loom_ws_parser_need(const struct loom_ws_parser *p)
{
    if (p->error)
        return 0;
    return p->_in_payload ? p->_left : (uint64_t)(p->_need - p->_have);
}

static ssize_t fail(struct loom_ws_parser *p, enum loom_ws_parse_error err)
{
    p->error = err;
    return LOOM_EWS;
}

/* Checks that need only the first two bytes; sets _need to the header length. */
static enum loom_ws_parse_error check_first2(struct loom_ws_parser *p)
{
    uint8_t b0 = p->_hdr[0], b1 = p->_hdr[1], op = b0 & 0x0F, len7 = b1 & 0x7F;
    bool masked = b1 & 0x80;
    if (b0 & 0x70)
        return LOOM_WS_ERR_RSV; /* 5.2: no extension negotiated */
    if ((op > LOOM_WS_BINARY && op < LOOM_WS_CLOSE) || op > LOOM_WS_PONG)
        return LOOM_WS_ERR_OPCODE;
    if (op >= LOOM_WS_CLOSE) { /* 5.5: control frames */
        if (len7 > LOOM_WS_MAX_CONTROL)
            return LOOM_WS_ERR_CONTROL_LEN;
        if (!(b0 & 0x80))
            return LOOM_WS_ERR_CONTROL_FRAGMENTED;
    }
    if (p->role == LOOM_WS_SERVER && !masked)
        return LOOM_WS_ERR_UNMASKED; /* 5.1 */
    if (p->role == LOOM_WS_CLIENT && masked)
        return LOOM_WS_ERR_MASKED;
    if (op == LOOM_WS_CONT && !p->_msg_opcode)
        return LOOM_WS_ERR_CONTINUATION; /* 5.4 */
    if ((op == LOOM_WS_TEXT || op == LOOM_WS_BINARY) && p->_msg_opcode)
        return LOOM_WS_ERR_INTERLEAVED;
    p->_need = (uint8_t)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0));
    return LOOM_WS_ERR_NONE;
}

/* The whole header is in _hdr: decode the length, apply the limits, fill frame. */
static enum loom_ws_parse_error finish_header(struct loom_ws_parser *p)
{
    const uint8_t *h = p->_hdr;
    struct loom_ws_frame *f = &p->frame;
    uint64_t len = h[1] & 0x7F;
    size_t at = 2;
    if (len == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
        at = 4;
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | h[2 + i];
        at = 10;
        if (len >> 63)
            return LOOM_WS_ERR_LENGTH;
    }
    f->opcode = h[0] & 0x0F;
    f->fin = h[0] & 0x80;
    f->masked = h[1] & 0x80;
    if (f->masked)
        memcpy(f->key, h + at, 4);
    else
        memset(f->key, 0, 4);
    f->len = len;
    if (f->opcode >= LOOM_WS_CLOSE)
        return LOOM_WS_ERR_NONE;
    if (len > p->max_frame)
        return LOOM_WS_ERR_FRAME_TOO_BIG;
    uint64_t so_far = f->opcode == LOOM_WS_CONT ? p->_msg_len : 0;
    if (len > p->max_message - so_far)
        return LOOM_WS_ERR_MESSAGE_TOO_BIG;
    p->_msg_len = so_far + len;
    p->_msg_opcode = f->fin ? 0 : (f->opcode == LOOM_WS_CONT ? p->_msg_opcode : f->opcode);
    return LOOM_WS_ERR_NONE;
}

/* Gather header bytes; on the last one validate and emit HEADER. */
static ssize_t parse_header(struct loom_ws_parser *p, const uint8_t *buf, size_t len,
                            struct loom_ws_event *ev)
{
    size_t used = 0;
    while (used < len && p->_have < p->_need) {
        p->_hdr[p->_have++] = buf[used++];
        if (p->_have == 2) {
            enum loom_ws_parse_error err = check_first2(p);
            if (err)
                return fail(p, err);
        }
    }
    if (p->_have < p->_need)
        return (ssize_t)used;
    enum loom_ws_parse_error err = finish_header(p);
    if (err)
        return fail(p, err);
    p->_have = 0;
    p->_need = 2;
    p->_in_payload = true;
    p->_left = p->frame.len;
    ev->type = LOOM_WS_EV_HEADER;
    return (ssize_t)used;
}

ssize_t loom_ws_parse(struct loom_ws_parser *p, const void *buf, size_t len,
                      struct loom_ws_event *ev)
{
    memset(ev, 0, sizeof *ev);
    if (p->error)
        return LOOM_EWS;
    if (!p->_in_payload)
        return parse_header(p, buf, len, ev);
    if (p->_left > 0 && len == 0)
        return 0; /* MORE */
    size_t n = len < p->_left ? len : (size_t)p->_left;
    ev->type = LOOM_WS_EV_DATA;
    ev->data = buf;
    ev->len = n;
    ev->offset = p->frame.len - p->_left;
    p->_left -= n;
    ev->end = p->_left == 0;
    if (ev->end)
        p->_in_payload = false;
    return (ssize_t)n;
}

void loom_ws_mask(void *dst, const void *src, size_t len, const uint8_t key[4], uint64_t offset)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    size_t i = 0, k = (size_t)(offset & 3);
    /* Byte at a time until the key is aligned, then 8 bytes at a time. */
    for (; i < len && k != 0; i++, k = (k + 1) & 3)
        d[i] = s[i] ^ key[k];
    uint64_t w8;
    uint8_t rep[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
    memcpy(&w8, rep, 8);
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        w ^= w8;
        memcpy(d + i, &w, 8);
    }
    for (k = 0; i < len; i++, k++)
        d[i] = s[i] ^ key[k & 3];
}

size_t loom_ws_frame_header(uint8_t out[LOOM_WS_MAX_HEADER], unsigned opcode, bool fin,
                            uint64_t len, const uint8_t *key)
{
    size_t n = 2;
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
    uint8_t m = key ? 0x80 : 0;
    if (len < 126) {
        out[1] = (uint8_t)(m | len);
    } else if (len <= 0xFFFF) {
        out[1] = m | 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        n = 4;
    } else {
        out[1] = m | 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        n = 10;
    }
    if (key) {
        memcpy(out + n, key, 4);
        n += 4;
    }
    return n;
}
