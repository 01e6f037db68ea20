/* httpsrv.c - an HTTP server under test in a thread of its own (httpsrv.h). */
#include "httpsrv.h"

#include "harness.h"
#include "reactor/task.h"

static intptr_t serve(void *arg)
{
    struct test_http_server *st = arg;
    int rc = loom_http_server_start(loom_loop_current(), &st->opt, st->router, &st->srv);
    pthread_mutex_lock(&st->mu);
    st->rc = rc;
    st->loop = loom_loop_current();
    st->port = rc == 0 ? loom_http_server_port(st->srv) : -1;
    st->ready = true;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->mu);
    if (rc < 0)
        return rc;
    rc = loom_http_server_serve_forever(st->srv);
    loom_http_server_free(st->srv);
    return rc;
}

static void *thread_main(void *arg)
{
    struct loom_loop_options lo = {0};
    loom_run_with(&lo, serve, arg);
    return NULL;
}

void test_http_server_start(struct test_http_server *st)
{
    if (!st->opt.net.host)
        st->opt.net.host = "127.0.0.1";
    st->ready = false;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cond, NULL);
    ck_assert_int_eq(pthread_create(&st->thread, NULL, thread_main, st), 0);
    pthread_mutex_lock(&st->mu);
    while (!st->ready)
        pthread_cond_wait(&st->cond, &st->mu);
    pthread_mutex_unlock(&st->mu);
    ck_assert_msg(st->rc == 0, "HTTP server start: %s", loom_strerror(st->rc));
}

static void stop_cb(void *arg) { loom_http_server_stop(arg); }

void test_http_server_request_stop(struct test_http_server *st)
{
    loom_call_soon_threadsafe(st->loop, stop_cb, st->srv);
}

void test_http_server_stop(struct test_http_server *st)
{
    test_http_server_request_stop(st);
    test_http_server_join(st);
}

void test_http_server_join(struct test_http_server *st)
{
    pthread_join(st->thread, NULL);
    loom_http_router_free(st->router);
    st->router = NULL;
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cond);
}
