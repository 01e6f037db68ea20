/* listing_11_13.c - events coalesce: work can be missed (listing 11.13).
 *
 * A trigger sets the event every second for 5 s (wait_for stops it); two
 * workers wait, clear it and work 5 s. Sets that happen while nobody waits
 * fold into one, so five triggers start work only twice. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_11_13\n"
    "The event is set every 1 s (scaled); wait_for ends the trigger at 5 s. Two workers take\n"
    "5 s per job: of 5 triggers only 2 start work. Ends at about 5 s.\n";

static struct loom_event event;
static int triggers, jobs;

static intptr_t trigger_event_periodically(void *arg)
{
    for (;;) {
        printf("Triggering event!\n");
        triggers++;
        loom_event_set(&event);
        int rc = loom_sleep(demo_sec(1));
        if (rc < 0)
            return rc;
    }
}

static intptr_t do_work_on_event(void *arg)
{
    for (;;) {
        printf("Waiting for event...\n");
        int rc = loom_event_wait(&event, -1);
        if (rc < 0)
            return rc;
        loom_event_clear(&event);
        printf("Performing work!\n");
        jobs++;
        if ((rc = loom_sleep(demo_sec(5))) < 0)
            return rc;
        printf("Finished work!\n");
    }
}

static intptr_t main_task(void *arg)
{
    loom_event_init(&event);
    double t0 = demo_now();
    struct loom_task *trigger = loom_spawn(trigger_event_periodically, NULL, "trigger");
    struct loom_task *w[2] = {loom_spawn(do_work_on_event, NULL, NULL),
                              loom_spawn(do_work_on_event, NULL, NULL)};
    intptr_t rc = loom_wait_for(trigger, demo_sec(5));
    /* asyncio.run cancels what is left once the TimeoutError escapes main. */
    for (int i = 0; i < 2; i++)
        loom_task_cancel(w[i]);
    loom_gather(w, 2, NULL, LOOM_GATHER_ALL);
    printf("%s after %.2f s: %d triggers, work started %d times\n",
           rc == -ETIMEDOUT ? "TimeoutError" : loom_errname((int)rc), demo_now() - t0, triggers,
           jobs);
    loom_event_close(&event);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
