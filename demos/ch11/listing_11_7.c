/* listing_11_7.c - a semaphore caps requests in flight (listing 11.7).
 *
 * 1000 GETs are started at once, but each must hold Semaphore(10) while it
 * talks to the server, so at most 10 connections are open at any time. The
 * server is local and counts how many connections it serves at once. There
 * is no HTTP module yet: a minimal HTTP/1.1 handler and client over loom
 * streams live in this file (one request per connection). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "net/server.h"
#include "net/stream.h"
#include "net/tcp.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_11_7 [--requests N]\n"
    "Starts N (default 1000) GETs to a local HTTP server, at most 10 at a time through a\n"
    "Semaphore(10); the server answers after 10 ms (scaled) and reports the most\n"
    "connections it served at once (at most 10).\n";

static struct loom_semaphore semaphore;
static struct loom_server *srv;
static size_t most;

/* Server side: read the request head, wait a little, answer 200. */
static intptr_t handle(struct loom_stream *s, void *arg)
{
    size_t now = loom_server_connections(srv);
    if (now > most)
        most = now;
    char line[1024];
    ssize_t n;
    while ((n = loom_stream_readline(s, line, sizeof line, -1)) > 2)
        ; /* headers, up to the blank line */
    if (n < 0)
        return n;
    int rc = loom_sleep(demo_sec(0.01));
    if (rc < 0)
        return rc;
    static const char resp[] =
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    loom_stream_write(s, resp, sizeof resp - 1);
    return loom_stream_flush(s, -1);
}

/* Client side: GET / and return the status code. */
static int http_get(int port)
{
    struct loom_stream *s;
    int rc = loom_tcp_connect("127.0.0.1", port, -1, &s);
    if (rc < 0)
        return rc;
    static const char req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    char line[256];
    int status = 0;
    if ((rc = loom_stream_write(s, req, sizeof req - 1)) == 0 &&
        (rc = (int)loom_stream_readline(s, line, sizeof line, -1)) > 0)
        rc = sscanf(line, "HTTP/1.%*d %d", &status) == 1 ? status : -EPROTO;
    loom_stream_close(s);
    return rc;
}

static intptr_t get_url(void *arg)
{
    printf("Waiting to acquire semaphore...\n");
    int rc = loom_semaphore_acquire(&semaphore, -1);
    if (rc < 0)
        return rc;
    printf("Acquired semaphore, requesting...\n");
    int status = http_get(loom_server_port(srv));
    printf("Finished requesting\n");
    loom_semaphore_release(&semaphore);
    return status;
}

static intptr_t main_task(void *arg)
{
    long n = demo_arg_long("--requests", 1000);
    loom_semaphore_init(&semaphore, 10);
    DEMO_CHECK(loom_server_start(loom_loop_current(), &(struct loom_server_options){0}, handle,
                                 NULL, &srv));
    struct loom_task **tasks = calloc((size_t)n, sizeof(*tasks));
    intptr_t *status = calloc((size_t)n, sizeof(*status));
    if (!tasks || !status)
        return 1;
    for (long i = 0; i < n; i++)
        tasks[i] = loom_spawn(get_url, NULL, NULL);
    DEMO_CHECK(loom_gather(tasks, (size_t)n, status, 0));
    long ok = 0;
    for (long i = 0; i < n; i++)
        ok += status[i] == 200;
    printf("%ld of %ld requests got 200; the server saw at most %zu connections at once\n", ok, n,
           most);
    free(tasks);
    free(status);
    loom_server_shutdown(srv, 0);
    loom_server_free(srv);
    loom_semaphore_close(&semaphore);
    return ok == n ? 0 : 1;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
