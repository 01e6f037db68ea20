/* server.c - stream servers: an accept task, a task per connection,
 * connection tracking, graceful shutdown, and N loops on one port. */
#include "net/server.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/stream_internal.h"
#include "reactor/park.h"

#define DEFAULT_GRACE LOOM_SEC(5)

struct conn {
    struct loom_list node; /* srv->conns */
    struct loom_server *srv;
    struct loom_stream *s;
    struct loom_task *task;
    struct loom_future_callback done; /* cleans up even if the task never ran */
};

struct loom_server {
    struct loom_loop *loop;
    struct loom_listener l;
    struct loom_server_options opt;
    loom_server_handler handler;
    void *arg;
    struct loom_list conns;
    size_t nconns;
    uint64_t accepted;
    struct loom_task *acceptor;
    bool acceptor_full;       /* acceptor parked at max_connections */
    struct loom_task *waiter; /* serve_forever or shutdown, parked */
    bool stop_requested, stopping, shut_down;
    struct loom_signal sigint, sigterm;
    bool free_pending, acceptor_gone; /* freed while running: the last task out frees */
    struct loom_future_callback acceptor_done;
};

/* loom_server_free() before a shutdown: the acceptor and the connection tasks
 * still point at srv, so (park.h's lifetime rule) they are cancelled and the
 * last of them to finish frees it. */
static void free_if_idle(struct loom_server *srv)
{
    if (!srv->free_pending || srv->nconns || !srv->acceptor_gone)
        return;
    loom_task_release(srv->acceptor);
    free(srv);
}

static void on_acceptor_done(struct loom_future *f, void *arg)
{
    struct loom_server *srv = arg;
    srv->acceptor_gone = true;
    free_if_idle(srv);
}

/* --- connections --- */

static intptr_t conn_main(void *arg)
{
    struct conn *c = arg;
    return c->srv->handler(c->s, c->srv->arg);
}

static void conn_done(struct loom_future *f, void *arg)
{
    struct conn *c = arg;
    struct loom_server *srv = c->srv;
    loom_list_remove(&c->node);
    srv->nconns--;
    loom_stream_close(c->s);
    loom_task_release(c->task);
    free(c);
    if (srv->acceptor_full)
        loom_wake(srv->acceptor, 0);
    if (srv->stopping && !srv->nconns && srv->waiter)
        loom_wake(srv->waiter, 0);
    free_if_idle(srv);
}

static int conn_start(struct loom_server *srv, int fd)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return -ENOMEM;
    }
    int rc = loom__stream_open_socket(srv->loop, fd, &c->s);
    if (rc < 0) {
        free(c);
        return rc;
    }
    if (srv->opt.idle_timeout_ns > 0)
        loom_stream_set_timeout(c->s, srv->opt.idle_timeout_ns);
    struct loom_task_options o = {.name = "conn", .stack_size = srv->opt.stack_size};
    rc = loom_task_spawn(srv->loop, conn_main, c, &o, &c->task);
    if (rc < 0) {
        loom_stream_abort(c->s);
        free(c);
        return rc;
    }
    c->srv = srv;
    loom_list_push_back(&srv->conns, &c->node);
    srv->nconns++;
    srv->accepted++;
    loom_future_add_done_callback(loom_task_future(c->task), &c->done, conn_done, c);
    return 0;
}

static intptr_t accept_main(void *arg)
{
    struct loom_server *srv = arg;
    struct loom_task *self = loom_task_current();
    for (;;) {
        while (srv->opt.max_connections && srv->nconns >= srv->opt.max_connections) {
            srv->acceptor_full = true;
            int rc = loom_park(self, -1);
            srv->acceptor_full = false;
            if (rc < 0)
                return rc;
        }
        int fd = loom_listener_accept(&srv->l, -1);
        if (fd == -ECANCELED || fd == -EBADF)
            return fd;
        if (fd < 0 || conn_start(srv, fd) < 0) {
            /* Out of fds or memory, or an unexpected accept error: back off
             * instead of spinning. A sleep that cannot arm its timer yields. */
            int rc = loom_sleep(LOOM_MS(10));
            if (rc == -ECANCELED)
                return rc;
            if (rc < 0 && loom_yield() == -ECANCELED)
                return -ECANCELED;
        }
    }
}

/* --- lifecycle --- */

int loom_server_start(struct loom_loop *loop, const struct loom_server_options *opt,
                      loom_server_handler handler, void *arg, struct loom_server **out)
{
    struct loom_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return -ENOMEM;
    srv->loop = loop;
    srv->opt = *opt;
    if (!srv->opt.grace_ns)
        srv->opt.grace_ns = DEFAULT_GRACE;
    srv->handler = handler;
    srv->arg = arg;
    loom_list_init(&srv->conns);
    int rc = opt->unix_path ? loom_unix_listen(loop, &srv->l, opt->unix_path, opt->backlog,
                                               opt->listen_flags | LOOM_LISTEN_UNLINK)
                            : loom_tcp_listen(loop, &srv->l, opt->host ? opt->host : "127.0.0.1",
                                              opt->port, opt->backlog, opt->listen_flags);
    if (rc < 0) {
        free(srv);
        return rc;
    }
    struct loom_task_options o = {.name = "accept", .stack_size = 64 * 1024};
    rc = loom_task_spawn(loop, accept_main, srv, &o, &srv->acceptor);
    if (rc < 0) {
        loom_listener_close(&srv->l);
        free(srv);
        return rc;
    }
    if (opt->on_listening)
        opt->on_listening(srv, arg);
    *out = srv;
    return 0;
}

static void on_stop_signal(struct loom_signal *sig, int signum) { loom_server_stop(sig->data); }

void loom_server_stop(struct loom_server *srv)
{
    srv->stop_requested = true;
    if (srv->waiter && !srv->stopping)
        loom_wake(srv->waiter, 0);
}

/* 0, or the error of a signal watcher that could not start (then neither runs:
 * a server that cannot be stopped by SIGTERM must not pretend it can). */
static int watch_signals(struct loom_server *srv, bool on)
{
    if (!srv->opt.handle_signals)
        return 0;
    if (on) {
        loom_signal_init(srv->loop, &srv->sigint, on_stop_signal);
        loom_signal_init(srv->loop, &srv->sigterm, on_stop_signal);
        srv->sigint.data = srv->sigterm.data = srv;
        int rc = loom_signal_start(&srv->sigint, SIGINT);
        if (rc == 0 && (rc = loom_signal_start(&srv->sigterm, SIGTERM)) < 0)
            loom_signal_stop(&srv->sigint);
        return rc;
    }
    loom_signal_stop(&srv->sigint);
    loom_signal_stop(&srv->sigterm);
    return 0;
}

int loom_server_serve_forever(struct loom_server *srv)
{
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    int rc = watch_signals(srv, true);
    if (rc < 0)
        return rc;
    while (!srv->stop_requested && !srv->stopping && rc == 0) {
        srv->waiter = self;
        rc = loom_park(self, -1);
        srv->waiter = NULL;
    }
    watch_signals(srv, false);
    int s = loom_server_shutdown(srv, rc < 0 ? 0 : -1);
    return rc < 0 ? rc : (s < 0 ? s : 0);
}

/* Park until every connection is gone or deadline; 0, -ETIMEDOUT, -ECANCELED. */
static int wait_conns(struct loom_server *srv, struct loom_task *self, int64_t deadline)
{
    int rc = 0;
    while (srv->nconns && rc == 0) {
        srv->waiter = self;
        rc = loom_park(self, deadline);
        srv->waiter = NULL;
    }
    return srv->nconns ? rc : 0;
}

int loom_server_shutdown(struct loom_server *srv, int64_t grace_ns)
{
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    if (srv->stopping) /* idempotent: wait for the first shutdown's end */
        return wait_conns(srv, self, -1) < 0 ? -ECANCELED : 0;
    srv->stopping = true;
    /* Stop accepting. */
    loom_task_cancel(srv->acceptor);
    int rc = loom_park_until_done(self, srv->acceptor, -1);
    loom_listener_close(&srv->l);
    /* Let handlers finish what was already received; reads that would wait end. */
    for (struct loom_list *n = srv->conns.next; n != &srv->conns; n = n->next)
        loom_stream_stop_reading(loom_list_entry(n, struct conn, node)->s);
    if (grace_ns < 0)
        grace_ns = srv->opt.grace_ns;
    if (rc == 0)
        rc = wait_conns(srv, self, loom_deadline(srv->loop, grace_ns));
    /* Cancel whoever is left, and wait for them to unwind. */
    int cancelled = 0;
    for (struct loom_list *n = srv->conns.next; n != &srv->conns; n = n->next)
        cancelled += loom_task_cancel(loom_list_entry(n, struct conn, node)->task);
    while (wait_conns(srv, self, -1) < 0)
        rc = -ECANCELED;
    srv->shut_down = true;
    return rc == -ECANCELED ? rc : cancelled;
}

void loom_server_free(struct loom_server *srv)
{
    if (!srv)
        return;
    loom_listener_close(&srv->l);
    if (!loom_task_done(srv->acceptor) || srv->nconns) { /* not shut down */
        srv->free_pending = srv->stopping = true;
        loom_task_cancel(srv->acceptor);
        for (struct loom_list *n = srv->conns.next; n != &srv->conns; n = n->next)
            loom_task_cancel(loom_list_entry(n, struct conn, node)->task);
        loom_future_add_done_callback(loom_task_future(srv->acceptor), &srv->acceptor_done,
                                      on_acceptor_done, srv);
        return;
    }
    loom_task_release(srv->acceptor);
    free(srv);
}

/* --- accessors --- */

size_t loom_server_connections(const struct loom_server *srv) { return srv->nconns; }
uint64_t loom_server_accepted(const struct loom_server *srv) { return srv->accepted; }
bool loom_server_stopping(const struct loom_server *srv) { return srv->stopping; }
int loom_server_port(const struct loom_server *srv) { return loom_listener_port(&srv->l); }
struct loom_loop *loom_server_loop(const struct loom_server *srv) { return srv->loop; }

int loom_server_name(const struct loom_server *srv, char *buf, size_t len)
{
    return loom_listener_name(&srv->l, buf, len);
}

/* --- running: one loop, or N loops in N threads --- */

struct worker {
    const struct loom_server_options *opt;
    const struct loom_loop_options *lopt;
    loom_server_handler handler;
    void *arg;
    int port;       /* where to listen (the first worker's port for the rest) */
    unsigned flags; /* extra listen flags */
    pthread_t thread;
    pthread_mutex_t *mu;
    pthread_cond_t *cond;
    bool ready, finished;
    int rc;
    struct loom_loop *loop;
    struct loom_server *srv;
};

static intptr_t worker_main(void *arg)
{
    struct worker *w = arg;
    struct loom_server_options o = *w->opt;
    o.port = w->port;
    o.listen_flags |= w->flags;
    if (w->mu) /* threads: the main thread reports listening and handles signals */
        o.on_listening = NULL, o.handle_signals = false;
    int rc = o.on_worker_start ? o.on_worker_start(loom_loop_current(), w->arg) : 0;
    bool started = rc == 0;
    if (rc == 0)
        rc = loom_server_start(loom_loop_current(), &o, w->handler, w->arg, &w->srv);
    if (rc < 0)
        w->srv = NULL;
    if (w->mu) {
        pthread_mutex_lock(w->mu);
        w->rc = rc;
        w->loop = loom_loop_current();
        w->ready = true;
        pthread_cond_broadcast(w->cond);
        pthread_mutex_unlock(w->mu);
    }
    if (rc == 0) {
        rc = loom_server_serve_forever(w->srv);
        loom_server_free(w->srv);
    }
    if (started && o.on_worker_stop)
        o.on_worker_stop(loom_loop_current(), w->arg);
    return rc;
}

static void *worker_thread(void *arg)
{
    struct worker *w = arg;
    intptr_t rc = loom_run_with(w->lopt, worker_main, w);
    pthread_mutex_lock(w->mu);
    if (!w->ready)
        w->rc = (int)rc, w->ready = true;
    w->finished = true;
    pthread_cond_broadcast(w->cond);
    pthread_mutex_unlock(w->mu);
    return NULL;
}

/* Start w's thread and wait until it listens; its rc. */
static int worker_launch(struct worker *w)
{
    int rc = pthread_create(&w->thread, NULL, worker_thread, w);
    if (rc)
        return -rc;
    pthread_mutex_lock(w->mu);
    while (!w->ready)
        pthread_cond_wait(w->cond, w->mu);
    pthread_mutex_unlock(w->mu);
    return w->rc;
}

static void stop_cb(void *arg) { loom_server_stop(arg); }

/* Wait for SIGINT/SIGTERM (blocked in every thread) or a worker's end. */
static void wait_for_stop(struct worker *ws, unsigned n, bool signals)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    struct timespec ts = {0, 100 * 1000 * 1000};
    for (;;) {
        if (signals && sigtimedwait(&set, NULL, &ts) > 0)
            return;
        if (!signals)
            nanosleep(&ts, NULL);
        pthread_mutex_lock(ws[0].mu);
        bool any = false;
        for (unsigned i = 0; i < n; i++)
            any |= ws[i].finished;
        pthread_mutex_unlock(ws[0].mu);
        if (any)
            return;
    }
}

static int run_threads(struct worker *ws, unsigned n)
{
    int rc = 0;
    unsigned started = 0;
    for (; started < n && rc >= 0; started++) {
        rc = worker_launch(&ws[started]);
        if (rc >= 0 && started == 0 && ws[0].srv)
            for (unsigned i = 1; i < n; i++)
                ws[i].port = loom_server_port(ws[0].srv);
    }
    if (rc >= 0 && ws[0].opt->on_listening)
        ws[0].opt->on_listening(ws[0].srv, ws[0].arg);
    if (rc >= 0)
        wait_for_stop(ws, n, ws[0].opt->handle_signals);
    for (unsigned i = 0; i < started; i++) {
        pthread_mutex_lock(ws[i].mu);
        if (ws[i].srv && !ws[i].finished)
            loom_call_soon_threadsafe(ws[i].loop, stop_cb, ws[i].srv);
        pthread_mutex_unlock(ws[i].mu);
    }
    for (unsigned i = 0; i < started; i++) {
        pthread_join(ws[i].thread, NULL);
        if (rc >= 0 && ws[i].rc < 0)
            rc = ws[i].rc;
    }
    return rc;
}

int loom_server_run(const struct loom_server_options *opt, const struct loom_loop_options *loop_opt,
                    unsigned workers, loom_server_handler handler, void *arg)
{
    struct loom_loop_options lo = {0};
    const struct loom_loop_options *lopt = loop_opt ? loop_opt : &lo;
    if (workers <= 1) {
        struct worker w = {
            .opt = opt, .lopt = lopt, .handler = handler, .arg = arg, .port = opt->port};
        intptr_t rc = loom_run_with(lopt, worker_main, &w);
        return rc < 0 ? (int)rc : 0;
    }
    struct worker *ws = calloc(workers, sizeof(*ws));
    if (!ws)
        return -ENOMEM;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
    for (unsigned i = 0; i < workers; i++)
        ws[i] = (struct worker){.opt = opt,
                                .lopt = lopt,
                                .handler = handler,
                                .arg = arg,
                                .port = opt->port,
                                .flags = LOOM_LISTEN_REUSEPORT,
                                .mu = &mu,
                                .cond = &cond};
    /* Every thread inherits this mask: the signals queue for sigtimedwait here. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    int rc = run_threads(ws, workers);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    free(ws);
    return rc;
}
