/* listing_14_11.c - a task built on a future (listing 14.11).
 *
 * CustomTask is a CustomFuture that drives a coroutine. step() sends the
 * coroutine the last result; if the coroutine yields a future, the task adds
 * a done callback to it, and that callback (run when the future gets its
 * value) steps the coroutine again. When the coroutine returns, the task sets
 * its own result - which runs the task's done callback. The coroutine is a
 * stackless state machine; loom's reactor only supplies the timers that set
 * the futures. */
#include <stdbool.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/loop.h"

static const char usage[] =
    "usage: listing_14_11\n"
    "A CustomTask runs a coroutine awaiting two CustomFutures, set 1 s apart by loop\n"
    "timers (scaled); it resumes from each future's callback and finishes with their\n"
    "sum, announced by the task's own done callback.\n";

struct custom_future {
    bool is_finished;
    long result;
    void (*done_callback)(struct custom_future *f, void *arg);
    void *cb_arg;
};

static void custom_future_set_result(struct custom_future *f, long result)
{
    f->result = result;
    f->is_finished = true;
    if (f->done_callback)
        f->done_callback(f, f->cb_arg);
}

/* A coroutine step: returns a future to wait for, or NULL when done (*out = result). */
struct coroutine {
    int state;
    long first;
    struct custom_future waiting;
    struct loom_loop *loop;
};

static void set_after_timer(void *arg)
{
    struct custom_future *f = arg;
    printf("Loop: timer fired, setting the future to %ld\n", f->result);
    custom_future_set_result(f, f->result);
}

/* A future the loop resolves with value after seconds. */
static struct custom_future *sleep_value(struct coroutine *c, double seconds, long value)
{
    c->waiting = (struct custom_future){.result = value};
    DEMO_CHECK(loom_call_later(c->loop, demo_sec(seconds), set_after_timer, &c->waiting, NULL));
    return &c->waiting;
}

static struct custom_future *coroutine_send(struct coroutine *c, long sent, long *out)
{
    switch (c->state) {
    case 0:
        printf("Coroutine: awaiting the first future\n");
        c->state = 1;
        return sleep_value(c, 1, 40);
    case 1:
        c->first = sent;
        printf("Coroutine: got %ld, awaiting the second future\n", sent);
        c->state = 2;
        return sleep_value(c, 1, 2);
    default:
        printf("Coroutine: got %ld, returning %ld\n", sent, c->first + sent);
        *out = c->first + sent;
        return NULL;
    }
}

struct custom_task {
    struct custom_future future; /* a task is a future */
    struct coroutine *coro;
};

static void task_future_done(struct custom_future *f, void *arg);

static void custom_task_step(struct custom_task *t, long sent)
{
    long result = 0;
    struct custom_future *awaited = coroutine_send(t->coro, sent, &result);
    if (!awaited) {
        custom_future_set_result(&t->future, result); /* StopIteration */
        return;
    }
    printf("Task: coroutine yielded a future, adding a done callback\n");
    awaited->done_callback = task_future_done;
    awaited->cb_arg = t;
}

static void task_future_done(struct custom_future *f, void *arg)
{
    printf("Task: future done, stepping the coroutine with %ld\n", f->result);
    custom_task_step(arg, f->result);
}

static void first_step(void *arg) { custom_task_step(arg, 0); }

static void task_finished(struct custom_future *f, void *arg)
{
    printf("Task finished with result %ld\n", f->result);
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct loom_loop *loop;
    DEMO_CHECK(loom_loop_new(&loop, NULL));
    struct coroutine coro = {.loop = loop};
    struct custom_task task = {.future = {.done_callback = task_finished}, .coro = &coro};

    double start = demo_now();
    DEMO_CHECK(loom_call_soon(loop, first_step, &task)); /* register_task */
    DEMO_CHECK(loom_loop_run(loop, LOOM_RUN_DEFAULT));
    printf("Loop done in %.4f sec; task finished? %s\n", demo_now() - start,
           task.future.is_finished ? "True" : "False");
    DEMO_CHECK(loom_loop_free(loop));
    return 0;
}
