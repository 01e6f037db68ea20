#include "conf.h"

static intptr_t child(void *arg)
{
    T("child ran");
    return 1;
}

static intptr_t main_task(void *arg)
{
    struct loom_task *t = loom_spawn(child, NULL, NULL);
    T("cancel %s", loom_task_cancel(t) ? "True" : "False");
    loom_task_ref(t);
    T("join %s", st(loom_task_join(t)));
    T("cancelled %s", loom_task_cancelled(t) ? "True" : "False");
    loom_task_release(t);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
