/* stress.h - the StressTest of listing 7.13 and a loop running in a thread of
 * its own, shared by the chapter 7 UI demos (listings 7.14 and 7.15).
 *
 * demo_loop_thread runs a loom loop forever in a new thread (until stopped).
 * demo_stress sends `total` concurrent GETs of http://127.0.0.1:port/ on such
 * a loop and reports progress every 1% through a callback that runs on the
 * loop's thread. Start, cancel and wait are called from any other thread. */
#ifndef LOOM_DEMOS_STRESS_H
#define LOOM_DEMOS_STRESS_H

#include <pthread.h>
#include <stdbool.h>

#include "reactor/loop.h"
#include "reactor/task.h"

struct demo_loop_thread {
    struct loom_loop *loop;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool ready;
};

/* Start a thread running a new loop; returns once the loop exists. 0 or -errno. */
int demo_loop_thread_start(struct demo_loop_thread *lt);
/* Stop the loop (thread-safe), join the thread and free the loop. */
void demo_loop_thread_stop(struct demo_loop_thread *lt);

typedef void (*demo_stress_cb)(long completed, long total, void *arg);

struct demo_stress {
    struct loom_loop *loop;
    int port;
    long total, completed; /* completed: loop thread only */
    demo_stress_cb callback;
    void *arg;
    struct loom_task *task;
    struct loom_future_callback done_cb; /* signals done/result */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done, closed;
    int result; /* 0, or -ECANCELED when cancelled */
};

/* Schedule the test on loop (thread-safe). 0 or -errno. */
int demo_stress_start(struct demo_stress *st, struct loom_loop *loop, int port, long total,
                      demo_stress_cb cb, void *arg);
/* Ask the test to stop (thread-safe); its result becomes -ECANCELED. */
void demo_stress_cancel(struct demo_stress *st);
/* Block until the test finished or timeout_s passed (< 0: no limit); true if done. */
bool demo_stress_wait(struct demo_stress *st, double timeout_s);
/* After it finished: release it (thread-safe); waits until the loop let go of st. */
void demo_stress_close(struct demo_stress *st);

#endif
