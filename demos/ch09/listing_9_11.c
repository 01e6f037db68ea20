/* listing_9_11.c - a Django async view making concurrent requests (listing 9.11).
 *
 * GET /requests/?url=U&request_num=N makes N GETs of U at once with one
 * client session (gather with return_exceptions: every request finishes, the
 * failures are kept as their messages) and renders the template
 * async_api/requests.html: "Request Summary" with a table of failures and one
 * of status code, response time in microseconds and body size. The time is
 * the whole elapsed time in µs (Django's view kept only timedelta.microseconds,
 * which wraps every second). */
#include <errno.h>
#include <time.h>

#include "ch09.h"
#include "net/http.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_9_11 " CH09_HOST_OPTS "\n"
    "GET /requests/?url=U&request_num=N on 127.0.0.1:8000 (--host ADDR, --port N; 0 picks\n"
    "a free port; prints \"listening on ADDR:PORT\"): N (1..1000) concurrent GETs of U,\n"
    "summarised as an HTML page. SIGINT/SIGTERM stop it.\n";

#define MAX_REQUESTS 1000
#define MAX_BODY (8 << 20) /* per upstream response */

/* One get_url_details() call: its input, then its result or exception. */
struct details {
    struct loom_http_session *session;
    const char *url;
    int status;
    long long time_us;
    ssize_t body_length;
    char error[LOOM_HTTP_ERRLEN]; /* str(exception) when it failed */
};

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* len(await response.read()): the body is counted through a small buffer,
 * never kept - 1,000 requests each holding up to MAX_BODY grew the server by
 * the size of every answer at once (1,000 x 4 MB: 4 GB). LOOM_ELIMIT past
 * MAX_BODY. */
static ssize_t body_size(struct loom_http_response *r)
{
    char *buf = malloc(16 * 1024);
    ssize_t n = buf ? 0 : -ENOMEM, total = 0;
    while (buf && (n = loom_http_response_read(r, buf, 16 * 1024)) > 0 &&
           (total += n) <= MAX_BODY) {
    }
    free(buf);
    return n < 0 ? n : total > MAX_BODY ? LOOM_ELIMIT : total;
}

static intptr_t get_url_details(void *arg)
{
    struct details *d = arg;
    double start_time = now_us();
    struct loom_http_response *response;
    int rc = loom_http_get(d->session, d->url, &response, d->error, sizeof d->error);
    if (rc < 0)
        return rc;
    d->body_length = body_size(response);
    d->status = loom_http_response_status(response);
    loom_http_response_close(response);
    if (d->body_length < 0) {
        snprintf(d->error, sizeof d->error, "reading the body: %s",
                 loom_strerror((int)d->body_length));
        return d->body_length;
    }
    d->time_us = (long long)(now_us() - start_time);
    return 0;
}

/* Text for HTML, escaped ({{failure}} autoescapes). */
static void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        const char *rep = *s == '<'    ? "&lt;"
                          : *s == '>'  ? "&gt;"
                          : *s == '&'  ? "&amp;"
                          : *s == '"'  ? "&quot;"
                          : *s == '\'' ? "&#x27;"
                                       : NULL;
        if (rep)
            fputs(rep, f);
        else
            fputc(*s, f);
    }
}

/* render(request, 'async_api/requests.html', context) */
static void render(FILE *f, const struct details *d, const int *rc, long n)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n    <meta charset=\"UTF-8\">\n"
          "    <title>Request Summary</title>\n</head>\n<body>\n<h1>Summary of requests:</h1>\n"
          "<h2>Failures:</h2>\n<table>\n",
          f);
    for (long i = 0; i < n; i++)
        if (rc[i] < 0) {
            fputs("<tr><td>", f);
            html_text(f, d[i].error[0] ? d[i].error : loom_strerror(rc[i]));
            fputs("</td></tr>\n", f);
        }
    fputs("</table>\n<h2>Successful Results:</h2>\n<table>\n<tr><td>Status code</td>"
          "<td>Response time (microseconds)</td><td>Response size</td></tr>\n",
          f);
    for (long i = 0; i < n; i++)
        if (rc[i] == 0)
            fprintf(f, "<tr><td>%d</td><td>%lld</td><td>%zd</td></tr>\n", d[i].status, d[i].time_us,
                    d[i].body_length);
    fputs("</table>\n</body>\n</html>\n", f);
}

static int requests_view(struct loom_http_req *request, struct loom_http_reply *rep, void *arg)
{
    const char *num = loom_http_req_query_param(request, "request_num");
    char *end;
    long request_num = num ? strtol(num, &end, 10) : 0;
    if (!num || *end || request_num < 1 || request_num > MAX_REQUESTS)
        request_num = 0;
    /* Read last: a query parameter is valid until the next one is read. */
    const char *url = loom_http_req_query_param(request, "url");
    if (!url || !request_num)
        return loom_http_reply_text(rep, 400, "url and request_num (1..1000) are required\n");

    /* make_requests(url, request_num) */
    struct loom_http_session *session;
    int rc = loom_http_session_new(loom_loop_current(), NULL, &session);
    if (rc < 0)
        return rc;
    struct details *d = calloc((size_t)request_num, sizeof *d);
    struct loom_task **tasks = calloc((size_t)request_num, sizeof *tasks);
    intptr_t *status = calloc((size_t)request_num, sizeof *status);
    int *results = calloc((size_t)request_num, sizeof *results);
    size_t spawned = 0;
    for (long i = 0; d && tasks && status && results && i < request_num; i++) {
        d[i] = (struct details){.session = session, .url = url};
        if ((tasks[spawned] = loom_spawn(get_url_details, &d[i], NULL)))
            spawned++;
        else
            results[i] = -ENOMEM;
    }
    if (spawned) /* asyncio.gather(*requests, return_exceptions=True) */
        loom_gather(tasks, spawned, status, LOOM_GATHER_ALL);
    for (long i = 0, t = 0; status && i < request_num; i++)
        if (results[i] == 0)
            results[i] = (int)status[t++];
    loom_http_session_free(session);

    char *page = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&page, &len);
    if (f && d && tasks && status && results)
        render(f, d, results, request_num);
    rc = f && fclose(f) == 0 && d && tasks && status && results
             ? loom_http_reply_send(rep, 200, "text/html; charset=utf-8", page, len)
             : -ENOMEM;
    free(page), free(d), free(tasks), free(status), free(results);
    return rc;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct loom_http_router *routes;
    DEMO_CHECK(loom_http_router_new(&routes));
    DEMO_CHECK(loom_http_route(routes, "GET", "/requests/", requests_view, NULL));
    struct loom_http_server_options opt = ch09_server_options(8000);
    DEMO_CHECK(loom_http_server_run(&opt, routes, 1));
    loom_http_router_free(routes);
    return 0;
}
