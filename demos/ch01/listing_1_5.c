/* listing_1_5.c - CPU-bound work, one job after the other (listing 1.5).
 *
 * The naive recursive Fibonacci (fib(1) = 0, fib(2) = 1) of 40 and 41, run in
 * turn on one thread: the total is the sum of both jobs. This is the baseline
 * that listings 1.6 (threads) and 1.6a (processes) try to beat. */
#include <stdio.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_1_5\n"
    "Computes fib(40) and fib(41) one after the other and prints the total time.\n"
    "Under --scale F the sizes shrink so the time shrinks by about F.\n"
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

static void print_fib(int number)
{
    double cpu0 = demo_thread_cpu();
    long value = fib(number);
    printf("fib(%d) is %ld (%.4f s CPU)\n", number, value, demo_thread_cpu() - cpu0);
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    double start = demo_now();
    print_fib(demo_fib_n(40));
    print_fib(demo_fib_n(41));
    printf("Completed in %.4f seconds.\n", demo_now() - start);
    return 0;
}
