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
    return 0;
}

static intptr_t main_task(void *arg)
{
    static struct w ws[] = {{1, 2}, {2, 0}, {3, 1}};
    struct loom_taskgroup g;
    loom_taskgroup_init(&g);
    for (int i = 0; i < 3; i++)
        loom_taskgroup_spawn(&g, w, &ws[i], NULL);
    T("body ends");
    int rc = loom_taskgroup_join(&g);
    T("group joined");
    return rc;
}

int main(void) { return (int)loom_run(main_task, NULL); }
