/*
 * tests/arch/ppc64_elfv2_elf.S: probes for test-arch.c on 64-bit Power,
 * ELFv2 (little-endian).
 *
 * coop_test_switch_preserves() fills every nonvolatile register (ELFv2
 * 2.2.1.1: r14-r31, f14-f31, v20-v31, cr2-cr4) with a known pattern, sets
 * the FPSCR rounding mode to toward-zero, switches away, and on return
 * reports in a bit mask which of them changed (bit i: the i-th name of
 * coop_test_reg_names: one bit per integer register, one per group for
 * the rest).  The context it switches to runs coop_test_clobber(), which
 * sets every one of them, and r2, to something else (and rounding upwards)
 * before switching back.  coop_test_entry_sp records the stack pointer at
 * entry.
 */
	.abiversion 2
	.machine power8
	.text

/* a 64-bit constant into a register */
	.macro	li64 reg, val
	lis	\reg, (\val)@highest
	ori	\reg, \reg, (\val)@higher
	sldi	\reg, \reg, 32
	oris	\reg, \reg, (\val)@h
	ori	\reg, \reg, (\val)@l
	.endm

#define PAT(n) ((n) * 0x0101010101010101)

/*
 * frame of coop_test_switch_preserves (560 bytes):
 *   32: r14-r31, 176: f14-f31, 320: v20-v31, 512: CR, 520: caller's
 *   FPSCR, 528: r2, 536: LR, 544: 16 bytes of scratch
 */
	.globl	coop_test_switch_preserves
	.type	coop_test_switch_preserves, @function
	.p2align 4
coop_test_switch_preserves:
	mflr	0
	std	0, 16(1)
	stdu	1, -560(1)
	.irp	n, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	std	\n, (32 + 8 * (\n - 14))(1)
	stfd	\n, (176 + 8 * (\n - 14))(1)
	.endr
	.irp	n, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	li	9, (320 + 16 * (\n - 20))
	stvx	\n, 1, 9
	.endr
	mfcr	9
	stw	9, 512(1)
	mffs	0
	stfd	0, 520(1)
	std	2, 528(1)
	mtfsfi	7, 1			/* RN = 0b01: toward zero */
	lis	9, 0x00a5		/* cr2 = 0xa, cr3 = 0x5, cr4 = 0xc */
	ori	9, 9, 0xc000
	mtcrf	0x38, 9
	.irp	n, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	li64	9, PAT(\n + 0x40)
	std	9, 544(1)
	lfd	\n, 544(1)
	li64	\n, PAT(\n)
	.endr
	.irp	n, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	li64	9, PAT(\n + 0x20)
	std	9, 544(1)
	li64	9, PAT(\n + 0x60)
	std	9, 552(1)
	li	9, 544
	lvx	\n, 1, 9
	.endr
	bl	coop__arch_switch	/* r3, r4: our own arguments */
	nop
	li	3, 0
	li	4, 1			/* the bit of the register checked next */
	.irp	n, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	li64	9, PAT(\n)
	cmpd	\n, 9
	beq	1f
	or	3, 3, 4
1:	sldi	4, 4, 1
	.endr
	li	5, 0			/* f14-f31: one bit */
	.irp	n, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	stfd	\n, 544(1)
	ld	10, 544(1)
	li64	9, PAT(\n + 0x40)
	cmpd	10, 9
	beq	1f
	li	5, 1
1:
	.endr
	cmpdi	5, 0
	beq	1f
	or	3, 3, 4
1:	sldi	4, 4, 1
	li	5, 0			/* v20-v31: one bit */
	.irp	n, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	li	9, 544
	stvx	\n, 1, 9
	ld	10, 544(1)
	li64	9, PAT(\n + 0x20)
	cmpd	10, 9
	beq	1f
	li	5, 1
1:	ld	10, 552(1)
	li64	9, PAT(\n + 0x60)
	cmpd	10, 9
	beq	1f
	li	5, 1
1:
	.endr
	cmpdi	5, 0
	beq	1f
	or	3, 3, 4
1:	sldi	4, 4, 1
	mfcr	9			/* cr2-cr4 */
	rlwinm	9, 9, 0, 8, 19		/* mask 0x00fff000 */
	lis	10, 0x00a5
	ori	10, 10, 0xc000
	cmpw	9, 10
	beq	1f
	or	3, 3, 4
1:	sldi	4, 4, 1
	mffs	0			/* FPSCR.RN */
	stfd	0, 544(1)
	ld	9, 544(1)
	andi.	9, 9, 3
	cmpdi	9, 1
	beq	1f
	or	3, 3, 4
1:	sldi	4, 4, 1
	ld	9, 528(1)		/* r2 */
	cmpd	2, 9
	beq	1f
	or	3, 3, 4
1:	lfd	0, 520(1)		/* give the caller its own state back */
	mtfsf	0xff, 0
	lwz	9, 512(1)
	mtcrf	0x38, 9
	.irp	n, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	li	9, (320 + 16 * (\n - 20))
	lvx	\n, 1, 9
	.endr
	.irp	n, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	ld	\n, (32 + 8 * (\n - 14))(1)
	lfd	\n, (176 + 8 * (\n - 14))(1)
	.endr
	addi	1, 1, 560
	ld	0, 16(1)
	mtlr	0
	blr
	.size	coop_test_switch_preserves, .-coop_test_switch_preserves

/* void coop_test_clobber(struct coop__arch_ctx *pair[2]): entry of the
 * other context; pair[0] is its own, pair[1] the one to return to. */
	.globl	coop_test_clobber
	.type	coop_test_clobber, @function
	.p2align 4
coop_test_clobber:
	stdu	1, -64(1)
	std	3, 32(1)
2:	mtfsfi	7, 2			/* RN = 0b10: toward +infinity */
	lis	9, 0x005a		/* cr2 = 0x5, cr3 = 0xa, cr4 = 0x3 */
	ori	9, 9, 0x3000
	mtcrf	0x38, 9
	.irp	n, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	li64	9, ~PAT(\n + 0x40)
	std	9, 48(1)
	lfd	\n, 48(1)
	li64	\n, ~PAT(\n)
	.endr
	.irp	n, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	li64	9, ~PAT(\n + 0x20)
	std	9, 48(1)
	li64	9, ~PAT(\n + 0x60)
	std	9, 56(1)
	li	9, 48
	lvx	\n, 1, 9
	.endr
	ld	9, 32(1)
	ld	3, 0(9)
	ld	4, 8(9)
	li64	2, 0x7272727272727272	/* r2 too: the switch must restore it */
	bl	coop__arch_switch
	nop
	b	2b
	.size	coop_test_clobber, .-coop_test_clobber

/* void coop_test_entry_sp(struct coop__arch_ctx *pair[2]): records its
 * stack pointer at entry in coop_test_sp, then switches back for good. */
	.globl	coop_test_entry_sp
	.type	coop_test_entry_sp, @function
	.p2align 4
coop_test_entry_sp:
0:	addis	2, 12, .TOC.-0b@ha
	addi	2, 2, .TOC.-0b@l
	.localentry coop_test_entry_sp, .-coop_test_entry_sp
	addis	9, 2, coop_test_sp@toc@ha
	std	1, coop_test_sp@toc@l(9)
	addis	9, 2, coop_test_arg@toc@ha
	std	3, coop_test_arg@toc@l(9)
	stdu	1, -32(1)
	ld	4, 8(3)
	ld	3, 0(3)
	bl	coop__arch_switch
	nop
	trap
	.size	coop_test_entry_sp, .-coop_test_entry_sp

	.bss
	.globl	coop_test_sp
	.globl	coop_test_arg
	.p2align 3
coop_test_sp:	.quad 0
coop_test_arg:	.quad 0

	.section .rodata
/* ELFv2 2.2.2.1: r1 is quadword aligned. */
	.globl	coop_test_sp_bias
	.p2align 3
coop_test_sp_bias:	.quad 0
/* The names of the bits of coop_test_switch_preserves()'s result, in
 * order, each NUL-terminated; an empty name ends the list. */
	.globl	coop_test_reg_names
coop_test_reg_names:
	.irp	n, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	.asciz	"r\n"
	.endr
	.asciz	"f14-f31", "v20-v31", "cr2-cr4", "FPSCR.RN", "r2"
	.byte	0

	.section .note.GNU-stack, "", %progbits
