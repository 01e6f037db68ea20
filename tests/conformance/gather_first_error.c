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
    if (x->fail) {
        T("w %d fails", x->n);
        return FAIL;
    }
    T("w %d done", x->n);
    return x->n;
}

static const char *b(struct loom_task *t) { return loom_task_done(t) ? "True" : "False"; }

static intptr_t main_task(void *arg)
{
    static struct w ws[] = {{1, 3, false}, {2, 1, true}, {3, 2, true}};
    struct loom_task *ts[3], *keep[3];
    for (int i = 0; i < 3; i++)
        keep[i] = loom_task_ref(ts[i] = loom_spawn(w, &ws[i], NULL));
    T("gather %s", st(loom_gather(ts, 3, NULL, 0)));
    T("others running [%s, %s, %s]", b(keep[0]), b(keep[1]), b(keep[2]));
    loom_sleep(LOOM_MS(10));
    T("later [%s, %s, %s]", b(keep[0]), b(keep[1]), b(keep[2]));
    for (int i = 0; i < 3; i++)
        loom_task_release(keep[i]);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
