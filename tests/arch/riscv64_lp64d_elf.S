/*
 * tests/arch/riscv64_lp64d_elf.S: probes for test-arch.c on RV64 LP64D.
 *
 * coop_test_switch_preserves() fills every callee-saved register (psABI
 * "Register Convention": s0-s11, fs0-fs11) with a known pattern, sets the
 * rounding mode (fcsr.frm) to toward-zero, switches away, and on return
 * reports in a bit mask which of them changed (bit i: the i-th name of
 * coop_test_reg_names).  The context it switches to runs
 * coop_test_clobber(), which sets every one of them to something else (and
 * rounding upwards) before switching back.  coop_test_entry_sp records the
 * stack pointer at entry.
 */
	.text

/* 0 .. 11 for s0 .. s11; the FP registers use 0x40 + n */
	.macro	pat reg, n
	li	\reg, (\n * 0x0101010101010101)
	.endm

/* unsigned coop_test_switch_preserves(struct coop__arch_ctx *from,
 *                                     struct coop__arch_ctx *to) */
	.globl	coop_test_switch_preserves
	.type	coop_test_switch_preserves, @function
	.p2align 2
coop_test_switch_preserves:
	addi	sp, sp, -224
	sd	ra, 0(sp)
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
	sd	s\n, (8 + 8 * \n)(sp)
	fsd	fs\n, (104 + 8 * \n)(sp)
	.endr
	frcsr	t0
	sd	t0, 200(sp)		/* the caller's fcsr, given back at the end */
	fsrmi	1			/* frm = RTZ: toward zero */
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
	pat	s\n, (\n + 1)
	pat	t0, (\n + 0x40)
	fmv.d.x	fs\n, t0
	.endr
	call	coop__arch_switch	/* a0, a1: our own arguments */
	li	a0, 0
	li	a1, 1			/* the bit of the register checked next */
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
	pat	t0, (\n + 1)
	beq	s\n, t0, 1f
	or	a0, a0, a1
1:	slli	a1, a1, 1
	.endr
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
	pat	t0, (\n + 0x40)
	fmv.x.d	t1, fs\n
	beq	t0, t1, 1f
	or	a0, a0, a1
1:	slli	a1, a1, 1
	.endr
	frrm	t0
	li	t1, 1
	beq	t0, t1, 1f
	or	a0, a0, a1
1:	ld	t0, 200(sp)
	fscsr	t0
	ld	ra, 0(sp)
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
	ld	s\n, (8 + 8 * \n)(sp)
	fld	fs\n, (104 + 8 * \n)(sp)
	.endr
	addi	sp, sp, 224
	ret
	.size	coop_test_switch_preserves, .-coop_test_switch_preserves

/* void coop_test_clobber(struct coop__arch_ctx *pair[2]): entry of the
 * other context; pair[0] is its own, pair[1] the one to return to. */
	.globl	coop_test_clobber
	.type	coop_test_clobber, @function
	.p2align 2
coop_test_clobber:
	addi	sp, sp, -16
	sd	a0, 0(sp)
2:	fsrmi	3			/* frm = RUP: toward +infinity */
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
	pat	s\n, (\n + 1)
	not	s\n, s\n
	pat	t0, (\n + 0x40)
	not	t0, t0
	fmv.d.x	fs\n, t0
	.endr
	ld	t0, 0(sp)
	ld	a0, 0(t0)
	ld	a1, 8(t0)
	call	coop__arch_switch
	j	2b
	.size	coop_test_clobber, .-coop_test_clobber

/* void coop_test_entry_sp(struct coop__arch_ctx *pair[2]): records its
 * stack pointer at entry in coop_test_sp, then switches back for good. */
	.globl	coop_test_entry_sp
	.type	coop_test_entry_sp, @function
	.p2align 2
coop_test_entry_sp:
	lla	t0, coop_test_sp
	sd	sp, 0(t0)
	lla	t0, coop_test_arg
	sd	a0, 0(t0)
	ld	a1, 8(a0)
	ld	a0, 0(a0)
	call	coop__arch_switch
	unimp
	.size	coop_test_entry_sp, .-coop_test_entry_sp

	.bss
	.globl	coop_test_sp
	.globl	coop_test_arg
	.p2align 3
coop_test_sp:	.quad 0
coop_test_arg:	.quad 0

	.section .rodata
/* psABI: sp is 128-bit aligned upon procedure entry. */
	.globl	coop_test_sp_bias
	.p2align 3
coop_test_sp_bias:	.quad 0
/* The names of the bits of coop_test_switch_preserves()'s result, in
 * order, each NUL-terminated; an empty name ends the list. */
	.globl	coop_test_reg_names
coop_test_reg_names:
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
	.asciz	"s\n"
	.endr
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
	.asciz	"fs\n"
	.endr
	.asciz	"frm"
	.byte	0

	.section .note.GNU-stack, "", %progbits
