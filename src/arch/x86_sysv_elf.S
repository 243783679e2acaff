/*
 * x86_sysv_elf.S: coop's context switch for i386, System V psABI, ELF.
 *
 * Implements src/arch/arch.h: struct coop__arch_ctx is { void *sp; }.
 *
 * The i386 psABI (System V ABI Intel386 Architecture Processor Supplement,
 * version 1.1, section 2.2.2 "Registers", table 2.3 "Register Usage")
 * makes ebx, esi, edi, ebp and esp callee-saved, and also "the control
 * bits of the MXCSR register are callee-saved (preserved across calls),
 * while the status bits are caller-saved" and "the x87 status word
 * register is caller-saved, whereas the x87 control word is callee-saved".
 * Arguments travel on the stack (section 2.2.3), and "the end of the input
 * argument area shall be aligned on a 16 byte boundary" (section 2.2.2), so
 * at a function's entry (esp + 4) % 16 == 0.
 *
 * Debian's i386 baseline is i686, which need not have SSE: MXCSR is saved
 * only when CPUID says SSE is there (coop__arch_make finds out before the
 * first switch can run, and keeps the answer in coop__arch_sse).
 *
 *   frame of a suspended context, from the saved sp upwards
 *   offset  size  content
 *     0      4    MXCSR   (only with SSE)
 *     4      2    x87 control word
 *     6      2    (unused)
 *     8      4    edi
 *    12      4    esi     (a fresh context: arg)
 *    16      4    ebx     (a fresh context: entry)
 *    20      4    ebp     (a fresh context: 0, ends frame-pointer chains)
 *    24      4    return address (a fresh context: coop__arch_start)
 *    28     16    (a fresh context only: zero padding, top of the stack)
 *
 * A fresh context enters coop__arch_start with esp = sp + 28 aligned to 16;
 * start's 12 bytes of padding and the pushed argument make entry's
 * (esp + 4) % 16 == 0.
 *
 * Every entry point starts with endbr32 (a NOP without CET) so the library
 * keeps the IBT marking when built with -fcf-protection; the GNU property
 * note declares IBT and, as on x86-64, not SHSTK.
 */

	.text

/* int coop__arch_switch(struct coop__arch_ctx *from (4(%esp)),
 *                       struct coop__arch_ctx *to (8(%esp))): returns 0 */
	.globl	coop__arch_switch
	.hidden	coop__arch_switch
	.type	coop__arch_switch, @function
	.p2align 4
coop__arch_switch:
	.cfi_startproc
	endbr32				/* IBT landing pad (indirect callers) */
	movl	4(%esp), %eax		/* from */
	movl	8(%esp), %edx		/* to */
	pushl	%ebp			/* callee-saved integer registers, */
	.cfi_adjust_cfa_offset 4	/* psABI 2.2.2 */
	pushl	%ebx
	.cfi_adjust_cfa_offset 4
	pushl	%esi
	.cfi_adjust_cfa_offset 4
	pushl	%edi
	.cfi_adjust_cfa_offset 4
	subl	$8, %esp		/* room for MXCSR and the x87 CW */
	.cfi_adjust_cfa_offset 8
	fnstcw	4(%esp)			/* the x87 control word is callee-saved */
	call	coop__arch_pc		/* ecx = 1f, for the PIC address */
1:	cmpb	$0, coop__arch_sse-1b(%ecx)
	je	2f
	stmxcsr	(%esp)			/* so are MXCSR's control bits */
2:	movl	%esp, (%eax)		/* from->sp: this context is now suspended */
	movl	(%edx), %esp		/* to->sp: now on the other context's stack */
	cmpb	$0, coop__arch_sse-1b(%ecx)
	je	3f
	ldmxcsr	(%esp)			/* its floating-point control state */
3:	fldcw	4(%esp)
	addl	$8, %esp
	.cfi_adjust_cfa_offset -8
	popl	%edi			/* its callee-saved registers */
	.cfi_adjust_cfa_offset -4
	popl	%esi
	.cfi_adjust_cfa_offset -4
	popl	%ebx
	.cfi_adjust_cfa_offset -4
	popl	%ebp
	.cfi_adjust_cfa_offset -4
	xorl	%eax, %eax		/* return 0: callers may tail-call us */
	ret				/* to where it called switch, or to start */
	.cfi_endproc
	.size	coop__arch_switch, .-coop__arch_switch

/* Returns its return address in ecx (a call/ret pair the return-stack
 * predictor keeps balanced, unlike call/pop). */
	.hidden	coop__arch_pc
	.type	coop__arch_pc, @function
	.p2align 4
coop__arch_pc:
	.cfi_startproc
	movl	(%esp), %ecx
	ret
	.cfi_endproc
	.size	coop__arch_pc, .-coop__arch_pc

/* void coop__arch_make(struct coop__arch_ctx *c (4(%esp)), void *lo (8),
 *                      size_t size (12), void (*entry)(void *) (16),
 *                      void *arg (20))
 * Builds the frame above at the aligned top of [lo, lo + size). */
	.globl	coop__arch_make
	.hidden	coop__arch_make
	.type	coop__arch_make, @function
	.p2align 4
coop__arch_make:
	.cfi_startproc
	endbr32
	pushl	%ebx			/* cpuid writes ebx, which is callee-saved */
	.cfi_adjust_cfa_offset 4
	pushl	%edi
	.cfi_adjust_cfa_offset 4
	movl	$1, %eax		/* CPUID leaf 1: EDX bit 25 is SSE */
	cpuid				/* (writes eax, ebx, ecx, edx) */
	shrl	$25, %edx
	andl	$1, %edx
	call	coop__arch_pc		/* ecx = 1f, for PIC addresses */
1:	movb	%dl, coop__arch_sse-1b(%ecx)
	movl	12(%esp), %edi		/* c */
	movl	16(%esp), %eax		/* lo */
	addl	20(%esp), %eax		/* top of the stack */
	andl	$-16, %eax		/* 16-byte aligned (psABI 2.2.2) */
	subl	$44, %eax		/* the saved sp: top - 16 - 28 */
	movl	$0, 0(%eax)		/* MXCSR, unless SSE (below) */
	fnstcw	4(%eax)			/* inherit the creator's x87 CW */
	movw	$0, 6(%eax)
	testl	%edx, %edx
	jz	2f
	stmxcsr	0(%eax)			/* and MXCSR */
2:	movl	$0, 8(%eax)		/* edi */
	movl	28(%esp), %edx
	movl	%edx, 12(%eax)		/* esi = arg */
	movl	24(%esp), %edx
	movl	%edx, 16(%eax)		/* ebx = entry */
	movl	$0, 20(%eax)		/* ebp = 0: end of frame chain */
	leal	coop__arch_start-1b(%ecx), %edx
	movl	%edx, 24(%eax)		/* return address of the first switch */
	movl	$0, 28(%eax)		/* zero padding up to the top */
	movl	$0, 32(%eax)
	movl	$0, 36(%eax)
	movl	$0, 40(%eax)
	movl	%eax, (%edi)		/* c->sp */
	popl	%edi
	.cfi_adjust_cfa_offset -4
	popl	%ebx
	.cfi_adjust_cfa_offset -4
	ret
	.cfi_endproc
	.size	coop__arch_make, .-coop__arch_make

/* First code of a fresh context, reached by coop__arch_switch's ret with
 * ebx = entry, esi = arg, esp % 16 == 0.  entry never returns. */
	.hidden	coop__arch_start
	.type	coop__arch_start, @function
	.p2align 4
coop__arch_start:
	.cfi_startproc
	.cfi_undefined eip		/* outermost frame: unwinders stop here */
	subl	$12, %esp		/* so that entry sees (esp + 4) % 16 == 0 */
	pushl	%esi			/* the argument, on the stack (2.2.3) */
	call	*%ebx			/* entry(arg) */
	ud2				/* entry returned: a bug, trap loudly */
	.cfi_endproc
	.size	coop__arch_start, .-coop__arch_start

/* Whether the CPU has SSE (so MXCSR), set by coop__arch_make. */
	.data
	.hidden	coop__arch_sse
	.type	coop__arch_sse, @object
coop__arch_sse:
	.byte	0
	.size	coop__arch_sse, 1

/* GNU property note: IBT-compatible (every indirect branch target above
 * has endbr32; coop__arch_start is reached by ret).  Not SHSTK: a switch
 * returns to another stack's address. */
	.section .note.gnu.property, "a"
	.p2align 2
	.long	4			/* name size ("GNU\0") */
	.long	12			/* descriptor size */
	.long	5			/* NT_GNU_PROPERTY_TYPE_0 */
	.asciz	"GNU"
	.long	0xc0000002		/* GNU_PROPERTY_X86_FEATURE_1_AND */
	.long	4			/* data size */
	.long	1			/* GNU_PROPERTY_X86_FEATURE_1_IBT */

	.section .note.GNU-stack, "", %progbits
