#include "conf.h"

static const int ms[] = {0, 40, 10, 30, 20};

static intptr_t s(void *arg)
{
    int n = (int)(intptr_t)arg;
    loom_sleep(LOOM_MS(ms[n]));
    T("sleeper %d woke", n);
    return 0;
}

static intptr_t main_task(void *arg)
{
    struct loom_task *ts[4];
    for (int i = 0; i < 4; i++)
        ts[i] = loom_spawn(s, (void *)(intptr_t)(i + 1), NULL);
    for (int i = 0; i < 4; i++)
        loom_task_join(ts[i]);
    T("end");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
