/*
 * coop-private.h: the structures behind the opaque public types and the
 * coop__ calls the source files share.  Nothing here is installed.
 *
 * Ownership: a context owns every task spawned into it (its `tasks` list)
 * and every stack it mapped (its pools), and lists the objects (groups,
 * channels, locks) bound to it (object.h), which the application owns.  A
 * task is READY while on the run queue, RUNNING while it is coop__self,
 * BLOCKED while in a blocking call (wait.h), DONE
 * once its function has ended; it keeps its stack slot until it is joined
 * (or at once when detached).  Everything belongs to one thread: no locks.
 */
#ifndef COOP_PRIVATE_H
#define COOP_PRIVATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <coop/coop.h>

#include "arch/arch.h"
#include "checkers.h"
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
	COOP__BLOCKED, /* suspended in a blocking call (wait.c) */
	COOP__DONE,    /* ended; result valid until joined */
	COOP__FREE,    /* a pool slot with no task in it */
	COOP__NEW,     /* on the run queue, never run: its frame is a fresh one */
};

struct coop__job;
struct coop__obj;
struct coop__pool;
struct coop__poll;
struct coop__selblock;
struct coop__waiter;

/* A queue of wait records (wait.h): the tasks waiting on one thing, in the
 * order they began to wait. */
TAILQ_HEAD(coop__waitq, coop__waiter);

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
	unsigned char wait_events;        /* while BLOCKED in an fd wait: its COOP_FD_READ/WRITE
	                                   * (cold, but this line has room for it) */
	unsigned int locks;               /* mutexes it owns (sync.c; tested as it ends) */
	struct coop__arch_eh eh;          /* its C++ exception state while not running
	                                   * (under COOP__HOOK_CXX only: src/cxx.h) */
	void *(*fn)(void *);              /* the task's function */
	void *arg;                        /* its argument */
	void *result;                     /* fn's return value or coop_exit's argument */
	/* Waiting (wait.c), while BLOCKED: */
	struct coop__waiter *waits;       /*   its wait records (on its stack), */
	unsigned nwaits;                  /*   how many */
	uint32_t timer;                   /*   1 + its timer-heap index, 0: none (time.c) */
	const void *wait_obj;             /*   the task, group... waited on (introspection) */
	int wait_result;                  /*   what the wait returns, set by its waker */
	int timeout_result;               /*   the result if its deadline ends it */
	unsigned char wait_kind;          /*   COOP_WAIT_* */
	unsigned char wait_flags;         /*   COOP__WAIT_* */
	unsigned char cancel;             /* COOP__CANCEL_* (cancel.c) */
	unsigned char budget_used;        /* calls done without waiting (wait.c, R7) */
	int wait_fd;                      /* while BLOCKED in an fd wait: the fd (poll_epoll.c) */
	uint64_t budget_mark;             /*   the switch count when it last spent */
	int64_t deadline;                 /* its ambient deadline, COOP_FOREVER: none */
	struct coop__waitq joiners;       /* the record of the task joining it */
	struct coop_group *group;         /* its group, until it ends (group.c) */
	TAILQ_ENTRY(coop_task) group_link; /*   the group's members */
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
LIST_HEAD(coop__objlist, coop__obj);
LIST_HEAD(coop__selblocks, coop__selblock);
LIST_HEAD(coop__joblist, coop__job);

/* A callback queued for a context's thread (remote.h): a post, or an
 * offload job's completion. */
struct coop__post {
	struct coop__post *next;
	void (*fn)(void *);
	void *arg;
};

/* What other threads write in a context (remote.h): on a cache line of its
 * own, so that posting threads do not slow the scheduler's fields down. */
struct coop__remote {
	_Atomic(struct coop__post *) posts;      /* coop_context_post: newest first */
	_Atomic(struct coop__post *) done;       /* offload completions: newest first */
	_Atomic(struct coop_notify *) notifies;  /* notifiers whose count turned nonzero */
	_Atomic(struct coop__post *) spare;      /* run posts' nodes handed back, one batch
	                                          * at most, for posters (remote.c) */
	atomic_uint sleep;                       /* COOP__AWAKE, or how the thread sleeps, its
	                                          * generation and a producer's wake (remote.h) */
	unsigned slept;                          /* the context's last store of a sleep
	                                          * (its thread only): the futex's value */
	atomic_uint inflight;                    /* producers between their push and the end
	                                          * of their wake: the context is not freed
	                                          * under them (coop_context_destroy) */
	int efd;                                 /* the eventfd, -1 until the poller has one:
	                                          * read only by a thread that saw
	                                          * COOP__SLEEP_EPOLL in sleep */
} __attribute__((aligned(64)));
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
	uint32_t epoch;                   /* event checks so far: with coop__tick, a count
	                                   * that moves at every switch (the budget's mark) */
	struct coop__timer *timers;       /* the timer heap (time.c): 4-ary, earliest first */
	uint32_t ntimers;                 /*   entries in use */
	uint32_t timer_cap;               /*   entries allocated: >= live, reserved at spawn */
	uint64_t timer_seq;               /*   order of the waits that began (R6 ties) */
	struct coop__checkers checkers;   /* the sanitizers' switch state (checkers.c) */
	int event_interval;               /* switches between event checks (R7) */
	unsigned fd_waiting;              /* tasks blocked in an fd wait (poller.h) */
	struct coop__poll *poll;          /* the kernel side, NULL until needed (R10) */
	struct coop__objlist objects;     /* its groups, channels, locks... (object.h) */
	struct coop__selblocks selblocks; /* wait records of selects over more than 8 ops (chan.c) */
	unsigned ext_waiting;             /* tasks blocked on another thread: a notifier or an
	                                   * offload job (coop_run blocks for them, R6) */
	struct coop_pool *pool;           /* coop_offload's pool (opts); NULL: the default */
	struct coop__joblist jobs;        /* offload jobs of its tasks not yet freed (offload.c) */
	bool destroying;                  /* coop_context_destroy under way: spawn is -ESHUTDOWN */
	bool stepping;                    /* in coop_run_once's round: every task runs once */
	bool embedded;                    /* coop_context_fd was called (embed.c) */
	bool efd_hot;                     /*   the eventfd is (or will be) readable */
	struct coop__remote remote;       /* written by other threads (remote.h) */
};

/* What a thread running a context keeps, in one thread-local block: the
 * yield path reaches all of it from one address (initial-exec TLS in a
 * shared library costs a GOT load per variable). */
struct coop__thread {
	struct coop_task *self;        /* the running task (NULL outside one) */
	int tick;                      /* task switches left before the next event check (R7) */
	int *err;                      /* this thread's errno (&errno: constant, and no call) */
	struct coop_context *running;  /* the context it runs (NULL outside coop_run) */
	bool to_main;                  /* the next switch of a task goes to the coop_run
	                                * caller, the ring anchored at the task it would
	                                * have run (a round's end, or events for it) */
};
extern COOP_TLS struct coop__thread coop__thread;
#define coop__self (coop__thread.self)
#define coop__running (coop__thread.running)
#define coop__errno (coop__thread.err)
#define coop__tick (coop__thread.tick)
#define coop__to_main (coop__thread.to_main)
/* What else must follow every switch, decided at load (COOP__HOOK_*);
 * 0 in a plain C program, whose switches then take the shortest path. */
extern unsigned char coop__hooks;
/* A sanitizer's fiber API is present: switches take the annotated path
 * (checkers.h). */
#define COOP__HOOK_SANITIZER 0x1u
/* The C++ runtime is present: each task's exception state is swapped in
 * and out (cxx.h). */
#define COOP__HOOK_CXX 0x2u

/* die.c: print "coop: <call>: <what>" on stderr and abort: for misuse
 * that cannot be returned as an error. */
__attribute__((noreturn, format(printf, 2, 3)))
void coop__die(const char *call, const char *fmt, ...);
/* R9: a running context belongs to the thread running it; `call` on it
 * from another thread aborts, naming the call. */
static inline void coop__check_thread(const struct coop_context *ctx, const char *call)
{
	if (COOP_UNLIKELY(ctx->running && coop__running != ctx))
		coop__die(call, "context %p is running on another thread", (const void *)ctx);
}
/* The task popped from the run queue is not READY, or not of this
 * context: print one line naming the call and abort. */
__attribute__((noreturn, cold)) void coop__bad_resume(const struct coop_context *ctx,
                                                      const struct coop__arch_ctx *from,
                                                      const struct coop_task *next);
/* The public call a blocked task is suspended in (its wait kind). */
const char *coop__wait_call(const struct coop_task *t);

/* Read an options struct of `size` bytes (as the caller compiled it) into
 * `ours` (of `ours_size` bytes, zeroed first).  -EINVAL when too small to
 * hold `size`, -E2BIG when it has nonzero bytes we don't know. */
int coop__opts_copy(void *ours, size_t ours_size, const void *theirs);

/* What every object a context owns begins with (object.h). */
struct coop__obj {
	struct coop_context *ctx;       /* its context; NULL once that is destroyed */
	LIST_ENTRY(coop__obj) link;     /* the context's objects */
	unsigned char type;             /* COOP__OBJ_* */
};

/* A task group (group.c): its members are the tasks spawned into it that
 * have not ended. */
struct coop_group {
	struct coop__obj obj;           /* first: its context */
	struct coop__taskq members;     /* through task->group_link, in spawn order */
	size_t nmembers;
	struct coop__waitq waiters;     /* tasks in coop_group_wait */
	bool cancelled;                 /* coop_group_cancel was called */
};

/* A notifier (notify.c). */
struct coop_notify {
	struct coop__obj obj;            /* first: its context */
	struct coop__waitq waiters;      /* tasks in coop_notify_wait */
	struct coop__remote *remote;     /* its context's, for senders (never changes) */
	atomic_ulong count;              /* sends not yet taken */
	atomic_int queued;               /* on remote->notifies (1 for good once orphaned) */
	struct coop_notify *next;        /*   the link there */
};
/* notify.c: the context of `n` is being destroyed: no send pushes it again. */
void coop__notify_orphan(struct coop_notify *n);

/* embed.c: a call outside a round made a task runnable: make the
 * context's fd readable (A7.7). */
void coop__embed_kick(struct coop_context *ctx);

/* sync.c: task t ends owning a mutex: one line naming both, abort. */
__attribute__((noreturn, cold)) void coop__die_locked(const struct coop_task *t);

/* chan.c: free the context's blocks of select wait records (its tasks
 * freed); a test's switch that makes the next block's allocation fail. */
void coop__selblocks_free(struct coop_context *ctx);
extern bool coop__selblock_fail;
/* chan.c: "coop_chan_send" or "coop_chan_recv", for task t BLOCKED in one. */
const char *coop__chan_wait_call(const struct coop_task *t);

/* context.c: take the calling thread for ctx (coop_run, coop_run_once):
 * 0, -EINVAL, or -EBUSY (this thread runs a context, or ctx runs);
 * give it back (re-establishing an embedded context's fd, embed.c); hand
 * the thread to the ring's task at ctx->rq until a switch comes back.
 * coop__can_wake: something but the host (a deadline, an fd, another
 * thread) can wake the context's blocked tasks. */
int coop__enter(struct coop_context *ctx);
void coop__leave(struct coop_context *ctx);
void coop__resume(struct coop_context *ctx);
bool coop__can_wake(const struct coop_context *ctx);

/* task.c: free a task handle and its stack (the task is not running). */
void coop__task_free(struct coop_task *t);

/* group.c: task t, being spawned, joins group g (of its context); it
 * starts cancelled if g was.  t leaves its group as it ends (`wake`: wake
 * the group's waiters when it was the last) or is freed unended. */
void coop__group_add(struct coop_task *t, struct coop_group *g);
void coop__group_leave(struct coop_task *t, bool wake);

/* overflow.c: the SIGSEGV handler naming a task that overflowed into its
 * guard page.  Install it once per process (not for a context created
 * with COOP_CONTEXT_NO_OVERFLOW_HANDLER); give this thread an alternate
 * signal stack at coop_run (once per thread). */
void coop__overflow_install(unsigned flags);
void coop__overflow_thread(const struct coop_context *ctx);

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
