/* ws.c - WebSocket connections over a loom stream (RFC 6455 sections 5-7).
 *
 * All receive state (parser, partly reassembled message, UTF-8 validator)
 * lives in the connection, and the stream is asked for at most the bytes the
 * parser can take before its next event (loom_ws_parser_need), so no byte is
 * ever consumed from the stream without being accounted for: a receive that
 * times out or is cancelled mid-message loses nothing, and the next call
 * resumes where it stopped.
 *
 * Closing (section 7): a close frame received is validated and echoed; the
 * server then closes TCP first, the client waits (bounded) for the server's
 * EOF. A protocol error fails the connection: close frame with the code, then
 * a half-close and a bounded lingering read so the peer sees the frame instead
 * of a reset. */
#include "net/ws.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* Pongs are skipped while this much output is queued: a peer that floods
 * pings and never reads cannot grow our buffer (section 5.5.3 allows
 * answering only the latest ping). */
#define PONG_BACKLOG (64 * 1024)
/* A reassembly buffer bigger than this is freed after its message was read,
 * so one large message does not pin memory for the connection's life. */
#define MSG_KEEP (64 * 1024)

struct loom_ws {
    struct loom_stream *s; /* owned; NULL once closed */
    enum loom_ws_role role;
    enum loom_ws_state state;
    struct loom_ws_options opt; /* with defaults filled in */
    struct loom_ws_parser p;
    uint8_t *msg; /* reassembly buffer (grows up to max_message + 1) */
    size_t msg_cap;
    size_t msg_len;
    uint8_t msg_type;                 /* opcode of the message being received */
    bool delivered;                   /* msg was handed out: reset at the next recv */
    struct loom_utf8 utf8;            /* validator for a text message across fragments */
    uint8_t ctl[LOOM_WS_MAX_CONTROL]; /* payload of the control frame being received */
    bool reading;                     /* a task is inside recv */
    int final;                        /* what recv returns once CLOSED */
    int peer_code;                    /* 0, 1005, 1006 or the peer's code */
    char peer_reason[LOOM_WS_MAX_CONTROL - 1];
    int local_code;    /* the code we sent, 0 if none */
    int64_t close_dl;  /* loom_ws_close's deadline for closing steps, -1: none */
    int64_t last_rx;   /* when bytes last arrived (keepalive) */
    int64_t ping_sent; /* when the unanswered keepalive ping went out */
    bool ping_out;     /* a keepalive ping is unanswered */
    uint64_t rng;      /* masking-key generator state */
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t deadline_of(int64_t timeout_ns)
{
    return timeout_ns < 0 ? -1 : now_ns() + timeout_ns;
}

/* Time left until deadline for a stream call: -1 none, 0 at or past it. */
static int64_t left_ns(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t t = now_ns();
    return deadline > t ? deadline - t : 0;
}

/* xorshift64* seeded from getrandom: masking keys only need to be
 * unpredictable to scripts in the page (section 10.3), not secret. */
static uint32_t next_key(struct loom_ws *ws)
{
    uint64_t x = ws->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    ws->rng = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

/* --- lifecycle --- */

int loom_ws_attach(struct loom_stream *s, enum loom_ws_role role, const struct loom_ws_options *opt,
                   struct loom_ws **out)
{
    if (!s || !out || (role != LOOM_WS_SERVER && role != LOOM_WS_CLIENT))
        return -EINVAL;
    struct loom_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return -ENOMEM;
    if (opt)
        ws->opt = *opt;
    if (!ws->opt.max_frame)
        ws->opt.max_frame = LOOM_WS_MAX_FRAME;
    if (!ws->opt.max_message)
        ws->opt.max_message = LOOM_WS_MAX_MESSAGE;
    if (ws->opt.max_frame > ws->opt.max_message)
        ws->opt.max_frame = ws->opt.max_message;
    if (ws->opt.close_timeout_ns <= 0)
        ws->opt.close_timeout_ns = LOOM_SEC(5);
    if (ws->opt.ping_timeout_ns <= 0)
        ws->opt.ping_timeout_ns = LOOM_SEC(20);
    ws->s = s;
    ws->role = role;
    ws->close_dl = -1;
    ws->last_rx = now_ns();
    loom_ws_parser_init(&ws->p, role, ws->opt.max_frame, ws->opt.max_message);
    if (getrandom(&ws->rng, sizeof ws->rng, GRND_NONBLOCK) != sizeof ws->rng)
        ws->rng ^= (uint64_t)now_ns() ^ (uintptr_t)ws;
    ws->rng |= 1; /* xorshift state must not be 0 */
    *out = ws;
    return 0;
}

/* --- sending --- */

/* Queue one frame; a client masks it with a fresh key. */
static int send_raw(struct loom_ws *ws, unsigned opcode, bool fin, const void *data, size_t len)
{
    if (!ws->s)
        return -EPIPE;
    uint8_t hdr[LOOM_WS_MAX_HEADER];
    struct iovec iov[2] = {{hdr, 0}, {(void *)data, len}};
    if (ws->role == LOOM_WS_SERVER) {
        iov[0].iov_len = loom_ws_frame_header(hdr, opcode, fin, len, NULL);
        return loom_stream_writev(ws->s, iov, len ? 2 : 1);
    }
    uint32_t k = next_key(ws);
    uint8_t key[4], small[512];
    memcpy(key, &k, 4);
    iov[0].iov_len = loom_ws_frame_header(hdr, opcode, fin, len, key);
    uint8_t *tmp = len <= sizeof small ? small : malloc(len);
    if (!tmp)
        return -ENOMEM;
    loom_ws_mask(tmp, data, len, key, 0);
    iov[1].iov_base = tmp;
    int rc = loom_stream_writev(ws->s, iov, len ? 2 : 1);
    if (tmp != small)
        free(tmp);
    return rc;
}

static int send_data(struct loom_ws *ws, unsigned opcode, bool fin, const void *data, size_t len)
{
    if (ws->state != LOOM_WS_OPEN)
        return -EPIPE;
    return send_raw(ws, opcode, fin, data, len);
}

int loom_ws_send_text(struct loom_ws *ws, const void *data, size_t len)
{
    if (!loom_utf8_valid(data, len))
        return -EINVAL;
    return send_data(ws, LOOM_WS_TEXT, true, data, len);
}

int loom_ws_send_binary(struct loom_ws *ws, const void *data, size_t len)
{
    return send_data(ws, LOOM_WS_BINARY, true, data, len);
}

int loom_ws_send(struct loom_ws *ws, enum loom_ws_opcode type, const void *data, size_t len,
                 int64_t timeout_ns)
{
    int rc;
    if (type == LOOM_WS_TEXT)
        rc = loom_ws_send_text(ws, data, len);
    else if (type == LOOM_WS_BINARY)
        rc = loom_ws_send_binary(ws, data, len);
    else
        return -EINVAL;
    if (rc < 0)
        return rc;
    return ws->s ? loom_stream_drain(ws->s, timeout_ns) : -EPIPE;
}

int loom_ws_send_frame(struct loom_ws *ws, enum loom_ws_opcode opcode, bool fin, const void *data,
                       size_t len)
{
    if (opcode != LOOM_WS_TEXT && opcode != LOOM_WS_BINARY && opcode != LOOM_WS_CONT)
        return -EINVAL;
    return send_data(ws, opcode, fin, data, len);
}

int loom_ws_ping(struct loom_ws *ws, const void *data, size_t len)
{
    if (len > LOOM_WS_MAX_CONTROL)
        return -EINVAL;
    return send_data(ws, LOOM_WS_PING, true, data, len);
}

/* Codes an endpoint may put in a close frame (section 7.4, IANA registry). */
static bool code_valid(int code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

int loom_ws_send_close(struct loom_ws *ws, int code, const char *reason)
{
    size_t rlen = reason ? strlen(reason) : 0;
    if ((code != 0 && !code_valid(code)) || (code == 0 && rlen) || rlen > LOOM_WS_MAX_CONTROL - 2 ||
        !loom_utf8_valid(reason, rlen))
        return -EINVAL;
    if (ws->state != LOOM_WS_OPEN)
        return -EPIPE;
    uint8_t pl[LOOM_WS_MAX_CONTROL];
    size_t n = 0;
    if (code) {
        pl[0] = (uint8_t)(code >> 8);
        pl[1] = (uint8_t)code;
        if (rlen)
            memcpy(pl + 2, reason, rlen);
        n = 2 + rlen;
    }
    ws->state = LOOM_WS_CLOSING;
    ws->local_code = code ? code : LOOM_WS_NO_STATUS;
    return send_raw(ws, LOOM_WS_CLOSE, true, pl, n);
}

/* --- closing steps --- */

static int64_t close_deadline(struct loom_ws *ws)
{
    int64_t dl = now_ns() + ws->opt.close_timeout_ns;
    return ws->close_dl >= 0 && ws->close_dl < dl ? ws->close_dl : dl;
}

/* Read and drop bytes until the peer's EOF or the deadline. */
static int discard_until_eof(struct loom_ws *ws, int64_t deadline)
{
    for (;;) {
        const void *v;
        ssize_t n = loom_stream_read_view(ws->s, &v, 1 << 16, left_ns(deadline));
        if (n == LOOM_EOF)
            return 0;
        if (n < 0)
            return (int)n;
    }
}

/* Close the stream and enter CLOSED with what recv returns from now on. */
static void finish(struct loom_ws *ws, int final)
{
    if (ws->s && !ws->opt.borrow_stream)
        loom_stream_close(ws->s);
    ws->s = NULL;
    ws->state = LOOM_WS_CLOSED;
    ws->final = final;
    if (!ws->peer_code)
        ws->peer_code = LOOM_WS_ABNORMAL;
}

/* Fail the connection (section 7.1.7) with code: close frame, half-close,
 * bounded lingering read, close. Returns rc (or -ECANCELED if cancelled). */
static int fail(struct loom_ws *ws, int code, const char *why, int rc)
{
    if (ws->state == LOOM_WS_OPEN)
        loom_ws_send_close(ws, code, why);
    int64_t dl = close_deadline(ws);
    int r = loom_stream_flush(ws->s, left_ns(dl));
    if (r == 0 && loom_stream_write_eof(ws->s) == 0)
        r = discard_until_eof(ws, dl);
    finish(ws, rc);
    return r == -ECANCELED ? r : rc;
}

/* The peer vanished without a close frame (EOF or a reset). */
static int vanished(struct loom_ws *ws)
{
    finish(ws, -ECONNRESET);
    ws->peer_code = LOOM_WS_ABNORMAL;
    return -ECONNRESET;
}

/* Both close frames have been exchanged: the server closes TCP first (section
 * 7.1.1), the client waits for it, bounded. */
static int handshake_done(struct loom_ws *ws)
{
    int64_t dl = close_deadline(ws);
    int r = loom_stream_flush(ws->s, left_ns(dl));
    if (r == 0 && ws->role == LOOM_WS_CLIENT)
        r = discard_until_eof(ws, dl);
    finish(ws, LOOM_EOF);
    return r == -ECANCELED ? r : LOOM_EOF;
}

/* A close frame arrived with len payload bytes in ws->ctl (section 5.5.1). */
static int on_close(struct loom_ws *ws, size_t len)
{
    int code = LOOM_WS_NO_STATUS;
    if (len == 1)
        return fail(ws, LOOM_WS_PROTOCOL_ERROR, "close frame of one byte", LOOM_EWS);
    if (len >= 2) {
        code = ws->ctl[0] << 8 | ws->ctl[1];
        if (!code_valid(code))
            return fail(ws, LOOM_WS_PROTOCOL_ERROR, "invalid close code", LOOM_EWS);
        if (!loom_utf8_valid(ws->ctl + 2, len - 2))
            return fail(ws, LOOM_WS_INVALID_DATA, "close reason is not UTF-8", LOOM_EWS);
        memcpy(ws->peer_reason, ws->ctl + 2, len - 2);
        ws->peer_reason[len - 2] = '\0';
    }
    ws->peer_code = code;
    if (ws->state == LOOM_WS_OPEN)
        loom_ws_send_close(ws, code == LOOM_WS_NO_STATUS ? 0 : code, NULL);
    return handshake_done(ws);
}

/* --- receiving --- */

static int on_control(struct loom_ws *ws, unsigned opcode, size_t len)
{
    if (opcode == LOOM_WS_PING) {
        if (ws->state == LOOM_WS_OPEN && loom_stream_write_buffered(ws->s) < PONG_BACKLOG)
            send_raw(ws, LOOM_WS_PONG, true, ws->ctl, len); /* errors show on the next read */
        return 0;
    }
    if (opcode == LOOM_WS_PONG)
        return 0;
    return on_close(ws, len);
}

/* Room for `more` bytes plus a NUL in the message buffer (bounded by the
 * parser's message limit, so at most max_message + 1). */
static int msg_reserve(struct loom_ws *ws, size_t more)
{
    size_t want = ws->msg_len + more + 1;
    if (want <= ws->msg_cap)
        return 0;
    size_t cap = ws->msg_cap ? ws->msg_cap * 2 : 4096;
    if (cap > ws->opt.max_message + 1)
        cap = ws->opt.max_message + 1;
    if (cap < want)
        cap = want;
    uint8_t *m = realloc(ws->msg, cap);
    if (!m)
        return -ENOMEM;
    ws->msg = m;
    ws->msg_cap = cap;
    return 0;
}

/* Payload bytes of the current frame: control payloads go to ctl, data to the
 * message buffer, unmasked on the way; text is validated as it arrives. */
static int on_data(struct loom_ws *ws, const struct loom_ws_event *ev, struct loom_ws_message *msg)
{
    const struct loom_ws_frame *f = &ws->p.frame;
    if (f->opcode >= LOOM_WS_CLOSE) {
        loom_ws_mask(ws->ctl + ev->offset, ev->data, ev->len, f->key, ev->offset);
        return ev->end ? on_control(ws, f->opcode, (size_t)f->len) : 0;
    }
    if (msg_reserve(ws, ev->len) < 0)
        return fail(ws, LOOM_WS_INTERNAL_ERROR, "out of memory", -ENOMEM);
    uint8_t *dst = ws->msg + ws->msg_len;
    loom_ws_mask(dst, ev->data, ev->len, f->key, ev->offset);
    ws->msg_len += ev->len;
    bool text = ws->msg_type == LOOM_WS_TEXT;
    if (text && !loom_utf8_feed(&ws->utf8, dst, ev->len))
        return fail(ws, LOOM_WS_INVALID_DATA, "invalid UTF-8 in text", LOOM_EWS);
    if (!ev->end || !f->fin)
        return 0;
    if (text && !loom_utf8_complete(&ws->utf8))
        return fail(ws, LOOM_WS_INVALID_DATA, "text ends inside a character", LOOM_EWS);
    ws->msg[ws->msg_len] = '\0';
    msg->type = ws->msg_type;
    msg->data = ws->msg;
    msg->len = ws->msg_len;
    ws->delivered = true;
    return ws->msg_type;
}

/* Run the parser over buf[0..len) (exactly what it said it needed). Returns 0
 * to read more, a message type, or how the connection ended. */
static int feed(struct loom_ws *ws, const uint8_t *buf, size_t len, struct loom_ws_message *msg)
{
    size_t off = 0;
    for (;;) {
        struct loom_ws_event ev;
        ssize_t r = loom_ws_parse(&ws->p, buf + off, len - off, &ev);
        if (r < 0)
            return fail(ws, loom_ws_parse_close_code(ws->p.error),
                        loom_ws_parse_strerror(ws->p.error), LOOM_EWS);
        off += (size_t)r;
        if (ev.type == LOOM_WS_EV_MORE)
            return 0;
        if (ev.type == LOOM_WS_EV_HEADER) {
            uint8_t op = ws->p.frame.opcode;
            if (op == LOOM_WS_TEXT || op == LOOM_WS_BINARY) {
                ws->msg_type = op;
                ws->msg_len = 0;
                loom_utf8_init(&ws->utf8);
            }
        } else {
            int rc = on_data(ws, &ev, msg);
            if (rc != 0)
                return rc;
        }
        if (off == len && loom_ws_parser_need(&ws->p) > 0)
            return 0;
    }
}

/* When the keepalive next needs attention (absolute), or -1. */
static int64_t keepalive_due(const struct loom_ws *ws)
{
    if (!ws->opt.ping_interval_ns || ws->state != LOOM_WS_OPEN)
        return -1;
    return ws->ping_out ? ws->ping_sent + ws->opt.ping_timeout_ns
                        : ws->last_rx + ws->opt.ping_interval_ns;
}

static int keepalive(struct loom_ws *ws)
{
    if (ws->ping_out) {
        int rc = fail(ws, LOOM_WS_INTERNAL_ERROR, "keepalive ping timeout", -ECONNABORTED);
        return rc;
    }
    ws->ping_out = true;
    ws->ping_sent = now_ns();
    int rc = send_raw(ws, LOOM_WS_PING, true, "loom", 4);
    return rc < 0 ? vanished(ws) : 0;
}

/* Read at most need bytes (a view), serving the keepalive while waiting. */
static ssize_t read_some(struct loom_ws *ws, const void **view, uint64_t need, int64_t deadline)
{
    size_t max = need > SIZE_MAX ? SIZE_MAX : (size_t)need;
    for (;;) {
        int64_t t = now_ns(), wait = left_ns(deadline), ka = keepalive_due(ws);
        bool ka_first = ka >= 0 && (wait < 0 || ka - t < wait);
        if (ka_first)
            wait = ka > t ? ka - t : 0;
        ssize_t n = loom_stream_read_view(ws->s, view, max, wait);
        if (n > 0) {
            ws->last_rx = now_ns();
            ws->ping_out = false; /* any traffic shows the peer is alive */
            return n;
        }
        if (n == -ETIMEDOUT && ka_first) {
            int rc = keepalive(ws);
            if (rc < 0)
                return rc;
            continue;
        }
        if (n == -ETIMEDOUT || n == -ECANCELED)
            return n;
        return vanished(ws);
    }
}

static int recv_loop(struct loom_ws *ws, struct loom_ws_message *msg, int64_t deadline)
{
    if (ws->delivered) {
        ws->delivered = false;
        ws->msg_len = 0;
        if (ws->msg_cap > MSG_KEEP) {
            free(ws->msg);
            ws->msg = NULL;
            ws->msg_cap = 0;
        }
    }
    for (;;) {
        uint64_t need = loom_ws_parser_need(&ws->p);
        const void *view = NULL;
        ssize_t n = 0;
        if (need > 0 && (n = read_some(ws, &view, need, deadline)) < 0)
            return (int)n;
        int rc = feed(ws, view, (size_t)n, msg);
        if (rc != 0)
            return rc;
    }
}

int loom_ws_recv(struct loom_ws *ws, struct loom_ws_message *msg, int64_t timeout_ns)
{
    if (ws->state == LOOM_WS_CLOSED)
        return ws->final;
    if (ws->reading)
        return -EBUSY;
    ws->reading = true;
    int rc = recv_loop(ws, msg, deadline_of(timeout_ns));
    ws->reading = false;
    return rc;
}

int loom_ws_close(struct loom_ws *ws, int code, const char *reason, int64_t timeout_ns)
{
    if (!ws)
        return 0;
    if (ws->reading)
        return -EBUSY; /* freeing under the reader would leave it on freed memory */
    int rc = 0;
    ws->close_dl = deadline_of(timeout_ns);
    if (ws->state == LOOM_WS_OPEN && loom_ws_send_close(ws, code, reason) == -EINVAL) {
        rc = -EINVAL;
        loom_ws_send_close(ws, LOOM_WS_NORMAL, NULL);
    }
    while (ws->state == LOOM_WS_CLOSING) {
        struct loom_ws_message m;
        ws->reading = true;
        int r = recv_loop(ws, &m, ws->close_dl);
        ws->reading = false;
        if (r > 0)
            continue; /* data sent before the peer saw our close: dropped */
        if (r != LOOM_EOF && rc == 0)
            rc = r;
        break;
    }
    if (ws->s && !ws->opt.borrow_stream)
        loom_stream_close(ws->s);
    free(ws->msg);
    free(ws);
    return rc;
}

/* --- accessors --- */

enum loom_ws_state loom_ws_state(const struct loom_ws *ws) { return ws->state; }

int loom_ws_close_code(const struct loom_ws *ws) { return ws->peer_code; }

const char *loom_ws_close_reason(const struct loom_ws *ws) { return ws->peer_reason; }

int loom_ws_local_close_code(const struct loom_ws *ws) { return ws->local_code; }

struct loom_stream *loom_ws_stream(const struct loom_ws *ws) { return ws->s; }
