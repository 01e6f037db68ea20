/* stack_internal.h - task stacks: guarded, lazily committed mmap regions kept
 * in a per-loop pool. */
#ifndef LOOM_REACTOR_STACK_INTERNAL_H
#define LOOM_REACTOR_STACK_INTERNAL_H

#include <stddef.h>

#include "reactor/list.h"

struct loom_loop;

/* Lives in the top bytes of its own mapping, so a stack costs no malloc. */
struct loom__stack {
    struct loom_list node; /* in the loop's free pool */
    void *map;             /* start of the mapping: the guard, [map, lo) */
    size_t map_size;
    void *lo; /* usable stack: [lo, lo + size) */
    size_t size;
    size_t req_size; /* the size asked for (reported on overflow) */
    unsigned valgrind_id;
};

/* A stack of at least size bytes (0: the loop's default). 0, -ENOMEM or -EAGAIN. */
int loom__stack_get(struct loom_loop *loop, size_t size, struct loom__stack **out);

/* Give a stack back; the pool keeps default-sized ones up to its cap. */
void loom__stack_put(struct loom_loop *loop, struct loom__stack *s);

/* Whether guard pages use MADV_GUARD_INSTALL (1) or mprotect (0). */
int loom__stack_guard_kind(void);

#endif
