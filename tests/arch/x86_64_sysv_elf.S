/*
 * tests/arch/x86_64_sysv_elf.S: probes for test-arch.c on x86-64 SysV.
 *
 * coop_test_switch_preserves() fills every callee-saved register (psABI
 * 3.2.1: rbx, rbp, r12-r15) with a known pattern, sets non-default rounding
 * modes in MXCSR and the x87 control word, switches away, and on return
 * reports in a bit mask which of them changed.  The context it switches to
 * runs coop_test_clobber(), which sets every one of them to something else
 * before switching back, so only a switch that saves and restores them all
 * returns 0.  coop_test_entry_sp records the stack pointer at entry.
 */
	.text

/* unsigned coop_test_switch_preserves(struct coop__arch_ctx *from,
 *                                     struct coop__arch_ctx *to) */
	.globl	coop_test_switch_preserves
	.type	coop_test_switch_preserves, @function
coop_test_switch_preserves:
	endbr64
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$24, %rsp		/* 0: caller's MXCSR/CW, 8: ours, 16: read back */
	stmxcsr	0(%rsp)
	fnstcw	4(%rsp)
	movl	0(%rsp), %eax
	orl	$0x6000, %eax		/* MXCSR.RC = 11b: toward zero */
	movl	%eax, 8(%rsp)
	movzwl	4(%rsp), %eax
	orl	$0x0c00, %eax		/* x87 CW.RC = 11b: toward zero */
	movw	%ax, 12(%rsp)
	ldmxcsr	8(%rsp)
	fldcw	12(%rsp)
	movabsq	$0x1111111111111111, %rbx
	movabsq	$0x2222222222222222, %rbp
	movabsq	$0x3333333333333333, %r12
	movabsq	$0x4444444444444444, %r13
	movabsq	$0x5555555555555555, %r14
	movabsq	$0x6666666666666666, %r15
	call	coop__arch_switch	/* rdi, rsi: our own arguments */
	xorl	%eax, %eax
	movabsq	$0x1111111111111111, %rcx
	cmpq	%rcx, %rbx
	je	1f
	orl	$0x01, %eax
1:	movabsq	$0x2222222222222222, %rcx
	cmpq	%rcx, %rbp
	je	1f
	orl	$0x02, %eax
1:	movabsq	$0x3333333333333333, %rcx
	cmpq	%rcx, %r12
	je	1f
	orl	$0x04, %eax
1:	movabsq	$0x4444444444444444, %rcx
	cmpq	%rcx, %r13
	je	1f
	orl	$0x08, %eax
1:	movabsq	$0x5555555555555555, %rcx
	cmpq	%rcx, %r14
	je	1f
	orl	$0x10, %eax
1:	movabsq	$0x6666666666666666, %rcx
	cmpq	%rcx, %r15
	je	1f
	orl	$0x20, %eax
1:	stmxcsr	16(%rsp)
	movl	16(%rsp), %ecx
	andl	$0xffc0, %ecx		/* control bits only; status bits are caller-saved */
	movl	8(%rsp), %edx
	andl	$0xffc0, %edx
	cmpl	%edx, %ecx
	je	1f
	orl	$0x40, %eax
1:	fnstcw	20(%rsp)
	movw	20(%rsp), %cx
	cmpw	12(%rsp), %cx
	je	1f
	orl	$0x80, %eax
1:	ldmxcsr	0(%rsp)			/* give the caller its own modes back */
	fldcw	4(%rsp)
	addq	$24, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.size	coop_test_switch_preserves, .-coop_test_switch_preserves

/* void coop_test_clobber(struct coop__arch_ctx *pair[2]): entry of the
 * other context; pair[0] is its own, pair[1] the one to return to. */
	.globl	coop_test_clobber
	.type	coop_test_clobber, @function
coop_test_clobber:
	endbr64
	pushq	%rdi			/* keep pair; also aligns rsp to 16 */
	subq	$16, %rsp
	movl	$0x5f80, 0(%rsp)	/* MXCSR: default masks, RC = 10b (up) */
	movw	$0x0b7f, 4(%rsp)	/* x87 CW: default, RC = 10b (up) */
1:	movabsq	$0x7777777777777777, %rbx
	movabsq	$0x8888888888888888, %rbp
	movabsq	$0x9999999999999999, %r12
	movabsq	$0xaaaaaaaaaaaaaaaa, %r13
	movabsq	$0xbbbbbbbbbbbbbbbb, %r14
	movabsq	$0xcccccccccccccccc, %r15
	ldmxcsr	0(%rsp)
	fldcw	4(%rsp)
	movq	16(%rsp), %rax
	movq	0(%rax), %rdi
	movq	8(%rax), %rsi
	call	coop__arch_switch
	jmp	1b
	.size	coop_test_clobber, .-coop_test_clobber

/* void coop_test_entry_sp(struct coop__arch_ctx *pair[2]): records its
 * stack pointer at entry in coop_test_sp, then switches back for good. */
	.globl	coop_test_entry_sp
	.type	coop_test_entry_sp, @function
coop_test_entry_sp:
	endbr64
	movq	%rsp, coop_test_sp(%rip)
	movq	%rdi, coop_test_arg(%rip)
	subq	$8, %rsp
	movq	0(%rdi), %rax
	movq	8(%rdi), %rsi
	movq	%rax, %rdi
	call	coop__arch_switch
	ud2
	.size	coop_test_entry_sp, .-coop_test_entry_sp

	.bss
	.globl	coop_test_sp
	.globl	coop_test_arg
	.p2align 3
coop_test_sp:	.quad 0
coop_test_arg:	.quad 0

/* At a function's entry the psABI (3.2.2) wants (rsp + 8) % 16 == 0. */
	.section .rodata
	.globl	coop_test_sp_bias
	.p2align 3
coop_test_sp_bias:	.quad 8
/* The names of the bits of coop_test_switch_preserves()'s result, in
 * order, each NUL-terminated; an empty name ends the list. */
	.globl	coop_test_reg_names
coop_test_reg_names:
	.asciz	"rbx", "rbp", "r12", "r13", "r14", "r15", "MXCSR", "x87-CW", ""

	.section .note.GNU-stack, "", %progbits
