/* listing_8_1.c - an HTTP GET as a callback protocol (listing 8.1).
 *
 * The transport/protocol layer has no tasks: the loop calls connection_made,
 * data_received for every chunk, eof_received and connection_lost. The
 * protocol sends its request as soon as it is connected, buffers the answer,
 * and at EOF resolves a future - the bridge a task can await. There is no
 * internet here: the demo asks a local web site (loom's HTTP server in a
 * thread, demos/common/site.c) on plain http, as the book asks port 80. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/site.h"
#include "demo.h"
#include "net/transport.h"
#include "reactor/future.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_8_1\n"
    "Starts a local web site on 127.0.0.1 (a free port), sends \"GET / HTTP/1.1\" with\n"
    "Connection: close through a callback protocol, and prints the response's status line\n"
    "once the protocol's future is resolved at EOF.\n";

/* HTTPGetClientProtocol: the state the callbacks share. */
struct http_get {
    const char *host;
    struct loom_future response; /* resolved with the length at EOF, or an error */
    struct loom_future closed;   /* resolved by connection_lost: the callbacks are over */
    char buf[64 * 1024];         /* _response_buffer (bounded) */
    size_t len;
};

static void connection_made(struct loom_transport *t, void *arg)
{
    struct http_get *p = arg;
    char req[256];
    printf("Connection made to %s\n", p->host);
    int n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nConnection: close\r\nHost: %s\r\n\r\n",
                     p->host);
    loom_transport_write(t, req, (size_t)n); /* buffered; never blocks */
}

static void data_received(struct loom_transport *t, const void *data, size_t len, void *arg)
{
    struct http_get *p = arg;
    printf("Data received!\n");
    if (len > sizeof p->buf - 1 - p->len)
        len = sizeof p->buf - 1 - p->len;
    memcpy(p->buf + p->len, data, len);
    p->len += len;
    p->buf[p->len] = 0;
}

static bool eof_received(struct loom_transport *t, void *arg)
{
    struct http_get *p = arg;
    loom_future_set_result(&p->response, (intptr_t)p->len);
    return false; /* close the transport */
}

static void connection_lost(struct loom_transport *t, int err, void *arg)
{
    struct http_get *p = arg;
    if (err == 0)
        printf("Connection closed without error.\n");
    else if (!loom_future_done(&p->response))
        loom_future_set_result(&p->response, err); /* set_exception */
    loom_future_set_result(&p->closed, err);
}

static const struct loom_protocol http_get_protocol = {
    .connection_made = connection_made,
    .data_received = data_received,
    .eof_received = eof_received,
    .connection_lost = connection_lost,
};

/* get_response(): await the future the callbacks resolve. */
static intptr_t get_response(struct http_get *p)
{
    intptr_t rc = loom_future_await(&p->response, LOOM_SEC(10));
    intptr_t closed = loom_future_await(&p->closed, LOOM_SEC(10));
    return rc < 0 ? rc : closed < 0 ? closed : rc;
}

static intptr_t main_task(void *arg)
{
    struct demo_site *site = arg;
    static struct http_get p = {.host = "127.0.0.1"};
    loom_future_init(&p.response);
    loom_future_init(&p.closed);
    DEMO_CHECK(loom_transport_connect(p.host, demo_site_port(site), LOOM_SEC(5), &http_get_protocol,
                                      &p, NULL));
    intptr_t rc = get_response(&p);
    DEMO_CHECK(rc);
    char *eol = strstr(p.buf, "\r\n");
    printf("Got %ld bytes; status line: %.*s\n", (long)rc, eol ? (int)(eol - p.buf) : 0, p.buf);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct demo_site *site;
    DEMO_CHECK(demo_site_start(&(struct demo_site_options){0}, &site));
    intptr_t rc = loom_run(main_task, site);
    demo_site_stop(site);
    DEMO_CHECK(rc);
    return 0;
}
