/* ws.h - WebSocket (RFC 6455) over any loom stream: TCP, Unix socket, TLS.
 *
 * Three layers, usable separately:
 *
 *  1. A frame parser (struct loom_ws_parser): incremental and zero-copy. It is
 *     fed whatever bytes arrived and returns events: a frame header was parsed,
 *     or a chunk of payload (a view into the caller's buffer, still masked).
 *     Every check that can refuse a frame runs on the header, before any of the
 *     payload is buffered by anyone: reserved bits, unknown opcodes, control
 *     frames over 125 bytes or fragmented, 64-bit lengths with the top bit set,
 *     masking by role, fragment sequencing, and the frame and message limits.
 *     A 1 GiB header is refused after its 10 header bytes.
 *
 *  2. A connection (struct loom_ws) attached to a stream. loom_ws_recv()
 *     returns whole messages (fragments reassembled up to the message limit,
 *     text validated incrementally), answers pings, ignores pongs, and runs the
 *     close handshake; sends never suspend except loom_ws_send(), which applies
 *     the stream's backpressure. Protocol errors fail the connection with the
 *     RFC's close code (1002, 1007, 1009) and a bounded lingering close.
 *
 *  3. Handshake helpers that take plain values (they do not depend on an HTTP
 *     parser), a server accept that writes the 101 response, and a client
 *     connect that writes the upgrade request and checks the response.
 *
 * Limits default to 1 MiB per frame and per message. Time values are
 * nanoseconds, relative; -1 means no timeout. */
#ifndef LOOM_NET_WS_H
#define LOOM_NET_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loom/net/stream.h"
#include "loom/net/utf8.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* --- constants --- */

/* Frame opcodes (RFC 6455 section 5.2). */
enum loom_ws_opcode {
    LOOM_WS_CONT = 0x0,
    LOOM_WS_TEXT = 0x1,
    LOOM_WS_BINARY = 0x2,
    LOOM_WS_CLOSE = 0x8,
    LOOM_WS_PING = 0x9,
    LOOM_WS_PONG = 0xA,
};

/* Close codes (section 7.4.1). 1005 and 1006 are never sent: they report "the
 * close frame had no code" and "the connection ended without a close frame". */
enum loom_ws_close_code {
    LOOM_WS_NORMAL = 1000,
    LOOM_WS_GOING_AWAY = 1001,
    LOOM_WS_PROTOCOL_ERROR = 1002,
    LOOM_WS_UNSUPPORTED_DATA = 1003,
    LOOM_WS_NO_STATUS = 1005,
    LOOM_WS_ABNORMAL = 1006,
    LOOM_WS_INVALID_DATA = 1007,
    LOOM_WS_POLICY = 1008,
    LOOM_WS_TOO_BIG = 1009,
    LOOM_WS_INTERNAL_ERROR = 1011,
};

/* Which end of the connection: a client masks what it sends. */
enum loom_ws_role { LOOM_WS_SERVER = 0, LOOM_WS_CLIENT = 1 };

enum {
    LOOM_WS_MAX_FRAME = 1 << 20,   /* default frame payload limit */
    LOOM_WS_MAX_MESSAGE = 1 << 20, /* default reassembled message limit */
    LOOM_WS_MAX_HEADER = 14,       /* longest frame header */
    LOOM_WS_MAX_CONTROL = 125,     /* longest control frame payload */
    LOOM_WS_KEY_LEN = 24,          /* Sec-WebSocket-Key: base64 of 16 bytes */
    LOOM_WS_ACCEPT_LEN = 28,       /* Sec-WebSocket-Accept: base64 of a SHA-1 */
};

/* X(name, close code, message): why the parser refused its input. */
#define LOOM_WS_PARSE_ERRORS(X)                                                                    \
    X(LOOM_WS_ERR_RSV, 1002, "reserved bits set without a negotiated extension")                   \
    X(LOOM_WS_ERR_OPCODE, 1002, "unknown opcode")                                                  \
    X(LOOM_WS_ERR_CONTROL_LEN, 1002, "control frame longer than 125 bytes")                        \
    X(LOOM_WS_ERR_CONTROL_FRAGMENTED, 1002, "fragmented control frame")                            \
    X(LOOM_WS_ERR_LENGTH, 1002, "64-bit payload length with the top bit set")                      \
    X(LOOM_WS_ERR_UNMASKED, 1002, "unmasked frame from a client")                                  \
    X(LOOM_WS_ERR_MASKED, 1002, "masked frame from a server")                                      \
    X(LOOM_WS_ERR_CONTINUATION, 1002, "continuation frame without a message to continue")          \
    X(LOOM_WS_ERR_INTERLEAVED, 1002, "new message before the fragmented one ended")                \
    X(LOOM_WS_ERR_FRAME_TOO_BIG, 1009, "frame over the frame size limit")                          \
    X(LOOM_WS_ERR_MESSAGE_TOO_BIG, 1009, "message over the message size limit")

/* Protocol errors of the frame parser (LOOM_WS_PARSE_ERRORS), each with the close code sent. */
enum loom_ws_parse_error {
    LOOM_WS_ERR_NONE = 0,
#define LOOM__WS_ENUM(name, code, msg) name,
    LOOM_WS_PARSE_ERRORS(LOOM__WS_ENUM)
#undef LOOM__WS_ENUM
};

/* --- the frame parser --- */

/* A parsed frame header. */
struct loom_ws_frame {
    uint8_t opcode; /* enum loom_ws_opcode */
    bool fin;       /* last frame of its message (always true for control frames) */
    /* the payload is masked (every client frame) */
    bool masked;
    uint8_t key[4]; /* masking key if masked */
    uint64_t len;   /* payload length */
};

/* What loom_ws_parse() found. */
enum loom_ws_event_type {
    LOOM_WS_EV_MORE = 0, /* everything given was consumed; feed more bytes */
    LOOM_WS_EV_HEADER,   /* a frame header was parsed: see parser->frame */
    LOOM_WS_EV_DATA,     /* payload bytes of the current frame (possibly 0 of them) */
};

/* One result of loom_ws_parse(). */
struct loom_ws_event {
    /* what this event is */
    enum loom_ws_event_type type;
    const uint8_t *data; /* DATA: view into the buffer given to loom_ws_parse, still masked */
    size_t len;          /* DATA: bytes in data */
    uint64_t offset;     /* DATA: position of data[0] in the frame's payload (for unmasking) */
    bool end;            /* DATA: the frame's payload ends with these bytes */
};

/* Parser state. Caller-owned; fields with a leading _ are private. */
struct loom_ws_parser {
    uint64_t max_frame;               /* frame payload limit (1009 past it) */
    uint64_t max_message;             /* reassembled message limit (1009 past it) */
    enum loom_ws_role role;           /* whose frames we parse: the peer's role is the other */
    struct loom_ws_frame frame;       /* the current frame, valid from its HEADER event */
    enum loom_ws_parse_error error;   /* why loom_ws_parse() failed */
    uint8_t _hdr[LOOM_WS_MAX_HEADER]; /* header bytes gathered so far */
    uint8_t _have;                    /* bytes in _hdr */
    uint8_t _need;                    /* header length known so far */
    bool _in_payload;                 /* between a HEADER and the DATA event with end */
    uint8_t _msg_opcode;              /* opcode of the unfinished fragmented message, or 0 */
    uint64_t _left;                   /* payload bytes of the current frame still to come */
    uint64_t _msg_len;                /* payload bytes of the current message so far */
};

/* Initialise a parser for the side `role` (a server parses masked client
 * frames). max_frame / max_message 0 take the defaults. */
void loom_ws_parser_init(struct loom_ws_parser *p, enum loom_ws_role role, uint64_t max_frame,
                         uint64_t max_message);

/* Parse from buf[0..len): returns the bytes consumed (>= 0, never past the end
 * of the current header or frame) and the event in *ev; LOOM_EWS on a protocol
 * error (p->error says which, loom_ws_parse_close_code() the close code to
 * send); the parser stays failed. Never allocates, never reads past len. */
ssize_t loom_ws_parse(struct loom_ws_parser *p, const void *buf, size_t len,
                      struct loom_ws_event *ev);

/* How many bytes the parser can take before its next event (header bytes still
 * missing, or payload bytes left; 0 when an event is due with no input). A
 * reader that asks its stream for at most this many never over-consumes. */
uint64_t loom_ws_parser_need(const struct loom_ws_parser *p);

/* The close code for a parse error (1002 or 1009), and its description. */
uint16_t loom_ws_parse_close_code(enum loom_ws_parse_error err);
const char *loom_ws_parse_strerror(enum loom_ws_parse_error err);

/* XOR len bytes of src with key into dst (may equal src), starting at byte
 * `offset` of the payload (so payload split in chunks unmasks correctly). */
void loom_ws_mask(void *dst, const void *src, size_t len, const uint8_t key[4], uint64_t offset);

/* Write a frame header into out: opcode, fin, payload length, and the masking
 * key (NULL: unmasked). Returns its length (2..14). */
size_t loom_ws_frame_header(uint8_t out[LOOM_WS_MAX_HEADER], unsigned opcode, bool fin,
                            uint64_t len, const uint8_t *key);

/* --- connections --- */

struct loom_ws;

/* Connection settings; zero-initialise and set what you need. */
struct loom_ws_options {
    uint64_t max_frame;       /* 0: LOOM_WS_MAX_FRAME */
    uint64_t max_message;     /* 0: LOOM_WS_MAX_MESSAGE */
    int64_t close_timeout_ns; /* bound on each closing step; 0: 5 s */
    int64_t ping_interval_ns; /* keepalive: ping after this much silence during recv; 0: off */
    int64_t ping_timeout_ns;  /* ...and fail (1011) if nothing arrives this long after; 0: 20 s */
    bool borrow_stream;       /* the stream stays its owner's: close and failure leave it
                                  open (an HTTP server closes it after the handler) */
};

/* A received message: a view valid until the next loom_ws_recv/close. */
struct loom_ws_message {
    enum loom_ws_opcode type; /* LOOM_WS_TEXT (valid UTF-8) or LOOM_WS_BINARY */
    const uint8_t *data;      /* NUL-terminated for convenience (the NUL is not counted) */
    /* bytes in data */
    size_t len;
};

/* Where a connection is in its life (loom_ws_state()). */
enum loom_ws_state {
    LOOM_WS_OPEN = 0,
    LOOM_WS_CLOSING, /* we sent a close frame and wait for the peer's */
    LOOM_WS_CLOSED,  /* the handshake is over (or the connection failed); stream closed */
};

/* Attach a WebSocket connection to stream s, whose handshake is done. The
 * connection owns s from then on (loom_ws_close() closes it) unless
 * opt->borrow_stream; on failure the caller keeps s. opt may be NULL. Returns
 * 0, -ENOMEM, -EINVAL. */
int loom_ws_attach(struct loom_stream *s, enum loom_ws_role role, const struct loom_ws_options *opt,
                   struct loom_ws **out);

/* Close the connection and free it: if it is open, send a close frame with code
 * (0: none) and reason (NULL: none) and wait up to timeout_ns for the peer's
 * close (messages that arrive meanwhile are dropped); a client then waits for
 * the server to end the TCP connection (within the same bound). Always frees
 * ws and closes the stream (unless borrowed), also on error, except with
 * -EBUSY: another task is inside loom_ws_recv on ws (nothing was done; use
 * loom_ws_send_close, or cancel and join that task first). Returns 0 (clean
 * handshake, or it was already over), -ETIMEDOUT, -ECANCELED, -EINVAL (bad
 * code/reason: 1000 was sent instead), -EBUSY, or the stream's error. NULL is
 * ignored. Suspends. */
int loom_ws_close(struct loom_ws *ws, int code, const char *reason, int64_t timeout_ns);

/* Receive the next whole message into *msg. Returns LOOM_WS_TEXT or
 * LOOM_WS_BINARY; LOOM_EOF once the close handshake is over (the peer's code:
 * loom_ws_close_code()); LOOM_EWS after a protocol error, when the connection
 * failed with loom_ws_local_close_code() (1002, 1007 for bad UTF-8, 1009 for
 * size); -ECONNRESET if the peer vanished without a close frame (code 1006);
 * -ECONNABORTED if a keepalive ping went unanswered (1011 sent); -ETIMEDOUT or
 * -ECANCELED, after which the connection is intact and a later call resumes a
 * partly received message (unless the cancel hit a closing step: the state is
 * then CLOSED and later calls return how it ended); -EBUSY if another task is
 * receiving. Closing steps (echoing a close, failing the connection) are
 * bounded by close_timeout_ns, not by timeout_ns. Suspends. */
int loom_ws_recv(struct loom_ws *ws, struct loom_ws_message *msg, int64_t timeout_ns);

/* Queue one text frame (data must be valid UTF-8, else -EINVAL) / binary
 * frame; a client masks it with a fresh random key. Never suspends. Returns 0,
 * -EPIPE once a close frame was sent or the connection is closed, or the
 * stream's write error. */
int loom_ws_send_text(struct loom_ws *ws, const void *data, size_t len);
int loom_ws_send_binary(struct loom_ws *ws, const void *data, size_t len);

/* Send with backpressure: queue the frame (type LOOM_WS_TEXT/BINARY), then wait
 * (at most timeout_ns) while the stream's write buffer is over its high
 * watermark. Returns as the sends above, or -ETIMEDOUT / -ECANCELED (the frame
 * stays queued). Suspends. */
int loom_ws_send(struct loom_ws *ws, enum loom_ws_opcode type, const void *data, size_t len,
                 int64_t timeout_ns);

/* Queue one frame of a fragmented message: opcode LOOM_WS_TEXT/BINARY for the
 * first, LOOM_WS_CONT after; fin on the last. Text is not validated here (a
 * character may straddle fragments). Never suspends. Same returns. */
int loom_ws_send_frame(struct loom_ws *ws, enum loom_ws_opcode opcode, bool fin, const void *data,
                       size_t len);

/* Queue a ping with up to 125 bytes of payload (-EINVAL past that). Never suspends. */
int loom_ws_ping(struct loom_ws *ws, const void *data, size_t len);

/* Start the close handshake without waiting: queue a close frame (code 0: none;
 * else 1000-1003, 1007-1014 or 3000-4999, reason at most 123 bytes of UTF-8,
 * else -EINVAL). A task in loom_ws_recv() then gets LOOM_EOF when the peer
 * answers. Returns 0, -EPIPE if a close was already sent. Never suspends. */
int loom_ws_send_close(struct loom_ws *ws, int code, const char *reason);

/* --- accessors --- */

/* Open, closing (our close frame sent) or closed. */
enum loom_ws_state loom_ws_state(const struct loom_ws *ws);
/* The peer's close code: 0 while none came, 1005 (close without a code),
 * 1006 (the connection ended without a close frame), else the code it sent. */
int loom_ws_close_code(const struct loom_ws *ws);
/* The peer's close reason (NUL-terminated UTF-8, "" if none); valid until close. */
const char *loom_ws_close_reason(const struct loom_ws *ws);
/* The close code we sent (0: none yet). */
int loom_ws_local_close_code(const struct loom_ws *ws);
/* The stream underneath (NULL once the connection is closed, also when it was
 * borrowed); owned by the connection unless borrowed. */
struct loom_stream *loom_ws_stream(const struct loom_ws *ws);

/* --- handshake (section 4) --- */

/* Sec-WebSocket-Accept for key (key_len bytes): base64(SHA-1(key + GUID)),
 * 28 characters and a NUL into out. Returns 0, or -EIO if OpenSSL failed. */
int loom_ws_accept_key(const char *key, size_t key_len, char out[LOOM_WS_ACCEPT_LEN + 1]);

/* The parts of a client's upgrade request a server checks. Each string is a
 * view (ptr, len); a NULL ptr means the header was absent. With repeated
 * Connection or Upgrade headers, pass them joined with ", ". */
struct loom_ws_request {
    /* the method ("GET"), and each header below, as (ptr, len) */
    const char *method;
    size_t method_len;
    int version_minor; /* HTTP/1.x */
    const char *upgrade;
    size_t upgrade_len;
    const char *connection;
    size_t connection_len;
    const char *key; /* Sec-WebSocket-Key */
    size_t key_len;
    const char *version; /* Sec-WebSocket-Version */
    size_t version_len;
};

/* Check an upgrade request: 0 if it is a valid WebSocket handshake, else the
 * HTTP status to refuse it with: 400 (not GET, not HTTP/1.1+, no "Upgrade:
 * websocket", no "upgrade" token in Connection, a key that is not base64 of
 * 16 bytes, no Sec-WebSocket-Version) or 426 (a version other than 13: answer with
 * loom_ws_format_refusal, which adds "Sec-WebSocket-Version: 13"). */
int loom_ws_server_check(const struct loom_ws_request *req);

/* Format the refusal response for status 400 or 426 into buf (NUL-terminated).
 * Returns its length, or -ENOSPC. */
ssize_t loom_ws_format_refusal(char *buf, size_t cap, int status);

/* Server side: write the 101 response for key (and Sec-WebSocket-Protocol if
 * protocol is not NULL) and attach a connection to s as loom_ws_attach() does.
 * Never suspends (the response is queued). Returns 0, -EINVAL (bad key or a
 * protocol with CR/LF), -ENOMEM, or the stream's write error; on failure the
 * caller keeps s. */
int loom_ws_server_accept(struct loom_stream *s, const char *key, size_t key_len,
                          const char *protocol, const struct loom_ws_options *opt,
                          struct loom_ws **out);

/* Client settings for the upgrade request. */
struct loom_ws_client_options {
    const char *host;          /* Host header value ("example.com:8080"); required */
    const char *path;          /* request target; NULL: "/" */
    const char *protocol;      /* Sec-WebSocket-Protocol to ask for; NULL: none */
    const char *origin;        /* Origin header; NULL: none */
    int64_t timeout_ns;        /* bound on the whole handshake; 0: 10 s, -1: none */
    size_t max_response;       /* longest response head accepted; 0: 8 KiB */
    struct loom_ws_options ws; /* for the connection */
};

/* A fresh random Sec-WebSocket-Key (24 characters and a NUL). 0 or -errno. */
int loom_ws_client_key(char out[LOOM_WS_KEY_LEN + 1]);

/* Format the GET upgrade request into buf (NUL-terminated). Returns its length,
 * -EINVAL (no host, or CR/LF/NUL in a value), -ENOSPC. */
ssize_t loom_ws_format_request(char *buf, size_t cap, const struct loom_ws_client_options *o,
                               const char *key);

/* The parts of the server's response a client checks (views as above). */
struct loom_ws_response {
    /* the status code (101 to accept) */
    int status;
    /* the Upgrade and Connection headers and each below, as (ptr, len) */
    const char *upgrade;
    size_t upgrade_len;
    const char *connection;
    size_t connection_len;
    const char *accept; /* Sec-WebSocket-Accept */
    size_t accept_len;
};

/* Check a response to the request sent with key: 0, or LOOM_EWS (status not
 * 101, Upgrade/Connection missing, Sec-WebSocket-Accept wrong). */
int loom_ws_client_check(const struct loom_ws_response *r, const char *key);

/* Client side on a connected stream: send the upgrade request, read the
 * response head (bounded by o->max_response and o->timeout_ns), check it and
 * attach a connection (which then owns s). Returns 0; LOOM_EWS (refused or bad
 * handshake; *status, if not NULL, gets the HTTP status), LOOM_EHTTP (not an
 * HTTP response), LOOM_ELIMIT (head too long), LOOM_EOF, -ETIMEDOUT,
 * -ECANCELED, -EINVAL, -ENOMEM. On failure the caller keeps s. Suspends. */
int loom_ws_connect(struct loom_stream *s, const struct loom_ws_client_options *o, int *status,
                    struct loom_ws **out);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
