#include "conf.h"

static intptr_t main_task(void *arg)
{
    struct loom_future f;
    loom_future_init(&f);
    T("await %s", st(loom_future_await(&f, LOOM_MS(10))));
    T("future cancelled %s", loom_future_cancelled(&f) ? "True" : "False");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
