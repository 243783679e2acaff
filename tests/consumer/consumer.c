/*
 * consumer.c: a program outside the project.  .ci/consumer builds it
 * against a `meson install` prefix with `pkg-config --cflags --libs coop`
 * alone, and it exercises every public call with its documented meaning
 * (those of coop 1.1 in waits(), fds() and sync()).
 * Exit status 0 when everything held; otherwise a line per failure.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <coop/coop.h>

static int failures;

#define EXPECT(cond)                                                                   \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "consumer.c:%d: failed: %s\n", __LINE__, #cond); \
			failures++;                                                    \
		}                                                                      \
	} while (0)

static char order[16];
static size_t norder;

static void *child(void *arg)
{
	order[norder++] = *(const char *)arg;
	EXPECT(coop_yield() == 0);
	order[norder++] = *(const char *)arg;
	if (*(const char *)arg == 'b')
		coop_exit((void *)"exited");
	return (void *)"returned";
}

static void *parent(void *arg)
{
	struct coop_context *ctx = arg;
	struct coop_task *t, *d;
	void *res = NULL;

	EXPECT(coop_self() != NULL);
	EXPECT(strcmp(coop_task_name(coop_self()), "parent") == 0);
	EXPECT(coop_spawn(ctx, &t, child, (void *)"c", NULL) == 0);
	EXPECT(coop_spawn(ctx, &d, child, (void *)"d", NULL) == 0);
	EXPECT(coop_detach(d) == 0);
	EXPECT(coop_join(coop_self(), NULL) == -EDEADLK);
	EXPECT(coop_join(t, &res) == 0);
	EXPECT(res && strcmp(res, "returned") == 0);
	EXPECT(coop_run(ctx) == -EBUSY);
	return NULL;
}

/* coop 1.1: a sleeper to a deadline, one sleeping until cancelled, a
 * group waited for with a deadline, then cancelled. */
static int64_t slept_at, woke_at;

static void *sleeper(void *arg)
{
	slept_at = coop_deadline_in(2 * COOP_MSEC);
	EXPECT(coop_sleep_until(slept_at) == 0);
	woke_at = coop_now();
	return arg;
}

static void *parked(void *arg)
{
	(void)arg;
	EXPECT(coop_sleep_until(COOP_FOREVER) == -ECANCELED);
	EXPECT(coop_cancelled() == 1);
	EXPECT(coop_shield(1) == 0);
	EXPECT(coop_cancelled() == 0);
	EXPECT(coop_sleep_until(coop_deadline_in(COOP_MSEC)) == 0); /* shielded */
	EXPECT(coop_shield(0) == 1);
	return COOP_CANCELED;
}

static void *supervisor(void *arg)
{
	struct coop_group *g = arg;
	int64_t old = 0;

	EXPECT(coop_group_wait(g, coop_deadline_in(5 * COOP_MSEC)) == -ETIMEDOUT);
	EXPECT(coop_set_deadline(coop_deadline_in(COOP_MSEC), &old) == 0 && old == COOP_FOREVER);
	EXPECT(coop_group_wait(g, COOP_FOREVER) == -ETIMEDOUT); /* the ambient deadline */
	EXPECT(coop_set_deadline(COOP_FOREVER, NULL) == 0);
	EXPECT(coop_group_cancel(g) == 0);
	EXPECT(coop_group_wait(g, COOP_FOREVER) == 0);
	return NULL;
}

static void waits(void)
{
	struct coop_context *ctx;
	struct coop_group *g;
	struct coop_task_opts o = {.size = sizeof(o)};
	struct coop_task *s, *p, *sup;
	void *res = NULL;

	EXPECT(coop_now() > 0);
	EXPECT(coop_sleep_until(0) == -EPERM);
	EXPECT(coop_context_create(&ctx, NULL) == 0);
	EXPECT(coop_group_create(ctx, &g) == 0);
	o.group = g;
	EXPECT(coop_spawn(ctx, &s, sleeper, (void *)"slept", NULL) == 0);
	EXPECT(coop_spawn(ctx, &p, parked, NULL, &o) == 0);
	EXPECT(coop_spawn(ctx, &sup, supervisor, g, NULL) == 0);
	EXPECT(coop_join_until(s, NULL, COOP_NOWAIT) == -EAGAIN); /* outside a task */
	EXPECT(coop_run(ctx) == 0);
	EXPECT(woke_at >= slept_at);
	EXPECT(coop_join_until(s, &res, COOP_NOWAIT) == 0 && strcmp(res, "slept") == 0);
	EXPECT(coop_join(p, &res) == 0 && res == COOP_CANCELED);
	EXPECT(coop_join(sup, NULL) == 0);
	EXPECT(coop_group_destroy(g) == 0);

	/* Nothing can wake a task sleeping forever: -EDEADLK, not an abort. */
	EXPECT(coop_spawn(ctx, &p, parked, NULL, NULL) == 0);
	EXPECT(coop_run(ctx) == -EDEADLK);
	EXPECT(coop_cancel(p) == 0);
	EXPECT(coop_run(ctx) == 0);
	EXPECT(coop_join(p, NULL) == 0);
	coop_context_destroy(ctx);
}

/* coop 1.1: a reader waiting on a pipe, a writer, and coop_fd_close
 * waking a second reader, in both registration modes. */
static int pipefd[2];

static void *reader(void *arg)
{
	char got[8] = "";

	(void)arg;
	EXPECT(coop_read(pipefd[0], got, sizeof(got), coop_deadline_in(COOP_MSEC)) == -ETIMEDOUT);
	EXPECT(coop_read(pipefd[0], got, sizeof(got), COOP_FOREVER) == 5 && memcmp(got, "hello", 5) == 0);
	EXPECT(coop_fd_wait(pipefd[0], COOP_FD_READ, COOP_FOREVER) == -EBADF); /* closed by closer */
	return NULL;
}

static void *writer(void *arg)
{
	(void)arg;
	EXPECT(coop_sleep_until(coop_deadline_in(2 * COOP_MSEC)) == 0);
	EXPECT(coop_write(pipefd[1], "hello", 5, COOP_FOREVER) == 5);
	/* The reader sees the event when the context next asks the kernel
	 * (here: when no task can run), reads, and waits again. */
	EXPECT(coop_sleep_until(coop_deadline_in(COOP_MSEC)) == 0);
	EXPECT(coop_fd_close(pipefd[0]) == 0);
	EXPECT(coop_fd_close(pipefd[1]) == 0);
	return NULL;
}

static void fds(unsigned flags)
{
	struct coop_context_opts o = {.size = sizeof(o), .flags = flags};
	struct coop_context *ctx;

	EXPECT(pipe2(pipefd, O_NONBLOCK | O_CLOEXEC) == 0);
	EXPECT(coop_fd_wait(pipefd[0], COOP_FD_READ, COOP_NOWAIT) == -EPERM); /* outside a task */
	EXPECT(coop_context_create(&ctx, &o) == 0);
	EXPECT(coop_spawn(ctx, NULL, reader, NULL, NULL) == 0);
	EXPECT(coop_spawn(ctx, NULL, writer, NULL, NULL) == 0);
	EXPECT(coop_run(ctx) == 0);
	coop_context_destroy(ctx);
}

/* coop 1.1's synchronization: a channel, a select, a mutex handed over
 * and a condition variable, a semaphore. */
static struct coop_chan *ch;
static struct coop_mutex *mx;
static struct coop_cond *cv;
static struct coop_sem *sem;
static int ready;

static void *producer(void *arg)
{
	int i;

	(void)arg;
	for (i = 1; i <= 3; i++)
		EXPECT(coop_chan_send(ch, &i, COOP_FOREVER) == 0);
	EXPECT(coop_chan_close(ch) == 0);
	EXPECT(coop_mutex_lock(mx, COOP_FOREVER) == 0);
	ready = 1;
	EXPECT(coop_cond_signal(cv) == 0);
	EXPECT(coop_mutex_unlock(mx) == 0);
	EXPECT(coop_sem_release(sem) == 0);
	return NULL;
}

static void *consumer(void *arg)
{
	struct coop_chan_op ops[2] = {
		{.size = sizeof(ops[0]), .chan = NULL, .op = COOP_CHAN_RECV},
		{.size = sizeof(ops[0]), .chan = ch, .op = COOP_CHAN_RECV},
	};
	int v = 0, sum = 0;

	(void)arg;
	EXPECT(coop_sem_acquire(sem, COOP_NOWAIT) == -ETIMEDOUT);
	EXPECT(coop_mutex_lock(mx, COOP_FOREVER) == 0);
	ops[1].elem = &v;
	/* The first value through a select (a NULL channel is never ready),
	 * the others by receive, then -EPIPE once the channel is closed. */
	EXPECT(coop_chan_select(ops, 2, COOP_FOREVER) == 1 && ops[1].status == 0);
	sum += v;
	while (coop_chan_recv(ch, &v, COOP_FOREVER) == 0)
		sum += v;
	EXPECT(sum == 6);
	while (!ready)
		EXPECT(coop_cond_wait(cv, mx, COOP_FOREVER) == 0);
	EXPECT(coop_mutex_unlock(mx) == 0);
	EXPECT(coop_sem_acquire(sem, COOP_FOREVER) == 0);
	return NULL;
}

static void sync_objects(void)
{
	struct coop_context *ctx;

	EXPECT(coop_context_create(&ctx, NULL) == 0);
	EXPECT(coop_chan_create(ctx, &ch, sizeof(int), 0) == 0);
	EXPECT(coop_mutex_create(ctx, &mx) == 0);
	EXPECT(coop_cond_create(ctx, &cv) == 0);
	EXPECT(coop_sem_create(ctx, &sem, 0) == 0);
	EXPECT(coop_chan_recv(ch, NULL, COOP_FOREVER) == -EAGAIN); /* outside a task */
	EXPECT(coop_spawn(ctx, NULL, consumer, NULL, NULL) == 0);
	EXPECT(coop_spawn(ctx, NULL, producer, NULL, NULL) == 0);
	EXPECT(coop_run(ctx) == 0);
	EXPECT(coop_chan_destroy(ch) == 0 && coop_mutex_destroy(mx) == 0);
	EXPECT(coop_cond_destroy(cv) == 0 && coop_sem_destroy(sem) == 0);
	coop_context_destroy(ctx);
}

int main(void)
{
	struct coop_context_opts copts = {.size = sizeof(copts), .stack_size = 128 * 1024};
	struct coop_task_opts topts = {.size = sizeof(topts), .name = "parent"};
	static char buf[16384];
	struct coop_task_opts uopts = {
		.size = sizeof(uopts), .stack_size = sizeof(buf), .stack = buf, .name = "buffer"};
	struct coop_context *ctx;
	struct coop_task *a, *b, *p, *u;
	void *res = NULL;

	EXPECT(strcmp(coop_version(), COOP_VERSION_STRING) == 0);
	EXPECT(coop_self() == NULL);
	EXPECT(coop_yield() == -EPERM);
	EXPECT(coop_context_create(&ctx, &copts) == 0);
	EXPECT(coop_spawn(ctx, &a, child, (void *)"a", NULL) == 0);
	EXPECT(coop_spawn(ctx, &b, child, (void *)"b", NULL) == 0);
	EXPECT(coop_spawn(ctx, &p, parent, ctx, &topts) == 0);
	EXPECT(coop_spawn(ctx, &u, child, (void *)"u", &uopts) == 0);
	EXPECT(coop_spawn(NULL, &a, child, NULL, NULL) == -EINVAL);
	EXPECT(coop_join(a, NULL) == -EAGAIN);
	EXPECT(coop_run(ctx) == 0);
	order[norder] = '\0';
	/* FIFO: a, b, parent (queues c, d and blocks), u; a and b again (they
	 * end), then c, d, u, c, d as each yields once and ends. */
	EXPECT(strcmp(order, "abuabcducd") == 0);
	EXPECT(coop_join(a, &res) == 0 && strcmp(res, "returned") == 0);
	EXPECT(coop_join(b, &res) == 0 && strcmp(res, "exited") == 0);
	EXPECT(coop_join(p, NULL) == 0);
	EXPECT(coop_join(u, NULL) == 0);
	coop_context_destroy(ctx);
	waits();
	fds(0);
	fds(COOP_CONTEXT_FD_CACHE);
	sync_objects();
	printf("consumer: %s, libcoop %s\n", failures ? "FAILED" : "ok", coop_version());
	return failures != 0;
}
