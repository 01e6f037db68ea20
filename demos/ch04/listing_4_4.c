/* listing_4_4.c - awaiting each task right after creating it (listing 4.4).
 *
 * A task starts running only when the creator suspends; awaiting it at once
 * means the next one is not even created until it finishes. The three delays
 * (3, 2 and 1 s) run one after the other: about 6 s in all. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_4_4\n"
    "Creates delay(3), delay(2), delay(1) tasks, awaiting each before creating the next:\n"
    "they run in sequence, main takes about 6 s (scaled).\n";

static intptr_t main_body(void *arg)
{
    static const int delay_times[] = {3, 2, 1};
    for (int i = 0; i < 3; i++) {
        struct loom_task *t = loom_spawn(demo_delay_task, (void *)(intptr_t)delay_times[i], NULL);
        DEMO_CHECK(t ? loom_task_join(t) : -ENOMEM); /* awaited right away: no concurrency */
    }
    return 0;
}

static intptr_t main_task(void *arg) { return demo_timed("main", "() {}", main_body, NULL); }

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
