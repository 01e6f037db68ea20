/* listing_2_18.c - CPU-bound work in coroutines (listing 2.18).
 *
 * A task that computes never suspends, so nothing else can run meanwhile: the
 * two counting tasks run one after the other and main takes their sum. The
 * count goes through a volatile so the compiler cannot fold the loop away. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_18\n"
    "Runs two timed CPU-bound counting tasks (about 3.9 s each at scale 1; --scale F\n"
    "shrinks the count): they run in turn and main takes the sum.\n";

static intptr_t count(void *n) { return demo_count_to((long)(intptr_t)n); }

static intptr_t cpu_bound_work(void *arg)
{
    return demo_timed("cpu_bound_work", "() {}", count, (void *)(intptr_t)demo_cpu_count(3.9));
}

static intptr_t main_body(void *arg)
{
    struct loom_task *task_one = loom_spawn(cpu_bound_work, NULL, NULL);
    struct loom_task *task_two = loom_spawn(cpu_bound_work, NULL, NULL);
    if (!task_one || !task_two)
        return -ENOMEM;
    intptr_t r1 = loom_task_join(task_one);
    intptr_t r2 = loom_task_join(task_two);
    return r1 < 0 ? r1 : r2 < 0 ? r2 : 0;
}

static intptr_t main_task(void *arg) { return demo_timed("main", "() {}", main_body, NULL); }

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
