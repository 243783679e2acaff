/*
 * test-overflow.c: the stack overflow diagnosis and loud misuse.
 *
 * White-box (links the library's objects, reads struct coop_task).  Every
 * test runs its scenario in a child process of its own (run_child), with
 * stdout and stderr captured, and checks how the child ended and what it
 * printed:
 *
 *  - a task overflowing its guarded stack prints exactly one line naming
 *    it (id, name, stack size, "overflowed its ... stack") and the process
 *    still dies by SIGSEGV; also in a second thread (its own alternate
 *    signal stack);
 *  - a fault that is not in a guard page (a write to address 16 from a
 *    task) reaches the handler the application installed before, SA_SIGINFO
 *    or not, and with none installed kills by SIGSEGV with no coop line;
 *    a SIGSEGV sent by raise() while the application ignores it is ignored;
 *  - COOP_CONTEXT_NO_OVERFLOW_HANDLER: no handler installed, and a context
 *    with it gets no diagnosis even when another context installed it;
 *  - misuse that cannot be returned aborts (SIGABRT) with one line naming
 *    the call: switching into a finished task, a freed task in the run
 *    queue, a task of another context in it (caught by the checked switch
 *    path), coop_exit() outside a task, coop_context_destroy() on a running
 *    context.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <alloca.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checkers.h"
#include "coop-private.h"
#include "ring.h"
#include "test-common.h"

/* Under valgrind the wild write is itself an error, so a child that ends
 * as expected still exits with valgrind's --error-exitcode (1). */
#if COOP_HAVE_VALGRIND_H
#define UNDER_VALGRIND (RUNNING_ON_VALGRIND != 0)
#else
#define UNDER_VALGRIND 0
#endif

/* The guard tests want the kernel's SIGSEGV, not a sanitizer's report (an
 * ASAN_OPTIONS/UBSAN_OPTIONS setting in the environment still wins). */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *__asan_default_options(void)
{
	return "handle_segv=0";
}

const char *__ubsan_default_options(void)
{
	return "handle_segv=0";
}

/* ------------------------------------------------------------ helpers -- */

struct child {
	int status;     /* from waitpid */
	char out[8192]; /* its stdout */
	char err[8192]; /* its stderr */
};

static void slurp(FILE *f, char *buf, size_t size)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Run fn() in a child process (no core file), capturing its output. */
static void run_child(void (*fn)(void), struct child *c)
{
	FILE *out = tmpfile(), *err = tmpfile();
	pid_t pid;

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(err);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit no_core = {0, 0};

		setrlimit(RLIMIT_CORE, &no_core);
		dup2(fileno(out), STDOUT_FILENO);
		dup2(fileno(err), STDERR_FILENO);
		setvbuf(stdout, NULL, _IONBF, 0);
		fn();
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &c->status, 0), pid);
	slurp(out, c->out, sizeof(c->out));
	slurp(err, c->err, sizeof(c->err));
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void expect_signal(const struct child *c, int sig)
{
	ck_assert_msg(WIFSIGNALED(c->status) && WTERMSIG(c->status) == sig,
	              "child status %#x, expected death by signal %d; stderr:\n%s", c->status, sig,
	              c->err);
}

static void expect_exit(const struct child *c, int code)
{
	if (UNDER_VALGRIND && WIFEXITED(c->status) && WEXITSTATUS(c->status) == 1)
		return;
	ck_assert_msg(WIFEXITED(c->status) && WEXITSTATUS(c->status) == code,
	              "child status %#x, expected exit %d; stderr:\n%s", c->status, code, c->err);
}

#pragma GCC diagnostic ignored "-Winfinite-recursion"
/* noinline, 512-byte frames: every frame touches the stack below the last,
 * so the guard page cannot be jumped over. */
static __attribute__((noinline)) int recurse(volatile char *p, int depth)
{
	volatile char buf[512];

	buf[0] = (char)depth;
	buf[511] = p ? p[0] : 0;
	return recurse(buf, depth + 1) + buf[1];
}

/* A task that prints what the handler must say, then overflows. */
static void *overflow(void *arg)
{
	struct coop_task *self = coop_self();

	(void)arg;
	printf("task %llu \"%s\" overflowed its %zu-byte stack\n", (unsigned long long)self->id,
	       self->name, self->stack_size);
	return (void *)(intptr_t)recurse(NULL, 0);
}

static void *noop(void *arg)
{
	return arg;
}

/* Run `fn` as the second task ("diver", 16 KiB) of a fresh context. */
static void run_second(unsigned flags, void *(*fn)(void *))
{
	struct coop_context_opts o = {.size = sizeof(o), .flags = flags};
	struct coop_task_opts to = {.size = sizeof(to), .stack_size = 16384, .name = "diver"};
	struct coop_context *ctx;

	if (coop_context_create(&ctx, &o) != 0 || coop_spawn(ctx, NULL, noop, NULL, NULL) != 0 ||
	    coop_spawn(ctx, NULL, fn, NULL, &to) != 0)
		_exit(10);
	coop_run(ctx);
	_exit(11); /* not reached */
}

/* ----------------------------------------------------------- overflow -- */

static void scenario_overflow(void)
{
	run_second(0, overflow);
}

/* The line names the task; it is printed once; the process dies by SIGSEGV. */
START_TEST(overflow_names_task)
{
	struct child c;
	char want[256];

	run_child(scenario_overflow, &c);
	expect_signal(&c, SIGSEGV);
	ck_assert_msg(sscanf(c.out, "%255[^\n]", want) == 1, "no expectation printed");
	ck_assert_msg(strstr(want, "task 2 \"diver\" overflowed its ") != NULL, "%s", want);
	ck_assert_int_eq(count(c.err, "overflowed its"), 1);
	ck_assert_msg(strstr(c.err, want) != NULL, "want \"%s\" in:\n%s", want, c.err);
	ck_assert_msg(strstr(c.err, "coop: task 2 \"diver\" overflowed its ") != NULL, "%s", c.err);
}
END_TEST

static void *thread_main(void *arg)
{
	(void)arg;
	run_second(0, overflow);
	return NULL;
}

static void scenario_overflow_thread(void)
{
	pthread_t th;

	if (pthread_create(&th, NULL, thread_main, NULL) != 0)
		_exit(12);
	pthread_join(th, NULL);
	_exit(13);
}

/* A second thread gets its own alternate stack: same diagnosis. */
START_TEST(overflow_in_thread)
{
	struct child c;

	run_child(scenario_overflow_thread, &c);
	expect_signal(&c, SIGSEGV);
	ck_assert_int_eq(count(c.err, "overflowed its"), 1);
	ck_assert_msg(strstr(c.err, "coop: task 2 \"diver\" overflowed its ") != NULL, "%s", c.err);
}
END_TEST

/* ------------------------------------------------- near the bottom -- */

/* What a task runs with its stack pointer about `bottom_room` bytes above
 * its lowest usable byte (call_at_bottom), the room swept by the tests. */
static size_t bottom_room;
static void (*at_bottom)(void);

static __attribute__((noinline)) void call_at_bottom(void)
{
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	uintptr_t lo = (uintptr_t)coop_self()->stack_lo;
	volatile char *p;

	/* Never more than the guard page below stack_lo: the frame would
	 * jump over it (bottom_room >= 0, and this frame is small). */
	p = alloca(here - lo - bottom_room);
	p[0] = 0;
	at_bottom();
	p[1] = 0; /* keeps the allocation live across the call */
}

static void *partner(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++)
		coop_yield();
	return NULL;
}

static void *descend(void *arg)
{
	(void)arg;
	call_at_bottom();
	return NULL;
}

/* A partner that yields (so that a yield switches), then the "diver". */
static void scenario_descend(void)
{
	struct coop_task_opts to = {.size = sizeof(to), .stack_size = 16384, .name = "diver"};
	struct coop_context *ctx;

	if (coop_context_create(&ctx, NULL) != 0 || coop_spawn(ctx, NULL, partner, NULL, NULL) != 0 ||
	    coop_spawn(ctx, NULL, descend, NULL, &to) != 0)
		_exit(10);
	coop_run(ctx);
	coop_context_destroy(ctx);
}

static __attribute__((noinline)) void yield_there(void)
{
	coop_yield();
}

/* Yield with ever more room, 16 bytes at a time, from none until three
 * yields in a row survive: every child that dies names the task, also
 * when the fault comes inside the switch, after it has made the partner
 * the current task and while it saves the diver's registers on the
 * diver's stack (1.0 looked at the partner's guard only, and the process
 * died with no line). */
START_TEST(overflow_in_switch_names_task)
{
	int died = 0, survived = 0;
	struct child c;

	at_bottom = yield_there;
	for (bottom_room = 0; survived < 3 && bottom_room <= 8192; bottom_room += 16) {
		run_child(scenario_descend, &c);
		if (WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0) {
			survived++;
			continue;
		}
		ck_assert_msg(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGSEGV,
		              "room %zu: child status %#x; stderr:\n%s", bottom_room, c.status, c.err);
		ck_assert_msg(count(c.err, "coop: task 2 \"diver\" overflowed its ") == 1,
		              "room %zu: died by SIGSEGV without naming the diver; stderr:\n%s",
		              bottom_room, c.err);
		ck_assert_int_eq(count(c.err, "overflowed its"), 1);
		survived = 0;
		died++;
	}
	ck_assert_msg(died > 0 && survived == 3, "died %d times, then %d survived", died, survived);
}
END_TEST

static void on_usr1(int sig)
{
	static const char msg[] = "handled\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(45);
}

static void signal_there(void)
{
	/* A bare system call: no frame of its own to speak of. */
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
	printf("after the signal\n");
}

static void scenario_signal_at_bottom(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1; /* on the task's stack: no SA_ONSTACK */
	sigaction(SIGUSR1, &sa, NULL);
	at_bottom = signal_there;
	scenario_descend();
}

/* A signal whose frame does not fit on a task's exhausted stack: the
 * kernel forces a SIGSEGV (si_code SI_KERNEL, no address), and the
 * process must die by it.  1.0 returned from it as if handled: the task
 * went on, the signal was lost.  Swept like the test above: with little
 * room the task's own calls fault (named), with some the frame does not
 * fit (the case under test), with more the handler runs. */
START_TEST(forced_sigsegv_kills)
{
	int forced = 0;
	struct child c;

	if (UNDER_VALGRIND) {
		/* valgrind delivers signals itself: it reports a fault of its
		 * own making at the frame's address, not the kernel's. */
		printf("under valgrind: no forced SIGSEGV from the kernel: skipped\n");
		return;
	}
	for (bottom_room = 0; bottom_room <= 16384; bottom_room += 64) {
		run_child(scenario_signal_at_bottom, &c);
		if (WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0) {
			ck_assert_msg(strstr(c.out, "handled") && strstr(c.out, "after the signal"),
			              "room %zu: the task went on without its signal handler; stdout:\n%s",
			              bottom_room, c.out);
			break; /* the frame fits from here on */
		}
		ck_assert_msg(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGSEGV,
		              "room %zu: child status %#x; stderr:\n%s", bottom_room, c.status, c.err);
		if (!strstr(c.err, "overflowed its"))
			forced++;
	}
	ck_assert_msg(forced > 0, "no room left the signal frame too little (up to %zu)", bottom_room);
}
END_TEST

/* --------------------------------------------------- other faults chain -- */

static volatile uintptr_t wild_addr = 16;

static void *wild_write(void *arg)
{
	(void)arg;
	*(volatile int *)wild_addr = 1;
	return NULL;
}

static void app_siginfo(int sig, siginfo_t *si, void *uc)
{
	static const char msg[] = "app handler: siginfo, addr 16\n";

	(void)sig;
	(void)uc;
	/* Same page: s390x reports fault addresses rounded down to a page. */
	if ((uintptr_t)si->si_addr >> 12 == 16 >> 12 && write(STDOUT_FILENO, msg, sizeof(msg) - 1) > 0)
		_exit(42);
	_exit(44);
}

static void app_plain(int sig)
{
	static const char msg[] = "app handler: plain\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) > 0)
		_exit(43);
	_exit(44);
}

static void scenario_chain_siginfo(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = app_siginfo;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	run_second(0, wild_write);
}

static void scenario_chain_plain(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = app_plain;
	sigaction(SIGSEGV, &sa, NULL);
	run_second(0, wild_write);
}

static void scenario_chain_default(void)
{
	run_second(0, wild_write);
}

/* A fault away from any guard page goes to the application's handler. */
START_TEST(foreign_fault_chains_siginfo)
{
	struct child c;

	run_child(scenario_chain_siginfo, &c);
	expect_exit(&c, 42);
	ck_assert_ptr_nonnull(strstr(c.out, "app handler: siginfo, addr 16"));
	ck_assert_ptr_null(strstr(c.err, "coop:"));
}
END_TEST

START_TEST(foreign_fault_chains_plain)
{
	struct child c;

	run_child(scenario_chain_plain, &c);
	expect_exit(&c, 43);
	ck_assert_ptr_nonnull(strstr(c.out, "app handler: plain"));
	ck_assert_ptr_null(strstr(c.err, "coop:"));
}
END_TEST

/* No handler before ours: the default action, no coop line. */
START_TEST(foreign_fault_default)
{
	struct child c;

	run_child(scenario_chain_default, &c);
	if (!UNDER_VALGRIND)
		expect_signal(&c, SIGSEGV);
	ck_assert_ptr_null(strstr(c.err, "coop:"));
}
END_TEST

static void *raise_segv(void *arg)
{
	(void)arg;
	raise(SIGSEGV);
	printf("survived\n");
	return NULL;
}

static void scenario_sent_ignored(void)
{
	struct coop_context *ctx;

	signal(SIGSEGV, SIG_IGN);
	if (coop_context_create(&ctx, NULL) != 0 || coop_spawn(ctx, NULL, raise_segv, NULL, NULL) != 0 ||
	    coop_run(ctx) != 0)
		_exit(10);
	coop_context_destroy(ctx);
	_exit(0);
}

/* A SIGSEGV sent (not a fault) while the application ignores it: ignored. */
START_TEST(sent_signal_ignored)
{
	struct child c;

	run_child(scenario_sent_ignored, &c);
	expect_exit(&c, 0);
	ck_assert_ptr_nonnull(strstr(c.out, "survived"));
}
END_TEST

/* ---------------------------------------------------------- the option -- */

static void scenario_option_off(void)
{
	struct sigaction cur;
	struct coop_context *ctx;
	struct coop_context_opts o = {.size = sizeof(o), .flags = COOP_CONTEXT_NO_OVERFLOW_HANDLER};

	/* Neither creating nor running such a context installs anything. */
	if (coop_context_create(&ctx, &o) != 0 || coop_run(ctx) != 0)
		_exit(10);
	coop_context_destroy(ctx);
	sigaction(SIGSEGV, NULL, &cur);
	printf("handler %s\n", cur.sa_handler == SIG_DFL ? "default" : "installed");
	run_second(COOP_CONTEXT_NO_OVERFLOW_HANDLER, overflow);
}

START_TEST(option_turns_it_off)
{
	struct child c;

	run_child(scenario_option_off, &c);
	expect_signal(&c, SIGSEGV);
	ck_assert_msg(strstr(c.out, "handler default") != NULL, "%s", c.out);
	ck_assert_ptr_null(strstr(c.err, "coop:"));
}
END_TEST

static void scenario_option_other_context(void)
{
	struct coop_context *other;

	/* Another context installs the handler; ours still opts out. */
	if (coop_context_create(&other, NULL) != 0)
		_exit(10);
	run_second(COOP_CONTEXT_NO_OVERFLOW_HANDLER, overflow);
}

START_TEST(option_per_context)
{
	struct child c;

	run_child(scenario_option_other_context, &c);
	expect_signal(&c, SIGSEGV);
	ck_assert_ptr_null(strstr(c.err, "coop:"));
}
END_TEST

START_TEST(option_accepted)
{
	struct coop_context *ctx;
	struct coop_context_opts o = {.size = sizeof(o), .flags = COOP_CONTEXT_NO_OVERFLOW_HANDLER |
	                                                          COOP_CONTEXT_ALLOW_UNGUARDED};

	ck_assert_int_eq(coop_context_create(&ctx, &o), 0);
	coop_context_destroy(ctx);
	o.flags = 0x8u; /* 0x4 is COOP_CONTEXT_FD_CACHE (coop 1.1) */
	ck_assert_int_eq(coop_context_create(&ctx, &o), -EINVAL);
}
END_TEST

/* -------------------------------------------------------------- misuse -- */

static struct coop_task *victim;

/* Corrupt the run queue the way a stray write would: put `t` in it as it
 * is (coop__make_ready would make it READY), at its tail or its head. */
static void enqueue_raw(struct coop_task *t, bool head)
{
	struct coop_task *self = coop_self();
	struct coop_context *ctx = t->ctx;

	if (self) {
		coop__ring_insert(head ? self->rq_next : self, t);
	} else {
		coop__ring_insert(ctx->rq, t);
		if (!ctx->rq || head)
			ctx->rq = t;
	}
}

static void *finish(void *arg)
{
	return arg;
}

/* Puts a finished task back on the run queue, then yields into it. */
static void *requeue_finished(void *arg)
{
	(void)arg;
	if (coop_spawn(coop_self()->ctx, &victim, finish, NULL, NULL) != 0)
		_exit(20);
	coop_yield(); /* victim runs and ends */
	if (victim->state != COOP__DONE)
		_exit(21);
	enqueue_raw(victim, false);
	coop_yield();
	_exit(22);
}

static void scenario_resume_finished(void)
{
	struct coop_context *ctx;

	if (coop_context_create(&ctx, NULL) != 0 ||
	    coop_spawn(ctx, NULL, requeue_finished, NULL, NULL) != 0)
		_exit(10);
	coop_run(ctx);
	_exit(11);
}

static void expect_abort_line(const struct child *c, const char *line)
{
	expect_signal(c, SIGABRT);
	ck_assert_msg(strstr(c->err, line) != NULL, "want \"%s\" in:\n%s", line, c->err);
	ck_assert_int_eq(count(c->err, "coop: "), 1);
}

START_TEST(resume_finished_task_aborts)
{
	struct child c;

	run_child(scenario_resume_finished, &c);
	expect_abort_line(&c, "coop: coop_yield: switching into task 2 \"\", which has finished");
}
END_TEST

/* A joined (freed) task handle in the run queue. */
static void *requeue_freed(void *arg)
{
	(void)arg;
	if (coop_spawn(coop_self()->ctx, &victim, finish, NULL, NULL) != 0 ||
	    coop_join(victim, NULL) != 0)
		_exit(20);
	enqueue_raw(victim, false); /* its slot is FREE now */
	coop_yield();
	_exit(22);
}

static void scenario_resume_freed(void)
{
	struct coop_context *ctx;

	if (coop_context_create(&ctx, NULL) != 0 || coop_spawn(ctx, NULL, requeue_freed, NULL, NULL) != 0)
		_exit(10);
	coop_run(ctx);
	_exit(11);
}

START_TEST(freed_task_in_run_queue_aborts)
{
	struct child c;

	run_child(scenario_resume_freed, &c);
	expect_abort_line(&c, "coop: coop_yield: run queue of context ");
	ck_assert_ptr_nonnull(strstr(c.err, "is FREE, not READY"));
}
END_TEST

/* A READY task of another context in the run queue: the checked switch
 * path (taken under a sanitizer; forced here) catches it. */
static struct coop_context *foreign_ctx;

static void *requeue_foreign(void *arg)
{
	struct coop_task *alien;

	(void)arg;
	if (coop_spawn(foreign_ctx, &alien, finish, NULL, NULL) != 0)
		_exit(20);
	coop__ring_insert(coop_self(), alien);
	coop_yield();
	_exit(22);
}

static void scenario_resume_foreign(void)
{
	struct coop_context *ctx;

	coop__hooks = COOP__HOOK_SANITIZER;
	if (coop_context_create(&ctx, NULL) != 0 || coop_context_create(&foreign_ctx, NULL) != 0 ||
	    coop_spawn(ctx, NULL, requeue_foreign, NULL, NULL) != 0)
		_exit(10);
	coop_run(ctx);
	_exit(11);
}

START_TEST(foreign_task_in_run_queue_aborts)
{
	struct child c;

	run_child(scenario_resume_foreign, &c);
	expect_abort_line(&c, "coop: coop_yield: run queue of context ");
	ck_assert_ptr_nonnull(strstr(c.err, "belongs to context"));
}
END_TEST

/* The same corruption, met by coop_run and by a joining task. */
static void scenario_run_finished(void)
{
	struct coop_context *ctx;
	struct coop_task *t;

	if (coop_context_create(&ctx, NULL) != 0 || coop_spawn(ctx, &t, finish, NULL, NULL) != 0 ||
	    coop_run(ctx) != 0)
		_exit(10);
	enqueue_raw(t, false);
	coop_run(ctx);
	_exit(11);
}

START_TEST(run_into_finished_task_aborts)
{
	struct child c;

	run_child(scenario_run_finished, &c);
	expect_abort_line(&c, "coop: coop_run: switching into task 1 \"\", which has finished");
}
END_TEST

static void *join_after_requeue(void *arg)
{
	struct coop_task *sleeper = arg;

	if (coop_spawn(coop_self()->ctx, &victim, finish, NULL, NULL) != 0)
		_exit(20);
	coop_yield(); /* victim ends */
	enqueue_raw(victim, true);
	coop_join(sleeper, NULL); /* blocks: switches into the victim */
	_exit(22);
}

static void *sleeper_fn(void *arg)
{
	for (int i = 0; i < 3; i++)
		coop_yield();
	return arg;
}

static void scenario_join_finished(void)
{
	struct coop_context *ctx;
	struct coop_task *s;

	if (coop_context_create(&ctx, NULL) != 0 || coop_spawn(ctx, &s, sleeper_fn, NULL, NULL) != 0 ||
	    coop_spawn(ctx, NULL, join_after_requeue, s, NULL) != 0)
		_exit(10);
	coop_run(ctx);
	_exit(11);
}

START_TEST(join_into_finished_task_aborts)
{
	struct child c;

	run_child(scenario_join_finished, &c);
	expect_abort_line(&c, "coop: coop_join: switching into task ");
}
END_TEST

static void scenario_exit_outside(void)
{
	coop_exit(NULL);
}

START_TEST(exit_outside_task_aborts)
{
	struct child c;

	run_child(scenario_exit_outside, &c);
	expect_abort_line(&c, "coop: coop_exit: called outside a task");
}
END_TEST

static void *destroy_own(void *arg)
{
	coop_context_destroy(arg);
	return NULL;
}

static void scenario_destroy_running(void)
{
	struct coop_context *ctx;

	if (coop_context_create(&ctx, NULL) != 0 || coop_spawn(ctx, NULL, destroy_own, ctx, NULL) != 0)
		_exit(10);
	coop_run(ctx);
	_exit(11);
}

START_TEST(destroy_running_aborts)
{
	struct child c;

	run_child(scenario_destroy_running, &c);
	expect_abort_line(&c, "coop: coop_context_destroy: context ");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("overflow");
	TCase *tc;

	tc = test_tcase(s, "overflow");
	tcase_add_test(tc, overflow_names_task);
	tcase_add_test(tc, overflow_in_thread);
	tcase_add_test(tc, overflow_in_switch_names_task);
	tcase_add_test(tc, forced_sigsegv_kills);
	tcase_add_test(tc, foreign_fault_chains_siginfo);
	tcase_add_test(tc, foreign_fault_chains_plain);
	tcase_add_test(tc, foreign_fault_default);
	tcase_add_test(tc, sent_signal_ignored);
	tcase_add_test(tc, option_turns_it_off);
	tcase_add_test(tc, option_per_context);
	tcase_add_test(tc, option_accepted);
	tc = test_tcase(s, "misuse");
	tcase_add_test(tc, resume_finished_task_aborts);
	tcase_add_test(tc, freed_task_in_run_queue_aborts);
	tcase_add_test(tc, foreign_task_in_run_queue_aborts);
	tcase_add_test(tc, run_into_finished_task_aborts);
	tcase_add_test(tc, join_into_finished_task_aborts);
	tcase_add_test(tc, exit_outside_task_aborts);
	tcase_add_test(tc, destroy_running_aborts);
	return test_run(s);
}
