/* waiter.c - wait records: park on a FIFO waiter list, grant, fail (park.h). */
#include <errno.h>

#include "reactor/park.h"

int loom_waiter_park(struct loom_list *waiters, struct loom_waiter *w, int64_t deadline)
{
    w->task = loom_task_current();
    w->code = 0;
    if (!w->task)
        return -EPERM;
    loom_list_push_back(waiters, &w->node);
    int rc;
    /* A stray wake (code 0, record still linked) parks again. */
    do
        rc = loom_park(w->task, deadline);
    while (rc == 0 && w->code == 0);
    if (loom_list_linked(&w->node))
        loom_list_remove(&w->node);
    return rc;
}

int loom_waiter_park_for(struct loom_list *waiters, struct loom_waiter *w, int64_t timeout_ns)
{
    struct loom_task *t = loom_task_current();
    if (!t) {
        w->code = 0;
        return -EPERM;
    }
    return loom_waiter_park(waiters, w, loom_deadline(loom_task_loop(t), timeout_ns));
}

struct loom_waiter *loom_waiter_grant(struct loom_list *waiters, int code)
{
    struct loom_list *n = loom_list_pop_front(waiters);
    if (!n)
        return NULL;
    struct loom_waiter *w = loom_list_entry(n, struct loom_waiter, node);
    w->code = code;
    loom_wake(w->task, 0);
    return w;
}

void loom_waiter_fail_all(struct loom_list *waiters, int code)
{
    while (loom_waiter_grant(waiters, code))
        ;
}

int loom_waiter_result(int park_rc, const struct loom_waiter *w)
{
    if (park_rc == -ECANCELED || w->code >= 0)
        return park_rc;
    return w->code;
}
