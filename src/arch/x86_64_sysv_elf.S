/*
 * x86_64_sysv_elf.S: coop's context switch for x86-64, System V psABI, ELF.
 *
 * Implements src/arch/arch.h: struct coop__arch_ctx is { void *sp; }.
 *
 * The psABI (x86-64 psABI 1.0, section 3.2.1, figure 3.4 "Register Usage")
 * makes rbx, rbp, r12-r15 and rsp callee-saved, and also the control bits
 * of MXCSR and the x87 control word (section 3.2.1: "The control bits of
 * the MXCSR register are callee-saved ... while the status bits are
 * caller-saved"; likewise the x87 CW).  A suspended context keeps all of it
 * on its own stack, so the context object is only the saved stack pointer:
 *
 *   frame of a suspended context, from the saved sp upwards
 *   offset  size  content
 *     0      4    MXCSR
 *     4      2    x87 control word
 *     6      2    (unused)
 *     8      8    r15
 *    16      8    r14
 *    24      8    r13     (a fresh context: arg for entry)
 *    32      8    r12     (a fresh context: entry)
 *    40      8    rbx
 *    48      8    rbp     (a fresh context: 0, ends frame-pointer chains)
 *    56      8    return address (a fresh context: coop__arch_start)
 *    64     16    (a fresh context only: zero padding, top of the stack)
 *
 * The saved sp is 16-byte aligned, so a fresh context enters
 * coop__arch_start with rsp = sp + 64 aligned to 16, and its `call` gives
 * entry the alignment section 3.2.2 requires: (rsp + 8) % 16 == 0.
 *
 * Every entry point starts with endbr64 (a NOP on CPUs without CET) so the
 * library keeps the IBT marking when built with -fcf-protection; the GNU
 * property note at the end declares IBT (and, deliberately, not SHSTK).
 */

	.text

/* The switch proper, shared by both entry points below: save this
 * context's frame, load the other's, and leave by \end: `ret` to where the
 * other context called a switch, or `jmp` to coop__arch_start for one that
 * has never run (a return there would pop an entry the CPU's return-stack
 * predictor holds for someone else, and mispredict later).  \@ keeps the
 * local labels of the two expansions apart. */
	.macro	SWITCH end
	pushq	%rbp			/* callee-saved integer registers, */
	.cfi_adjust_cfa_offset 8	/* psABI 3.2.1 */
	pushq	%rbx
	.cfi_adjust_cfa_offset 8
	pushq	%r12
	.cfi_adjust_cfa_offset 8
	pushq	%r13
	.cfi_adjust_cfa_offset 8
	pushq	%r14
	.cfi_adjust_cfa_offset 8
	pushq	%r15
	.cfi_adjust_cfa_offset 8
	subq	$8, %rsp		/* room for MXCSR and x87 CW */
	.cfi_adjust_cfa_offset 8
	stmxcsr	(%rsp)			/* MXCSR control bits are callee-saved */
	fnstcw	4(%rsp)			/* so is the x87 control word */
	movzwl	4(%rsp), %ecx		/* keep ours to compare with theirs */
	movq	%rsp, (%rdi)		/* from->sp: this context is now suspended */
	movq	(%rsi), %rsp		/* to->sp: now on the other context's stack */
	ldmxcsr	(%rsp)
	cmpw	4(%rsp), %cx
	jne	2\@f
1\@:	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	popq	%r15			/* its callee-saved registers */
	.cfi_adjust_cfa_offset -8
	popq	%r14
	.cfi_adjust_cfa_offset -8
	popq	%r13
	.cfi_adjust_cfa_offset -8
	popq	%r12
	.cfi_adjust_cfa_offset -8
	popq	%rbx
	.cfi_adjust_cfa_offset -8
	popq	%rbp
	.cfi_adjust_cfa_offset -8
	xorl	%eax, %eax		/* return 0: callers may tail-call us */
	.ifc \end, ret
	ret				/* to where it called switch */
	.else
	addq	$8, %rsp		/* a fresh context: skip its return address */
	.cfi_adjust_cfa_offset -8
	jmp	coop__arch_start	/* and jump: no return-stack entry to pop */
	.cfi_adjust_cfa_offset 8
	.endif
	.cfi_adjust_cfa_offset 56
2\@:	fldcw	4(%rsp)			/* its x87 control word differs: load it */
	jmp	1\@b
	.endm

/* int coop__arch_switch(struct coop__arch_ctx *from (rdi),
 *                       struct coop__arch_ctx *to (rsi)): returns 0 */
	.globl	coop__arch_switch
	.hidden	coop__arch_switch
	.type	coop__arch_switch, @function
	.p2align 4
coop__arch_switch:
	.cfi_startproc
	endbr64				/* IBT landing pad (indirect callers) */
	SWITCH	ret
	.cfi_endproc
	.size	coop__arch_switch, .-coop__arch_switch

/* int coop__arch_switch_fresh(from (rdi), to (rsi)): the same, for a `to`
 * made by coop__arch_make that has never run. */
	.globl	coop__arch_switch_fresh
	.hidden	coop__arch_switch_fresh
	.type	coop__arch_switch_fresh, @function
	.p2align 4
coop__arch_switch_fresh:
	.cfi_startproc
	endbr64
	SWITCH	jmp
	.cfi_endproc
	.size	coop__arch_switch_fresh, .-coop__arch_switch_fresh

/* The second half of SWITCH alone, for a context that ends for good and
 * needs nothing saved (no registers, no FP control words: the cost of
 * stmxcsr is most of a switch on some CPUs).  \end as in SWITCH. */
	.macro	LEAVE end
	fnstcw	-8(%rsp)		/* ours, to compare with theirs (below */
	movzwl	-8(%rsp), %ecx		/* sp: this stack is dead from here on) */
	movq	(%rsi), %rsp		/* to->sp */
	.cfi_def_cfa %rsp, 64		/* the suspended frame's layout */
	ldmxcsr	(%rsp)
	cmpw	4(%rsp), %cx
	jne	2\@f
1\@:	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	popq	%r15
	.cfi_adjust_cfa_offset -8
	popq	%r14
	.cfi_adjust_cfa_offset -8
	popq	%r13
	.cfi_adjust_cfa_offset -8
	popq	%r12
	.cfi_adjust_cfa_offset -8
	popq	%rbx
	.cfi_adjust_cfa_offset -8
	popq	%rbp
	.cfi_adjust_cfa_offset -8
	xorl	%eax, %eax
	.ifc \end, ret
	ret
	.else
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	jmp	coop__arch_start
	.cfi_adjust_cfa_offset 8
	.endif
	.cfi_adjust_cfa_offset 56
2\@:	fldcw	4(%rsp)
	jmp	1\@b
	.endm

/* int coop__arch_leave(struct coop__arch_ctx *scratch (rdi, unused),
 *                      struct coop__arch_ctx *to (rsi)): resume `to`,
 * abandoning the running context. */
	.globl	coop__arch_leave
	.hidden	coop__arch_leave
	.type	coop__arch_leave, @function
	.p2align 4
coop__arch_leave:
	.cfi_startproc
	endbr64
	LEAVE	ret
	.cfi_endproc
	.size	coop__arch_leave, .-coop__arch_leave

/* int coop__arch_leave_fresh(scratch, to (rsi)): the same, for a `to` that has
 * never run. */
	.globl	coop__arch_leave_fresh
	.hidden	coop__arch_leave_fresh
	.type	coop__arch_leave_fresh, @function
	.p2align 4
coop__arch_leave_fresh:
	.cfi_startproc
	endbr64
	LEAVE	jmp
	.cfi_endproc
	.size	coop__arch_leave_fresh, .-coop__arch_leave_fresh

/* void coop__arch_make(struct coop__arch_ctx *c (rdi), void *lo (rsi),
 *                      size_t size (rdx), void (*entry)(void *) (rcx),
 *                      void *arg (r8))
 * Builds the frame above at the aligned top of [lo, lo + size). */
	.globl	coop__arch_make
	.hidden	coop__arch_make
	.type	coop__arch_make, @function
	.p2align 4
coop__arch_make:
	.cfi_startproc
	endbr64
	leaq	(%rsi,%rdx), %rax	/* top of the stack */
	andq	$-16, %rax		/* 16-byte aligned (psABI 3.2.2) */
	movq	$0, -8(%rax)		/* zero padding: a null return address */
	movq	$0, -16(%rax)		/* for unwinders that walk past start */
	leaq	-80(%rax), %rax		/* the saved sp: top - 16 - 64 */
	movl $0x1f80,(%rax)
	fnstcw	4(%rax)			/* and x87 control word */
	movw	$0, 6(%rax)
	movq	$0, 8(%rax)		/* r15 */
	movq	$0, 16(%rax)		/* r14 */
	movq	%r8, 24(%rax)		/* r13 = arg */
	movq	%rcx, 32(%rax)		/* r12 = entry */
	movq	$0, 40(%rax)		/* rbx */
	movq	$0, 48(%rax)		/* rbp = 0: end of frame chain */
	leaq	coop__arch_start(%rip), %rcx
	movq	%rcx, 56(%rax)		/* return address of the first switch */
	movq	%rax, (%rdi)		/* c->sp */
	ret
	.cfi_endproc
	.size	coop__arch_make, .-coop__arch_make

/* First code of a fresh context, reached by coop__arch_switch_fresh's
 * jmp (or coop__arch_switch's ret) with r12 = entry, r13 = arg and
 * rsp = the saved sp + 64, 16-byte aligned.  entry never returns: it is
 * entered by a jump, over a pushed return address (the ud2 below) that
 * gives it the alignment of a call (psABI 3.2.2), ends unwinding here, and
 * traps if entry ever returned, without a return-stack entry that nothing
 * would ever pop. */
	.hidden	coop__arch_start
	.type	coop__arch_start, @function
	.p2align 4
coop__arch_start:
	.cfi_startproc
	.cfi_undefined rip		/* outermost frame: unwinders stop here */
	movq	%r13, %rdi		/* first integer argument (psABI 3.2.3) */
	leaq	1f(%rip), %rax
	pushq	%rax			/* entry's return address: the trap */
	jmp	*%r12			/* entry(arg); its endbr64 lands it */
1:	ud2				/* entry returned: a bug, trap loudly */
	.cfi_endproc
	.size	coop__arch_start, .-coop__arch_start

/* GNU property note: this object is compatible with IBT (every indirect
 * branch target above has endbr64; coop__arch_start is reached by ret,
 * not by an indirect jump).  SHSTK is not claimed: a switch returns to
 * another stack's address, which a shadow stack would reject. */
	.section .note.gnu.property, "a"
	.p2align 3
	.long	4			/* name size ("GNU\0") */
	.long	16			/* descriptor size */
	.long	5			/* NT_GNU_PROPERTY_TYPE_0 */
	.asciz	"GNU"
	.long	0xc0000002		/* GNU_PROPERTY_X86_FEATURE_1_AND */
	.long	4			/* data size */
	.long	1			/* GNU_PROPERTY_X86_FEATURE_1_IBT */
	.p2align 3			/* pad to 8 bytes */

	.section .note.GNU-stack, "", %progbits
