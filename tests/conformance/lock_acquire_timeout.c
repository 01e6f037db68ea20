#include "conf.h"

static intptr_t main_task(void *arg)
{
    struct loom_lock l;
    loom_lock_init(&l);
    loom_lock_acquire(&l, -1);
    T("acquire %s", st(loom_lock_acquire(&l, LOOM_MS(10))));
    T("locked %s", loom_lock_locked(&l) ? "True" : "False");
    loom_lock_release(&l);
    T("acquire %s", st(loom_lock_acquire(&l, LOOM_MS(10))));
    loom_lock_release(&l);
    loom_lock_close(&l);
    return 0;
}

int main(void) { return (int)loom_run(main_task, NULL); }
