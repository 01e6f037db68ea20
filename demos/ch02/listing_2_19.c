/* listing_2_19.c - CPU work starves a sleeping task (listing 2.19).
 *
 * As 2.18 plus a delay(4) task spawned after the two counters. The loop runs
 * tasks in the order they became ready and a counter never yields, so the
 * sleep cannot even start until both counters finished: the total is the two
 * CPU jobs plus 4 s, not max(CPU, 4 s). */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_19\n"
    "Two timed CPU-bound tasks (about 3.9 s each) and a timed delay(4) task (scaled):\n"
    "the sleep starts only after both counters, so main takes 2 x CPU + 4 s.\n";

static intptr_t count(void *n) { return demo_count_to((long)(intptr_t)n); }

static intptr_t cpu_bound_work(void *arg)
{
    return demo_timed("cpu_bound_work", "() {}", count, (void *)(intptr_t)demo_cpu_count(3.9));
}

static intptr_t timed_delay(void *seconds)
{
    return demo_timed("delay", "(4,) {}", demo_delay_task, seconds);
}

static intptr_t main_body(void *arg)
{
    struct loom_task *task_one = loom_spawn(cpu_bound_work, NULL, NULL);
    struct loom_task *task_two = loom_spawn(cpu_bound_work, NULL, NULL);
    struct loom_task *delay_task = loom_spawn(timed_delay, (void *)4, NULL);
    if (!task_one || !task_two || !delay_task)
        return -ENOMEM;
    intptr_t r1 = loom_task_join(task_one);
    intptr_t r2 = loom_task_join(task_two);
    intptr_t r3 = loom_task_join(delay_task);
    return r1 < 0 ? r1 : r2 < 0 ? r2 : r3 < 0 ? r3 : 0;
}

static intptr_t main_task(void *arg) { return demo_timed("main", "() {}", main_body, NULL); }

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
