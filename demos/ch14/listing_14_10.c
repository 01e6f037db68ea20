/* listing_14_10.c - an event loop by hand: selector, future, resume (listing 14.10).
 *
 * No loom here: the loop is poll(2) plus a queue of callbacks. The "coroutine"
 * is a state machine. Running it sends it None; it makes a listening socket,
 * registers it with the selector under a future and yields that future. The
 * loop adds a done callback that resumes the coroutine, then polls. When a
 * client connects, the selector marks the future done, the callback runs and
 * the coroutine finishes - returning the listening socket, since (like the
 * original) it never calls accept(). */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_14_10 [--port N] [--client]\n"
    "A hand-written loop waits for a connection on 127.0.0.1:N (default 8000; 0 picks\n"
    "one); on connect it prints \"Processing selector events...\" then \"App finished.\"\n"
    "--client: also connect once from a thread, so the demo ends by itself.\n";

/* The loop's callback queue (call_soon). */
static struct callback {
    void (*fn)(void *arg);
    void *arg;
} callbacks[8];
static int ncallbacks;

static void call_soon(void (*fn)(void *), void *arg)
{
    if (ncallbacks < 8)
        callbacks[ncallbacks++] = (struct callback){fn, arg};
}

struct custom_future {
    bool is_finished;
    int result;
    void (*done_callback)(void *arg); /* scheduled with call_soon once finished */
    void *cb_arg;
};

static void custom_future_set_result(struct custom_future *f, int result)
{
    f->result = result;
    f->is_finished = true;
    if (f->done_callback)
        call_soon(f->done_callback, f->cb_arg);
}

/* The selector: one registered fd and the future to complete when it is readable. */
static struct pollfd selector = {.fd = -1};
static struct custom_future *selector_future;

/* The coroutine: a resume point, and what it returns. */
struct coroutine {
    int state;
    int result;
    struct custom_future accept_future;
};
static atomic_int listening_port;

/* send(None): returns the future it waits on, or NULL once it returned. */
static struct custom_future *coroutine_send(struct coroutine *c, int port)
{
    if (c->state == 0) {
        int fd = demo_listen("127.0.0.1", port, &port);
        DEMO_CHECK(fd);
        atomic_store(&listening_port, port);
        fprintf(stderr, "listening on 127.0.0.1:%d\n", port);
        c->accept_future = (struct custom_future){0};
        selector = (struct pollfd){.fd = fd, .events = POLLIN};
        selector_future = &c->accept_future;
        c->state = 1;
        return &c->accept_future; /* await sock_accept(...) */
    }
    c->result = c->accept_future.result; /* the listening socket, never accepted */
    c->state = -1;
    return NULL;
}

static bool finished;

static void resume(void *arg)
{
    if (!coroutine_send(arg, 0))
        finished = true;
}

static void *client(void *arg)
{
    int port;
    while ((port = atomic_load(&listening_port)) == 0)
        usleep(1000);
    int fd = demo_connect(port);
    DEMO_CHECK(fd);
    usleep(200000); /* stay connected while the loop notices */
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    pthread_t thread;
    bool with_client = demo_arg_flag("--client");
    if (with_client)
        DEMO_CHECK(-pthread_create(&thread, NULL, client, NULL));

    struct coroutine main_coro = {0};
    struct custom_future *awaited = coroutine_send(&main_coro, (int)demo_arg_long("--port", 8000));
    awaited->done_callback = resume;
    awaited->cb_arg = &main_coro;
    while (!finished) {
        struct callback ready[8];
        int n = ncallbacks;
        memcpy(ready, callbacks, sizeof ready);
        ncallbacks = 0;
        for (int i = 0; i < n; i++)
            ready[i].fn(ready[i].arg); /* run callbacks */
        if (finished || poll(&selector, 1, -1) <= 0)
            continue;
        printf("Processing selector events...\n");
        int fd = selector.fd;
        selector = (struct pollfd){.fd = -1}; /* unregister */
        custom_future_set_result(selector_future, fd);
    }
    printf("App finished. The coroutine returned the listening socket (fd %d).\n",
           main_coro.result);
    close(main_coro.result);
    if (with_client)
        pthread_join(thread, NULL);
    return 0;
}
