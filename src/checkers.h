/*
 * checkers.h: telling AddressSanitizer and valgrind about stack switches.
 *
 * Both tools track "the" stack of a thread; a coroutine switch looks to
 * them like a huge stack frame (false reports, "client switching stacks?").
 * The hooks here announce every switch and every stack.
 *
 * ASan and TSan: their fiber APIs are looked up through weak references, so
 * the one ordinary libcoop.so annotates switches whenever the application
 * was built with -fsanitize=address or -fsanitize=thread, and costs a
 * not-taken branch otherwise.  TSan gets one fiber per task (created at
 * spawn, switched to before every switch, destroyed once the task has
 * ended and been left); the coop_run caller keeps the thread's own fiber.
 * valgrind: client requests from <valgrind/valgrind.h> (build-time only)
 * are a few no-op instructions when not running under valgrind.
 */
#ifndef COOP_CHECKERS_H
#define COOP_CHECKERS_H

#include <stddef.h>

#include "coop-config.h"

#if COOP_HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#define coop__vg_stack_register(lo, hi) VALGRIND_STACK_REGISTER((lo), (hi))
#define coop__vg_stack_deregister(id) VALGRIND_STACK_DEREGISTER(id)
#define coop__vg_running() (RUNNING_ON_VALGRIND != 0)
#else
#define coop__vg_stack_register(lo, hi) 0u
#define coop__vg_stack_deregister(id) ((void)(id))
#define coop__vg_running() 0
#endif

/* ASan's fiber interface (compiler-rt's common_interface_defs.h). */
extern void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom,
                                           size_t size) __attribute__((weak));
extern void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
                                            size_t *size_old) __attribute__((weak));
extern void __asan_unpoison_memory_region(void const volatile *addr, size_t size)
	__attribute__((weak));

/* Before a switch to the stack [lo, lo + size) (lo NULL: the thread's own
 * stack, whose bounds `main_lo`/`main_size` hold once learnt).  `fake` keeps
 * the leaving context's fake stack; NULL when that context never resumes. */
static inline void coop__asan_leave(void **fake, const void *lo, size_t size)
{
	if (__sanitizer_start_switch_fiber)
		__sanitizer_start_switch_fiber(fake, lo, size);
}

/* After a switch, in the context that now runs.  `lo`/`size` receive the
 * bounds of the stack just left (NULL: not wanted). */
static inline void coop__asan_arrive(void *fake, const void **lo, size_t *size)
{
	if (__sanitizer_finish_switch_fiber)
		__sanitizer_finish_switch_fiber(fake, lo, size);
}

/* A stack about to be reused may still carry poisoned redzones of frames
 * that never returned (a task ended by coop_exit, or released suspended). */
static inline void coop__asan_unpoison(const void *lo, size_t size)
{
	if (__asan_unpoison_memory_region)
		__asan_unpoison_memory_region(lo, size);
}

/* TSan's fiber interface (compiler-rt's tsan_interface.h). */
extern void *__tsan_get_current_fiber(void) __attribute__((weak));
extern void *__tsan_create_fiber(unsigned flags) __attribute__((weak));
extern void __tsan_destroy_fiber(void *fiber) __attribute__((weak));
extern void __tsan_switch_to_fiber(void *fiber, unsigned flags) __attribute__((weak));
extern void __tsan_set_fiber_name(void *fiber, const char *name) __attribute__((weak));
/* ... and its annotations of a hand-off between threads: the library is
 * not instrumented, so a TSan program sees none of its atomics; these
 * tell it what they order (remote.h: a post, a send, a completion). */
extern void __tsan_acquire(void *addr) __attribute__((weak));
extern void __tsan_release(void *addr) __attribute__((weak));

static inline void coop__tsan_release(void *addr)
{
	if (__tsan_release)
		__tsan_release(addr);
}

static inline void coop__tsan_acquire(void *addr)
{
	if (__tsan_acquire)
		__tsan_acquire(addr);
}

#include <stdbool.h>

struct coop_task;
struct coop_context;
struct coop__arch_ctx;

/* What a context keeps for the checkers' side of its switches. */
struct coop__checkers {
	bool leaving_main;   /* a switch away from the coop_run caller is under way */
	const void *main_lo; /* the caller's stack bounds, as ASan reports them */
	size_t main_size;
	void *tsan_main;     /* TSan: the coop_run caller's fiber (the thread's own) */
	void *tsan_dead;     /* TSan: an ended task's fiber, destroyed at the next arrival */
};

/* switch.h, under COOP__HOOK_SANITIZER: the switch from `from` to `next`
 * (NULL: the coop_run caller), announced to ASan and TSan; `dying`: `from`
 * never resumes; `fresh`: `next` runs for the first time.  Returns 0 once
 * `from` is resumed. */
int coop__checkers_switch(struct coop_context *ctx, struct coop__arch_ctx *from,
                          struct coop_task *next, bool dying, bool fresh);
/* First thing after arriving on a task's stack: finish the checkers'
 * switch bookkeeping (`fake`: the arriving context's saved fake stack). */
void coop__checkers_arrive(struct coop_context *ctx, void *fake);

/* task.c, under COOP__HOOK_SANITIZER: a task was just spawned / has ended (its
 * function returned or it called coop_exit; it may be freed before the
 * switch away) / is being freed.  Defined in checkers.c. */
void coop__checkers_spawn(struct coop_task *t);
void coop__checkers_end(struct coop_task *t);
void coop__checkers_free(struct coop_task *t);

#endif /* COOP_CHECKERS_H */
