/* listing_8_3.c - the same HTTP GET with streams (listing 8.3).
 *
 * open_connection gives a buffered stream instead of callbacks: write the
 * request (buffered, never blocks), drain (wait only if too much is queued),
 * then readline until EOF and collect the lines, and close. The code reads top
 * to bottom like blocking code, and every wait is a suspension of this task.
 * The demo asks a local web site (loom's HTTP server in a thread,
 * demos/common/site.c; no internet). */
#include <stdio.h>
#include <string.h>

#include "common/site.h"
#include "demo.h"
#include "net/stream.h"
#include "net/tcp.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_8_3\n"
    "Starts a local web site on 127.0.0.1 (a free port), connects with\n"
    "loom_tcp_connect (asyncio open_connection), writes a GET request, drains, reads\n"
    "the response line by line until EOF, and prints the list of lines.\n";

/* read_until_empty(): readline until EOF; each line is printed in the list. */
static int read_until_empty(struct loom_stream *s)
{
    char line[1024];
    ssize_t n;
    const char *sep = "";
    printf("[");
    while ((n = loom_stream_readline(s, line, sizeof line, LOOM_SEC(10))) > 0) {
        printf("%s'", sep);
        for (ssize_t i = 0; i < n; i++) /* the line as Python would repr it */
            printf(line[i] == '\r' ? "\\r" : line[i] == '\n' ? "\\n" : "%c", line[i]);
        printf("'");
        sep = ", ";
    }
    printf("]\n");
    return n == LOOM_EOF ? 0 : (int)n;
}

static intptr_t main_task(void *arg)
{
    struct demo_site *site = arg;
    const char *host = "127.0.0.1";
    char request[256];
    int len = snprintf(request, sizeof request,
                       "GET / HTTP/1.1\r\nConnection: close\r\nHost: %s\r\n\r\n", host);
    struct loom_stream *s;
    DEMO_CHECK(loom_tcp_connect(host, demo_site_port(site), LOOM_SEC(5), &s));
    int rc = loom_stream_write(s, request, (size_t)len);
    if (rc == 0)
        rc = loom_stream_drain(s, LOOM_SEC(5));
    if (rc == 0)
        rc = read_until_empty(s);
    loom_stream_close(s); /* writer.close(); wait_closed() has nothing left to wait for */
    return rc;
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
