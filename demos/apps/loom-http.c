/* loom-http - a static file server: sendfile, Range, conditional GET,
 * directory index, MIME types, and paths that cannot leave the root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "net/http_server.h"
#include "common/opts.h"

static const char usage[] =
    "usage: loom-http --root DIR [--host ADDR] [--port N] [--workers N] [--access-log]\n"
    "                 [--max-connections N] [--grace SEC]\n"
    "Serves the files under DIR over HTTP/1.1. Prints \"listening on HOST:PORT\" once it accepts.\n"
    "  --root DIR           directory to serve (required)\n"
    "  --host ADDR          address to listen on (default 127.0.0.1)\n"
    "  --port N             port (default 8080; 0 picks a free one)\n"
    "  --workers N          N threads, each with its own loop, sharing the port (default 1)\n"
    "  --access-log         print one line per request on stdout\n"
    "  --max-connections N  at most N clients at once per worker (default 10000)\n"
    "  --grace SEC          on SIGINT/SIGTERM, time given to finish (default 5)\n"
    "Paths with \"..\" segments are refused; symbolic links may not lead out of DIR.\n"
    "A directory answers with its index.html, else a listing. Only GET and HEAD.";

static int root_fd = -1;

/* Open path (relative to the root, no leading '/') without ever leaving the
 * root: openat2 with RESOLVE_BENEATH refuses "..", absolute symlinks and
 * symlinks that point outside. */
static int open_beneath(const char *path)
{
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    return (int)syscall(SYS_openat2, root_fd, *path ? path : ".", &how, sizeof how);
}

/* Reject "." and ".." segments outright (before the kernel sees them). */
static bool path_ok(const char *p)
{
    for (const char *s = p; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        s += n + (e != NULL);
    }
    return true;
}

/* HTML-escape name into out. */
static void html_escape(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in && o + 7 < cap; in++) {
        const char *rep = *in == '<'    ? "&lt;"
                          : *in == '>'  ? "&gt;"
                          : *in == '&'  ? "&amp;"
                          : *in == '"'  ? "&quot;"
                          : *in == '\'' ? "&#39;"
                                        : NULL;
        if (rep)
            o += (size_t)snprintf(out + o, cap - o, "%s", rep);
        else
            out[o++] = *in;
    }
    out[o] = '\0';
}

/* Percent-encode a name for an href. */
static void url_escape(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in && o + 4 < cap; in++) {
        unsigned char c = (unsigned char)*in;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-._~", c))
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", c);
    }
    out[o] = '\0';
}

static int list_dir(struct loom_http_req *req, struct loom_http_reply *rep, int dfd)
{
    DIR *d = fdopendir(dup(dfd));
    if (!d)
        return loom_http_reply_error(rep, 500);
    loom_http_reply_header(rep, "Content-Type", "text/html; charset=utf-8");
    char title[1024], line[3 * 1024];
    html_escape(loom_http_req_path(req), title, sizeof title);
    int n = snprintf(line, sizeof line,
                     "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                     "<title>Index of %s</title></head>\n<body><h1>Index of %s"
                     "</h1>\n<ul>\n",
                     title, title);
    int rc = loom_http_reply_write(rep, line, (size_t)n);
    struct dirent *e;
    size_t count = 0;
    while (rc == 0 && (e = readdir(d)) && count++ < 100000) {
        if (e->d_name[0] == '.')
            continue;
        char href[768], text[768];
        url_escape(e->d_name, href, sizeof href);
        html_escape(e->d_name, text, sizeof text);
        bool dir = e->d_type == DT_DIR;
        n = snprintf(line, sizeof line, "<li><a href=\"%s%s\">%s%s</a></li>\n", href,
                     dir ? "/" : "", text, dir ? "/" : "");
        rc = loom_http_reply_write(rep, line, (size_t)n);
    }
    closedir(d);
    return rc ? rc : loom_http_reply_write(rep, "</ul></body></html>\n", 20);
}

/* A directory: redirect to the slash form, then index.html or a listing. */
static int serve_dir(struct loom_http_req *req, struct loom_http_reply *rep, int dfd,
                     const char *rel)
{
    const char *path = loom_http_req_path(req);
    if (path[strlen(path) - 1] != '/') {
        /* The origin-form only: an absolute-form target ("http://evil/dir")
         * must not put the client's authority into our Location. */
        const char *t = loom_http_req_target(req);
        if (t[0] != '/' && strstr(t, "://"))
            t = strchr(strstr(t, "://") + 3, '/');
        char loc[4096];
        snprintf(loc, sizeof loc, "%s/", t ? t : "");
        char *q = strchr(loc, '?');
        if (q) /* keep the query after the slash */
            snprintf(q, sizeof loc - (size_t)(q - loc), "/?%s", loom_http_req_query(req));
        loom_http_reply_header(rep, "Location", loc);
        return loom_http_reply_error(rep, 301);
    }
    char index[4096];
    snprintf(index, sizeof index, "%sindex.html", rel);
    int fd = open_beneath(index);
    if (fd >= 0) {
        int rc = loom_http_reply_file(rep, req, fd, "text/html; charset=utf-8");
        close(fd);
        return rc;
    }
    return list_dir(req, rep, dfd);
}

static int serve(struct loom_http_req *req, struct loom_http_reply *rep, void *arg)
{
    const char *m = loom_http_req_method(req);
    if (strcmp(m, "GET") && strcmp(m, "HEAD")) {
        loom_http_reply_header(rep, "Allow", "GET, HEAD");
        return loom_http_reply_error(rep, 405);
    }
    const char *rel = loom_http_req_path(req) + 1;
    if (!path_ok(rel))
        return loom_http_reply_error(rep, 404);
    int fd = open_beneath(rel);
    if (fd < 0)
        return loom_http_reply_error(rep, errno == EACCES ? 403 : 404);
    int rc = loom_http_reply_file(rep, req, fd, loom_http_mime_type(rel));
    if (rc == -EISDIR)
        rc = serve_dir(req, rep, fd, rel);
    else if (rc == -EINVAL)
        rc = loom_http_reply_error(rep, 404); /* FIFOs, devices: never */
    close(fd);
    return rc;
}

static void on_listening(struct loom_server *srv, void *arg)
{
    char name[128];
    if (loom_server_name(srv, name, sizeof name) == 0)
        printf("listening on %s\n", name);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    opts_init(argc, argv, usage);
    const char *root = opts_str("--root", NULL);
    if (!root)
        opts_fail("--root DIR is required");
    root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        opts_fail("--root: cannot open '%s': %s", root, strerror(errno));
    struct loom_http_router *router;
    if (loom_http_router_new(&router) < 0 || loom_http_route(router, "*", "/", serve, NULL) < 0 ||
        loom_http_route(router, "*", "/{path...}", serve, NULL) < 0) {
        fprintf(stderr, "%s: out of memory\n", opts_prog());
        return 1;
    }
    struct loom_http_server_options opt = {
        .net = {.host = opts_host("--host", "127.0.0.1"),
                .port = opts_port("--port", 8080, true),
                .max_connections = (size_t)opts_long("--max-connections", 10000, 1, 1000000),
                .grace_ns = opts_seconds("--grace", 5, 0, 3600),
                .handle_signals = true,
                .on_listening = on_listening},
        .access_log = opts_flag("--access-log") ? stdout : NULL,
    };
    unsigned workers = (unsigned)opts_long("--workers", 1, 1, 256);
    int rc = loom_http_server_run(&opt, router, workers);
    loom_http_router_free(router);
    close(root_fd);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot serve on %s:%d: %s\n", opts_prog(), opt.net.host, opt.net.port,
                loom_strerror(rc));
        return 1;
    }
    return 0;
}
