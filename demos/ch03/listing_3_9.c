/* listing_3_9.c - a signal handler that cancels every task (listing 3.9).
 *
 * loom delivers signals on the loop (signalfd or a self-pipe), never inside a
 * real signal handler, so the callback may do anything: here it lists every
 * task still running and cancels them. main is sleeping in delay(10); the
 * cancellation lands in that sleep and main ends with -ECANCELED, which is
 * reported as Python's CancelledError. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_3_9\n"
    "Runs delay(10); on SIGINT (Ctrl-C) prints \"Got SIGINT!\" and \"Cancelling N tasks...\"\n"
    "and cancels every task, so main ends cancelled (exit status 1, like the book's\n"
    "uncaught CancelledError). Without a signal it ends after 10 s (scaled).\n";

/* cancel_tasks(): runs as a loop callback, outside any task. */
static void cancel_tasks(struct loom_signal *sig, int signum)
{
    printf("Got SIGINT!\n");
    struct loom_task *tasks[64];
    size_t n = loom_task_all(loom_loop_current(), tasks, 64); /* asyncio.all_tasks() */
    printf("Cancelling %zu tasks...\n", n);
    for (size_t i = 0; i < n && i < 64; i++)
        loom_task_cancel(tasks[i]);
}

static intptr_t main_task(void *arg)
{
    struct loom_signal sig;
    loom_signal_init(loom_loop_current(), &sig, cancel_tasks);
    DEMO_CHECK(loom_signal_start(&sig, SIGINT)); /* loop.add_signal_handler */
    intptr_t rc = demo_delay(10);
    loom_signal_stop(&sig);
    return rc;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    intptr_t rc = loom_run(main_task, NULL);
    if (rc == -ECANCELED) {
        printf("main ended with CancelledError (%s)\n", loom_strerror((int)rc));
        return 1;
    }
    DEMO_CHECK(rc);
    printf("main finished: %ld\n", (long)rc);
    return 0;
}
