/* tasks.c - coroutines as tasks: sleep, gather, wait_for, wait, a deadline scope. */
#include <errno.h>
#include <stdio.h>

#include <loom/reactor/error.h>
#include <loom/reactor/task.h>

/* A coroutine: sleeps without blocking the thread, then returns a value. */
static intptr_t delay(void *arg)
{
    long ms = (long)(intptr_t)arg;
    int rc = loom_sleep(LOOM_MS(ms)); /* suspends this task only */
    if (rc < 0)
        return rc; /* -ECANCELED: pass it on */
    return ms;
}

static intptr_t amain(void *unused)
{
    /* gather: three tasks at once, results in input order (~300 ms, not 600). */
    struct loom_task *t[3];
    for (long i = 0; i < 3; i++)
        t[i] = loom_spawn(delay, (void *)(intptr_t)(100 * (i + 1)), NULL);
    intptr_t res[3];
    int rc = loom_gather(t, 3, res, 0);
    printf("gather: %s: %ld %ld %ld\n", loom_strerror(rc), (long)res[0], (long)res[1],
           (long)res[2]);

    /* wait_for: the timeout cancels the slow task and waits for it to finish. */
    intptr_t r = loom_wait_for(loom_spawn(delay, (void *)1000, "slow"), LOOM_MS(50));
    printf("wait_for: %s\n", loom_errname((int)r));

    /* wait: return when the first task is done; the other is still running. */
    struct loom_task *w[2] = {loom_spawn(delay, (void *)500, NULL),
                              loom_spawn(delay, (void *)20, NULL)};
    int done = loom_wait(w, 2, LOOM_FIRST_COMPLETED, LOOM_SEC(5));
    printf("wait: %d done, first result %ld\n", done, (long)loom_task_result(w[0]));
    loom_task_cancel(w[1]);
    loom_task_join(w[0]);
    loom_task_join(w[1]);

    /* A deadline scope bounds every suspending call inside it. */
    struct loom_timeout to;
    loom_timeout_enter(&to, LOOM_MS(30));
    rc = loom_sleep(LOOM_SEC(10));
    bool expired = loom_timeout_exit(&to);
    printf("scope: %s, expired %d\n", loom_errname(rc), expired);
    return (res[2] == 300 && r == -ETIMEDOUT && done == 1 && expired) ? 0 : -1;
}

int main(void) { return loom_run(amain, NULL) == 0 ? 0 : 1; }
