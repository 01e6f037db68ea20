/* server.c - stream servers: an accept task, a task per connection,
 * connection tracking, graceful shutdown, and N loops on one port. */
#include "net/server.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "net/server_internal.h"
#include "net/stream_internal.h"
#include "net/transport.h"
#include "net/transport_internal.h"
#include "reactor/park.h"
#include "reactor/task.h"

#define DEFAULT_GRACE LOOM_SEC(5)
#define WAKE_IDLE 1 /* an acceptor's wake code: a connection went idle */

/* Set in each stream server's acceptor tasks, so their connection tasks
 * (which inherit it) find their server: loom__server_idle_begin. */
static struct loom_ctxvar server_var = {"loom.server", NULL};

/* One listener and the task accepting on it. */
struct acceptor {
    struct loom_server *srv;
    struct loom_listener *l; /* in srv->ls */
    struct loom_task *task;
    bool full; /* parked at max_connections */
    struct loom_future_callback done;
};

/* A connection: a handler task over a stream, or a transport (protocol servers). */
struct conn {
    struct loom_list node; /* srv->conns */
    struct loom_server *srv;
    struct loom_stream *s;            /* stream servers */
    struct loom_task *task;           /* stream servers: runs the handler */
    struct loom_transport *t;         /* protocol servers */
    bool abort;                       /* close with a RST (loom_server_abort_clients) */
    struct loom_future_callback done; /* cleans up even if the task never ran */
};

struct loom_server {
    struct loom_loop *loop;
    struct loom_listener ls[LOOM_LISTEN_MAX]; /* in place: the loop points at their watchers */
    struct acceptor acc[LOOM_LISTEN_MAX];     /* one per listener */
    size_t nacc;
    struct loom_server_options opt;
    loom_server_handler handler;   /* stream servers */
    loom_protocol_factory factory; /* protocol servers */
    void *arg;
    struct loom_list conns;
    struct loom_list idle; /* struct loom__server_idle, oldest first */
    size_t nconns;
    uint64_t accepted;
    struct loom_task *waiter; /* serve_forever or shutdown, parked */
    bool stop_requested, stopping, shut_down;
    bool hurry; /* stopped again during the grace period: end it now */
    struct loom_signal sigint, sigterm;
    bool free_pending;     /* freed while running: the last task out frees */
    size_t acceptors_gone; /* with free_pending: acceptor tasks finished */
};

/* loom_server_free() before a shutdown: the acceptors and the connections
 * still point at srv, so (park.h's lifetime rule) they are cancelled and the
 * last of them to finish frees it. */
static void free_if_idle(struct loom_server *srv)
{
    if (!srv->free_pending || srv->nconns || srv->acceptors_gone < srv->nacc)
        return;
    for (size_t i = 0; i < srv->nacc; i++)
        loom_task_release(srv->acc[i].task);
    free(srv);
}

static void on_acceptor_done(struct loom_future *f, void *arg)
{
    struct acceptor *a = arg;
    struct loom_server *srv = a->srv;
    srv->acceptors_gone++;
    free_if_idle(srv);
}

/* --- connections --- */

static intptr_t conn_main(void *arg)
{
    struct conn *c = arg;
    return c->srv->handler(c->s, c->srv->arg);
}

/* A connection ended: untrack it and wake whoever waits for that. */
static void conn_forget(struct conn *c)
{
    struct loom_server *srv = c->srv;
    loom_list_remove(&c->node);
    srv->nconns--;
    free(c);
    for (size_t i = 0; i < srv->nacc; i++)
        if (srv->acc[i].full)
            loom_wake(srv->acc[i].task, 0);
    if (srv->stopping && !srv->nconns && srv->waiter)
        loom_wake(srv->waiter, 0);
    free_if_idle(srv);
}

/* How a connection may end without its handler having failed: cancelled, or
 * the peer, the network or a deadline ended it (asyncio's transports do not
 * report OSErrors such as resets, broken pipes or TLS errors either). */
static bool closing_status(intptr_t rc)
{
    switch (rc) {
    case -ECANCELED:
    case LOOM_EOF:
    case -ECONNRESET:
    case -EPIPE:
    case -ECONNABORTED:
    case -ENOTCONN:
    case -ETIMEDOUT:
    case LOOM_ETLS:
        return true;
    default:
        return rc >= 0;
    }
}

/* asyncio's "Unhandled exception in client_connected_cb", naming the peer
 * (the task is the handler's, whose result the done callback took). */
static void report_failure(struct conn *c, intptr_t rc)
{
    char peer[128], msg[192];
    if (loom_stream_peername(c->s, peer, sizeof peer) < 0 || !peer[0])
        snprintf(peer, sizeof peer, "fd %d", loom_stream_fd(c->s));
    snprintf(msg, sizeof msg, "Unhandled exception in client_connected_cb (peer %s)", peer);
    struct loom_error_context ctx = {.message = msg, .error = (int)rc, .task = c->task};
    loom_loop_call_exception_handler(c->srv->loop, &ctx);
}

/* The handler returned (or never ran). A failure is reported, then the
 * connection closed as any other (asyncio closes the transport too: a reset
 * would drop what the handler wrote to say why it gave up). */
static void conn_done(struct loom_future *f, void *arg)
{
    struct conn *c = arg;
    intptr_t rc = loom_future_result(f);
    if (!closing_status(rc))
        report_failure(c, rc);
    if (c->abort)
        loom_stream_abort(c->s); /* SO_LINGER 0: the peer gets a RST */
    else
        loom_stream_close(c->s);
    loom_task_release(c->task);
    conn_forget(c);
}

static void transport_gone(void *arg) { conn_forget(arg); }

static void conn_track(struct loom_server *srv, struct conn *c)
{
    c->srv = srv;
    loom_list_push_back(&srv->conns, &c->node);
    srv->nconns++;
    srv->accepted++;
}

static int conn_start_stream(struct loom_server *srv, struct conn *c, int fd)
{
    int rc = loom__stream_open_socket(srv->loop, fd, &c->s);
    if (rc < 0)
        return rc;
    if (srv->opt.idle_timeout_ns > 0)
        loom_stream_set_timeout(c->s, srv->opt.idle_timeout_ns);
    struct loom_task_options o = {.name = "conn", .stack_size = srv->opt.stack_size};
    rc = loom_task_spawn(srv->loop, conn_main, c, &o, &c->task);
    if (rc < 0) {
        loom_stream_abort(c->s);
        return rc;
    }
    conn_track(srv, c);
    loom_future_add_done_callback(loom_task_future(c->task), &c->done, conn_done, c);
    return 0;
}

/* The transport starts with no protocol: connection_made comes on the next
 * iteration, by when the factory's protocol is in place (or the connection
 * was refused and aborted, without a callback). */
static int conn_start_protocol(struct loom_server *srv, struct conn *c, int fd)
{
    static const struct loom_protocol none = {0};
    int rc = loom_transport_open_fd(srv->loop, fd, &none, NULL, &c->t);
    if (rc < 0)
        return rc;
    conn_track(srv, c);
    loom__transport_on_lost(c->t, transport_gone, c);
    void *conn_arg = NULL;
    const struct loom_protocol *p = srv->factory(srv->arg, &conn_arg);
    if (p)
        loom_transport_set_protocol(c->t, p, conn_arg);
    else
        loom_transport_abort(c->t);
    return 0;
}

static int conn_start(struct loom_server *srv, int fd)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return -ENOMEM;
    }
    int rc = srv->factory ? conn_start_protocol(srv, c, fd) : conn_start_stream(srv, c, fd);
    if (rc < 0)
        free(c); /* the fd went with the failed stream or transport */
    return rc;
}

/* --- reusing idle connections at the limit --- */

static bool at_limit(const struct loom_server *srv)
{
    return srv->opt.max_connections && srv->nconns >= srv->opt.max_connections;
}

/* Something of a request has arrived (buffered, or still in the kernel). */
static bool has_input(struct loom_stream *s)
{
    int fd = loom_stream_fd(s), n = 0;
    return loom_stream_buffered(s) > 0 || (fd >= 0 && ioctl(fd, FIONREAD, &n) == 0 && n > 0);
}

/* Stop reading on the oldest idle connection that has no request arriving
 * (the rest just left the idle state: they unlist themselves); its handler
 * sees LOOM_EOF and returns. true if one was told. */
static bool reclaim_idle(struct loom_server *srv)
{
    struct loom_list *n;
    while ((n = loom_list_pop_front(&srv->idle))) {
        struct loom__server_idle *rec = loom_list_entry(n, struct loom__server_idle, node);
        rec->srv = NULL;
        if (!has_input(rec->s)) {
            loom_stream_stop_reading(rec->s);
            return true;
        }
    }
    return false;
}

void loom__server_idle_begin(struct loom__server_idle *rec, struct loom_stream *s)
{
    struct loom_server *srv = loom_ctxvar_get(&server_var);
    rec->s = s;
    rec->srv = NULL;
    if (!srv || !srv->opt.max_connections || srv->stopping || loom_stream_buffered(s) > 0)
        return;
    rec->srv = srv;
    loom_list_push_back(&srv->idle, &rec->node);
    for (size_t i = 0; i < srv->nacc; i++)
        if (srv->acc[i].full)
            loom_wake(srv->acc[i].task, WAKE_IDLE);
}

void loom__server_idle_end(struct loom__server_idle *rec)
{
    if (rec->srv)
        loom_list_remove(&rec->node);
    rec->srv = NULL;
}

/* Park at the limit until a connection ends or goes idle: the wake code. */
static int park_full(struct acceptor *a, struct loom_task *self)
{
    a->full = true;
    int rc = loom_park(self, -1);
    a->full = false;
    return rc;
}

/* A client was accepted at the limit (an idle connection was there): close
 * one idle connection, or the next to go idle, and wait for its slot (if
 * none goes idle, the client waits as it would have in the backlog). */
static int make_room(struct acceptor *a, struct loom_task *self)
{
    bool told = false;
    while (at_limit(a->srv)) {
        told = told || reclaim_idle(a->srv);
        int rc = park_full(a, self);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static intptr_t accept_main(void *arg)
{
    struct acceptor *a = arg;
    struct loom_server *srv = a->srv;
    struct loom_task *self = loom_task_current();
    if (srv->handler) /* ENOMEM: no connection is ever reused, nothing worse */
        loom_ctxvar_set(&server_var, srv);
    for (;;) {
        /* At the limit accepting pauses (the backlog holds the clients),
         * unless an idle connection can make room. */
        while (at_limit(srv) && loom_list_empty(&srv->idle)) {
            int rc = park_full(a, self);
            if (rc < 0)
                return rc;
        }
        int fd = loom_listener_accept(a->l, -1);
        if (fd == -ECANCELED || fd == -EBADF)
            return fd;
        int rc = fd >= 0 ? make_room(a, self) : 0;
        if (rc < 0) {
            close(fd);
            return rc;
        }
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

static void listeners_close(struct loom_server *srv)
{
    for (size_t i = 0; i < srv->nacc; i++)
        loom_listener_close(&srv->ls[i]);
}

static int listen_all(struct loom_server *srv, const struct loom_server_options *opt)
{
    int n;
    if (opt->unix_path) {
        n = loom_unix_listen(srv->loop, &srv->ls[0], opt->unix_path, opt->backlog,
                             opt->listen_flags | LOOM_LISTEN_UNLINK);
        n = n < 0 ? n : 1;
    } else {
        const char *one[] = {opt->host ? opt->host : "127.0.0.1", NULL};
        n = loom_tcp_listen_all(srv->loop, srv->ls, LOOM_LISTEN_MAX, opt->hosts ? opt->hosts : one,
                                opt->port, opt->backlog, opt->listen_flags);
    }
    if (n < 0)
        return n;
    for (int i = 0; i < n; i++) {
        srv->acc[i].srv = srv;
        srv->acc[i].l = &srv->ls[i];
    }
    srv->nacc = (size_t)n;
    return 0;
}

static int server_start(struct loom_loop *loop, const struct loom_server_options *opt,
                        loom_server_handler handler, loom_protocol_factory factory, void *arg,
                        struct loom_server **out)
{
    struct loom_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return -ENOMEM;
    srv->loop = loop;
    srv->opt = *opt;
    if (!srv->opt.grace_ns)
        srv->opt.grace_ns = DEFAULT_GRACE;
    srv->handler = handler;
    srv->factory = factory;
    srv->arg = arg;
    loom_list_init(&srv->conns);
    loom_list_init(&srv->idle);
    int rc = listen_all(srv, opt);
    if (rc < 0) {
        free(srv);
        return rc;
    }
    struct loom_task_options o = {.name = "accept", .stack_size = 64 * 1024};
    size_t started = 0;
    for (; started < srv->nacc && rc == 0; started++)
        rc = loom_task_spawn(loop, accept_main, &srv->acc[started], &o, &srv->acc[started].task);
    if (rc < 0) {
        listeners_close(srv); /* the started acceptors end with -EBADF */
        srv->nacc = started - 1;
        loom_server_free(srv);
        return rc;
    }
    if (opt->on_listening)
        opt->on_listening(srv, arg);
    *out = srv;
    return 0;
}

int loom_server_start(struct loom_loop *loop, const struct loom_server_options *opt,
                      loom_server_handler handler, void *arg, struct loom_server **out)
{
    if (!handler)
        return -EINVAL;
    return server_start(loop, opt, handler, NULL, arg, out);
}

int loom_server_start_protocol(struct loom_loop *loop, const struct loom_server_options *opt,
                               loom_protocol_factory factory, void *arg, struct loom_server **out)
{
    if (!factory)
        return -EINVAL;
    return server_start(loop, opt, NULL, factory, arg, out);
}

static void on_stop_signal(struct loom_signal *sig, int signum) { loom_server_stop(sig->data); }

void loom_server_stop(struct loom_server *srv)
{
    if (srv->stopping) /* again, while handlers get their grace: no more of it */
        srv->hurry = true;
    srv->stop_requested = true;
    if (srv->waiter)
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
    /* Signals stay watched during the grace period: a second one ends it. */
    int s = loom_server_shutdown(srv, rc < 0 ? 0 : -1);
    watch_signals(srv, false);
    return rc < 0 ? rc : (s < 0 ? s : 0);
}

/* Park until every connection is gone or deadline (or, for the grace period,
 * a second stop); 0, -ETIMEDOUT, -ECANCELED. */
static int wait_conns(struct loom_server *srv, struct loom_task *self, int64_t deadline, bool grace)
{
    int rc = 0;
    while (srv->nconns && rc == 0 && !(grace && srv->hurry)) {
        srv->waiter = self;
        rc = loom_park(self, deadline);
        srv->waiter = NULL;
    }
    return srv->nconns ? rc : 0;
}

/* End one connection now: its handler is cancelled (the stream is closed, or
 * aborted, once it returned) or its transport closed or aborted. 1 if that
 * did something. */
static int conn_end(struct conn *c, bool abort)
{
    if (abort)
        c->abort = true;
    if (c->task)
        return loom_task_cancel(c->task);
    if (loom_transport_is_closing(c->t) && !abort)
        return 0;
    if (abort)
        loom_transport_abort(c->t);
    else
        loom_transport_close(c->t);
    return 1;
}

static int conns_end(struct loom_server *srv, bool abort)
{
    int n = 0;
    for (struct loom_list *l = srv->conns.next; l != &srv->conns; l = l->next)
        n += conn_end(loom_list_entry(l, struct conn, node), abort);
    return n;
}

/* Cancel the acceptors and wait for them; 0 or -ECANCELED. */
static int stop_accepting(struct loom_server *srv, struct loom_task *self)
{
    int rc = 0;
    for (size_t i = 0; i < srv->nacc; i++)
        loom_task_cancel(srv->acc[i].task);
    for (size_t i = 0; i < srv->nacc; i++)
        while (loom_park_until_done(self, srv->acc[i].task, -1) < 0)
            rc = -ECANCELED; /* they are cancelled already: this ends soon */
    listeners_close(srv);
    return rc;
}

int loom_server_shutdown(struct loom_server *srv, int64_t grace_ns)
{
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    if (srv->stopping) /* idempotent: wait for the first shutdown's end */
        return wait_conns(srv, self, -1, false) < 0 ? -ECANCELED : 0;
    srv->stopping = true;
    int rc = stop_accepting(srv, self);
    /* Let handlers finish what was already received; reads that would wait end. */
    for (struct loom_list *n = srv->conns.next; n != &srv->conns; n = n->next) {
        struct conn *c = loom_list_entry(n, struct conn, node);
        if (c->s)
            loom_stream_stop_reading(c->s);
    }
    if (grace_ns < 0)
        grace_ns = srv->opt.grace_ns;
    if (rc == 0)
        rc = wait_conns(srv, self, loom_deadline(srv->loop, grace_ns), true);
    /* Cancel (or abort) whoever is left, and wait for them to unwind. */
    int cancelled = 0;
    for (struct loom_list *n = srv->conns.next; n != &srv->conns; n = n->next) {
        struct conn *c = loom_list_entry(n, struct conn, node);
        cancelled += conn_end(c, c->t != NULL);
    }
    while (wait_conns(srv, self, -1, false) < 0)
        rc = -ECANCELED;
    srv->shut_down = true;
    return rc == -ECANCELED ? rc : cancelled;
}

int loom_server_close_clients(struct loom_server *srv) { return conns_end(srv, false); }
int loom_server_abort_clients(struct loom_server *srv) { return conns_end(srv, true); }

void loom_server_free(struct loom_server *srv)
{
    if (!srv)
        return;
    listeners_close(srv);
    bool running = srv->nconns > 0;
    for (size_t i = 0; i < srv->nacc; i++)
        running |= !loom_task_done(srv->acc[i].task);
    if (running) { /* not shut down */
        srv->free_pending = srv->stopping = true;
        srv->acceptors_gone = 0;
        for (size_t i = 0; i < srv->nacc; i++) {
            loom_task_cancel(srv->acc[i].task);
            loom_future_add_done_callback(loom_task_future(srv->acc[i].task), &srv->acc[i].done,
                                          on_acceptor_done, &srv->acc[i]);
        }
        for (struct loom_list *n = srv->conns.next; n != &srv->conns; n = n->next) {
            struct conn *c = loom_list_entry(n, struct conn, node);
            conn_end(c, c->t != NULL);
        }
        return;
    }
    for (size_t i = 0; i < srv->nacc; i++)
        loom_task_release(srv->acc[i].task);
    free(srv);
}

/* --- accessors --- */

size_t loom_server_connections(const struct loom_server *srv) { return srv->nconns; }
uint64_t loom_server_accepted(const struct loom_server *srv) { return srv->accepted; }
bool loom_server_stopping(const struct loom_server *srv) { return srv->stopping; }
int loom_server_port(const struct loom_server *srv) { return loom_listener_port(&srv->ls[0]); }
struct loom_loop *loom_server_loop(const struct loom_server *srv) { return srv->loop; }
size_t loom_server_listeners(const struct loom_server *srv) { return srv->nacc; }

int loom_server_name(const struct loom_server *srv, char *buf, size_t len)
{
    return loom_listener_name(&srv->ls[0], buf, len);
}

int loom_server_listener_name(const struct loom_server *srv, size_t i, char *buf, size_t len)
{
    if (i >= srv->nacc)
        return -ERANGE;
    return loom_listener_name(&srv->ls[i], buf, len);
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
        struct loom_server *srv = w->srv;
        if (w->mu) /* no stop is posted for it from now on (see stop_workers) */
            pthread_mutex_lock(w->mu);
        w->srv = NULL;
        if (w->mu)
            pthread_mutex_unlock(w->mu);
        loom_server_free(srv);
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

/* On the worker's loop: stop its server unless it is gone already. */
static void stop_cb(void *arg)
{
    struct worker *w = arg;
    if (w->srv)
        loom_server_stop(w->srv);
}

/* Wait for SIGINT/SIGTERM (blocked in every thread): true; or for a worker's
 * end (every worker's with all): false. */
static bool wait_for_stop(struct worker *ws, unsigned n, bool signals, bool all)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    struct timespec ts = {0, 100 * 1000 * 1000};
    for (;;) {
        if (signals && sigtimedwait(&set, NULL, &ts) > 0)
            return true;
        if (!signals)
            nanosleep(&ts, NULL);
        pthread_mutex_lock(ws[0].mu);
        unsigned done = 0;
        for (unsigned i = 0; i < n; i++)
            done += ws[i].finished;
        pthread_mutex_unlock(ws[0].mu);
        if (all ? done == n : done > 0)
            return false;
    }
}

/* Ask every worker still running to stop (again: to end its grace period). */
static void stop_workers(struct worker *ws, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        pthread_mutex_lock(ws[i].mu);
        if (ws[i].srv && !ws[i].finished)
            loom_call_soon_threadsafe(ws[i].loop, stop_cb, &ws[i]);
        pthread_mutex_unlock(ws[i].mu);
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
    bool signals = rc >= 0 && ws[0].opt->handle_signals;
    if (rc >= 0)
        wait_for_stop(ws, n, signals, false);
    stop_workers(ws, started);
    /* A second signal during the workers' grace period ends it. */
    if (signals && wait_for_stop(ws, started, true, true))
        stop_workers(ws, started);
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
