/* listing_6_11.c - a race on shared memory (listing 6.11).
 *
 * Two processes increment the same shared int without a lock. "value = value
 * + 1" is a read, an add and a write; when both processes read the same old
 * value, one increment is lost. The book does one increment per process and
 * sees 1 instead of 2 now and then; here each process does many, so the lost
 * updates show in every run. 100 trials; the first wrong total fails the
 * assertion, like the book's `assert integer.value == 2`. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo.h"
#include "proc/proc.h"

static const char usage[] =
    "usage: listing_6_11 [--increments N]\n"
    "100 trials of two processes each adding 1 N times (default 2000000) to an unlocked\n"
    "shared int; stops at the first trial with lost updates (exit status 1).\n";

/* Both children start counting together (a start line in shared memory), so
 * their increments really overlap instead of one finishing before the other forks. */
static void increment_value(volatile int *shared_int, long n, _Atomic int *ready)
{
    atomic_fetch_add(ready, 1);
    while (atomic_load(ready) < 2)
        ;
    for (long i = 0; i < n; i++)
        *shared_int = *shared_int + 1; /* not atomic: read, add, write */
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    long n = demo_arg_long("--increments", 2000000);
    struct loom_shared *sh;
    DEMO_CHECK(loom_shared_new(2 * sizeof(int), &sh));
    volatile int *integer = loom_shared_data(sh);
    _Atomic int *ready = (_Atomic int *)loom_shared_data(sh) + 1;
    for (int trial = 0; trial < 100; trial++) {
        *integer = 0;
        atomic_store(ready, 0);
        pid_t procs[2];
        for (int k = 0; k < 2; k++)
            if ((procs[k] = fork()) == 0) {
                increment_value(integer, n, ready);
                _exit(0);
            }
        for (int k = 0; k < 2; k++)
            waitpid(procs[k], NULL, 0);
        printf("trial %d: integer.value=%d\n", trial, *integer);
        if (*integer != 2 * n) {
            printf("AssertionError: assert integer.value == %ld failed: %ld updates lost\n", 2 * n,
                   2 * n - *integer);
            loom_shared_free(sh);
            return 1;
        }
    }
    printf("No lost update in 100 trials (try a larger --increments)\n");
    loom_shared_free(sh);
    return 0;
}
