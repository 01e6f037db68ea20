/* check_lifetime.c - park.h's lifetime rule, object by object: closing or
 * freeing something while another task is parked on it wakes that task with
 * an error and frees nothing under it (ASan/UBSan in make sanitize say so).
 * Every wait is bounded: a task that is not woken fails the test, it does not
 * hang it. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness/harness.h"
#include "net/server.h"
#include "net/stream.h"
#include "net/tcp.h"
#include "proc/proc.h"
#include "reactor/task.h"
#include "sync/sync.h"

/* Join t, failing if it takes over a second (it was not woken). */
static intptr_t join_bounded(struct loom_task *t)
{
    double t0 = test_now();
    intptr_t rc = loom_wait_for(t, LOOM_SEC(1));
    ck_assert_msg(rc != -ETIMEDOUT, "the parked task was not woken");
    ck_assert_msg(test_now() - t0 < 1.0, "woken late: %.3f s", test_now() - t0);
    return rc;
}

/* --- a stream closed by one task while another is parked on it --- */

static intptr_t read_line(void *arg)
{
    char buf[64];
    return loom_stream_readline(arg, buf, sizeof buf, LOOM_SEC(5));
}

static intptr_t drain_all(void *arg)
{
    struct loom_stream *s = arg;
    static char chunk[1 << 16];
    for (int i = 0; i < 64; i++) { /* 4 MiB at a peer that never reads: drain parks */
        int rc = loom_stream_write(s, chunk, sizeof chunk);
        if (rc == 0)
            rc = loom_stream_drain(s, LOOM_SEC(5));
        if (rc < 0)
            return rc;
    }
    return 0;
}

static intptr_t stream_main(void *arg)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    struct loom_stream *s;
    ck_assert_int_eq(loom_stream_open_fd(loom_loop_current(), sv[0], 0, &s), 0);
    /* a reader parked in readline */
    struct loom_task *r = loom_spawn(read_line, s, "reader");
    ck_assert_int_eq(loom_sleep(LOOM_MS(20)), 0);
    ck_assert(!loom_task_done(r));
    loom_stream_close(s);
    ck_assert_int_eq(join_bounded(r), -EBADF);
    close(sv[1]);
    /* a writer parked in drain (the peer holds its end and never reads) */
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(loom_stream_open_fd(loom_loop_current(), sv[0], 0, &s), 0);
    struct loom_task *w = loom_spawn(drain_all, s, "writer");
    ck_assert_int_eq(loom_sleep(LOOM_MS(20)), 0);
    ck_assert(!loom_task_done(w));
    loom_stream_close(s);
    intptr_t rc = join_bounded(w);
    ck_assert_msg(rc == -EBADF, "drain: %s", loom_strerror((int)rc));
    close(sv[1]);
    return 0;
}

START_TEST(stream_closed_under_reader) { ck_assert_int_eq(test_run_task(stream_main, NULL), 0); }
END_TEST

/* --- a subprocess closed while tasks read its pipe, wait for it, communicate --- */

static intptr_t read_pipe(void *arg)
{
    char buf[64];
    return loom_stream_read_some(arg, buf, sizeof buf, LOOM_SEC(5));
}

static intptr_t wait_proc(void *arg)
{
    int code = 0;
    int rc = loom_proc_wait(arg, LOOM_SEC(5), &code);
    return rc < 0 ? rc : code;
}

static intptr_t communicate(void *arg)
{
    struct loom_bytes out = {0}, err = {0};
    int rc = loom_proc_communicate(arg, NULL, 0, &out, &err, LOOM_SEC(5));
    free(out.data);
    free(err.data);
    return rc;
}

struct feed {
    struct loom_proc *p;
    char *data;
    size_t len;
};

static intptr_t communicate_in(void *arg)
{
    struct feed *f = arg;
    struct loom_bytes out = {0};
    int rc = loom_proc_communicate(f->p, f->data, f->len, &out, NULL, LOOM_SEC(5));
    free(out.data);
    return rc;
}

static void spawn_sleeper(struct loom_proc *p)
{
    const char *argv[] = {"sleep", "10", NULL};
    struct loom_proc_options o = {.argv = argv, .out = LOOM_PROC_PIPE, .err = LOOM_PROC_PIPE};
    int rc = loom_proc_spawn(NULL, p, &o);
    ck_assert_msg(rc == 0, "spawn sleep: %s", loom_strerror(rc));
}

static intptr_t proc_main(void *arg)
{
    struct loom_proc p;
    spawn_sleeper(&p);
    struct loom_task *r = loom_spawn(read_pipe, p.out, "pipe-reader");
    struct loom_task *w = loom_spawn(wait_proc, &p, "waiter");
    ck_assert_int_eq(loom_sleep(LOOM_MS(20)), 0);
    ck_assert(!loom_task_done(r) && !loom_task_done(w));
    loom_proc_close(&p); /* kills and reaps the child, frees its record */
    ck_assert_int_eq(join_bounded(r), -EBADF);
    ck_assert_int_eq(join_bounded(w), -SIGKILL); /* asyncio's returncode for SIGKILL */
    /* communicate's own reader tasks, parked on both pipes */
    spawn_sleeper(&p);
    struct loom_task *c = loom_spawn(communicate, &p, "communicate");
    ck_assert_int_eq(loom_sleep(LOOM_MS(20)), 0);
    ck_assert(!loom_task_done(c));
    loom_proc_close(&p);
    ck_assert_int_eq(join_bounded(c), -EBADF);
    /* and its writer task, parked in drain on a stdin the child never reads */
    const char *argv[] = {"sleep", "10", NULL};
    struct loom_proc_options o = {.argv = argv, .in = LOOM_PROC_PIPE, .out = LOOM_PROC_PIPE};
    ck_assert_int_eq(loom_proc_spawn(NULL, &p, &o), 0);
    struct feed f = {&p, calloc(1, 4 << 20), 4 << 20};
    c = loom_spawn(communicate_in, &f, "communicate-in");
    ck_assert_int_eq(loom_sleep(LOOM_MS(20)), 0);
    ck_assert(!loom_task_done(c));
    loom_proc_close(&p);
    ck_assert_int_eq(join_bounded(c), -EBADF);
    free(f.data);
    return 0;
}

START_TEST(proc_closed_under_reader) { ck_assert_int_eq(test_run_task(proc_main, NULL), 0); }
END_TEST

/* --- a process-pool job freed while a task waits for it --- */

static int slow_job(const void *in, size_t len, struct loom_bytes *out, void *state)
{
    usleep(300 * 1000);
    return 0;
}

static intptr_t wait_job(void *arg) { return loom_pool_job_wait(arg, LOOM_SEC(5)); }

static intptr_t pool_main(void *arg)
{
    struct loom_pool_options o = {.workers = 1};
    struct loom_pool *pool;
    ck_assert_int_eq(loom_pool_new(&o, &pool), 0);
    struct loom_pool_job *busy, *queued;
    ck_assert_int_eq(loom_pool_submit(pool, slow_job, "", 0, &busy), 0);
    ck_assert_int_eq(loom_pool_submit(pool, slow_job, "", 0, &queued), 0);
    struct loom_task *w = loom_spawn(wait_job, queued, "job-waiter");
    ck_assert_int_eq(loom_sleep(LOOM_MS(20)), 0);
    ck_assert(!loom_task_done(w));
    loom_pool_job_free(queued); /* still queued: dropped; its waiter must hear of it */
    ck_assert_int_eq(join_bounded(w), -ECANCELED);
    ck_assert_int_eq(loom_pool_job_wait(busy, LOOM_SEC(5)), 0);
    loom_pool_job_free(busy);
    ck_assert_int_eq(loom_pool_shutdown(pool, false), 0);
    loom_pool_free(pool);
    return 0;
}

START_TEST(pool_job_freed_under_waiter) { ck_assert_int_eq(test_run_task(pool_main, NULL), 0); }
END_TEST

/* --- a queue closed after handing an item to a getter that is then cancelled --- */

struct getter {
    struct loom_queue *q;
    void *item;
    int after; /* the next suspension's result: the cancellation arrives there */
};

static intptr_t get_one(void *arg)
{
    struct getter *g = arg;
    int rc = loom_queue_get(g->q, &g->item, LOOM_SEC(5));
    g->after = loom_yield();
    return rc;
}

static intptr_t queue_main(void *arg)
{
    struct loom_queue q;
    loom_queue_init(&q, 4);
    struct getter g = {&q, NULL, 0};
    struct loom_task *t = loom_spawn(get_one, &g, "getter");
    ck_assert_int_eq(loom_sleep(LOOM_MS(5)), 0);
    static int item = 42;
    ck_assert_int_eq(loom_queue_put_nowait(&q, &item), 0); /* handed to the getter */
    loom_task_cancel(t);
    loom_queue_close(&q);                 /* storage freed before the getter runs */
    ck_assert_int_eq(join_bounded(t), 0); /* it keeps the item: nothing is lost */
    ck_assert_ptr_eq(g.item, &item);
    ck_assert_int_eq(g.after, -ECANCELED);
    /* a waiting getter of a closed queue hears -ESHUTDOWN */
    loom_queue_init(&q, 4);
    g.item = NULL;
    t = loom_spawn(get_one, &g, "getter2");
    ck_assert_int_eq(loom_sleep(LOOM_MS(5)), 0);
    loom_queue_close(&q);
    ck_assert_int_eq(join_bounded(t), -ESHUTDOWN);
    return 0;
}

START_TEST(queue_closed_under_getter) { ck_assert_int_eq(test_run_task(queue_main, NULL), 0); }
END_TEST

/* --- a server freed without a shutdown while handlers are parked --- */

static int parked_handlers;

static intptr_t echo_line(struct loom_stream *s, void *arg)
{
    char buf[64];
    parked_handlers++;
    ssize_t n = loom_stream_readline(s, buf, sizeof buf, LOOM_SEC(5));
    parked_handlers--;
    return n < 0 ? n : 0;
}

static intptr_t server_main(void *arg)
{
    struct loom_server_options o = {.host = "127.0.0.1", .port = 0};
    struct loom_server *srv;
    ck_assert_int_eq(loom_server_start(loom_loop_current(), &o, echo_line, NULL, &srv), 0);
    int port = loom_server_port(srv);
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = loom_tcp_connect_fd("127.0.0.1", port, LOOM_SEC(2));
        ck_assert_int_ge(fds[i], 0);
    }
    double end = test_now() + 2.0;
    while (parked_handlers < 3 && test_now() < end)
        loom_sleep(LOOM_MS(2));
    ck_assert_int_eq(parked_handlers, 3);
    loom_server_free(srv); /* the acceptor and 3 handlers are parked on it */
    end = test_now() + 1.0;
    while (parked_handlers > 0 && test_now() < end)
        loom_sleep(LOOM_MS(2));
    ck_assert_int_eq(parked_handlers, 0);
    for (int i = 0; i < 3; i++) { /* the server closed them: EOF */
        struct pollfd pfd = {fds[i], POLLIN, 0};
        ck_assert_int_eq(poll(&pfd, 1, 1000), 1);
        ck_assert_int_eq(read(fds[i], (char[1]){0}, 1), 0);
    }
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    return 0;
}

START_TEST(server_freed_under_handlers) { ck_assert_int_eq(test_run_task(server_main, NULL), 0); }
END_TEST

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("lifetime");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"stream_closed_under_reader", stream_closed_under_reader},
        {"proc_closed_under_reader", proc_closed_under_reader},
        {"pool_job_freed_under_waiter", pool_job_freed_under_waiter},
        {"queue_closed_under_getter", queue_closed_under_getter},
        {"server_freed_under_handlers", server_freed_under_handlers},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = test_tcase(s, cases[i].name, 20);
        tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
        tcase_add_test(tc, cases[i].fn);
    }
    return test_main(s);
}
