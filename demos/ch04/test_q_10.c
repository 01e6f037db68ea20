/* test_q_10.c - the chapter 4 quiz: what does this gather print? (test_q_10)
 *
 * gather() of a coroutine that loops forever and one that sleeps 5 s never
 * returns: gather completes only when every child has, so nothing after it
 * runs and nothing is printed. The demo puts the gather under an outer
 * wait_for of 7 s so that it ends, and says what happened. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: test_q_10\n"
    "gathers an endless loop and a 5 s sleep (scaled) under an outer 7 s timeout: the\n"
    "gather never returns (the quiz's program prints nothing), the timeout ends it.\n";

static intptr_t endless(void *arg)
{
    for (;;) {
        int rc = loom_sleep(demo_sec(0.5));
        if (rc < 0)
            return rc;
    }
}

static intptr_t five_seconds(void *arg) { return loom_sleep(demo_sec(5)); }

static intptr_t quiz(void *arg)
{
    struct loom_task *t[2] = {loom_spawn(endless, NULL, NULL),
                              loom_spawn(five_seconds, NULL, NULL)};
    int rc = loom_gather(t, 2, NULL, 0);
    if (rc != -ECANCELED) /* only the outer timeout's cancellation gets here */
        printf("gather returned %d\n", rc);
    return rc;
}

static intptr_t main_task(void *arg)
{
    double t0 = demo_now();
    intptr_t rc = loom_wait_for(loom_spawn(quiz, NULL, "quiz"), demo_sec(7));
    printf("The quiz printed nothing; the outer timeout ended it: %s after %.4f sec.\n",
           rc == -ETIMEDOUT ? "TimeoutError" : loom_errname((int)rc), demo_now() - t0);
    return rc == -ETIMEDOUT ? 0 : 1;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
