/* run.c - asyncio.run and run_until_complete. */
#include "reactor/task_internal.h"

#include <errno.h>

static void stop_loop(struct loom_future *f, void *arg)
{
    (void)f;
    loom_loop_stop(arg);
}

intptr_t loom_loop_run_until_complete(struct loom_loop *loop, struct loom_task *t)
{
    if (!loop || !t)
        return -EINVAL;
    struct loom_future_callback cb;
    loom__future_on_done(&t->fut, &cb, stop_loop, loop);
    int rc = 0;
    while (!loom_task_done(t) && rc >= 0) {
        rc = loom_loop_run(loop, LOOM_RUN_DEFAULT);
        if (rc == 0 && !loom_task_done(t))
            rc = LOOM_EDEADLOCK; /* nothing left that could finish t */
    }
    loom_future_remove_done_callback(&cb);
    if (!loom_task_done(t)) {
        loom_task_release(t);
        return rc;
    }
    intptr_t result = t->fut.result;
    t->joined = true;
    loom_task_release(t);
    return result;
}

/* Cancel the unfinished tasks with ids above *upto, once each. */
static void cancel_new(struct loom_loop *loop, uint64_t *upto)
{
    struct loom_list *it;
    loom_list_foreach(it, &loop->tasks)
    {
        struct loom_task *t = loom_list_entry(it, struct loom_task, all_node);
        if (t->state != LOOM__TASK_DONE && t->id > *upto)
            loom_task_cancel(t);
    }
    *upto = loop->next_task_id;
}

/* Cancel every unfinished task and run until they are gone (asyncio.run's
 * _cancel_all_tasks). Each task is cancelled once, so its cleanup may still
 * suspend; tasks that ignore it are cancelled again every iteration after a
 * grace period of loop time (or when they are stuck), at most 100 times. */
static void cancel_all(struct loom_loop *loop)
{
    uint64_t upto = 0;
    int64_t grace_end = loom__clock_ns() + LOOM_MS(500);
    for (int round = 0; loop->ntasks_live > 0 && round < 100;) {
        cancel_new(loop, &upto);
        int rc = loom_loop_run(loop, LOOM_RUN_ONCE);
        if (rc < 0)
            break;
        if (rc == 0 || loop->now >= grace_end) {
            upto = 0; /* stuck or past the grace period: cancel what is left again */
            round++;
        }
    }
}

intptr_t loom_run_with(const struct loom_loop_options *opt, loom_task_fn main, void *arg)
{
    if (!main)
        return -EINVAL;
    struct loom_loop *loop;
    int rc = loom_loop_new(&loop, opt);
    if (rc < 0)
        return rc;
    struct loom_task *t;
    struct loom_task_options topt = {.name = "main"};
    if ((rc = loom_task_spawn(loop, main, arg, &topt, &t)) < 0) {
        loom_loop_free(loop);
        return rc;
    }
    intptr_t result = loom_loop_run_until_complete(loop, t);
    cancel_all(loop);
    loom__executor_free_default(loop);
    /* Not only in debug mode: a leak the program cannot see otherwise. */
    if (loom_loop_free(loop) == -EBUSY)
        loom__report_open(loop, "loom_run: main returned with these still open; the loop is "
                                "leaked (close streams, servers and watchers before returning)");
    return result;
}

intptr_t loom_run(loom_task_fn main, void *arg) { return loom_run_with(NULL, main, arg); }
