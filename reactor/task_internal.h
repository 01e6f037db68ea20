/* task_internal.h - what other loom modules need to build suspending calls.
 *
 * The pattern: try the operation; if it would block, link a wait record
 * somewhere, loom_park(), then unlink it and look at the code. A waker
 * calls loom_wake(); waking a task that is not parked does nothing, so
 * a wait record must say itself whether it was granted something (and hand it
 * back if the park ended in -ECANCELED or -ETIMEDOUT). */
#ifndef LOOM_REACTOR_TASK_INTERNAL_H
#define LOOM_REACTOR_TASK_INTERNAL_H

#include <errno.h>

#include "reactor/loop_internal.h"
#include "reactor/park.h"
#include "reactor/stack_internal.h"
#include "reactor/task.h"

enum loom__task_state {
    LOOM__TASK_READY, /* queued to run */
    LOOM__TASK_RUNNING,
    LOOM__TASK_PARKED, /* waiting for a wake */
    LOOM__TASK_DONE,
};

struct loom__context {
    int refs;
    size_t n;
    struct {
        const struct loom_ctxvar *var;
        void *value;
    } e[];
};

/* Laid out for the cache: the first line holds what a wake, a park and a
 * switch touch (task.c allocates tasks on a line boundary), the second what a
 * finish and a join touch; big and rarely used fields come last. At c=1000
 * every task is cold when its turn comes, and each line it touches is a miss. */
struct loom_task {
    /* line 0: wake, park, switch */
    struct loom__ready ready; /* on the loop's ready queue when READY */
    struct loom_loop *loop;
    int64_t scope_deadline; /* earliest deadline of the scopes (loop time), -1: none */
    enum loom__task_state state;
    int wake_code;        /* what park() returns */
    bool cancel_pending;  /* deliver -ECANCELED at the next suspension */
    bool joined;          /* someone collected the result (debug report) */
    bool has_cancel_msg;  /* the latest request carried cancel_msg */
    struct loom__ctx ctx; /* the asm switch's is one pointer */
    /* then finish, join, cancel */
    struct loom__eh_state eh;     /* C++ exception state while switched out */
    struct loom_future fut;       /* result and done callbacks */
    struct loom_future *awaiting; /* the future loom_future_await parks on, else NULL */
    struct loom__stack *stack;    /* NULL once finished */
    int refs;                     /* the loop's while unfinished, plus handles */
    unsigned cancels;             /* cancellation requests so far */
    unsigned cancelling;          /* requests not taken back by loom_task_uncancel */
    loom_task_fn fn;
    void *arg;
    struct loom_timeout *scope; /* innermost deadline scope, NULL: none */
    struct loom_timer timer;    /* park deadline */
    struct loom__context *context;
    uint64_t id;
    struct loom_list all_node; /* loop->tasks */
    struct loom_taskgroup *group;
    struct loom_list group_node;
    struct loom_future_callback group_cb;
    void *asan_fake_stack;
    void *tsan_fiber;
    char name[48];
    char cancel_msg[64]; /* loom_task_cancel_msg's message, copied */
};

/* A failure: a negative result other than a cancellation. */
static inline bool loom__is_failure(intptr_t r) { return r < 0 && r != -ECANCELED; }

/* loom_park without the task's deadline scopes: for waits that must finish
 * (cleanup after a cancel or a timeout), which a passed scope would cut short
 * for ever. */
int loom__park_unscoped(struct loom_task *t, int64_t deadline);
/* Whether a -ETIMEDOUT from loom_park(t, deadline) came from a deadline
 * scope rather than from deadline itself. */
static inline bool loom__scope_cut(const struct loom_task *t, int64_t deadline)
{
    return t->scope_deadline >= 0 && (deadline < 0 || t->scope_deadline < deadline);
}

/* loom_park_until_done(self, t, -1) without the deadline scopes. */
int loom__park_done_unscoped(struct loom_task *self, struct loom_task *t);

/* Internal done callback: run at completion (use only to wake tasks). */
void loom__future_on_done(struct loom_future *f, struct loom_future_callback *cbn,
                          loom_future_cb cb, void *arg);

#endif
