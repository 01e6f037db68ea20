/* task.c - stackful tasks: spawn, the scheduler step, park/wake, cancel, join,
 * sleep, context variables, and loom_run.
 *
 * A task that suspends switches straight to the next task step of the run
 * phase when there is one (direct hand-off: one switch instead of two through
 * the scheduler); otherwise to the scheduler (the context that called
 * loom_loop_run), which runs the next entry, a callback, or the next iteration.
 * The order is the FIFO's either way: the hand-off takes only what the
 * scheduler would have run next. */
#include "reactor/task_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* GCC's SLP vectorizer pairs the two pointer stores of a list operation into
 * one 16-byte store, and the next operation on the node (the ready queue's
 * head, pushed to at every wake) loads one half as 8 bytes - likely a store
 * that cannot be forwarded: a switch measured 0.3-0.7 ns slower with it.
 * Functions start on a cache line: where the hot ones fell otherwise moved a
 * park/wake switch by up to 1.6 ns between builds whose code was the same. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-slp-vectorize", "align-functions=64")
#endif

#ifdef LOOM_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef LOOM_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
#endif

/* --- C++: per-task exception state, found at run time ---
 *
 * __cxa_get_globals (libstdc++, libc++abi) returns the thread's exception
 * state: the stack of caught exceptions (what `throw;` rethrows) and the count
 * of uncaught ones. Tasks share a thread, so each keeps its own copy, swapped
 * at every switch. The references are weak: a C program links no C++ runtime,
 * loop->eh stays NULL and a switch pays one predictable branch. */
extern struct loom__eh_globals *__cxa_get_globals(void) __attribute__((weak));
/* std::set_terminate(void (*)()) */
extern void (*_ZSt13set_terminatePFvvE(void (*)(void)))(void) __attribute__((weak));

static void (*prev_terminate)(void);

/* An exception escaping a task body finds no handler on the task's stack, so
 * the runtime calls std::terminate: say which task before the runtime's own
 * message (the exception's type and what()) and the abort. */
static void on_terminate(void)
{
    struct loom_loop *loop = loom__tls_loop;
    struct loom_task *t = loop ? loop->current : NULL;
    if (t)
        fprintf(stderr, "loom: task \"%s\" ended with an uncaught C++ exception\n", t->name);
    if (prev_terminate)
        prev_terminate();
    abort();
}

static void set_terminate_once(void) { prev_terminate = _ZSt13set_terminatePFvvE(on_terminate); }

struct loom__eh_globals *loom__eh_globals(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (!__cxa_get_globals)
        return NULL;
    if (_ZSt13set_terminatePFvvE)
        pthread_once(&once, set_terminate_once);
    return __cxa_get_globals();
}

static inline void eh_swap(struct loom__eh_globals *g, struct loom__eh_state *save,
                           const struct loom__eh_state *load)
{
    save->caught = g->caught;
    save->uncaught = g->uncaught;
    g->caught = load->caught;
    g->uncaught = load->uncaught;
}

/* loom_task_current and loom_wake, inlined where task.c uses them (the public
 * symbols can be interposed, so the compiler calls them). */
static inline struct loom_task *task_current(void)
{
    struct loom_loop *loop = loom__tls_loop;
    return loop ? loop->current : NULL;
}

static inline void wake(struct loom_task *t, int code)
{
    if (t->state != LOOM__TASK_PARKED)
        return;
    t->state = LOOM__TASK_READY;
    t->wake_code = code;
    loom__ready_push(t->loop, &t->ready);
}

/* --- switching, with the sanitizers told about every stack change --- */

static void switch_in(struct loom_loop *loop, struct loom_task *t)
{
    if (__builtin_expect(loop->eh != NULL, 0))
        eh_swap(loop->eh, &loop->sched_eh, &t->eh);
#ifdef LOOM_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, t->stack->lo, t->stack->size);
#endif
#ifdef LOOM_TSAN
    loop->sched_fiber = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(t->tsan_fiber, 0);
#endif
    loom__ctx_switch(&loop->sched_ctx, &t->ctx);
#ifdef LOOM_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
}

static void switch_out(struct loom_task *t, bool final)
{
    struct loom_loop *loop = t->loop;
    if (__builtin_expect(loop->eh != NULL, 0))
        eh_swap(loop->eh, &t->eh, &loop->sched_eh);
#ifdef LOOM_ASAN
    __sanitizer_start_switch_fiber(final ? NULL : &t->asan_fake_stack, loop->sched_stack,
                                   loop->sched_stack_size);
#else
    (void) final;
#endif
#ifdef LOOM_TSAN
    __tsan_switch_to_fiber(loop->sched_fiber, 0);
#endif
    loom__ctx_switch(&t->ctx, &loop->sched_ctx);
#ifdef LOOM_ASAN
    __sanitizer_finish_switch_fiber(t->asan_fake_stack, &loop->sched_stack,
                                    &loop->sched_stack_size);
#endif
}

/* --- records --- */

/* Tasks start on a cache line, so the first line of struct loom_task is one
 * line (task_internal.h). aligned_alloc wants a multiple of the alignment. */
#define TASK_ALIGN 64
#define TASK_ALLOC_SIZE ((sizeof(struct loom_task) + TASK_ALIGN - 1) & ~(size_t)(TASK_ALIGN - 1))

static void task_free(struct loom_task *t)
{
    struct loom_loop *loop = t->loop;
    loom__context_release(t->context);
#ifdef LOOM_TSAN
    __tsan_destroy_fiber(t->tsan_fiber);
#endif
    if (!loop) { /* a handle that outlived its loop */
        free(t);
        return;
    }
    loom_list_remove(&t->all_node);
    if (loop->nfree_tasks < 4096) {
        loom_list_push_front(&loop->free_tasks, &t->all_node);
        loop->nfree_tasks++;
    } else {
        free(t);
    }
}

/* A failure nobody retrieved goes to the loop's exception handler, once. */
static void report_unretrieved(struct loom_task *t)
{
    if (t->state != LOOM__TASK_DONE || t->joined || !loom__is_failure(t->fut.result))
        return;
    t->joined = true;
    struct loom_error_context ctx = {
        .message = "Task exception was never retrieved", .error = (int)t->fut.result, .task = t};
    loom_loop_call_exception_handler(t->loop, &ctx);
}

static void task_unref(struct loom_task *t)
{
    if (t->refs == 1 && t->loop)
        report_unretrieved(t); /* the last handle goes (t still valid for the handler) */
    if (--t->refs == 0)
        task_free(t);
}

struct loom_task *loom_task_ref(struct loom_task *t)
{
    t->refs++;
    return t;
}

void loom_task_release(struct loom_task *t)
{
    if (t)
        task_unref(t);
}

/* A finished task's stack goes back to the pool and the loop's reference
 * goes: once some other stack runs. */
static void task_reap(struct loom_task *t)
{
    loom__stack_put(t->loop, t->stack);
    t->stack = NULL;
    task_unref(t); /* the loop's reference */
}

/* Run after every switch back into a task: a finished task that handed off
 * to this one is reaped here. */
static inline void reap_pending(struct loom_loop *loop)
{
    struct loom_task *t = loop->reap;
    if (__builtin_expect(t != NULL, 0)) {
        loop->reap = NULL;
        task_reap(t);
    }
}

/* --- the scheduler side --- */

static void task_entry(void *p);
static void task_step(struct loom__ready *r);

/* The task the scheduler would run next, taken off the batch, if that is a
 * task step and the switch can go straight to it; else NULL. An empty batch
 * is refilled by the next iteration when that runs no callback (loop.c). Off
 * in debug mode (step timing) and under the sanitizers (fiber bookkeeping is
 * task <-> scheduler). */
static inline __attribute__((always_inline)) struct loom_task *next_step(struct loom_loop *loop)
{
#if defined(LOOM_ASAN) || defined(LOOM_TSAN)
    (void)loop;
    return NULL;
#else
    struct loom_list *batch = &loop->ready_batch, *ready = &loop->ready;
    struct loom_list *n = batch->next;
    if (n != batch) {
        if (loop->debug)
            return NULL;
    } else if ((n = ready->next) == ready) {
        return NULL; /* nothing ready: the scheduler polls */
    } else if (loom__boundary_quick(loop)) {
        /* The only thing ready and a task step (a ping-pong): taken straight
         * off the ready queue, which is what the splice into the batch and
         * the pop below would leave. */
        if (n->next == ready && loom_list_entry(n, struct loom__ready, node)->run == task_step) {
            loom_list_init(ready);
            loom_list_init(n);
            return loom__container_of(n, struct loom_task, ready.node);
        }
        loom_list_splice(batch, ready);
        n = batch->next;
    } else if (loom__iterate_inline(loop)) {
        n = batch->next;
    } else {
        return NULL;
    }
    struct loom__ready *r = loom_list_entry(n, struct loom__ready, node);
    if (r->run != task_step)
        return NULL;
    loom_list_remove(n);
    return loom__container_of(r, struct loom_task, ready);
#endif
}

/* Leave the CPU: t is parked, queued or (final) finished. Hands off to the
 * next task step when there is one, else switches to the scheduler. A finished
 * task whose failure nobody retrieved goes through the scheduler, so the
 * exception handler runs outside any task as before. */
/* Inlined into its callers: every call level between a task's suspension and
 * its body is a return the predictor misses after a hand-off between tasks
 * suspended at different places (a finished task -> its joiner). */
static inline __attribute__((always_inline)) void suspend(struct loom_task *t, bool final)
{
    struct loom_loop *loop = t->loop;
    struct loom_task *next = NULL;
    if (!final || !loom__is_failure(t->fut.result) || t->joined)
        next = next_step(loop);
    if (!next) {
        switch_out(t, final);
    } else if (next == t) { /* t yielded and is the only thing to run */
        t->state = LOOM__TASK_RUNNING;
        return;
    } else {
        loop->current = next;
        next->state = LOOM__TASK_RUNNING;
        if (final)
            loop->reap = t;
        if (__builtin_expect(loop->eh != NULL, 0))
            eh_swap(loop->eh, &t->eh, &next->eh);
        loom__ctx_handoff(&t->ctx, &next->ctx);
    }
    reap_pending(loop);
}

static void task_step(struct loom__ready *r)
{
    struct loom_task *t = loom__container_of(r, struct loom_task, ready);
    struct loom_loop *loop = t->loop;
    int64_t t0 = loop->debug ? loom__clock_ns() : 0;
    loop->current = t;
    t->state = LOOM__TASK_RUNNING;
    switch_in(loop, t);
    /* After hand-offs the task switching back may be another one, and t may be
     * gone: only the one that came back (current) is looked at. */
    struct loom_task *back = loop->current;
    loop->current = NULL;
    if (loop->debug && t0) { /* t0: debug was on already when the step began */
        int64_t dt = loom__clock_ns() - t0;
        if (dt > loop->slow_ns)
            loom__log(loop, "Executing <Task name='%s'> took %.3f seconds", back->name, dt / 1e9);
    }
    if (back->state == LOOM__TASK_DONE)
        task_reap(back);
}

static void park_timeout(struct loom_timer *timer) { wake(timer->data, -ETIMEDOUT); }

/* Run t's first step now. From a task: t, then the caller, go to the front
 * of what runs next (the batch being run), and the caller suspends without
 * parking, handing off to t. From a callback we are on the scheduler's stack
 * already: step t here. */
static void eager_start(struct loom_loop *loop, struct loom_task *t)
{
    struct loom_task *self = loop->current;
    loom_list_remove(&t->ready.node);
    if (!self) {
        task_step(&t->ready);
        return;
    }
    self->state = LOOM__TASK_READY;
    loom_list_push_front(&loop->ready_batch, &self->ready.node);
    loom_list_push_front(&loop->ready_batch, &t->ready.node);
    suspend(self, false);
}

int loom_task_spawn(struct loom_loop *loop, loom_task_fn fn, void *arg,
                    const struct loom_task_options *opt, struct loom_task **out)
{
    if ((!loop && !(loop = loom__tls_loop)) || !fn)
        return -EINVAL;
    struct loom_task *t;
    struct loom_list *n = loom_list_pop_front(&loop->free_tasks);
    if (n) {
        loop->nfree_tasks--;
        t = loom_list_entry(n, struct loom_task, all_node);
    } else if (!(t = aligned_alloc(TASK_ALIGN, TASK_ALLOC_SIZE))) {
        return -ENOMEM;
    }
    int rc = loom__stack_get(loop, opt ? opt->stack_size : 0, &t->stack);
    if (rc < 0) {
        free(t);
        return rc;
    }
    loom_future_init(&t->fut);
    t->loop = loop;
    t->fn = fn;
    t->arg = arg;
    t->state = LOOM__TASK_READY;
    t->wake_code = 0;
    t->cancel_pending = t->joined = false;
    t->cancels = t->cancelling = 0;
    t->has_cancel_msg = false;
    t->awaiting = NULL;
    t->refs = out ? 2 : 1;
    t->id = ++loop->next_task_id;
    t->group = NULL;
    t->scope = NULL;
    t->scope_deadline = -1;
    t->asan_fake_stack = NULL;
    t->eh.caught = NULL;
    t->eh.uncaught = 0;
    loom_list_init(&t->group_node);
    loom_timer_init(loop, &t->timer, park_timeout);
    t->timer.data = t;
    struct loom_task *parent = loop->current;
    t->context = parent ? parent->context : loop->root_ctx;
    loom__context_ref(t->context);
    if (opt && opt->name) {
        size_t len = strnlen(opt->name, sizeof(t->name) - 1);
        memcpy(t->name, opt->name, len);
        t->name[len] = 0;
    } else {
        char d[24];
        int k = 0;
        uint64_t v = t->id;
        do
            d[k++] = (char)('0' + v % 10);
        while ((v /= 10));
        memcpy(t->name, "Task-", 5);
        for (int i = 0; i < k; i++)
            t->name[5 + i] = d[k - 1 - i];
        t->name[5 + k] = 0;
    }
#ifdef LOOM_TSAN
    t->tsan_fiber = __tsan_create_fiber(0);
#endif
    loom__ctx_make(&t->ctx, t->stack->lo, t->stack->size, task_entry, t);
    loom_list_push_back(&loop->tasks, &t->all_node);
    loop->ntasks_live++;
    t->ready.run = task_step;
    loom__ready_push(loop, &t->ready);
    if (out)
        *out = t;
    if (opt && opt->eager && loop->running && loop == loom__tls_loop)
        eager_start(loop, t);
    return 0;
}

struct loom_task *loom_spawn(loom_task_fn fn, void *arg, const char *name)
{
    struct loom_task_options opt = {.name = name};
    struct loom_task *t = NULL;
    return loom_task_spawn(NULL, fn, arg, &opt, &t) == 0 ? t : NULL;
}

/* --- the task side --- */

static void task_entry(void *p)
{
    struct loom_task *t = p;
    struct loom_loop *loop = t->loop;
#ifdef LOOM_ASAN
    __sanitizer_finish_switch_fiber(NULL, &loop->sched_stack, &loop->sched_stack_size);
#endif
    reap_pending(loop);
    intptr_t result;
    if (t->cancel_pending) { /* cancelled before it ever ran */
        t->cancel_pending = false;
        result = -ECANCELED;
    } else {
        result = t->fn(t->arg);
    }
    t->state = LOOM__TASK_DONE;
    loop->ntasks_live--;
    if (!loom_list_empty(&t->fut._callbacks))
        t->joined = true; /* a done callback waiting on t gets the result */
    loom_future_set_result(&t->fut, result);
    suspend(t, true);
    __builtin_unreachable();
}

struct loom_task *loom_task_current(void) { return task_current(); }

struct loom_loop *loom_task_loop(const struct loom_task *t) { return t->loop; }

static int resume_code(struct loom_task *t)
{
    int code = t->wake_code;
    if (t->cancel_pending) {
        t->cancel_pending = false;
        code = -ECANCELED;
    }
    return code;
}

static inline __attribute__((always_inline)) int park(struct loom_task *t, int64_t deadline)
{
    if (t->cancel_pending) {
        t->cancel_pending = false;
        return -ECANCELED;
    }
    if (deadline >= 0) {
        int rc = loom_timer_start_at(&t->timer, deadline);
        if (rc < 0)
            return rc;
    }
    t->state = LOOM__TASK_PARKED;
    t->wake_code = 0;
    suspend(t, false);
    if (deadline >= 0)
        loom_timer_stop(&t->timer);
    return resume_code(t);
}

int loom__park_unscoped(struct loom_task *t, int64_t deadline) { return park(t, deadline); }

/* --- deadline scopes (asyncio.timeout) --- */

/* Every scope whose deadline has passed has expired. */
static void scopes_expire(struct loom_task *t)
{
    int64_t now = loom_loop_now(t->loop);
    for (struct loom_timeout *s = t->scope; s; s = s->_outer)
        if (s->_deadline >= 0 && s->_deadline <= now)
            s->_expired = true;
}

/* The earliest deadline of the scopes from s outwards. */
static int64_t scopes_earliest(const struct loom_timeout *s)
{
    int64_t d = -1;
    for (; s; s = s->_outer)
        if (s->_deadline >= 0 && (d < 0 || s->_deadline < d))
            d = s->_deadline;
    return d;
}

int loom_park_unscoped(struct loom_task *t, int64_t deadline)
{
    return loom__park_unscoped(t, deadline);
}

int loom_park(struct loom_task *t, int64_t deadline)
{
    int64_t sd = t->scope_deadline;
    if (sd < 0 || (deadline >= 0 && deadline < sd))
        return park(t, deadline);
    if (sd <= loom_loop_now(t->loop) && !t->cancel_pending) {
        scopes_expire(t); /* passed already: every wait in the scope fails at once */
        return -ETIMEDOUT;
    }
    int rc = loom__park_unscoped(t, sd);
    if (rc == -ETIMEDOUT)
        scopes_expire(t);
    return rc;
}

static int timeout_enter(struct loom_timeout *s, int64_t deadline)
{
    struct loom_task *t = task_current();
    if (!t)
        return -EPERM;
    *s = (struct loom_timeout){
        ._deadline = deadline < 0 ? -1 : deadline, ._outer = t->scope, ._task = t};
    t->scope = s;
    t->scope_deadline = scopes_earliest(s);
    return 0;
}

int loom_timeout_enter(struct loom_timeout *s, int64_t timeout_ns)
{
    struct loom_task *t = task_current();
    return timeout_enter(s, t ? loom_deadline(t->loop, timeout_ns) : -1);
}

int loom_timeout_enter_at(struct loom_timeout *s, int64_t deadline)
{
    return timeout_enter(s, deadline);
}

void loom_timeout_reschedule(struct loom_timeout *s, int64_t deadline)
{
    s->_deadline = deadline < 0 ? -1 : deadline;
    s->_task->scope_deadline = scopes_earliest(s->_task->scope);
}

int64_t loom_timeout_when(const struct loom_timeout *s) { return s->_deadline; }

bool loom_timeout_expired(const struct loom_timeout *s) { return s->_expired; }

bool loom_timeout_exit(struct loom_timeout *s)
{
    struct loom_task *t = s->_task;
    /* Scopes leave in LIFO order; leaving an outer one drops the inner ones too. */
    t->scope = s->_outer;
    t->scope_deadline = scopes_earliest(t->scope);
    return s->_expired;
}

void loom_wake(struct loom_task *t, int code) { wake(t, code); }

/* Relative timeouts start from the real current time, not the time cached at
 * the top of the iteration: a task that computed for a second before sleeping
 * must still sleep the full amount (asyncio reads loop.time() afresh too). One
 * vDSO clock read per timed wait; waits without a timeout skip it. */
int64_t loom_deadline(struct loom_loop *loop, int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return -1;
    loom_loop_update_time(loop);
    return loom__time_add(loop->now, timeout_ns);
}

int loom_yield(void)
{
    struct loom_task *t = task_current();
    if (!t)
        return -EPERM;
    if (t->cancel_pending) {
        t->cancel_pending = false;
        return -ECANCELED;
    }
    t->state = LOOM__TASK_READY; /* to the back of the ready queue */
    t->wake_code = 0;
    loom__ready_push(t->loop, &t->ready);
    suspend(t, false);
    return resume_code(t);
}

int loom_sleep(int64_t ns)
{
    struct loom_task *t = task_current();
    if (!t)
        return -EPERM;
    if (ns <= 0)
        return loom_yield();
    int64_t until = loom_deadline(t->loop, ns);
    int rc = loom_park(t, until);
    if (rc == -ETIMEDOUT && loom__scope_cut(t, until))
        return rc; /* a deadline scope ended the sleep early */
    return rc == -ETIMEDOUT ? 0 : rc;
}

bool loom_task_cancel(struct loom_task *t) { return loom_task_cancel_msg(t, NULL); }

bool loom_task_cancel_msg(struct loom_task *t, const char *msg)
{
    if (t->state == LOOM__TASK_DONE)
        return false;
    t->cancels++;
    t->cancelling++;
    t->has_cancel_msg = msg != NULL;
    if (msg)
        snprintf(t->cancel_msg, sizeof(t->cancel_msg), "%s", msg);
    /* As asyncio: the future t awaits is cancelled now, so its callbacks run
     * before t resumes; t's await then returns its -ECANCELED. */
    if (t->state == LOOM__TASK_PARKED && t->awaiting && loom_future_cancel(t->awaiting))
        return true;
    if (t->state == LOOM__TASK_PARKED)
        wake(t, -ECANCELED);
    else
        t->cancel_pending = true;
    return true;
}

const char *loom_task_cancel_message(const struct loom_task *t)
{
    return t->has_cancel_msg ? t->cancel_msg : NULL;
}

unsigned loom_task_cancelling(const struct loom_task *t) { return t->cancelling; }

unsigned loom_task_uncancel(struct loom_task *t)
{
    if (t->cancelling > 0)
        t->cancelling--;
    return t->cancelling;
}

/* --- waiting for a task --- */

static void wake_waiter(struct loom_future *f, void *arg)
{
    (void)f;
    wake(arg, 0);
}

static int park_until_done(struct loom_task *self, struct loom_task *t, int64_t deadline,
                           int (*park)(struct loom_task *, int64_t))
{
    if (t->state == LOOM__TASK_DONE)
        return 0;
    struct loom_future_callback cb;
    loom__future_on_done(&t->fut, &cb, wake_waiter, self);
    int rc = 0;
    while (t->state != LOOM__TASK_DONE && rc == 0)
        rc = park(self, deadline);
    loom_future_remove_done_callback(&cb);
    return t->state == LOOM__TASK_DONE && rc != -ECANCELED ? 0 : rc;
}

int loom__park_done_unscoped(struct loom_task *self, struct loom_task *t)
{
    return park_until_done(self, t, -1, loom__park_unscoped);
}

int loom_park_until_done(struct loom_task *self, struct loom_task *t, int64_t deadline)
{
    return park_until_done(self, t, deadline, loom_park);
}

intptr_t loom_task_join(struct loom_task *t)
{
    struct loom_task *self = task_current();
    if (!self)
        return -EPERM;
    int rc = loom_park_until_done(self, t, -1);
    if (rc == -ECANCELED || rc == -ETIMEDOUT) { /* cancelled, or a deadline scope passed */
        loom_task_cancel(t);               /* asyncio: cancelling an await cancels what it awaits */
        loom__park_done_unscoped(self, t); /* a second cancel abandons the wait */
        task_unref(t);
        return rc;
    }
    intptr_t result = t->fut.result;
    t->joined = true;
    task_unref(t);
    return result;
}

bool loom_task_done(const struct loom_task *t) { return t->state == LOOM__TASK_DONE; }

bool loom_task_cancelled(const struct loom_task *t)
{
    return t->state == LOOM__TASK_DONE && t->fut.result == -ECANCELED;
}

intptr_t loom_task_result(const struct loom_task *t)
{
    if (t->state != LOOM__TASK_DONE)
        return -EAGAIN;
    ((struct loom_task *)t)->joined = true;
    return t->fut.result;
}

const char *loom_task_name(const struct loom_task *t) { return t->name; }

void loom_task_set_name(struct loom_task *t, const char *name)
{
    snprintf(t->name, sizeof(t->name), "%s", name ? name : "");
}

struct loom_future *loom_task_future(struct loom_task *t) { return &t->fut; }

/* --- introspection --- */

static const char *state_name(const struct loom_task *t)
{
    static const char *const names[] = {"ready", "running", "parked", "done"};
    if (t->state == LOOM__TASK_DONE && t->fut.result == -ECANCELED)
        return "cancelled";
    return names[t->state];
}

size_t loom_task_all(struct loom_loop *loop, struct loom_task **out, size_t max)
{
    size_t n = 0;
    struct loom_list *it;
    loom_list_foreach(it, &loop->tasks)
    {
        struct loom_task *t = loom_list_entry(it, struct loom_task, all_node);
        if (t->state == LOOM__TASK_DONE)
            continue;
        if (n < max)
            out[n] = t;
        n++;
    }
    return n;
}

void loom__tasks_dump(struct loom_loop *loop, FILE *f)
{
    struct loom_list *it;
    loom_list_foreach(it, &loop->tasks)
    {
        struct loom_task *t = loom_list_entry(it, struct loom_task, all_node);
        fprintf(f, "  <Task %s name='%s'", state_name(t), t->name);
        if (t->state == LOOM__TASK_DONE)
            fprintf(f, " result=%ld", (long)t->fut.result);
        if (t->cancel_pending)
            fprintf(f, " cancelling");
        fprintf(f, ">\n");
    }
}

void loom_task_dump_all(struct loom_loop *loop, FILE *f)
{
    if (!loop && !(loop = loom__tls_loop))
        return;
    loom__tasks_dump(loop, f);
}

/* At loom_loop_free: failures still held by a handle and never retrieved go
 * to the exception handler (the last moment the loop exists); in debug mode
 * unretrieved results and pending tasks are logged too. */
void loom__tasks_report(struct loom_loop *loop)
{
    struct loom_list *it;
    loom_list_foreach(it, &loop->tasks)
    {
        struct loom_task *t = loom_list_entry(it, struct loom_task, all_node);
        report_unretrieved(t);
        if (!loop->debug)
            continue;
        if (t->state != LOOM__TASK_DONE)
            loom__log(loop, "Task was destroyed but it is pending: <Task %s name='%s'>",
                      state_name(t), t->name);
        else if (!t->joined)
            loom__log(loop, "Task result was never retrieved: <Task %s name='%s' result=%ld>",
                      state_name(t), t->name, (long)t->fut.result);
    }
}

/* Every task left is finished and held by a handle (the loop's own reference
 * went when it finished): orphan it, so the handle stays valid and its release
 * frees it. */
void loom__tasks_free(struct loom_loop *loop)
{
    struct loom_list *n;
    while ((n = loom_list_pop_front(&loop->tasks))) {
        struct loom_task *t = loom_list_entry(n, struct loom_task, all_node);
        t->loop = NULL;
    }
    while ((n = loom_list_pop_front(&loop->free_tasks)))
        free(loom_list_entry(n, struct loom_task, all_node));
    loom__context_release(loop->root_ctx);
    loop->root_ctx = NULL;
}
