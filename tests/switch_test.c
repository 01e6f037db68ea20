/* switch_test.c - the context switch on its own, without Check: `make
 * qemu-aarch64` cross-builds it for aarch64 and runs it under qemu-user.
 *
 * Checks that tasks switch many times, that values the compiler keeps in
 * callee-saved integer and FP registers survive a switch, that each task keeps
 * its own FP control state (rounding mode, inherited from its spawner), that
 * task stacks are aligned as the ABI requires, and that the scheduler's own
 * state is untouched. Prints
 * "N passed, M failed" and exits non-zero on a failure. */
#include <fenv.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "reactor/switch.h"
#include "reactor/task.h"

static int passed, failed;

static void check(int ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL: %s\n", what);
    }
}

/* --- many switches between several tasks --- */

#define NPING 4
#define ROUNDS 20000

static long counters[NPING];
static int last_seen = -1, interleave_errors;

static intptr_t ping(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < ROUNDS; i++) {
        /* Round robin: the task before this one ran last. */
        if (last_seen != -1 && last_seen != (id + NPING - 1) % NPING)
            interleave_errors++;
        last_seen = id;
        counters[id]++;
        if (loom_yield() != 0)
            return -1;
    }
    return id;
}

/* --- callee-saved registers: many values live across each switch --- */

static volatile long seed_i = 7;
static volatile double seed_d = 1.25;

__attribute__((noinline)) static int keep_registers(int id)
{
    int bad = 0;
    for (long i = 0; i < 1000; i++) {
        long a = seed_i * id + i, b = a + 1, c = a * 3, d = a ^ 0x5555, e = a - 9, f = a * a;
        long g = a + 17, h = a * 11, k = a | 0x100, m = a + 1000;
        double x = seed_d * id + (double)i, y = x + 0.5, z = x * 3.0, w = x - 2.0;
        double u = x * x, v = x + 100.0, p = x / 3.0, q = x * 7.0;
        loom_yield(); /* all of the above are live across the switch */
        long ra = seed_i * id + i;
        double rx = seed_d * id + (double)i;
        bad += b != ra + 1 || c != ra * 3 || d != (ra ^ 0x5555) || e != ra - 9 || f != ra * ra;
        bad += g != ra + 17 || h != ra * 11 || k != (ra | 0x100) || m != ra + 1000 || a != ra;
        bad += y != rx + 0.5 || z != rx * 3.0 || w != rx - 2.0 || u != rx * rx;
        bad += v != rx + 100.0 || p != rx / 3.0 || q != rx * 7.0 || x != rx;
    }
    return bad;
}

static intptr_t register_task(void *arg) { return keep_registers((int)(intptr_t)arg); }

/* --- FP control state is per task --- */

static volatile double one = 1.0, three = 3.0;
static int round_errors;

static intptr_t rounding_task(void *arg)
{
    int mode = (int)(intptr_t)arg;
    if (fesetround(mode) != 0)
        return -1;
    volatile double hi_or_lo = one / three;
    for (int i = 0; i < 200; i++) {
        loom_yield();
        if (fegetround() != mode)
            round_errors++;
        volatile double again = one / three;
        if (again != hi_or_lo) /* same rounding as before the switch */
            round_errors++;
    }
    return 0;
}

static intptr_t default_rounding_task(void *arg)
{
    for (int i = 0; i < 200; i++) {
        if (fegetround() != FE_TONEAREST)
            round_errors++;
        loom_yield();
    }
    return 0;
}

/* A new task starts with its spawner's FP control state, as a thread does. */
static intptr_t report_rounding(void *arg) { return fegetround(); }

static intptr_t spawn_with_rounding(void *arg)
{
    fesetround((int)(intptr_t)arg);
    intptr_t child = loom_task_join(loom_spawn(report_rounding, NULL, NULL));
    fesetround(FE_TONEAREST);
    return child;
}

/* --- stack alignment, varargs with doubles, deep frames --- */

__attribute__((noinline)) static int deep(int n)
{
    volatile char buf[256];
    buf[0] = (char)n;
    if (n == 0)
        return buf[0];
    return deep(n - 1) + buf[0] - (char)n;
}

static intptr_t alignment_task(void *arg)
{
    _Alignas(16) volatile char probe[16];
    int ok = ((uintptr_t)probe & 15) == 0;
    char text[64];
    snprintf(text, sizeof(text), "%.3f %.1f", 3.14159, 2.5); /* FP varargs need alignment */
    ok &= strcmp(text, "3.142 2.5") == 0;
    ok &= deep(100) == 0;
    loom_yield();
    ok &= deep(200) == 0;
    return ok;
}

/* --- the driver --- */

static intptr_t main_task(void *arg)
{
    check(fegetround() == FE_TOWARDZERO, "the main task inherits the caller's rounding mode");
    fesetround(FE_TONEAREST);
    struct loom_task *t[NPING];
    for (int i = 0; i < NPING; i++)
        t[i] = loom_spawn(ping, (void *)(intptr_t)i, NULL);
    intptr_t r[NPING];
    check(loom_gather(t, NPING, r, 0) == 0, "ping tasks finish");
    for (int i = 0; i < NPING; i++)
        check(counters[i] == ROUNDS && r[i] == i, "each ping task ran every round");
    check(interleave_errors == 0, "ping tasks interleave round robin");

    struct loom_task *regs[3];
    for (int i = 0; i < 3; i++)
        regs[i] = loom_spawn(register_task, (void *)(intptr_t)(i + 1), NULL);
    intptr_t rr[3];
    check(loom_gather(regs, 3, rr, 0) == 0, "register tasks finish");
    for (int i = 0; i < 3; i++)
        check(rr[i] == 0, "callee-saved integer and FP registers survive switches");

    int before = fegetround();
    struct loom_task *fp[3];
    fp[0] = loom_spawn(rounding_task, (void *)(intptr_t)FE_UPWARD, "up");
    fp[1] = loom_spawn(rounding_task, (void *)(intptr_t)FE_DOWNWARD, "down");
    fp[2] = loom_spawn(default_rounding_task, NULL, "nearest");
    check(loom_gather(fp, 3, NULL, 0) == 0, "rounding tasks finish");
    check(round_errors == 0, "each task keeps its own rounding mode");
    check(fegetround() == before, "the caller's rounding mode is untouched");
    check(loom_task_join(loom_spawn(spawn_with_rounding, (void *)(intptr_t)FE_UPWARD, NULL)) ==
              FE_UPWARD,
          "a new task inherits its spawner's rounding mode");

    check(loom_task_join(loom_spawn(alignment_task, NULL, NULL)) == 1,
          "task stacks are 16-byte aligned; FP varargs and deep frames work");
    return 0;
}

int main(void)
{
    printf("switch: %s\n", loom__ctx_kind());
    /* The scheduler's own callee-saved state survives a whole run. */
    volatile double before = seed_d * 3.0;
    fesetround(FE_TOWARDZERO);
    check(loom_run(main_task, NULL) == 0, "loom_run");
    check(fegetround() == FE_TOWARDZERO, "the scheduler keeps its rounding mode");
    fesetround(FE_TONEAREST);
    check(before == seed_d * 3.0, "the scheduler's values survive");
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
