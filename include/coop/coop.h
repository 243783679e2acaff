/*
 * coop: user-space cooperative multitasking.
 *
 * The public API of libcoop.  Every type is opaque; options structs start
 * with a `size` member the caller sets to sizeof the struct it was compiled
 * with, so later versions can append fields without breaking the ABI.
 * Every fallible call returns 0 (or a non-negative value) on success and a
 * negative errno value on failure; the library never reports through errno.
 * The reference for each call is its man page: coop(3) and those it names.
 */
#ifndef COOP_COOP_H
#define COOP_COOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h> /* socklen_t, struct sockaddr (coop_accept, coop_connect) */
#include <sys/types.h>  /* ssize_t (coop_read, coop_write) */

#include <coop/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* `noreturn` spelled so that C99, C11 and C++ compilers all accept it. */
#if defined(__GNUC__) || defined(__clang__)
#define COOP_NORETURN __attribute__((__noreturn__))
#elif defined(__cplusplus) && __cplusplus >= 201103L
#define COOP_NORETURN [[noreturn]]
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define COOP_NORETURN _Noreturn
#else
#define COOP_NORETURN
#endif

/* A scheduler: runs its tasks on the thread that calls coop_run(). */
struct coop_context;
/* A task handle: valid until coop_join() returns 0 for it, or until it ends
 * once detached, or until its context is destroyed. */
struct coop_task;
/* A task group (coop_group_create(3)): tasks spawned into it can be waited
 * for and cancelled together.  (coop 1.1) */
struct coop_group;
/* Synchronization between the tasks of one context (coop_chan_create(3),
 * coop_mutex_create(3), coop_cond_create(3), coop_sem_create(3)).  (coop 1.1) */
struct coop_chan;
struct coop_mutex;
struct coop_cond;
struct coop_sem;
/* A pool of threads for blocking calls (coop_pool_create(3), coop_offload(3)).
 * (coop 1.1) */
struct coop_pool;
/* A counter that any thread or signal handler can bump and a task waits for
 * (coop_notify_create(3)).  (coop 1.1) */
struct coop_notify;

/* Default usable stack size of a task (a guard page is added below it). */
#define COOP_STACK_SIZE_DEFAULT ((size_t)256 * 1024)
/* Smallest stack the library accepts, mapped or caller-supplied. */
#define COOP_STACK_SIZE_MIN ((size_t)2048)
/* Task names longer than this many bytes are truncated when copied. */
#define COOP_TASK_NAME_MAX 31

/* coop_context_opts.flags: when the kernel cannot give a stack its guard
 * page (the vm.max_map_count budget ran out), run the task unguarded with
 * a canary checked at every switch instead of failing with -ENOMEM. */
#define COOP_CONTEXT_ALLOW_UNGUARDED 0x1u
/* coop_context_opts.flags: do not install the SIGSEGV handler that names a
 * task overflowing into its guard page (one line on stderr before the
 * process dies by SIGSEGV as usual), nor give the thread running the
 * context an alternate signal stack; a fault in its tasks goes to whatever
 * handler the application installed. */
#define COOP_CONTEXT_NO_OVERFLOW_HANDLER 0x2u
/* coop_context_opts.flags (coop 1.1): keep every fd a task waited on
 * registered with the kernel, edge-triggered, so that a wait costs no
 * system call; every such fd must then be closed with coop_fd_close() or
 * released with coop_fd_forget() (coop_fd_wait(3)). */
#define COOP_CONTEXT_FD_CACHE 0x4u

struct coop_context_opts {
	size_t size;       /* sizeof(struct coop_context_opts) */
	size_t stack_size; /* default stack size of its tasks; 0: COOP_STACK_SIZE_DEFAULT */
	unsigned int flags; /* COOP_CONTEXT_* */
	/* coop 1.1 (appended past 1.0's sizeof): */
	struct coop_pool *pool;      /* the pool of coop_offload(); NULL: the default pool */
	unsigned int event_interval; /* task switches between event checks while
	                              * tasks are runnable; 0: 61 (coop(7), R7) */
};

struct coop_task_opts {
	size_t size;       /* sizeof(struct coop_task_opts) */
	size_t stack_size; /* usable stack bytes; 0: the context's default */
	void *stack;       /* caller-owned buffer of stack_size bytes, or NULL */
	const char *name;  /* copied; NULL: no name */
	/* coop 1.1 (appended past 1.0's sizeof): */
	struct coop_group *group; /* spawn into this group; NULL: none */
};

/* Create a scheduler; opts may be NULL. */
int coop_context_create(struct coop_context **out, const struct coop_context_opts *opts);
/* Release a scheduler with every task and stack it holds; NULL is a no-op. */
void coop_context_destroy(struct coop_context *ctx);
/* Run the context's tasks on this thread until none is left. */
int coop_run(struct coop_context *ctx);
/* Create a task running fn(arg); out == NULL spawns it detached. */
int coop_spawn(struct coop_context *ctx, struct coop_task **out, void *(*fn)(void *), void *arg,
               const struct coop_task_opts *opts);
/* Move the calling task to the tail of the run queue and run the next one. */
int coop_yield(void);
/* End the calling task with `result`. */
COOP_NORETURN void coop_exit(void *result);
/* Wait for a task to end, collect its result and free its handle. */
int coop_join(struct coop_task *task, void **result);
/* Free the task's resources when it ends instead of at coop_join(). */
int coop_detach(struct coop_task *task);
/* The calling task, or NULL outside any task. */
struct coop_task *coop_self(void);
/* The task's name ("" when it has none); NULL for a NULL task. */
const char *coop_task_name(const struct coop_task *task);
/* The library's version string, "MAJOR.MINOR.PATCH", of the loaded library. */
const char *coop_version(void);

/* Introspection: coop_task_info.state. */
enum coop_task_state {
	COOP_TASK_READY = 0,   /* on the run queue (also a task that has not started) */
	COOP_TASK_RUNNING = 1, /* the task its thread is executing */
	COOP_TASK_BLOCKED = 2, /* suspended in a blocking call (coop(7)) */
	COOP_TASK_DONE = 3     /* ended, not yet joined */
};
/* coop_task_info.flags */
#define COOP_TASK_INFO_DETACHED 0x1u   /* detached: freed as it ends */
#define COOP_TASK_INFO_USER_STACK 0x2u /* runs on a caller-supplied buffer */
#define COOP_TASK_INFO_GUARDED 0x4u    /* a guard page lies below its stack */
#define COOP_TASK_INFO_CANCELLED 0x8u  /* a cancellation was requested (coop 1.1) */
#define COOP_TASK_INFO_SHIELDED 0x10u  /* its shield is up (coop 1.1) */
/* coop_task_info.wait: what a BLOCKED task waits in (coop 1.1). */
enum coop_wait {
	COOP_WAIT_NONE = 0,   /* not blocked */
	COOP_WAIT_JOIN = 1,   /* coop_join_until(): wait_object is the task */
	COOP_WAIT_SLEEP = 2,  /* coop_sleep_until() */
	COOP_WAIT_FD = 3,     /* coop_fd_wait() and the I/O calls: wait_fd is the fd */
	COOP_WAIT_CHAN = 4,   /* coop_chan_send(), coop_chan_recv(): wait_object is the channel */
	COOP_WAIT_SELECT = 5, /* coop_chan_select() (wait_object NULL) */
	COOP_WAIT_MUTEX = 6,  /* coop_mutex_lock(), or a signalled coop_cond_wait() owning
	                       * its mutex again: wait_object is the mutex */
	COOP_WAIT_COND = 7,   /* coop_cond_wait(): wait_object is the condition variable */
	COOP_WAIT_SEM = 8,    /* coop_sem_acquire(): wait_object is the semaphore */
	COOP_WAIT_GROUP = 9,  /* coop_group_wait(): wait_object is the group */
	COOP_WAIT_NOTIFY = 10, /* coop_notify_wait(): wait_object is the notifier */
	COOP_WAIT_OFFLOAD = 11 /* coop_offload(): wait_object is NULL */
};
/* coop_task_info.stack_used when it cannot be measured. */
#define COOP_STACK_USED_UNKNOWN ((size_t)-1)

/* One task, as coop_context_tasks() reports it.  The caller sets `size` to
 * sizeof(struct coop_task_info); later versions may append fields. */
struct coop_task_info {
	size_t size;                       /* sizeof(struct coop_task_info) */
	unsigned long long id;             /* 1, 2, ... in spawn order within its context */
	char name[COOP_TASK_NAME_MAX + 1]; /* "" when it has none */
	int state;                         /* COOP_TASK_* */
	unsigned int flags;                /* COOP_TASK_INFO_* */
	size_t stack_size;                 /* usable stack bytes */
	size_t stack_used;                 /* high-water mark, page granular, or COOP_STACK_USED_UNKNOWN */
	const void *stack;                 /* lowest usable stack byte (the stack grows down to it) */
	/* coop 1.1: */
	int wait;                          /* COOP_WAIT_*: what a BLOCKED task waits in */
	int wait_fd;                       /* the fd of an fd wait; -1 otherwise */
	int64_t wait_deadline;             /* effective deadline of the wait; COOP_FOREVER: none */
	const void *wait_object;           /* the task, group, channel... waited on, or NULL */
};

/* Describe up to n of the context's tasks, in spawn order, into buf; returns
 * how many tasks the context holds (may be more than n). */
int coop_context_tasks(const struct coop_context *ctx, struct coop_task_info *buf, size_t n);

/* ---- coop 1.1: time and deadlines (coop_now(3), coop_sleep_until(3)) ----
 * A deadline is an absolute CLOCK_MONOTONIC time in nanoseconds, as
 * coop_now() returns; every blocking call takes one (coop(7), rule R1). */
#define COOP_NSEC ((int64_t)1)
#define COOP_USEC ((int64_t)1000)
#define COOP_MSEC ((int64_t)1000000)
#define COOP_SEC ((int64_t)1000000000)
#define COOP_FOREVER ((int64_t)-1) /* deadline: wait as long as it takes */
#define COOP_NOWAIT ((int64_t)0)   /* deadline: do not wait (any past time is the same) */

/* CLOCK_MONOTONIC in ns; thread- and async-signal-safe. */
int64_t coop_now(void);
/* now + ns, saturating at INT64_MAX; ns <= 0: now.  Never COOP_FOREVER. */
static inline int64_t coop_deadline_in(int64_t ns)
{
	int64_t now = coop_now();

	return ns <= 0 ? now : ns > INT64_MAX - now ? INT64_MAX : now + ns;
}
/* Suspend the calling task until coop_now() >= deadline (0), or until it
 * is cancelled (-ECANCELED) or its ambient deadline passes (-ETIMEDOUT). */
int coop_sleep_until(int64_t deadline);
/* Set the calling task's ambient deadline, which bounds every blocking
 * call it makes; *old (unless NULL) gets the previous one. */
int coop_set_deadline(int64_t deadline, int64_t *old);

/* ---- coop 1.1: cancellation (coop_cancel(3)) ---- */
/* The conventional result of a task that gave up because it was cancelled. */
#define COOP_CANCELED ((void *)(intptr_t)-1)
/* Request cancellation: wakes the task from its wait, and every later
 * blocking call it makes fails with -ECANCELED. */
int coop_cancel(struct coop_task *task);
/* 1 if the calling task has a cancellation that would be delivered now, else 0. */
int coop_cancelled(void);
/* Hold (1) or release (0) delivery of cancellation to the calling task;
 * returns the previous state. */
int coop_shield(int enable);
/* coop_join() with a deadline. */
int coop_join_until(struct coop_task *task, void **result, int64_t deadline);

/* ---- coop 1.1: task groups (coop_group_create(3)) ---- */
int coop_group_create(struct coop_context *ctx, struct coop_group **out);
int coop_group_destroy(struct coop_group *group);
/* Wait until no member is left; a cancelled waiter cancels the group and
 * waits for it. */
int coop_group_wait(struct coop_group *group, int64_t deadline);
/* Cancel every member, and every task spawned into the group later. */
int coop_group_cancel(struct coop_group *group);

/* ---- coop 1.1: file descriptors (coop_fd_wait(3), coop_read(3)) ----
 * Every fd must be non-blocking (O_NONBLOCK); coop never changes its flags. */
#define COOP_FD_READ 0x1u   /* in and out: readable (or end of file, or error) */
#define COOP_FD_WRITE 0x2u  /* in and out: writable (or error) */
#define COOP_FD_ERROR 0x4u  /* out only: the kernel reported an error */
#define COOP_FD_HANGUP 0x8u /* out only: the kernel reported a hang-up */
/* Wait until fd is readable and/or writable; returns the ready COOP_FD_* mask. */
int coop_fd_wait(int fd, unsigned int events, int64_t deadline);
/* Wake this context's waiters on fd with -EBADF, unregister it, close(2) it. */
int coop_fd_close(int fd);
/* The same, without closing. */
int coop_fd_forget(int fd);
/* Read up to n bytes: the count (>= 1), 0 at end of file, or a negative errno. */
ssize_t coop_read(int fd, void *buf, size_t n, int64_t deadline);
/* Write all n bytes: n, or the count written (> 0) when a later wait
 * fails, or a negative errno when nothing was written. */
ssize_t coop_write(int fd, const void *buf, size_t n, int64_t deadline);
/* accept4(2) (flags: SOCK_NONBLOCK, SOCK_CLOEXEC): the new fd or a negative errno. */
int coop_accept(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags, int64_t deadline);
/* connect(2) on a non-blocking socket, waiting for the outcome: 0 or a negative errno. */
int coop_connect(int fd, const struct sockaddr *addr, socklen_t addrlen, int64_t deadline);

/* ---- coop 1.1: channels (coop_chan_create(3), coop_chan_select(3)) ----
 * Every object below belongs to the context it was created in (ctx NULL:
 * the one running on the calling thread) and is destroyed explicitly. */
#define COOP_CHAN_SEND 1
#define COOP_CHAN_RECV 2
/* One operation of coop_chan_select(). */
struct coop_chan_op {
	size_t size;            /* sizeof(struct coop_chan_op); the same in every entry */
	struct coop_chan *chan; /* NULL: this op never becomes ready */
	void *elem;             /* SEND: the element to copy out; RECV: where to copy it (NULL: drop) */
	int op;                 /* COOP_CHAN_SEND or COOP_CHAN_RECV */
	int status;             /* out, the chosen op only: 0, or -EPIPE (channel closed) */
};
/* A channel of elements of elem_size bytes (0: signals only), buffering
 * up to capacity of them (0: each send meets a receive). */
int coop_chan_create(struct coop_context *ctx, struct coop_chan **out, size_t elem_size,
                     size_t capacity);
int coop_chan_destroy(struct coop_chan *chan);
int coop_chan_send(struct coop_chan *chan, const void *elem, int64_t deadline);
int coop_chan_recv(struct coop_chan *chan, void *elem, int64_t deadline);
/* Refuse further sends; receivers get what was sent, then -EPIPE. */
int coop_chan_close(struct coop_chan *chan);
/* Perform the first op (in array order) that can complete; returns its index. */
int coop_chan_select(struct coop_chan_op *ops, size_t n, int64_t deadline);

/* ---- coop 1.1: mutex, condition variable, semaphore (coop_mutex_create(3),
 * coop_cond_create(3), coop_sem_create(3)): FIFO hand-off, no barging ---- */
int coop_mutex_create(struct coop_context *ctx, struct coop_mutex **out);
int coop_mutex_destroy(struct coop_mutex *mutex);
int coop_mutex_lock(struct coop_mutex *mutex, int64_t deadline);
int coop_mutex_unlock(struct coop_mutex *mutex);
int coop_cond_create(struct coop_context *ctx, struct coop_cond **out);
int coop_cond_destroy(struct coop_cond *cond);
/* Release mutex, wait for a signal, own mutex again (on every return). */
int coop_cond_wait(struct coop_cond *cond, struct coop_mutex *mutex, int64_t deadline);
int coop_cond_signal(struct coop_cond *cond);
int coop_cond_broadcast(struct coop_cond *cond);
int coop_sem_create(struct coop_context *ctx, struct coop_sem **out, unsigned int value);
int coop_sem_destroy(struct coop_sem *sem);
int coop_sem_acquire(struct coop_sem *sem, int64_t deadline);
int coop_sem_release(struct coop_sem *sem);

/* ---- coop 1.1: threads (coop_context_post(3), coop_notify_create(3),
 * coop_offload(3), coop_pool_create(3)) ----
 * A context stays single-threaded; these are the ways in from other
 * threads (coop(7), R9). */
/* Any thread: run fn(arg) exactly once on ctx's thread, outside any task,
 * at the start of its next scheduling round (or at coop_context_destroy). */
int coop_context_post(struct coop_context *ctx, void (*fn)(void *), void *arg);
int coop_notify_create(struct coop_context *ctx, struct coop_notify **out);
int coop_notify_destroy(struct coop_notify *notify);
/* Any thread or signal handler: add 1 to the count and wake a waiter. */
int coop_notify_send(struct coop_notify *notify);
/* Take the whole count (into *count unless NULL), waiting for it to be nonzero. */
int coop_notify_wait(struct coop_notify *notify, uint64_t *count, int64_t deadline);

struct coop_pool_opts {
	size_t size;              /* sizeof(struct coop_pool_opts) */
	size_t stack_size;        /* worker stack; 0: the pthread default */
	int64_t idle_timeout;     /* ns an idle worker lingers before it exits; 0: 10 s */
	unsigned int max_threads; /* 0: 64 */
};
/* Any thread: a pool of worker threads, started as jobs need them. */
int coop_pool_create(struct coop_pool **out, const struct coop_pool_opts *opts);
/* Any thread: -EBUSY while jobs are queued or running. */
int coop_pool_destroy(struct coop_pool *pool);

/* coop_offload_opts.flags: a deadline or cancellation stops the wait even
 * while fn runs; fn's result then goes to `orphan`. */
#define COOP_OFFLOAD_ABANDON 0x1u
struct coop_offload_opts {
	size_t size;            /* sizeof(struct coop_offload_opts) */
	struct coop_pool *pool; /* NULL: the context's pool, else the default pool */
	void (*orphan)(void *arg, void *result); /* ABANDON: called on the worker when
	                                          * an abandoned fn returns; NULL: none */
	unsigned int flags;     /* COOP_OFFLOAD_* */
};
/* Run fn(arg) on a pool thread; the calling task waits, its context runs on.
 * *result (unless NULL) gets fn's return value.  opts may be NULL. */
int coop_offload(void *(*fn)(void *), void *arg, void **result, int64_t deadline,
                 const struct coop_offload_opts *opts);
/* On a pool thread inside fn: 1 once the waiting task has abandoned the job. */
int coop_offload_abandoned(void);

/* ---- coop 1.1: embedding in another event loop (coop_run_once(3)) ---- */
/* An fd (level-triggered, for reading) that is readable whenever
 * coop_run_once(ctx, 0) would make progress. */
int coop_context_fd(struct coop_context *ctx);
/* One bounded round: wait for events until deadline if nothing is
 * runnable, then run each runnable task once; returns the tasks left. */
int coop_run_once(struct coop_context *ctx, int64_t deadline);

#ifdef __cplusplus
}
#endif

#endif /* COOP_COOP_H */
