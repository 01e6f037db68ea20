/* httpsrv.h - an HTTP server under test, on a loop in a thread of its own, so
 * a test can drive it with blocking clients (netclient.h, curl, Python). */
#ifndef LOOM_TESTS_HTTPSRV_H
#define LOOM_TESTS_HTTPSRV_H

#include <pthread.h>
#include <stdbool.h>

#include "net/http_server.h"

struct test_http_server {
    struct loom_http_server_options opt; /* in: set before start (host defaults to 127.0.0.1) */
    struct loom_http_router *router;     /* in: freed by test_http_server_stop */
    int port;                            /* out, once started */
    struct loom_loop *loop;              /* out: the server's loop */
    struct loom_http_server *srv;        /* out: the server (its loop's thread only) */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int rc;
    bool ready;
};

/* Start st's server in a new thread and wait until it listens; fails the test
 * if it cannot start. */
void test_http_server_start(struct test_http_server *st);
/* Ask the server to stop gracefully (thread-safe, returns at once). */
void test_http_server_request_stop(struct test_http_server *st);
/* Wait for the server's thread to end (after a stop), free the router. */
void test_http_server_join(struct test_http_server *st);
/* request_stop + join. */
void test_http_server_stop(struct test_http_server *st);

#endif
