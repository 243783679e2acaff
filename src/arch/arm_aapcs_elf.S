/*
 * arm_aapcs_elf.S: coop's context switch for 32-bit Arm, AAPCS, ELF
 * (armhf: ARMv7-A with VFP; also builds for soft-float targets).
 *
 * Implements src/arch/arch.h: struct coop__arch_ctx is { void *sp; }.
 *
 * AAPCS (Procedure Call Standard for the Arm Architecture):
 *  - section 6.1.1 "Core registers": "A subroutine must preserve the
 *    contents of the registers r4-r8, r10, r11 and SP (and r9 in PCS
 *    variants that designate r9 as v6)"; r9 is saved too (the Linux
 *    variant makes it callee-saved), and LR holds the return address;
 *  - section 6.1.2.1 "VFP register usage conventions": "Registers s16-s31
 *    (d8-d15, q4-q7) must be preserved across subroutine calls"; the
 *    FPSCR's exception-control, rounding-mode and flush-to-zero bits "may
 *    be modified by calls to specific support functions that affect the
 *    global state of the application" (fesetround and the like), so any
 *    other call leaves them unchanged.  C11 7.6 gives that environment
 *    thread storage duration and a task is a thread of control: each
 *    context keeps its own FPSCR (decided here, as glibc's swapcontext);
 *  - section 6.2.1.2 "Stack constraints at a public interface": SP is
 *    8-byte aligned (this file keeps fresh stacks 16-byte aligned).
 *
 * A suspended context keeps all of it on its own stack (with VFP, i.e.
 * __ARM_FP defined; without it the d8-d15 block is absent):
 *
 *   frame of a suspended context, from the saved sp upwards (104 bytes)
 *   offset  size  content
 *     0     64    d8-d15  (a fresh context: 0)
 *    64      4    FPSCR   (a fresh context: its creator's; 0 without VFP)
 *    68      4    r4      (a fresh context: entry)
 *    72      4    r5      (a fresh context: arg)
 *    76     24    r6-r11  (a fresh context: 0; r11 = 0 ends fp chains)
 *   100      4    lr      (a fresh context: coop__arch_start)
 *   104     16    (a fresh context only: zeros, the top of the stack)
 *
 * The code is A32 (ARM state); callers in Thumb state reach it by BLX
 * (the linker rewrites BL for a %function in ARM state) and it returns
 * with BX, which switches back.  coop__arch_start calls entry with BLX,
 * which honours the Thumb bit of the function pointer.
 */

	.syntax	unified
	.arm
#if defined(__ARM_FP)
	.fpu	vfp			/* VFPv2 instructions: every VFP unit has them */
#endif
	.cfi_sections .debug_frame	/* unwinding itself is EHABI (.fnstart) */
	.text

/* int coop__arch_switch(struct coop__arch_ctx *from (r0),
 *                       struct coop__arch_ctx *to (r1)): returns 0 */
	.globl	coop__arch_switch
	.hidden	coop__arch_switch
	.type	coop__arch_switch, %function
	.p2align 2
coop__arch_switch:
	.fnstart
	.cfi_startproc
#if defined(__ARM_FP)
	vmrs	r3, fpscr		/* FP modes: global state (6.1.2.1) */
#else
	mov	r3, #0
#endif
	push	{r3-r11, lr}		/* FPSCR in r3's slot; r4-r11 (6.1.1), lr */
	.save	{r3-r11, lr}
	.cfi_adjust_cfa_offset 40
#if defined(__ARM_FP)
	vpush	{d8-d15}		/* callee-saved VFP registers (6.1.2.1) */
	.vsave	{d8-d15}
	.cfi_adjust_cfa_offset 64
#endif
	str	sp, [r0]		/* from->sp: this context is now suspended */
	ldr	sp, [r1]		/* to->sp: now on the other context's stack */
#if defined(__ARM_FP)
	vpop	{d8-d15}		/* its callee-saved registers */
	.cfi_adjust_cfa_offset -64
	ldr	r2, [sp]		/* its FP modes; writing FPSCR can stall, */
	cmp	r2, r3			/* so only when they differ */
	vmsrne	fpscr, r2
#endif
	add	sp, sp, #4		/* past the FPSCR slot */
	.cfi_adjust_cfa_offset -4
	pop	{r4-r11, lr}
	.cfi_adjust_cfa_offset -36
	mov	r0, #0			/* return 0: callers may tail-call us */
	bx	lr			/* to where it called switch, or to start */
	.cfi_endproc
	.fnend
	.size	coop__arch_switch, .-coop__arch_switch

/* void coop__arch_make(struct coop__arch_ctx *c (r0), void *lo (r1),
 *                      size_t size (r2), void (*entry)(void *) (r3),
 *                      void *arg ([sp]))
 * Builds the frame above at the aligned top of [lo, lo + size). */
	.globl	coop__arch_make
	.hidden	coop__arch_make
	.type	coop__arch_make, %function
	.p2align 2
coop__arch_make:
	.fnstart
	.cfi_startproc
	push	{r4, r5}
	.save	{r4, r5}
	.cfi_adjust_cfa_offset 8
	ldr	r12, [sp, #8]		/* arg: the fifth argument is on the stack */
	add	r1, r1, r2		/* top of the stack */
	bic	r1, r1, #15		/* 16-byte aligned (>= 8, 6.2.1.2) */
	mov	r4, #0
	mov	r5, #0
	strd	r4, r5, [r1, #-8]!	/* 16 zero bytes at the top */
	strd	r4, r5, [r1, #-8]!
	adr	r2, coop__arch_start
	str	r2, [r1, #-4]!		/* lr: the first switch returns to start */
	mov	r2, #6			/* r11-r6 = 0; r11 = 0 ends fp chains */
1:	str	r4, [r1, #-4]!
	subs	r2, r2, #1
	bne	1b
	str	r12, [r1, #-4]!		/* r5 = arg */
	str	r3, [r1, #-4]!		/* r4 = entry */
#if defined(__ARM_FP)
	vmrs	r2, fpscr		/* inherit the creator's FP modes */
	str	r2, [r1, #-4]!
	mov	r2, #16			/* d8-d15 = 0 */
1:	str	r4, [r1, #-4]!
	subs	r2, r2, #1
	bne	1b
#else
	str	r4, [r1, #-4]!
#endif
	str	r1, [r0]		/* c->sp */
	pop	{r4, r5}
	.cfi_adjust_cfa_offset -8
	bx	lr
	.cfi_endproc
	.fnend
	.size	coop__arch_make, .-coop__arch_make

/* First code of a fresh context, reached by coop__arch_switch's BX with
 * r4 = entry, r5 = arg, r11 = 0.  entry never returns. */
	.hidden	coop__arch_start
	.type	coop__arch_start, %function
	.p2align 2
coop__arch_start:
	.fnstart
	.cantunwind			/* outermost frame: unwinders stop here */
	.cfi_startproc
	.cfi_undefined lr
	mov	r0, r5			/* first argument in r0 (6.5) */
	blx	r4			/* entry(arg), ARM or Thumb */
	udf	#0			/* entry returned: a bug, trap loudly */
	.cfi_endproc
	.fnend
	.size	coop__arch_start, .-coop__arch_start

	.section .note.GNU-stack, "", %progbits
