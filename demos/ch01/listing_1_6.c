/* listing_1_6.c - the same CPU-bound jobs in two threads (listing 1.6).
 *
 * In Python the GIL lets only one thread run bytecode, so the book sees no
 * speed-up. C threads have no such lock: on a machine with two cores both jobs
 * really run at once and the total is about the longer job, well below the sum
 * that listing 1.5 takes. Each job reports its own CPU time so the sum can be
 * compared with the wall-clock total, and when it ran (seconds since the start):
 * the two intervals overlap - both threads were running at once. */
#include <pthread.h>
#include <stdio.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_1_6\n"
    "Computes fib(40) and fib(41) in two threads at once and prints the total time,\n"
    "which on 2+ cores is about the longer job, not the sum of both CPU times.\n"
    "Under --scale F the sizes shrink so the time shrinks by about F.\n"
    "C is ~250x faster than CPython at this, so scale 1 uses fib(45) and fib(46) to take\n"
    "seconds like the book; scale 0.1 gives the book's fib(40) and fib(41).\n";

struct job {
    int number;
    double base;       /* demo_now() when the threads were started */
    double cpu;        /* this thread's CPU seconds for the job */
    double start, end; /* when the job ran, seconds since base */
};

static long fib(int n)
{
    if (n == 1)
        return 0;
    if (n == 2)
        return 1;
    return fib(n - 1) + fib(n - 2);
}

static void *print_fib(void *arg)
{
    struct job *job = arg;
    job->start = demo_now() - job->base;
    double cpu0 = demo_thread_cpu();
    long value = fib(job->number);
    job->cpu = demo_thread_cpu() - cpu0;
    job->end = demo_now() - job->base;
    printf("fib(%d) is %ld (%.4f s CPU, ran %.4f..%.4f s)\n", job->number, value, job->cpu,
           job->start, job->end);
    return NULL;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    double start = demo_now();
    struct job jobs[2] = {{.number = demo_fib_n(40), .base = start},
                          {.number = demo_fib_n(41), .base = start}};
    pthread_t threads[2];

    for (int i = 0; i < 2; i++)
        DEMO_CHECK(-pthread_create(&threads[i], NULL, print_fib, &jobs[i]));
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    double total = demo_now() - start;

    printf("Threads completed in %.4f seconds.\n", total);
    printf("Sum of the jobs' CPU time: %.4f seconds (parallel speed-up %.2fx)\n",
           jobs[0].cpu + jobs[1].cpu, (jobs[0].cpu + jobs[1].cpu) / total);
    return 0;
}
