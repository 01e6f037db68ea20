/* listing_2_7.c - awaits run in order (listing 2.7).
 *
 * main awaits a one-second greeting, then add_one. Direct calls do not run
 * concurrently: add_one waits for the greeting, and both lines appear after
 * about one second, in a fixed order. */
#include <stdio.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] = "usage: listing_2_7\n"
                            "Awaits hello_world_message() (1 s, scaled) then add_one(1); prints\n"
                            "\"one_plus_one = 2\" and \"Hello World!\" after about 1 s.\n";

static int hello_world_message(const char **message)
{
    int rc = loom_sleep(demo_sec(1));
    if (rc < 0)
        return rc;
    *message = "Hello World!";
    return 0;
}

static intptr_t add_one(intptr_t number) { return number + 1; }

static intptr_t main_task(void *arg)
{
    const char *message;
    int rc = hello_world_message(&message);
    if (rc < 0)
        return rc;
    intptr_t one_plus_one = add_one(1);
    printf("one_plus_one = %ld\n", (long)one_plus_one);
    printf("%s\n", message);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    double start = demo_now();
    DEMO_CHECK(loom_run(main_task, NULL));
    printf("Finished in %.4f sec.\n", demo_now() - start);
    return 0;
}
