/* listing_6_10.c - shared memory between processes (listing 6.10).
 *
 * A shared int and a shared int[2] live in MAP_SHARED regions made before
 * fork(), so the children's writes land in memory the parent sees (ordinary
 * memory would be copied on write and the parent would still read zeros).
 * One child increments the int, the other each element of the array. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo.h"
#include "proc/proc.h"

static const char usage[] =
    "usage: listing_6_10\n"
    "Two processes increment a shared int and a shared int[2]; prints both.\n";

static void increment_value(int *shared_int) { *shared_int = *shared_int + 1; }

static void increment_array(int *shared_array, int n)
{
    for (int i = 0; i < n; i++)
        shared_array[i] = shared_array[i] + 1;
}

static pid_t in_child(void (*fn)(int *, int), int *arg, int n)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        fn(arg, n);
        _exit(0);
    }
    return pid;
}

static void value_job(int *v, int n) { increment_value(v); }

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct loom_shared *integer, *integer_array;
    DEMO_CHECK(loom_shared_new(sizeof(int), &integer));
    DEMO_CHECK(loom_shared_new(2 * sizeof(int), &integer_array));
    int *value = loom_shared_data(integer), *array = loom_shared_data(integer_array);
    pid_t procs[2] = {in_child(value_job, value, 1), in_child(increment_array, array, 2)};
    for (int i = 0; i < 2; i++)
        waitpid(procs[i], NULL, 0);
    printf("integer.value=%d\n", *value);
    printf("integer_array=[%d, %d]\n", array[0], array[1]);
    loom_shared_free(integer);
    loom_shared_free(integer_array);
    return 0;
}
