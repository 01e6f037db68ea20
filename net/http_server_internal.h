/* http_server_internal.h - what http_server.c, http_route.c and http_file.c share. */
#ifndef LOOM_NET_HTTP_SERVER_INTERNAL_H
#define LOOM_NET_HTTP_SERVER_INTERNAL_H

#include <stdatomic.h>

#include "net/http_server.h"
#include "net/stream_internal.h"

#define LOOM__HTTP_MAX_PARAMS 8

struct loom__http_qval;

struct loom_http_server {
    struct loom_http_server_options opt;
    struct loom_server_options net_opt; /* opt.net with our on_listening wrapper */
    struct loom_http_router *router;
    struct loom_http_limits lim;
    uint64_t max_body;
    struct loom_loop *loop;        /* single-loop servers */
    struct loom_server *net;       /* single-loop servers */
    atomic_uint_fast64_t requests; /* workers share this record */
    atomic_uint_fast64_t next_id;
    bool stopped; /* on_stop ran */
};

/* A connection, on its task's stack. */
struct conn {
    struct loom_http_server *srv;
    struct loom_stream *s;
    struct loom_loop *loop;
    char remote[64];
    char *head; /* the current request head, NUL-separated */
    size_t head_cap;
    struct loom_http_header *hdrs; /* lim.max_headers of them */
    size_t nhdrs;
    unsigned nreq; /* requests served on it */
};

struct loom_http_req {
    struct conn *c;
    struct loom_http_reply *res;
    struct loom_http_req_head h; /* views into c->head, NUL-terminated */
    struct loom_http_framing fr;
    const char *method;
    char *path;        /* decoded, malloc'd */
    const char *query; /* into c->head, "" if none */
    bool is_head;
    uint64_t id;
    /* route parameters: names from the route, values in params_buf */
    struct {
        const char *name;
        const char *value;
    } params[LOOM__HTTP_MAX_PARAMS];
    size_t nparams;
    char *params_buf;
    struct loom__http_qval *qvals; /* decoded query parameters handed out */
    /* body */
    uint64_t body_left; /* Content-Length bytes not read yet */
    uint64_t body_read;
    struct loom_http_chunked ch;
    const char *pend; /* chunked: decoded bytes not handed out yet */
    size_t pend_len, pend_consume, need;
    int body_err;          /* sticky */
    int64_t body_deadline; /* > 0: reads fail with -ETIMEDOUT after it */
    int64_t rate_budget;   /* waiting time left for the body (min_body_rate) */
    bool rate_started;     /* rate_budget is set (at the first read) */
    bool continue_sent;
    char *body_buf; /* loom_http_req_body() */
    size_t body_len;
};

struct loom_http_reply {
    struct conn *c;
    struct loom_http_req *req;
    int status;
    char extra[4096]; /* header fields added by the handler */
    size_t extra_len;
    char head[4096 + 512]; /* the formatted head, until it goes out */
    size_t head_len;       /* > 0: not sent yet */
    int64_t remaining;     /* Content-Length not sent yet; -1: none */
    uint64_t sent;         /* body bytes */
    bool started, ended, chunked, head_only, close, upgraded;
};

/* Compose the head (it goes out with the first body bytes). */
int loom__http_reply_begin(struct loom_http_reply *res, int status, int64_t content_length);
/* Send the head now if it has not gone out yet (before a sendfile). */
int loom__http_reply_flush_head(struct loom_http_reply *res);

/* Route r to its handler (404/405 answered here). */
int loom__http_dispatch(struct loom_http_router *router, struct loom_http_req *r,
                        struct loom_http_reply *res);

/* Percent-decode a path of len bytes into out (len + 1 bytes): "%2F" is kept
 * encoded, "%00" and malformed escapes are errors (-EINVAL). */
int loom__http_decode_path(const char *in, size_t len, char *out);

/* A decoded query parameter handed out; freed with the request. */
struct loom__http_qval {
    struct loom__http_qval *next;
    char value[];
};

/* The decoded value of query parameter name, kept on *kept, or NULL. */
const char *loom__http_query_param(const char *query, const char *name,
                                   struct loom__http_qval **kept);

/* Copy text for a log line, escaping control bytes and quotes. */
void loom__http_log_escape(const char *in, char *out, size_t cap);

#endif
