/* queue.c - FIFO, LIFO and priority queues of caller-owned pointers.
 *
 * Storage is one array of slots: a ring for FIFO/LIFO (push at the tail; FIFO
 * pops the head, LIFO the tail) and a binary heap for the priority queue
 * (O(log n) per operation, ties broken by insertion number so they stay
 * FIFO). It doubles on demand, never past maxsize.
 *
 * A put that finds getters waiting (the queue is then empty) hands its item
 * straight to the oldest one. The item still counts in the size (_inflight)
 * until that getter runs, so the room for a cancelled getter to give it back
 * always exists. A get that frees room admits the oldest waiting put. */
#include <errno.h>
#include <stdlib.h>

#include "reactor/park.h"
#include "sync/sync.h"

/* A getter or putter: the wait record plus the item handed over (get) or offered (put). */
struct qwaiter {
    struct loom_waiter w;
    struct loom__qslot slot;
};

enum { MIN_CAP = 8 };

static void queue_init(struct loom_queue *q, enum loom_queue_kind kind, size_t maxsize,
                       loom_queue_cmp cmp)
{
    *q = (struct loom_queue){._kind = kind, ._maxsize = maxsize, ._cmp = cmp};
    loom_list_init(&q->_getters);
    loom_list_init(&q->_putters);
    loom_list_init(&q->_joiners);
}

void loom_queue_init(struct loom_queue *q, size_t maxsize)
{
    queue_init(q, LOOM_QUEUE_FIFO, maxsize, NULL);
}

void loom_lifo_queue_init(struct loom_queue *q, size_t maxsize)
{
    queue_init(q, LOOM_QUEUE_LIFO, maxsize, NULL);
}

void loom_priority_queue_init(struct loom_queue *q, size_t maxsize, loom_queue_cmp cmp)
{
    queue_init(q, LOOM_QUEUE_PRIORITY, maxsize, cmp);
}

void loom_queue_close(struct loom_queue *q)
{
    loom_waiter_fail_all(&q->_joiners, -ESHUTDOWN); /* before the drop would release them */
    loom_queue_shutdown_immediate(q);
    free(q->_slots);
    q->_slots = NULL;
    q->_cap = q->_len = q->_head = 0;
}

size_t loom_queue_size(const struct loom_queue *q) { return q->_len + q->_inflight; }
size_t loom_queue_maxsize(const struct loom_queue *q) { return q->_maxsize; }
bool loom_queue_empty(const struct loom_queue *q) { return loom_queue_size(q) == 0; }

bool loom_queue_full(const struct loom_queue *q)
{
    return q->_maxsize > 0 && loom_queue_size(q) >= q->_maxsize;
}

/* --- storage --- */

static struct loom__qslot *slot_at(struct loom_queue *q, size_t i)
{
    return &q->_slots[(q->_head + i) % q->_cap];
}

/* Make room for n slots, unwrapping the ring into the new array. */
static int reserve(struct loom_queue *q, size_t n)
{
    if (n <= q->_cap)
        return 0;
    size_t cap = q->_cap ? q->_cap * 2 : MIN_CAP;
    if (q->_maxsize > 0 && cap > q->_maxsize)
        cap = q->_maxsize;
    if (cap < n)
        cap = n;
    struct loom__qslot *s = malloc(cap * sizeof(*s));
    if (!s)
        return -ENOMEM;
    for (size_t i = 0; i < q->_len; i++)
        s[i] = *slot_at(q, i);
    free(q->_slots);
    q->_slots = s;
    q->_cap = cap;
    q->_head = 0;
    return 0;
}

static bool before(const struct loom_queue *q, const struct loom__qslot *a,
                   const struct loom__qslot *b)
{
    int c = q->_cmp(a->item, b->item);
    return c < 0 || (c == 0 && a->seq < b->seq);
}

static void swap(struct loom__qslot *a, struct loom__qslot *b)
{
    struct loom__qslot t = *a;
    *a = *b;
    *b = t;
}

static void heap_push(struct loom_queue *q, struct loom__qslot s)
{
    size_t i = q->_len++;
    q->_slots[i] = s;
    while (i > 0 && before(q, &q->_slots[i], &q->_slots[(i - 1) / 2])) {
        swap(&q->_slots[i], &q->_slots[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
}

static struct loom__qslot heap_pop(struct loom_queue *q)
{
    struct loom__qslot top = q->_slots[0];
    q->_slots[0] = q->_slots[--q->_len];
    for (size_t i = 0;;) {
        size_t m = i, l = 2 * i + 1, r = l + 1;
        if (l < q->_len && before(q, &q->_slots[l], &q->_slots[m]))
            m = l;
        if (r < q->_len && before(q, &q->_slots[r], &q->_slots[m]))
            m = r;
        if (m == i)
            break;
        swap(&q->_slots[i], &q->_slots[m]);
        i = m;
    }
    return top;
}

/* Store s (room was reserved). front: where the next get finds it. */
static void store(struct loom_queue *q, struct loom__qslot s, bool front)
{
    if (q->_kind == LOOM_QUEUE_PRIORITY) {
        heap_push(q, s);
    } else if (front && q->_kind == LOOM_QUEUE_FIFO) {
        q->_head = (q->_head + q->_cap - 1) % q->_cap;
        q->_slots[q->_head] = s;
        q->_len++;
    } else {
        *slot_at(q, q->_len++) = s;
    }
}

static struct loom__qslot take(struct loom_queue *q)
{
    if (q->_kind == LOOM_QUEUE_PRIORITY)
        return heap_pop(q);
    if (q->_kind == LOOM_QUEUE_LIFO)
        return *slot_at(q, --q->_len);
    struct loom__qslot s = q->_slots[q->_head];
    q->_head = (q->_head + 1) % q->_cap;
    q->_len--;
    return s;
}

/* --- moving items --- */

/* s enters the queue (room is reserved): to the oldest getter, else storage. */
static void deliver(struct loom_queue *q, struct loom__qslot s, bool front)
{
    struct loom_list *n = q->_getters.next;
    if (n == &q->_getters) {
        store(q, s, front);
        return;
    }
    loom_list_entry(n, struct qwaiter, w.node)->slot = s;
    q->_inflight++;
    loom_waiter_grant(&q->_getters, 1);
}

static int insert(struct loom_queue *q, void *item)
{
    int rc = reserve(q, loom_queue_size(q) + 1);
    if (rc < 0)
        return rc;
    q->_unfinished++;
    deliver(q, (struct loom__qslot){item, q->_seq++}, false);
    return 0;
}

/* Room was freed: let waiting puts in, oldest first. */
static void admit_putters(struct loom_queue *q)
{
    while (!loom_list_empty(&q->_putters) && !loom_queue_full(q)) {
        struct qwaiter *w = loom_list_entry(q->_putters.next, struct qwaiter, w.node);
        int rc = insert(q, w->slot.item);
        loom_waiter_grant(&q->_putters, rc < 0 ? rc : 1);
    }
}

/* n items left the queue without being processed: they count as done. */
static void drop_unfinished(struct loom_queue *q, size_t n)
{
    q->_unfinished = n < q->_unfinished ? q->_unfinished - n : 0;
    if (q->_unfinished == 0)
        loom_waiter_fail_all(&q->_joiners, 1);
}

/* --- operations --- */

int loom_queue_put_nowait(struct loom_queue *q, void *item)
{
    if (q->_shutdown)
        return -ESHUTDOWN;
    if (loom_queue_full(q) || !loom_list_empty(&q->_putters))
        return -EAGAIN;
    return insert(q, item);
}

int loom_queue_put(struct loom_queue *q, void *item, int64_t timeout_ns)
{
    int rc = loom_queue_put_nowait(q, item);
    if (rc != -EAGAIN)
        return rc;
    struct qwaiter qw = {.slot.item = item};
    struct loom_waiter *w = &qw.w;
    rc = loom_waiter_park_for(&q->_putters, w, timeout_ns);
    if (w->code == 1) {
        /* The item is in and may already be taken: keep the put, deliver the
         * cancellation at the next suspension instead. */
        if (rc == -ECANCELED)
            loom_task_cancel(w->task);
        return 0;
    }
    return loom_waiter_result(rc, w);
}

int loom_queue_get_nowait(struct loom_queue *q, void **item)
{
    if (q->_len == 0)
        return q->_shutdown ? -ESHUTDOWN : -EAGAIN;
    *item = take(q).item;
    admit_putters(q);
    return 0;
}

int loom_queue_get(struct loom_queue *q, void **item, int64_t timeout_ns)
{
    int rc = loom_queue_get_nowait(q, item);
    if (rc != -EAGAIN)
        return rc;
    struct qwaiter qw;
    rc = loom_waiter_park_for(&q->_getters, &qw.w, timeout_ns);
    if (qw.w.code != 1)
        return loom_waiter_result(rc, &qw.w);
    q->_inflight--;
    if (rc == -ECANCELED && q->_immediate && q->_slots) {
        drop_unfinished(q, 1); /* shut down immediately meanwhile: the item goes */
        return rc;
    }
    if (rc == -ECANCELED && q->_slots) {
        deliver(q, qw.slot, true); /* back where the next get finds it */
        return rc;
    }
    if (rc == -ECANCELED)            /* closed meanwhile (storage freed): keep the item, */
        loom_task_cancel(qw.w.task); /* and get the cancellation at the next suspension */
    *item = qw.slot.item;
    admit_putters(q);
    return 0;
}

int loom_queue_task_done(struct loom_queue *q)
{
    if (q->_unfinished == 0)
        return -EINVAL;
    if (--q->_unfinished == 0)
        loom_waiter_fail_all(&q->_joiners, 1);
    return 0;
}

int loom_queue_join(struct loom_queue *q, int64_t timeout_ns)
{
    if (q->_unfinished == 0)
        return 0;
    struct loom_waiter w;
    int rc = loom_waiter_park_for(&q->_joiners, &w, timeout_ns);
    if (w.code == 1 && rc != -ECANCELED)
        return 0;
    return loom_waiter_result(rc, &w);
}

/* asyncio 3.13: puts and gets that wait are failed; joiners wait for task_done. */
void loom_queue_shutdown(struct loom_queue *q)
{
    q->_shutdown = true;
    loom_waiter_fail_all(&q->_getters, -ESHUTDOWN);
    loom_waiter_fail_all(&q->_putters, -ESHUTDOWN);
}

void loom_queue_shutdown_immediate(struct loom_queue *q)
{
    q->_immediate = true;
    size_t n = q->_len;
    q->_len = q->_head = 0;
    if (n)
        drop_unfinished(q, n);
    loom_queue_shutdown(q);
}
