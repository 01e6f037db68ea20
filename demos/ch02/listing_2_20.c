/* listing_2_20.c - a blocking call inside coroutines (listing 2.20).
 *
 * Three tasks each make a blocking HTTP GET. A blocking read() stops the whole
 * thread - and with it the loop - so the tasks cannot overlap: they run in
 * turn and main takes about three times one request. (No internet and no HTTP
 * module yet: the demo starts a tiny local server in a thread and uses a plain
 * blocking socket GET, like requests.get in the book.) */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_20 [--latency S]\n"
    "Starts a local HTTP server on 127.0.0.1 answering after S seconds (default 0.5,\n"
    "scaled); three tasks each do a blocking GET: they run in turn, main takes ~3x S.\n";

static int port;

static intptr_t get_status(void *arg)
{
    return demo_http_get(port, "/"); /* blocks the loop: the antipattern */
}

static intptr_t get_example_status(void *arg)
{
    intptr_t status = demo_timed("get_example_status", "() {}", get_status, NULL);
    if (status >= 0)
        printf("status: %ld\n", (long)status);
    return status;
}

static intptr_t main_body(void *arg)
{
    struct loom_task *tasks[3];
    for (int i = 0; i < 3; i++)
        if (!(tasks[i] = loom_spawn(get_example_status, NULL, NULL)))
            return -ENOMEM;
    return loom_gather(tasks, 3, NULL, 0);
}

static intptr_t main_task(void *arg)
{
    return demo_timed("main", "() {}", main_body, NULL);
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct demo_http server;
    DEMO_CHECK(demo_http_start(&server, atof(demo_arg_str("--latency", "0.5")) * demo_scale()));
    port = server.port;
    intptr_t rc = loom_run(main_task, NULL);
    demo_http_stop(&server);
    DEMO_CHECK(rc);
    return 0;
}
