/* listing_12_4.c - a web crawler on a queue with 100 workers (listing 12.4).
 *
 * 100 workers take (depth, url) items, fetch the page (3 s timeout) and, below
 * depth 3, queue its same-site links; main waits for queue.join(). No de-dup.
 * Local site served here: page N links to 3N+1..3N+3, the root and another site
 * (skipped): 85 fetches. No HTTP module yet: minimal HTTP/1.1 over loom streams. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "net/server.h"
#include "net/tcp.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_12_4\n"
    "Crawls a local site (0.1 s per page, scaled) to depth 3 with 100 workers: 85 fetches.\n";

struct work_item {
    int item_depth;
    char url[128];
};

static struct loom_queue url_queue;
static int port, fetched, distinct, seen[512];

static intptr_t site(struct loom_stream *s, void *arg)
{
    char line[512], body[512];
    int page = 0;
    if (loom_stream_readline(s, line, sizeof line, -1) <= 0 || !sscanf(line, "GET /p/%d", &page))
        page = 0;
    while (loom_stream_readline(s, line, sizeof line, -1) > 2)
        ;
    int rc = loom_sleep(demo_sec(0.1));
    int n = snprintf(body, sizeof body,
                     "<html><body><a href=\"/p/%d\">a</a> <a href=\"/p/%d\">b</a> "
                     "<a href=\"http://127.0.0.1:%d/p/%d\">c</a> <a href=\"/\">home</a> "
                     "<a href=\"http://example.invalid/\">elsewhere</a></body></html>",
                     3 * page + 1, 3 * page + 2, port, 3 * page + 3);
    int h = snprintf(line, sizeof line, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", n);
    loom_stream_write(s, line, (size_t)h);
    loom_stream_write(s, body, (size_t)n);
    return rc < 0 ? rc : loom_stream_flush(s, -1);
}

/* GET url's path into body (NUL-terminated); every step bounded by timeout. */
static int fetch(const char *path, char *body, size_t cap, int64_t timeout)
{
    struct loom_stream *s;
    char line[256];
    long length = -1;
    int rc = loom_tcp_connect("127.0.0.1", port, timeout, &s);
    if (rc < 0)
        return rc;
    snprintf(line, sizeof line, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    ssize_t n = loom_stream_write(s, line, strlen(line));
    while (n >= 0 && (n = loom_stream_readline(s, line, sizeof line, timeout)) > 2)
        if (!strncasecmp(line, "Content-Length:", 15))
            length = strtol(line + 15, NULL, 10);
    if (n >= 0 && (length < 0 || (size_t)length >= cap))
        n = -EMSGSIZE;
    if (n >= 0 && (n = loom_stream_readexactly(s, body, (size_t)length, timeout)) >= 0)
        body[length] = '\0';
    loom_stream_close(s);
    return n < 0 ? (int)n : 0;
}

static void put_links(const struct work_item *w, const char *body)
{
    char prefix[64];
    int plen = snprintf(prefix, sizeof prefix, "http://127.0.0.1:%d/", port);
    for (const char *p = body; (p = strstr(p, "href=\"")); p++) {
        const char *href = p + 6, *end = strchr(href, '"');
        href += strncmp(href, prefix, (size_t)plen) ? 0 : plen - 1; /* same site: the path */
        if (href[0] != '/' || !end || end - href >= 128)
            continue; /* another site */
        struct work_item *next = calloc(1, sizeof(*next));
        if (!next)
            return;
        next->item_depth = w->item_depth + 1;
        memcpy(next->url, href, (size_t)(end - href));
        if (loom_queue_put_nowait(&url_queue, next) < 0)
            free(next);
    }
}

static intptr_t worker(void *arg)
{
    int worker_id = (int)(intptr_t)arg, max_depth = 3;
    for (;;) {
        void *item;
        int rc = loom_queue_get(&url_queue, &item, -1);
        if (rc < 0)
            return rc;
        struct work_item *w = item;
        printf("Worker %d: Processing %s\n", worker_id, w->url);
        char body[1024];
        if ((rc = fetch(w->url, body, sizeof body, demo_sec(3))) < 0) {
            printf("Error processing url %s: %s\n", w->url, loom_strerror(rc));
        } else {
            int page = 0;
            fetched++;
            sscanf(w->url, "/p/%d", &page);
            distinct += !seen[page % 512];
            seen[page % 512] = 1;
            if (w->item_depth == max_depth)
                printf("Max depth reached, for %s\n", w->url);
            else
                put_links(w, body);
        }
        printf("Worker %d: Finished %s\n", worker_id, w->url);
        free(w);
        loom_queue_task_done(&url_queue);
    }
}

static intptr_t main_task(void *arg)
{
    struct loom_server *srv;
    DEMO_CHECK(loom_server_start(loom_loop_current(), &(struct loom_server_options){0}, site, NULL,
                                 &srv));
    port = loom_server_port(srv);
    loom_queue_init(&url_queue, 0);
    struct work_item *first = calloc(1, sizeof(*first));
    strcpy(first->url, "/");
    DEMO_CHECK(loom_queue_put_nowait(&url_queue, first));
    double t0 = demo_now();
    struct loom_task *workers[100];
    for (int i = 0; i < 100; i++)
        workers[i] = loom_spawn(worker, (void *)(intptr_t)i, NULL);
    DEMO_CHECK(loom_queue_join(&url_queue, -1));
    for (int i = 0; i < 100; i++)
        loom_task_cancel(workers[i]);
    loom_gather(workers, 100, NULL, LOOM_GATHER_ALL);
    printf("Fetched %d pages (%d distinct) in %.2f s\n", fetched, distinct, demo_now() - t0);
    loom_queue_close(&url_queue);
    loom_server_shutdown(srv, 0);
    loom_server_free(srv);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
