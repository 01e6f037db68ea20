#include "conf.h"

static void cb(void *arg) { T("%s", (const char *)arg); }

static intptr_t child(void *arg)
{
    T("child %s step 1", (const char *)arg);
    loom_yield();
    T("child %s step 2", (const char *)arg);
    return 0;
}

static intptr_t main_task(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    struct loom_task *a = loom_spawn(child, "a", NULL);
    loom_call_soon(loop, cb, "soon 1");
    struct loom_task *b = loom_spawn(child, "b", NULL);
    loom_call_soon(loop, cb, "soon 2");
    T("main spawned");
    loom_yield();
    T("main resumed");
    loom_task_join(a);
    loom_task_join(b);
    T("end");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
