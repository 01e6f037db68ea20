/* listing_12_3.c - an order API fed into a bounded queue (listing 12.3).
 *
 * POST /order puts a random job size 0-4 into Queue(10) (the handler waits
 * while the queue is full) and answers "Order placed!"; five workers take
 * orders and "process" each for that many seconds. The server is loom's HTTP
 * server: its start hook makes the queue and the workers (aiohttp's
 * on_startup), its stop hook waits at most 10 s for the queue to be joined,
 * then cancels the workers (on_cleanup). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "demo.h"
#include "net/http_server.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_12_3 [--port P] [--orders N] [--seed N]\n"
    "HTTP server on 127.0.0.1:P (default 8080; 0 picks one; \"listening on ADDR:PORT\" goes to\n"
    "stderr). POST /order queues a job of 0-4 s (scaled) for 5 workers. Stops on Ctrl-C or,\n"
    "with --orders N, after N orders; then waits up to 10 s (scaled) for the queue to drain.\n";

static struct loom_queue order_queue;
static struct loom_task *order_tasks[5];
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
        if ((rc = loom_sleep(demo_sec(order))) < 0)
            return rc;
        printf("Worker %d: Processed order %d\n", worker_id, order);
        loom_queue_task_done(&order_queue);
    }
}

/* POST /order; arg points to the server (to stop it after --orders N). */
static int place_order(struct loom_http_req *req, struct loom_http_reply *res, void *arg)
{
    int rc = loom_queue_put(&order_queue, (void *)(intptr_t)(rand_r(&seed) % 5), -1);
    if (rc < 0)
        return loom_http_reply_text(res, 503, loom_strerror(rc));
    rc = loom_http_reply_text(res, 200, "Order placed!");
    if (++orders == max_orders)
        loom_http_server_stop(*(struct loom_http_server **)arg);
    return rc;
}

static int create_order_queue(struct loom_http_server *srv, void *arg)
{
    printf("Creating order queue and tasks.\n");
    loom_queue_init(&order_queue, 10);
    for (int i = 0; i < 5; i++)
        order_tasks[i] = loom_spawn(process_order_worker, (void *)(intptr_t)i, NULL);
    return 0;
}

static void destroy_queue(struct loom_http_server *srv, void *arg)
{
    printf("Waiting for pending queue workers to finish....\n");
    int rc = loom_queue_join(&order_queue, demo_sec(10));
    printf("Finished all pending items, canceling worker tasks...%s\n",
           rc == -ETIMEDOUT ? " (timed out)" : "");
    for (int i = 0; i < 5; i++)
        loom_task_cancel(order_tasks[i]);
    loom_gather(order_tasks, 5, NULL, LOOM_GATHER_ALL);
    loom_queue_close(&order_queue);
}

static intptr_t main_task(void *arg)
{
    seed = (unsigned)demo_arg_long("--seed", 1);
    max_orders = demo_arg_long("--orders", -1);
    struct loom_http_router *routes;
    struct loom_http_server *srv = NULL;
    DEMO_CHECK(loom_http_router_new(&routes));
    DEMO_CHECK(loom_http_route(routes, "POST", "/order", place_order, &srv));
    struct loom_http_server_options o = {
        .net = {.port = (int)demo_arg_long("--port", 8080), .handle_signals = true},
        .on_start = create_order_queue,
        .on_stop = destroy_queue,
    };
    DEMO_CHECK(loom_http_server_start(loom_loop_current(), &o, routes, &srv));
    fprintf(stderr, "listening on 127.0.0.1:%d\n", loom_http_server_port(srv));
    int rc = loom_http_server_serve_forever(srv);
    loom_http_server_free(srv);
    loom_http_router_free(routes);
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
