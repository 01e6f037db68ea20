#include "conf.h"

static void fcb(struct loom_future *f, void *arg)
{
    if (*(const char *)arg == 'A')
        T("cb A cancelled %s", loom_future_cancelled(f) ? "True" : "False");
    else
        T("%s", (const char *)arg);
}

static intptr_t main_task(void *arg)
{
    struct loom_future f;
    struct loom_future_callback a, b, c, d;
    loom_future_init(&f);
    loom_future_add_done_callback(&f, &a, fcb, "A");
    loom_future_add_done_callback(&f, &b, fcb, "cb B (removed)");
    loom_future_add_done_callback(&f, &c, fcb, "cb C");
    T("removed %d", loom_future_remove_done_callback(&b) ? 1 : 0);
    T("cancel %s", loom_future_cancel(&f) ? "True" : "False");
    T("cancel again %s", loom_future_cancel(&f) ? "True" : "False");
    if (loom_future_set_result(&f, 1) == -EINVAL)
        T("set_result refused");
    loom_yield();
    loom_future_add_done_callback(&f, &d, fcb, "late cb");
    T("late added");
    loom_yield();
    T("end");
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
