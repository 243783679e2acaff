/*
 * coop-private.h: the structures behind the opaque public types and the
 * coop__ calls the source files share.  Nothing here is installed.
 *
 * Ownership: a context owns every task spawned into it (its `tasks` list)
 * and every stack it mapped (in use by a task, or cached in `stacks`).  A
 * task is READY while on the run queue, RUNNING while it is coop__self,
 * BLOCKED while in coop_join, DONE once its function has ended; a DONE task
 * has no stack.  Everything belongs to one thread: no locks.
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

/* A stack a task runs on: either mapped by the library (with a guard page
 * below it) or a caller's buffer. */
struct coop__stack {
	void *lo;                       /* lowest usable byte */
	size_t size;                    /* usable bytes from lo */
	void *map;                      /* whole mapping incl. guard; NULL for a caller's buffer */
	size_t map_size;                /* bytes of that mapping; the cache's size key */
	unsigned vg_id;                 /* valgrind's stack id (0 outside valgrind) */
	TAILQ_ENTRY(coop__stack) link;  /* position in the context's stack cache */
};

enum coop__state {
	COOP__READY,   /* on the run queue */
	COOP__RUNNING, /* the current task of its thread */
	COOP__BLOCKED, /* suspended in coop_join */
	COOP__DONE,    /* ended; result valid; stack released */
};

struct coop_task {
	struct coop__arch_ctx arch;       /* machine state while suspended */
	struct coop_context *ctx;         /* the context it belongs to */
	TAILQ_ENTRY(coop_task) runq;      /* run queue link while READY */
	LIST_ENTRY(coop_task) all;        /* the context's list of every task it holds */
	void *(*fn)(void *);              /* the task's function */
	void *arg;                        /* its argument */
	void *result;                     /* fn's return value or coop_exit's argument */
	struct coop_task *joiner;         /* task blocked joining this one, or NULL */
	struct coop_task *joining;        /* task this one is blocked joining (cycle check) */
	struct coop__stack *stack;        /* stack in use; NULL once DONE */
	struct coop__stack user_stack;    /* descriptor of a caller's buffer (kept off it) */
	uint64_t id;                      /* 1, 2, ... in spawn order within the context */
	int saved_errno;                  /* the task's errno while it is not running */
	enum coop__state state;           /* see above */
	bool detached;                    /* free everything when it ends */
	char name[COOP_TASK_NAME_MAX + 1];/* copied name, "" when none */
};

TAILQ_HEAD(coop__taskq, coop_task);
TAILQ_HEAD(coop__stackq, coop__stack);
LIST_HEAD(coop__tasklist, coop_task);

struct coop_context {
	struct coop__arch_ctx main;       /* the coop_run caller while tasks run */
	struct coop__arch_ctx graveyard;  /* where an ending task's last state goes */
	struct coop__taskq runq;          /* READY tasks, FIFO */
	struct coop__tasklist tasks;      /* every task not yet freed */
	struct coop__stackq stacks;       /* cached free mapped stacks, most recent first */
	size_t nstacks;                   /* length of `stacks` */
	size_t live;                      /* tasks not yet DONE */
	size_t stack_size;                /* default usable stack size */
	uint64_t next_id;                 /* id of the next spawned task */
	int main_errno;                   /* the coop_run caller's errno while tasks run */
	bool running;                     /* inside coop_run */
	bool leaving_main;                /* a switch away from the coop_run caller is under way */
	const void *main_lo;              /* the caller's stack bounds, as ASan reports them */
	size_t main_size;
};

/* The running task and context of this thread (NULL outside coop_run). */
extern COOP_TLS struct coop_task *coop__self;
extern COOP_TLS struct coop_context *coop__running;

/* Print "coop: <call>: <what>" on stderr and abort: for misuse that cannot
 * be returned as an error. */
__attribute__((noreturn, format(printf, 2, 3)))
void coop__die(const char *call, const char *fmt, ...);

/* Read an options struct of `size` bytes (as the caller compiled it) into
 * `ours` (of `ours_size` bytes, zeroed first).  -EINVAL when too small to
 * hold `size`, -E2BIG when it has nonzero bytes we don't know. */
int coop__opts_copy(void *ours, size_t ours_size, const void *theirs);

/* context.c: scheduling. */
/* Suspend the running task (already queued or blocked by the caller) and
 * run the next READY task, or return to coop_run's caller if none. */
void coop__schedule(struct coop_task *self);
/* Append a task to the run queue. */
void coop__make_ready(struct coop_task *t);
/* First thing after arriving on a task's stack: finish the checkers'
 * switch bookkeeping (`fake`: the arriving context's saved fake stack). */
void coop__arrive(struct coop_context *ctx, void *fake);
/* Leave a task that has ended for good; `self` may already be freed. */
__attribute__((noreturn)) void coop__schedule_last(struct coop_context *ctx);

/* task.c: free a task handle and its stack (the task is not running). */
void coop__task_free(struct coop_task *t);

/* stack.c */
/* Round up to whole pages; 0 on overflow. */
size_t coop__page_round(size_t n);
/* A mapped, guarded stack with at least `size` usable bytes (from the
 * context's cache when one fits).  -ENOMEM or mmap's error. */
int coop__stack_get(struct coop_context *ctx, size_t size, struct coop__stack **out);
/* Describe a caller's buffer as a stack in `desc` (no guard, no copy). */
int coop__stack_user(struct coop__stack *desc, void *buf, size_t size);
/* Give a stack back; a mapped one goes to the cache.  Safe to call while
 * still running on it, as long as the caller switches away before the
 * next coop__stack_get. */
void coop__stack_put(struct coop_context *ctx, struct coop__stack *s);
/* Unmap every cached stack. */
void coop__stack_drain(struct coop_context *ctx);

#endif /* COOP_PRIVATE_H */
