/*
 * tests/arch/x86_sysv_elf.S: probes for test-arch.c on i386 System V.
 *
 * coop_test_switch_preserves() fills every callee-saved register (psABI
 * 2.2.2: ebx, esi, edi, ebp) with a known pattern, sets non-default
 * rounding modes in MXCSR and the x87 control word, switches away, and on
 * return reports in a bit mask which of them changed (bit i: the i-th name
 * of coop_test_reg_names).  The context it switches to runs
 * coop_test_clobber(), which sets every one of them to something else
 * before switching back.  coop_test_entry_sp records the stack pointer at
 * entry.  The test machines have SSE: MXCSR is probed unconditionally.
 */
	.text

/* unsigned coop_test_switch_preserves(struct coop__arch_ctx *from,
 *                                     struct coop__arch_ctx *to) */
	.globl	coop_test_switch_preserves
	.type	coop_test_switch_preserves, @function
coop_test_switch_preserves:
	endbr32
	pushl	%ebp
	pushl	%ebx
	pushl	%esi
	pushl	%edi
	subl	$28, %esp		/* 0: args, 8: caller's MXCSR/CW, 16: ours, 24: read back */
	stmxcsr	8(%esp)
	fnstcw	12(%esp)
	movl	8(%esp), %eax
	orl	$0x6000, %eax		/* MXCSR.RC = 11b: toward zero */
	movl	%eax, 16(%esp)
	movzwl	12(%esp), %eax
	orl	$0x0c00, %eax		/* x87 CW.RC = 11b: toward zero */
	movw	%ax, 20(%esp)
	ldmxcsr	16(%esp)
	fldcw	20(%esp)
	movl	48(%esp), %eax		/* from */
	movl	%eax, 0(%esp)
	movl	52(%esp), %eax		/* to */
	movl	%eax, 4(%esp)
	movl	$0x11111111, %ebx
	movl	$0x22222222, %esi
	movl	$0x33333333, %edi
	movl	$0x44444444, %ebp
	call	coop__arch_switch
	xorl	%eax, %eax
	cmpl	$0x11111111, %ebx
	je	1f
	orl	$0x01, %eax
1:	cmpl	$0x22222222, %esi
	je	1f
	orl	$0x02, %eax
1:	cmpl	$0x33333333, %edi
	je	1f
	orl	$0x04, %eax
1:	cmpl	$0x44444444, %ebp
	je	1f
	orl	$0x08, %eax
1:	stmxcsr	24(%esp)
	movl	24(%esp), %ecx
	andl	$0xffc0, %ecx		/* control bits only; status bits are caller-saved */
	movl	16(%esp), %edx
	andl	$0xffc0, %edx
	cmpl	%edx, %ecx
	je	1f
	orl	$0x10, %eax
1:	fnstcw	24(%esp)
	movw	24(%esp), %cx
	cmpw	20(%esp), %cx
	je	1f
	orl	$0x20, %eax
1:	ldmxcsr	8(%esp)			/* give the caller its own modes back */
	fldcw	12(%esp)
	addl	$28, %esp
	popl	%edi
	popl	%esi
	popl	%ebx
	popl	%ebp
	ret
	.size	coop_test_switch_preserves, .-coop_test_switch_preserves

/* void coop_test_clobber(struct coop__arch_ctx *pair[2]): entry of the
 * other context; pair[0] is its own, pair[1] the one to return to. */
	.globl	coop_test_clobber
	.type	coop_test_clobber, @function
coop_test_clobber:
	endbr32
	subl	$28, %esp		/* 0: args, 8: MXCSR, 12: CW; 16-aligned at calls */
	movl	$0x5f80, 8(%esp)	/* MXCSR: default masks, RC = 10b (up) */
	movw	$0x0b7f, 12(%esp)	/* x87 CW: default, RC = 10b (up) */
1:	movl	$0x77777777, %ebx
	movl	$0x88888888, %esi
	movl	$0x99999999, %edi
	movl	$0xaaaaaaaa, %ebp
	ldmxcsr	8(%esp)
	fldcw	12(%esp)
	movl	32(%esp), %eax		/* pair */
	movl	0(%eax), %ecx
	movl	%ecx, 0(%esp)
	movl	4(%eax), %ecx
	movl	%ecx, 4(%esp)
	call	coop__arch_switch
	jmp	1b
	.size	coop_test_clobber, .-coop_test_clobber

/* void coop_test_entry_sp(struct coop__arch_ctx *pair[2]): records its
 * stack pointer at entry in coop_test_sp, then switches back for good. */
	.globl	coop_test_entry_sp
	.type	coop_test_entry_sp, @function
coop_test_entry_sp:
	endbr32
	call	2f
2:	popl	%ecx			/* ecx = 2b, for PIC addresses */
	movl	%esp, %eax		/* esp at entry */
	movl	%eax, coop_test_sp-2b(%ecx)
	movl	4(%esp), %eax		/* pair */
	movl	%eax, coop_test_arg-2b(%ecx)
	subl	$12, %esp
	pushl	4(%eax)
	pushl	0(%eax)
	call	coop__arch_switch
	ud2
	.size	coop_test_entry_sp, .-coop_test_entry_sp

	.bss
	.globl	coop_test_sp
	.globl	coop_test_arg
	.p2align 2
coop_test_sp:	.long 0
coop_test_arg:	.long 0

/* At a function's entry the psABI (2.2.2) wants (esp + 4) % 16 == 0. */
	.section .rodata
	.globl	coop_test_sp_bias
	.p2align 2
coop_test_sp_bias:	.long 4
/* The names of the bits of coop_test_switch_preserves()'s result, in
 * order, each NUL-terminated; an empty name ends the list. */
	.globl	coop_test_reg_names
coop_test_reg_names:
	.asciz	"ebx", "esi", "edi", "ebp", "MXCSR", "x87-CW", ""

	.section .note.GNU-stack, "", %progbits
