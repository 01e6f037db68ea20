/* future.c - futures and their done callbacks. */
#include "reactor/task_internal.h"

#include <errno.h>

void loom_future_init(struct loom_future *f)
{
    f->state = LOOM_FUTURE_PENDING;
    f->result = 0;
    loom_list_init(&f->_callbacks);
}

static void run_scheduled_callback(struct loom__ready *r)
{
    struct loom_future_callback *c = loom__container_of(r, struct loom_future_callback, _ready);
    c->cb(c->_future, c->arg);
}

static void fire(struct loom_future *f, struct loom_future_callback *c)
{
    struct loom_loop *loop = loom__tls_loop;
    if (c->_immediate || !loop) {
        c->cb(f, c->arg);
        return;
    }
    c->_ready.run = run_scheduled_callback;
    loom__ready_push(loop, &c->_ready);
}

/* The callbacks are taken off f first: one called at once may free f. */
static void complete(struct loom_future *f, enum loom_future_state state, intptr_t result)
{
    f->state = state;
    f->result = result;
    struct loom_list pending, *n;
    loom_list_init(&pending);
    loom_list_splice(&pending, &f->_callbacks);
    while ((n = loom_list_pop_front(&pending)))
        fire(f, loom_list_entry(n, struct loom_future_callback, _node));
}

int loom_future_set_result(struct loom_future *f, intptr_t result)
{
    if (f->state != LOOM_FUTURE_PENDING)
        return -EINVAL;
    complete(f, LOOM_FUTURE_DONE, result);
    return 0;
}

bool loom_future_cancel(struct loom_future *f)
{
    if (f->state != LOOM_FUTURE_PENDING)
        return false;
    complete(f, LOOM_FUTURE_CANCELLED, -ECANCELED);
    return true;
}

bool loom_future_done(const struct loom_future *f) { return f->state != LOOM_FUTURE_PENDING; }
bool loom_future_cancelled(const struct loom_future *f)
{
    return f->state == LOOM_FUTURE_CANCELLED;
}

intptr_t loom_future_result(const struct loom_future *f)
{
    return f->state == LOOM_FUTURE_PENDING ? -EAGAIN : f->result;
}

static void add(struct loom_future *f, struct loom_future_callback *c, loom_future_cb cb, void *arg,
                bool immediate)
{
    c->cb = cb;
    c->arg = arg;
    c->_immediate = immediate;
    c->_future = f;
    loom_list_init(&c->_node);
    loom_list_init(&c->_ready.node);
    if (f->state != LOOM_FUTURE_PENDING)
        fire(f, c);
    else
        loom_list_push_back(&f->_callbacks, &c->_node);
}

void loom_future_add_done_callback(struct loom_future *f, struct loom_future_callback *cbn,
                                   loom_future_cb cb, void *arg)
{
    add(f, cbn, cb, arg, false);
}

void loom__future_on_done(struct loom_future *f, struct loom_future_callback *cbn,
                          loom_future_cb cb, void *arg)
{
    add(f, cbn, cb, arg, true);
}

bool loom_future_remove_done_callback(struct loom_future_callback *cbn)
{
    if (loom_list_linked(&cbn->_node)) {
        loom_list_remove(&cbn->_node);
        return true;
    }
    if (loom_list_linked(&cbn->_ready.node)) { /* scheduled but not run yet */
        loom_list_remove(&cbn->_ready.node);
        return true;
    }
    return false;
}

static void wake_awaiter(struct loom_future *f, void *arg)
{
    (void)f;
    loom_wake(arg, 0);
}

intptr_t loom_future_await(struct loom_future *f, int64_t timeout_ns)
{
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    if (f->state != LOOM_FUTURE_PENDING)
        return f->result;
    struct loom_future_callback cb;
    loom__future_on_done(f, &cb, wake_awaiter, self);
    int64_t deadline = loom_deadline(self->loop, timeout_ns);
    int rc = 0;
    self->awaiting = f;
    while (f->state == LOOM_FUTURE_PENDING && rc == 0)
        rc = loom_park(self, deadline);
    self->awaiting = NULL;
    loom_future_remove_done_callback(&cb);
    if (rc == -ECANCELED) {
        loom_future_cancel(f);
        return -ECANCELED;
    }
    return f->state == LOOM_FUTURE_PENDING ? rc : f->result;
}
