#include "conf.h"

struct w {
    const char *n;
    int k;
};

static intptr_t worker(void *arg)
{
    struct w *w = arg;
    for (int i = 0; i < w->k; i++) {
        T("%s %d", w->n, i);
        loom_yield();
    }
    T("%s done", w->n);
    return 0;
}

static intptr_t main_task(void *arg)
{
    static struct w ws[] = {{"a", 3}, {"b", 1}, {"c", 2}};
    struct loom_task *ts[3];
    for (int i = 0; i < 3; i++)
        ts[i] = loom_spawn(worker, &ws[i], NULL);
    for (int i = 0; i < 3; i++)
        loom_task_join(ts[i]);
    T("end");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
