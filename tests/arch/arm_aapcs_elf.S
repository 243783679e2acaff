/*
 * tests/arch/arm_aapcs_elf.S: probes for test-arch.c on 32-bit Arm
 * (AAPCS with VFP: armhf).
 *
 * coop_test_switch_preserves() fills every callee-saved register (AAPCS
 * 6.1.1 and 6.1.2.1: r4-r11, d8-d15) with a known pattern, sets the FPSCR
 * rounding mode to toward-zero, switches away, and on return reports in a
 * bit mask which of them changed (bit i: the i-th name of
 * coop_test_reg_names).  The context it switches to runs
 * coop_test_clobber(), which sets every one of them to something else (and
 * rounding upwards) before switching back.  coop_test_entry_sp records the
 * stack pointer at entry.
 */
	.syntax	unified
	.arm
	.fpu	vfp
	.text

/* unsigned coop_test_switch_preserves(struct coop__arch_ctx *from,
 *                                     struct coop__arch_ctx *to) */
	.globl	coop_test_switch_preserves
	.type	coop_test_switch_preserves, %function
	.p2align 2
coop_test_switch_preserves:
	vmrs	r2, fpscr
	push	{r2-r11, lr}		/* caller's FPSCR (given back), saved regs; */
	vpush	{d8-d15}		/* 44 + 64 + 4 below keeps SP 8-aligned */
	sub	sp, sp, #4
	bic	r2, r2, #0x00c00000
	orr	r2, r2, #0x00c00000	/* RMode = 0b11: toward zero */
	vmsr	fpscr, r2
	.irp	n, 4, 5, 6, 7, 8, 9, 10, 11
	ldr	r\n, =(\n * 0x01010101)
	.endr
	.irp	n, 8, 9, 10, 11, 12, 13, 14, 15
	ldr	r2, =((\n + 0x40) * 0x01010101)
	ldr	r3, =((\n + 0x60) * 0x01010101)
	vmov	d\n, r2, r3
	.endr
	bl	coop__arch_switch	/* r0, r1: our own arguments */
	mov	r0, #0
	mov	r1, #1			/* the bit of the register checked next */
	.irp	n, 4, 5, 6, 7, 8, 9, 10, 11
	ldr	r2, =(\n * 0x01010101)
	cmp	r\n, r2
	orrne	r0, r0, r1
	lsl	r1, r1, #1
	.endr
	.irp	n, 8, 9, 10, 11, 12, 13, 14, 15
	vmov	r2, r3, d\n
	ldr	r12, =((\n + 0x40) * 0x01010101)
	cmp	r2, r12
	ldreq	r12, =((\n + 0x60) * 0x01010101)
	cmpeq	r3, r12
	orrne	r0, r0, r1
	lsl	r1, r1, #1
	.endr
	vmrs	r2, fpscr
	and	r2, r2, #0x00c00000
	cmp	r2, #0x00c00000
	orrne	r0, r0, r1
	add	sp, sp, #4
	vpop	{d8-d15}
	pop	{r2-r11, lr}
	vmsr	fpscr, r2
	bx	lr
	.ltorg
	.size	coop_test_switch_preserves, .-coop_test_switch_preserves

/* void coop_test_clobber(struct coop__arch_ctx *pair[2]): entry of the
 * other context; pair[0] is its own, pair[1] the one to return to. */
	.globl	coop_test_clobber
	.type	coop_test_clobber, %function
	.p2align 2
coop_test_clobber:
	push	{r0, r1}		/* keep pair; SP stays 8-aligned */
2:	vmrs	r2, fpscr
	bic	r2, r2, #0x00c00000
	orr	r2, r2, #0x00400000	/* RMode = 0b01: toward +infinity */
	vmsr	fpscr, r2
	.irp	n, 4, 5, 6, 7, 8, 9, 10, 11
	ldr	r\n, =~(\n * 0x01010101)
	.endr
	.irp	n, 8, 9, 10, 11, 12, 13, 14, 15
	ldr	r2, =~((\n + 0x40) * 0x01010101)
	ldr	r3, =~((\n + 0x60) * 0x01010101)
	vmov	d\n, r2, r3
	.endr
	ldr	r2, [sp]
	ldr	r0, [r2]
	ldr	r1, [r2, #4]
	bl	coop__arch_switch
	b	2b
	.ltorg
	.size	coop_test_clobber, .-coop_test_clobber

/* void coop_test_entry_sp(struct coop__arch_ctx *pair[2]): records its
 * stack pointer at entry in coop_test_sp, then switches back for good. */
	.globl	coop_test_entry_sp
	.type	coop_test_entry_sp, %function
	.p2align 2
coop_test_entry_sp:
	ldr	r2, 3f
4:	add	r2, pc, r2		/* &coop_test_sp, position-independent */
	str	sp, [r2]
	str	r0, [r2, #4]		/* coop_test_arg follows it */
	ldr	r1, [r0, #4]
	ldr	r0, [r0]
	bl	coop__arch_switch
	udf	#0
3:	.word	coop_test_sp - (4b + 8)	/* PC reads 8 ahead in ARM state */
	.size	coop_test_entry_sp, .-coop_test_entry_sp

	.bss
	.globl	coop_test_sp
	.globl	coop_test_arg
	.p2align 2
coop_test_sp:	.word 0
coop_test_arg:	.word 0

	.section .rodata
/* AAPCS 6.2.1.2 asks for 8; coop__arch_make gives 16: check for 16. */
	.globl	coop_test_sp_bias
	.p2align 2
coop_test_sp_bias:	.word 0
/* The names of the bits of coop_test_switch_preserves()'s result, in
 * order, each NUL-terminated; an empty name ends the list. */
	.globl	coop_test_reg_names
coop_test_reg_names:
	.irp	n, 4, 5, 6, 7, 8, 9, 10, 11
	.asciz	"r\n"
	.endr
	.irp	n, 8, 9, 10, 11, 12, 13, 14, 15
	.asciz	"d\n"
	.endr
	.asciz	"FPSCR"
	.byte	0

	.section .note.GNU-stack, "", %progbits
