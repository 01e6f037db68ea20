/* heap.h - binary min-heap of intrusive nodes keyed by (deadline, sequence).
 *
 * The node stores its own index, so removal is O(log n) without a search. The
 * sequence number breaks ties FIFO: two timers due at the same instant fire in
 * the order they were started. */
#ifndef LOOM_REACTOR_HEAP_H
#define LOOM_REACTOR_HEAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Embedded in what the heap orders (a timer). */
struct loom_heap_node {
    int64_t key;  /* deadline in ns of the loop clock */
    uint64_t seq; /* insertion order, for FIFO ties */
    size_t index; /* position in the heap array; SIZE_MAX when not in a heap */
};

/* The heap: an array of node pointers, grown as needed. */
struct loom_heap {
    struct loom_heap_node **nodes; /* array of capacity cap, count used */
    /* nodes in the heap */
    size_t count;
    /* slots allocated */
    size_t cap;
    /* the next node's seq */
    uint64_t next_seq;
};

void loom__heap_init(struct loom_heap *h);
void loom__heap_free(struct loom_heap *h);
/* Insert n with key; 0 or -ENOMEM (the heap is unchanged then). */
extern unsigned loom__heap_fail_after; /* tests: fail the n-th insert from now */
int loom__heap_insert(struct loom_heap *h, struct loom_heap_node *n, int64_t key);
/* Remove n, which must be in h. */
void loom__heap_remove(struct loom_heap *h, struct loom_heap_node *n);

static inline struct loom_heap_node *loom__heap_min(const struct loom_heap *h)
{
    return h->count ? h->nodes[0] : NULL;
}

static inline int loom__heap_contains(const struct loom_heap_node *n)
{
    return n->index != SIZE_MAX;
}

#ifdef __cplusplus
}
#endif
#endif
