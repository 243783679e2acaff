/*
 * tests/arch/aarch64_aapcs64_elf.S: probes for test-arch.c on AArch64.
 *
 * coop_test_switch_preserves() fills every callee-saved register (AAPCS64
 * 6.1.1 and 6.1.2: x19-x29, d8-d15) with a known pattern, sets the FPCR
 * rounding mode to toward-zero, switches away, and on return reports in a
 * bit mask which of them changed (bit i: the i-th name of
 * coop_test_reg_names).  The context it switches to runs
 * coop_test_clobber(), which sets every one of them to something else
 * (and rounding upwards) before switching back.  coop_test_entry_sp records
 * the stack pointer at entry.
 */
	.text

/* pattern of register n: n in every byte; the clobberer uses its inverse */
	.macro	pat reg, n
	mov	\reg, #(\n * 0x0101)
	movk	\reg, #(\n * 0x0101), lsl #16
	movk	\reg, #(\n * 0x0101), lsl #32
	movk	\reg, #(\n * 0x0101), lsl #48
	.endm

/* unsigned coop_test_switch_preserves(struct coop__arch_ctx *from,
 *                                     struct coop__arch_ctx *to) */
	.globl	coop_test_switch_preserves
	.type	coop_test_switch_preserves, %function
	.p2align 4
coop_test_switch_preserves:
	hint	#34			/* bti c */
	sub	sp, sp, #176
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	mrs	x9, fpcr
	str	x9, [sp, #160]		/* the caller's modes, given back at the end */
	orr	x9, x9, #0xc00000	/* RMode = 0b11: toward zero */
	msr	fpcr, x9
	.irp	n, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29
	pat	x\n, \n
	.endr
	.irp	n, 8, 9, 10, 11, 12, 13, 14, 15
	pat	x9, (\n + 0x40)
	fmov	d\n, x9
	.endr
	bl	coop__arch_switch	/* x0, x1: our own arguments */
	mov	w0, #0
	mov	w11, #1			/* the bit of the register checked next */
	.irp	n, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29
	pat	x9, \n
	cmp	x\n, x9
	b.eq	1f
	orr	w0, w0, w11
1:	lsl	w11, w11, #1
	.endr
	.irp	n, 8, 9, 10, 11, 12, 13, 14, 15
	pat	x9, (\n + 0x40)
	fmov	x10, d\n
	cmp	x10, x9
	b.eq	1f
	orr	w0, w0, w11
1:	lsl	w11, w11, #1
	.endr
	mrs	x9, fpcr
	ubfx	x9, x9, #22, #2
	cmp	x9, #3
	b.eq	1f
	orr	w0, w0, w11
1:	ldr	x9, [sp, #160]
	msr	fpcr, x9
	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	add	sp, sp, #176
	ret
	.size	coop_test_switch_preserves, .-coop_test_switch_preserves

/* void coop_test_clobber(struct coop__arch_ctx *pair[2]): entry of the
 * other context; pair[0] is its own, pair[1] the one to return to. */
	.globl	coop_test_clobber
	.type	coop_test_clobber, %function
	.p2align 4
coop_test_clobber:
	hint	#34			/* bti c */
	sub	sp, sp, #16
	str	x0, [sp]
2:	mrs	x9, fpcr
	and	x9, x9, #~0xc00000
	orr	x9, x9, #0x400000	/* RMode = 0b01: toward +infinity */
	msr	fpcr, x9
	.irp	n, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29
	pat	x\n, \n
	mvn	x\n, x\n
	.endr
	.irp	n, 8, 9, 10, 11, 12, 13, 14, 15
	pat	x9, (\n + 0x40)
	mvn	x9, x9
	fmov	d\n, x9
	.endr
	ldr	x9, [sp]
	ldp	x0, x1, [x9]
	bl	coop__arch_switch
	b	2b
	.size	coop_test_clobber, .-coop_test_clobber

/* void coop_test_entry_sp(struct coop__arch_ctx *pair[2]): records its
 * stack pointer at entry in coop_test_sp, then switches back for good. */
	.globl	coop_test_entry_sp
	.type	coop_test_entry_sp, %function
	.p2align 4
coop_test_entry_sp:
	hint	#34			/* bti c */
	mov	x9, sp
	adrp	x10, coop_test_sp
	str	x9, [x10, :lo12:coop_test_sp]
	adrp	x10, coop_test_arg
	str	x0, [x10, :lo12:coop_test_arg]
	ldp	x0, x1, [x0]
	bl	coop__arch_switch
	brk	#0x3e8
	.size	coop_test_entry_sp, .-coop_test_entry_sp

	.bss
	.globl	coop_test_sp
	.globl	coop_test_arg
	.p2align 3
coop_test_sp:	.quad 0
coop_test_arg:	.quad 0

	.section .rodata
/* AAPCS64 6.4.5.1: SP % 16 == 0 at a public interface. */
	.globl	coop_test_sp_bias
	.p2align 3
coop_test_sp_bias:	.quad 0
/* The names of the bits of coop_test_switch_preserves()'s result, in
 * order, each NUL-terminated; an empty name ends the list. */
	.globl	coop_test_reg_names
coop_test_reg_names:
	.irp	n, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29
	.asciz	"x\n"
	.endr
	.irp	n, 8, 9, 10, 11, 12, 13, 14, 15
	.asciz	"d\n"
	.endr
	.asciz	"FPCR"
	.byte	0

	.section .note.GNU-stack, "", %progbits
