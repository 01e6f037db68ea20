#include "conf.h"

static void cb(void *arg) { T("%s", (const char *)arg); }

static intptr_t main_task(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    struct loom_handle *h;
    loom_call_later(loop, LOOM_MS(30), cb, "30ms", NULL);
    loom_call_later(loop, LOOM_MS(10), cb, "10ms", NULL);
    loom_call_later(loop, LOOM_MS(20), cb, "20ms (cancelled)", &h);
    loom_call_later(loop, LOOM_MS(20), cb, "20ms", NULL);
    loom_handle_cancel(h);
    loom_sleep(LOOM_MS(50));
    T("end");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
