/*
 * ucontext.c: the portable context switch, on glibc's ucontext.
 *
 * Implements src/arch/arch.h for any target glibc supports.  It is the
 * fallback, not the default: swapcontext() saves and restores the signal
 * mask with a system call on every switch (~100x a native switch), but it
 * preserves everything the platform ABI makes callee-saved, including the
 * floating-point control state, and aligns the stack for entry itself.
 */
#include <stdint.h>
#include <ucontext.h>

#include "coop-private.h"

/* makecontext() passes only ints: the context's address travels as two
 * 32-bit halves (the usual portable idiom). */
static void start(unsigned int hi, unsigned int lo)
{
	uintptr_t p = ((uintptr_t)hi << 16 << 16) | (uintptr_t)lo;
	struct coop__arch_ctx *c = (struct coop__arch_ctx *)p;

	c->entry(c->arg);
	coop__die("coop__arch_start", "task entry returned");
}

void coop__arch_make(struct coop__arch_ctx *c, void *lo, size_t size, void (*entry)(void *),
                     void *arg)
{
	uintptr_t p = (uintptr_t)c;

	/* Snapshot this context: the new one inherits its signal mask and
	 * floating-point control state. */
	if (getcontext(&c->uc) != 0)
		coop__die("coop_spawn", "getcontext failed");
	c->uc.uc_stack.ss_sp = lo;
	c->uc.uc_stack.ss_size = size;
	c->uc.uc_link = NULL;
	c->entry = entry;
	c->arg = arg;
	makecontext(&c->uc, (void (*)(void))start, 2, (unsigned int)(p >> 16 >> 16),
	            (unsigned int)(p & 0xffffffffu));
}

int coop__arch_switch(struct coop__arch_ctx *from, struct coop__arch_ctx *to)
{
	if (swapcontext(&from->uc, &to->uc) != 0)
		coop__die("coop__arch_switch", "swapcontext failed");
	return 0;
}
