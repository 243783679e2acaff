/*
 * riscv64_lp64d_elf.S: coop's context switch for RV64 with the LP64D ABI
 * (RV64GC, Debian's riscv64), ELF.
 *
 * Implements src/arch/arch.h: struct coop__arch_ctx is { void *sp; }.
 *
 * RISC-V ELF psABI (riscv-elf-psabi-doc, "Register Convention"):
 *  - "Integer Register Convention": sp and s0-s11 are callee-saved; ra
 *    holds the return address; gp and tp are global/thread registers that
 *    the switch leaves alone;
 *  - "Floating-point Register Convention": fs0-fs11 are callee-saved
 *    (whole 64 bits under LP64D), and "the Floating-Point Control and
 *    Status Register (fcsr) must have thread storage duration in
 *    accordance with C11 section 7.6": a task is a thread of control, so
 *    each context keeps its own fcsr (rounding mode frm and flags fflags;
 *    decided here, as glibc's swapcontext);
 *  - "Integer Calling Convention": "the stack pointer shall be aligned to
 *    a 128-bit boundary upon procedure entry".
 *
 * A suspended context keeps all of it on its own stack:
 *
 *   frame of a suspended context, from the saved sp upwards (208 bytes)
 *   offset  size  content
 *     0      8    ra      (a fresh context: coop__arch_start)
 *     8      8    s0      (a fresh context: 0, ends frame-pointer chains)
 *    16      8    s1      (a fresh context: entry)
 *    24      8    s2      (a fresh context: arg)
 *    32     72    s3-s11  (a fresh context: 0)
 *   104     96    fs0-fs11 (a fresh context: 0)
 *   200      8    fcsr    (a fresh context: its creator's)
 *   208     16    (a fresh context only: zeros, the top of the stack)
 */

#if !defined(__riscv_float_abi_double) || __riscv_xlen != 64
#error "riscv64_lp64d_elf.S is for the LP64D ABI; build with -Dcontext=ucontext"
#endif

	.text

/* int coop__arch_switch(struct coop__arch_ctx *from (a0),
 *                       struct coop__arch_ctx *to (a1)): returns 0 */
	.globl	coop__arch_switch
	.hidden	coop__arch_switch
	.type	coop__arch_switch, @function
	.p2align 2
coop__arch_switch:
	.cfi_startproc
	addi	sp, sp, -208		/* keeps sp 16-byte aligned */
	.cfi_adjust_cfa_offset 208
	sd	ra, 0(sp)		/* return address */
	sd	s0, 8(sp)		/* callee-saved integer registers */
	sd	s1, 16(sp)
	sd	s2, 24(sp)
	sd	s3, 32(sp)
	sd	s4, 40(sp)
	sd	s5, 48(sp)
	sd	s6, 56(sp)
	sd	s7, 64(sp)
	sd	s8, 72(sp)
	sd	s9, 80(sp)
	sd	s10, 88(sp)
	sd	s11, 96(sp)
	fsd	fs0, 104(sp)		/* callee-saved FP registers */
	fsd	fs1, 112(sp)
	fsd	fs2, 120(sp)
	fsd	fs3, 128(sp)
	fsd	fs4, 136(sp)
	fsd	fs5, 144(sp)
	fsd	fs6, 152(sp)
	fsd	fs7, 160(sp)
	fsd	fs8, 168(sp)
	fsd	fs9, 176(sp)
	fsd	fs10, 184(sp)
	fsd	fs11, 192(sp)
	frcsr	t0			/* fcsr: thread storage duration */
	sd	t0, 200(sp)
	sd	sp, 0(a0)		/* from->sp: this context is now suspended */
	ld	sp, 0(a1)		/* to->sp: now on the other context's stack */
	ld	t1, 200(sp)		/* its fcsr: a CSR write may drain the */
	beq	t0, t1, 1f		/* pipeline, so only when it differs */
	fscsr	t1
1:
	fld	fs0, 104(sp)		/* its callee-saved registers */
	fld	fs1, 112(sp)
	fld	fs2, 120(sp)
	fld	fs3, 128(sp)
	fld	fs4, 136(sp)
	fld	fs5, 144(sp)
	fld	fs6, 152(sp)
	fld	fs7, 160(sp)
	fld	fs8, 168(sp)
	fld	fs9, 176(sp)
	fld	fs10, 184(sp)
	fld	fs11, 192(sp)
	ld	ra, 0(sp)
	ld	s0, 8(sp)
	ld	s1, 16(sp)
	ld	s2, 24(sp)
	ld	s3, 32(sp)
	ld	s4, 40(sp)
	ld	s5, 48(sp)
	ld	s6, 56(sp)
	ld	s7, 64(sp)
	ld	s8, 72(sp)
	ld	s9, 80(sp)
	ld	s10, 88(sp)
	ld	s11, 96(sp)
	addi	sp, sp, 208
	.cfi_adjust_cfa_offset -208
	li	a0, 0			/* return 0: callers may tail-call us */
	ret				/* to where it called switch, or to start */
	.cfi_endproc
	.size	coop__arch_switch, .-coop__arch_switch

/* void coop__arch_make(struct coop__arch_ctx *c (a0), void *lo (a1),
 *                      size_t size (a2), void (*entry)(void *) (a3),
 *                      void *arg (a4))
 * Builds the frame above at the aligned top of [lo, lo + size). */
	.globl	coop__arch_make
	.hidden	coop__arch_make
	.type	coop__arch_make, @function
	.p2align 2
coop__arch_make:
	.cfi_startproc
	add	t0, a1, a2		/* top of the stack */
	andi	t0, t0, -16		/* 128-bit aligned */
	addi	t1, t0, -224		/* the saved sp: top - 16 - 208 */
	mv	t2, t1
1:	sd	zero, 0(t2)		/* zero the frame and the 16 bytes above */
	addi	t2, t2, 8
	bltu	t2, t0, 1b
	lla	t2, coop__arch_start
	sd	t2, 0(t1)		/* ra: the first switch returns to start */
	sd	a3, 16(t1)		/* s1 = entry */
	sd	a4, 24(t1)		/* s2 = arg */
	frcsr	t2			/* inherit the creator's fcsr */
	sd	t2, 200(t1)
	sd	t1, 0(a0)		/* c->sp */
	ret
	.cfi_endproc
	.size	coop__arch_make, .-coop__arch_make

/* First code of a fresh context, reached by coop__arch_switch's ret with
 * s1 = entry, s2 = arg, s0 = 0.  entry never returns. */
	.hidden	coop__arch_start
	.type	coop__arch_start, @function
	.p2align 2
coop__arch_start:
	.cfi_startproc
	.cfi_undefined ra		/* outermost frame: unwinders stop here */
	mv	a0, s2			/* first integer argument */
	jalr	s1			/* entry(arg) */
	unimp				/* entry returned: a bug, trap loudly */
	.cfi_endproc
	.size	coop__arch_start, .-coop__arch_start

	.section .note.GNU-stack, "", %progbits
