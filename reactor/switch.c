/* switch.c - building first frames for the asm switch, and the ucontext fallback. */
#include "reactor/switch.h"

#include <signal.h>
#include <stdint.h>
#include <string.h>

#ifdef LOOM_SWITCH_UCONTEXT

/* makecontext passes int arguments only: split the pointer into two halves. */
static void uc_trampoline(unsigned hi, unsigned lo)
{
    struct loom__ctx *ctx = (struct loom__ctx *)(((uintptr_t)hi << 32) | (uintptr_t)lo);
    ctx->entry(ctx->arg);
}

void loom__ctx_make(struct loom__ctx *ctx, void *stack_lo, size_t size, void (*entry)(void *),
                    void *arg)
{
    uintptr_t p = (uintptr_t)ctx;
    getcontext(&ctx->uc);
    ctx->uc.uc_stack.ss_sp = stack_lo;
    ctx->uc.uc_stack.ss_size = size;
    ctx->uc.uc_link = NULL;
    ctx->entry = entry;
    ctx->arg = arg;
    makecontext(&ctx->uc, (void (*)(void))uc_trampoline, 2, (unsigned)(p >> 32),
                (unsigned)(p & 0xffffffffu));
}

/* swapcontext also installs to's saved signal mask; keep the thread's current
 * one instead, as the asm switch does: signal.c blocks signals for signalfd
 * from whatever context watches them, and a task or the scheduler switching
 * back to a stale mask would unblock them (one more syscall per switch). */
void loom__ctx_switch(struct loom__ctx *from, struct loom__ctx *to)
{
    pthread_sigmask(SIG_SETMASK, NULL, &to->uc.uc_sigmask);
    swapcontext(&from->uc, &to->uc);
}

const char *loom__ctx_kind(void) { return "ucontext"; }

#else

void loom__switch_trampoline(void);

void loom__ctx_make(struct loom__ctx *ctx, void *stack_lo, size_t size, void (*entry)(void *),
                    void *arg)
{
    uintptr_t top = ((uintptr_t)stack_lo + size) & ~(uintptr_t)15;
#if defined(__x86_64__)
    /* See switch_x86_64.S for the layout; slots are 8 bytes. The FP control
     * state is the creator's, as a new thread inherits it (and makecontext). */
    uint32_t mxcsr;
    uint16_t cw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    uint64_t *f = (uint64_t *)(top - 64);
    memset(f, 0, 64);
    f[0] = mxcsr | ((uint64_t)cw << 32);
    f[3] = (uint64_t)(uintptr_t)entry; /* r13 */
    f[4] = (uint64_t)(uintptr_t)arg;   /* r12 */
    f[7] = (uint64_t)(uintptr_t)loom__switch_trampoline;
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr)); /* the creator's, as above */
    uint64_t *f = (uint64_t *)(top - 176);
    memset(f, 0, 176);
    f[20] = fpcr;
    f[0] = (uint64_t)(uintptr_t)arg;                      /* x19 */
    f[1] = (uint64_t)(uintptr_t)entry;                    /* x20 */
    f[11] = (uint64_t)(uintptr_t)loom__switch_trampoline; /* x30 */
#endif
    ctx->sp = f;
}

const char *loom__ctx_kind(void) { return "asm"; }

#endif
