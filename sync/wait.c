/* wait.c - wait records: park on a waiter list, grant, fail. */
#include <errno.h>

#include "sync/sync_internal.h"

int loom__sync_wait_until(struct loom_list *waiters, struct loom__sync_wait *w, int64_t deadline)
{
    w->task = loom__task_current();
    w->code = 0;
    if (!w->task)
        return -EPERM;
    loom_list_push_back(waiters, &w->node);
    int rc;
    /* A stray wake (code 0, record still linked) parks again. */
    do
        rc = loom__task_park(w->task, deadline);
    while (rc == 0 && w->code == 0);
    if (loom_list_linked(&w->node))
        loom_list_remove(&w->node);
    return rc;
}

int loom__sync_wait(struct loom_list *waiters, struct loom__sync_wait *w, int64_t timeout_ns)
{
    struct loom_task *t = loom__task_current();
    if (!t) {
        w->code = 0;
        return -EPERM;
    }
    return loom__sync_wait_until(waiters, w, loom__deadline(t->loop, timeout_ns));
}

struct loom__sync_wait *loom__sync_grant(struct loom_list *waiters, int code)
{
    struct loom_list *n = loom_list_pop_front(waiters);
    if (!n)
        return NULL;
    struct loom__sync_wait *w = loom_list_entry(n, struct loom__sync_wait, node);
    w->code = code;
    loom__task_wake(w->task, 0);
    return w;
}

void loom__sync_fail_all(struct loom_list *waiters, int code)
{
    while (loom__sync_grant(waiters, code))
        ;
}

int loom__sync_result(int park_rc, const struct loom__sync_wait *w)
{
    if (park_rc == -ECANCELED || w->code >= 0)
        return park_rc;
    return w->code;
}
