/*
 * arch.h: the only contract between coop and the machine.
 *
 * A backend (one file per target under src/arch/, chosen by meson) provides
 * a way to build a fresh execution context on a stack and to switch from
 * the running context to a suspended one.  Everything else in coop is
 * portable C.
 *
 * Invariants every backend keeps:
 *  - coop__arch_switch() saves all state the platform ABI makes callee-saved
 *    (integer and floating-point registers, and the floating-point control
 *    state where the ABI makes it callee-saved) into `from`, then resumes `to`.
 *  - A context made by coop__arch_make() starts in entry(arg) on its own
 *    stack with the stack aligned as the ABI requires at a function entry,
 *    and with the floating-point control state of the caller of
 *    coop__arch_make().  entry must never return.
 *  - No backend allocates; the context lives wherever the caller puts it.
 */
#ifndef COOP_ARCH_H
#define COOP_ARCH_H

#include <stddef.h>

#include "coop-config.h"

#if COOP_CONTEXT_UCONTEXT
#include <ucontext.h>

/* The glibc ucontext fallback keeps the whole ucontext_t, plus the entry
 * point, because makecontext() can only pass int arguments. */
struct coop__arch_ctx {
	ucontext_t uc;              /* registers, signal mask, fp state */
	void (*entry)(void *);      /* first function to run */
	void *arg;                  /* its argument */
};

/* Start fetching what resuming `c` will read first. */
static inline void coop__arch_prefetch(const struct coop__arch_ctx *c)
{
	__builtin_prefetch(&c->uc.uc_mcontext);
}
#else
/* An assembly backend keeps everything on the suspended stack; the context
 * is just the stack pointer to resume from. */
struct coop__arch_ctx {
	void *sp;                   /* saved stack pointer while suspended */
};

/* Start fetching what resuming `c` will read first: its saved frame (up
 * to two cache lines). */
static inline void coop__arch_prefetch(const struct coop__arch_ctx *c)
{
	__builtin_prefetch(c->sp);
	__builtin_prefetch((const char *)c->sp + 64);
}
#endif

/* The C++ runtime's exception state of one thread, as __cxa_get_globals()
 * returns it (struct __cxa_eh_globals of the Itanium C++ ABI, the same in
 * libstdc++ and libc++abi): the stack of caught exceptions and the count
 * of uncaught ones, plus, with the ARM EHABI unwinder (32-bit arm), the
 * exceptions whose cleanups are running.  Its layout is the target's: the
 * one piece of the C++ ABI coop knows (src/cxx.h). */
struct coop__arch_eh {
	void *caught;           /* __cxa_exception *caughtExceptions */
	unsigned int uncaught;  /* uncaughtExceptions */
#if defined(__arm__) && !defined(__ARM_DWARF_EH__)
	void *propagating;      /* propagatingExceptions (ARM EHABI only) */
#endif
};

/* Prepare `c` to start entry(arg) on the stack [lo, lo + size). */
void coop__arch_make(struct coop__arch_ctx *c, void *lo, size_t size, void (*entry)(void *),
                     void *arg);

/* Save the running context into `from` and resume `to`.  Returns 0 when
 * something switches back to `from` (a value, so that callers returning 0
 * can tail-call it). */
int coop__arch_switch(struct coop__arch_ctx *from, struct coop__arch_ctx *to);

/* The same, for a `to` made by coop__arch_make that has never run: the
 * only way into one (with coop__arch_leave_fresh).  A backend may start it
 * with a jump instead of a return, which keeps the CPU's return-stack
 * predictor in step with the stacks (one mispredicted return fewer per
 * task), from a shorter frame than a suspended context's; the others use
 * coop__arch_switch. */
#if COOP_ARCH_SWITCH_FRESH
int coop__arch_switch_fresh(struct coop__arch_ctx *from, struct coop__arch_ctx *to);
#else
#define coop__arch_switch_fresh coop__arch_switch
#endif

/* Resume `to` (one never run: coop__arch_leave_fresh), abandoning the
 * running context for good.  A backend may save nothing at all; the others
 * save into `scratch`, which nobody resumes. */
#if COOP_ARCH_LEAVE
int coop__arch_leave(struct coop__arch_ctx *scratch, struct coop__arch_ctx *to);
int coop__arch_leave_fresh(struct coop__arch_ctx *scratch, struct coop__arch_ctx *to);
#else
#define coop__arch_leave coop__arch_switch
#define coop__arch_leave_fresh coop__arch_switch_fresh
#endif

#endif /* COOP_ARCH_H */
