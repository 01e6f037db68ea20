#include "conf.h"

struct w {
    int n, steps;
};

static intptr_t w(void *arg)
{
    struct w *x = arg;
    for (int i = 0; i < x->steps; i++)
        loom_yield();
    return x->n;
}

static intptr_t main_task(void *arg)
{
    static struct w ws[] = {{1, 4}, {2, 0}, {3, 2}, {4, 1}};
    struct loom_task *ts[4], *t;
    for (int i = 0; i < 4; i++)
        ts[i] = loom_spawn(w, &ws[i], NULL);
    struct loom_as_completed it;
    loom_as_completed_init(&it, ts, 4, -1);
    while (loom_as_completed_next(&it, &t) == 1)
        T("completed %ld", (long)loom_task_result(t));
    loom_as_completed_close(&it);
    for (int i = 0; i < 4; i++)
        loom_task_release(ts[i]);
    T("end");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
