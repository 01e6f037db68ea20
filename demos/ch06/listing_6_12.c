/* listing_6_12.c - the race fixed with the value's lock (listing 6.12).
 *
 * Listing 6.11 with each increment done under the shared region's lock (a
 * process-shared pthread mutex living in the shared memory itself): no update
 * is lost, every trial ends at exactly 2 * N. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo.h"
#include "proc/proc.h"

static const char usage[] =
    "usage: listing_6_12 [--increments N] [--trials T]\n"
    "T trials (default 100) of two processes each adding 1 N times (default 100000)\n"
    "to a shared int under its lock; every total is exact.\n";

static void increment_value(struct loom_shared *sh, long n)
{
    int *value = loom_shared_data(sh);
    for (long i = 0; i < n; i++) {
        loom_shared_lock(sh); /* with integer.get_lock(): */
        *value = *value + 1;
        loom_shared_unlock(sh);
    }
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    long n = demo_arg_long("--increments", 100000);
    long trials = demo_arg_long("--trials", 100);
    struct loom_shared *sh;
    DEMO_CHECK(loom_shared_new(sizeof(int), &sh));
    int *integer = loom_shared_data(sh), exact = 0;
    for (long trial = 0; trial < trials; trial++) {
        *integer = 0;
        pid_t procs[2];
        for (int k = 0; k < 2; k++)
            if ((procs[k] = fork()) == 0) {
                increment_value(sh, n);
                _exit(0);
            }
        for (int k = 0; k < 2; k++)
            waitpid(procs[k], NULL, 0);
        exact += *integer == 2 * n;
        if (trial < 3 || *integer != 2 * n)
            printf("trial %ld: integer.value=%d\n", trial, *integer);
    }
    printf("%d of %ld trials exact (integer.value == %ld every time: %s)\n", exact, trials, 2 * n,
           exact == trials ? "yes" : "NO");
    loom_shared_free(sh);
    return exact == trials ? 0 : 1;
}
