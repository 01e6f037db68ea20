/* heap.c - array-backed binary heap; see heap.h. */
#include "reactor/heap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

static bool less(const struct loom_heap_node *a, const struct loom_heap_node *b)
{
    return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static void place(struct loom_heap *h, size_t i, struct loom_heap_node *n)
{
    h->nodes[i] = n;
    n->index = i;
}

static void sift_up(struct loom_heap *h, size_t i)
{
    struct loom_heap_node *n = h->nodes[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!less(n, h->nodes[parent]))
            break;
        place(h, i, h->nodes[parent]);
        i = parent;
    }
    place(h, i, n);
}

static void sift_down(struct loom_heap *h, size_t i)
{
    struct loom_heap_node *n = h->nodes[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->count)
            break;
        if (child + 1 < h->count && less(h->nodes[child + 1], h->nodes[child]))
            child++;
        if (!less(h->nodes[child], n))
            break;
        place(h, i, h->nodes[child]);
        i = child;
    }
    place(h, i, n);
}

void loom__heap_init(struct loom_heap *h)
{
    h->nodes = NULL;
    h->count = h->cap = 0;
    h->next_seq = 0;
}

void loom__heap_free(struct loom_heap *h)
{
    for (size_t i = 0; i < h->count; i++)
        h->nodes[i]->index = SIZE_MAX;
    free(h->nodes);
    loom__heap_init(h);
}

/* Fault injection for tests: when set to n > 0, the n-th insert from now
 * fails with -ENOMEM (so a test can reach the paths where arming a timer fails). */
unsigned loom__heap_fail_after;

int loom__heap_insert(struct loom_heap *h, struct loom_heap_node *n, int64_t key)
{
    if (__builtin_expect(loom__heap_fail_after != 0, 0) && --loom__heap_fail_after == 0)
        return -ENOMEM;
    if (h->count == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct loom_heap_node **nodes = realloc(h->nodes, cap * sizeof(*nodes));
        if (!nodes)
            return -ENOMEM;
        h->nodes = nodes;
        h->cap = cap;
    }
    n->key = key;
    n->seq = h->next_seq++;
    place(h, h->count++, n);
    sift_up(h, n->index);
    return 0;
}

void loom__heap_remove(struct loom_heap *h, struct loom_heap_node *n)
{
    size_t i = n->index;
    struct loom_heap_node *last = h->nodes[--h->count];
    n->index = SIZE_MAX;
    if (last == n)
        return;
    place(h, i, last);
    if (i > 0 && less(last, h->nodes[(i - 1) / 2]))
        sift_up(h, i);
    else
        sift_down(h, i);
}
