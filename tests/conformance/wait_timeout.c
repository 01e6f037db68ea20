#include "conf.h"

struct w {
    int n;
    int64_t delay;
};

static intptr_t w(void *arg)
{
    struct w *x = arg;
    int rc = loom_sleep(x->delay);
    return rc < 0 ? rc : x->n;
}

static intptr_t main_task(void *arg)
{
    static struct w ws[] = {{1, LOOM_SEC(10)}, {2, 0}};
    struct loom_task *ts[2], *first;
    for (int i = 0; i < 2; i++)
        ts[i] = loom_spawn(w, &ws[i], NULL);
    first = ts[0];
    int nd = loom_wait(ts, 2, LOOM_ALL_COMPLETED, LOOM_MS(20));
    T("done %d pending %d cancelled %s", nd, 2 - nd, loom_task_cancelled(first) ? "True" : "False");
    loom_task_cancel(first);
    loom_task_release(ts[0]);
    loom_task_release(ts[1]);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
