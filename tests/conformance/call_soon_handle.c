#include "conf.h"

/* call_soon returns a handle that can be cancelled; cancelling a handle whose
 * call already ran (or was cancelled) does nothing, even after new calls. */

static void say(void *arg) { T("%s", (const char *)arg); }

static intptr_t main_task(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    struct loom_call a, b, c, d, e;
    loom_call_soon_handle(loop, say, "A runs", &a);
    loom_call_soon_handle(loop, say, "B runs", &b);
    loom_call_cancel(&b);
    loom_yield();
    loom_call_soon_handle(loop, say, "C runs", &c); /* may reuse a's or b's record */
    loom_call_cancel(&a);
    loom_call_cancel(&b);
    loom_yield();
    loom_call_later_handle(loop, LOOM_MS(1), say, "D runs", &d);
    loom_call_later_handle(loop, LOOM_MS(2), say, "E runs", &e);
    loom_call_cancel(&d);
    loom_sleep(LOOM_MS(50));
    loom_call_cancel(&e);
    T("end");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
