/* switch_aarch64.S - context switch for the AAPCS64 ABI.
 *
 * void loom__switch_asm(void **from_sp, void *to_sp)
 * Frame (176 bytes, from the saved sp): x19..x28, x29 (fp), x30 (lr),
 * d8..d15, FPCR. */
#if defined(__aarch64__) && !defined(LOOM_SWITCH_UCONTEXT)
    .text
    .globl loom__switch_asm
    .hidden loom__switch_asm
    .type loom__switch_asm, %function
    .p2align 4
loom__switch_asm:
    sub sp, sp, #176
    stp x19, x20, [sp, #0]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    stp d8, d9, [sp, #96]
    stp d10, d11, [sp, #112]
    stp d12, d13, [sp, #128]
    stp d14, d15, [sp, #144]
    mrs x9, fpcr
    str x9, [sp, #160]
    mov x9, sp
    str x9, [x0]
    mov sp, x1
    ldp x19, x20, [sp, #0]
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    ldp d8, d9, [sp, #96]
    ldp d10, d11, [sp, #112]
    ldp d12, d13, [sp, #128]
    ldp d14, d15, [sp, #144]
    ldr x9, [sp, #160]
    msr fpcr, x9
    add sp, sp, #176
    ret
    .size loom__switch_asm, .-loom__switch_asm

/* First code a new context runs: x19 = arg, x20 = entry. */
    .globl loom__switch_trampoline
    .hidden loom__switch_trampoline
    .type loom__switch_trampoline, %function
    .p2align 4
loom__switch_trampoline:
    mov x29, #0
    mov x0, x19
    blr x20
    brk #0
    .size loom__switch_trampoline, .-loom__switch_trampoline
#endif
    .section .note.GNU-stack,"",%progbits
