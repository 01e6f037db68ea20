/* listing_11_14.c - a condition: wait, notify_all, one at a time (listing 11.14).
 *
 * Two workers wait on a Condition. Every 5 s a notifier takes the lock and
 * notifies all; each woken worker must take the lock back before it goes on,
 * so they do their 1 s of work one after the other. */
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_11_14 [--notifies N]\n"
    "Two workers wait on a condition; every 5 s (scaled) notify_all wakes them and they work\n"
    "1 s each, one at a time (they share the lock). Runs forever unless --notifies N is given.\n";

static struct loom_condition condition;
static double t0;

static intptr_t do_work(void *arg)
{
    for (;;) {
        printf("Waiting for condition lock...\n");
        int rc = loom_condition_acquire(&condition, -1);
        if (rc < 0)
            return rc;
        printf("Acquired lock, releasing and waiting for condition...\n");
        rc = loom_condition_wait(&condition, -1);
        if (rc == 0) {
            printf("[%.2f s] Condition event fired, re-acquiring lock and doing work...\n",
                   demo_now() - t0);
            rc = loom_sleep(demo_sec(1));
        }
        loom_condition_release(&condition);
        if (rc < 0)
            return rc;
        printf("Work finished, lock released.\n");
    }
}

static intptr_t fire_event(void *arg)
{
    long n = demo_arg_long("--notifies", -1);
    for (long i = 0; n < 0 || i < n; i++) {
        int rc = loom_sleep(demo_sec(5));
        if (rc < 0)
            return rc;
        printf("About to notify, acquiring condition lock...\n");
        if ((rc = loom_condition_acquire(&condition, -1)) < 0)
            return rc;
        printf("Lock acquired, notifying all workers.\n");
        loom_condition_notify_all(&condition);
        printf("Notification finished, releasing lock.\n");
        loom_condition_release(&condition);
    }
    /* Let the last notification's work finish before stopping. */
    int rc = loom_sleep(demo_sec(3));
    return rc;
}

static intptr_t main_task(void *arg)
{
    loom_condition_init(&condition, NULL);
    t0 = demo_now();
    struct loom_task *w[2] = {loom_spawn(do_work, NULL, NULL), loom_spawn(do_work, NULL, NULL)};
    DEMO_CHECK(loom_task_join(loom_spawn(fire_event, NULL, "fire_event")));
    for (int i = 0; i < 2; i++)
        loom_task_cancel(w[i]);
    loom_gather(w, 2, NULL, LOOM_GATHER_ALL);
    loom_condition_close(&condition);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
