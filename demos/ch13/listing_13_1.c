/* listing_13_1.c - run a program as a subprocess (listing 13.1).
 *
 * loom_proc_spawn() starts `ls -l` with stdout inherited, so its listing goes
 * straight to our terminal; loom_proc_wait() suspends this task until the
 * child exits and gives asyncio's returncode. */
#include <stdio.h>

#include "demo.h"
#include "proc/proc.h"

static const char usage[] =
    "usage: listing_13_1\n"
    "Runs `ls -l` with inherited stdout, prints its pid and its status code.\n";

static intptr_t amain(void *arg)
{
    const char *argv[] = {"ls", "-l", NULL};
    struct loom_proc_options opt = {.argv = argv};
    struct loom_proc p;
    DEMO_CHECK(loom_proc_spawn(NULL, &p, &opt));
    printf("Process pid is: %d\n", (int)p.pid);
    int status;
    DEMO_CHECK(loom_proc_wait(&p, -1, &status));
    printf("Status code: %d\n", status);
    loom_proc_close(&p);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(amain, NULL);
}
