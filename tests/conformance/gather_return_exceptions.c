#include "conf.h"

struct w {
    int n, steps;
    bool fail;
};

static intptr_t w(void *arg)
{
    struct w *x = arg;
    for (int i = 0; i < x->steps; i++)
        loom_yield();
    T("w %d ends", x->n);
    return x->fail ? FAIL : x->n;
}

static intptr_t main_task(void *arg)
{
    static struct w ws[] = {{1, 2, false}, {2, 0, true}, {3, 1, false}};
    struct loom_task *ts[3];
    intptr_t r[3];
    for (int i = 0; i < 3; i++)
        ts[i] = loom_spawn(w, &ws[i], NULL);
    int rc = loom_gather(ts, 3, r, LOOM_GATHER_ALL);
    T("gather %s %s %s", st(r[0]), st(r[1]), st(r[2]));
    return rc;
}

int main(void) { return (int)loom_run(main_task, NULL); }
