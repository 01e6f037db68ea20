/* http_ws.c - the server side of a WebSocket upgrade on an HTTP request. */
#include <errno.h>
#include <string.h>

#include "net/http_server_internal.h"
#include "net/ws.h"

static const char *view(const struct loom_http_req *req, const char *name, size_t *len)
{
    const char *v = loom_http_req_header(req, name, 0);
    *len = v ? strlen(v) : 0;
    return v;
}

int loom_http_ws_accept(struct loom_http_req *req, struct loom_http_reply *rep,
                        const struct loom_ws_options *opt, struct loom_ws **out)
{
    struct loom_ws_request w = {.method = req->method,
                                .method_len = strlen(req->method),
                                .version_minor = req->h.minor_version};
    w.upgrade = view(req, "Upgrade", &w.upgrade_len);
    w.connection = view(req, "Connection", &w.connection_len);
    w.key = view(req, "Sec-WebSocket-Key", &w.key_len);
    w.version = view(req, "Sec-WebSocket-Version", &w.version_len);
    int status = loom_ws_server_check(&w);
    /* RFC 6455 4.2.1: the key and the version appear once; and a handshake
     * carries no body, whose bytes would otherwise be read as frames. */
    if (!status && (loom_http_req_header(req, "Sec-WebSocket-Key", 1) ||
                    loom_http_req_header(req, "Sec-WebSocket-Version", 1) ||
                    (req->fr.body != LOOM_HTTP_BODY_NONE &&
                     !(req->fr.body == LOOM_HTTP_BODY_LENGTH && req->fr.content_length == 0))))
        status = 400;
    if (status) {
        if (status == 426)
            loom_http_reply_header(rep, "Sec-WebSocket-Version", "13");
        loom_http_reply_close(rep);
        loom_http_reply_error(rep, status);
        return LOOM_EWS;
    }
    struct loom_ws_options o = opt ? *opt : (struct loom_ws_options){0};
    o.borrow_stream = true;
    int rc = loom_ws_server_accept(req->c->s, w.key, w.key_len, NULL, &o, out);
    if (rc < 0) {
        loom_http_reply_close(rep);
        return rc;
    }
    loom_http_reply_upgraded(rep);
    rep->status = 101;
    return 0;
}
