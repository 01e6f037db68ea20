/* listing_9_7.c - an ASGI application (listing 9.7).
 *
 * The handler runs in the connection's task. It prints the request's scope (as
 * Python prints the dict), then sends the response in two steps as ASGI's
 * send() does: http.response.start (status 200, content-type text/html; the
 * head goes out at once, the body chunked) and http.response.body
 * ("Hello ASGI world!"). Any method, any path. */
#include <ctype.h>

#include "ch09.h"

static const char usage[] =
    "usage: listing_9_7 " CH09_HOST_OPTS "\n"
    "An ASGI-style app on 127.0.0.1:8000 (--host ADDR, --port N; 0 picks a free port;\n"
    "prints \"listening on ADDR:PORT\"): prints each request's scope, then sends the\n"
    "response start (200, text/html) and the body \"Hello ASGI world!\" as two steps.\n"
    "SIGINT/SIGTERM stop it.\n";

/* Python's repr of a str (q = "'") or bytes (q = "b'"), escaped as Python escapes it. */
static void print_repr(const char *q, const char *s)
{
    fputs(q, stdout);
    ch09_print_escaped(stdout, s, q[0] == 'b');
    putchar('\'');
}

/* ("127.0.0.1", 8000) from "127.0.0.1:8000". */
static void print_addr(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    printf("('%.*s', %s)", colon ? (int)(colon - addr) : (int)strlen(addr), addr,
           colon ? colon + 1 : "None");
}

static void print_scope(struct loom_http_req *req)
{
    char server[64] = "-";
    loom_stream_sockname(loom_http_req_stream(req), server, sizeof server);
    printf("{'type': 'http', 'asgi': {'version': '3.0', 'spec_version': '2.3'}, "
           "'http_version': '1.%d', 'server': ",
           loom_http_req_minor_version(req));
    print_addr(server);
    printf(", 'client': ");
    print_addr(loom_http_req_remote(req));
    printf(", 'scheme': 'http', 'method': ");
    print_repr("'", loom_http_req_method(req));
    printf(", 'root_path': '', 'path': ");
    print_repr("'", loom_http_req_path(req));
    printf(", 'raw_path': ");
    char raw[4096];
    snprintf(raw, sizeof raw, "%s", loom_http_req_target(req));
    raw[strcspn(raw, "?")] = '\0';
    print_repr("b'", raw);
    printf(", 'query_string': ");
    print_repr("b'", loom_http_req_query(req));
    printf(", 'headers': [");
    for (size_t i = 0; i < loom_http_req_header_count(req); i++) {
        const char *name, *value;
        loom_http_req_header_at(req, i, &name, &value);
        char lower[256];
        size_t k = 0;
        for (; name[k] && k < sizeof lower - 1; k++)
            lower[k] = (char)tolower((unsigned char)name[k]);
        lower[k] = '\0';
        printf("%s(", i ? ", " : "");
        print_repr("b'", lower);
        printf(", ");
        print_repr("b'", value);
        printf(")");
    }
    printf("]}\n");
    fflush(stdout);
}

static int asgi_application(struct loom_http_req *req, struct loom_http_reply *send, void *arg)
{
    print_scope(req);
    /* await send({'type': 'http.response.start', 'status': 200,
     *             'headers': [[b'content-type', b'text/html']]}) */
    int rc = loom_http_reply_header(send, "Content-Type", "text/html");
    if (rc == 0)
        rc = loom_http_reply_start(send, 200, -1);
    /* await send({'type': 'http.response.body', 'body': b'Hello ASGI world!'}) */
    if (rc == 0)
        rc = loom_http_reply_write(send, "Hello ASGI world!", 17);
    if (rc == 0)
        rc = loom_http_reply_end(send);
    return rc;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct loom_http_router *routes;
    DEMO_CHECK(loom_http_router_new(&routes));
    DEMO_CHECK(loom_http_route(routes, "*", "/", asgi_application, NULL));
    DEMO_CHECK(loom_http_route(routes, "*", "/{path...}", asgi_application, NULL));
    struct loom_http_server_options opt = ch09_server_options(8000);
    DEMO_CHECK(loom_http_server_run(&opt, routes, 1));
    loom_http_router_free(routes);
    return 0;
}
