#include "conf.h"

static void cb(void *arg) { T("%s", (const char *)arg); }

static void a(void *arg)
{
    T("A");
    loom_call_soon(loom_loop_current(), cb, "C (from A)");
}

static intptr_t main_task(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    loom_call_soon(loop, a, NULL);
    loom_call_soon(loop, cb, "B");
    loom_yield();
    T("main 1");
    loom_yield();
    T("main 2");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
