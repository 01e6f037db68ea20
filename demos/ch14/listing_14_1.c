/* listing_14_1.c - a runner for coroutine functions, coroutines and plain functions
 * (listing 14.1).
 *
 * TaskRunner collects work of three kinds and runs it all on its own loop: a
 * coroutine function becomes a task, a "coroutine object" (a function already
 * bound to its argument) becomes a task, and a plain function is queued with
 * call_soon. Tasks and callbacks share one FIFO ready queue, so both tasks
 * start before the callback runs. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/loop.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_14_1\n"
    "Runs a coroutine function, a bound coroutine and a plain function through a\n"
    "TaskRunner: \"Running coroutine, sleeping!\" x2, \"Greetings from regular\n"
    "function!\", then \"Woke up!\" x2 after 1 s (scaled).\n";

enum kind { COROUTINE_FUNCTION, COROUTINE, REGULAR_FUNCTION };

struct work {
    enum kind kind;
    loom_task_fn coro;   /* the first two kinds */
    void *arg;           /* COROUTINE: its bound argument */
    loom_callback plain; /* REGULAR_FUNCTION */
};

struct task_runner {
    struct loom_loop *loop;
    struct work tasks[8];
    size_t n;
};

static int task_runner_init(struct task_runner *r)
{
    r->n = 0;
    return loom_loop_new(&r->loop, NULL);
}

static void task_runner_add(struct task_runner *r, struct work w)
{
    if (r->n < sizeof r->tasks / sizeof r->tasks[0])
        r->tasks[r->n++] = w;
}

static intptr_t run_all(void *arg)
{
    struct task_runner *r = arg;
    struct loom_task *awaitable_tasks[8];
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) {
        struct work *w = &r->tasks[i];
        if (w->kind == REGULAR_FUNCTION) {
            int rc = loom_call_soon(r->loop, w->plain, NULL);
            if (rc < 0)
                return rc;
            continue;
        }
        void *coro_arg = w->kind == COROUTINE ? w->arg : NULL;
        if (!(awaitable_tasks[n] = loom_spawn(w->coro, coro_arg, NULL)))
            return -ENOMEM;
        n++;
    }
    return loom_gather(awaitable_tasks, n, NULL, 0);
}

static int task_runner_run(struct task_runner *r)
{
    struct loom_task *t;
    int rc = loom_task_spawn(r->loop, run_all, r, NULL, &t);
    if (rc < 0)
        return rc;
    intptr_t result = loom_loop_run_until_complete(r->loop, t);
    rc = loom_loop_free(r->loop);
    return result < 0 ? (int)result : rc;
}

static void regular_function(void *arg) { printf("Greetings from regular function!\n"); }

static intptr_t coroutine_function(void *arg)
{
    printf("Running coroutine, sleeping!\n");
    int rc = loom_sleep(demo_sec(1));
    if (rc < 0)
        return rc;
    printf("Woke up!\n");
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct task_runner runner;
    DEMO_CHECK(task_runner_init(&runner));
    task_runner_add(&runner, (struct work){.kind = COROUTINE_FUNCTION, .coro = coroutine_function});
    task_runner_add(&runner, (struct work){.kind = COROUTINE, .coro = coroutine_function});
    task_runner_add(&runner, (struct work){.kind = REGULAR_FUNCTION, .plain = regular_function});
    DEMO_CHECK(task_runner_run(&runner));
    return 0;
}
