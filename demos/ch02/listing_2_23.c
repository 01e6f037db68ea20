/* listing_2_23.c - debug mode (listing 2.23).
 *
 * With debug on (here through the loop options; LOOM_DEBUG=1 does the same
 * for any program) the loop times every task step and logs "Executing
 * <Task name='...'> took N seconds" when one runs longer than slow_step_ns -
 * asyncio's slow_callback_duration, set to 0.25 s as in the book. The
 * CPU-bound task never yields, so its one step trips the warning. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/loop.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_23\n"
    "Runs a CPU-bound task (about 1 s at scale 1) in debug mode with a 0.25 s slow-step\n"
    "threshold (both scaled); the loop's log (stderr) names the slow task.\n";

static intptr_t count(void *n) { return demo_count_to((long)(intptr_t)n); }

static intptr_t cpu_bound_work(void *arg)
{
    return demo_timed("cpu_bound_work", "() {}", count, (void *)(intptr_t)demo_cpu_count(1));
}

static intptr_t main_task(void *arg)
{
    printf("debug mode: %s\n", loom_loop_debug(loom_loop_current()) ? "on" : "off");
    struct loom_task *task_one = loom_spawn(cpu_bound_work, NULL, "cpu_bound_work");
    if (!task_one)
        return -ENOMEM;
    intptr_t r = loom_task_join(task_one);
    return r < 0 ? r : 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct loom_loop_options opt = {
        .debug = 1,
        .slow_step_ns = demo_sec(0.25),
    };
    DEMO_CHECK(loom_run_with(&opt, main_task, NULL));
    return 0;
}
