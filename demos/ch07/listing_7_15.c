/* listing_7_15.c - a loop in a background thread, a UI in the main thread (listing 7.15).
 *
 * The book starts an event loop with run_forever in a daemon thread and then
 * runs Tk's mainloop in the main thread; the UI hands coroutines to the loop
 * with run_coroutine_threadsafe. Here the main thread is a line-based UI: each
 * number typed starts a stress test of that many requests on the background
 * loop (listing 7.13) and waits for it while the loop does the I/O; "q" or end
 * of input stops the loop thread and exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/site.h"
#include "demo.h"
#include "stress.h"

static const char usage[] =
    "usage: listing_7_15\n"
    "Runs a loop forever in a background thread. Each line read from stdin with a number N runs\n"
    "N requests against a local server (50 ms per answer, scaled) on that loop; prints when\n"
    "each finishes. q or end of input quits.\n";

static void on_progress(long completed, long total, void *arg)
{
    if (completed == total) /* this runs on the loop's thread */
        printf("  (loop thread: last of %ld requests answered)\n", total);
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct demo_site *site; /* answers after 50 ms (scaled) */
    DEMO_CHECK(demo_site_start(&(struct demo_site_options){.delay_s = 0.05}, &site));
    struct demo_loop_thread lt;
    DEMO_CHECK(demo_loop_thread_start(&lt)); /* loop.run_forever in its own thread */
    printf("Loop running in a background thread (%d threads in this process)\n",
           demo_thread_count());
    char line[64];
    while (printf("requests> "), fflush(stdout), fgets(line, sizeof line, stdin)) {
        if (line[0] == 'q')
            break;
        long n = atol(line);
        if (n <= 0)
            continue;
        struct demo_stress st;
        double t0 = demo_now();
        DEMO_CHECK(demo_stress_start(&st, lt.loop, demo_site_port(site), n, on_progress, NULL));
        demo_stress_wait(&st, -1);
        printf("%ld requests done in %.3f s (result %d)\n", n, demo_now() - t0, st.result);
        demo_stress_close(&st);
    }
    printf("\nStopping the loop thread\n");
    demo_loop_thread_stop(&lt);
    demo_site_stop(site);
    return 0;
}
