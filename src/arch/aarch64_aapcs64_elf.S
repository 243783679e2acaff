/*
 * aarch64_aapcs64_elf.S: coop's context switch for AArch64, AAPCS64, ELF.
 *
 * Implements src/arch/arch.h: struct coop__arch_ctx is { void *sp; }.
 *
 * AAPCS64 (Procedure Call Standard for the Arm 64-bit Architecture):
 *  - section 6.1.1 "General-purpose Registers": a callee preserves x19-x29
 *    and SP; x30 (LR) holds the return address, so it is saved too;
 *  - section 6.1.2 "SIMD and Floating-Point Registers": v8-v15 are
 *    callee-saved, but "only the bottom 64 bits of each value stored in
 *    v8-v15 need to be preserved", i.e. d8-d15;
 *  - the FPCR (rounding mode, FZ, DN, trap enables) is not an ordinary
 *    callee-saved register but global state that only the functions made
 *    for it (fesetround, fesetenv) may change, so across any other call it
 *    is unchanged; the FPSR's cumulative flags are not preserved.  C11 7.6
 *    gives that environment thread storage duration and a task is a thread
 *    of control, so each context keeps its own FPCR (decided here; glibc's
 *    swapcontext does the same).  The FPSR is left alone.
 *  - section 6.4.5.1 "Universal stack constraints": SP is 16-byte aligned
 *    at every public interface (and the hardware checks SP alignment).
 *
 * A suspended context keeps all of it on its own stack:
 *
 *   frame of a suspended context, from the saved sp upwards (176 bytes)
 *   offset  size  content
 *     0      8    x19     (a fresh context: entry)
 *     8      8    x20     (a fresh context: arg)
 *    16     64    x21-x28 (a fresh context: 0)
 *    80      8    x29     (a fresh context: 0, ends frame-record chains)
 *    88      8    x30     (a fresh context: coop__arch_start), PAC-signed
 *                         with the SP at which the switch returns
 *    96     64    d8-d15  (a fresh context: 0)
 *   160      8    FPCR    (a fresh context: its creator's)
 *   168      8    (unused, keeps the frame a multiple of 16)
 *   176     16    (a fresh context only: zeros, the top of the stack)
 *
 * The saved sp is 16-byte aligned, so a fresh context enters
 * coop__arch_start with SP = the aligned top of its stack - 16.
 *
 * Branch protection (-mbranch-protection=standard): the saved return
 * address is signed with PACIASP on saving and checked with AUTIASP before
 * the RET that resumes (both in the HINT space: NOPs on cores without PAC),
 * so a suspended stack does not hold a forgeable code pointer.  The two
 * exported entry points start with BTI C (implied by PACIASP for the
 * switch); coop__arch_start is reached by RET, which BTI does not check, so
 * it needs no landing pad.  The GNU property note at the end declares BTI
 * and PAC so the library keeps both markings.
 */

	.text

/* int coop__arch_switch(struct coop__arch_ctx *from (x0),
 *                       struct coop__arch_ctx *to (x1)): returns 0 */
	.globl	coop__arch_switch
	.hidden	coop__arch_switch
	.type	coop__arch_switch, %function
	.p2align 4
coop__arch_switch:
	.cfi_startproc
	hint	#25			/* PACIASP: sign x30 with SP; also a BTI c pad */
	.cfi_negate_ra_state
	sub	sp, sp, #176		/* the frame above; SP stays 16-aligned (6.4.5.1) */
	.cfi_def_cfa_offset 176
	stp	x19, x20, [sp, #0]	/* callee-saved integer registers (6.1.1) */
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]	/* frame pointer, signed return address */
	stp	d8, d9, [sp, #96]	/* low halves of v8-v15 (6.1.2) */
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	mrs	x9, fpcr		/* this context's FP modes */
	str	x9, [sp, #160]
	mov	x10, sp
	str	x10, [x0]		/* from->sp: this context is now suspended */
	ldr	x10, [x1]		/* to->sp */
	mov	sp, x10			/* now on the other context's stack */
	ldr	x10, [sp, #160]		/* its FP modes: writing FPCR may be slow */
	cmp	x9, x10			/* (it can be self-synchronising), so */
	b.eq	1f			/* only when they differ */
	msr	fpcr, x10
1:	ldp	d8, d9, [sp, #96]	/* its callee-saved registers */
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	add	sp, sp, #176
	.cfi_def_cfa_offset 0
	hint	#29			/* AUTIASP: check x30 against this SP */
	.cfi_negate_ra_state
	mov	w0, #0			/* return 0: callers may tail-call us */
	ret				/* to where it called switch, or to start */
	.cfi_endproc
	.size	coop__arch_switch, .-coop__arch_switch

/* void coop__arch_make(struct coop__arch_ctx *c (x0), void *lo (x1),
 *                      size_t size (x2), void (*entry)(void *) (x3),
 *                      void *arg (x4))
 * Builds the frame above at the aligned top of [lo, lo + size). */
	.globl	coop__arch_make
	.hidden	coop__arch_make
	.type	coop__arch_make, %function
	.p2align 4
coop__arch_make:
	.cfi_startproc
	hint	#34			/* BTI c: landing pad for indirect calls */
	add	x9, x1, x2		/* top of the stack */
	and	x9, x9, #~15		/* 16-byte aligned (6.4.5.1) */
	stp	xzr, xzr, [x9, #-16]!	/* 16 zero bytes: a null frame record */
	sub	x9, x9, #176		/* the saved sp: top - 16 - 176 */
	stp	x3, x4, [x9, #0]	/* x19 = entry, x20 = arg */
	stp	xzr, xzr, [x9, #16]	/* x21-x28 */
	stp	xzr, xzr, [x9, #32]
	stp	xzr, xzr, [x9, #48]
	stp	xzr, xzr, [x9, #64]
	adr	x17, coop__arch_start	/* the first "return" goes to start, */
	add	x16, x9, #176		/* signed for the SP the switch will */
	hint	#8			/* PACIA1716: x17 signed with x16 */
	stp	xzr, x17, [x9, #80]	/* x29 = 0: end of the frame chain */
	stp	xzr, xzr, [x9, #96]	/* d8-d15 */
	stp	xzr, xzr, [x9, #112]
	stp	xzr, xzr, [x9, #128]
	stp	xzr, xzr, [x9, #144]
	mrs	x10, fpcr		/* inherit the creator's FP modes */
	stp	x10, xzr, [x9, #160]
	str	x9, [x0]		/* c->sp */
	ret
	.cfi_endproc
	.size	coop__arch_make, .-coop__arch_make

/* First code of a fresh context, reached by coop__arch_switch's RET with
 * x19 = entry, x20 = arg, x29 = 0.  entry never returns. */
	.hidden	coop__arch_start
	.type	coop__arch_start, %function
	.p2align 4
coop__arch_start:
	.cfi_startproc
	.cfi_undefined x30		/* outermost frame: unwinders stop here */
	mov	x0, x20			/* first argument in x0 (AAPCS64 6.8.2) */
	blr	x19			/* entry(arg); its BTI c / PACIASP pad */
	brk	#0x3e8			/* entry returned: a bug, trap loudly */
	.cfi_endproc
	.size	coop__arch_start, .-coop__arch_start

/* GNU property note (as in the ELF gABI's NT_GNU_PROPERTY_TYPE_0): every
 * indirect branch target above has a landing pad (BTI), and return
 * addresses are signed where they are saved (PAC). */
	.section .note.gnu.property, "a"
	.p2align 3
	.long	4			/* name size ("GNU\0") */
	.long	16			/* descriptor size */
	.long	5			/* NT_GNU_PROPERTY_TYPE_0 */
	.asciz	"GNU"
	.long	0xc0000000		/* GNU_PROPERTY_AARCH64_FEATURE_1_AND */
	.long	4			/* data size */
	.long	3			/* FEATURE_1_BTI (1) | FEATURE_1_PAC (2) */
	.long	0			/* pad to 8 bytes */

	.section .note.GNU-stack, "", %progbits
