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

static const char *b(struct loom_task *t) { return loom_task_done(t) ? "True" : "False"; }

static intptr_t main_task(void *arg)
{
    static struct w ws[] = {{1, LOOM_SEC(10)}, {2, 0}, {3, LOOM_SEC(10)}};
    struct loom_task *ts[3], *keep[3], *t;
    for (int i = 0; i < 3; i++)
        keep[i] = ts[i] = loom_spawn(w, &ws[i], NULL);
    struct loom_as_completed it;
    loom_as_completed_init(&it, ts, 3, LOOM_MS(20));
    int rc;
    while ((rc = loom_as_completed_next(&it, &t)) != 0)
        T("next %s", rc == 1 ? st(loom_task_result(t)) : st(rc));
    loom_as_completed_close(&it);
    T("still pending [%s, %s, %s]", b(keep[0]), b(keep[1]), b(keep[2]));
    for (int i = 0; i < 3; i++) {
        loom_task_cancel(keep[i]);
        loom_task_release(keep[i]);
    }
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
