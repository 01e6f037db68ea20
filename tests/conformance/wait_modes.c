#include "conf.h"

#include <stdlib.h>

struct w {
    int n, steps;
    bool fail;
};

static intptr_t w(void *arg)
{
    struct w *x = arg;
    for (int i = 0; i < x->steps; i++)
        loom_yield();
    return x->fail ? FAIL : x->n;
}

static int by_n(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static void one(enum loom_wait_mode mode, const char *name, bool fail)
{
    struct w ws[] = {{1, 10, false}, {2, 1, fail}, {3, 10, false}};
    struct loom_task *ts[3];
    int idx[3];
    for (int i = 0; i < 3; i++)
        ts[i] = loom_spawn(w, &ws[i], NULL);
    struct loom_task *orig[3] = {ts[0], ts[1], ts[2]};
    int nd = loom_wait(ts, 3, mode, -1);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            if (ts[i] == orig[j])
                idx[i] = j + 1;
    qsort(idx, (size_t)nd, sizeof *idx, by_n);
    qsort(idx + nd, (size_t)(3 - nd), sizeof *idx, by_n);
    char line[128];
    int o = snprintf(line, sizeof line, "%s done", name);
    for (int i = 0; i < 3; i++) {
        if (i == nd)
            o += snprintf(line + o, sizeof line - (size_t)o, " pending");
        o += snprintf(line + o, sizeof line - (size_t)o, " %d", idx[i]);
    }
    if (nd == 3)
        o += snprintf(line + o, sizeof line - (size_t)o, " pending");
    T("%s", line);
    loom_wait(ts, 3, LOOM_ALL_COMPLETED, -1);
    for (int i = 0; i < 3; i++)
        loom_task_release(ts[i]);
}

static intptr_t main_task(void *arg)
{
    one(LOOM_FIRST_COMPLETED, "FIRST_COMPLETED", false);
    one(LOOM_FIRST_EXCEPTION, "FIRST_EXCEPTION", false);
    one(LOOM_FIRST_EXCEPTION, "FIRST_EXCEPTION", true);
    one(LOOM_ALL_COMPLETED, "ALL_COMPLETED", true);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
