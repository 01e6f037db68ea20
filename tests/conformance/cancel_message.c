#include "conf.h"

/* A cancel message (asyncio's cancel(msg)) is readable by the cancelled task. */

static intptr_t worker(void *arg)
{
    const char *who = arg;
    int rc = loom_sleep(LOOM_SEC(10));
    if (rc == -ECANCELED) {
        const char *msg = loom_task_cancel_message(loom_task_current());
        T("%s cancelled: %s", who, msg ? msg : "-");
    }
    return rc;
}

static intptr_t main_task(void *arg)
{
    struct loom_task *t = loom_spawn(worker, "worker", NULL);
    struct loom_task *p = loom_spawn(worker, "plain", NULL);
    loom_yield();
    loom_task_cancel_msg(t, "shutting down");
    loom_task_cancel(p);
    T("worker %s", st(loom_task_join(t)));
    T("plain %s", st(loom_task_join(p)));
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
