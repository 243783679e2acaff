/*
 * coop-private.h: the structures behind the opaque public types and the
 * coop__ calls the source files share.  Nothing here is installed.
 *
 * Ownership: a context owns every task spawned into it (its `tasks` list)
 * and every stack it mapped (its pools).  A task is READY while on the run
 * queue, RUNNING while it is coop__self, BLOCKED while in coop_join, DONE
 * once its function has ended; it keeps its stack slot until it is joined
 * (or at once when detached).  Everything belongs to one thread: no locks.
 */
#ifndef COOP_PRIVATE_H
#define COOP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <coop/coop.h>

#include "arch/arch.h"
#include "coop-config.h"

#if COOP_HAVE_LIBBSD
#include <bsd/string.h>
#include <bsd/sys/queue.h>
#else
/* Without libbsd (cross builds for targets Debian has no libbsd for):
 * glibc's sys/queue.h has every list macro used here. */
#include <string.h>
#include <sys/queue.h>
#if !COOP_HAVE_STRLCPY
/* glibc < 2.38 has no strlcpy; this is its contract, for names only. */
static inline size_t strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
#endif
#endif

/* Public entry points; the version script decides what leaves the DSO. */
#define COOP_EXPORT __attribute__((visibility("default")))

/* Initial-exec TLS: one instruction to reach, no __tls_get_addr call. */
#define COOP_TLS __thread __attribute__((tls_model("initial-exec")))

#define COOP_LIKELY(x) __builtin_expect(!!(x), 1)
#define COOP_UNLIKELY(x) __builtin_expect(!!(x), 0)

enum coop__state {
	COOP__READY,   /* on the run queue */
	COOP__RUNNING, /* the current task of its thread */
	COOP__BLOCKED, /* suspended in coop_join */
	COOP__DONE,    /* ended; result valid until joined */
	COOP__FREE,    /* a pool slot with no task in it */
	COOP__NEW,     /* on the run queue, never run: its frame is a fresh one */
};

struct coop__pool;

/* A task.  One on a library stack lives at the top of its pool slot, just
 * above the stack (one allocation, one page for the hot data of a switch);
 * one on a caller's buffer is malloc'd, off the buffer. */
struct coop_task {
	/* What a switch reads and writes comes first: one cache line. */
	struct coop__arch_ctx arch;       /* machine state while suspended */
	struct coop_task *rq_next;        /* the run ring (see coop__ring_*): */
	struct coop_task *rq_prev;        /*   READY and RUNNING tasks only */
	struct coop_context *ctx;         /* the context it belongs to */
	int saved_errno;                  /* the task's errno while it is not running */
	enum coop__state state;           /* see above */
	bool canary;                      /* unguarded: a canary word sits at stack_lo */
	bool detached;                    /* free everything when it ends */
	bool guarded;                     /* a guard page lies below stack_lo */
	struct coop__arch_eh eh;          /* its C++ exception state while not running
	                                   * (under COOP__HOOK_CXX only: src/cxx.h) */
	void *(*fn)(void *);              /* the task's function */
	void *arg;                        /* its argument */
	void *result;                     /* fn's return value or coop_exit's argument */
	struct coop_task *joiner;         /* task blocked joining this one, or NULL */
	struct coop_task *joining;        /* task this one is blocked joining (cycle check) */
	char *stack_lo;                   /* lowest usable stack byte */
	size_t stack_size;                /* usable bytes from stack_lo */
	struct coop__pool *pool;          /* the pool owning this slot; NULL: malloc'd */
	TAILQ_ENTRY(coop_task) free_link; /* the pool's free lists while FREE */
	LIST_ENTRY(coop_task) all;        /* the context's list of every task it holds */
	uint64_t id;                      /* 1, 2, ... in spawn order within the context */
	unsigned vg_id;                   /* valgrind's id of the stack (0 outside valgrind) */
	char name[COOP_TASK_NAME_MAX + 1];/* copied name, "" when none */
	void *tsan_fiber;                 /* TSan's fiber for it (set at spawn under COOP__HOOK_SANITIZER) */
};

TAILQ_HEAD(coop__taskq, coop_task);
LIST_HEAD(coop__tasklist, coop_task);
LIST_HEAD(coop__poollist, coop__pool);
TAILQ_HEAD(coop__poolq, coop__pool);

struct coop_context {
	struct coop__arch_ctx main;       /* the coop_run caller while tasks run */
	struct coop__arch_ctx graveyard;  /* where an ending task's last state goes */
	struct coop_task *rq;             /* the run ring's first task while none of
	                                   * this context runs; NULL: empty */
	struct coop__tasklist tasks;      /* every task not yet freed */
	struct coop__poollist pools;      /* stack pools, one per slot size */
	size_t npools;                    /* length of pools */
	struct coop__poolq idle_pools;    /* empty pools kept for reuse, emptied last first */
	size_t nidle;                     /* length of idle_pools */
	struct coop__pool *default_pool;  /* the pool of stack_size, once made */
	size_t live;                      /* tasks not yet DONE */
	size_t stack_size;                /* default usable stack size, rounded up to 16 */
	unsigned flags;                   /* COOP_CONTEXT_* from the options */
	uint64_t next_id;                 /* id of the next spawned task */
	int main_errno;                   /* the coop_run caller's errno while tasks run */
	struct coop__arch_eh main_eh;     /* its C++ exception state, likewise */
	bool running;                     /* inside coop_run */
	bool leaving_main;                /* a switch away from the coop_run caller is under way */
	const void *main_lo;              /* the caller's stack bounds, as ASan reports them */
	size_t main_size;
	void *tsan_main;                  /* TSan: the coop_run caller's fiber (the thread's own) */
	void *tsan_dead;                  /* TSan: an ended task's fiber, destroyed at the next arrival */
};

/* The running task and context of this thread (NULL outside coop_run). */
extern COOP_TLS struct coop_task *coop__self;
extern COOP_TLS struct coop_context *coop__running;
/* This thread's errno (&errno: constant for the thread, and no call). */
extern COOP_TLS int *coop__errno;
/* What else must follow every switch, decided at load (COOP__HOOK_*);
 * 0 in a plain C program, whose switches then take the shortest path. */
extern unsigned char coop__hooks;
/* A sanitizer's fiber API is present: switches take the annotated path
 * (checkers.h). */
#define COOP__HOOK_SANITIZER 0x1u
/* The C++ runtime is present: each task's exception state is swapped in
 * and out (cxx.h). */
#define COOP__HOOK_CXX 0x2u

/* Print "coop: <call>: <what>" on stderr and abort: for misuse that cannot
 * be returned as an error. */
__attribute__((noreturn, format(printf, 2, 3)))
void coop__die(const char *call, const char *fmt, ...);

/* Read an options struct of `size` bytes (as the caller compiled it) into
 * `ours` (of `ours_size` bytes, zeroed first).  -EINVAL when too small to
 * hold `size`, -E2BIG when it has nonzero bytes we don't know. */
int coop__opts_copy(void *ours, size_t ours_size, const void *theirs);

/* context.c: scheduling.
 *
 * The run queue is a ring: a circular doubly-linked list, through rq_next
 * and rq_prev, of a context's READY tasks and its RUNNING one, with no
 * head node.  Seen from the running task the ring is the FIFO queue: the
 * task after it runs next, and the place before it is the tail.  So a
 * yield changes no link at all (the next task is self->rq_next, one load
 * from a line the switch touches anyway, where an array or a headed list
 * costs a chain of loads through the context on every switch), and only a
 * task that blocks or ends leaves the ring.  libbsd's <sys/queue.h> lists
 * all have a head node, which the wrap-around would have to skip.
 *
 * While a task of the context runs it is coop__self, the ring's anchor;
 * otherwise ctx->rq is, the task to run first. */

/* Put `t` in the ring just before `at` (at its tail, `at` being the head
 * or the running task); `at` NULL: `t` is the whole ring. */
static inline void coop__ring_insert(struct coop_task *at, struct coop_task *t)
{
	if (!at) {
		t->rq_next = t->rq_prev = t;
		return;
	}
	t->rq_next = at;
	t->rq_prev = at->rq_prev;
	at->rq_prev->rq_next = t;
	at->rq_prev = t;
}

/* Take `t` out of the ring; returns the task after it, NULL if it was alone. */
static inline struct coop_task *coop__ring_remove(struct coop_task *t)
{
	struct coop_task *next = t->rq_next;

	if (next == t)
		return NULL;
	next->rq_prev = t->rq_prev;
	t->rq_prev->rq_next = next;
	return next;
}

/* `t` takes the place of `self` in the ring (as if put at its tail, just
 * before `self`, and `self` taken out): returns the task after it.  The
 * same as coop__ring_insert then coop__ring_remove, in fewer stores: on
 * the end of every joined task, that was 3 ns of a 33 ns spawn+join. */
static inline struct coop_task *coop__ring_replace(struct coop_task *self, struct coop_task *t)
{
	struct coop_task *next = self->rq_next;

	if (next == self) {
		t->rq_next = t->rq_prev = t;
		return t;
	}
	t->rq_next = next;
	t->rq_prev = self->rq_prev;
	t->rq_prev->rq_next = t;
	next->rq_prev = t;
	return next;
}

/* The running task `self` leaves the ring (it blocks or ends): returns
 * the task to run next, NULL when none is left. */
static inline struct coop_task *coop__ring_leave(struct coop_task *self)
{
	struct coop_task *next = coop__ring_remove(self);

	if (!next)
		self->ctx->rq = NULL;
	return next;
}

/* A new task to the tail of its context's run queue. */
static inline void coop__ring_add_new(struct coop_task *t)
{
	struct coop_context *ctx = t->ctx;

	t->state = COOP__NEW;
	if (coop__running == ctx && coop__self) {
		coop__ring_insert(coop__self, t);
	} else {
		coop__ring_insert(ctx->rq, t);
		if (!ctx->rq)
			ctx->rq = t;
	}
}
/* Suspend the running task, blocked by the caller, and run the next READY
 * task, or return to coop_run's caller if none. */
void coop__schedule(struct coop_task *self);
/* First thing after arriving on a task's stack: finish the checkers'
 * switch bookkeeping (`fake`: the arriving context's saved fake stack). */
void coop__arrive(struct coop_context *ctx, void *fake);
/* Leave a task that has ended for good (out of the ring already, maybe
 * freed) for `next`, NULL: the coop_run caller.  Not declared noreturn,
 * so that the end of a task can reach it by a jump (a sibling call): the
 * return-stack predictor then still holds the return address of whoever
 * resumes next.  It never returns unless memory is corrupt; callers that
 * continue must abort. */
void coop__schedule_last(struct coop_context *ctx, struct coop_task *next);

/* task.c: free a task handle and its stack (the task is not running). */
void coop__task_free(struct coop_task *t);

/* overflow.c: the SIGSEGV handler naming a task that overflowed into its
 * guard page.  Install it once per process (not for a context created
 * with COOP_CONTEXT_NO_OVERFLOW_HANDLER); give this thread an alternate
 * signal stack at coop_run (once per thread). */
void coop__overflow_install(unsigned flags);
void coop__overflow_thread(const struct coop_context *ctx);
/* The task popped from the run queue is not READY, or not of this
 * context: print one line naming the call and abort. */
__attribute__((noreturn, cold)) void coop__bad_resume(const struct coop_context *ctx,
                                                      const struct coop__arch_ctx *from,
                                                      const struct coop_task *next);

/* stack.c */
/* Round up to whole pages; 0 on overflow. */
size_t coop__page_round(size_t n);
/* A stack size the API accepts (COOP_STACK_SIZE_MIN to SIZE_MAX / 2): 0,
 * else -EINVAL. */
int coop__stack_size_check(size_t size);
/* A task with a guarded stack of at least `size` usable bytes (a size
 * coop__stack_size_check accepted), from the context's pool (in its
 * slot); fields other than the stack's are unset.  -ENOMEM when memory,
 * address space or the kernel's mapping budget runs out (see
 * coop_context_create(3)). */
int coop__stack_task(struct coop_context *ctx, size_t size, struct coop_task **out);
/* A malloc'd task running on a caller's buffer (a canary at its bottom);
 * -EINVAL for a NULL buffer, a size coop__stack_size_check refuses, or a
 * buffer that wraps the address space. */
int coop__stack_user_task(void *buf, size_t size, struct coop_task **out);
/* The task (maybe FREE already) of the pool slot whose guard page holds
 * `addr`, or NULL.  For the SIGSEGV handler: it only reads the context's
 * pools (`pg`: the page size, cached by the caller). */
struct coop_task *coop__stack_guard_owner(const struct coop_context *ctx, uintptr_t addr,
                                          size_t pg);
/* Give back a task's slot (or free a malloc'd task).  Safe while still
 * running on that stack, as long as the caller switches away before the
 * next coop__stack_task. */
void coop__stack_release(struct coop_context *ctx, struct coop_task *t);
/* Unmap every pool of the context (all tasks already released). */
void coop__stack_destroy(struct coop_context *ctx);
/* An unguarded task (t->canary) is leaving the CPU: abort, naming it and
 * `call`, if it wrote below its stack. */
void coop__stack_check(const char *call, const struct coop_task *t);

#endif /* COOP_PRIVATE_H */
