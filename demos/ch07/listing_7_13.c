/* listing_7_13.c - a stress test driven from another thread (listing 7.13).
 *
 * The loop runs in a thread of its own. The main thread starts the stress
 * test there (asyncio's run_coroutine_threadsafe: demo_stress_start posts it
 * with call_soon_threadsafe) and may cancel it the same way. The test sends N
 * concurrent GETs to a local server and reports progress every 1% through a
 * callback that runs on the loop's thread. The StressTest itself lives in
 * demos/common/stress.c (demos/stress.h), because listings 7.14 and 7.15 reuse
 * it as the book's do. Unlike the book, its connections are closed only after
 * gather() returned. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/site.h"
#include "demo.h"
#include "stress.h"

static const char usage[] =
    "usage: listing_7_13 [--requests N] [--cancel-after S]\n"
    "Runs N (default 200) concurrent GETs against a local server (50 ms per answer, scaled) on\n"
    "a loop in another thread, printing progress every 1%. --cancel-after S cancels the test\n"
    "from the main thread after S seconds (scaled).\n";

/* Runs on the loop's thread. */
static void print_progress(long completed, long total, void *arg)
{
    (void)arg;
    printf("Completed %ld/%ld requests (%ld%%)\n", completed, total, completed * 100 / total);
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct demo_site *site; /* answers after 50 ms (scaled) */
    DEMO_CHECK(demo_site_start(&(struct demo_site_options){.delay_s = 0.05}, &site));
    struct demo_loop_thread lt;
    DEMO_CHECK(demo_loop_thread_start(&lt));

    struct demo_stress st;
    DEMO_CHECK(demo_stress_start(&st, lt.loop, demo_site_port(site),
                                 demo_arg_long("--requests", 200), print_progress,
                                 NULL)); /* start() */
    double cancel_after = atof(demo_arg_str("--cancel-after", "-1"));
    if (cancel_after >= 0) {
        usleep((useconds_t)(cancel_after * demo_scale() * 1e6));
        printf("Cancelling from the main thread\n");
        demo_stress_cancel(&st); /* cancel() */
    }
    demo_stress_wait(&st, -1);
    printf("Stress test %s\n", st.result == 0 ? "finished" : loom_strerror(st.result));
    demo_stress_close(&st);
    demo_loop_thread_stop(&lt);
    demo_site_stop(site);
    return 0;
}
