/* switch.h - saving and restoring execution contexts for tasks.
 *
 * Two implementations, chosen at build time:
 *  - assembly (default on x86-64 and aarch64): saves only what the ABI says a
 *    call preserves - x86-64: rbx, rbp, r12-r15, rsp, MXCSR and the x87
 *    control word; aarch64: x19-x29, lr, sp, d8-d15 and FPCR. No syscall.
 *  - ucontext (-DLOOM_SWITCH_UCONTEXT, `make SWITCH=ucontext`): makecontext
 *    and swapcontext, which also save the signal mask (one syscall a switch).
 *
 * The asm path builds a new context's first frame itself, which is what
 * makecontext does minus the signal-mask bookkeeping. Either way a new task
 * starts with the FP control state (rounding mode, exception masks) of the
 * code that spawned it, as a new thread does; afterwards each task keeps its own. */
#ifndef LOOM_REACTOR_SWITCH_H
#define LOOM_REACTOR_SWITCH_H

#include <stddef.h>

#if !defined(LOOM_SWITCH_UCONTEXT) && !defined(__x86_64__) && !defined(__aarch64__)
#define LOOM_SWITCH_UCONTEXT 1
#endif

#ifdef LOOM_SWITCH_UCONTEXT
#include <ucontext.h>
struct loom__ctx {
    ucontext_t uc;
    void (*entry)(void *);
    void *arg;
};
#else
struct loom__ctx {
    void *sp; /* saved stack pointer; the registers sit on the stack below it */
};
#endif

/* Prepare ctx to run entry(arg) on [stack_lo, stack_lo + size) when first
 * switched to. entry must never return. */
void loom__ctx_make(struct loom__ctx *ctx, void *stack_lo, size_t size, void (*entry)(void *),
                    void *arg);

/* Save the current context into from and resume to. loom__ctx_handoff is the
 * same, tuned for two contexts suspended at the same call site (a task -> task
 * hand-off; see switch_x86_64.S). */
#ifdef LOOM_SWITCH_UCONTEXT
void loom__ctx_switch(struct loom__ctx *from, struct loom__ctx *to);
static inline void loom__ctx_handoff(struct loom__ctx *from, struct loom__ctx *to)
{
    loom__ctx_switch(from, to);
}
#else
void loom__switch_asm(void **from_sp, void *to_sp);
static inline void loom__ctx_switch(struct loom__ctx *from, struct loom__ctx *to)
{
    loom__switch_asm(&from->sp, to->sp);
}
#if defined(__x86_64__)
void loom__switch_asm_ret(void **from_sp, void *to_sp);
static inline void loom__ctx_handoff(struct loom__ctx *from, struct loom__ctx *to)
{
    loom__switch_asm_ret(&from->sp, to->sp);
}
#else
static inline void loom__ctx_handoff(struct loom__ctx *from, struct loom__ctx *to)
{
    loom__switch_asm(&from->sp, to->sp);
}
#endif
#endif

/* "asm" or "ucontext". */
const char *loom__ctx_kind(void);

#endif
