/* ch10.h - what the chapter-10 microservices share: serving a route table
 * on 127.0.0.1:--port until SIGINT/SIGTERM (aiohttp's web.run_app), reading a
 * numeric id from a path, and fetching a JSON document from another service
 * in a task of its own (the book's asyncio.create_task(session.get(url))). */
#ifndef LOOM_DEMOS_CH10_H
#define LOOM_DEMOS_CH10_H

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "demo.h"
#include "net/http.h"
#include "net/http_server.h"
#include "reactor/task.h"

/* The most a service answer may hold (the 1,000 products are ~60 KB). */
#define CH10_MAX_BODY ((uint64_t)16 << 20)

/* A decimal int of the whole string (Python's int(str_id) for our ids). */
static inline bool ch10_parse_int(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < INT_MIN || v > INT_MAX)
        return false;
    *out = (int)v;
    return true;
}

/* --port N as a port (0: any free one), or exit 2. */
static inline int ch10_port(int def)
{
    const char *s = demo_arg_str("--port", NULL);
    int port = def;
    if (s && (!ch10_parse_int(s, &port) || port < 0 || port > 65535)) {
        fprintf(stderr, "--port: '%s' is not a port (0..65535)\n", s);
        exit(2);
    }
    return port;
}

static inline void ch10_on_listening(struct loom_server *srv, void *arg)
{
    char name[128];
    if (loom_server_name(srv, name, sizeof name) == 0)
        printf("listening on %s\n", name);
    fflush(stdout);
}

/* web.run_app(app, port=...): serve router on 127.0.0.1:--port (default
 * def_port) with the start/stop hooks (may be NULL) until SIGINT or SIGTERM;
 * requests still running get 2 s, then are cancelled. Returns the exit status. */
static inline int ch10_serve(struct loom_http_router *router, int def_port,
                             int (*on_start)(struct loom_http_server *, void *),
                             void (*on_stop)(struct loom_http_server *, void *), void *hook_arg)
{
    struct loom_http_server_options opt = {
        .net = {.host = "127.0.0.1",
                .port = ch10_port(def_port),
                .grace_ns = LOOM_SEC(2),
                .handle_signals = true,
                .on_listening = ch10_on_listening},
        .on_start = on_start,
        .on_stop = on_stop,
        .hook_arg = hook_arg,
    };
    int rc = loom_http_server_run(&opt, router, 1);
    if (rc < 0)
        fprintf(stderr, "cannot serve on 127.0.0.1:%d: %s\n", opt.net.port, loom_strerror(rc));
    return rc < 0 ? 1 : 0;
}

/* --- a GET of a JSON document in its own task --- */

struct ch10_fetch {
    struct loom_http_session *session;
    char url[512];
    json_t *json;               /* the parsed body, once the task succeeded */
    char err[LOOM_HTTP_ERRLEN]; /* why it failed */
    struct loom_task *task;
};

/* GET f->url, require 200, read and parse the body. 0 or a negative code
 * (f->err says why). Suspends. */
static inline intptr_t ch10_fetch_task(void *arg)
{
    struct ch10_fetch *f = arg;
    struct loom_http_response *r;
    int rc = loom_http_get(f->session, f->url, &r, f->err, sizeof f->err);
    if (rc < 0)
        return rc;
    char *body = NULL;
    ssize_t n = 0;
    if (loom_http_response_status(r) != 200) {
        snprintf(f->err, sizeof f->err, "status %d", loom_http_response_status(r));
        rc = LOOM_EHTTP;
    } else if ((n = loom_http_response_read_all(r, &body, CH10_MAX_BODY)) < 0) {
        snprintf(f->err, sizeof f->err, "%s", loom_http_response_error(r));
        rc = (int)n;
    } else if (!(f->json = json_loadb(body, (size_t)n, 0, NULL))) {
        snprintf(f->err, sizeof f->err, "the answer is not JSON");
        rc = -EINVAL;
    }
    free(body);
    loom_http_response_close(r);
    return rc;
}

/* Start fetching printf-formatted URL in a task. 0 or -ENOMEM. */
static inline int ch10_fetch_start(struct ch10_fetch *f, struct loom_http_session *s,
                                   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline int ch10_fetch_start(struct ch10_fetch *f, struct loom_http_session *s,
                                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->url, sizeof f->url, fmt, ap);
    va_end(ap);
    f->session = s;
    f->json = NULL;
    f->err[0] = '\0';
    f->task = loom_spawn(ch10_fetch_task, f, NULL);
    return f->task ? 0 : -ENOMEM;
}

/* Whether the fetch finished and succeeded. */
static inline bool ch10_fetch_ok(const struct ch10_fetch *f)
{
    return f->task && loom_task_done(f->task) && loom_task_result(f->task) == 0;
}

/* Why it failed ("timed out" if it is still running). */
static inline const char *ch10_fetch_why(const struct ch10_fetch *f)
{
    if (!f->task)
        return "not started";
    if (!loom_task_done(f->task))
        return "still running";
    return f->err[0] ? f->err : loom_strerror((int)loom_task_result(f->task));
}

/* Cancel the task if it still runs, wait for it to end, free what it got. Suspends. */
static inline void ch10_fetch_finish(struct ch10_fetch *f)
{
    if (f->task) {
        loom_task_cancel(f->task); /* a no-op once it finished */
        loom_task_join(f->task);
        f->task = NULL;
    }
    json_decref(f->json);
    f->json = NULL;
}

#endif
