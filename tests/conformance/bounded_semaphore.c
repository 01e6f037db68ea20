#include "conf.h"

static intptr_t main_task(void *arg)
{
    struct loom_semaphore s;
    loom_bounded_semaphore_init(&s, 1);
    loom_semaphore_acquire(&s, -1);
    T("locked %s", loom_semaphore_locked(&s) ? "True" : "False");
    loom_semaphore_release(&s);
    if (loom_semaphore_release(&s) == -EOVERFLOW)
        T("second release refused");
    else
        T("second release accepted");
    T("locked %s", loom_semaphore_locked(&s) ? "True" : "False");
    loom_semaphore_close(&s);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
