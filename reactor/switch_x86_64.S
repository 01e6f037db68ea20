/* switch_x86_64.S - context switch for the System V x86-64 ABI.
 *
 * void loom__switch_asm(void **from_sp, void *to_sp)
 * Pushes the callee-saved registers and the FP control state on the current
 * stack, stores rsp in *from_sp, loads to_sp and pops the same layout.
 * Frame, from the saved sp upwards: MXCSR (4 bytes), x87 CW (2 bytes, padded),
 * r15, r14, r13, r12, rbx, rbp, return address. */
#if defined(__x86_64__) && !defined(LOOM_SWITCH_UCONTEXT)
    .text
    .globl loom__switch_asm
    .hidden loom__switch_asm
    .type loom__switch_asm, @function
    .p2align 4
loom__switch_asm:
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
    /* pop + jmp, not ret: after a stack switch the return-stack predictor is
     * always wrong, and a mispredicted ret costs ~6 ns of the ~11. (Neither form
     * would survive user-space shadow stacks, which Linux does not enable.) */
    popq %rcx
    jmp *%rcx
    .cfi_endproc
    .size loom__switch_asm, .-loom__switch_asm

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
