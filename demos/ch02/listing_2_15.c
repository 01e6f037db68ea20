/* listing_2_15.c - awaiting a future (listing 2.15).
 *
 * make_request() returns a pending future and starts a task that sets it
 * after a second. main awaits the future: it suspends until the other task
 * resolves it, then reads the value. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "reactor/future.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_15\n"
    "A task sets a future to 42 after 1 s (scaled); main prints not done, awaits it,\n"
    "then prints done and \"value = 42\".\n";

static intptr_t set_future_value(void *arg)
{
    struct loom_future *future = arg;
    int rc = loom_sleep(demo_sec(1));
    if (rc < 0)
        return rc;
    return loom_future_set_result(future, 42);
}

static int make_request(struct loom_future *future)
{
    loom_future_init(future);
    struct loom_task *t = loom_spawn(set_future_value, future, "set_future_value");
    if (!t)
        return -ENOMEM;
    loom_task_release(t); /* fire and forget, like a bare create_task */
    return 0;
}

static intptr_t main_task(void *arg)
{
    struct loom_future future;
    int rc = make_request(&future);
    if (rc < 0)
        return rc;
    printf("Is the future done? %s\n", loom_future_done(&future) ? "True" : "False");
    intptr_t value = loom_future_await(&future, LOOM_FOREVER);
    if (value < 0)
        return value;
    printf("Is the future done? %s\n", loom_future_done(&future) ? "True" : "False");
    printf("value = %ld\n", (long)value);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
