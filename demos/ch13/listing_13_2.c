/* listing_13_2.c - terminate a subprocess that takes too long (listing 13.2).
 *
 * `sleep 3` is waited for at most 1 s. The bounded wait returns -ETIMEDOUT and
 * leaves the child running; terminate() sends SIGTERM and the next wait gives
 * returncode -15: minus the signal number, as in asyncio. */
#include <errno.h>
#include <stdio.h>

#include "demo.h"
#include "proc/proc.h"

static const char usage[] = "usage: listing_13_2\n"
                            "Runs `sleep 3`, waits 1 s, terminates it and prints status_code=-15.\n"
                            "--scale F scales both durations.\n";

static intptr_t amain(void *arg)
{
    char secs[32];
    snprintf(secs, sizeof(secs), "%g", 3 * demo_scale());
    const char *argv[] = {"sleep", secs, NULL};
    struct loom_proc_options opt = {.argv = argv};
    struct loom_proc p;
    DEMO_CHECK(loom_proc_spawn(NULL, &p, &opt));
    int status;
    int rc = loom_proc_wait(&p, demo_sec(1), &status);
    if (rc == -ETIMEDOUT) {
        printf("Timed out waiting to finish, terminating...\n");
        DEMO_CHECK(loom_proc_terminate(&p));
        DEMO_CHECK(loom_proc_wait(&p, -1, &status));
    } else {
        DEMO_CHECK(rc);
    }
    printf("status_code=%d\n", status);
    loom_proc_close(&p);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(amain, NULL);
}
