/* combine.c - wait_for, shield, gather, wait, as_completed and TaskGroup.
 *
 * Each registers an immediate done callback per task that wakes the waiting
 * task, then re-checks its condition after every wake. Callback records live
 * on the waiting task's stack (small n) or in one malloc'd array. */
#include "reactor/task_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SMALL_N 16

static void wake_cb(struct loom_future *f, void *arg)
{
    (void)f;
    loom_wake(arg, 0);
}

/* Callback records for n tasks: the caller's small array or the heap. */
static struct loom_future_callback *cbs_get(struct loom_future_callback *small, size_t n)
{
    return n <= SMALL_N ? small : malloc(n * sizeof(*small));
}

static void cbs_put(struct loom_future_callback *small, struct loom_future_callback *cbs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        loom_future_remove_done_callback(&cbs[i]);
    if (cbs != small)
        free(cbs);
}

/* Wait for t to finish, ignoring one round of cancellation of the caller (it
 * is recorded and re-delivered at the caller's next suspension). */
static void wait_finished(struct loom_task *self, struct loom_task *t)
{
    bool cancelled = false;
    while (!loom_task_done(t)) {
        if (loom__park_done_unscoped(self, t) == -ECANCELED) {
            if (cancelled)
                break; /* cancelled twice: stop waiting */
            cancelled = true;
        }
    }
    if (cancelled)
        self->cancel_pending = true;
}

intptr_t loom_wait_for(struct loom_task *t, int64_t timeout_ns)
{
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    /* No time at all: cancel at once, so a task not started never runs (asyncio). */
    int rc = timeout_ns == 0 ? (loom_task_done(t) ? 0 : -ETIMEDOUT)
                             : loom_park_until_done(self, t, loom_deadline(self->loop, timeout_ns));
    intptr_t result;
    if (rc == 0) {
        result = t->fut.result;
    } else {
        loom_task_cancel(t);
        wait_finished(self, t);
        if (rc == -ECANCELED) {
            self->cancel_pending = false;
            result = -ECANCELED;
        } else {
            /* Completion that raced the timeout wins, as in asyncio 3.12. */
            result = loom_task_done(t) && t->fut.result != -ECANCELED ? t->fut.result : -ETIMEDOUT;
        }
    }
    t->joined = true;
    loom_task_release(t);
    return result;
}

static intptr_t shield_main(void *arg)
{
    struct loom_task *inner = arg;
    struct loom_task *self = loom_task_current();
    int rc = loom_park_until_done(self, inner, -1);
    intptr_t result = rc == 0 ? inner->fut.result : rc;
    if (rc == 0)
        inner->joined = true;
    loom_task_release(inner);
    return result;
}

struct loom_task *loom_shield(struct loom_task *t)
{
    struct loom_task *outer = NULL;
    char name[64];
    snprintf(name, sizeof(name), "shield(%s)", t->name);
    struct loom_task_options opt = {.name = name, .stack_size = 16 * 1024};
    loom_task_ref(t);
    if (loom_task_spawn(t->loop, shield_main, t, &opt, &outer) < 0) {
        loom_task_release(t);
        return NULL;
    }
    return outer;
}

int loom_gather(struct loom_task **tasks, size_t n, intptr_t *results, unsigned flags)
{
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    struct loom_future_callback small[SMALL_N], *cbs = cbs_get(small, n);
    if (!cbs) { /* as documented, the handles are released on every path */
        for (size_t i = 0; i < n; i++)
            loom_task_release(tasks[i]);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        loom__future_on_done(&tasks[i]->fut, &cbs[i], wake_cb, self);
    int rc = 0, error = 0;
    for (;;) {
        size_t done = 0;
        for (size_t i = 0; i < n; i++) {
            if (!loom_task_done(tasks[i]))
                continue;
            done++;
            if (!error && !(flags & LOOM_GATHER_ALL) && tasks[i]->fut.result < 0)
                error = (int)tasks[i]->fut.result;
        }
        if (done == n || error || (rc = loom_park(self, -1)) < 0)
            break;
    }
    cbs_put(small, cbs, n);
    if (rc == -ECANCELED || rc == -ETIMEDOUT) { /* cancelled, or a deadline scope passed: */
        for (size_t i = 0; i < n; i++)          /* cancel the children and let them finish */
            loom_task_cancel(tasks[i]);
        for (size_t i = 0; i < n; i++)
            wait_finished(self, tasks[i]);
        if (rc == -ECANCELED)
            self->cancel_pending = false;
        error = rc;
    }
    for (size_t i = 0; i < n; i++) {
        if (results)
            results[i] = loom_task_done(tasks[i]) ? tasks[i]->fut.result : -EAGAIN;
        tasks[i]->joined = true; /* a failure after an early return is gather's too */
        loom_task_release(tasks[i]);
    }
    return error;
}

static bool wait_satisfied(struct loom_task **tasks, size_t n, enum loom_wait_mode mode)
{
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        if (!loom_task_done(tasks[i]))
            continue;
        done++;
        if (mode == LOOM_FIRST_COMPLETED)
            return true;
        if (mode == LOOM_FIRST_EXCEPTION && loom__is_failure(tasks[i]->fut.result))
            return true;
    }
    return done == n;
}

/* Stable partition: done tasks first. */
static int partition_done(struct loom_task **tasks, size_t n)
{
    struct loom_task *small[SMALL_N], **tmp = n <= SMALL_N ? small : malloc(n * sizeof(*tmp));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (loom_task_done(tasks[i]))
            (tmp ? tmp : tasks)[k++] = tasks[i];
    if (!tmp) /* no memory: report the count, order unchanged */
        return (int)k;
    size_t d = k;
    for (size_t i = 0; i < n; i++)
        if (!loom_task_done(tasks[i]))
            tmp[k++] = tasks[i];
    memcpy(tasks, tmp, n * sizeof(*tasks));
    if (tmp != small)
        free(tmp);
    return (int)d;
}

int loom_wait(struct loom_task **tasks, size_t n, enum loom_wait_mode mode, int64_t timeout_ns)
{
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    struct loom_future_callback small[SMALL_N], *cbs = cbs_get(small, n);
    if (!cbs)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        loom__future_on_done(&tasks[i]->fut, &cbs[i], wake_cb, self);
    int64_t deadline = loom_deadline(self->loop, timeout_ns);
    int rc = 0;
    while (!wait_satisfied(tasks, n, mode) && rc == 0)
        rc = loom_park(self, deadline);
    cbs_put(small, cbs, n);
    if (rc == -ECANCELED || (rc == -ETIMEDOUT && loom__scope_cut(self, deadline)))
        return rc;
    return partition_done(tasks, n);
}

/* --- as_completed --- */

static void as_completed_cb(struct loom_future *f, void *arg)
{
    struct loom_as_completed *it = arg;
    struct loom_task *t = loom__container_of(f, struct loom_task, fut);
    for (size_t i = 0; i < it->_n; i++) {
        if (it->_tasks[i] == t) {
            /* The callback record is off the future's list now: reuse its link. */
            loom_list_push_back(&it->_done, &it->_cbs[i]._node);
            break;
        }
    }
    if (it->_waiter)
        loom_wake(it->_waiter, 0);
}

int loom_as_completed_init(struct loom_as_completed *it, struct loom_task **tasks, size_t n,
                           int64_t timeout_ns)
{
    struct loom_loop *loop = loom__tls_loop;
    it->_tasks = tasks;
    it->_n = n;
    it->_yielded = 0;
    it->_waiter = NULL;
    it->_deadline = loop ? loom_deadline(loop, timeout_ns) : -1;
    loom_list_init(&it->_done);
    it->_cbs = calloc(n ? n : 1, sizeof(*it->_cbs));
    if (!it->_cbs)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        loom__future_on_done(&tasks[i]->fut, &it->_cbs[i], as_completed_cb, it);
    return 0;
}

int loom_as_completed_next(struct loom_as_completed *it, struct loom_task **out)
{
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    if (it->_yielded == it->_n)
        return 0;
    int rc = 0;
    it->_waiter = self;
    while (loom_list_empty(&it->_done) && rc == 0)
        rc = loom_park(self, it->_deadline);
    it->_waiter = NULL;
    struct loom_list *n = loom_list_pop_front(&it->_done);
    if (!n) {
        if (rc == -ETIMEDOUT)
            it->_yielded++; /* one timeout per remaining task */
        return rc;
    }
    struct loom_future_callback *c = loom_list_entry(n, struct loom_future_callback, _node);
    *out = it->_tasks[c - it->_cbs];
    it->_yielded++;
    return 1;
}

void loom_as_completed_close(struct loom_as_completed *it)
{
    for (size_t i = 0; i < it->_n; i++)
        loom_future_remove_done_callback(&it->_cbs[i]);
    while (loom_list_pop_front(&it->_done))
        ;
    free(it->_cbs);
    it->_cbs = NULL;
}

/* --- TaskGroup --- */

static void group_cancel_children(struct loom_taskgroup *g)
{
    struct loom_list *it;
    loom_list_foreach(it, &g->_children)
    {
        loom_task_cancel(loom_list_entry(it, struct loom_task, group_node));
    }
}

/* Scheduled (not immediate) as asyncio's _on_task_done: a sibling already
 * ready takes its step before the group reacts to a failure. */
static void group_child_done(struct loom_future *f, void *arg)
{
    struct loom_taskgroup *g = arg;
    struct loom_task *t = loom__container_of(f, struct loom_task, fut);
    g->_running--;
    if (loom__is_failure(f->result)) {
        loom_list_remove(&t->group_node); /* failures keep their order on _failed */
        loom_list_push_back(&g->_failed, &t->group_node);
        g->_nfailed++;
    }
    if (loom__is_failure(f->result) && !g->_error) {
        g->_error = (int)f->result;
        group_cancel_children(g);
        if (!g->_joining) /* the owner is still in the body: stop it too */
            g->_owner_cancelled = loom_task_cancel(g->_parent);
    }
    if (g->_joining)
        loom_wake(g->_parent, 0);
}

int loom_taskgroup_init(struct loom_taskgroup *g)
{
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    memset(g, 0, sizeof(*g));
    g->_loop = self->loop;
    g->_parent = self;
    g->_owner_cancels = self->cancelling;
    loom_list_init(&g->_children);
    loom_list_init(&g->_failed);
    return 0;
}

int loom_taskgroup_spawn(struct loom_taskgroup *g, loom_task_fn fn, void *arg, const char *name)
{
    if (g->_error)
        return g->_error;
    if (g->_closed)
        return -EINVAL;
    struct loom_task *t;
    struct loom_task_options opt = {.name = name};
    int rc = loom_task_spawn(g->_loop, fn, arg, &opt, &t);
    if (rc < 0)
        return rc;
    t->group = g;
    loom_list_push_back(&g->_children, &t->group_node);
    g->_running++;
    loom_future_add_done_callback(&t->fut, &t->group_cb, group_child_done, g);
    return 0;
}

/* Release the children of list; copy the failures to out (up to max). */
static size_t group_release(struct loom_list *list, struct loom_task_failure *out, size_t max)
{
    size_t k = 0;
    struct loom_list *n;
    while ((n = loom_list_pop_front(list))) {
        struct loom_task *t = loom_list_entry(n, struct loom_task, group_node);
        if (k < max) {
            memcpy(out[k].name, t->name, sizeof(out[k].name));
            out[k++].error = (int)t->fut.result;
        }
        t->joined = true;
        t->group = NULL;
        loom_task_release(t);
    }
    return k;
}

int loom_taskgroup_join_failures(struct loom_taskgroup *g, struct loom_task_failure *failures,
                                 size_t max, size_t *nfailed)
{
    struct loom_task *self = loom_task_current();
    if (self != g->_parent)
        return -EPERM;
    g->_joining = true;
    /* Owner cancelled from outside while in the body: cancel the children. */
    long outside = (long)self->cancelling - g->_owner_cancelled - (long)g->_owner_cancels;
    bool cancelled = outside > 0 && !g->_error;
    if (cancelled)
        group_cancel_children(g);
    bool timed_out = false;
    while (g->_running > 0) {
        /* Once cancelling, wait for the children whatever deadline scope passed. */
        int rc = cancelled ? loom__park_unscoped(self, -1) : loom_park(self, -1);
        if ((rc == -ECANCELED || rc == -ETIMEDOUT) && !cancelled) {
            cancelled = true;
            timed_out = rc == -ETIMEDOUT; /* a deadline scope around the join passed */
            group_cancel_children(g);
        }
    }
    g->_closed = true;
    if (g->_owner_cancelled)
        loom_task_uncancel(self); /* the group's own request, handled */
    group_release(&g->_failed, failures, failures ? max : 0);
    group_release(&g->_children, NULL, 0);
    if (nfailed)
        *nfailed = g->_nfailed;
    if (g->_error)
        return g->_error;
    return cancelled ? (timed_out ? -ETIMEDOUT : -ECANCELED) : 0;
}

int loom_taskgroup_join(struct loom_taskgroup *g)
{
    return loom_taskgroup_join_failures(g, NULL, 0, NULL);
}
