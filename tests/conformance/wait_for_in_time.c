#include "conf.h"

static intptr_t inner(void *arg)
{
    loom_yield();
    T("inner done");
    return 3;
}

static intptr_t main_task(void *arg)
{
    T("wait_for %s", st(loom_wait_for(loom_spawn(inner, NULL, NULL), LOOM_SEC(5))));
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
