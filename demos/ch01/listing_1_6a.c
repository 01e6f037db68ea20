/* listing_1_6a.c - the fib jobs in turn, in threads and in processes (not in the book).
 *
 * The same two jobs three ways: one after the other, in two threads, and in
 * two forked processes (each prints its own result; the parent waits for
 * both). Threads and processes both finish in about the longer job's time on
 * a machine with two cores; the sequential run takes the sum. Each job prints
 * when it ran (seconds since the program started, one clock for every process):
 * in turn the intervals follow each other, in threads and in processes they
 * overlap. All three times are printed at the end. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_1_6a\n"
    "Runs fib(40) and fib(41) sequentially, in two threads, and in two processes, and\n"
    "prints the three total times. Under --scale F the sizes shrink by about F.\n"
    "C is ~250x faster than CPython at this, so scale 1 uses fib(45) and fib(46) to take\n"
    "seconds like the book; scale 0.1 gives the book's fib(40) and fib(41).\n";

static long fib(int n)
{
    if (n == 1)
        return 0;
    if (n == 2)
        return 1;
    return fib(n - 1) + fib(n - 2);
}

static double base; /* demo_now() at the start of the program */

static void *print_fib(void *arg)
{
    int number = (int)(intptr_t)arg;
    double start = demo_now() - base;
    long value = fib(number);
    printf("fib(%d) is %ld (ran %.4f..%.4f s)\n", number, value, start, demo_now() - base);
    return NULL;
}

static double sequential(const int *numbers)
{
    double start = demo_now();
    for (int i = 0; i < 2; i++)
        print_fib((void *)(intptr_t)numbers[i]);
    return demo_now() - start;
}

static double threads(const int *numbers)
{
    pthread_t t[2];
    double start = demo_now();
    for (int i = 0; i < 2; i++)
        DEMO_CHECK(-pthread_create(&t[i], NULL, print_fib, (void *)(intptr_t)numbers[i]));
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    return demo_now() - start;
}

static double processes(const int *numbers)
{
    pid_t pid[2];
    double start = demo_now();
    fflush(stdout);
    for (int i = 0; i < 2; i++) {
        pid[i] = fork();
        if (pid[i] < 0) {
            perror("fork");
            exit(1);
        }
        if (pid[i] == 0) {
            print_fib((void *)(intptr_t)numbers[i]);
            exit(0);
        }
    }
    for (int i = 0; i < 2; i++)
        waitpid(pid[i], NULL, 0);
    return demo_now() - start;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    base = demo_now();
    int numbers[2] = {demo_fib_n(40), demo_fib_n(41)};

    double t_seq = sequential(numbers);
    double t_thr = threads(numbers);
    double t_proc = processes(numbers);
    printf("Sequential completed in %.4f seconds.\n", t_seq);
    printf("Threads completed in %.4f seconds.\n", t_thr);
    printf("Processes completed in %.4f seconds.\n", t_proc);
    return 0;
}
