/* spawn_loom.c - spawn+wait of /bin/true per second with loom_proc, N at a
 * time (argv: total, concurrency). Prints "loom spawn/s <rate>". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "proc/proc.h"
#include "reactor/task.h"

static long total, next;

static intptr_t worker(void *arg)
{
    const char *argv[] = {"/bin/true", NULL};
    struct loom_proc_options o = {.argv = argv};
    while (next < total) {
        next++;
        struct loom_proc p;
        int rc = loom_proc_spawn(NULL, &p, &o), code = -1;
        if (rc == 0)
            rc = loom_proc_wait(&p, -1, &code);
        loom_proc_close(&p);
        if (rc < 0 || code != 0)
            return rc < 0 ? rc : -1;
    }
    return 0;
}

static intptr_t amain(void *arg)
{
    long conc = (long)(intptr_t)arg;
    struct loom_task **t = calloc((size_t)conc, sizeof(*t));
    for (long i = 0; i < conc; i++)
        t[i] = loom_spawn(worker, NULL, NULL);
    int rc = loom_gather(t, (size_t)conc, NULL, 0);
    free(t);
    return rc;
}

int main(int argc, char **argv)
{
    total = argc > 1 ? atol(argv[1]) : 2000;
    long conc = argc > 2 ? atol(argv[2]) : 8;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (loom_run(amain, (void *)(intptr_t)conc) != 0)
        return 1;
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("loom spawn/s %.0f\n", (double)total / s);
    return 0;
}
