/* stack.c - task stacks.
 *
 * Each stack is one anonymous mapping, committed lazily by the kernel as it is
 * touched, with a guard page at the low end. The guard uses MADV_GUARD_INSTALL
 * (Linux >= 6.13), probed once: it does not split the mapping, so 100,000 stacks
 * stay 100,000 VMAs, while an mprotect guard makes two each and hits
 * vm.max_map_count near 32k stacks. A fresh stack costs ~10 us of syscalls; the
 * per-loop pool makes reuse a list pop.
 *
 * The guard is as large as the stack itself (address space only: nothing is
 * committed): a frame that jumps further than one page below the stack (a big
 * local array in code built without -fstack-clash-protection) still lands in
 * this stack's guard, not in the neighbouring mapping, which may be another
 * task's stack. overflow.c reports a fault in a guard before the process dies. */
#include "reactor/stack_internal.h"

#include "reactor/compat.h"
#include "reactor/loop_internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef LOOM_ASAN
#include <sanitizer/asan_interface.h>
#endif
#ifdef LOOM_HAVE_VALGRIND
#include <valgrind/valgrind.h>
#endif

static atomic_int guard_kind = -1; /* -1 unknown, 1 madvise, 0 mprotect */

/* Atomic: loops started at once in several threads all read it (relaxed is
 * enough, every thread computes the same value). */
static size_t page_size(void)
{
    static atomic_size_t ps;
    size_t v = atomic_load_explicit(&ps, memory_order_relaxed);
    if (!v) {
        v = (size_t)sysconf(_SC_PAGESIZE);
        atomic_store_explicit(&ps, v, memory_order_relaxed);
    }
    return v;
}

static size_t round_page(size_t n)
{
    size_t ps = page_size();
    return (n + ps - 1) & ~(ps - 1);
}

static int install_guard(void *page, size_t len)
{
#ifdef __linux__
    int kind = atomic_load(&guard_kind);
    if (kind != 0) {
        if (madvise(page, len, MADV_GUARD_INSTALL) == 0) {
            atomic_store(&guard_kind, 1);
            return 0;
        }
        if (kind == 1)
            return -errno;
        atomic_store(&guard_kind, 0); /* EINVAL: kernel without guard regions */
    }
#else
    atomic_store(&guard_kind, 0);
#endif
    return mprotect(page, len, PROT_NONE) < 0 ? -errno : 0;
}

int loom__stack_guard_kind(void) { return atomic_load(&guard_kind); }

static int stack_map(size_t size, struct loom__stack **out)
{
    size_t usable = round_page(size + sizeof(struct loom__stack));
    size_t guard = round_page(size);
    size_t len = usable + guard;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
#ifdef MAP_STACK
    flags |= MAP_STACK;
#endif
    void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (map == MAP_FAILED)
        return errno == ENOMEM ? -ENOMEM : -errno;
    int rc = install_guard(map, guard);
    if (rc < 0) {
        munmap(map, len);
        return rc;
    }
    uintptr_t top = (uintptr_t)map + len;
    struct loom__stack *s = (struct loom__stack *)((top - sizeof(*s)) & ~(uintptr_t)63);
    s->map = map;
    s->map_size = len;
    s->lo = (char *)map + guard;
    s->size = (size_t)((uintptr_t)s - (uintptr_t)s->lo);
    s->req_size = size;
    loom_list_init(&s->node);
#ifdef LOOM_HAVE_VALGRIND
    s->valgrind_id = VALGRIND_STACK_REGISTER(s->lo, (char *)s->lo + s->size);
#endif
    *out = s;
    return 0;
}

static void stack_unmap(struct loom__stack *s)
{
#ifdef LOOM_HAVE_VALGRIND
    VALGRIND_STACK_DEREGISTER(s->valgrind_id);
#endif
#ifdef LOOM_ASAN
    /* Frames that never returned (the task's entry) leave poison behind; the
     * next mapping at this address must not inherit it. */
    ASAN_UNPOISON_MEMORY_REGION(s->lo, s->size);
#endif
    munmap(s->map, s->map_size);
}

static size_t clamp_size(size_t size) { return size < 16 * 1024 ? 16 * 1024 : size; }

int loom__stack_get(struct loom_loop *loop, size_t size, struct loom__stack **out)
{
    if (size == 0 || size == loop->stack_size) {
        struct loom_list *n = loom_list_pop_front(&loop->free_stacks);
        if (n) {
            loop->nfree_stacks--;
            *out = loom_list_entry(n, struct loom__stack, node);
            return 0;
        }
        size = loop->stack_size;
    }
    return stack_map(clamp_size(size), out);
}

void loom__stack_put(struct loom_loop *loop, struct loom__stack *s)
{
    if (s->req_size != clamp_size(loop->stack_size) || loop->nfree_stacks >= loop->stack_cache) {
        stack_unmap(s);
        return;
    }
#ifdef LOOM_ASAN
    /* The last task may have left poisoned redzones on this stack. */
    ASAN_UNPOISON_MEMORY_REGION(s->lo, s->size);
#endif
    loom_list_push_front(&loop->free_stacks, &s->node); /* LIFO: reuse warm pages */
    loop->nfree_stacks++;
}

void loom__stacks_free(struct loom_loop *loop)
{
    struct loom_list *n;
    while ((n = loom_list_pop_front(&loop->free_stacks)))
        stack_unmap(loom_list_entry(n, struct loom__stack, node));
    loop->nfree_stacks = 0;
}
