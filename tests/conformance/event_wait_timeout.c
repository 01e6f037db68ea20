#include "conf.h"

static void set(void *arg) { loom_event_set(arg); }

static intptr_t main_task(void *arg)
{
    struct loom_event e;
    loom_event_init(&e);
    int rc = loom_event_wait(&e, LOOM_MS(10));
    T("wait %s", st(rc == 0 ? 1 : rc));
    loom_call_later(loom_loop_current(), LOOM_MS(5), set, &e, NULL);
    rc = loom_event_wait(&e, LOOM_SEC(5));
    T("wait %s", st(rc == 0 ? 1 : rc));
    loom_event_close(&e);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
