#include "conf.h"

static intptr_t w(void *arg)
{
    int n = (int)(intptr_t)arg;
    int rc = loom_sleep(LOOM_MS(10) * n);
    if (rc < 0)
        return rc;
    T("w %d done", n);
    return n;
}

static intptr_t main_task(void *arg)
{
    struct loom_task *ts[3], *keep[3];
    for (int i = 0; i < 3; i++)
        keep[i] = loom_task_ref(ts[i] = loom_spawn(w, (void *)(intptr_t)(i + 1), NULL));
    loom_yield();
    loom_task_cancel(ts[1]);
    T("gather %s", st(loom_gather(ts, 3, NULL, 0)));
    loom_sleep(LOOM_MS(50));
    T("states %s %s %s", loom_task_done(keep[0]) ? "True" : "False",
      loom_task_done(keep[1]) ? "True" : "False", loom_task_done(keep[2]) ? "True" : "False");
    for (int i = 0; i < 3; i++)
        loom_task_release(keep[i]);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
