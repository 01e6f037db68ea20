/* http_file.c - file responses: validators, conditional GET, one byte range,
 * sendfile(2) on plain sockets; MIME types by extension. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "net/http_server_internal.h"
#include "net/tls.h"

#define SENDFILE_STEP (1 << 20)
#define SMALL_FILE (32 * 1024)

static const struct {
    const char *ext, *type;
} mime_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"xml", "application/xml"},
    {"rss", "application/rss+xml"},
    {"atom", "application/atom+xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/vnd.microsoft.icon"},
    {"avif", "image/avif"},
    {"pdf", "application/pdf"},
    {"wasm", "application/wasm"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"wav", "audio/wav"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"gz", "application/gzip"},
    {"zip", "application/zip"},
    {"tar", "application/x-tar"},
};

const char *loom_http_mime_type(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash : name, '.');
    if (dot)
        for (size_t i = 0; i < sizeof mime_types / sizeof mime_types[0]; i++)
            if (!strcasecmp(dot + 1, mime_types[i].ext))
                return mime_types[i].type;
    return "application/octet-stream";
}

/* Last-Modified for t. A file server sends the same few mtimes over and
 * over, so the last one formatted is kept per thread (gmtime_r + strftime
 * cost more than the rest of a small file's answer in user space). */
static void format_date(time_t t, char buf[static 40])
{
    static _Thread_local time_t last_t = (time_t)-1;
    static _Thread_local char last[40];
    if (t != last_t) {
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(last, sizeof last, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        last_t = t;
    }
    memcpy(buf, last, sizeof last);
}

/* v in lowercase hex without leading zeros at p; returns the end. */
static char *put_hex(char *p, uint64_t v)
{
    char tmp[16];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* An IMF-fixdate (the only form senders may use); -1 if it is not one. */
static time_t parse_date(const char *s)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return end && *end == '\0' ? timegm(&tm) : (time_t)-1;
}

/* Whether an If-None-Match list names etag (weak comparison, or "*"). */
static bool etag_listed(const char *list, const char *etag)
{
    if (!strcmp(list, "*"))
        return true;
    const char *strong = etag[0] == 'W' ? etag + 2 : etag;
    size_t n = strlen(strong);
    for (const char *p = list; (p = strstr(p, strong)); p += n)
        if (p[n] == '\0' || p[n] == ',' || p[n] == ' ')
            return true;
    return false;
}

/* Parse one "bytes=a-b" range against size: 1 (a range), 0 (none or ignored),
 * -1 (unsatisfiable). */
static int parse_range(const char *h, off_t size, off_t *start, off_t *end)
{
    if (strncmp(h, "bytes=", 6) || strchr(h, ','))
        return 0; /* other units and multiple ranges: serve the whole file */
    const char *p = h + 6;
    char *e;
    if (*p == '-') { /* the last n bytes */
        long long n = strtoll(p + 1, &e, 10);
        if (*e || n <= 0 || p[1] < '0' || p[1] > '9')
            return n == 0 && !*e ? -1 : 0;
        *start = n >= size ? 0 : size - n;
        *end = size - 1;
        return size > 0 ? 1 : -1;
    }
    if (*p < '0' || *p > '9')
        return 0;
    long long a = strtoll(p, &e, 10);
    if (*e != '-')
        return 0;
    long long b = size - 1;
    if (e[1]) {
        char *e2;
        b = strtoll(e + 1, &e2, 10);
        if (*e2 || e[1] < '0' || e[1] > '9' || b < a)
            return 0;
        if (b >= size)
            b = size - 1;
    }
    if (a >= size)
        return -1;
    *start = a;
    *end = b;
    return 1;
}

/* Copy the body with sendfile(2), waiting for the socket with a deadline that
 * moves with progress (a client that stops reading is cut off). */
static int send_plain(struct loom_http_reply *res, int fd, off_t off, off_t len)
{
    struct loom_stream *s = res->c->s;
    int64_t wt =
        res->c->srv->opt.write_timeout_ns > 0 ? res->c->srv->opt.write_timeout_ns : LOOM_SEC(30);
    /* Cork (nginx's tcp_nopush): the head rides in the first full segment
     * and the file goes out in full-size segments. With only TCP_NODELAY the
     * head left alone and the client spent twice the kernel CPU per 1 MiB
     * (wrk: ~600 against ~320 µs/request, half nginx's req/s). Two syscalls
     * per large file; best effort (not TCP: nothing to do). */
    int one = 1, zero = 0;
    setsockopt(loom_stream_fd(s), IPPROTO_TCP, TCP_CORK, &one, sizeof one);
    int rc = loom__http_reply_flush_head(res);
    if (rc == 0)
        rc = loom_stream_flush(s, wt);
    int64_t deadline = loom_deadline(res->c->loop, wt);
    while (rc == 0 && len > 0) {
        size_t step = len > SENDFILE_STEP ? SENDFILE_STEP : (size_t)len;
        ssize_t n = loom__sendfile_nosig(loom_stream_fd(s), fd, &off, step);
        if (n > 0) {
            len -= n;
            res->sent += (uint64_t)n;
            deadline = loom_deadline(res->c->loop, wt);
        } else if (n == 0) {
            rc = -EIO; /* the file shrank under us */
        } else if (errno == EAGAIN) {
            rc = loom__stream_wait(s, LOOM_WRITABLE, deadline);
        } else if (errno != EINTR) {
            rc = -errno;
        }
    }
    setsockopt(loom_stream_fd(s), IPPROTO_TCP, TCP_CORK, &zero, sizeof zero);
    return rc;
}

/* The same through the stream (TLS): pread and write with backpressure. */
static int send_copy(struct loom_http_reply *res, int fd, off_t off, off_t len)
{
    char *buf = malloc(len < 65536 ? (size_t)len : 65536);
    if (!buf)
        return -ENOMEM;
    int rc = 0;
    while (rc == 0 && len > 0) {
        ssize_t n = pread(fd, buf, len > 65536 ? 65536 : (size_t)len, off);
        if (n <= 0) {
            rc = n == 0 ? -EIO : -errno;
            break;
        }
        rc = loom_http_reply_write(res, buf, (size_t)n);
        off += n;
        len -= n;
    }
    free(buf);
    return rc;
}

/* Validators and the conditional-GET answer: 304, or 0 to go on. */
static int validators(struct loom_http_reply *res, struct loom_http_req *req, const struct stat *st,
                      char etag[static 64])
{
    char lm[40];
    format_date(st->st_mtime, lm);
    /* "size-mtime_ns" in hex (2 x 16 digits + 4 fit in 64 bytes) */
    char *p = etag;
    *p++ = '"';
    p = put_hex(p, (uint64_t)st->st_size);
    *p++ = '-';
    p = put_hex(p, (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec);
    *p++ = '"';
    *p = '\0';
    loom_http_reply_header(res, "Last-Modified", lm);
    loom_http_reply_header(res, "ETag", etag);
    const char *inm = loom_http_req_header(req, "If-None-Match", 0);
    const char *ims = loom_http_req_header(req, "If-Modified-Since", 0);
    bool get = !strcmp(req->method, "GET") || req->is_head;
    if (get && inm)
        return etag_listed(inm, etag) ? 304 : 0;
    if (get && ims) {
        time_t t = parse_date(ims);
        return t != (time_t)-1 && st->st_mtime <= t ? 304 : 0;
    }
    return 0;
}

int loom_http_reply_file(struct loom_http_reply *res, struct loom_http_req *req, int fd,
                         const char *content_type)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
    char etag[64];
    if (validators(res, req, &st, etag) == 304)
        return loom_http_reply_start(res, 304, -1);
    off_t start = 0, end = st.st_size - 1;
    int status = 200;
    const char *range = loom_http_req_header(req, "Range", 0);
    const char *if_range = loom_http_req_header(req, "If-Range", 0);
    int r = range && (!if_range || !strcmp(if_range, etag))
                ? parse_range(range, st.st_size, &start, &end)
                : 0;
    char cr[80];
    if (r < 0) { /* the error's own text body: not the file's Content-Type too */
        snprintf(cr, sizeof cr, "bytes */%lld", (long long)st.st_size);
        loom_http_reply_header(res, "Content-Range", cr);
        return loom_http_reply_error(res, 416);
    }
    loom_http_reply_header(res, "Content-Type",
                           content_type ? content_type : "application/octet-stream");
    loom_http_reply_header(res, "Accept-Ranges", "bytes");
    if (r > 0) {
        status = 206;
        snprintf(cr, sizeof cr, "bytes %lld-%lld/%lld", (long long)start, (long long)end,
                 (long long)st.st_size);
        loom_http_reply_header(res, "Content-Range", cr);
    }
    off_t len = st.st_size ? end - start + 1 : 0;
    int rc = loom__http_reply_begin(res, status, len);
    if (rc < 0 || res->head_only || len == 0)
        return rc < 0 ? rc : loom_http_reply_end(res);
    /* Small files go out with the head in one write; large ones by sendfile. */
    if (len > SMALL_FILE && !loom_stream_is_tls(res->c->s)) {
        rc = send_plain(res, fd, start, len);
        res->remaining = 0;
    } else {
        rc = send_copy(res, fd, start, len);
    }
    res->ended = true;
    if (rc < 0)
        res->close = true;
    return rc;
}
