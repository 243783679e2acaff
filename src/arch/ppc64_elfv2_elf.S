/*
 * ppc64_elfv2_elf.S: coop's context switch for 64-bit Power, ELFv2 ABI
 * (little-endian: Debian's ppc64el, POWER8 and later), ELF.
 *
 * Implements src/arch/arch.h: struct coop__arch_ctx is { void *sp; }.
 *
 * 64-Bit ELF V2 ABI Specification (OpenPOWER, version 1.1), section
 * 2.2.1.1 "Register Roles", tables "Register Preservation Rules":
 *  - r1 (stack pointer), r14-r31 are nonvolatile; r2 (TOC pointer) is
 *    nonvolatile across a local call; LR holds the return address;
 *  - f14-f31 are nonvolatile (only the FPR halves of vs14-vs31), and so
 *    are v20-v31 (whole 128 bits);
 *  - CR fields cr2, cr3 and cr4 are nonvolatile, the others volatile;
 *  - FPSCR and VSCR are "limited-access": their control fields (rounding
 *    mode RN, exception enables, NI) may be changed only by functions
 *    documented to change them (fesetround and the like), so any other
 *    call leaves them unchanged.  C11 7.6 gives that environment thread
 *    storage duration and a task is a thread of control: each context
 *    keeps its own FPSCR (decided here, as glibc's swapcontext).  VSCR
 *    (the vector NJ mode, and SAT, which is status) is left alone, as is
 *    VRSAVE, which this ABI reserves for the system.
 *  - section 2.2.2.1 "Stack Frame Layout": r1 is quadword aligned, and a
 *    frame starts with the back chain (0), the CR save word (8), the LR
 *    save doubleword (16) and the TOC save doubleword (24), 32 bytes at
 *    least; a callee may store its LR in its caller's LR save doubleword.
 *
 *   frame of a suspended context, from the saved sp upwards (544 bytes)
 *   offset  size  content
 *     0      8    back chain (a fresh context: the top frame below)
 *     8     24    CR, LR and TOC save words for our callees (unused)
 *    32    144    r14-r31 (a fresh context: r14 = entry, r15 = arg, 0)
 *   176    144    f14-f31 (a fresh context: 0)
 *   320    192    v20-v31 (a fresh context: 0; quadword aligned)
 *   512      8    CR      (a fresh context: 0)
 *   520      8    FPSCR   (a fresh context: its creator's)
 *   528      8    r2      (a fresh context: its creator's TOC)
 *   536      8    LR      (a fresh context: coop__arch_start)
 *   544     32    (a fresh context only: a minimal frame, all zeros -
 *                  back chain 0 ends the chain - whose LR save doubleword
 *                  entry may use; the top of the stack)
 */

	.abiversion 2
	.machine power8
	.text

/* int coop__arch_switch(struct coop__arch_ctx *from (r3),
 *                       struct coop__arch_ctx *to (r4)): returns 0
 * Uses no TOC: a single entry point. */
	.globl	coop__arch_switch
	.hidden	coop__arch_switch
	.type	coop__arch_switch, @function
	.p2align 4
coop__arch_switch:
	.cfi_startproc
	mflr	0			/* return address */
	mfcr	5			/* cr2-cr4 are nonvolatile */
	mffs	0			/* FPSCR (in f0, volatile) */
	stdu	1, -544(1)		/* the frame, with its back chain */
	.cfi_adjust_cfa_offset 544
	std	14, 32(1)		/* nonvolatile integer registers */
	std	15, 40(1)
	std	16, 48(1)
	std	17, 56(1)
	std	18, 64(1)
	std	19, 72(1)
	std	20, 80(1)
	std	21, 88(1)
	std	22, 96(1)
	std	23, 104(1)
	std	24, 112(1)
	std	25, 120(1)
	std	26, 128(1)
	std	27, 136(1)
	std	28, 144(1)
	std	29, 152(1)
	std	30, 160(1)
	std	31, 168(1)
	stfd	14, 176(1)		/* nonvolatile floating-point registers */
	stfd	15, 184(1)
	stfd	16, 192(1)
	stfd	17, 200(1)
	stfd	18, 208(1)
	stfd	19, 216(1)
	stfd	20, 224(1)
	stfd	21, 232(1)
	stfd	22, 240(1)
	stfd	23, 248(1)
	stfd	24, 256(1)
	stfd	25, 264(1)
	stfd	26, 272(1)
	stfd	27, 280(1)
	stfd	28, 288(1)
	stfd	29, 296(1)
	stfd	30, 304(1)
	stfd	31, 312(1)
	li	6, 320			/* nonvolatile vector registers */
	stvx	20, 1, 6
	li	6, 336
	stvx	21, 1, 6
	li	6, 352
	stvx	22, 1, 6
	li	6, 368
	stvx	23, 1, 6
	li	6, 384
	stvx	24, 1, 6
	li	6, 400
	stvx	25, 1, 6
	li	6, 416
	stvx	26, 1, 6
	li	6, 432
	stvx	27, 1, 6
	li	6, 448
	stvx	28, 1, 6
	li	6, 464
	stvx	29, 1, 6
	li	6, 480
	stvx	30, 1, 6
	li	6, 496
	stvx	31, 1, 6
	stw	5, 512(1)		/* CR */
	stfd	0, 520(1)		/* FPSCR */
	ld	7, 520(1)		/* (kept to compare with the other's) */
	std	2, 528(1)		/* TOC pointer */
	std	0, 536(1)		/* LR */
	std	1, 0(3)			/* from->sp: this context is now suspended */
	ld	1, 0(4)			/* to->sp: now on the other context's stack */
	ld	8, 520(1)		/* its FPSCR: mtfsf may serialise, so */
	cmpd	7, 8			/* only when it differs */
	beq	1f
	lfd	0, 520(1)
	mtfsf	0xff, 0
1:	ld	0, 536(1)
	mtlr	0
	ld	2, 528(1)
	lwz	5, 512(1)
	mtcrf	0x38, 5			/* cr2, cr3, cr4 only */
	li	6, 320
	lvx	20, 1, 6
	li	6, 336
	lvx	21, 1, 6
	li	6, 352
	lvx	22, 1, 6
	li	6, 368
	lvx	23, 1, 6
	li	6, 384
	lvx	24, 1, 6
	li	6, 400
	lvx	25, 1, 6
	li	6, 416
	lvx	26, 1, 6
	li	6, 432
	lvx	27, 1, 6
	li	6, 448
	lvx	28, 1, 6
	li	6, 464
	lvx	29, 1, 6
	li	6, 480
	lvx	30, 1, 6
	li	6, 496
	lvx	31, 1, 6
	lfd	14, 176(1)
	lfd	15, 184(1)
	lfd	16, 192(1)
	lfd	17, 200(1)
	lfd	18, 208(1)
	lfd	19, 216(1)
	lfd	20, 224(1)
	lfd	21, 232(1)
	lfd	22, 240(1)
	lfd	23, 248(1)
	lfd	24, 256(1)
	lfd	25, 264(1)
	lfd	26, 272(1)
	lfd	27, 280(1)
	lfd	28, 288(1)
	lfd	29, 296(1)
	lfd	30, 304(1)
	lfd	31, 312(1)
	ld	14, 32(1)
	ld	15, 40(1)
	ld	16, 48(1)
	ld	17, 56(1)
	ld	18, 64(1)
	ld	19, 72(1)
	ld	20, 80(1)
	ld	21, 88(1)
	ld	22, 96(1)
	ld	23, 104(1)
	ld	24, 112(1)
	ld	25, 120(1)
	ld	26, 128(1)
	ld	27, 136(1)
	ld	28, 144(1)
	ld	29, 152(1)
	ld	30, 160(1)
	ld	31, 168(1)
	addi	1, 1, 544
	.cfi_adjust_cfa_offset -544
	li	3, 0			/* return 0: callers may tail-call us */
	blr				/* to where it called switch, or to start */
	.cfi_endproc
	.size	coop__arch_switch, .-coop__arch_switch

/* void coop__arch_make(struct coop__arch_ctx *c (r3), void *lo (r4),
 *                      size_t size (r5), void (*entry)(void *) (r6),
 *                      void *arg (r7))
 * Builds the frame above at the aligned top of [lo, lo + size).  Uses the
 * TOC for coop__arch_start's address: global entry point sets up r2 from
 * r12 (section 2.3.2.1), local callers enter after it. */
	.globl	coop__arch_make
	.hidden	coop__arch_make
	.type	coop__arch_make, @function
	.p2align 4
coop__arch_make:
	.cfi_startproc
0:	addis	2, 12, .TOC.-0b@ha
	addi	2, 2, .TOC.-0b@l
	.localentry coop__arch_make, .-coop__arch_make
	add	9, 4, 5			/* top of the stack */
	clrrdi	9, 9, 4			/* quadword aligned */
	addi	10, 9, -576		/* the saved sp: top - 32 - 544 */
	li	0, 0
	mr	11, 10
1:	std	0, 0(11)		/* zero the frame and the minimal one */
	addi	11, 11, 8
	cmpld	11, 9
	blt	1b
	addi	9, 10, 544
	std	9, 0(10)		/* back chain: the zeroed top frame */
	std	6, 32(10)		/* r14 = entry */
	std	7, 40(10)		/* r15 = arg */
	mffs	0			/* inherit the creator's FPSCR */
	stfd	0, 520(10)
	std	2, 528(10)		/* and its TOC pointer */
	addis	9, 2, coop__arch_start@toc@ha
	addi	9, 9, coop__arch_start@toc@l
	std	9, 536(10)		/* LR: the first switch returns to start */
	std	10, 0(3)		/* c->sp */
	blr
	.cfi_endproc
	.size	coop__arch_make, .-coop__arch_make

/* First code of a fresh context, reached by coop__arch_switch's blr with
 * r14 = entry, r15 = arg and r1 at the zeroed top frame.  entry never
 * returns.  A call through a pointer passes the target in r12 (section
 * 2.3.2.1) for its global entry point to compute its TOC pointer. */
	.hidden	coop__arch_start
	.type	coop__arch_start, @function
	.p2align 4
coop__arch_start:
	.cfi_startproc
	.cfi_undefined 65		/* LR: outermost frame, unwinders stop */
	mr	3, 15			/* first argument in r3 */
	mr	12, 14
	mtctr	12
	bctrl				/* entry(arg) */
	trap				/* entry returned: a bug, trap loudly */
	.cfi_endproc
	.size	coop__arch_start, .-coop__arch_start

	.section .note.GNU-stack, "", %progbits
