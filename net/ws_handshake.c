/* ws_handshake.c - the WebSocket opening handshake (RFC 6455 section 4).
 *
 * Everything here takes plain values, so it works with whatever parsed the
 * HTTP request. loom_ws_connect() has its own small, strict parser for the
 * response head (parse_response_head): it reads only the status line and the
 * three headers the handshake needs and is meant to be swapped for the
 * project's HTTP parser later. */
#include "net/ws.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64 of n bytes into out (4 * ceil(n / 3) characters and a NUL). */
static void base64(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = B64[v >> 18 & 63];
        out[o++] = B64[v >> 12 & 63];
        out[o++] = i + 1 < n ? B64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? B64[v & 63] : '=';
    }
    out[o] = '\0';
}

/* Strip optional whitespace (SP, HTAB) around a view. */
static void trim(const char **p, size_t *len)
{
    while (*len && (**p == ' ' || **p == '\t'))
        (*p)++, (*len)--;
    while (*len && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t'))
        (*len)--;
}

/* Does the comma-separated list contain token (case-insensitive)? */
static bool has_token(const char *list, size_t len, const char *token)
{
    size_t tlen = strlen(token);
    while (list && len) {
        const char *comma = memchr(list, ',', len);
        size_t n = comma ? (size_t)(comma - list) : len;
        const char *item = list;
        size_t ilen = n;
        trim(&item, &ilen);
        if (ilen == tlen && strncasecmp(item, token, tlen) == 0)
            return true;
        list += n;
        len -= n;
        if (len) {
            list++;
            len--;
        }
    }
    return false;
}

static bool equals(const char *p, size_t len, const char *s)
{
    size_t n = strlen(s);
    return p && len == n && memcmp(p, s, n) == 0;
}

/* A Sec-WebSocket-Key must be base64 of exactly 16 bytes (section 4.2.1). */
static bool key_valid(const char *key, size_t len)
{
    if (!key || len != LOOM_WS_KEY_LEN || key[22] != '=' || key[23] != '=')
        return false;
    for (size_t i = 0; i < 22; i++)
        if (!key[i] || !strchr(B64, key[i]))
            return false;
    /* 16 bytes fill 128 of the 132 bits of 22 characters: the last 4 are 0. */
    return strchr("AQgw", key[21]) != NULL;
}

/* Values we put in a header line must not end it early. */
static bool header_safe(const char *v) { return v && !strpbrk(v, "\r\n"); }

int loom_ws_accept_key(const char *key, size_t key_len, char out[LOOM_WS_ACCEPT_LEN + 1])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, EVP_sha1(), NULL) && EVP_DigestUpdate(c, key, key_len) &&
             EVP_DigestUpdate(c, GUID, sizeof GUID - 1) && EVP_DigestFinal_ex(c, md, &mdlen);
    EVP_MD_CTX_free(c);
    if (!ok || mdlen != 20)
        return -EIO;
    base64(md, 20, out);
    return 0;
}

/* --- server side --- */

int loom_ws_server_check(const struct loom_ws_request *r)
{
    const char *up = r->upgrade, *conn = r->connection, *key = r->key, *ver = r->version;
    size_t uplen = r->upgrade_len, connlen = r->connection_len, keylen = r->key_len;
    size_t verlen = r->version_len;
    if (!equals(r->method, r->method_len, "GET") || r->version_minor < 1)
        return 400;
    if (!up || !has_token(up, uplen, "websocket") || !conn || !has_token(conn, connlen, "upgrade"))
        return 400;
    if (key)
        trim(&key, &keylen);
    if (!key_valid(key, keylen))
        return 400;
    if (!ver)
        return 400;
    trim(&ver, &verlen);
    if (!equals(ver, verlen, "13"))
        return 426; /* section 4.4: say which version we speak */
    return 0;
}

ssize_t loom_ws_format_refusal(char *buf, size_t cap, int status)
{
    const char *text;
    if (status == 400)
        text = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    else if (status == 426)
        text = "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
               "Connection: close\r\nContent-Length: 0\r\n\r\n";
    else
        return -EINVAL;
    size_t n = strlen(text);
    if (n + 1 > cap)
        return -ENOSPC;
    memcpy(buf, text, n + 1);
    return (ssize_t)n;
}

int loom_ws_server_accept(struct loom_stream *s, const char *key, size_t key_len,
                          const char *protocol, const struct loom_ws_options *opt,
                          struct loom_ws **out)
{
    char accept[LOOM_WS_ACCEPT_LEN + 1], head[512];
    trim(&key, &key_len);
    bool bad_protocol = protocol && (!header_safe(protocol) || strlen(protocol) > 256);
    if (!key_valid(key, key_len) || bad_protocol)
        return -EINVAL;
    int rc = loom_ws_accept_key(key, key_len, accept);
    if (rc < 0)
        return rc;
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s%s%s\r\n",
                     accept, protocol ? "Sec-WebSocket-Protocol: " : "", protocol ? protocol : "",
                     protocol ? "\r\n" : "");
    if ((rc = loom_stream_write(s, head, (size_t)n)) < 0)
        return rc;
    return loom_ws_attach(s, LOOM_WS_SERVER, opt, out);
}

/* --- client side --- */

int loom_ws_client_key(char out[LOOM_WS_KEY_LEN + 1])
{
    uint8_t raw[16];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return -errno;
    base64(raw, sizeof raw, out);
    return 0;
}

ssize_t loom_ws_format_request(char *buf, size_t cap, const struct loom_ws_client_options *o,
                               const char *key)
{
    const char *path = o->path ? o->path : "/";
    if (!header_safe(o->host) || !*o->host || !header_safe(path) || strpbrk(path, " \t") ||
        !*path || (o->protocol && !header_safe(o->protocol)) ||
        (o->origin && !header_safe(o->origin)) || !key_valid(key, key ? strlen(key) : 0))
        return -EINVAL;
    int n =
        snprintf(buf, cap,
                 "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s%s%s%s%s%s\r\n",
                 path, o->host, key, o->protocol ? "Sec-WebSocket-Protocol: " : "",
                 o->protocol ? o->protocol : "", o->protocol ? "\r\n" : "",
                 o->origin ? "Origin: " : "", o->origin ? o->origin : "", o->origin ? "\r\n" : "");
    if (n < 0)
        return -EINVAL;
    return (size_t)n < cap ? n : -ENOSPC;
}

int loom_ws_client_check(const struct loom_ws_response *r, const char *key)
{
    char want[LOOM_WS_ACCEPT_LEN + 1];
    const char *acc = r->accept;
    size_t acclen = r->accept_len;
    if (r->status != 101 || !r->upgrade || !has_token(r->upgrade, r->upgrade_len, "websocket") ||
        !r->connection || !has_token(r->connection, r->connection_len, "upgrade") || !acc)
        return LOOM_EWS;
    trim(&acc, &acclen);
    if (loom_ws_accept_key(key, strlen(key), want) < 0 || !equals(acc, acclen, want))
        return LOOM_EWS;
    return 0;
}

/* Is c allowed in a header field name (an RFC 9110 token character)? */
static bool tchar(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Keep a header's value in (*v, *vlen); for a repeated list header prefer the
 * occurrence carrying the token the handshake needs. */
static void keep(const char **v, size_t *vlen, const char *p, size_t n, const char *token)
{
    if (!*v || !has_token(*v, *vlen, token)) {
        *v = p;
        *vlen = n;
    }
}

/* One header line "Name: value" (without CRLF) into r. 0 or LOOM_EHTTP. */
static int parse_header_line(const char *line, size_t len, struct loom_ws_response *r)
{
    const char *colon = memchr(line, ':', len);
    if (!colon || colon == line)
        return LOOM_EHTTP; /* also refuses obs-fold: a line starting with SP */
    size_t nlen = (size_t)(colon - line);
    for (size_t i = 0; i < nlen; i++)
        if (!tchar(line[i]))
            return LOOM_EHTTP;
    const char *v = colon + 1;
    size_t vlen = len - nlen - 1;
    for (size_t i = 0; i < vlen; i++)
        if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7F)
            return LOOM_EHTTP;
    trim(&v, &vlen);
    if (nlen == 7 && !strncasecmp(line, "Upgrade", 7))
        keep(&r->upgrade, &r->upgrade_len, v, vlen, "websocket");
    else if (nlen == 10 && !strncasecmp(line, "Connection", 10))
        keep(&r->connection, &r->connection_len, v, vlen, "upgrade");
    else if (nlen == 20 && !strncasecmp(line, "Sec-WebSocket-Accept", 20)) {
        if (r->accept)
            return LOOM_EHTTP; /* two answers: ambiguous */
        r->accept = v;
        r->accept_len = vlen;
    }
    return 0;
}

/* Minimal strict parse of a response head (status line, headers, ending in an
 * empty line; every line ends in CRLF). Swap for the HTTP parser later. */
static int parse_response_head(const char *head, size_t len, struct loom_ws_response *r)
{
    memset(r, 0, sizeof *r);
    if (len < 14 || memcmp(head, "HTTP/1.", 7) != 0 || (head[7] != '0' && head[7] != '1') ||
        head[8] != ' ' || head[9] < '1' || head[9] > '5' || head[10] < '0' || head[10] > '9' ||
        head[11] < '0' || head[11] > '9' || (head[12] != ' ' && head[12] != '\r'))
        return LOOM_EHTTP;
    r->status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
    const char *p = head, *end = head + len;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    for (bool first = true;; first = false) {
        if (!eol || eol == p || eol[-1] != '\r')
            return LOOM_EHTTP; /* bare LF */
        size_t n = (size_t)(eol - 1 - p);
        if (n == 0)
            return eol + 1 == end ? 0 : LOOM_EHTTP;
        if (!first && parse_header_line(p, n, r) < 0)
            return LOOM_EHTTP;
        if (first && memchr(p, '\0', n))
            return LOOM_EHTTP;
        p = eol + 1;
        eol = memchr(p, '\n', (size_t)(end - p));
    }
}

/* Send the request and read the response head into a malloc'd buffer. */
static int exchange(struct loom_stream *s, const struct loom_ws_client_options *o, const char *key,
                    char **head, size_t *len)
{
    size_t cap = strlen(o->host) + (o->path ? strlen(o->path) : 1) +
                 (o->protocol ? strlen(o->protocol) : 0) + (o->origin ? strlen(o->origin) : 0) +
                 256;
    size_t max = o->max_response ? o->max_response : 8192;
    char *buf = malloc(cap > max + 1 ? cap : max + 1);
    if (!buf)
        return -ENOMEM;
    ssize_t n = loom_ws_format_request(buf, cap, o, key);
    int rc = n < 0 ? (int)n : loom_stream_write(s, buf, (size_t)n);
    if (rc == 0) {
        int64_t t = o->timeout_ns == 0 ? LOOM_SEC(10) : o->timeout_ns;
        n = loom_stream_readuntil(s, "\r\n\r\n", 4, buf, max + 1, t < 0 ? -1 : t);
        rc = n < 0 ? (int)n : 0;
    }
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *head = buf;
    *len = (size_t)n;
    return 0;
}

int loom_ws_connect(struct loom_stream *s, const struct loom_ws_client_options *o, int *status,
                    struct loom_ws **out)
{
    char key[LOOM_WS_KEY_LEN + 1], *head;
    size_t len;
    struct loom_ws_response r;
    if (status)
        *status = 0;
    if (!o || !o->host)
        return -EINVAL;
    int rc = loom_ws_client_key(key);
    if (rc < 0 || (rc = exchange(s, o, key, &head, &len)) < 0)
        return rc;
    rc = parse_response_head(head, len, &r);
    if (rc == 0) {
        if (status)
            *status = r.status;
        rc = loom_ws_client_check(&r, key);
    }
    free(head);
    return rc < 0 ? rc : loom_ws_attach(s, LOOM_WS_CLIENT, &o->ws, out);
}
