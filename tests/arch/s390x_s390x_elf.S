/*
 * tests/arch/s390x_s390x_elf.S: probes for test-arch.c on s390x.
 *
 * coop_test_switch_preserves() fills every callee-saved register (s390x
 * ELF ABI "Register usage": r6-r13, f8-f15) with a known pattern, sets the
 * FPC's rounding mode to toward-zero, switches away, and on return reports
 * in a bit mask which of them changed (bit i: the i-th name of
 * coop_test_reg_names).  The context it switches to runs
 * coop_test_clobber(), which sets every one of them to something else (and
 * rounding upwards) before switching back.  coop_test_entry_sp records the
 * stack pointer at entry.
 */
	.text

/* pattern of register n: n and n + 0x20 in every byte of the two halves;
 * the clobberer inverts it (inv = 0xffffffff) */
	.macro	pat reg, n, inv=0
	llihf	\reg, ((\n) * 0x01010101) ^ (\inv)
	iilf	\reg, (((\n) + 0x20) * 0x01010101) ^ (\inv)
	.endm

/* frame: 0-159 save area for callees, 160: f8-f15, 224: caller's FPC;
 * the caller's own save area (at r15 + 240) keeps r6-r15 */
	.globl	coop_test_switch_preserves
	.type	coop_test_switch_preserves, @function
	.p2align 4
coop_test_switch_preserves:
	stmg	%r6, %r15, 48(%r15)
	lgr	%r1, %r15
	aghi	%r15, -240
	stg	%r1, 0(%r15)		/* back chain */
	.irp	n, 8, 9, 10, 11, 12, 13, 14, 15
	std	%f\n, (160 + 8 * (\n - 8))(%r15)
	.endr
	efpc	%r0
	st	%r0, 224(%r15)
	lhi	%r1, -8
	nr	%r0, %r1
	oill	%r0, 1			/* BFP rounding mode 1: toward zero */
	sfpc	%r0
	.irp	n, 6, 7, 8, 9, 10, 11, 12, 13
	pat	%r\n, \n
	.endr
	.irp	n, 8, 9, 10, 11, 12, 13, 14, 15
	pat	%r1, (\n + 0x40)
	ldgr	%f\n, %r1
	.endr
	brasl	%r14, coop__arch_switch	/* r2, r3: our own arguments */
	lghi	%r2, 0
	lghi	%r3, 1			/* the bit of the register checked next */
	.irp	n, 6, 7, 8, 9, 10, 11, 12, 13
	pat	%r1, \n
	cgr	%r\n, %r1
	je	1f
	ogr	%r2, %r3
1:	sllg	%r3, %r3, 1
	.endr
	.irp	n, 8, 9, 10, 11, 12, 13, 14, 15
	pat	%r1, (\n + 0x40)
	lgdr	%r0, %f\n
	cgr	%r0, %r1
	je	1f
	ogr	%r2, %r3
1:	sllg	%r3, %r3, 1
	.endr
	efpc	%r0
	lhi	%r1, 7
	nr	%r0, %r1
	chi	%r0, 1
	je	1f
	ogr	%r2, %r3
1:	lfpc	224(%r15)		/* give the caller its own modes back */
	.irp	n, 8, 9, 10, 11, 12, 13, 14, 15
	ld	%f\n, (160 + 8 * (\n - 8))(%r15)
	.endr
	lmg	%r6, %r15, 288(%r15)	/* 240 + 48: also restores r15 */
	br	%r14
	.size	coop_test_switch_preserves, .-coop_test_switch_preserves

/* void coop_test_clobber(struct coop__arch_ctx *pair[2]): entry of the
 * other context; pair[0] is its own, pair[1] the one to return to. */
	.globl	coop_test_clobber
	.type	coop_test_clobber, @function
	.p2align 4
coop_test_clobber:
	aghi	%r15, -176
	stg	%r2, 160(%r15)
2:	efpc	%r0
	lhi	%r1, -8
	nr	%r0, %r1
	oill	%r0, 2			/* BFP rounding mode 2: toward +infinity */
	sfpc	%r0
	.irp	n, 6, 7, 8, 9, 10, 11, 12, 13
	pat	%r\n, \n, 0xffffffff
	.endr
	.irp	n, 8, 9, 10, 11, 12, 13, 14, 15
	pat	%r1, (\n + 0x40), 0xffffffff
	ldgr	%f\n, %r1
	.endr
	lg	%r1, 160(%r15)
	lg	%r2, 0(%r1)
	lg	%r3, 8(%r1)
	brasl	%r14, coop__arch_switch
	j	2b
	.size	coop_test_clobber, .-coop_test_clobber

/* void coop_test_entry_sp(struct coop__arch_ctx *pair[2]): records its
 * stack pointer at entry in coop_test_sp, then switches back for good. */
	.globl	coop_test_entry_sp
	.type	coop_test_entry_sp, @function
	.p2align 4
coop_test_entry_sp:
	larl	%r1, coop_test_sp
	stg	%r15, 0(%r1)
	larl	%r1, coop_test_arg
	stg	%r2, 0(%r1)
	aghi	%r15, -160
	lg	%r3, 8(%r2)
	lg	%r2, 0(%r2)
	brasl	%r14, coop__arch_switch
	.short	0
	.size	coop_test_entry_sp, .-coop_test_entry_sp

	.bss
	.globl	coop_test_sp
	.globl	coop_test_arg
	.p2align 3
coop_test_sp:	.quad 0
coop_test_arg:	.quad 0

	.section .rodata
/* The ABI asks for 8-byte alignment; coop__arch_make gives 16. */
	.globl	coop_test_sp_bias
	.p2align 3
coop_test_sp_bias:	.quad 0
/* The names of the bits of coop_test_switch_preserves()'s result, in
 * order, each NUL-terminated; an empty name ends the list. */
	.globl	coop_test_reg_names
coop_test_reg_names:
	.irp	n, 6, 7, 8, 9, 10, 11, 12, 13
	.asciz	"r\n"
	.endr
	.irp	n, 8, 9, 10, 11, 12, 13, 14, 15
	.asciz	"f\n"
	.endr
	.asciz	"FPC.RM"
	.byte	0

	.section .note.GNU-stack, "", %progbits
