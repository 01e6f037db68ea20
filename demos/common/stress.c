/* stress.c - StressTest (listing 7.13) and a loop thread; see stress.h. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "../stress.h"
#include "net/stream.h"
#include "net/tcp.h"

static void *loop_main(void *arg)
{
    struct demo_loop_thread *lt = arg;
    int rc = loom_loop_new(&lt->loop, NULL);
    if (rc == 0)
        loom_loop_ref(lt->loop); /* run forever, until stopped */
    pthread_mutex_lock(&lt->mu);
    lt->ready = true;
    pthread_cond_broadcast(&lt->cv);
    pthread_mutex_unlock(&lt->mu);
    if (rc < 0)
        return NULL;
    loom_loop_run(lt->loop, LOOM_RUN_DEFAULT);
    loom_loop_free(lt->loop);
    return NULL;
}

int demo_loop_thread_start(struct demo_loop_thread *lt)
{
    *lt =
        (struct demo_loop_thread){.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    int rc = pthread_create(&lt->thread, NULL, loop_main, lt);
    if (rc != 0)
        return -rc;
    pthread_mutex_lock(&lt->mu);
    while (!lt->ready)
        pthread_cond_wait(&lt->cv, &lt->mu);
    pthread_mutex_unlock(&lt->mu);
    if (lt->loop)
        return 0;
    pthread_join(lt->thread, NULL);
    return -ENOMEM;
}

static void stop_cb(void *arg)
{
    loom_loop_unref(arg);
    loom_loop_stop(arg);
}

void demo_loop_thread_stop(struct demo_loop_thread *lt)
{
    loom_call_soon_threadsafe(lt->loop, stop_cb, lt->loop);
    pthread_join(lt->thread, NULL);
}

/* --- the stress test: these run on the loop's thread --- */

static intptr_t get_url(void *arg)
{
    struct demo_stress *st = arg;
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
    long step = st->total / 100 ? st->total / 100 : 1;
    if (++st->completed % step == 0 || st->completed == st->total)
        st->callback(st->completed, st->total, st->arg);
    return 0;
}

static intptr_t stress_main(void *arg)
{
    struct demo_stress *st = arg;
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

/* The task's done callback: also runs for a task cancelled before it started. */
static void on_done(struct loom_future *f, void *arg)
{
    struct demo_stress *st = arg;
    pthread_mutex_lock(&st->mu);
    st->done = true;
    st->result = (int)loom_future_result(f);
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

static void start_cb(void *arg)
{
    struct demo_stress *st = arg;
    if (loom_task_spawn(st->loop, stress_main, st, NULL, &st->task) == 0) {
        loom_future_add_done_callback(loom_task_future(st->task), &st->done_cb, on_done, st);
        return;
    }
    pthread_mutex_lock(&st->mu);
    st->done = true;
    st->result = -ENOMEM;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

static void cancel_cb(void *arg)
{
    struct demo_stress *st = arg;
    if (st->task)
        loom_task_cancel(st->task);
}

static void release_cb(void *arg)
{
    struct demo_stress *st = arg;
    if (st->task)
        loom_task_release(st->task);
    st->task = NULL;
    pthread_mutex_lock(&st->mu);
    st->closed = true; /* after this the caller may free st */
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

/* --- called from other threads --- */

int demo_stress_start(struct demo_stress *st, struct loom_loop *loop, int port, long total,
                      demo_stress_cb cb, void *arg)
{
    *st = (struct demo_stress){.loop = loop,
                               .port = port,
                               .total = total > 0 ? total : 1,
                               .callback = cb,
                               .arg = arg,
                               .mu = PTHREAD_MUTEX_INITIALIZER,
                               .cv = PTHREAD_COND_INITIALIZER};
    return loom_call_soon_threadsafe(loop, start_cb, st);
}

void demo_stress_cancel(struct demo_stress *st)
{
    loom_call_soon_threadsafe(st->loop, cancel_cb, st);
}

bool demo_stress_wait(struct demo_stress *st, double timeout_s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double end = ts.tv_sec + ts.tv_nsec / 1e9 + timeout_s;
    ts.tv_sec = (time_t)end;
    ts.tv_nsec = (long)((end - (double)ts.tv_sec) * 1e9);
    pthread_mutex_lock(&st->mu);
    int rc = 0;
    while (!st->done && rc == 0)
        rc = timeout_s < 0 ? pthread_cond_wait(&st->cv, &st->mu)
                           : pthread_cond_timedwait(&st->cv, &st->mu, &ts);
    bool done = st->done;
    pthread_mutex_unlock(&st->mu);
    return done;
}

void demo_stress_close(struct demo_stress *st)
{
    if (loom_call_soon_threadsafe(st->loop, release_cb, st) < 0)
        return;
    pthread_mutex_lock(&st->mu);
    while (!st->closed)
        pthread_cond_wait(&st->cv, &st->mu);
    pthread_mutex_unlock(&st->mu);
}
