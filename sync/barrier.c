/* barrier.c - Barrier (asyncio.Barrier).
 *
 * Unlike asyncio's, which lets the released tasks drain before a new round
 * may fill, the last arrival grants every waiter its pass in its wait record
 * and the round ends at once: the granted tasks need nothing more from the
 * barrier, so a task arriving next simply starts the next round. */
#include <errno.h>

#include "reactor/park.h"
#include "sync/sync.h"

/* A waiting task: the wait record and its arrival index. */
struct bwaiter {
    struct loom_waiter w;
    size_t index;
};

int loom_barrier_init(struct loom_barrier *b, size_t parties)
{
    if (!b || parties == 0)
        return -EINVAL;
    *b = (struct loom_barrier){._parties = parties};
    loom_list_init(&b->_waiters);
    return 0;
}

void loom_barrier_close(struct loom_barrier *b) { loom_barrier_abort(b); }

static void fail_round(struct loom_barrier *b)
{
    b->_count = 0;
    loom_waiter_fail_all(&b->_waiters, -EPIPE);
}

void loom_barrier_reset(struct loom_barrier *b)
{
    fail_round(b);
    b->_broken = false;
}

void loom_barrier_abort(struct loom_barrier *b)
{
    b->_broken = true;
    fail_round(b);
}

int loom_barrier_wait(struct loom_barrier *b, int64_t timeout_ns)
{
    if (b->_broken)
        return -EPIPE;
    size_t index = b->_count;
    if (index + 1 == b->_parties) {
        b->_count = 0;
        loom_waiter_fail_all(&b->_waiters, 1); /* everyone passes */
        return (int)index;
    }
    if (!loom_task_current())
        return -EPERM;
    struct bwaiter bw = {.index = index};
    b->_count++;
    int rc = loom_waiter_park_for(&b->_waiters, &bw.w, timeout_ns);
    if (bw.w.code == 0)
        b->_count--; /* left the round before it passed */
    if (bw.w.code == 1 && rc != -ECANCELED)
        return (int)bw.index;
    return loom_waiter_result(rc, &bw.w);
}

size_t loom_barrier_parties(const struct loom_barrier *b) { return b->_parties; }
size_t loom_barrier_n_waiting(const struct loom_barrier *b) { return b->_count; }
bool loom_barrier_broken(const struct loom_barrier *b) { return b->_broken; }
