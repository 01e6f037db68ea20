/* listing_7_13.c - a stress test driven from another thread (listing 7.13).
 *
 * The loop runs in a thread of its own. The main thread starts the stress
 * test there with call_soon_threadsafe (asyncio's run_coroutine_threadsafe)
 * and may cancel it the same way. The test sends N concurrent GETs to a local
 * server (a minimal HTTP client over loom streams) and reports progress every
 * 1% through a callback that runs on the loop's thread. Unlike the book, the
 * connections are closed only after gather() returned. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "demo.h"
#include "net/tcp.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_7_13 [--requests N] [--cancel-after S]\n"
    "Runs N (default 200) concurrent GETs against a local server (50 ms per answer, scaled) on\n"
    "a loop in another thread, printing progress every 1%. --cancel-after S cancels the test\n"
    "from the main thread after S seconds (scaled).\n";

struct stress_test {
    struct loom_loop *loop; /* runs in loop_thread */
    int port;
    long completed, total;  /* loop thread only */
    void (*callback)(long completed, long total);
    struct loom_task *task;
    struct loom_future_callback done_cb;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool ready, done;
    int result;
};

static void *loop_thread(void *arg)
{
    struct stress_test *st = arg;
    DEMO_CHECK(loom_loop_new(&st->loop, NULL));
    loom_loop_ref(st->loop); /* run forever, until stopped */
    pthread_mutex_lock(&st->mu);
    st->ready = true;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    loom_loop_run(st->loop, LOOM_RUN_DEFAULT);
    loom_loop_free(st->loop);
    return NULL;
}

static intptr_t get_url(void *arg)
{
    struct stress_test *st = arg;
    struct loom_stream *s;
    char line[128];
    int rc = loom_tcp_connect("127.0.0.1", st->port, -1, &s);
    if (rc < 0)
        return rc;
    static const char req[] = "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if ((rc = loom_stream_write(s, req, sizeof req - 1)) == 0)
        rc = (int)loom_stream_readline(s, line, sizeof line, -1);
    loom_stream_close(s);
    if (rc < 0)
        return rc;
    st->completed++;
    if (st->completed % (st->total / 100 ? st->total / 100 : 1) == 0 || st->completed == st->total)
        st->callback(st->completed, st->total);
    return 0;
}

static intptr_t stress_main(void *arg)
{
    struct stress_test *st = arg;
    struct loom_task **tasks = calloc((size_t)st->total, sizeof(*tasks));
    int rc = tasks ? 0 : -ENOMEM;
    long n = 0;
    while (rc == 0 && n < st->total)
        if (!(tasks[n++] = loom_spawn(get_url, st, NULL)))
            rc = -ENOMEM, n--;
    int grc = n ? loom_gather(tasks, (size_t)n, NULL, LOOM_GATHER_ALL) : 0;
    rc = rc < 0 ? rc : grc;
    free(tasks);
    return rc;
}

/* These run on the loop's thread. */
/* The task's done callback: also runs for a task cancelled before it started. */
static void on_done(struct loom_future *f, void *arg)
{
    struct stress_test *st = arg;
    pthread_mutex_lock(&st->mu);
    st->done = true;
    st->result = (int)loom_future_result(f);
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

static void start_cb(void *arg)
{
    struct stress_test *st = arg;
    DEMO_CHECK(loom_task_spawn(st->loop, stress_main, st, NULL, &st->task));
    loom_future_add_done_callback(loom_task_future(st->task), &st->done_cb, on_done, st);
}
static void cancel_cb(void *arg) { loom_task_cancel(((struct stress_test *)arg)->task); }
static void stop_cb(void *arg)
{
    struct stress_test *st = arg;
    loom_task_release(st->task);
    loom_loop_unref(st->loop);
    loom_loop_stop(st->loop);
}

static void print_progress(long completed, long total)
{
    printf("Completed %ld/%ld requests (%ld%%)\n", completed, total, completed * 100 / total);
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct demo_http server;
    DEMO_CHECK(demo_http_start(&server, demo_scale() * 0.05));
    struct stress_test st = {.port = server.port, .total = demo_arg_long("--requests", 200),
                             .callback = print_progress, .mu = PTHREAD_MUTEX_INITIALIZER,
                             .cv = PTHREAD_COND_INITIALIZER};
    pthread_t thread;
    DEMO_CHECK(-pthread_create(&thread, NULL, loop_thread, &st));
    pthread_mutex_lock(&st.mu);
    while (!st.ready)
        pthread_cond_wait(&st.cv, &st.mu);
    pthread_mutex_unlock(&st.mu);
    DEMO_CHECK(loom_call_soon_threadsafe(st.loop, start_cb, &st)); /* start() */
    double cancel_after = atof(demo_arg_str("--cancel-after", "-1"));
    if (cancel_after >= 0) {
        usleep((useconds_t)(cancel_after * demo_scale() * 1e6));
        printf("Cancelling from the main thread\n");
        DEMO_CHECK(loom_call_soon_threadsafe(st.loop, cancel_cb, &st)); /* cancel() */
    }
    pthread_mutex_lock(&st.mu);
    while (!st.done)
        pthread_cond_wait(&st.cv, &st.mu);
    pthread_mutex_unlock(&st.mu);
    printf("Stress test %s\n", st.result == 0 ? "finished" : loom_strerror(st.result));
    DEMO_CHECK(loom_call_soon_threadsafe(st.loop, stop_cb, &st));
    pthread_join(thread, NULL);
    demo_http_stop(&server);
    return 0;
}
