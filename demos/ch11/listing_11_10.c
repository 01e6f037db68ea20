/* listing_11_10.c - an event set from a timer callback (listing 11.10).
 *
 * Two tasks wait on one Event; a plain loop callback (call_later, no task)
 * sets it after 5 s. Both wake together, work 3 s, and finish at about 8 s. */
#include <stdio.h>

#include "demo.h"
#include "reactor/loop.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_11_10\n"
    "Two tasks wait for an event that call_later sets after 5 s (scaled); both print\n"
    "\"Working!\" at about 5 s, work 3 s, and finish at about 8 s.\n";

static struct loom_event event;
static double t0;

static void trigger_event(void *arg)
{
    printf("[%.2f s] Triggering event!\n", demo_now() - t0);
    loom_event_set(arg);
}

static intptr_t do_work_on_event(void *arg)
{
    printf("Waiting for event...\n");
    int rc = loom_event_wait(&event, -1);
    if (rc < 0)
        return rc;
    printf("[%.2f s] Working!\n", demo_now() - t0);
    rc = loom_sleep(demo_sec(3));
    printf("[%.2f s] Finished work!\n", demo_now() - t0);
    loom_event_clear(&event);
    return rc;
}

static intptr_t main_task(void *arg)
{
    loom_event_init(&event);
    t0 = demo_now();
    DEMO_CHECK(loom_call_later(loom_loop_current(), demo_sec(5), trigger_event, &event, NULL));
    struct loom_task *t[2] = {loom_spawn(do_work_on_event, NULL, NULL),
                              loom_spawn(do_work_on_event, NULL, NULL)};
    DEMO_CHECK(loom_gather(t, 2, NULL, 0));
    printf("Done in %.2f s\n", demo_now() - t0);
    loom_event_close(&event);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
