/* listing_9_6.c - a WSGI application (listing 9.6).
 *
 * application(env, start_response) is a blocking function: loom runs it on the
 * executor's thread pool (loom_http_route_sync), never on the loop. It gets
 * the request as an environ (printed as Python prints the dict), sets the
 * status and headers (start_response) and returns the body "Hello WSGI world!"
 * as text/html. Any method, any path. */
#include <ctype.h>
#include <errno.h>

#include "ch09.h"

static const char usage[] =
    "usage: listing_9_6 " CH09_HOST_OPTS "\n"
    "A WSGI-style (blocking, thread pool) app on 127.0.0.1:8000 (--host ADDR, --port N;\n"
    "0 picks a free port; prints \"listening on ADDR:PORT\"): prints each request's environ\n"
    "and answers \"Hello WSGI world!\" as text/html. SIGINT/SIGTERM stop it.\n";

/* Python's repr of a str: in single quotes, escaped as Python escapes it. */
static void print_repr(FILE *f, const char *s)
{
    fputc('\'', f);
    ch09_print_escaped(f, s, false);
    fputc('\'', f);
}

static void print_item(FILE *f, const char *key, const char *value, bool first)
{
    fputs(first ? "{" : ", ", f);
    print_repr(f, key);
    fputs(": ", f);
    print_repr(f, value);
}

/* The environ: CGI variables, then the headers as HTTP_NAME (upper case, '-' -> '_'). */
static void print_environ(const struct loom_http_sync_request *env)
{
    char remote[64], *port;
    snprintf(remote, sizeof remote, "%s", env->remote);
    port = strrchr(remote, ':');
    if (port)
        *port++ = '\0';
    flockfile(stdout);
    print_item(stdout, "REQUEST_METHOD", env->method, true);
    print_item(stdout, "PATH_INFO", env->path, false);
    print_item(stdout, "QUERY_STRING", env->query, false);
    print_item(stdout, "SERVER_PROTOCOL", env->server_protocol, false);
    print_item(stdout, "SCRIPT_NAME", "", false);
    print_item(stdout, "REMOTE_ADDR", remote, false);
    print_item(stdout, "REMOTE_PORT", port ? port : "", false);
    for (size_t i = 0; i < env->nheaders; i++) {
        char key[128] = "HTTP_";
        size_t k = 5;
        for (const char *c = env->header_names[i]; *c && k < sizeof key - 1; c++)
            key[k++] = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
        key[k] = '\0';
        if (!strcmp(key, "HTTP_CONTENT_TYPE") || !strcmp(key, "HTTP_CONTENT_LENGTH"))
            memmove(key, key + 5, k - 4); /* CGI names these two without HTTP_ */
        print_item(stdout, key, env->header_values[i], false);
    }
    fputs("}\n", stdout);
    fflush(stdout);
    funlockfile(stdout);
}

static int application(const struct loom_http_sync_request *env,
                       struct loom_http_sync_response *res, void *arg)
{
    print_environ(env);
    /* start_response('200 OK', [('Content-Type', 'text/html')]) */
    res->status = 200;
    snprintf(res->content_type, sizeof res->content_type, "text/html");
    res->body = strdup("Hello WSGI world!");
    if (!res->body)
        return -ENOMEM;
    res->body_len = strlen(res->body);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct loom_http_router *routes;
    DEMO_CHECK(loom_http_router_new(&routes));
    DEMO_CHECK(loom_http_route_sync(routes, "*", "/", application, NULL));
    DEMO_CHECK(loom_http_route_sync(routes, "*", "/{path...}", application, NULL));
    struct loom_http_server_options opt = ch09_server_options(8000);
    DEMO_CHECK(loom_http_server_run(&opt, routes, 1));
    loom_http_router_free(routes);
    return 0;
}
