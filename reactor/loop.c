/* loop.c - the event loop: watchers, timers, the ready queue and run().
 *
 * One iteration: apply batched watcher changes, poll (timeout 0 if something is
 * ready, else until the earliest timer), dispatch I/O, refresh the clock, queue
 * due timers behind what is ready (asyncio's _run_once), then run the calls that
 * were ready when the run phase began.
 * Calls queued while running wait for the next iteration, as in asyncio, so a
 * task that yields lets every other ready task run first. */
#include "reactor/loop_internal.h"
#include "reactor/completion.h"
#include "reactor/task.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

_Thread_local struct loom_loop *loom__tls_loop;

int64_t loom__clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const struct loom_backend_ops *find_backend(const char *name)
{
    static const struct loom_backend_ops *const all[] = {
#ifdef LOOM_HAVE_EPOLL
        &loom__backend_epoll,
#endif
#ifdef LOOM_HAVE_URING
        &loom__backend_uring,
#endif
#ifdef LOOM_HAVE_KQUEUE
        &loom__backend_kqueue,
#endif
        &loom__backend_poll,
    };
    if (!name || !*name)
        return all[0];
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

static void apply_options(struct loom_loop *loop, const struct loom_loop_options *opt)
{
    const char *dbg = getenv("LOOM_DEBUG");
    loop->debug = (opt && opt->debug > 0) || (dbg && *dbg && strcmp(dbg, "0") != 0);
    loop->slow_ns = opt && opt->slow_step_ns > 0 ? opt->slow_step_ns : LOOM_MS(100);
    loop->stack_size = opt && opt->stack_size ? opt->stack_size : 256 * 1024;
    loop->stack_cache = opt && opt->stack_cache ? opt->stack_cache : 1024;
    loop->executor_threads = opt ? opt->executor_threads : 0;
}

int loom_loop_new(struct loom_loop **out, const struct loom_loop_options *opt)
{
    const char *name = opt && opt->backend ? opt->backend : getenv("LOOM_BACKEND");
    const struct loom_backend_ops *backend = find_backend(name);
    if (!backend)
        return -EINVAL;
    struct loom_loop *loop = calloc(1, sizeof(*loop));
    if (!loop)
        return -ENOMEM;
    loop->backend = backend;
    apply_options(loop, opt);
    loom_list_init(&loop->changes);
    loom_list_init(&loop->change_batch);
    loom_list_init(&loop->ready);
    loom_list_init(&loop->ready_batch);
    loom_list_init(&loop->free_handles);
    loom_list_init(&loop->ts_queue);
    loom_list_init(&loop->signals);
    loom_list_init(&loop->asyncs);
    loom_list_init(&loop->tasks);
    loom_list_init(&loop->free_tasks);
    loom_list_init(&loop->free_stacks);
    for (int k = 0; k < 3; k++)
        loom_list_init(&loop->hooks[k]);
    loom_list_init(&loop->hook_batch);
    loom__heap_init(&loop->timers);
    loop->wake_rfd = loop->wake_wfd = loop->sig_rfd = loop->sig_wfd = -1;
    int rc = backend->create(&loop->backend_state);
    while (rc < 0 && backend->fallback) /* io_uring unavailable: epoll */
        rc = (loop->backend = backend = backend->fallback)->create(&loop->backend_state);
    if (rc < 0)
        goto fail_backend;
    if ((rc = -pthread_mutex_init(&loop->ts_lock, NULL)) < 0)
        goto fail_mutex;
    if ((rc = loom__wakeup_open(loop)) < 0)
        goto fail_wakeup;
    loop->now = loom__clock_ns();
    if (!(opt && opt->no_sigsegv_handler))
        loom__overflow_install();
    *out = loop;
    return 0;
fail_wakeup:
    pthread_mutex_destroy(&loop->ts_lock);
fail_mutex:
    backend->destroy(loop->backend_state);
fail_backend:
    free(loop);
    return rc;
}

/* User watchers still initialised (the loop's own channels excluded). */
static size_t open_watchers(const struct loom_loop *loop)
{
    size_t n = 0;
    for (size_t fd = 0; fd < loop->nfds; fd++) {
        const struct loom_io *io = loop->fds[fd];
        n += io && io != &loop->wake_io && io != &loop->sig_io;
    }
    return n;
}

static bool anything_open(const struct loom_loop *loop)
{
    return loop->active || !loom_list_empty(&loop->ready) || loop->ntasks_live ||
           loop->timers.count || !loom_list_empty(&loop->signals) ||
           !loom_list_empty(&loop->asyncs) || open_watchers(loop);
}

int loom_loop_free(struct loom_loop *loop)
{
    if (!loop)
        return -EINVAL;
    if (loop->running)
        return -EBUSY;
    if (anything_open(loop)) {
        if (loop->debug)
            loom__report_open(loop, "loom_loop_free: -EBUSY, the loop was not freed; still open:");
        return -EBUSY;
    }
    loom__executor_free_default(loop);
    loom__tasks_report(loop); /* failures nobody retrieved; in debug mode, results too */
    loom__tasks_free(loop);
    loom__stacks_free(loop);
    loom__signals_close(loop);
    loom__wakeup_close(loop);
    struct loom_list *n;
    while ((n = loom_list_pop_front(&loop->free_handles)))
        free(loom_list_entry(n, struct loom_handle, ready.node));
    loom__heap_free(&loop->timers);
    loop->backend->destroy(loop->backend_state);
    pthread_mutex_destroy(&loop->ts_lock);
    free(loop->fds);
    free(loop->recvs);
    free(loop->sends);
    free(loop->accepts);
    free(loop);
    return 0;
}

struct loom_loop *loom_loop_current(void) { return loom__tls_loop; }
int64_t loom_loop_now(const struct loom_loop *loop) { return loop->now; }
void loom_loop_update_time(struct loom_loop *loop) { loop->now = loom__clock_ns(); }
const char *loom_loop_backend(const struct loom_loop *loop) { return loop->backend->name; }
bool loom_loop_debug(const struct loom_loop *loop) { return loop->debug; }
void loom_loop_set_debug(struct loom_loop *loop, bool on) { loop->debug = on; }
void loom_loop_ref(struct loom_loop *loop) { loop->active++; }
void loom_loop_unref(struct loom_loop *loop) { loop->active--; }
void loom_loop_stop(struct loom_loop *loop) { loop->stop_requested = true; }

void loom_loop_set_log(struct loom_loop *loop, loom_log_cb cb, void *arg)
{
    loop->log_cb = cb;
    loop->log_arg = arg;
}

void loom__log(struct loom_loop *loop, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (loop->log_cb)
        loop->log_cb(loop->log_arg, buf);
    else
        fprintf(stderr, "loom: %s\n", buf);
}

void loom_loop_set_exception_handler(struct loom_loop *loop, loom_exception_handler handler,
                                     void *arg)
{
    loop->exc_handler = handler;
    loop->exc_arg = handler ? arg : NULL;
}

loom_exception_handler loom_loop_get_exception_handler(const struct loom_loop *loop, void **arg)
{
    if (arg)
        *arg = loop->exc_arg;
    return loop->exc_handler;
}

void loom_loop_default_exception_handler(struct loom_loop *loop,
                                         const struct loom_error_context *ctx)
{
    if (ctx->task)
        loom__log(loop, "%s: task \"%s\": %s", ctx->message, loom_task_name(ctx->task),
                  loom_strerror(ctx->error));
    else
        loom__log(loop, "%s: %s", ctx->message, loom_strerror(ctx->error));
}

void loom_loop_call_exception_handler(struct loom_loop *loop, const struct loom_error_context *ctx)
{
    if (loop->exc_handler)
        loop->exc_handler(loop, ctx, loop->exc_arg);
    else
        loom_loop_default_exception_handler(loop, ctx);
}

void loom_loop_dump(struct loom_loop *loop, FILE *f)
{
    fprintf(f, "loop %p backend=%s active=%zu ready=%s timers=%zu\n", (void *)loop,
            loop->backend->name, loop->active, loom_list_empty(&loop->ready) ? "no" : "yes",
            loop->timers.count);
    for (size_t fd = 0; fd < loop->nfds; fd++) {
        struct loom_io *io = loop->fds[fd];
        if (io && io != &loop->wake_io && io != &loop->sig_io)
            fprintf(f, "  io fd=%zu events=%s%s%s (not closed)\n", fd,
                    io->_events & LOOM_READABLE ? "r" : "", io->_events & LOOM_WRITABLE ? "w" : "",
                    io->_events ? "" : "none");
    }
    int64_t now = loom__clock_ns();
    for (size_t i = 0; i < loop->timers.count; i++) {
        const struct loom_heap_node *n = loop->timers.nodes[i];
        fprintf(f, "  timer due in %.3f ms\n", (double)(n->key - now) / 1e6);
    }
    struct loom_list *it;
    loom_list_foreach(it, &loop->signals)
    {
        fprintf(f, "  signal %d\n", loom_list_entry(it, struct loom_signal, _node)->signum);
    }
    loom_list_foreach(it, &loop->asyncs)
    {
        fprintf(f, "  async %p\n", (void *)loom_list_entry(it, struct loom_async, _node));
    }
    static const char *const hook_names[] = {"idle", "prepare", "check"};
    for (int k = 0; k < 3; k++)
        loom_list_foreach(it, &loop->hooks[k])
        {
            fprintf(f, "  %s hook %p\n", hook_names[k],
                    (void *)loom_list_entry(it, struct loom_hook, _node));
        }
    loom__tasks_dump(loop, f);
}

void loom__report_open(struct loom_loop *loop, const char *msg)
{
    loom__log(loop, "%s", msg);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return;
    loom_loop_dump(loop, f);
    fclose(f);
    for (char *line = text, *end; line && *line; line = end ? end + 1 : NULL) {
        if ((end = strchr(line, '\n')))
            *end = 0;
        loom__log(loop, "%s", line);
    }
    free(text);
}

/* --- embedding --- */

int loom_loop_backend_fd(const struct loom_loop *loop)
{
    if (!loop)
        return -EINVAL;
    return loop->backend->fd ? loop->backend->fd(loop->backend_state) : -ENOTSUP;
}

int loom_loop_backend_timeout(const struct loom_loop *loop)
{
    if (!loop)
        return -EINVAL;
    if (!loom_list_empty(&loop->ready) || !loom_list_empty(&loop->changes) || loop->nidle)
        return 0;
    struct loom_heap_node *t = loom__heap_min(&loop->timers);
    if (!t)
        return -1;
    int64_t d = t->key - loom__clock_ns();
    return d > 0 ? loom__timeout_ms(d) : 0;
}

/* --- ready queue and deferred calls --- */

static struct loom_handle *handle_get(struct loom_loop *loop)
{
    struct loom_list *n = loom_list_pop_front(&loop->free_handles);
    if (n) {
        loop->nfree_handles--;
        return loom_list_entry(n, struct loom_handle, ready.node);
    }
    struct loom_handle *h = malloc(sizeof(*h));
    if (h) {
        loom_list_init(&h->ready.node);
        h->gen = 0;
        h->pinned = false;
    }
    return h;
}

/* A record a struct loom_call may still name stays pooled (its generation
 * tells the call is over): the pool keeps at most the peak number of such
 * calls pending at once, freed with the loop. */
static void handle_put(struct loom_handle *h)
{
    struct loom_loop *loop = h->loop;
    h->gen++;
    if (loop->nfree_handles >= 4096 && !h->pinned) {
        free(h);
        return;
    }
    loom_list_push_front(&loop->free_handles, &h->ready.node);
    loop->nfree_handles++;
}

static void handle_run(struct loom__ready *r)
{
    struct loom_handle *h = loom__container_of(r, struct loom_handle, ready);
    loom_callback cb = h->cb;
    void *arg = h->arg;
    handle_put(h);
    cb(arg);
}

/* Queue cb(arg): 0 and the record in *out, or -EINVAL / -ENOMEM. */
static int soon(struct loom_loop *loop, loom_callback cb, void *arg, struct loom_handle **out)
{
    if (!loop || !cb)
        return -EINVAL;
    struct loom_handle *h = handle_get(loop);
    if (!h)
        return -ENOMEM;
    h->cb = cb;
    h->arg = arg;
    h->loop = loop;
    h->timed = false;
    h->ready.run = handle_run;
    loom__ready_push(loop, &h->ready);
    *out = h;
    return 0;
}

int loom_call_soon(struct loom_loop *loop, loom_callback cb, void *arg)
{
    struct loom_handle *h;
    return soon(loop, cb, arg, &h);
}

static void call_ref(struct loom_handle *h, struct loom_call *out)
{
    h->pinned = true;
    out->_h = h;
    out->_gen = h->gen;
}

int loom_call_soon_handle(struct loom_loop *loop, loom_callback cb, void *arg,
                          struct loom_call *out)
{
    struct loom_handle *h;
    int rc = soon(loop, cb, arg, &h);
    if (rc == 0 && out)
        call_ref(h, out);
    return rc;
}

int loom_call_later_handle(struct loom_loop *loop, int64_t delay_ns, loom_callback cb, void *arg,
                           struct loom_call *out)
{
    struct loom_handle *h;
    int rc = loom_call_later(loop, delay_ns, cb, arg, &h);
    if (rc == 0 && out)
        call_ref(h, out);
    return rc;
}

bool loom_call_pending(const struct loom_call *c) { return c->_h && c->_h->gen == c->_gen; }

bool loom_call_cancel(struct loom_call *c)
{
    if (!loom_call_pending(c))
        return false; /* ran, running, cancelled, or never made */
    struct loom_handle *h = c->_h;
    if (h->timed)
        loom_timer_stop(&h->timer);
    else
        loom_list_remove(&h->ready.node);
    handle_put(h);
    return true;
}

static void handle_timer_fired(struct loom_timer *t)
{
    struct loom_handle *h = t->data;
    loom_callback cb = h->cb;
    void *arg = h->arg;
    handle_put(h);
    cb(arg);
}

int loom_call_at(struct loom_loop *loop, int64_t when_ns, loom_callback cb, void *arg,
                 struct loom_handle **out)
{
    if (!loop || !cb)
        return -EINVAL;
    struct loom_handle *h = handle_get(loop);
    if (!h)
        return -ENOMEM;
    h->cb = cb;
    h->arg = arg;
    h->loop = loop;
    h->timed = true;
    loom_timer_init(loop, &h->timer, handle_timer_fired);
    h->timer.data = h;
    int rc = loom_timer_start_at(&h->timer, when_ns);
    if (rc < 0) {
        handle_put(h);
        return rc;
    }
    if (out)
        *out = h;
    return 0;
}

int loom_call_later(struct loom_loop *loop, int64_t delay_ns, loom_callback cb, void *arg,
                    struct loom_handle **out)
{
    if (!loop)
        return -EINVAL;
    loom_loop_update_time(loop); /* the delay counts from now, not the iteration's start */
    return loom_call_at(loop, loom__time_add(loop->now, delay_ns > 0 ? delay_ns : 0), cb, arg, out);
}

void loom_handle_cancel(struct loom_handle *h)
{
    loom_timer_stop(&h->timer);
    handle_put(h);
}

/* --- timers --- */

static void timer_ready_run(struct loom__ready *r)
{
    struct loom_timer *t = loom__container_of(r, struct loom_timer, _ready);
    t->_loop->active -= t->_ref; /* no longer active: the callback may restart it */
    t->cb(t);
}

void loom_timer_init(struct loom_loop *loop, struct loom_timer *t, loom_timer_cb cb)
{
    t->cb = cb;
    t->_loop = loop;
    t->_node.index = SIZE_MAX;
    t->_ref = true;
    loom_list_init(&t->_ready.node);
    t->_ready.run = timer_ready_run;
}

int loom_timer_start_at(struct loom_timer *t, int64_t when_ns)
{
    struct loom_loop *loop = t->_loop;
    loom_timer_stop(t);
    int rc = loom__heap_insert(&loop->timers, &t->_node, when_ns);
    if (rc == 0)
        loop->active += t->_ref;
    return rc;
}

int loom_timer_start(struct loom_timer *t, int64_t delay_ns)
{
    loom_loop_update_time(t->_loop); /* as loom_call_later */
    return loom_timer_start_at(t, loom__time_add(t->_loop->now, delay_ns > 0 ? delay_ns : 0));
}

void loom_timer_stop(struct loom_timer *t)
{
    if (loom__heap_contains(&t->_node))
        loom__heap_remove(&t->_loop->timers, &t->_node);
    else if (loom_list_linked(&t->_ready.node))
        loom_list_remove(&t->_ready.node); /* due, its callback not started */
    else
        return;
    t->_loop->active -= t->_ref;
}

bool loom_timer_active(const struct loom_timer *t)
{
    return loom__heap_contains(&t->_node) || loom_list_linked(&t->_ready.node);
}

/* Move the due timers to the back of the ready queue, earliest first (ties in
 * start order): their callbacks run in this iteration's run phase, after what
 * was ready before. O(k log n) for k due timers. */
static void run_timers(struct loom_loop *loop)
{
    struct loom_heap_node *n;
    while ((n = loom__heap_min(&loop->timers)) && n->key <= loop->now) {
        struct loom_timer *t = loom__container_of(n, struct loom_timer, _node);
        loom__heap_remove(&loop->timers, n);
        loom__ready_push(loop, &t->_ready);
    }
}

/* --- hooks --- */

void loom_hook_init(struct loom_loop *loop, struct loom_hook *h, enum loom_hook_kind kind)
{
    h->cb = NULL;
    h->_loop = loop;
    h->_kind = kind;
    h->_started = false;
    loom_list_init(&h->_node);
}

int loom_hook_start(struct loom_hook *h, loom_hook_cb cb)
{
    if (!cb)
        return -EINVAL;
    h->cb = cb;
    if (h->_started)
        return 0;
    struct loom_loop *loop = h->_loop;
    h->_started = true;
    loom_list_push_back(&loop->hooks[h->_kind], &h->_node);
    loop->active++;
    loop->nidle += h->_kind == LOOM_HOOK_IDLE;
    loop->hooks_on = ++loop->nhooks > 0;
    return 0;
}

void loom_hook_stop(struct loom_hook *h)
{
    if (!h->_started)
        return;
    struct loom_loop *loop = h->_loop;
    h->_started = false;
    loom_list_remove(&h->_node); /* from its list, or from the batch being run */
    loop->active--;
    loop->nidle -= h->_kind == LOOM_HOOK_IDLE;
    loop->hooks_on = --loop->nhooks > 0;
}

bool loom_hook_active(const struct loom_hook *h) { return h->_started; }

/* Call the hooks of kind started before this pass. Each goes back on its list
 * before its callback, so stopping (itself or another) works from there. */
static void run_hooks(struct loom_loop *loop, int kind)
{
    struct loom_list *list = &loop->hooks[kind], *n;
    if (loom_list_empty(list))
        return;
    loop->hook_batch_kind = kind;
    loom_list_splice(&loop->hook_batch, list);
    while ((n = loom_list_pop_front(&loop->hook_batch))) {
        struct loom_hook *h = loom_list_entry(n, struct loom_hook, _node);
        loom_list_push_back(list, n);
        h->cb(h);
    }
}

/* --- I/O watchers --- */

int loom_io_init(struct loom_loop *loop, struct loom_io *io, int fd, loom_io_cb cb)
{
    if (!loop || !io)
        return -EINVAL;
    if (fd < 0)
        return -EBADF;
    if ((size_t)fd >= loop->nfds) {
        size_t n = loop->nfds ? loop->nfds : 64;
        while (n <= (size_t)fd)
            n *= 2;
        struct loom_io **fds = realloc(loop->fds, n * sizeof(*fds));
        if (!fds)
            return -ENOMEM;
        memset(fds + loop->nfds, 0, (n - loop->nfds) * sizeof(*fds));
        loop->fds = fds;
        loop->nfds = n;
    }
    io->fd = fd;
    io->cb = cb;
    io->_loop = loop;
    io->_events = io->_armed = 0;
    io->_queued = false;
    loom_list_init(&io->_change);
    loop->fds[fd] = io;
    return 0;
}

static void queue_change(struct loom_io *io)
{
    if (!io->_queued) {
        io->_queued = true;
        loom_list_push_back(&io->_loop->changes, &io->_change);
    }
}

int loom_io_start(struct loom_io *io, unsigned events)
{
    unsigned before = io->_events;
    io->_events |= events;
    if (!before && io->_events)
        io->_loop->active++;
    if (io->_events & ~io->_armed)
        queue_change(io);
    return 0;
}

void loom_io_stop(struct loom_io *io, unsigned events)
{
    unsigned before = io->_events;
    io->_events &= ~events;
    if (before && !io->_events)
        io->_loop->active--;
    /* Lazy: leave the backend armed; disarm only if an unwanted event arrives. */
}

void loom_io_close(struct loom_io *io)
{
    struct loom_loop *loop = io->_loop;
    loom_io_stop(io, LOOM_READABLE | LOOM_WRITABLE);
    if (io->_armed)
        loop->backend->del(loop->backend_state, io->fd, io->_armed);
    io->_armed = 0;
    if (io->_queued) {
        loom_list_remove(&io->_change);
        io->_queued = false;
    }
    if ((size_t)io->fd < loop->nfds && loop->fds[io->fd] == io)
        loop->fds[io->fd] = NULL;
}

/* Works on a snapshot: a watcher re-queued by a failure callback waits for the
 * next iteration instead of failing again in a loop here. */
static void apply_changes(struct loom_loop *loop)
{
    struct loom_list *batch = &loop->change_batch, *n;
    loom_list_splice(batch, &loop->changes);
    while ((n = loom_list_pop_front(batch))) {
        struct loom_io *io = loom_list_entry(n, struct loom_io, _change);
        io->_queued = false;
        unsigned want = io->_events;
        if (want == io->_armed)
            continue;
        int rc;
        if (!io->_armed)
            rc = loop->backend->add(loop->backend_state, io->fd, want);
        else if (!want)
            rc = loop->backend->del(loop->backend_state, io->fd, io->_armed);
        else
            rc = loop->backend->mod(loop->backend_state, io->fd, io->_armed, want);
        if (rc < 0) {
            /* Report the failure as readiness: the waiter's next call sees the error. */
            io->_armed = 0;
            if (io->cb)
                io->cb(io, want);
            continue;
        }
        io->_armed = want;
    }
}

/* A receive's completion: to its receiver if that is still the one the
 * backend reported for, else the buffer goes straight back. */
static void dispatch_recv(struct loom_loop *loop, const struct loom_backend_event *ev)
{
    struct loom__recv *r = (size_t)ev->fd < loop->nrecvs ? loop->recvs[ev->fd] : NULL;
    if (r && r->gen == ev->gen) {
        if (!ev->more) {
            r->live = false;
            loop->recvs[ev->fd] = NULL;
            loop->active--;
        }
        r->cb(r, ev->data, ev->res, ev->more); /* may free r */
    }
    if (ev->data)
        loop->backend->recv_release(loop->backend_state, ev->bid);
}

static void dispatch_send(struct loom_loop *loop, const struct loom_backend_event *ev)
{
    struct loom__send *op = (size_t)ev->fd < loop->nsends ? loop->sends[ev->fd] : NULL;
    if (op && op->gen == ev->gen) {
        op->live = false;
        loop->sends[ev->fd] = NULL;
        loop->active--;
        op->cb(op, ev->res);
    }
}

static void accept_end(struct loom_loop *loop, struct loom__accept *a)
{
    a->live = false;
    loop->accepts[a->fd] = NULL;
    if (!a->idle)
        loop->active--;
}

/* A connection nobody takes any more (stopped for a close) is closed. */
static void dispatch_accept(struct loom_loop *loop, const struct loom_backend_event *ev)
{
    struct loom__accept *a = (size_t)ev->fd < loop->naccepts ? loop->accepts[ev->fd] : NULL;
    if (!a || a->gen != ev->gen) {
        if (ev->res >= 0)
            close(ev->res);
        return;
    }
    if (!ev->more)
        accept_end(loop, a);
    a->cb(a, ev->res, ev->more); /* may free a */
}

static void dispatch(struct loom_loop *loop, int n)
{
    for (int i = 0; i < n; i++) {
        int fd = loop->events[i].fd;
        if (loop->events[i].events & (LOOM__EV_RECV | LOOM__EV_SEND | LOOM__EV_ACCEPT)) {
            if (loop->events[i].events & LOOM__EV_RECV)
                dispatch_recv(loop, &loop->events[i]);
            else if (loop->events[i].events & LOOM__EV_SEND)
                dispatch_send(loop, &loop->events[i]);
            else
                dispatch_accept(loop, &loop->events[i]);
            continue;
        }
        /* Reload each time: a callback may have closed or replaced any watcher. */
        struct loom_io *io = (size_t)fd < loop->nfds ? loop->fds[fd] : NULL;
        if (!io) {
            loop->backend->del(loop->backend_state, fd, LOOM_READABLE | LOOM_WRITABLE);
            continue;
        }
        unsigned got = loop->events[i].events & io->_events;
        if (loop->events[i].events & ~io->_events)
            queue_change(io); /* unwanted readiness: disarm before the next poll */
        if (got)
            io->cb(io, got);
    }
}

/* --- completion receives (completion.h) --- */

/* Claim (*slots)[fd] for an operation about to start (live: the caller's
 * already is): 0, -ENOTSUP (no such backend op), -EBUSY, -EBADF, -ENOMEM. */
static int op_slot_claim(struct loom_loop *loop, void ***slots, size_t *n, int fd, bool supported,
                         bool live)
{
    if (!supported)
        return -ENOTSUP;
    if (live || fd < 0)
        return live ? -EBUSY : -EBADF;
    if ((size_t)fd >= *n) {
        size_t want = loop->nfds > (size_t)fd ? loop->nfds : (size_t)fd + 1;
        void **p = realloc(*slots, want * sizeof(*p));
        if (!p)
            return -ENOMEM;
        memset(p + *n, 0, (want - *n) * sizeof(*p));
        *slots = p;
        *n = want;
    }
    return (*slots)[fd] ? -EBUSY : 0;
}

int loom__recv_start(struct loom_loop *loop, struct loom__recv *r, int fd)
{
    int rc = op_slot_claim(loop, &loop->recvs, &loop->nrecvs, fd, loop->backend->recv_start != NULL,
                           r->live);
    if (rc == 0)
        rc = loop->backend->recv_start(loop->backend_state, fd, &r->gen);
    if (rc < 0)
        return rc;
    r->fd = fd;
    r->live = true;
    loop->recvs[fd] = r;
    loop->active++; /* a live operation keeps the loop running, as a watcher */
    return 0;
}

int loom__send_start(struct loom_loop *loop, struct loom__send *op, int fd, const void *buf,
                     size_t len)
{
    int rc = op_slot_claim(loop, &loop->sends, &loop->nsends, fd, loop->backend->send_start != NULL,
                           op->live);
    if (rc == 0)
        rc = loop->backend->send_start(loop->backend_state, fd, buf, len, &op->gen);
    if (rc < 0)
        return rc;
    op->fd = fd;
    op->live = true;
    loop->sends[fd] = op;
    loop->active++;
    return 0;
}

void loom__send_abandon(struct loom_loop *loop, struct loom__send *op, void *buf)
{
    if (!op->live) {
        free(buf);
        return;
    }
    loop->backend->send_abandon(loop->backend_state, op->fd, buf);
    op->live = false;
    loop->sends[op->fd] = NULL;
    loop->active--;
}

void loom__recv_stop(struct loom_loop *loop, struct loom__recv *r, bool close)
{
    if (!r->live)
        return;
    /* Without close, a failed cancel (no SQE to be had) leaves r receiving:
     * the caller sees r->live and the data keeps coming, as if stopped later. */
    (void)loop->backend->recv_stop(loop->backend_state, r->fd, close);
    if (close) {
        r->live = false;
        loop->recvs[r->fd] = NULL;
        loop->active--;
    }
}

int loom__accept_start(struct loom_loop *loop, struct loom__accept *a, int fd)
{
    int rc = op_slot_claim(loop, &loop->accepts, &loop->naccepts, fd,
                           loop->backend->accept_start != NULL, a->live);
    if (rc == 0)
        rc = loop->backend->accept_start(loop->backend_state, fd, &a->gen);
    if (rc < 0)
        return rc;
    a->fd = fd;
    a->live = true;
    a->idle = false;
    loop->accepts[fd] = a;
    loop->active++;
    return 0;
}

void loom__accept_stop(struct loom_loop *loop, struct loom__accept *a, bool close)
{
    if (!a->live)
        return;
    (void)loop->backend->accept_stop(loop->backend_state, a->fd, close);
    if (close)
        accept_end(loop, a);
}

void loom__accept_idle(struct loom_loop *loop, struct loom__accept *a, bool idle)
{
    if (a->live && a->idle != idle) {
        if (idle)
            loop->active--;
        else
            loop->active++;
    }
    a->idle = idle;
}

/* --- running --- */

/* A poll costs a syscall (~400 ns in a VM) even with a zero timeout. While
 * something is ready it is skipped unless BUSY_POLL_NS of loop time passed since
 * the last one: I/O waits at most that long behind a busy ready queue, and a task
 * hand-off costs ~30 ns instead of ~130 ns. */
#define BUSY_POLL_NS LOOM_US(50)
#define CLOCK_EVERY LOOM__CLOCK_EVERY /* loop_internal.h: loom__boundary_quick counts too */

static void run_ready(struct loom_loop *loop)
{
    struct loom_list *batch = &loop->ready_batch, *n;
    loom_list_splice(batch, &loop->ready);
    while ((n = loom_list_pop_front(batch))) {
        struct loom__ready *r = loom_list_entry(n, struct loom__ready, node);
        if (!loop->debug) {
            r->run(r);
            continue;
        }
        void (*run)(struct loom__ready *) = r->run; /* r may be freed by the call */
        int64_t t0 = loom__clock_ns();
        run(r);
        int64_t dt = loom__clock_ns() - t0;
        if (dt > loop->slow_ns && (run == handle_run || run == timer_ready_run))
            loom__log(loop, "Executing callback took %.3f seconds", dt / 1e9);
    }
}

bool loom__iterate_inline(struct loom_loop *loop)
{
    if (loop->slow || loom_list_empty(&loop->ready) || !loom_list_empty(&loop->changes))
        return false;
    /* iterate() with nothing to apply, no hooks and the poll skipped. The clock
     * read (25-35 ns in a VM) was most of a hand-off. With no timer pending, loop
     * time only feeds loom_loop_now and the poll cadence, so it is read at one
     * such boundary in CLOCK_EVERY: loop time may lag that many hand-offs, and
     * the poll come that many task steps after BUSY_POLL_NS. */
    if (loom__heap_min(&loop->timers) || ++loop->clock_skips >= CLOCK_EVERY) {
        loop->clock_skips = 0;
        loop->now = loom__clock_ns();
        if (loop->now - loop->last_poll >= BUSY_POLL_NS)
            return false;
        run_timers(loop);
    }
    loom_list_splice(&loop->ready_batch, &loop->ready);
    return true;
}

static bool alive(const struct loom_loop *loop)
{
    return loop->active > 0 || !loom_list_empty(&loop->ready);
}

static int64_t poll_timeout(struct loom_loop *loop, enum loom_run_mode mode)
{
    if (mode == LOOM_RUN_NOWAIT || !loom_list_empty(&loop->ready) || loop->stop_requested ||
        loop->nidle || !alive(loop))
        return 0;
    struct loom_heap_node *t = loom__heap_min(&loop->timers);
    if (!t)
        return -1;
    int64_t d = t->key - loom__clock_ns();
    return d > 0 ? d : 0;
}

static int poll_io(struct loom_loop *loop, enum loom_run_mode mode)
{
    if (!loom_list_empty(&loop->ready) && loop->now - loop->last_poll < BUSY_POLL_NS)
        return 0;
    int n = loop->backend->poll(loop->backend_state, loop->events,
                                (int)(sizeof(loop->events) / sizeof(loop->events[0])),
                                poll_timeout(loop, mode));
    loop->last_poll = loom__clock_ns();
    return n;
}

static int iterate(struct loom_loop *loop, enum loom_run_mode mode)
{
    apply_changes(loop);
    run_hooks(loop, LOOM_HOOK_IDLE);
    run_hooks(loop, LOOM_HOOK_PREPARE);
    int n = poll_io(loop, mode);
    if (n < 0)
        return n;
    loop->now = loom__clock_ns();
    dispatch(loop, n);
    run_hooks(loop, LOOM_HOOK_CHECK);
    run_timers(loop);
    run_ready(loop);
    return 0;
}

struct run_guard {
    struct loom_loop *loop, *saved;
};

/* What an exception left in a batch goes back to the front of its queue. */
static void requeue(struct loom_list *batch, struct loom_list *home)
{
    loom_list_splice(batch, home); /* batch = batch + home */
    loom_list_splice(home, batch);
}

/* Runs on return and when a C++ exception unwinds out of a callback. */
static inline __attribute__((always_inline)) void run_exit(struct run_guard *g)
{
    if (__builtin_expect(!loom_list_empty(&g->loop->ready_batch), 0))
        requeue(&g->loop->ready_batch, &g->loop->ready);
    if (__builtin_expect(!loom_list_empty(&g->loop->change_batch), 0))
        requeue(&g->loop->change_batch, &g->loop->changes);
    if (__builtin_expect(!loom_list_empty(&g->loop->hook_batch), 0))
        requeue(&g->loop->hook_batch, &g->loop->hooks[g->loop->hook_batch_kind]);
    g->loop->stop_requested = false;
    g->loop->running = false;
    g->loop->current = NULL;
    loom__tls_loop = g->saved;
}

int loom_loop_run(struct loom_loop *loop, enum loom_run_mode mode)
{
    if (!loop)
        return -EINVAL;
    if (loop->running || (loom__tls_loop && loom__tls_loop != loop))
        return -EBUSY;
    struct run_guard guard __attribute__((cleanup(run_exit), unused)) = {loop, loom__tls_loop};
    loom__tls_loop = loop;
    loop->running = true;
    loop->run_mode = mode;
    loom__overflow_thread();
    loop->eh = loom__eh_globals();
    loop->now = loom__clock_ns();
    int rc = 0;
    do {
        if ((rc = iterate(loop, mode)) < 0)
            break;
    } while (mode == LOOM_RUN_DEFAULT && !loop->stop_requested && alive(loop));
    return rc < 0 ? rc : alive(loop);
}

void loom_loop_forget_inherited(void) { loom__tls_loop = NULL; }
