#include "conf.h"

/* A task woken by its sleep timer resumes two hops after the timer fell due
 * (the timer's callback is queued behind what is ready, then the task's step). */

static intptr_t sleeper(void *arg)
{
    (void)arg;
    T("A sleeps");
    loom_sleep(1);
    T("A woke");
    return 0;
}

static intptr_t ticker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++) {
        T("B %d", i);
        loom_yield();
    }
    return 0;
}

static intptr_t main_task(void *arg)
{
    (void)arg;
    struct loom_task *t[2] = {loom_spawn(sleeper, NULL, NULL), loom_spawn(ticker, NULL, NULL)};
    loom_gather(t, 2, NULL, 0);
    T("end");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
