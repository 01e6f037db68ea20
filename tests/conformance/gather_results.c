#include "conf.h"

struct w {
    int n, steps;
};

static intptr_t w(void *arg)
{
    struct w *x = arg;
    for (int i = 0; i < x->steps; i++)
        loom_yield();
    T("w %d done", x->n);
    return x->n * 10;
}

static intptr_t main_task(void *arg)
{
    static struct w ws[] = {{1, 3}, {2, 0}, {3, 1}};
    struct loom_task *ts[3];
    intptr_t r[3];
    for (int i = 0; i < 3; i++)
        ts[i] = loom_spawn(w, &ws[i], NULL);
    int rc = loom_gather(ts, 3, r, 0);
    if (rc == 0)
        T("gather %ld %ld %ld", (long)r[0], (long)r[1], (long)r[2]);
    else
        T("gather failed %s", st(rc));
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
