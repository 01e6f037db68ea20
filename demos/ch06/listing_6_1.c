/* listing_6_1.c - two CPU-bound processes at once (listing 6.1).
 *
 * Two forked children count, one twice as far as the other. On two or more
 * cores they run in parallel: the total is about the longer count's time, not
 * the sum. The book counts to 1e8 and 2e8 in Python (seconds each); C counts
 * ~1e9 a second, so the counts are sized to take about 1 s and 2 s instead. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_6_1\n"
    "Counts to N and 2N (about 1 s and 2 s at --scale 1) in two processes at once and\n"
    "prints each time and the total.\n";

static void count(long count_to)
{
    double start = demo_now();
    long counter = demo_count_to(count_to);
    printf("Finished counting to %ld in %.4f s\n", counter, demo_now() - start);
}

static pid_t start_process(long count_to)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        count(count_to);
        exit(0);
    }
    return pid;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    long n = demo_cpu_count(1.0);
    double start = demo_now();
    pid_t a = start_process(n);
    pid_t b = start_process(2 * n);
    waitpid(a, NULL, 0); /* join */
    waitpid(b, NULL, 0);
    printf("Completed in %.4f s\n", demo_now() - start);
    return 0;
}
