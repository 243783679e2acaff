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
 *    24      8    r13
 *    32      8    r12
 *    40      8    rbx
 *    48      8    rbp
 *    56      8    return address
 *
 * A fresh context (coop__arch_make) has a shorter frame, at the 16-byte
 * aligned top of its stack, and is entered by coop__arch_switch_fresh or
 * coop__arch_leave_fresh only:
 *
 *   offset  size  content
 *     0      4    MXCSR        (the creator's)
 *     4      2    x87 CW       (the creator's)
 *     6      2    (unused)
 *     8      8    entry        (then entry's return address: a trap)
 *    16      8    arg
 *    24      8    0            (a null return address for unwinders)
 *
 * A function that has not started has no registers to restore: entry gets
 * its argument in rdi and rbp = 0 (the end of frame-pointer chains), and
 * the other callee-saved registers keep whatever the switcher had.  It
 * starts with rsp = sp + 8, aligned as after a call (psABI 3.2.2:
 * (rsp + 8) % 16 == 0).
 *
 * Every entry point starts with endbr64 (a NOP on CPUs without CET) so the
 * library keeps the IBT marking when built with -fcf-protection; the GNU
 * property note at the end declares IBT (and, deliberately, not SHSTK).
 */

	.text

/* The second half of every switch: with ecx = the x87 CW of the context
 * being left and rsi = `to`, move to `to`'s stack and resume it.  \fresh:
 * `to` has a fresh frame, started by a jump to coop__arch_start rather
 * than a `ret` (a return there would pop an entry the CPU's return-stack
 * predictor holds for someone else, and mispredict later).  \@ keeps the
 * local labels of the expansions apart.  CFI: the CFA is rsp + 64 on a
 * suspended frame; a fresh one has no caller. */
	.macro	RESUME fresh
	movq	(%rsi), %rsp		/* to->sp: now on the other context's stack */
	.if \fresh
	.cfi_undefined rip
	.else
	.cfi_def_cfa %rsp, 64
	.endif
	/* MXCSR is loaded whatever it holds: reading back what stmxcsr just
	 * stored, to compare, stalls longer than ldmxcsr takes.  (Its status
	 * flags are caller-saved: restoring the task's own does no harm.)
	 * The x87 CW reads back cheaply, and is loaded only if it differs. */
	ldmxcsr	(%rsp)
	cmpw	4(%rsp), %cx
	jne	2\@f
1\@:
	.if \fresh
	jmp	coop__arch_start
	.else
	addq	$8, %rsp
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
	ret				/* to where it called switch */
	.cfi_adjust_cfa_offset 56
	.endif
2\@:	fldcw	4(%rsp)			/* its x87 control word differs: load it */
	jmp	1\@b
	.endm

/* A whole switch: save this context's frame (above) into from (rdi), then
 * RESUME. */
	.macro	SWITCH fresh
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
	RESUME	\fresh
	.endm

/* A context that ends for good needs nothing saved: no registers, and no
 * stmxcsr, which costs more than the rest of a switch on some CPUs. */
	.macro	LEAVE fresh
	fnstcw	-8(%rsp)		/* the red zone: this stack is dead */
	movzwl	-8(%rsp), %ecx
	RESUME	\fresh
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
	SWITCH	0
	.cfi_endproc
	.size	coop__arch_switch, .-coop__arch_switch

/* int coop__arch_switch_fresh(from (rdi), to (rsi)): the same, for a `to`
 * made by coop__arch_make that has never run (the only way into one). */
	.globl	coop__arch_switch_fresh
	.hidden	coop__arch_switch_fresh
	.type	coop__arch_switch_fresh, @function
	.p2align 4
coop__arch_switch_fresh:
	.cfi_startproc
	endbr64
	SWITCH	1
	.cfi_endproc
	.size	coop__arch_switch_fresh, .-coop__arch_switch_fresh

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
	LEAVE	0
	.cfi_endproc
	.size	coop__arch_leave, .-coop__arch_leave

/* int coop__arch_leave_fresh(scratch, to (rsi)): the same, for a `to` that
 * has never run. */
	.globl	coop__arch_leave_fresh
	.hidden	coop__arch_leave_fresh
	.type	coop__arch_leave_fresh, @function
	.p2align 4
coop__arch_leave_fresh:
	.cfi_startproc
	endbr64
	LEAVE	1
	.cfi_endproc
	.size	coop__arch_leave_fresh, .-coop__arch_leave_fresh

/* void coop__arch_make(struct coop__arch_ctx *c (rdi), void *lo (rsi),
 *                      size_t size (rdx), void (*entry)(void *) (rcx),
 *                      void *arg (r8))
 * Builds the fresh frame above at the aligned top of [lo, lo + size). */
	.globl	coop__arch_make
	.hidden	coop__arch_make
	.type	coop__arch_make, @function
	.p2align 4
coop__arch_make:
	.cfi_startproc
	endbr64
	leaq	(%rsi,%rdx), %rax	/* top of the stack */
	andq	$-16, %rax		/* 16-byte aligned (psABI 3.2.2) */
	movq	$0, -8(%rax)
	movq	%r8, -16(%rax)		/* arg */
	movq	%rcx, -24(%rax)		/* entry */
	leaq	-32(%rax), %rax		/* the saved sp */
	stmxcsr	(%rax)			/* inherit the creator's MXCSR */
	fnstcw	4(%rax)			/* and x87 control word */
	movq	%rax, (%rdi)		/* c->sp */
	ret
	.cfi_endproc
	.size	coop__arch_make, .-coop__arch_make

/* First code of a fresh context, jumped to by RESUME with rsp = its fresh
 * frame and the FP control words loaded.  entry never returns: it is
 * entered by a jump, over a return address (the ud2 below, written where
 * entry was) that gives it the alignment of a call, ends unwinding here,
 * and traps if entry ever returned, without a return-stack entry that
 * nothing would ever pop. */
	.hidden	coop__arch_start
	.type	coop__arch_start, @function
	.p2align 4
coop__arch_start:
	.cfi_startproc
	.cfi_undefined rip		/* outermost frame: unwinders stop here */
	movq	16(%rsp), %rdi		/* arg: the first integer argument */
	movq	8(%rsp), %rax		/* entry */
	leaq	1f(%rip), %rcx
	movq	%rcx, 8(%rsp)		/* entry's return address: the trap */
	addq	$8, %rsp
	xorl	%ebp, %ebp		/* the end of frame-pointer chains */
	jmp	*%rax			/* entry(arg); its endbr64 lands it */
1:	ud2				/* entry returned: a bug, trap loudly */
	.cfi_endproc
	.size	coop__arch_start, .-coop__arch_start

/* GNU property note: this object is compatible with IBT (every indirect
 * branch target above has endbr64; coop__arch_start is reached by direct
 * jumps only, and its indirect jump lands on entry's own endbr64).  SHSTK
 * is not claimed: a switch returns to another stack's address, which a
 * shadow stack would reject. */
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
