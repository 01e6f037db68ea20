#include "conf.h"

static intptr_t child(void *arg)
{
    T("child start");
    if (loom_sleep(LOOM_SEC(10)) == -ECANCELED) {
        T("child cancelled");
        return -ECANCELED;
    }
    T("child woke");
    return 0;
}

static intptr_t main_task(void *arg)
{
    struct loom_task *t = loom_spawn(child, NULL, NULL);
    loom_yield();
    T("cancel returns %s", loom_task_cancel(t) ? "True" : "False");
    T("done after cancel %s", loom_task_done(t) ? "True" : "False");
    loom_task_ref(t);
    T("join %s", st(loom_task_join(t)));
    T("cancelled %s", loom_task_cancelled(t) ? "True" : "False");
    T("cancel again %s", loom_task_cancel(t) ? "True" : "False");
    loom_task_release(t);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
