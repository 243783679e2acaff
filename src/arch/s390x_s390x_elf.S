/*
 * s390x_s390x_elf.S: coop's context switch for IBM Z (s390x), the s390x
 * ELF ABI (zSeries ELF Application Binary Interface Supplement), ELF.
 *
 * Implements src/arch/arch.h: struct coop__arch_ctx is { void *sp; }.
 *
 * The s390x ELF ABI supplement, chapter "Function Calling Sequence":
 *  - "Register usage": r6-r13 and r15 (the stack pointer) are saved by
 *    the callee, r14 holds the return address; f8-f15 are saved by the
 *    callee; the access registers a0/a1 hold the thread pointer (global,
 *    left alone);
 *  - the FPC (floating-point control: rounding mode, exception masks,
 *    flags) is not an ordinary callee-saved register, but its modes are
 *    the floating-point environment that C11 7.6 gives thread storage
 *    duration, and a task is a thread of control: each context keeps its
 *    own FPC (decided here, as glibc's swapcontext);
 *  - "Stack frame": r15 is 8-byte aligned (kept 16 here) and a caller
 *    provides 160 bytes at r15 in which its callee may save registers,
 *    r6-r15 at offsets 48-127 (the back chain, at 0, is optional; 0 ends
 *    a chain).
 *
 * The switch saves r6-r14 in its caller's register save area, at their
 * usual offsets, and f8-f15 and the FPC in 72 bytes below it:
 *
 *   frame of a suspended context, from the saved sp upwards
 *   offset  size  content
 *     0     64    f8-f15  (a fresh context: 0)
 *    64      4    FPC     (a fresh context: its creator's)
 *    68      4    (unused)
 *    72     48    the caller's save area, first part (a fresh context: 0;
 *                 the back chain at 72 is 0)
 *   120     72    r6-r14  (a fresh context: r6 = entry, r7 = arg,
 *                 r11 = 0, r14 = coop__arch_start)
 *   192     40    rest of the caller's save area (a fresh context: 0)
 *
 * A fresh context thus enters coop__arch_start with r15 = sp + 72 at the
 * aligned top of its stack - 160: the save area entry may use.
 */

	.text

/* int coop__arch_switch(struct coop__arch_ctx *from (r2),
 *                       struct coop__arch_ctx *to (r3)): returns 0 */
	.globl	coop__arch_switch
	.hidden	coop__arch_switch
	.type	coop__arch_switch, @function
	.p2align 4
coop__arch_switch:
	.cfi_startproc
	stmg	%r6, %r14, 48(%r15)	/* r6-r13 callee-saved, r14 return address */
	aghi	%r15, -72		/* room for f8-f15 and the FPC */
	.cfi_adjust_cfa_offset 72
	std	%f8, 0(%r15)		/* callee-saved FP registers */
	std	%f9, 8(%r15)
	std	%f10, 16(%r15)
	std	%f11, 24(%r15)
	std	%f12, 32(%r15)
	std	%f13, 40(%r15)
	std	%f14, 48(%r15)
	std	%f15, 56(%r15)
	efpc	%r1			/* FPC: the thread's FP environment */
	st	%r1, 64(%r15)
	stg	%r15, 0(%r2)		/* from->sp: this context is now suspended */
	lg	%r15, 0(%r3)		/* to->sp: now on the other context's stack */
	l	%r0, 64(%r15)		/* its FPC: loading it may serialise, */
	cr	%r0, %r1		/* so only when it differs */
	je	1f
	lfpc	64(%r15)
1:	ld	%f8, 0(%r15)		/* its callee-saved registers */
	ld	%f9, 8(%r15)
	ld	%f10, 16(%r15)
	ld	%f11, 24(%r15)
	ld	%f12, 32(%r15)
	ld	%f13, 40(%r15)
	ld	%f14, 48(%r15)
	ld	%f15, 56(%r15)
	aghi	%r15, 72
	.cfi_adjust_cfa_offset -72
	lmg	%r6, %r14, 48(%r15)
	lghi	%r2, 0			/* return 0: callers may tail-call us */
	br	%r14			/* to where it called switch, or to start */
	.cfi_endproc
	.size	coop__arch_switch, .-coop__arch_switch

/* void coop__arch_make(struct coop__arch_ctx *c (r2), void *lo (r3),
 *                      size_t size (r4), void (*entry)(void *) (r5),
 *                      void *arg (r6))
 * Builds the frame above at the aligned top of [lo, lo + size). */
	.globl	coop__arch_make
	.hidden	coop__arch_make
	.type	coop__arch_make, @function
	.p2align 4
coop__arch_make:
	.cfi_startproc
	agr	%r3, %r4		/* top of the stack */
	nill	%r3, 0xfff0		/* 16-byte aligned */
	lay	%r1, -232(%r3)		/* the saved sp: top - 160 - 72 */
	xc	0(232, %r1), 0(%r1)	/* zero the frame and the save area */
	stg	%r5, 120(%r1)		/* r6 = entry */
	stg	%r6, 128(%r1)		/* r7 = arg (r6 itself is left intact) */
	larl	%r0, coop__arch_start
	stg	%r0, 184(%r1)		/* r14: the first switch returns to start */
	efpc	%r0			/* inherit the creator's FPC */
	st	%r0, 64(%r1)
	stg	%r1, 0(%r2)		/* c->sp */
	br	%r14
	.cfi_endproc
	.size	coop__arch_make, .-coop__arch_make

/* First code of a fresh context, reached by coop__arch_switch's br with
 * r6 = entry, r7 = arg, r11 = 0 and a zeroed save area at r15.  entry
 * never returns. */
	.hidden	coop__arch_start
	.type	coop__arch_start, @function
	.p2align 4
coop__arch_start:
	.cfi_startproc
	.cfi_undefined %r14		/* outermost frame: unwinders stop here */
	lgr	%r2, %r7		/* first argument in r2 */
	basr	%r14, %r6		/* entry(arg) */
	.short	0			/* entry returned: a bug, trap loudly */
	.cfi_endproc
	.size	coop__arch_start, .-coop__arch_start

	.section .note.GNU-stack, "", %progbits
