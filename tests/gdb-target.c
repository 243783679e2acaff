/*
 * gdb-target.c: the program tests/test-gdb.sh debugs.  Its tasks reach
 * every state and then one of them calls gdb_target_stop(), where the
 * test's breakpoint is:
 *
 *   1 "sleeper"   READY    suspended in coop_yield() under sleeper_inner()
 *   2 "waiter"    BLOCKED  in coop_join(3), no deadline
 *   3 "spinner"   READY    suspended in coop_yield() under spinner_main()
 *   4 "quitter"   DONE     returned at once, never joined
 *   5 "stopper"   RUNNING  in gdb_target_stop()
 *   6 "napper"    BLOCKED  in coop_sleep_until(), 1000 s ahead; the member
 *                          of gdb_target_group
 *   7 "grouper"   BLOCKED  in coop_group_wait(gdb_target_group, COOP_FOREVER)
 *                          under an ambient deadline 3000 s ahead
 *   8 "stubborn"  BLOCKED  in coop_join_until(6), 2000 s ahead; cancelled
 *                          (before it started) and shielded
 *   9 "dozer"     READY    woken, not yet resumed: cancelled by the stopper
 *                          in coop_sleep_until(COOP_FOREVER) (its saved
 *                          frame is in the library's wait path)
 *  10 "reader"    BLOCKED  in coop_read() (its coop_fd_wait) on
 *                          gdb_target_pipe[0], the empty read end of a
 *                          non-blocking pipe, 4000 s ahead
 *  11 "sender"    BLOCKED  in coop_chan_send() on gdb_target_chan, a
 *                          rendezvous channel nobody receives from yet
 *  12 "locker"    BLOCKED  in coop_mutex_lock() on gdb_target_mutex, which
 *                          the stopper owns
 *  13 "listener"  BLOCKED  in coop_notify_wait() on gdb_target_notify, a
 *                          notifier nobody has sent to yet, 5000 s ahead
 *  14 "offloader" BLOCKED  in coop_offload(), 6000 s ahead, its job
 *                          (job_main) running on the one thread of a
 *                          pool of its own, in sem_wait() on job_sem
 *  15 "newborn"   READY    spawned by the stopper, not started yet
 *
 * The stopper spawns 6 to 15, so that the 5 spawned by main() are all
 * there is before coop_run, and lets 6 to 14 block (and the offloader's
 * job start) before it stops (the newborn comes last: any yield after
 * its spawn would start it).  After the breakpoint everything runs to
 * its end (the stopper cancels the napper, which ends the other waits,
 * writes the byte the reader waits for, receives the sender's value,
 * unlocks the mutex, sends to the notifier and posts the job's
 * semaphore) and the program exits with 0, so the test can also just let
 * it finish.  With GDB_TARGET_ABORT set in its environment it aborts
 * there instead, for a core file.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <coop/coop.h>

static volatile int stopped; /* gdb_target_stop() has returned */
struct coop_context *gdb_target_ctx; /* for `set $coop_context = gdb_target_ctx` */
struct coop_group *gdb_target_group; /* the napper's group, the grouper waits on */
int gdb_target_pipe[2] = {-1, -1}; /* the reader's pipe: the test prints its fd */
struct coop_chan *gdb_target_chan;   /* the sender's channel */
struct coop_mutex *gdb_target_mutex; /* the locker's mutex, the stopper's own */
struct coop_notify *gdb_target_notify; /* the listener's notifier */
static struct coop_task *spinner, *napper;
static volatile int blocking; /* tasks 6 to 14 about to block (a wait blocks at once) */
static struct coop_pool *pool; /* the offloader's, of one thread */
static sem_t job_sem;          /* the job waits on it until the stopper posts it */
static atomic_int job_started; /* the job runs, on the pool's thread */

/* The breakpoint.  noinline and an asm barrier: it must stay a frame. */
__attribute__((noinline)) void gdb_target_stop(void);
__attribute__((noinline)) void gdb_target_stop(void)
{
	/* test-gdb.sh's core file: the kernel's dump of this very moment. */
	if (getenv("GDB_TARGET_ABORT"))
		abort();
	__asm__ volatile("" ::: "memory");
}

static void check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "gdb-target: %s: error %d\n", what, rc);
		exit(1);
	}
}

/* Two frames deep, so the backtrace has something to show. */
__attribute__((noinline)) static void sleeper_inner(int depth)
{
	while (!stopped)
		check(coop_yield(), "coop_yield");
	__asm__ volatile("" ::"r"(depth) : "memory");
}

__attribute__((noinline)) static void *sleeper_main(void *arg)
{
	sleeper_inner(2);
	return arg;
}

__attribute__((noinline)) static void *spinner_main(void *arg)
{
	while (!stopped)
		check(coop_yield(), "coop_yield");
	return arg;
}

__attribute__((noinline)) static void *waiter_main(void *arg)
{
	check(coop_join(spinner, NULL), "coop_join");
	return arg;
}

/* In coop_sleep_until until the stopper cancels it. */
__attribute__((noinline)) static void *napper_main(void *arg)
{
	int rc;

	blocking++;
	rc = coop_sleep_until(coop_deadline_in(1000 * COOP_SEC));
	if (rc != -ECANCELED)
		check(rc < 0 ? rc : -1, "coop_sleep_until (not cancelled)");
	return arg;
}

/* In coop_group_wait until the napper ends. */
__attribute__((noinline)) static void *grouper_main(void *arg)
{
	check(coop_set_deadline(coop_deadline_in(3000 * COOP_SEC), NULL), "coop_set_deadline");
	blocking++;
	check(coop_group_wait(gdb_target_group, COOP_FOREVER), "coop_group_wait");
	return arg;
}

/* Cancelled before it started, shielded: in coop_join_until until the
 * napper ends. */
__attribute__((noinline)) static void *stubborn_main(void *arg)
{
	check(coop_shield(1), "coop_shield");
	blocking++;
	check(coop_join_until(napper, NULL, coop_deadline_in(2000 * COOP_SEC)), "coop_join_until");
	return arg;
}

/* Asleep for ever, until the stopper cancels it just before it stops. */
__attribute__((noinline)) static void *dozer_main(void *arg)
{
	int rc;

	blocking++;
	rc = coop_sleep_until(COOP_FOREVER);
	if (rc != -ECANCELED)
		check(rc < 0 ? rc : -1, "coop_sleep_until (not cancelled)");
	return arg;
}

/* In coop_read on the empty pipe until the stopper writes its byte.
 * coop_read finds nothing (EAGAIN), so its coop_fd_wait blocks at once. */
__attribute__((noinline)) static void *reader_main(void *arg)
{
	char c = 0;
	ssize_t n;

	blocking++;
	n = coop_read(gdb_target_pipe[0], &c, 1, coop_deadline_in(4000 * COOP_SEC));
	check((int)n, "coop_read");
	if (n != 1 || c != 'x')
		check(-1, "coop_read (not the stopper's byte)");
	return arg;
}

/* In coop_chan_send until the stopper receives its value. */
__attribute__((noinline)) static void *sender_main(void *arg)
{
	int v = 42;

	blocking++;
	check(coop_chan_send(gdb_target_chan, &v, COOP_FOREVER), "coop_chan_send");
	return arg;
}

/* In coop_mutex_lock until the stopper unlocks. */
__attribute__((noinline)) static void *locker_main(void *arg)
{
	blocking++;
	check(coop_mutex_lock(gdb_target_mutex, COOP_FOREVER), "coop_mutex_lock");
	check(coop_mutex_unlock(gdb_target_mutex), "coop_mutex_unlock");
	return arg;
}

/* In coop_notify_wait until the stopper sends. */
__attribute__((noinline)) static void *listener_main(void *arg)
{
	uint64_t count = 0;

	blocking++;
	check(coop_notify_wait(gdb_target_notify, &count, coop_deadline_in(5000 * COOP_SEC)),
	      "coop_notify_wait");
	if (count != 1)
		check(-1, "coop_notify_wait (not the stopper's one send)");
	return arg;
}

/* The offloader's job, on the pool's thread: blocked until the stopper
 * posts job_sem. */
static void *job_main(void *arg)
{
	atomic_store(&job_started, 1);
	while (sem_wait(&job_sem) < 0)
		if (errno != EINTR)
			return NULL;
	return arg;
}

/* In coop_offload until its job returns. */
__attribute__((noinline)) static void *offloader_main(void *arg)
{
	struct coop_offload_opts o = {.size = sizeof(o), .pool = pool};
	static int token;
	void *result = NULL;

	blocking++;
	check(coop_offload(job_main, &token, &result, coop_deadline_in(6000 * COOP_SEC), &o),
	      "coop_offload");
	if (result != &token)
		check(-1, "coop_offload (not the job's result)");
	return arg;
}

static void *quitter_main(void *arg)
{
	return arg;
}

static void *newborn_main(void *arg)
{
	return arg;
}

static struct coop_task *spawn(struct coop_context *ctx, void *(*fn)(void *), const char *name,
                               struct coop_group *group)
{
	struct coop_task_opts o = {.size = sizeof(o), .name = name, .group = group};
	struct coop_task *t;

	check(coop_spawn(ctx, &t, fn, NULL, &o), "coop_spawn");
	return t;
}

static void *stopper_main(void *arg)
{
	struct coop_context *ctx = *(struct coop_context **)arg;
	struct coop_task_opts o = {.size = sizeof(o), .name = "newborn"};
	struct coop_task *grouper, *stubborn, *dozer, *reader, *sender, *locker, *listener,
		*offloader;
	struct coop_pool_opts po = {.size = sizeof(po), .max_threads = 1};
	int v = 0;

	if (pipe2(gdb_target_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		check(-errno, "pipe2");
	check(coop_chan_create(NULL, &gdb_target_chan, sizeof(int), 0), "coop_chan_create");
	check(coop_mutex_create(NULL, &gdb_target_mutex), "coop_mutex_create");
	check(coop_mutex_lock(gdb_target_mutex, COOP_FOREVER), "coop_mutex_lock");
	check(coop_notify_create(ctx, &gdb_target_notify), "coop_notify_create");
	if (sem_init(&job_sem, 0, 0) < 0)
		check(-errno, "sem_init");
	check(coop_pool_create(&pool, &po), "coop_pool_create");
	napper = spawn(ctx, napper_main, "napper", gdb_target_group);
	grouper = spawn(ctx, grouper_main, "grouper", NULL);
	stubborn = spawn(ctx, stubborn_main, "stubborn", NULL);
	dozer = spawn(ctx, dozer_main, "dozer", NULL);
	reader = spawn(ctx, reader_main, "reader", NULL);
	sender = spawn(ctx, sender_main, "sender", NULL);
	locker = spawn(ctx, locker_main, "locker", NULL);
	listener = spawn(ctx, listener_main, "listener", NULL);
	offloader = spawn(ctx, offloader_main, "offloader", NULL);
	check(coop_cancel(stubborn), "coop_cancel");
	while (blocking < 9 || !atomic_load(&job_started))
		check(coop_yield(), "coop_yield");
	check(coop_cancel(dozer), "coop_cancel");
	check(coop_spawn(ctx, NULL, newborn_main, NULL, &o), "coop_spawn");
	gdb_target_stop();
	stopped = 1;
	check(coop_cancel(napper), "coop_cancel");
	check(coop_join(grouper, NULL), "coop_join");
	check(coop_join(stubborn, NULL), "coop_join");
	check(coop_join(dozer, NULL), "coop_join");
	if (write(gdb_target_pipe[1], "x", 1) != 1)
		check(-errno, "write");
	check(coop_join(reader, NULL), "coop_join");
	check(coop_chan_recv(gdb_target_chan, &v, COOP_FOREVER), "coop_chan_recv");
	if (v != 42)
		check(-1, "coop_chan_recv (not the sender's value)");
	check(coop_mutex_unlock(gdb_target_mutex), "coop_mutex_unlock");
	check(coop_join(sender, NULL), "coop_join");
	check(coop_join(locker, NULL), "coop_join");
	check(coop_notify_send(gdb_target_notify), "coop_notify_send");
	check(coop_join(listener, NULL), "coop_join");
	if (sem_post(&job_sem) < 0)
		check(-errno, "sem_post");
	check(coop_join(offloader, NULL), "coop_join");
	check(coop_pool_destroy(pool), "coop_pool_destroy");
	if (sem_destroy(&job_sem) < 0)
		check(-errno, "sem_destroy");
	check(coop_notify_destroy(gdb_target_notify), "coop_notify_destroy");
	check(coop_chan_destroy(gdb_target_chan), "coop_chan_destroy");
	check(coop_mutex_destroy(gdb_target_mutex), "coop_mutex_destroy");
	/* The reader waited on the read end: closed through coop, which
	 * drops its registration. */
	check(coop_fd_close(gdb_target_pipe[0]), "coop_fd_close");
	if (close(gdb_target_pipe[1]) < 0)
		check(-errno, "close");
	return NULL;
}

int main(void)
{
	static const struct {
		const char *name;
		void *(*fn)(void *);
	} tasks[] = {
		{"sleeper", sleeper_main}, {"waiter", waiter_main},   {"spinner", spinner_main},
		{"quitter", quitter_main}, {"stopper", stopper_main},
	};
	struct coop_task *handles[5];
	struct coop_context *ctx;
	size_t i;

	check(coop_context_create(&ctx, NULL), "coop_context_create");
	gdb_target_ctx = ctx;
	check(coop_group_create(ctx, &gdb_target_group), "coop_group_create");
	for (i = 0; i < 5; i++) {
		struct coop_task_opts o = {.size = sizeof(o), .name = tasks[i].name};

		check(coop_spawn(ctx, &handles[i], tasks[i].fn, &ctx, &o), "coop_spawn");
	}
	spinner = handles[2]; /* the waiter joins it */
	check(coop_run(ctx), "coop_run");
	for (i = 0; i < 5; i++)
		if (i != 2)
			check(coop_join(handles[i], NULL), "coop_join");
	check(coop_group_destroy(gdb_target_group), "coop_group_destroy");
	coop_context_destroy(ctx);
	return 0;
}
