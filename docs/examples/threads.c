/* threads.c - threads: blocking work on the executor, and a plain thread calling into the loop. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include <loom/reactor/error.h>
#include <loom/reactor/executor.h>
#include <loom/reactor/loop.h>
#include <loom/reactor/task.h>

/* Blocking work: runs on an executor thread while the loop goes on. */
static intptr_t slow_sum(void *arg)
{
    long sum = 0;
    for (long i = 1; i <= (long)(intptr_t)arg; i++)
        sum += i;
    usleep(100 * 1000); /* a blocking call: fine here, never on the loop's thread */
    return sum;
}

/* A task that ticks while slow_sum runs, to show the loop is not blocked. */
static intptr_t ticker(void *arg)
{
    for (int i = 0; i < 3; i++) {
        printf("tick %d\n", i);
        if (loom_sleep(LOOM_MS(20)) < 0)
            return -ECANCELED;
    }
    return 0;
}

static void hello(void *arg) { printf("callback on the loop's thread, sent by %s\n", (char *)arg); }

static intptr_t twice(void *arg)
{
    loom_sleep(LOOM_MS(10));
    return 2 * (intptr_t)arg;
}

/* A thread of the program's own: it talks to the loop only through the
 * thread-safe calls. */
static void *worker(void *arg)
{
    struct loom_loop *loop = arg;
    loom_call_soon_threadsafe(loop, hello, "the worker thread");
    intptr_t result = 0;
    int rc = loom_run_task_threadsafe(loop, twice, (void *)21, "twice", LOOM_SEC(5), &result);
    return (void *)(rc < 0 ? (intptr_t)rc : result);
}

/* pthread_join blocks, so it runs on the executor too. */
static intptr_t join_thread(void *arg)
{
    void *ret;
    return pthread_join(*(pthread_t *)arg, &ret) == 0 ? (intptr_t)ret : -1;
}

static intptr_t amain(void *unused)
{
    struct loom_task *tick = loom_spawn(ticker, NULL, "ticker");
    intptr_t sum = loom_to_thread(slow_sum, (void *)1000);
    printf("sum from the executor: %ld\n", (long)sum);
    loom_task_join(tick);

    pthread_t th;
    if (pthread_create(&th, NULL, worker, loom_loop_current()) != 0)
        return -1;
    intptr_t got = loom_to_thread(join_thread, &th);
    printf("the worker got %ld from a task on the loop\n", (long)got);
    return sum == 500500 && got == 42 ? 0 : -1;
}

int main(void) { return loom_run(amain, NULL) == 0 ? 0 : 1; }
