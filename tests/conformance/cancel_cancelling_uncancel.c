#include "conf.h"

/* cancelling() counts the cancellation requests not undone by uncancel(); two
 * requests before the task resumes are delivered once. */

static intptr_t worker(void *arg)
{
    struct loom_task *me = loom_task_current();
    if (loom_sleep(LOOM_SEC(10)) == -ECANCELED) {
        T("worker cancelled, cancelling %u", loom_task_cancelling(me));
        T("uncancel -> %u", loom_task_uncancel(me));
        T("uncancel -> %u", loom_task_uncancel(me));
        T("uncancel -> %u", loom_task_uncancel(me));
    }
    loom_yield();
    T("worker goes on");
    return 5;
}

static intptr_t main_task(void *arg)
{
    struct loom_task *t = loom_spawn(worker, NULL, NULL);
    T("cancelling before %u", loom_task_cancelling(t));
    loom_yield();
    T("cancel %s", loom_task_cancel(t) ? "True" : "False");
    T("cancel %s", loom_task_cancel(t) ? "True" : "False");
    T("cancelling %u", loom_task_cancelling(t));
    loom_task_ref(t);
    T("worker %s", st(loom_task_join(t)));
    T("cancel when done %s", loom_task_cancel(t) ? "True" : "False");
    T("cancelling when done %u", loom_task_cancelling(t));
    loom_task_release(t);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
