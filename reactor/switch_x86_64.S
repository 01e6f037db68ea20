/* switch_x86_64.S - context switch for the System V x86-64 ABI.
 *
 * void loom__switch_asm(void **from_sp, void *to_sp)
 * void loom__switch_asm_ret(void **from_sp, void *to_sp)
 * Push the callee-saved registers and the FP control state on the current
 * stack, store rsp in *from_sp, load to_sp and pop the same layout.
 * Frame, from the saved sp upwards: MXCSR (4 bytes), x87 CW (2 bytes, padded),
 * r15, r14, r13, r12, rbx, rbp, return address.
 *
 * The two differ in how they return, for the return-stack predictor:
 *  - loom__switch_asm ends in pop + jmp: between the scheduler and a task the
 *    call sites differ, a ret would always mispredict (~6 ns of the ~11).
 *  - loom__switch_asm_ret ends in ret: a direct task -> task hand-off mostly
 *    switches between two tasks suspended at the same call site, where the
 *    predictor's entry is right, and so are the rets that follow (pop + jmp
 *    would leave it one entry out and mispredict every one of them).
 * (Neither form would survive user-space shadow stacks, which Linux does not
 * enable.) */
#if defined(__x86_64__) && !defined(LOOM_SWITCH_UCONTEXT)
.macro LOOM_SWITCH name
    .globl \name
    .hidden \name
    .type \name, @function
    .p2align 4
\name:
    .cfi_startproc
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
.endm

    .text
    LOOM_SWITCH loom__switch_asm
    popq %rcx
    jmp *%rcx
    .cfi_endproc
    .size loom__switch_asm, .-loom__switch_asm

    LOOM_SWITCH loom__switch_asm_ret
    ret
    .cfi_endproc
    .size loom__switch_asm_ret, .-loom__switch_asm_ret

/* First code a new context runs: r12 = arg, r13 = entry. rsp is 16-aligned
 * here, so the call leaves entry with the alignment the ABI promises. */
    .globl loom__switch_trampoline
    .hidden loom__switch_trampoline
    .type loom__switch_trampoline, @function
    .p2align 4
loom__switch_trampoline:
    .cfi_startproc
    .cfi_undefined rip
    xorl %ebp, %ebp
    movq %r12, %rdi
    callq *%r13
    ud2
    .cfi_endproc
    .size loom__switch_trampoline, .-loom__switch_trampoline
#endif
    .section .note.GNU-stack,"",@progbits
