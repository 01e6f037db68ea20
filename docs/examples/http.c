/* http.c - an HTTP server with a route, and a client session making concurrent requests to it. */
#include <stdio.h>
#include <stdlib.h>

#include <loom/net/http.h>
#include <loom/net/http_server.h>
#include <loom/reactor/error.h>
#include <loom/reactor/task.h>

/* GET /hello/{name}: runs in the connection's task, may suspend. */
static int hello(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    char body[128];
    snprintf(body, sizeof body, "hello, %s\n", loom_http_req_param(req, "name"));
    return loom_http_reply_text(res, 200, body);
}

static struct loom_http_session *session; /* one connection pool per origin */
static int port;

/* One client request: GET, read the whole body, check the status. */
static intptr_t fetch(void *arg)
{
    char url[128], err[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hello/%s", port, (const char *)arg);
    struct loom_http_response *r;
    int rc = loom_http_get(session, url, &r, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", url, err);
        return rc;
    }
    char *body;
    ssize_t n = loom_http_response_read_all(r, &body, 64 * 1024);
    int status = loom_http_response_status(r);
    loom_http_response_close(r);
    if (n < 0)
        return n;
    printf("%d %s", status, body);
    free(body);
    return status == 200 ? 0 : -1;
}

static intptr_t amain(void *unused)
{
    struct loom_http_router *router;
    int rc = loom_http_router_new(&router);
    if (rc < 0)
        return rc;
    loom_http_route(router, "GET", "/hello/{name}", hello, NULL);
    struct loom_http_server_options opt = {.net = {.host = "127.0.0.1", .port = 0}};
    struct loom_http_server *srv = NULL;
    rc = loom_http_server_start(loom_loop_current(), &opt, router, &srv);
    if (rc == 0) {
        port = loom_http_server_port(srv);
        rc = loom_http_session_new(loom_loop_current(), NULL, &session);
    }
    if (rc == 0) {
        /* Three requests at once (asyncio.gather over aiohttp). */
        const char *names[] = {"ada", "grace", "linus"};
        struct loom_task *t[3];
        for (int i = 0; i < 3; i++)
            t[i] = loom_spawn(fetch, (void *)names[i], NULL);
        rc = loom_gather(t, 3, NULL, 0);
        loom_http_session_free(session);
    }
    if (srv) {
        loom_http_server_shutdown(srv, LOOM_SEC(1));
        loom_http_server_free(srv);
    }
    loom_http_router_free(router);
    return rc;
}

int main(void) { return loom_run(amain, NULL) == 0 ? 0 : 1; }
