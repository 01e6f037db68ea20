/* listing_12_3.c - an order API fed into a bounded queue (listing 12.3).
 *
 * POST /order puts a random job size 0-4 into Queue(10) (the handler waits
 * while the queue is full) and answers "Order placed!"; five workers take
 * orders and "process" each for that many seconds. On shutdown the server
 * waits at most 10 s for the queue to be joined, then cancels the workers.
 * There is no HTTP module yet: a minimal HTTP/1.1 handler over loom streams
 * lives in this file (one request per connection, Connection: close). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "net/server.h"
#include "net/stream.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_12_3 [--port P] [--orders N] [--seed N]\n"
    "HTTP server on 127.0.0.1:P (default 8080; 0 picks one; \"listening on ADDR:PORT\" goes to\n"
    "stderr). POST /order queues a job of 0-4 s (scaled) for 5 workers. Stops on Ctrl-C or,\n"
    "with --orders N, after N orders; then waits up to 10 s (scaled) for the queue to drain.\n";

static struct loom_queue order_queue;
static struct loom_server *srv;
static long orders, max_orders;
static unsigned seed;

static intptr_t process_order_worker(void *arg)
{
    int worker_id = (int)(intptr_t)arg;
    for (;;) {
        printf("Worker %d: Waiting for an order...\n", worker_id);
        void *item;
        int rc = loom_queue_get(&order_queue, &item, -1);
        if (rc < 0)
            return rc;
        int order = (int)(intptr_t)item;
        printf("Worker %d: Processing order %d\n", worker_id, order);
        rc = loom_sleep(demo_sec(order));
        if (rc < 0)
            return rc;
        printf("Worker %d: Processed order %d\n", worker_id, order);
        loom_queue_task_done(&order_queue);
    }
}

static int respond(struct loom_stream *s, int status, const char *reason, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
                     reason, strlen(body));
    loom_stream_write(s, head, (size_t)n);
    loom_stream_write(s, body, strlen(body));
    return loom_stream_flush(s, -1);
}

/* The minimal HTTP part: request line, headers (Content-Length), body skipped. */
static intptr_t handle(struct loom_stream *s, void *arg)
{
    char line[1024], method[16] = "", path[256] = "";
    ssize_t n = loom_stream_readline(s, line, sizeof line, -1);
    if (n <= 0 || sscanf(line, "%15s %255s", method, path) != 2)
        return n < 0 ? n : -EPROTO;
    long length = 0;
    while ((n = loom_stream_readline(s, line, sizeof line, -1)) > 2)
        if (!strncasecmp(line, "Content-Length:", 15))
            length = strtol(line + 15, NULL, 10);
    for (char c; n >= 0 && length > 0; length--)
        n = loom_stream_readexactly(s, &c, 1, -1);
    if (n < 0)
        return n;
    if (strcmp(method, "POST") || strcmp(path, "/order"))
        return respond(s, 404, "Not Found", "Not found\n");
    int rc = loom_queue_put(&order_queue, (void *)(intptr_t)(rand_r(&seed) % 5), -1);
    if (rc < 0)
        return respond(s, 503, "Service Unavailable", loom_strerror(rc));
    rc = respond(s, 200, "OK", "Order placed!");
    if (++orders == max_orders)
        loom_server_stop(srv);
    return rc;
}

static void on_listening(struct loom_server *s, void *arg)
{
    char name[64];
    loom_server_name(s, name, sizeof name);
    fprintf(stderr, "listening on %s\n", name);
}

static intptr_t main_task(void *arg)
{
    seed = (unsigned)demo_arg_long("--seed", 1);
    max_orders = demo_arg_long("--orders", -1);
    printf("Creating order queue and tasks.\n");
    loom_queue_init(&order_queue, 10);
    struct loom_task *workers[5];
    for (int i = 0; i < 5; i++)
        workers[i] = loom_spawn(process_order_worker, (void *)(intptr_t)i, NULL);
    struct loom_server_options opt = {.port = (int)demo_arg_long("--port", 8080),
                                      .handle_signals = true,
                                      .on_listening = on_listening};
    DEMO_CHECK(loom_server_start(loom_loop_current(), &opt, handle, NULL, &srv));
    int rc = loom_server_serve_forever(srv);
    loom_server_free(srv);
    printf("Waiting for pending queue workers to finish....\n");
    int jrc = loom_queue_join(&order_queue, demo_sec(10));
    printf("Finished all pending items, canceling worker tasks...%s\n",
           jrc == -ETIMEDOUT ? " (timed out)" : "");
    for (int i = 0; i < 5; i++)
        loom_task_cancel(workers[i]);
    loom_gather(workers, 5, NULL, LOOM_GATHER_ALL);
    loom_queue_close(&order_queue);
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
