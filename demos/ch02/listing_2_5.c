/* listing_2_5.c - sleeping in a coroutine (listing 2.5).
 *
 * loom_sleep() suspends the calling task and lets the loop run other work;
 * here there is none, so the program just waits a second and prints. */
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_2_5\n"
    "Sleeps 1 second (scaled) in a coroutine, then prints \"Hello World!\".\n";

/* Like an async def returning a str: the string comes back through *message. */
static int hello_world_message(const char **message)
{
    int rc = loom_sleep(demo_sec(1));
    if (rc < 0)
        return rc; /* -ECANCELED */
    *message = "Hello World!";
    return 0;
}

static intptr_t main_task(void *arg)
{
    const char *message;
    int rc = hello_world_message(&message);
    if (rc < 0)
        return rc;
    printf("%s\n", message);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
