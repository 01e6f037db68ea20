/* listing_10_12.c - the circuit breaker of listing 10.11 at work (listing 10.12).
 *
 * The callback takes 2 s; the breaker gives it 1 s, opens after 2 failures
 * (within 5 s) and lets a request through again 5 s after the last one. Four
 * requests: two are tried and time out (at ~1 s and ~2 s), two fail fast.
 * After a 5 s sleep the breaker closes and the pattern repeats: two tried,
 * two failing fast. Each line carries its time, so the timings show. */
#include <stdio.h>

#include "demo.h"
#include "listing_10_11.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_10_12\n"
    "A circuit breaker (1 s timeout, 2 failures in 5 s, 5 s reset) around a 2 s call,\n"
    "4 requests, a 5 s sleep, 4 more (all scaled); prints each state with its time.\n";

static intptr_t slow_callback(void *arg) { return loom_sleep(demo_sec(2)); }

static intptr_t main_task(void *arg)
{
    struct circuit_breaker cb;
    circuit_breaker_init(&cb, slow_callback, NULL, 1.0, 5, 2, 5);
    for (int i = 0; i < 4; i++)
        circuit_breaker_request(&cb); /* errors swallowed, as the book's except: pass */
    breaker_say(&cb, "Sleeping for 5 seconds so breaker closes...");
    DEMO_CHECK(loom_sleep(demo_sec(5)));
    for (int i = 0; i < 4; i++)
        circuit_breaker_request(&cb);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
