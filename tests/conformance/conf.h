/* conf.h - shared by the conformance cases: T() prints one trace line; st()
 * names a task result the way conf.py names an awaited outcome. */
#ifndef LOOM_CONFORMANCE_H
#define LOOM_CONFORMANCE_H
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "reactor/future.h"
#include "reactor/loop.h"
#include "reactor/task.h"
#include "sync/sync.h"

#define T(...) (printf(__VA_ARGS__), putchar('\n'), fflush(stdout))

/* An "exception": a C task fails with -EIO where the Python one raises. */
#define FAIL (-EIO)

static inline const char *st(intptr_t r)
{
    static char buf[8][32];
    static int i;
    char *b = buf[i++ & 7];
    if (r == -ECANCELED)
        return "cancelled";
    if (r == -ETIMEDOUT)
        return "timeout";
    if (r < 0)
        snprintf(b, 32, "error");
    else
        snprintf(b, 32, "ok %ld", (long)r);
    return b;
}
#endif
