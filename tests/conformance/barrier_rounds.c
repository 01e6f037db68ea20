#include "conf.h"

static struct loom_barrier b;

static intptr_t party(void *arg)
{
    int n = (int)(intptr_t)arg;
    for (int r = 0; r < 2; r++) {
        T("party %d arrives round %d", n, r);
        int i = loom_barrier_wait(&b, -1);
        T("party %d passes round %d index %d", n, r, i);
    }
    return 0;
}

static intptr_t main_task(void *arg)
{
    loom_barrier_init(&b, 3);
    struct loom_task *ts[3];
    for (int i = 0; i < 3; i++)
        ts[i] = loom_spawn(party, (void *)(intptr_t)i, NULL);
    for (int i = 0; i < 3; i++)
        loom_task_join(ts[i]);
    T("end");
    loom_barrier_close(&b);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
