#include "conf.h"

static void soon(void *arg) { T("soon %s", (const char *)arg); }

static intptr_t main_task(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    loom_call_soon(loop, soon, "A");
    loom_call_soon(loop, soon, "B");
    loom_call_soon(loop, soon, "C");
    loom_yield();
    T("main after sleep0");
    loom_yield();
    T("end");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
