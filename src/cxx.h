/*
 * cxx.h: a task is a C++ program's thread of control too.
 *
 * The C++ runtime keeps one exception state per thread (what
 * __cxa_get_globals() returns: the caught exceptions, innermost first,
 * which `throw;` and std::current_exception() read, and the count of
 * uncaught ones, which std::uncaught_exceptions() reads).  Tasks share
 * their thread, so without help a task suspended inside a catch block
 * would see another task's exception.  Each task, and the coop_run
 * caller, keeps its own copy (struct coop__arch_eh), swapped in and out
 * of the thread's at every switch, as errno is.
 *
 * The library stays C: the runtime is found at load through a weak
 * reference (libstdc++ and libc++abi both export __cxa_get_globals), and
 * only then is COOP__HOOK_CXX set, which sends switches down the path
 * that calls coop__cxx_switch.  A C program never takes it.  The thread's
 * state does not move (it is thread-local storage of the runtime), so
 * coop_run looks it up once per run.
 */
#ifndef COOP_CXX_H
#define COOP_CXX_H

#include "coop-private.h"

/* libstdc++ / libc++abi, when the program has one. */
extern struct coop__arch_eh *__cxa_get_globals(void) __attribute__((weak));

/* This thread's exception state, while it runs a context under C++. */
extern COOP_TLS struct coop__arch_eh *coop__eh;

/* At coop_run, before the first switch: find this thread's state. */
static inline void coop__cxx_thread(void)
{
	coop__eh = __cxa_get_globals();
}

/* A switch away from a context whose exception state goes to `save`
 * (NULL: it never resumes, and what it held is dropped) to one whose
 * state is `load`. */
static inline void coop__cxx_switch(struct coop__arch_eh *save, const struct coop__arch_eh *load)
{
	struct coop__arch_eh *g = coop__eh;

	if (save)
		*save = *g;
	*g = *load;
}

#endif /* COOP_CXX_H */
