/* listing_10_11.h - a circuit breaker (listing 10.11).
 *
 * Wraps a flaky call. Closed, it passes each request through under a timeout
 * and counts failures; after max_failures (counted within time_window
 * seconds of the first) it opens: requests fail fast with CIRCUIT_OPEN,
 * costing the struggling service nothing. Once reset_interval seconds passed
 * since the last request it let through, the next request closes it again and
 * is tried. Every state change is printed with the time since the breaker was
 * made. Times are in seconds, scaled (demo_sec). */
#ifndef LOOM_DEMOS_LISTING_10_11_H
#define LOOM_DEMOS_LISTING_10_11_H

#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

/* A demo-level result below loom's own codes: the circuit is open. */
enum { CIRCUIT_OPEN = -10011 };

struct circuit_breaker {
    loom_task_fn callback;
    void *arg;
    double timeout, time_window, reset_interval; /* book seconds (scaled when used) */
    int max_failures;
    double start;             /* demo_now() when made, for the printed times */
    double last_request_time; /* demo_now() of the last request let through, 0: none */
    double last_failure_time; /* of the first failure in this window, 0: none */
    int current_failures;
};

static inline void circuit_breaker_init(struct circuit_breaker *cb, loom_task_fn callback,
                                        void *arg, double timeout, double time_window,
                                        int max_failures, double reset_interval)
{
    *cb = (struct circuit_breaker){.callback = callback,
                                   .arg = arg,
                                   .timeout = timeout,
                                   .time_window = time_window,
                                   .reset_interval = reset_interval,
                                   .max_failures = max_failures,
                                   .start = demo_now()};
}

static inline void breaker_say(struct circuit_breaker *cb, const char *msg)
{
    printf("[%6.3f s] %s\n", demo_now() - cb->start, msg);
}

static inline void breaker_reset(struct circuit_breaker *cb, const char *msg)
{
    breaker_say(cb, msg);
    cb->last_failure_time = 0;
    cb->current_failures = 0;
}

static inline intptr_t breaker_do_request(struct circuit_breaker *cb)
{
    breaker_say(cb, "Making request!");
    cb->last_request_time = demo_now();
    struct loom_task *t = loom_spawn(cb->callback, cb->arg, NULL);
    intptr_t rc = t ? loom_wait_for(t, demo_sec(cb->timeout)) : -ENOMEM;
    if (rc < 0 && rc != -ECANCELED) {
        cb->current_failures++;
        if (cb->last_failure_time == 0)
            cb->last_failure_time = demo_now();
    }
    return rc;
}

/* Make a request through the breaker: the callback's result, its error
 * (-ETIMEDOUT when too slow), or CIRCUIT_OPEN. Suspends. */
static inline intptr_t circuit_breaker_request(struct circuit_breaker *cb)
{
    double now = demo_now();
    if (cb->current_failures >= cb->max_failures) {
        if (now > cb->last_request_time + demo_sec(cb->reset_interval) / 1e9) {
            breaker_reset(cb, "Circuit is going from open to closed, resetting!");
            return breaker_do_request(cb);
        }
        breaker_say(cb, "Circuit is open, failing fast!");
        return CIRCUIT_OPEN;
    }
    if (cb->last_failure_time && now > cb->last_failure_time + demo_sec(cb->time_window) / 1e9)
        breaker_reset(cb, "Interval since first failure elapsed, resetting!");
    breaker_say(cb, "Circuit is closed, requesting!");
    return breaker_do_request(cb);
}

#endif
