/* http_internal.h - what the HTTP client's files share: the content decoder
 * (gzip/deflate over zlib, streaming, with a cap on the decoded size) and the
 * session's connection pool. Not installed. */
#ifndef LOOM_NET_HTTP_INTERNAL_H
#define LOOM_NET_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "net/http.h"
#include "net/stream.h"
#include "net/tls.h"
#include "net/url.h"
#include "reactor/list.h"

/* --- content decoding (RFC 9110 §8.4.1) --- */

enum loom__http_coding {
    LOOM__HTTP_IDENTITY = 0,
    LOOM__HTTP_GZIP,    /* gzip / x-gzip: one or more gzip members */
    LOOM__HTTP_DEFLATE, /* "deflate": zlib-wrapped as the RFC says, or raw as some servers send */
};

/* A streaming decoder. Caller-owned; init/close. */
struct loom__http_decoder {
    z_stream z;
    enum loom__http_coding coding;
    bool started;         /* inflateInit2 done */
    bool full;            /* the last step filled the output: zlib may hold more */
    bool ended;           /* the (last) stream ended: more input is an error (deflate) or a
                              new gzip member */
    bool trailing;        /* gzip: what follows the last member is garbage, ignored */
    unsigned char hdr[2]; /* deflate: first two bytes, held to tell zlib from raw */
    size_t nhdr, hpos;    /* bytes held, bytes of them already fed */
    uint64_t total;       /* decoded bytes so far */
    uint64_t max;         /* cap on total (LOOM_ELIMIT past it) */
    char msg[128];        /* why the last call failed */
};

/* Set up for coding with a decoded-size cap. Returns 0 (never fails: zlib
 * is initialised on the first input). */
int loom__http_decoder_init(struct loom__http_decoder *d, enum loom__http_coding coding,
                            uint64_t max);

/* Decode from in[0..in_len) into out[0..out_cap): *in_used and *out_len say
 * how much was consumed and produced (both may be 0 when more input is needed
 * or out is full). Returns 0, LOOM_EHTTP (corrupt data; d->msg says how) or
 * LOOM_ELIMIT (decoded size over the cap), -ENOMEM. */
int loom__http_decoder_run(struct loom__http_decoder *d, const void *in, size_t in_len,
                           size_t *in_used, void *out, size_t out_cap, size_t *out_len);

/* At the end of the input: 0 if the compressed stream ended properly (or
 * nothing came at all), else LOOM_EHTTP (truncated). Output may still be
 * pending: call run with no input until it produces nothing first. */
int loom__http_decoder_finish(struct loom__http_decoder *d);

void loom__http_decoder_close(struct loom__http_decoder *d);

/* The coding named by a Content-Encoding value (-1 when unsupported). */
int loom__http_coding_parse(const char *value, size_t len);

/* --- the pool --- */

/* One connection to an origin. */
struct loom__http_conn {
    struct loom_list node; /* on its host's idle list while idle */
    struct loom__http_host *host;
    struct loom_stream *st;
    char *buf; /* bytes read from st, not yet used: buf[start..end) */
    size_t cap, start, end;
    int64_t idle_since; /* loop time it went idle */
    unsigned served;    /* responses it carried */
    bool tls;
};

/* The pool of one origin ("scheme://host:port"). */
struct loom__http_host {
    struct loom_list node; /* on the session's list */
    struct loom_list idle; /* idle connections, most recently used first */
    size_t nopen;          /* open (idle, in use, being made) */
    char key[];            /* the origin */
};

struct loom_http_session {
    struct loom_loop *loop;
    struct loom_http_session_options o; /* with defaults filled in, strings owned */
    struct loom_http_limits lim;
    struct loom_list hosts;
    struct loom_list waiters; /* tasks waiting for a slot (struct slot_wait) */
    size_t nopen, nidle;
    struct loom_tls_context *tls; /* made on the first https request */
    struct loom_timer expiry;     /* closes idle connections that outlived keepalive_ns */
    int refs;                     /* 1 for the owner + 1 per request/response alive */
    bool closing;
};

/* How to acquire: */
enum {
    LOOM__HTTP_FRESH = 1,   /* a new connection, never a pooled one (the stale retry) */
    LOOM__HTTP_CAREFUL = 2, /* check a pooled one for EOF even if it was idle briefly */
};

/* Get a connection to u's origin: an idle one unless FRESH, else a new one,
 * waiting for a slot until conn_deadline, connecting within sock_connect_ns
 * (also bounded by conn_deadline). *reused says which. Returns 0, -ETIMEDOUT,
 * -ECANCELED, -ESHUTDOWN (session freed), a connect or TLS error (err says). */
int loom__http_acquire(struct loom_http_session *s, const struct loom_url *u, unsigned how,
                       int64_t conn_deadline, int64_t sock_connect_ns, struct loom__http_conn **out,
                       bool *reused, char *err, size_t errlen);

/* Give c back: to the idle list when reusable, else closed. */
void loom__http_release(struct loom_http_session *s, struct loom__http_conn *c, bool reusable);

/* Read more bytes from c's stream into its buffer (growing it up to max bytes
 * held). Returns the count, LOOM_EOF, LOOM_ELIMIT (buffer full), -ETIMEDOUT... */
ssize_t loom__http_conn_fill(struct loom__http_conn *c, size_t max, int64_t timeout_ns);

/* After a write met a reset: take into c's buffer (up to max bytes held)
 * what the server sent before it, without waiting - the stream's reads
 * return what the kernel still holds, then the reset. */
void loom__http_conn_take_queued(struct loom__http_conn *c, size_t max);

/* Session reference for requests and responses alive. */
void loom__http_session_unref(struct loom_http_session *s);

/* snprintf into err (NULL/0 allowed); returns rc. */
int loom__http_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* --- requests and responses --- */

/* A request in flight (embedded in its response, which outlives it). */
struct loom__http_req {
    struct loom_http_session *s;
    const struct loom_http_request_options *o; /* inside loom_http_request() only */
    char *err;                                 /* ditto: the caller's message buffer */
    size_t errlen;
    char method[32];
    struct loom_url url;        /* the URL of the current hop */
    char *url_str;              /* ...formatted */
    struct loom_http_timeout t; /* merged: request over session */
    int64_t total_dl;           /* absolute deadline of the whole request (-1: none) */
    int max_redirects;
    bool drop_auth; /* a redirect crossed origins: no Authorization, Proxy-Authorization, Cookie */
    bool body_dropped;         /* a redirect turned the request into a GET */
    bool unsent;               /* answered before it was sent whole: the connection goes */
    struct loom__http_conn *c; /* the connection, until the body ends */
    char **visited;            /* "METHOD URL" of every hop, for loop detection */
    size_t nvisited;
};

struct loom__http_hist {
    int status;
    char *url;
};

enum {
    LOOM__HTTP_TRAILERS = 32, /* trailer fields kept */
    LOOM__HTTP_CODINGS = 5,   /* content codings decoded in a row ("gzip, gzip"); more: refused */
};

/* The input of a content decoder that reads another decoder's output. */
struct loom__http_stage {
    char *buf; /* STAGE bytes: buf[start..end) not yet fed */
    size_t start, end;
    bool ended; /* the decoder below produced its last byte */
};

struct loom_http_response {
    struct loom__http_req q;
    bool reused; /* came over a pooled connection */
    char *head;  /* copy of the head; the views below point into it */
    struct loom_http_resp_head rh;
    struct loom_http_header *hdrs; /* max_headers entries */
    struct loom_http_framing fr;
    uint64_t remaining; /* LENGTH: raw bytes left */
    uint64_t raw_total; /* raw body bytes seen */
    struct loom_http_chunked ch;
    struct loom_http_header trv[LOOM__HTTP_TRAILERS];
    char *trailer_buf; /* copies of the trailer fields, NUL-terminated */
    const char *trailers[2 * LOOM__HTTP_TRAILERS]; /* name, value pairs into trailer_buf */
    size_t ntrailers;
    const char *pend; /* raw body bytes not yet decoded (view into the conn buffer) */
    size_t pend_len;
    struct loom__http_decoder dec[LOOM__HTTP_CODINGS]; /* [0] reads the raw body, [i] the
                                        output of [i - 1]: the codings in reverse order */
    struct loom__http_stage stage[LOOM__HTTP_CODINGS]; /* [i] (i >= 1): the input of dec[i] */
    size_t ndec;                                       /* decoders in use */
    bool raw_ended;                                    /* raw_next() said the body ended */
    bool decoding;
    char *lbuf; /* decoded look-ahead for readline: lbuf[lstart..lend) */
    size_t lstart, lend, lcap;
    bool done;      /* the body was read to its end */
    bool truncated; /* it ended early (or over TLS without close_notify) */
    int error;      /* the failure that ended reading (0: none) */
    char errmsg[256];
    char charset[64];
    struct loom__http_hist *hist;
    size_t nhist;
};

struct loom_http_response *loom__http_response_new(struct loom_http_session *s);
/* Set up body reading once the head is in r->rh: framing, decoding, charset. */
int loom__http_body_start(struct loom_http_response *r, struct loom__http_req *q);
/* End of body (ok: read to the end) or abandon it: the connection is released. */
void loom__http_body_end(struct loom_http_response *r, bool ok);
/* The timeout for the next wait: sock_read bounded by the total deadline. */
int64_t loom__http_req_timeout(const struct loom__http_req *q);
/* min(total deadline, now + timeout). */
int64_t loom__http_min_deadline(const struct loom__http_req *q, int64_t timeout_ns);
/* u formatted into a malloc'd string, or NULL (ENOMEM). */
char *loom__http_url_string(const struct loom_url *u);
/* Record q's current URL (formatted into q->url_str) as visited: 1 if it
 * already was (a loop), 0, or -ENOMEM. */
int loom__http_visited(struct loom__http_req *q);
/* Append (status, q->url_str) to r's history. */
int loom__http_history_push(struct loom_http_response *r, struct loom__http_req *q, int status);
/* LOOM_ELIMIT for the parser's limit errors, LOOM_EHTTP for the others. */
int loom__http_map_parse(ssize_t err);

#endif
