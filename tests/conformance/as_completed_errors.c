#include "conf.h"

struct w {
    int n;
    int64_t delay;
    bool fail;
};

static intptr_t w(void *arg)
{
    struct w *x = arg;
    loom_sleep(x->delay);
    return x->fail ? FAIL : x->n;
}

static intptr_t main_task(void *arg)
{
    static struct w ws[] = {
        {1, LOOM_MS(30), false}, {2, LOOM_MS(10), true}, {3, LOOM_MS(20), false}};
    struct loom_task *ts[3], *t;
    for (int i = 0; i < 3; i++)
        ts[i] = loom_spawn(w, &ws[i], NULL);
    struct loom_as_completed it;
    loom_as_completed_init(&it, ts, 3, -1);
    while (loom_as_completed_next(&it, &t) == 1)
        T("next %s", st(loom_task_result(t)));
    loom_as_completed_close(&it);
    for (int i = 0; i < 3; i++)
        loom_task_release(ts[i]);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
