#include "conf.h"

static void cb(void *arg) { T("%s", (const char *)arg); }

static intptr_t main_task(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    loom_call_later(loop, 0, cb, "later0 A", NULL);
    loom_call_soon(loop, cb, "soon B");
    loom_sleep(LOOM_MS(10));
    T("end");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
