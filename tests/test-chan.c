/*
 * test-chan.c: channels and select (coop 1.1, §4.5).
 *
 * The T-CH and T-SEL cases of the design (§4.8), one Check test each
 * (the ID is in the comment above each test): T-CH-1 unbuffered ping-pong,
 * values intact, alternation strict; T-CH-2 the capacity (the sender
 * blocks exactly at N+1) and FIFO order across the buffer and the blocked
 * senders; T-CH-3 close (the buffer still delivered, then -EPIPE; every
 * waiter woken with -EPIPE in queue order; a second close -EPIPE); T-CH-4
 * destroy (-EBUSY while waited on, 0 right after a close); T-CH-5 elements
 * of 0 bytes; T-CH-6 deadline 0 on a full channel fails without a switch;
 * T-CH-7 outside a task (R4); T-SEL-1 the first ready op in array order
 * wins; T-SEL-2 random selects checked against a reference model after
 * every one (only the chosen op has an effect); T-SEL-3 deadlines;
 * T-SEL-4 cancel; T-SEL-5 NULL channels; T-SEL-6 closed channels; T-SEL-7
 * more than 8 ops (the records come from the context: the allocation
 * failure is in test-faults.c); T-SEL-8 a select never matches itself.
 *
 * Besides: the ordering guarantees of §4.5 and R6, the error matrix of
 * Appendix B for the channel calls with A7.1's precedence, select's entry
 * validation and entries larger than ours, errno (T-X-7) and the budget
 * of calls that complete without waiting (R7).
 *
 * "Without switching" is observed with a ticker task that counts its runs
 * (test-ticker.h).  Hot loops count their failures and assert once: a
 * Check assertion costs a write to Check's pipe even when it holds.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coop/coop.h>

#include "test-common.h"
#include "test-ticker.h"

static struct coop_context *ctx;

static void setup(void)
{
	test_context_create(&ctx);
}

static void teardown(void)
{
	test_context_destroy(&ctx);
}

/* ctx's joinable and detached named tasks (test-common.h). */
#define spawn_named(name, fn, arg) test_spawn_named(ctx, name, fn, arg)
#define spawn_detached(name, fn, arg) test_spawn_detached(ctx, name, fn, arg)

/* Run the context until every task has ended. */
static void run_all(void)
{
	ck_assert_int_eq(coop_run(ctx), 0);
}

static struct coop_chan *mkchan(size_t elem_size, size_t cap)
{
	struct coop_chan *ch = NULL;

	ck_assert_int_eq(coop_chan_create(ctx, &ch, elem_size, cap), 0);
	ck_assert_ptr_nonnull(ch);
	return ch;
}

/* coop_context_tasks() lookups by name (test-common.h). */
#define info_of(name) test_info_of(ctx, name)
#define state_of(name) test_state_of(ctx, name)

/* Yield until the task named `name` is BLOCKED (bounded). */
static void yield_until_blocked(const char *name)
{
	int i;

	for (i = 0; i < 10000 && state_of(name) != COOP_TASK_BLOCKED; i++)
		ck_assert_int_eq(coop_yield(), 0);
	ck_assert_msg(state_of(name) == COOP_TASK_BLOCKED, "%s never blocked", name);
}

/* The order tasks ran in, by the ids they log. */
static int runlog[64];
static int nrunlog;

static void logrun(int id)
{
	if (nrunlog < 64)
		runlog[nrunlog++] = id;
}

static void check_runlog(const int *want, int n, const char *what)
{
	int i;

	ck_assert_msg(nrunlog == n, "%s: %d tasks logged, %d expected", what, nrunlog, n);
	for (i = 0; i < n; i++)
		ck_assert_msg(runlog[i] == want[i], "%s: log[%d] is %d, %d expected", what, i,
		              runlog[i], want[i]);
}

/* T-X-7 for every call: E(call) sets errno to TEST_ERRNO_MARK, makes the
 * call and counts the calls that changed errno. */
static int errno_bad;
static int e_rc;

static int e_check(int rc)
{
	if (errno != TEST_ERRNO_MARK)
		errno_bad++;
	return rc;
}
#define E(expr) (errno = TEST_ERRNO_MARK, e_rc = (expr), e_check(e_rc))

/* A select entry: the caller's status and receive buffer prefilled with
 * sentinels, so that an entry the select must not write is checked. */
#define STATUS_SENTINEL 0x5a5a
#define VALUE_SENTINEL (-777)

static struct coop_chan_op op_of(struct coop_chan *ch, int op, void *elem)
{
	return (struct coop_chan_op){
		.size = sizeof(struct coop_chan_op),
		.chan = ch,
		.elem = elem,
		.op = op,
		.status = STATUS_SENTINEL,
	};
}

/* An int received with deadline 0, which must succeed. */
static int recv_now(struct coop_chan *ch)
{
	int v = VALUE_SENTINEL;

	ck_assert_int_eq(coop_chan_recv(ch, &v, COOP_NOWAIT), 0);
	return v;
}

/* ------------------------------------------------------------- T-CH-1 -- */

/* 16 bytes per element, both halves checked: the whole element travels. */
struct pp_elem {
	uint64_t i;
	uint64_t x;
};

static struct coop_chan *pp_a, *pp_b;
static long pp_rounds, pp_seq, pp_bad;

static uint64_t pp_mix(uint64_t i)
{
	return i * 0x9e3779b97f4a7c15ull ^ 0x0123456789abcdefull;
}

static void *pp_ping(void *arg)
{
	struct pp_elem e, r;
	long i;

	(void)arg;
	for (i = 0; i < pp_rounds; i++) {
		e = (struct pp_elem){.i = (uint64_t)i, .x = pp_mix((uint64_t)i)};
		if (coop_chan_send(pp_a, &e, COOP_FOREVER) != 0)
			pp_bad++;
		memset(&r, 0, sizeof(r));
		if (coop_chan_recv(pp_b, &r, COOP_FOREVER) != 0)
			pp_bad++;
		/* Strict alternation: pong received this round's message, and
		 * nothing else ran in between. */
		if (pp_seq != 2 * i + 1 || r.i != (uint64_t)i + 1 || r.x != ~pp_mix((uint64_t)i))
			pp_bad++;
		pp_seq++;
	}
	return NULL;
}

static void *pp_pong(void *arg)
{
	struct pp_elem e, r;
	long i;

	(void)arg;
	for (i = 0; i < pp_rounds; i++) {
		memset(&r, 0, sizeof(r));
		if (coop_chan_recv(pp_a, &r, COOP_FOREVER) != 0)
			pp_bad++;
		if (pp_seq != 2 * i || r.i != (uint64_t)i || r.x != pp_mix((uint64_t)i))
			pp_bad++;
		pp_seq++;
		e = (struct pp_elem){.i = r.i + 1, .x = ~r.x};
		if (coop_chan_send(pp_b, &e, COOP_FOREVER) != 0)
			pp_bad++;
	}
	return NULL;
}

/* T-CH-1: unbuffered ping-pong, 10^6 round trips (10^4 on slow runs),
 * whichever task starts first. */
START_TEST(t_ch_1_ping_pong)
{
	int pong_first;

	pp_rounds = test_slow_run() ? 10000 : 1000000;
	for (pong_first = 0; pong_first < 2; pong_first++) {
		pp_a = mkchan(sizeof(struct pp_elem), 0);
		pp_b = mkchan(sizeof(struct pp_elem), 0);
		pp_seq = pp_bad = 0;
		if (pong_first)
			spawn_detached("pong", pp_pong, NULL);
		spawn_detached("ping", pp_ping, NULL);
		if (!pong_first)
			spawn_detached("pong", pp_pong, NULL);
		run_all();
		ck_assert_int_eq(pp_bad, 0);
		ck_assert_int_eq(pp_seq, 2 * pp_rounds);
		ck_assert_int_eq(coop_chan_destroy(pp_a), 0);
		ck_assert_int_eq(coop_chan_destroy(pp_b), 0);
	}
}
END_TEST

/* ------------------------------------------------------------- T-CH-2 -- */

struct cap_run {
	struct coop_chan *ch;
	size_t cap;
	size_t sent;
};

/* Sends cap + 1 values, yielding after each send that returned. */
static void *cap_sender(void *arg)
{
	struct cap_run *r = arg;
	size_t i;

	for (i = 0; i <= r->cap; i++) {
		int v = (int)i;

		ck_assert_int_eq(coop_chan_send(r->ch, &v, COOP_FOREVER), 0);
		r->sent++;
		ck_assert_int_eq(coop_yield(), 0);
	}
	return NULL;
}

static void *cap_observer(void *arg)
{
	struct cap_run *r = arg;
	struct coop_task_info in;
	size_t i;
	int v, rounds;

	for (rounds = 0;; rounds++) {
		ck_assert_int_lt(rounds, 10000);
		ck_assert_int_eq(coop_yield(), 0);
		in = info_of("sender");
		if (in.state == COOP_TASK_BLOCKED)
			break;
		/* Not blocked yet: it has not been refused a send. */
		ck_assert_uint_le(r->sent, r->cap);
	}
	/* Blocked in its (cap+1)-th send, on this channel, not before. */
	ck_assert_uint_eq(r->sent, r->cap);
	ck_assert_int_eq(in.wait, COOP_WAIT_CHAN);
	ck_assert_ptr_eq(in.wait_object, r->ch);
	v = -1;
	ck_assert_int_eq(coop_chan_send(r->ch, &v, COOP_NOWAIT), -ETIMEDOUT);
	/* One receive makes room: the blocked element moves in, the sender
	 * runs again and ends. */
	ck_assert_int_eq(recv_now(r->ch), 0);
	ck_assert_int_eq(state_of("sender"), COOP_TASK_READY);
	ck_assert_int_eq(coop_yield(), 0);
	ck_assert_uint_eq(r->sent, r->cap + 1);
	for (i = 1; i <= r->cap; i++)
		ck_assert_int_eq(recv_now(r->ch), (int)i);
	ck_assert_int_eq(coop_chan_recv(r->ch, &v, COOP_NOWAIT), -ETIMEDOUT);
	return NULL;
}

/* Senders of the FIFO case: each sends its value once the buffer is full. */
struct fifo_sender {
	struct coop_chan *ch;
	int id;
	int value;
};

static void *fifo_send(void *arg)
{
	struct fifo_sender *s = arg;

	ck_assert_int_eq(coop_chan_send(s->ch, &s->value, COOP_FOREVER), 0);
	logrun(s->id);
	return NULL;
}

static void *fifo_main(void *arg)
{
	struct coop_chan *ch = arg;
	struct fifo_sender s[3];
	const int want[3] = {1, 2, 3};
	char name[16];
	int i, v;

	/* The buffer holds 0, 1, 2. */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(coop_chan_send(ch, &i, COOP_NOWAIT), 0);
	v = 99;
	ck_assert_int_eq(coop_chan_send(ch, &v, COOP_NOWAIT), -ETIMEDOUT);
	/* Then three senders block in turn with 3, 4, 5. */
	for (i = 0; i < 3; i++) {
		s[i] = (struct fifo_sender){.ch = ch, .id = i + 1, .value = 3 + i};
		snprintf(name, sizeof(name), "s%d", i + 1);
		spawn_detached(name, fifo_send, &s[i]);
		yield_until_blocked(name);
		ck_assert_ptr_eq(info_of(name).wait_object, ch);
	}
	/* The drain gets them in global send order; each receive moves the
	 * first blocked sender's element into the buffer and wakes only it. */
	for (i = 0; i < 6; i++) {
		int j;

		ck_assert_int_eq(recv_now(ch), i);
		for (j = 1; j <= 3; j++) {
			snprintf(name, sizeof(name), "s%d", j);
			ck_assert_int_eq(state_of(name), j <= i + 1 ? COOP_TASK_READY : COOP_TASK_BLOCKED);
		}
	}
	ck_assert_int_eq(coop_chan_recv(ch, &v, COOP_NOWAIT), -ETIMEDOUT);
	ck_assert_int_eq(coop_yield(), 0);
	check_runlog(want, 3, "senders' resumption");
	return NULL;
}

/* T-CH-2: a buffered channel holds exactly its capacity (the sender
 * blocks on the (N+1)-th send, not before), and FIFO order spans the
 * buffer and the blocked senders. */
START_TEST(t_ch_2_capacity_and_fifo)
{
	static const size_t caps[] = {1, 3, 16};
	struct cap_run r;
	struct coop_chan *ch;
	size_t k;

	for (k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
		r = (struct cap_run){.ch = mkchan(sizeof(int), caps[k]), .cap = caps[k]};
		spawn_detached("sender", cap_sender, &r);
		spawn_detached("observer", cap_observer, &r);
		run_all();
		ck_assert_int_eq(coop_chan_destroy(r.ch), 0);
	}

	nrunlog = 0;
	ch = mkchan(sizeof(int), 3);
	spawn_detached("main", fifo_main, ch);
	run_all();
	ck_assert_int_eq(coop_chan_destroy(ch), 0);
}
END_TEST

/* ------------------------------------------------------------- T-CH-3 -- */

/* A waiter of the close cases: a plain send or receive, or a select that
 * receives on another channel first. */
struct waiter {
	struct coop_chan *ch;
	struct coop_chan *other;   /* for a select: its first op's channel */
	int id;
	int kind;                  /* W_SEND, W_RECV, W_SELECT */
	int delay;                 /* yields before the call: the blocking order */
	int value;                 /* sent, or received */
	int rc;
	struct coop_chan_op ops[2];
	int other_value;
};
enum { W_SEND, W_RECV, W_SELECT };

static void *waiter_task(void *arg)
{
	struct waiter *w = arg;
	int i;

	for (i = 0; i < w->delay; i++)
		ck_assert_int_eq(coop_yield(), 0);
	switch (w->kind) {
	case W_SEND:
		w->rc = coop_chan_send(w->ch, &w->value, COOP_FOREVER);
		break;
	case W_RECV:
		w->rc = coop_chan_recv(w->ch, &w->value, COOP_FOREVER);
		break;
	default:
		w->other_value = VALUE_SENTINEL;
		w->ops[0] = op_of(w->other, COOP_CHAN_RECV, &w->other_value);
		w->ops[1] = op_of(w->ch, COOP_CHAN_RECV, &w->value);
		w->rc = coop_chan_select(w->ops, 2, COOP_FOREVER);
		break;
	}
	logrun(w->id);
	return NULL;
}

static struct waiter ws[8];

/* Spawn n waiters of `kind` on ch, named w0...; delays[i] yields before
 * waiter i's call (so that the blocking order differs from the spawn
 * order), then run until all are BLOCKED. */
static void spawn_waiters(struct coop_chan *ch, struct coop_chan *other, int n, const int *kinds,
                          const int *delays)
{
	char name[16];
	int i;

	for (i = 0; i < n; i++) {
		ws[i] = (struct waiter){.ch = ch, .other = other, .id = i, .kind = kinds[i],
		                        .delay = delays[i], .value = kinds[i] == W_SEND ? 100 + i
		                                                                        : VALUE_SENTINEL};
		snprintf(name, sizeof(name), "w%d", i);
		spawn_detached(name, waiter_task, &ws[i]);
	}
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "w%d", i);
		yield_until_blocked(name);
	}
}

static void *close_main(void *arg)
{
	static const int send_kinds[4] = {W_SEND, W_SEND, W_SEND, W_SEND};
	static const int recv_kinds[4] = {W_RECV, W_SELECT, W_RECV, W_SELECT};
	static const int delays[4] = {3, 0, 2, 1};
	/* Blocked in the order of their delays: w1, w3, w2, w0. */
	static const int want[4] = {1, 3, 2, 0};
	struct coop_chan *ch, *other;
	int i, v;

	(void)arg;
	/* A buffered channel still delivers what it holds, then -EPIPE; a
	 * send fails even with room. */
	ch = mkchan(sizeof(int), 4);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(coop_chan_send(ch, &i, COOP_FOREVER), 0);
	ck_assert_int_eq(coop_chan_close(ch), 0);
	v = 7;
	ck_assert_int_eq(coop_chan_send(ch, &v, COOP_FOREVER), -EPIPE);
	ck_assert_int_eq(coop_chan_send(ch, &v, COOP_NOWAIT), -EPIPE);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(recv_now(ch), i);
	v = VALUE_SENTINEL;
	ck_assert_int_eq(coop_chan_recv(ch, &v, COOP_FOREVER), -EPIPE);
	ck_assert_int_eq(coop_chan_recv(ch, &v, COOP_NOWAIT), -EPIPE);
	ck_assert_int_eq(v, VALUE_SENTINEL);
	/* A second close changes nothing. */
	ck_assert_int_eq(coop_chan_close(ch), -EPIPE);
	ck_assert_int_eq(coop_chan_recv(ch, &v, COOP_NOWAIT), -EPIPE);
	ck_assert_int_eq(coop_chan_destroy(ch), 0);

	/* Blocked senders of a full channel: woken with -EPIPE in the order
	 * they blocked, not sent; what the buffer held is still delivered. */
	ch = mkchan(sizeof(int), 2);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(coop_chan_send(ch, &i, COOP_NOWAIT), 0);
	nrunlog = 0;
	spawn_waiters(ch, NULL, 4, send_kinds, delays);
	ck_assert_int_eq(coop_chan_close(ch), 0);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(ws[i].rc, 0); /* not run yet: the closer keeps running */
	ck_assert_int_eq(coop_yield(), 0);
	check_runlog(want, 4, "senders woken by close");
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(ws[i].rc, -EPIPE);
	ck_assert_int_eq(recv_now(ch), 0);
	ck_assert_int_eq(recv_now(ch), 1);
	ck_assert_int_eq(coop_chan_recv(ch, &v, COOP_NOWAIT), -EPIPE);
	ck_assert_int_eq(coop_chan_destroy(ch), 0);

	/* Blocked receivers (two of them in a select): the same. */
	ch = mkchan(sizeof(int), 0);
	other = mkchan(sizeof(int), 0);
	nrunlog = 0;
	spawn_waiters(ch, other, 4, recv_kinds, delays);
	ck_assert_int_eq(coop_chan_close(ch), 0);
	ck_assert_int_eq(coop_chan_close(ch), -EPIPE);
	ck_assert_int_eq(coop_yield(), 0);
	check_runlog(want, 4, "receivers woken by close");
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(ws[i].value, VALUE_SENTINEL);
		if (ws[i].kind == W_SELECT) {
			ck_assert_int_eq(ws[i].rc, 1);
			ck_assert_int_eq(ws[i].ops[1].status, -EPIPE);
			ck_assert_int_eq(ws[i].ops[0].status, STATUS_SENTINEL);
			ck_assert_int_eq(ws[i].other_value, VALUE_SENTINEL);
		} else {
			ck_assert_int_eq(ws[i].rc, -EPIPE);
		}
	}
	/* The selects left nothing behind on the other channel. */
	v = 5;
	ck_assert_int_eq(coop_chan_send(other, &v, COOP_NOWAIT), -ETIMEDOUT);
	ck_assert_int_eq(coop_chan_destroy(other), 0);
	ck_assert_int_eq(coop_chan_destroy(ch), 0);
	return NULL;
}

/* T-CH-3: close. */
START_TEST(t_ch_3_close)
{
	spawn_detached("main", close_main, NULL);
	run_all();
}
END_TEST

/* ------------------------------------------------------------- T-CH-4 -- */

static void *destroy_main(void *arg)
{
	static const int kinds[3] = {W_RECV, W_SELECT, W_RECV};
	static const int delays[3] = {0, 0, 0};
	static const int want[3] = {0, 1, 2};
	struct coop_chan *ch, *other, *full;
	struct coop_task *t;
	int i, v;

	(void)arg;
	ch = mkchan(sizeof(int), 0);
	other = mkchan(sizeof(int), 0);
	nrunlog = 0;
	spawn_waiters(ch, other, 3, kinds, delays);
	/* Waited on (directly, or by the select through its other op). */
	ck_assert_int_eq(coop_chan_destroy(ch), -EBUSY);
	ck_assert_int_eq(coop_chan_destroy(other), -EBUSY);
	/* Closed, then destroyed before the woken tasks have run: they were
	 * unlinked at the close and never touch it again. */
	ck_assert_int_eq(coop_chan_close(ch), 0);
	ck_assert_int_eq(coop_chan_destroy(ch), 0);
	ck_assert_int_eq(coop_chan_destroy(other), 0);
	ck_assert_int_eq(coop_yield(), 0);
	check_runlog(want, 3, "woken by close");
	ck_assert_int_eq(ws[0].rc, -EPIPE);
	ck_assert_int_eq(ws[1].rc, 1);
	ck_assert_int_eq(ws[1].ops[1].status, -EPIPE);
	ck_assert_int_eq(ws[2].rc, -EPIPE);

	/* A blocked sender: -EBUSY until its wait ends (here by cancel). */
	full = mkchan(sizeof(int), 1);
	v = 1;
	ck_assert_int_eq(coop_chan_send(full, &v, COOP_NOWAIT), 0);
	nrunlog = 0;
	ws[0] = (struct waiter){.ch = full, .kind = W_SEND, .value = 2};
	t = spawn_named("w0", waiter_task, &ws[0]);
	yield_until_blocked("w0");
	ck_assert_int_eq(coop_chan_destroy(full), -EBUSY);
	ck_assert_int_eq(coop_cancel(t), 0);
	ck_assert_int_eq(state_of("w0"), COOP_TASK_READY);
	/* Unlinked at the cancel, before it runs; what the buffer holds does
	 * not keep the channel alive either. */
	ck_assert_int_eq(coop_chan_destroy(full), 0);
	ck_assert_int_eq(coop_join(t, NULL), 0);
	ck_assert_int_eq(ws[0].rc, -ECANCELED);

	/* Nor does a waiter whose wait timed out. */
	ch = mkchan(sizeof(int), 0);
	ck_assert_int_eq(coop_chan_recv(ch, &v, coop_deadline_in(COOP_MSEC)), -ETIMEDOUT);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(coop_chan_send(ch, &v, COOP_NOWAIT), -ETIMEDOUT);
	ck_assert_int_eq(coop_chan_destroy(ch), 0);
	return NULL;
}

/* T-CH-4: destroy. */
START_TEST(t_ch_4_destroy)
{
	ck_assert_int_eq(coop_chan_destroy(NULL), -EINVAL);
	spawn_detached("main", destroy_main, NULL);
	run_all();
}
END_TEST

/* ------------------------------------------------------------- T-CH-5 -- */

static struct coop_chan *sig_ch;
static int sig_got;

static void *sig_recv(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(coop_chan_recv(sig_ch, NULL, COOP_FOREVER), 0);
		sig_got++;
	}
	return NULL;
}

static void *sig_main(void *arg)
{
	struct coop_chan_op ops[2];
	struct coop_chan *b;
	int i, v;

	(void)arg;
	/* Unbuffered: a rendezvous without data. */
	sig_ch = mkchan(0, 0);
	sig_got = 0;
	spawn_detached("recv", sig_recv, NULL);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(coop_chan_send(sig_ch, NULL, COOP_FOREVER), 0);
	ck_assert_int_eq(coop_yield(), 0);
	ck_assert_int_eq(sig_got, 3);
	ck_assert_int_eq(state_of("recv"), -1);
	/* Nobody there now: neither way completes, through select neither. */
	ck_assert_int_eq(coop_chan_send(sig_ch, NULL, COOP_NOWAIT), -ETIMEDOUT);
	ck_assert_int_eq(coop_chan_recv(sig_ch, NULL, COOP_NOWAIT), -ETIMEDOUT);
	ops[0] = op_of(sig_ch, COOP_CHAN_SEND, NULL);
	ops[1] = op_of(sig_ch, COOP_CHAN_RECV, NULL);
	ck_assert_int_eq(coop_chan_select(ops, 2, COOP_NOWAIT), -ETIMEDOUT);
	ck_assert_int_eq(coop_chan_close(sig_ch), 0);
	ck_assert_int_eq(coop_chan_select(ops, 2, COOP_NOWAIT), 0);
	ck_assert_int_eq(ops[0].status, -EPIPE);
	ck_assert_int_eq(coop_chan_recv(sig_ch, NULL, COOP_FOREVER), -EPIPE);
	ck_assert_int_eq(coop_chan_destroy(sig_ch), 0);

	/* Buffered: the capacity counts signals; an element pointer that is
	 * not NULL is neither read nor written. */
	b = mkchan(0, 2);
	v = 42;
	ck_assert_int_eq(coop_chan_send(b, NULL, COOP_NOWAIT), 0);
	ck_assert_int_eq(coop_chan_send(b, &v, COOP_NOWAIT), 0);
	ck_assert_int_eq(coop_chan_send(b, NULL, COOP_NOWAIT), -ETIMEDOUT);
	ops[0] = op_of(b, COOP_CHAN_SEND, NULL);
	ops[1] = op_of(b, COOP_CHAN_RECV, &v);
	ck_assert_int_eq(coop_chan_select(ops, 2, COOP_NOWAIT), 1);
	ck_assert_int_eq(ops[1].status, 0);
	ck_assert_int_eq(ops[0].status, STATUS_SENTINEL);
	ck_assert_int_eq(v, 42);
	ops[1].status = STATUS_SENTINEL;
	ck_assert_int_eq(coop_chan_select(ops, 2, COOP_NOWAIT), 0);
	ck_assert_int_eq(ops[0].status, 0);
	ck_assert_int_eq(coop_chan_recv(b, NULL, COOP_NOWAIT), 0);
	ck_assert_int_eq(coop_chan_recv(b, &v, COOP_NOWAIT), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(coop_chan_recv(b, NULL, COOP_NOWAIT), -ETIMEDOUT);
	ck_assert_int_eq(coop_chan_destroy(b), 0);
	/* Any capacity: there is no buffer to allocate. */
	ck_assert_int_eq(coop_chan_create(NULL, &b, 0, SIZE_MAX), 0);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(coop_chan_send(b, NULL, COOP_NOWAIT), 0);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(coop_chan_recv(b, NULL, COOP_NOWAIT), 0);
	ck_assert_int_eq(coop_chan_recv(b, NULL, COOP_NOWAIT), -ETIMEDOUT);
	ck_assert_int_eq(coop_chan_destroy(b), 0);
	return NULL;
}

/* T-CH-5: elements of 0 bytes, NULL elems. */
START_TEST(t_ch_5_zero_size)
{
	spawn_detached("main", sig_main, NULL);
	run_all();
}
END_TEST

/* ------------------------------------------------------------- T-CH-6 -- */

static void *nowait_main(void *arg)
{
	struct coop_chan *full = mkchan(sizeof(int), 2), *empty = mkchan(sizeof(int), 0);
	struct coop_chan_op ops[2];
	int64_t old;
	long before;
	int i, v;

	(void)arg;
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(coop_chan_send(full, &i, COOP_NOWAIT), 0);
	ck_assert_int_eq(coop_yield(), 0); /* the ticker is READY; a full budget */
	before = ticks;
	v = 9;
	ck_assert_int_eq(coop_chan_send(full, &v, COOP_NOWAIT), -ETIMEDOUT);
	ck_assert_int_eq(coop_chan_send(full, &v, coop_now() - 1), -ETIMEDOUT);
	ck_assert_int_eq(coop_chan_recv(empty, &v, COOP_NOWAIT), -ETIMEDOUT);
	ck_assert_int_eq(coop_chan_send(empty, &v, 1), -ETIMEDOUT);
	ops[0] = op_of(full, COOP_CHAN_SEND, &v);
	ops[1] = op_of(empty, COOP_CHAN_RECV, &v);
	ck_assert_int_eq(coop_chan_select(ops, 2, COOP_NOWAIT), -ETIMEDOUT);
	/* A passed ambient deadline is the same. */
	ck_assert_int_eq(coop_set_deadline(1, &old), 0);
	ck_assert_int_eq(coop_chan_send(full, &v, COOP_FOREVER), -ETIMEDOUT);
	ck_assert_int_eq(coop_chan_select(ops, 2, COOP_FOREVER), -ETIMEDOUT);
	ck_assert_int_eq(coop_set_deadline(old, NULL), 0);
	ck_assert_int_eq(ticks, before);
	ck_assert_int_eq(v, 9);
	ck_assert_int_eq(ops[0].status, STATUS_SENTINEL);
	ck_assert_int_eq(ops[1].status, STATUS_SENTINEL);
	/* No effect: the buffer holds what it held. */
	ck_assert_int_eq(recv_now(full), 0);
	ck_assert_int_eq(recv_now(full), 1);
	ck_assert_int_eq(coop_chan_recv(full, &v, COOP_NOWAIT), -ETIMEDOUT);
	ck_assert_int_eq(coop_chan_destroy(full), 0);
	ck_assert_int_eq(coop_chan_destroy(empty), 0);
	ticker_stop = 1;
	return NULL;
}

/* T-CH-6: deadline 0 (or any passed deadline) on a channel that cannot
 * complete: -ETIMEDOUT without switching. */
START_TEST(t_ch_6_nowait_no_switch)
{
	spawn_detached("main", nowait_main, NULL);
	start_ticker();
	run_all();
}
END_TEST

/* ------------------------------------------------------------- T-CH-7 -- */

static struct coop_chan *out_ch0, *out_ch1;
static int out_recv_value, out_recv_rc = 1, out_send_rc = 1;

static void *out_receiver(void *arg)
{
	(void)arg;
	out_recv_rc = coop_chan_recv(out_ch0, &out_recv_value, COOP_FOREVER);
	return NULL;
}

static void *out_sender(void *arg)
{
	int v = 55;

	(void)arg;
	out_send_rc = coop_chan_send(out_ch1, &v, COOP_FOREVER);
	return NULL;
}

/* Outside a task, calls that cannot complete at once return -EAGAIN
 * whatever their deadline (A7.2). */
static void outside_calls(struct coop_chan *b)
{
	struct coop_chan_op ops[2];
	int i, v = VALUE_SENTINEL;

	for (i = 0; i < 2; i++)
		ck_assert_int_eq(E(coop_chan_send(b, &i, i ? COOP_FOREVER : COOP_NOWAIT)), 0);
	i = 2;
	ck_assert_int_eq(E(coop_chan_send(b, &i, COOP_FOREVER)), -EAGAIN);
	ck_assert_int_eq(E(coop_chan_send(b, &i, COOP_NOWAIT)), -EAGAIN);
	ck_assert_int_eq(E(coop_chan_send(b, &i, coop_deadline_in(COOP_SEC))), -EAGAIN);
	ops[0] = op_of(b, COOP_CHAN_SEND, &i);
	ck_assert_int_eq(E(coop_chan_select(ops, 1, COOP_FOREVER)), -EAGAIN);
	ck_assert_int_eq(E(coop_chan_select(NULL, 0, COOP_FOREVER)), -EAGAIN);
	ops[1] = op_of(b, COOP_CHAN_RECV, &v);
	ck_assert_int_eq(E(coop_chan_select(ops, 2, COOP_FOREVER)), 1);
	ck_assert_int_eq(ops[1].status, 0);
	ck_assert_int_eq(ops[0].status, STATUS_SENTINEL);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(E(coop_chan_recv(b, &v, COOP_FOREVER)), 0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(E(coop_chan_recv(b, &v, COOP_FOREVER)), -EAGAIN);
	ck_assert_int_eq(E(coop_chan_recv(b, &v, COOP_NOWAIT)), -EAGAIN);
	ck_assert_int_eq(E(coop_chan_select(ops + 1, 1, coop_deadline_in(COOP_SEC))), -EAGAIN);
	ck_assert_int_eq(v, 1);
}

/* T-CH-7: outside a task, before coop_run and after it returns, send and
 * receive complete or return -EAGAIN; they also complete a blocked task's
 * operation. */
START_TEST(t_ch_7_outside_task)
{
	struct coop_chan *b = mkchan(sizeof(int), 2), *c;
	int v;

	errno_bad = 0;
	out_ch0 = mkchan(sizeof(int), 0);
	out_ch1 = mkchan(sizeof(int), 0);
	outside_calls(b);
	v = 1;
	ck_assert_int_eq(E(coop_chan_send(out_ch0, &v, COOP_FOREVER)), -EAGAIN);
	ck_assert_int_eq(E(coop_chan_recv(out_ch1, &v, COOP_FOREVER)), -EAGAIN);

	/* Both tasks block for good: coop_run returns -EDEADLK with them
	 * blocked, and calls from here complete their operations. */
	spawn_detached("receiver", out_receiver, NULL);
	spawn_detached("sender", out_sender, NULL);
	ck_assert_int_eq(coop_run(ctx), -EDEADLK);
	ck_assert_int_eq(state_of("receiver"), COOP_TASK_BLOCKED);
	ck_assert_int_eq(state_of("sender"), COOP_TASK_BLOCKED);
	v = 77;
	ck_assert_int_eq(E(coop_chan_send(out_ch0, &v, COOP_FOREVER)), 0);
	ck_assert_int_eq(state_of("receiver"), COOP_TASK_READY);
	ck_assert_int_eq(out_recv_value, 77); /* copied before it runs */
	v = 0;
	ck_assert_int_eq(E(coop_chan_recv(out_ch1, &v, COOP_NOWAIT)), 0);
	ck_assert_int_eq(v, 55);
	ck_assert_int_eq(state_of("sender"), COOP_TASK_READY);
	run_all();
	ck_assert_int_eq(out_recv_rc, 0);
	ck_assert_int_eq(out_send_rc, 0);

	/* After coop_run: the same rules. */
	outside_calls(b);
	ck_assert_int_eq(E(coop_chan_close(b)), 0);
	ck_assert_int_eq(E(coop_chan_send(b, &v, COOP_FOREVER)), -EPIPE);
	ck_assert_int_eq(E(coop_chan_recv(b, &v, COOP_FOREVER)), -EPIPE);
	ck_assert_int_eq(E(coop_chan_close(b)), -EPIPE);
	/* A channel of a context that is not running is usable from outside
	 * as well: creation with NULL needs a running one. */
	ck_assert_int_eq(E(coop_chan_create(NULL, &c, sizeof(int), 1)), -EPERM);
	ck_assert_int_eq(E(coop_chan_destroy(b)), 0);
	ck_assert_int_eq(E(coop_chan_destroy(out_ch0)), 0);
	ck_assert_int_eq(E(coop_chan_destroy(out_ch1)), 0);
	ck_assert_int_eq(errno_bad, 0);
}
END_TEST

/* ------------------------------------------------------------ T-SEL-1 -- */

static void *first_ready_main(void *arg)
{
	struct coop_chan *e0 = mkchan(sizeof(int), 0);    /* never ready alone */
	struct coop_chan *half = mkchan(sizeof(int), 2);  /* one element: both ways ready */
	struct coop_chan *full = mkchan(sizeof(int), 1);  /* receive ready only */
	struct coop_chan *closed = mkchan(sizeof(int), 1);
	struct coop_chan_op ops[6];
	int r[6], s[6], i, v;

	(void)arg;
	for (i = 0; i < 6; i++) {
		r[i] = VALUE_SENTINEL;
		s[i] = 1000 + i;
	}
	v = 10;
	ck_assert_int_eq(coop_chan_send(half, &v, COOP_NOWAIT), 0);
	v = 20;
	ck_assert_int_eq(coop_chan_send(full, &v, COOP_NOWAIT), 0);
	ck_assert_int_eq(coop_chan_close(closed), 0);

	/* Several ready (2, 3 and 4): the first wins, the others untouched. */
	ops[0] = op_of(e0, COOP_CHAN_RECV, &r[0]);
	ops[1] = op_of(full, COOP_CHAN_SEND, &s[1]);
	ops[2] = op_of(half, COOP_CHAN_RECV, &r[2]);
	ops[3] = op_of(half, COOP_CHAN_SEND, &s[3]);
	ops[4] = op_of(full, COOP_CHAN_RECV, &r[4]);
	ops[5] = op_of(e0, COOP_CHAN_SEND, &s[5]);
	ck_assert_int_eq(coop_chan_select(ops, 6, COOP_FOREVER), 2);
	ck_assert_int_eq(ops[2].status, 0);
	ck_assert_int_eq(r[2], 10);
	for (i = 0; i < 6; i++) {
		if (i != 2) {
			ck_assert_int_eq(ops[i].status, STATUS_SENTINEL);
			ck_assert_int_eq(r[i], VALUE_SENTINEL);
		}
	}
	/* half is empty now: 3 (a send with room) is the first ready. */
	ck_assert_int_eq(coop_chan_select(ops, 6, COOP_FOREVER), 3);
	ck_assert_int_eq(ops[3].status, 0);
	ck_assert_int_eq(recv_now(half), 1003);
	/* A closed channel's op is ready like any other, in its turn. */
	ops[0] = op_of(e0, COOP_CHAN_RECV, &r[0]);
	ops[1] = op_of(closed, COOP_CHAN_SEND, &s[1]);
	ops[2] = op_of(full, COOP_CHAN_RECV, &r[2]);
	r[2] = VALUE_SENTINEL;
	ck_assert_int_eq(coop_chan_select(ops, 3, COOP_FOREVER), 1);
	ck_assert_int_eq(ops[1].status, -EPIPE);
	ck_assert_int_eq(ops[2].status, STATUS_SENTINEL);
	ck_assert_int_eq(r[2], VALUE_SENTINEL);
	/* The same op twice: the first of them. */
	ops[0] = op_of(full, COOP_CHAN_RECV, &r[0]);
	ops[1] = op_of(full, COOP_CHAN_RECV, &r[1]);
	ck_assert_int_eq(coop_chan_select(ops, 2, COOP_NOWAIT), 0);
	ck_assert_int_eq(r[0], 20);
	ck_assert_int_eq(ops[1].status, STATUS_SENTINEL);
	ck_assert_int_eq(r[1], VALUE_SENTINEL);

	ck_assert_int_eq(coop_chan_destroy(e0), 0);
	ck_assert_int_eq(coop_chan_destroy(half), 0);
	ck_assert_int_eq(coop_chan_destroy(full), 0);
	ck_assert_int_eq(coop_chan_destroy(closed), 0);
	return NULL;
}

/* A blocked peer makes an unbuffered op ready: the first in array order
 * still wins over later ready ops. */
static struct coop_chan *fr_ch;

static void *fr_sender(void *arg)
{
	int v = 31;

	(void)arg;
	ck_assert_int_eq(coop_chan_send(fr_ch, &v, COOP_FOREVER), 0);
	return NULL;
}

static void *first_ready_peer_main(void *arg)
{
	struct coop_chan *b = mkchan(sizeof(int), 1);
	struct coop_chan_op ops[3];
	int r[3] = {VALUE_SENTINEL, VALUE_SENTINEL, VALUE_SENTINEL}, v = 5;

	(void)arg;
	fr_ch = mkchan(sizeof(int), 0);
	spawn_detached("sender", fr_sender, NULL);
	yield_until_blocked("sender");
	ck_assert_int_eq(coop_chan_send(b, &v, COOP_NOWAIT), 0);
	ops[0] = op_of(NULL, COOP_CHAN_RECV, &r[0]);
	ops[1] = op_of(fr_ch, COOP_CHAN_RECV, &r[1]);
	ops[2] = op_of(b, COOP_CHAN_RECV, &r[2]);
	ck_assert_int_eq(coop_chan_select(ops, 3, COOP_NOWAIT), 1);
	ck_assert_int_eq(r[1], 31);
	ck_assert_int_eq(state_of("sender"), COOP_TASK_READY);
	ck_assert_int_eq(r[2], VALUE_SENTINEL);
	ck_assert_int_eq(recv_now(b), 5);
	ck_assert_int_eq(coop_yield(), 0);
	ck_assert_int_eq(coop_chan_destroy(fr_ch), 0);
	ck_assert_int_eq(coop_chan_destroy(b), 0);
	return NULL;
}

/* T-SEL-1: the first ready op in array order wins. */
START_TEST(t_sel_1_first_ready_wins)
{
	spawn_detached("main", first_ready_main, NULL);
	run_all();
	spawn_detached("main", first_ready_peer_main, NULL);
	run_all();
}
END_TEST

/* ------------------------------------------------------------ T-SEL-3 -- */

static void *sel_deadline_main(void *arg)
{
	struct coop_chan *e0 = mkchan(sizeof(int), 0), *full = mkchan(sizeof(int), 1);
	struct coop_chan *empty = mkchan(sizeof(int), 2);
	struct coop_chan_op ops[4];
	int r[4] = {VALUE_SENTINEL, VALUE_SENTINEL, VALUE_SENTINEL, VALUE_SENTINEL};
	int s[4] = {1, 2, 3, 4}, v = 77, i, round;
	int64_t d, old;

	(void)arg;
	ck_assert_int_eq(coop_chan_send(full, &v, COOP_NOWAIT), 0);
	for (round = 0; round < 3; round++) {
		ops[0] = op_of(e0, COOP_CHAN_RECV, &r[0]);
		ops[1] = op_of(full, COOP_CHAN_SEND, &s[1]);
		ops[2] = op_of(empty, COOP_CHAN_RECV, &r[2]);
		ops[3] = op_of(e0, COOP_CHAN_SEND, &s[3]);
		d = coop_deadline_in(2 * COOP_MSEC);
		if (round == 2) {
			/* The ambient deadline bounds it the same way. */
			ck_assert_int_eq(coop_set_deadline(d, &old), 0);
			ck_assert_int_eq(coop_chan_select(ops, 4, COOP_FOREVER), -ETIMEDOUT);
			ck_assert_int_eq(coop_set_deadline(old, NULL), 0);
		} else {
			ck_assert_int_eq(coop_chan_select(ops, 4, round ? d : COOP_NOWAIT),
			                 -ETIMEDOUT);
		}
		if (round)
			ck_assert_int_ge(coop_now(), d);
		/* No effect: statuses and elements untouched ... */
		for (i = 0; i < 4; i++) {
			ck_assert_int_eq(ops[i].status, STATUS_SENTINEL);
			ck_assert_int_eq(r[i], VALUE_SENTINEL);
			ck_assert_int_eq(s[i], i + 1);
		}
		/* ... the channels as they were, no record left in them. */
		ck_assert_int_eq(coop_chan_send(e0, &v, COOP_NOWAIT), -ETIMEDOUT);
		ck_assert_int_eq(coop_chan_recv(e0, &v, COOP_NOWAIT), -ETIMEDOUT);
		ck_assert_int_eq(coop_chan_recv(empty, &v, COOP_NOWAIT), -ETIMEDOUT);
		ck_assert_int_eq(recv_now(full), 77);
		ck_assert_int_eq(coop_chan_recv(full, &v, COOP_NOWAIT), -ETIMEDOUT);
		v = 77;
		ck_assert_int_eq(coop_chan_send(full, &v, COOP_NOWAIT), 0);
	}
	ck_assert_int_eq(coop_chan_destroy(e0), 0);
	ck_assert_int_eq(coop_chan_destroy(full), 0);
	ck_assert_int_eq(coop_chan_destroy(empty), 0);
	return NULL;
}

/* While it waits, coop_context_tasks shows a select with its deadline. */
static int64_t sd_deadline;

static void *sd_waiter(void *arg)
{
	struct coop_chan_op op = op_of(arg, COOP_CHAN_RECV, NULL);

	ck_assert_int_eq(coop_chan_select(&op, 1, sd_deadline), -ETIMEDOUT);
	ck_assert_int_ge(coop_now(), sd_deadline);
	return NULL;
}

static void *sd_main(void *arg)
{
	struct coop_chan *ch = mkchan(sizeof(int), 0);
	struct coop_task_info in;
	int64_t d;

	(void)arg;
	/* Long enough for a loaded machine to see it waiting. */
	sd_deadline = coop_deadline_in(test_late_ns() / 4);
	spawn_detached("waiter", sd_waiter, ch);
	yield_until_blocked("waiter");
	in = info_of("waiter");
	ck_assert_int_eq(in.wait, COOP_WAIT_SELECT);
	ck_assert_ptr_null(in.wait_object);
	ck_assert_int_eq(in.wait_deadline, sd_deadline);
	/* Waiting (in the same queue) until it has timed out and ended. */
	d = coop_deadline_in(2 * test_late_ns());
	while (state_of("waiter") != -1 && coop_now() < d)
		ck_assert_int_eq(coop_chan_recv(ch, NULL, coop_deadline_in(COOP_MSEC)), -ETIMEDOUT);
	ck_assert_int_eq(state_of("waiter"), -1);
	ck_assert_int_eq(coop_chan_destroy(ch), 0);
	return NULL;
}

/* T-SEL-3: a select's deadline (its own, 0, or the ambient one) ends it
 * with -ETIMEDOUT and no effect. */
START_TEST(t_sel_3_deadline)
{
	spawn_detached("main", sel_deadline_main, NULL);
	run_all();
	spawn_detached("main", sd_main, NULL);
	run_all();
}
END_TEST

/* ------------------------------------------------------------ T-SEL-4 -- */

#define SC_N 10
static struct coop_chan *sc_ch[SC_N];
static struct coop_chan_op sc_ops[SC_N];
static int sc_r[SC_N], sc_s[SC_N], sc_rc;

/* Ops 0-4: receive on unbuffered channels; 5-7: send on unbuffered ones;
 * 8: receive on an empty buffered one; 9: send on a full buffered one. */
static int sc_is_send(int i)
{
	return (i >= 5 && i <= 7) || i == 9;
}

static void *sc_selector(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < SC_N; i++) {
		sc_r[i] = VALUE_SENTINEL;
		sc_s[i] = 500 + i;
		sc_ops[i] = op_of(sc_ch[i], sc_is_send(i) ? COOP_CHAN_SEND : COOP_CHAN_RECV,
		                  sc_is_send(i) ? &sc_s[i] : &sc_r[i]);
	}
	sc_rc = coop_chan_select(sc_ops, SC_N, COOP_FOREVER);
	return NULL;
}

/* Each channel works after the cancel, through another pair of tasks. */
static void *sc_peer(void *arg)
{
	intptr_t i = (intptr_t)arg;
	int v = 900 + (int)i;

	if (sc_is_send((int)i))
		ck_assert_int_eq(coop_chan_send(sc_ch[i], &v, COOP_FOREVER), 0);
	else
		ck_assert_int_eq(coop_chan_recv(sc_ch[i], &v, COOP_FOREVER), 0);
	return NULL;
}

static void *sc_main(void *arg)
{
	int rounds = test_slow_run() ? 20 : 200, round, i, v;
	struct coop_task *t;
	struct coop_task_info in;

	(void)arg;
	for (round = 0; round < rounds; round++) {
		for (i = 0; i < SC_N; i++)
			sc_ch[i] = mkchan(sizeof(int), i < 8 ? 0 : i == 8 ? 2 : 1);
		v = 42;
		ck_assert_int_eq(coop_chan_send(sc_ch[9], &v, COOP_NOWAIT), 0);
		sc_rc = 1;
		t = spawn_named("selector", sc_selector, NULL);
		yield_until_blocked("selector");
		in = info_of("selector");
		ck_assert_int_eq(in.wait, COOP_WAIT_SELECT);
		ck_assert_ptr_null(in.wait_object);
		ck_assert_int_eq(in.wait_deadline, COOP_FOREVER);
		ck_assert_int_eq(coop_cancel(t), 0);
		/* Out of every queue at once: a peer now finds no one. */
		for (i = 0; i < SC_N; i++) {
			v = 7;
			if (i < 5 || i == 8)
				ck_assert_int_eq(coop_chan_send(sc_ch[i], &v, COOP_NOWAIT), i == 8 ? 0 : -ETIMEDOUT);
			else if (i < 8)
				ck_assert_int_eq(coop_chan_recv(sc_ch[i], &v, COOP_NOWAIT), -ETIMEDOUT);
		}
		ck_assert_int_eq(coop_join(t, NULL), 0);
		ck_assert_int_eq(sc_rc, -ECANCELED);
		for (i = 0; i < SC_N; i++) {
			ck_assert_int_eq(sc_ops[i].status, STATUS_SENTINEL);
			ck_assert_int_eq(sc_r[i], VALUE_SENTINEL);
		}
		/* The buffered ones hold what they held, nothing of the select's. */
		ck_assert_int_eq(recv_now(sc_ch[8]), 7);
		ck_assert_int_eq(recv_now(sc_ch[9]), 42);
		ck_assert_int_eq(coop_chan_recv(sc_ch[9], &v, COOP_NOWAIT), -ETIMEDOUT);
		/* Each channel usable: a peer waits, this task completes it
		 * (the buffered one full again first, for its peer to wait). */
		v = 41;
		ck_assert_int_eq(coop_chan_send(sc_ch[9], &v, COOP_NOWAIT), 0);
		for (i = 0; i < SC_N; i++) {
			spawn_detached("peer", sc_peer, (void *)(intptr_t)i);
			yield_until_blocked("peer");
			if (i == 9)
				ck_assert_int_eq(recv_now(sc_ch[i]), 41);
			if (sc_is_send(i)) {
				ck_assert_int_eq(recv_now(sc_ch[i]), 900 + i);
			} else {
				v = i;
				ck_assert_int_eq(coop_chan_send(sc_ch[i], &v, COOP_NOWAIT), 0);
			}
			ck_assert_int_eq(coop_yield(), 0);
			ck_assert_int_eq(state_of("peer"), -1);
		}
		for (i = 0; i < SC_N; i++)
			ck_assert_int_eq(coop_chan_destroy(sc_ch[i]), 0);
	}
	return NULL;
}

/* T-SEL-4: cancel a select waiting on 10 channels (heap records): it
 * returns -ECANCELED, no channel keeps a record, every one still works;
 * repeated, so that valgrind would see a leaked record. */
START_TEST(t_sel_4_cancel)
{
	spawn_detached("main", sc_main, NULL);
	run_all();
}
END_TEST

/* ------------------------------------------------------------ T-SEL-5 -- */

static int nullsel_rc = 1;

static void *nullsel_forever(void *arg)
{
	struct coop_chan_op ops[2];

	(void)arg;
	ops[0] = op_of(NULL, COOP_CHAN_RECV, NULL);
	ops[1] = op_of(NULL, COOP_CHAN_SEND, NULL);
	nullsel_rc = coop_chan_select(ops, 2, COOP_FOREVER);
	ck_assert_int_eq(ops[0].status, STATUS_SENTINEL);
	ck_assert_int_eq(ops[1].status, STATUS_SENTINEL);
	return NULL;
}

static void *nullsel_main(void *arg)
{
	struct coop_chan *b = mkchan(sizeof(int), 1);
	struct coop_chan_op ops[3];
	struct coop_task *t;
	int r = VALUE_SENTINEL, v = 3;
	int64_t d;

	(void)arg;
	ck_assert_int_eq(coop_chan_send(b, &v, COOP_NOWAIT), 0);
	/* NULL ops are skipped (a NULL send's NULL elem is no error). */
	ops[0] = op_of(NULL, COOP_CHAN_RECV, &r);
	ops[1] = op_of(NULL, COOP_CHAN_SEND, NULL);
	ops[2] = op_of(b, COOP_CHAN_RECV, &r);
	ck_assert_int_eq(coop_chan_select(ops, 3, COOP_FOREVER), 2);
	ck_assert_int_eq(r, 3);
	ck_assert_int_eq(ops[0].status, STATUS_SENTINEL);
	ck_assert_int_eq(ops[1].status, STATUS_SENTINEL);
	/* All NULL: waits for the deadline, like n == 0. */
	ck_assert_int_eq(coop_chan_select(ops, 2, COOP_NOWAIT), -ETIMEDOUT);
	d = coop_deadline_in(2 * COOP_MSEC);
	ck_assert_int_eq(coop_chan_select(ops, 2, d), -ETIMEDOUT);
	ck_assert_int_ge(coop_now(), d);
	d = coop_deadline_in(2 * COOP_MSEC);
	ck_assert_int_eq(coop_chan_select(NULL, 0, d), -ETIMEDOUT);
	ck_assert_int_ge(coop_now(), d);
	ck_assert_int_eq(coop_chan_select(ops, 0, COOP_NOWAIT), -ETIMEDOUT);
	ck_assert_int_eq(ops[0].status, STATUS_SENTINEL);
	ck_assert_int_eq(ops[1].status, STATUS_SENTINEL);
	/* All NULL and COOP_FOREVER: only a cancel ends it. */
	t = spawn_named("forever", nullsel_forever, NULL);
	yield_until_blocked("forever");
	ck_assert_int_eq(info_of("forever").wait, COOP_WAIT_SELECT);
	ck_assert_int_eq(coop_cancel(t), 0);
	ck_assert_int_eq(coop_join(t, NULL), 0);
	ck_assert_int_eq(nullsel_rc, -ECANCELED);
	ck_assert_int_eq(coop_chan_destroy(b), 0);
	return NULL;
}

/* T-SEL-5: NULL channels are never ready. */
START_TEST(t_sel_5_null_channels)
{
	struct coop_chan_op ops[2];

	spawn_detached("main", nullsel_main, NULL);
	run_all();
	/* Outside a task: nothing ready is -EAGAIN. */
	ops[0] = op_of(NULL, COOP_CHAN_RECV, NULL);
	ops[1] = op_of(NULL, COOP_CHAN_SEND, NULL);
	ck_assert_int_eq(coop_chan_select(ops, 2, COOP_FOREVER), -EAGAIN);
	ck_assert_int_eq(coop_chan_select(ops, 2, COOP_NOWAIT), -EAGAIN);
	ck_assert_int_eq(ops[0].status, STATUS_SENTINEL);
}
END_TEST

/* ------------------------------------------------------------ T-SEL-6 -- */

static struct coop_chan_op cw_ops[4];
static int cw_r[4], cw_s[4], cw_rc;

static void *cw_selector(void *arg)
{
	(void)arg;
	cw_rc = coop_chan_select(cw_ops, 4, COOP_FOREVER);
	return NULL;
}

/* A select waiting on [ops], one of whose channels `victim` gets closed:
 * it returns `want` with -EPIPE, nothing else written. */
static void closed_while_waiting(struct coop_chan *victim, int want)
{
	int i;

	cw_rc = 1;
	spawn_detached("selector", cw_selector, NULL);
	yield_until_blocked("selector");
	ck_assert_int_eq(coop_chan_close(victim), 0);
	ck_assert_int_eq(coop_yield(), 0);
	ck_assert_int_eq(cw_rc, want);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(cw_ops[i].status, i == want ? -EPIPE : STATUS_SENTINEL);
		ck_assert_int_eq(cw_r[i], VALUE_SENTINEL);
	}
}

static void cw_set(int i, struct coop_chan *ch, int op)
{
	cw_r[i] = VALUE_SENTINEL;
	cw_s[i] = 60 + i;
	cw_ops[i] = op_of(ch, op, op == COOP_CHAN_SEND ? (void *)&cw_s[i] : (void *)&cw_r[i]);
}

static void *closed_main(void *arg)
{
	struct coop_chan *a, *c, *full, *closed;
	struct coop_chan_op ops[3];
	int r[3] = {VALUE_SENTINEL, VALUE_SENTINEL, VALUE_SENTINEL}, s = 1, v;

	(void)arg;
	/* Ready at once: a closed channel's send, and its receive once it
	 * is drained. */
	a = mkchan(sizeof(int), 0);
	closed = mkchan(sizeof(int), 2);
	v = 8;
	ck_assert_int_eq(coop_chan_send(closed, &v, COOP_NOWAIT), 0);
	ck_assert_int_eq(coop_chan_close(closed), 0);
	ops[0] = op_of(a, COOP_CHAN_RECV, &r[0]);
	ops[1] = op_of(closed, COOP_CHAN_SEND, &s);
	ops[2] = op_of(closed, COOP_CHAN_RECV, &r[2]);
	ck_assert_int_eq(coop_chan_select(ops, 3, COOP_NOWAIT), 1);
	ck_assert_int_eq(ops[1].status, -EPIPE);
	ck_assert_int_eq(ops[2].status, STATUS_SENTINEL);
	ops[1].chan = NULL; /* the idiom: switch it off */
	ops[1].status = STATUS_SENTINEL;
	ck_assert_int_eq(coop_chan_select(ops, 3, COOP_NOWAIT), 2);
	ck_assert_int_eq(ops[2].status, 0); /* what it held is delivered */
	ck_assert_int_eq(r[2], 8);
	ops[2].status = STATUS_SENTINEL;
	r[2] = VALUE_SENTINEL;
	ck_assert_int_eq(coop_chan_select(ops, 3, COOP_FOREVER), 2);
	ck_assert_int_eq(ops[2].status, -EPIPE);
	ck_assert_int_eq(r[2], VALUE_SENTINEL);
	ck_assert_int_eq(ops[0].status, STATUS_SENTINEL);
	ck_assert_int_eq(coop_chan_destroy(closed), 0);

	/* Closed while waiting: the first op on that channel, whether its
	 * record is in the senders' or the receivers' queue. */
	c = mkchan(sizeof(int), 0);
	cw_set(0, a, COOP_CHAN_RECV);
	cw_set(1, c, COOP_CHAN_SEND);
	cw_set(2, a, COOP_CHAN_SEND);
	cw_set(3, c, COOP_CHAN_RECV);
	closed_while_waiting(c, 1);
	ck_assert_int_eq(coop_chan_destroy(c), 0);

	c = mkchan(sizeof(int), 0);
	cw_set(0, a, COOP_CHAN_RECV);
	cw_set(1, c, COOP_CHAN_RECV);
	cw_set(2, NULL, COOP_CHAN_RECV);
	cw_set(3, c, COOP_CHAN_SEND);
	closed_while_waiting(c, 1);
	ck_assert_int_eq(coop_chan_destroy(c), 0);

	/* A send waiting on a full channel: -EPIPE, and the buffer is still
	 * delivered. */
	full = mkchan(sizeof(int), 1);
	v = 4;
	ck_assert_int_eq(coop_chan_send(full, &v, COOP_NOWAIT), 0);
	cw_set(0, a, COOP_CHAN_RECV);
	cw_set(1, NULL, COOP_CHAN_SEND);
	cw_set(2, full, COOP_CHAN_SEND);
	cw_set(3, full, COOP_CHAN_SEND);
	closed_while_waiting(full, 2);
	ck_assert_int_eq(recv_now(full), 4);
	ck_assert_int_eq(coop_chan_recv(full, &v, COOP_NOWAIT), -EPIPE);
	ck_assert_int_eq(coop_chan_destroy(full), 0);
	/* The unclosed channel kept no record of those selects. */
	ck_assert_int_eq(coop_chan_send(a, &v, COOP_NOWAIT), -ETIMEDOUT);
	ck_assert_int_eq(coop_chan_recv(a, &v, COOP_NOWAIT), -ETIMEDOUT);
	ck_assert_int_eq(coop_chan_destroy(a), 0);
	return NULL;
}

/* T-SEL-6: an op on a closed channel completes with status -EPIPE; a
 * select waiting when its channel is closed returns its first op on it. */
START_TEST(t_sel_6_closed)
{
	spawn_detached("main", closed_main, NULL);
	run_all();
}
END_TEST

/* ------------------------------------------------------------ T-SEL-7 -- */

#define BIG_N 20
struct big_sel {
	struct coop_chan *ch[BIG_N];
	struct coop_chan_op ops[BIG_N];
	int r[BIG_N], s[BIG_N];
	int rc;
	int base;                  /* values sent are base + index */
};

static void big_prepare(struct big_sel *b)
{
	int i;

	for (i = 0; i < BIG_N; i++) {
		b->r[i] = VALUE_SENTINEL;
		b->s[i] = b->base + i;
		b->ops[i] = op_of(b->ch[i], i % 2 ? COOP_CHAN_SEND : COOP_CHAN_RECV,
		                  i % 2 ? (void *)&b->s[i] : (void *)&b->r[i]);
	}
}

static void *big_selector(void *arg)
{
	struct big_sel *b = arg;

	big_prepare(b);
	b->rc = E(coop_chan_select(b->ops, BIG_N, COOP_FOREVER)); /* errno kept across the wait */
	return NULL;
}

/* Complete op k of blocked selector b from this task; check the result
 * once it has run. */
static void big_complete(struct big_sel *b, int k)
{
	int v = 7000 + k, i;

	if (k % 2)
		ck_assert_int_eq(recv_now(b->ch[k]), b->base + k);
	else
		ck_assert_int_eq(coop_chan_send(b->ch[k], &v, COOP_NOWAIT), 0);
	ck_assert_int_eq(coop_yield(), 0);
	ck_assert_int_eq(b->rc, k);
	for (i = 0; i < BIG_N; i++) {
		ck_assert_int_eq(b->ops[i].status, i == k ? 0 : STATUS_SENTINEL);
		ck_assert_int_eq(b->r[i], i == k && !(k % 2) ? v : VALUE_SENTINEL);
	}
}

/* No record of a finished select is left in any of its channels. */
static void big_no_records(struct big_sel *b)
{
	int i, v = 1;

	for (i = 0; i < BIG_N; i++) {
		if (i % 2)
			ck_assert_int_eq(coop_chan_recv(b->ch[i], &v, COOP_NOWAIT), -ETIMEDOUT);
		else
			ck_assert_int_eq(coop_chan_send(b->ch[i], &v, COOP_NOWAIT), -ETIMEDOUT);
	}
}

static void *big_main(void *arg)
{
	static struct big_sel b1, b2;
	int rounds = test_slow_run() ? 2 : 10, round, k, i, v;

	(void)arg;
	errno_bad = 0;
	b1.base = 100;
	b2.base = 200;
	for (i = 0; i < BIG_N; i++) {
		b1.ch[i] = mkchan(sizeof(int), 0);
		b2.ch[i] = mkchan(sizeof(int), 0);
	}
	/* Waiting and woken through each op in turn, again and again (the
	 * records are the context's, reused). */
	for (round = 0; round < rounds; round++) {
		for (k = 0; k < BIG_N; k++) {
			b1.rc = -1;
			spawn_detached("b1", big_selector, &b1);
			yield_until_blocked("b1");
			ck_assert_int_eq(info_of("b1").wait, COOP_WAIT_SELECT);
			big_complete(&b1, (k * 7 + round) % BIG_N);
			big_no_records(&b1);
		}
	}
	/* Two at once (two blocks of records in use), completed in reverse. */
	b1.rc = b2.rc = -1;
	spawn_detached("b1", big_selector, &b1);
	spawn_detached("b2", big_selector, &b2);
	yield_until_blocked("b1");
	yield_until_blocked("b2");
	big_complete(&b2, 19);
	ck_assert_int_eq(state_of("b1"), COOP_TASK_BLOCKED);
	big_complete(&b1, 0);
	big_no_records(&b1);
	big_no_records(&b2);
	/* Ready at once: no wait (op 19 of b1 sends; a buffered channel
	 * in its place has room). */
	ck_assert_int_eq(coop_chan_destroy(b1.ch[19]), 0);
	b1.ch[19] = mkchan(sizeof(int), 1);
	big_prepare(&b1);
	ck_assert_int_eq(coop_chan_select(b1.ops, BIG_N, COOP_NOWAIT), 19);
	ck_assert_int_eq(b1.ops[19].status, 0);
	ck_assert_int_eq(recv_now(b1.ch[19]), 119);
	/* Timing out, repeatedly. */
	for (i = 0; i < 3; i++) {
		big_prepare(&b2);
		ck_assert_int_eq(coop_chan_select(b2.ops, BIG_N, coop_deadline_in(COOP_MSEC)),
		                 -ETIMEDOUT);
		for (k = 0; k < BIG_N; k++)
			ck_assert_int_eq(b2.ops[k].status, STATUS_SENTINEL);
		big_no_records(&b2);
	}
	v = 0;
	for (i = 0; i < BIG_N; i++) {
		ck_assert_int_eq(coop_chan_recv(b1.ch[i], &v, COOP_NOWAIT), -ETIMEDOUT);
		ck_assert_int_eq(coop_chan_destroy(b1.ch[i]), 0);
		ck_assert_int_eq(coop_chan_destroy(b2.ch[i]), 0);
	}
	ck_assert_int_eq(errno_bad, 0);
	return NULL;
}

/* T-SEL-7: 20 ops (records from the context, not the stack): waiting,
 * woken through any op, repeatedly, two at once. */
START_TEST(t_sel_7_twenty_ops)
{
	spawn_detached("main", big_main, NULL);
	run_all();
}
END_TEST

/* ------------------------------------------------------------ T-SEL-8 -- */

struct self_sel {
	struct coop_chan *ch;
	struct coop_chan_op ops[2];
	int r, s;
	int rc;
	bool send_first;
};

static void self_prepare(struct self_sel *x, int s)
{
	x->r = VALUE_SENTINEL;
	x->s = s;
	x->ops[x->send_first ? 0 : 1] = op_of(x->ch, COOP_CHAN_SEND, &x->s);
	x->ops[x->send_first ? 1 : 0] = op_of(x->ch, COOP_CHAN_RECV, &x->r);
}

static void *self_selector(void *arg)
{
	struct self_sel *x = arg;

	x->rc = coop_chan_select(x->ops, 2, COOP_FOREVER);
	return NULL;
}

static void *self_main(void *arg)
{
	struct self_sel x, y;
	int64_t d;
	int send_first, v;

	(void)arg;
	for (send_first = 0; send_first < 2; send_first++) {
		x = (struct self_sel){.ch = mkchan(sizeof(int), 0), .send_first = send_first};
		/* Alone: times out, never matched with itself. */
		self_prepare(&x, 1);
		ck_assert_int_eq(coop_chan_select(x.ops, 2, COOP_NOWAIT), -ETIMEDOUT);
		d = coop_deadline_in(2 * COOP_MSEC);
		ck_assert_int_eq(coop_chan_select(x.ops, 2, d), -ETIMEDOUT);
		ck_assert_int_ge(coop_now(), d);
		ck_assert_int_eq(x.r, VALUE_SENTINEL);
		ck_assert_int_eq(x.ops[0].status, STATUS_SENTINEL);
		ck_assert_int_eq(x.ops[1].status, STATUS_SENTINEL);
		/* Waiting in both queues: a plain receive takes its send ... */
		self_prepare(&x, 2);
		spawn_detached("x", self_selector, &x);
		yield_until_blocked("x");
		ck_assert_int_eq(recv_now(x.ch), 2);
		ck_assert_int_eq(coop_yield(), 0);
		ck_assert_int_eq(x.rc, send_first ? 0 : 1);
		ck_assert_int_eq(x.r, VALUE_SENTINEL);
		/* ... a plain send fills its receive ... */
		self_prepare(&x, 3);
		spawn_detached("x", self_selector, &x);
		yield_until_blocked("x");
		v = 33;
		ck_assert_int_eq(coop_chan_send(x.ch, &v, COOP_NOWAIT), 0);
		ck_assert_int_eq(coop_yield(), 0);
		ck_assert_int_eq(x.rc, send_first ? 1 : 0);
		ck_assert_int_eq(x.r, 33);
		/* ... and a second such select matches the first: its first op
		 * is ready with the other task's opposite record. */
		y = (struct self_sel){.ch = x.ch, .send_first = send_first};
		self_prepare(&x, 4);
		self_prepare(&y, 5);
		spawn_detached("x", self_selector, &x);
		yield_until_blocked("x");
		ck_assert_int_eq(coop_chan_select(y.ops, 2, COOP_NOWAIT), 0);
		ck_assert_int_eq(coop_yield(), 0);
		if (send_first) {
			/* y sent 5 to x's receive. */
			ck_assert_int_eq(x.rc, 1);
			ck_assert_int_eq(x.r, 5);
			ck_assert_int_eq(y.r, VALUE_SENTINEL);
		} else {
			/* y received x's 4. */
			ck_assert_int_eq(x.rc, 1);
			ck_assert_int_eq(y.r, 4);
			ck_assert_int_eq(x.r, VALUE_SENTINEL);
		}
		ck_assert_int_eq(coop_chan_send(x.ch, &v, COOP_NOWAIT), -ETIMEDOUT);
		ck_assert_int_eq(coop_chan_destroy(x.ch), 0);
	}
	return NULL;
}

/* T-SEL-8: a select sending and receiving on one unbuffered channel never
 * matches itself. */
START_TEST(t_sel_8_no_self_match)
{
	spawn_detached("main", self_main, NULL);
	run_all();
}
END_TEST

/* ------------------------------------------------------------ T-SEL-2 -- */

/*
 * A reference model of M_NCH channels (capacities 0, 1 and 3; elements of
 * 8 bytes, each value sent unique): per channel its buffer as a FIFO of
 * values, its closed flag, and its queues of blocked senders and
 * receivers as records (who, op index, value).  A driver task makes
 * random selects (and plain sends and receives), mostly with deadline 0;
 * helper tasks block in selects or plain calls whose ops the model says
 * cannot complete, so that unbuffered channels and blocked peers take
 * part; the driver also waits in selects of its own that a completer
 * task ends.  Before each call the model says what must happen: which op
 * wins, its status and value, which blocked tasks it completes and in
 * which order they then run (R6).  After each step the driver yields and
 * checks every task that ran against the model: return value, the chosen
 * entry's status and element, every other entry untouched (sentinels).
 * Every 1000 steps each channel is drained with deadline-0 receives
 * checked against the model, and coop_context_tasks must show exactly the
 * helpers the model has blocked, in what the model says.
 *
 * Deterministic: the seed (COOP_TEST_SEED overrides it) and the step are
 * in every failure message.
 */
#define M_NCH 6
#define M_NHELP 12             /* helpers blocked at most */
#define M_MAXOPS 10            /* entries of a select (past 8: heap records) */
#define M_HOPS 4               /* entries of a helper's select */
#define M_Q 64
#define M_DRV M_NHELP          /* the driver's part */
#define M_CMP (M_NHELP + 1)    /* the completer's part */
#define M_NPART (M_NHELP + 2)
#define M_RSENT ((uint64_t)0xdeadbeefcafef00dull) /* an element nothing wrote */

enum { M_SEND = 1, M_RECV, M_SELECT, M_CLOSE };

struct m_rec {
	int who;      /* part */
	int idx;      /* its op */
	uint64_t val; /* a send's element */
};

struct m_chan {
	struct coop_chan *ch;
	size_t cap;
	uint64_t buf[3];
	size_t head, count;
	bool closed;
	int nsq, nrq;
	struct m_rec sq[M_Q], rq[M_Q];
};

/* One party: a helper, the driver or the completer, and the call it makes. */
struct m_part {
	int kind;                 /* M_SEND, M_RECV (a plain call), M_SELECT, M_CLOSE */
	int n;                    /* entries */
	int mch[M_MAXOPS];        /* each entry's channel, -1: NULL */
	struct coop_chan_op ops[M_MAXOPS];
	uint64_t sendv[M_MAXOPS], recvv[M_MAXOPS];
	struct coop_task *task;   /* a blocked helper's (detached) */
	bool blocked;             /* in the model's queues */
	bool woken;               /* ended in the model, to check */
	int exp_rc, exp_status;
	uint64_t exp_val;
	int rc;                   /* what its call returned */
};

static const size_t m_caps[M_NCH] = {0, 1, 3, 0, 3, 1};

static struct {
	uint64_t seed, rng;
	long step;
	long nselects;
	uint64_t next_val;
	int nblocked;
	struct m_chan ch[M_NCH];
	struct m_part part[M_NPART];
	int explog[4 * M_NPART], nexp;
	int log[4 * M_NPART], nlog;
} M;

static uint64_t m_rnd(void)
{
	uint64_t z = (M.rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int m_pick(int n)
{
	return (int)(m_rnd() % (uint64_t)n);
}

static void m_fail(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void m_fail(int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ck_abort_msg("T-SEL-2 seed %#" PRIx64 " step %ld (line %d): %s", M.seed, M.step, line, msg);
}
#define M_CHECK(cond, ...)                                  \
	do {                                                \
		if (!(cond))                                \
			m_fail(__LINE__, __VA_ARGS__);      \
	} while (0)

/* ---- the model ---- */

static bool m_ready(int k, int op)
{
	const struct m_chan *c = &M.ch[k];

	if (op == COOP_CHAN_SEND)
		return c->closed || c->nrq || c->count < c->cap;
	return c->closed || c->count || c->nsq;
}

static void m_q_drop(struct m_rec *q, int *n, int who)
{
	int i, j;

	for (i = j = 0; i < *n; i++)
		if (q[i].who != who)
			q[j++] = q[i];
	*n = j;
}

/* Part `who`'s wait ended with `rc`: out of every queue, expected to run. */
static void m_end(int who, int rc, int status, uint64_t val)
{
	struct m_part *p = &M.part[who];
	int k;

	for (k = 0; k < M_NCH; k++) {
		m_q_drop(M.ch[k].sq, &M.ch[k].nsq, who);
		m_q_drop(M.ch[k].rq, &M.ch[k].nrq, who);
	}
	M_CHECK(p->blocked, "part %d ended twice", who);
	p->blocked = false;
	p->woken = true;
	p->exp_rc = rc;
	p->exp_status = status;
	p->exp_val = val;
	M.explog[M.nexp++] = who;
	if (who < M_NHELP)
		M.nblocked--;
}

/* Blocked record r's op was completed with status (val: what it received). */
static void m_complete(struct m_rec r, int status, uint64_t val)
{
	m_end(r.who, M.part[r.who].kind == M_SELECT ? r.idx : status, status, val);
}

/* A running party sends val on channel k, which is send-ready. */
static int m_send(int k, uint64_t val)
{
	struct m_chan *c = &M.ch[k];

	if (c->closed)
		return -EPIPE;
	if (c->nrq) {
		m_complete(c->rq[0], 0, val);
		return 0;
	}
	c->buf[(c->head + c->count) % c->cap] = val;
	c->count++;
	return 0;
}

/* A running party receives from channel k, which is receive-ready. */
static int m_recv(int k, uint64_t *val)
{
	struct m_chan *c = &M.ch[k];

	if (c->count) {
		*val = c->buf[c->head];
		c->head = (c->head + 1) % c->cap;
		c->count--;
		if (c->nsq) {
			c->buf[(c->head + c->count) % c->cap] = c->sq[0].val;
			c->count++;
			m_complete(c->sq[0], 0, 0);
		}
		return 0;
	}
	if (c->nsq) {
		*val = c->sq[0].val;
		m_complete(c->sq[0], 0, 0);
		return 0;
	}
	return -EPIPE;
}

/* Close channel k: every waiter in queue order (senders first), a select
 * through its first op on k. */
static void m_close(int k)
{
	struct m_chan *c = &M.ch[k];

	c->closed = true;
	while (c->nsq || c->nrq) {
		struct m_rec r = c->nsq ? c->sq[0] : c->rq[0];

		for (r.idx = 0; M.part[r.who].mch[r.idx] != k; r.idx++)
			;
		m_complete(r, -EPIPE, 0);
	}
}

/* Part `who` waits on all its ops (none ready), in array order. */
static void m_block(int who)
{
	struct m_part *p = &M.part[who];
	int i;

	for (i = 0; i < p->n; i++) {
		struct m_chan *c;
		struct m_rec r = {.who = who, .idx = i, .val = p->sendv[i]};

		if (p->mch[i] < 0)
			continue;
		c = &M.ch[p->mch[i]];
		M_CHECK(c->nsq < M_Q && c->nrq < M_Q, "queue overflow");
		if (p->ops[i].op == COOP_CHAN_SEND)
			c->sq[c->nsq++] = r;
		else
			c->rq[c->nrq++] = r;
	}
	p->blocked = true;
	if (who < M_NHELP)
		M.nblocked++;
}

/* Part `who` makes its call now, as a running task that does not wait:
 * the first ready op is done, else -ETIMEDOUT. */
static void m_run(int who)
{
	struct m_part *p = &M.part[who];
	uint64_t v = 0;
	int i, st;

	for (i = 0; i < p->n; i++) {
		if (p->mch[i] < 0 || !m_ready(p->mch[i], p->ops[i].op))
			continue;
		if (p->ops[i].op == COOP_CHAN_SEND)
			st = m_send(p->mch[i], p->sendv[i]);
		else
			st = m_recv(p->mch[i], &v);
		p->exp_rc = p->kind == M_SELECT ? i : st;
		p->exp_status = st;
		p->exp_val = v;
		return;
	}
	p->exp_rc = -ETIMEDOUT;
}

/* ---- the parties ---- */

static void m_reset_part(int who, int kind)
{
	struct m_part *p = &M.part[who];

	p->kind = kind;
	p->n = 0;
	p->woken = false;
	p->blocked = false;
	p->rc = 1;
}

/* Append an entry: channel k (-1: NULL), op; a unique value to send, a
 * sentinel where to receive (sometimes NULL: the element dropped). */
static void m_add(int who, int k, int op)
{
	struct m_part *p = &M.part[who];
	int i = p->n++;

	p->mch[i] = k;
	p->sendv[i] = ++M.next_val;
	p->recvv[i] = M_RSENT;
	p->ops[i] = (struct coop_chan_op){
		.size = sizeof(struct coop_chan_op),
		.chan = k >= 0 ? M.ch[k].ch : NULL,
		.op = op,
		.status = STATUS_SENTINEL,
	};
	if (op == COOP_CHAN_SEND)
		p->ops[i].elem = &p->sendv[i];
	else if (m_pick(10))
		p->ops[i].elem = &p->recvv[i];
}

/* Its call returned what the model says, writing only what it may. */
static void m_check(int who)
{
	struct m_part *p = &M.part[who];
	int chosen = -1, i;

	M_CHECK(p->rc == p->exp_rc, "part %d (kind %d, %d ops) returned %d, the model %d", who,
	        p->kind, p->n, p->rc, p->exp_rc);
	if (p->kind == M_CLOSE)
		return;
	if (p->kind == M_SELECT && p->exp_rc >= 0)
		chosen = p->exp_rc;
	else if (p->kind != M_SELECT && p->exp_rc != -ETIMEDOUT && p->exp_rc != -ECANCELED)
		chosen = 0;
	for (i = 0; i < p->n; i++) {
		const struct coop_chan_op *op = &p->ops[i];

		if (p->kind == M_SELECT)
			M_CHECK(op->status == (i == chosen ? p->exp_status : STATUS_SENTINEL),
			        "part %d op %d/%d: status %d (chosen %d, model status %d)", who, i,
			        p->n, op->status, chosen, p->exp_status);
		M_CHECK(op->size == sizeof(*op) && op->op >= COOP_CHAN_SEND && op->op <= COOP_CHAN_RECV,
		        "part %d op %d: entry overwritten", who, i);
		if (op->op == COOP_CHAN_RECV && op->elem)
			M_CHECK(p->recvv[i] == (i == chosen && p->exp_status == 0 ? p->exp_val : M_RSENT),
			        "part %d op %d/%d: received %#" PRIx64 ", the model %#" PRIx64
			        " (chosen %d)", who, i, p->n, p->recvv[i],
			        i == chosen && p->exp_status == 0 ? p->exp_val : M_RSENT, chosen);
	}
}

/* A helper or the completer: makes its call, logs that it ran. */
static void *m_task(void *arg)
{
	struct m_part *p = arg;
	int64_t d = p == &M.part[M_CMP] ? COOP_NOWAIT : COOP_FOREVER;
	int rc;

	switch (p->kind) {
	case M_SEND:
		rc = coop_chan_send(p->ops[0].chan, p->ops[0].elem, d);
		break;
	case M_RECV:
		rc = coop_chan_recv(p->ops[0].chan, p->ops[0].elem, d);
		break;
	case M_CLOSE:
		rc = coop_chan_close(p->ops[0].chan);
		break;
	default:
		rc = coop_chan_select(p->ops, (size_t)p->n, d);
		break;
	}
	p->rc = rc;
	M.log[M.nlog++] = (int)(p - M.part);
	return NULL;
}

/* End of a step: every task the model ended runs (in its order) and is
 * checked; the blocked ones have not run. */
static void m_settle(void)
{
	int i;

	M_CHECK(coop_yield() == 0, "yield");
	M_CHECK(M.nlog == M.nexp, "%d tasks ran, the model ended %d", M.nlog, M.nexp);
	for (i = 0; i < M.nlog; i++) {
		M_CHECK(M.log[i] == M.explog[i], "run %d was part %d, the model says %d", i,
		        M.log[i], M.explog[i]);
		m_check(M.log[i]);
		M.part[M.log[i]].woken = false;
	}
	M.nlog = M.nexp = 0;
	for (i = 0; i < M_NHELP; i++)
		M_CHECK(!M.part[i].blocked || M.part[i].rc == 1, "blocked helper %d returned", i);
}

/* The (channel, op) pairs that cannot complete now: a waiting party's ops. */
static int m_waitable(int *k, int *op)
{
	int n = 0, c, o;

	for (c = 0; c < M_NCH; c++)
		for (o = COOP_CHAN_SEND; o <= COOP_CHAN_RECV; o++)
			if (!m_ready(c, o)) {
				k[n] = c;
				op[n++] = o;
			}
	return n;
}

/* A helper that blocks in a plain call or a select of 1-4 entries. */
static void m_spawn_helper(void)
{
	struct coop_task_opts o = {.size = sizeof(o)};
	int k[2 * M_NCH], op[2 * M_NCH], n, who, i, c, entries;
	char name[16];

	n = m_waitable(k, op);
	if (!n || M.nblocked >= M_NHELP)
		return;
	for (who = 0; M.part[who].blocked; who++)
		;
	if (m_pick(3)) {
		entries = 1 + m_pick(M_HOPS);
		m_reset_part(who, M_SELECT);
		for (i = 0; i < entries; i++) {
			c = m_pick(n);
			m_add(who, m_pick(6) ? k[c] : -1, op[c]);
		}
	} else {
		c = m_pick(n);
		m_reset_part(who, op[c] == COOP_CHAN_SEND ? M_SEND : M_RECV);
		m_add(who, k[c], op[c]);
	}
	m_block(who);
	snprintf(name, sizeof(name), "h%d", who);
	o.name = name;
	M_CHECK(coop_spawn(ctx, &M.part[who].task, m_task, &M.part[who], &o) == 0, "spawn");
	M_CHECK(coop_detach(M.part[who].task) == 0, "detach");
}

/* The driver's call that does not wait: a select of 0-10 entries over
 * any channels (closed ones too) and NULL, or a plain call. */
static void m_driver_call(void)
{
	struct m_part *p = &M.part[M_DRV];
	int n, i, kind = m_pick(8);
	int64_t d;

	if (kind >= 2) {
		m_reset_part(M_DRV, M_SELECT);
		n = m_pick(M_MAXOPS + 1);
		for (i = 0; i < n; i++)
			m_add(M_DRV, m_pick(8) ? m_pick(M_NCH) : -1,
			      m_pick(2) ? COOP_CHAN_SEND : COOP_CHAN_RECV);
		M.nselects++;
	} else {
		m_reset_part(M_DRV, kind ? M_SEND : M_RECV);
		m_add(M_DRV, m_pick(M_NCH), kind ? COOP_CHAN_SEND : COOP_CHAN_RECV);
	}
	m_run(M_DRV);
	/* Ready: any deadline (it must not wait); else one that passed. */
	if (p->exp_rc == -ETIMEDOUT)
		d = m_pick(2) ? COOP_NOWAIT : coop_now() - 1;
	else
		d = m_pick(2) ? COOP_NOWAIT : coop_deadline_in(20 * COOP_SEC);
	if (p->kind == M_SEND)
		p->rc = coop_chan_send(p->ops[0].chan, p->ops[0].elem, d);
	else if (p->kind == M_RECV)
		p->rc = coop_chan_recv(p->ops[0].chan, p->ops[0].elem, d);
	else
		p->rc = coop_chan_select(p->ops, (size_t)p->n, d);
	m_check(M_DRV);
}

/* The driver waits in a select (none of its ops ready) that a completer
 * task ends: the opposite op on a channel where the driver's record is
 * first in line (a plain call, or a select whose earlier ops cannot
 * complete), or a close of one of its channels. */
static void m_driver_waits(void)
{
	struct m_part *d = &M.part[M_DRV], *c = &M.part[M_CMP];
	int k[2 * M_NCH], op[2 * M_NCH], n, i, t, ntarget = 0, target[M_MAXOPS], how, cnt, j;

	n = m_waitable(k, op);
	if (!n)
		return;
	m_reset_part(M_DRV, M_SELECT);
	cnt = 1 + m_pick(M_MAXOPS);
	j = m_pick(cnt); /* not NULL: the completer needs a channel */
	for (i = 0; i < cnt; i++) {
		t = m_pick(n);
		m_add(M_DRV, i == j || m_pick(6) ? k[t] : -1, op[t]);
	}
	m_block(M_DRV);
	for (i = 0; i < d->n; i++) {
		const struct m_chan *ch = d->mch[i] >= 0 ? &M.ch[d->mch[i]] : NULL;

		if (ch && (d->ops[i].op == COOP_CHAN_SEND ? ch->sq[0].who : ch->rq[0].who) == M_DRV)
			target[ntarget++] = i;
	}
	how = m_pick(10);
	M.explog[M.nexp++] = M_CMP;
	if (how < 2 || !ntarget) {
		do
			i = m_pick(d->n);
		while (d->mch[i] < 0);
		m_reset_part(M_CMP, M_CLOSE);
		m_add(M_CMP, d->mch[i], COOP_CHAN_RECV);
		m_close(d->mch[i]);
		c->exp_rc = 0;
	} else {
		int tk, top;

		i = target[m_pick(ntarget)];
		tk = d->mch[i];
		top = d->ops[i].op == COOP_CHAN_SEND ? COOP_CHAN_RECV : COOP_CHAN_SEND;
		if (how < 6) {
			m_reset_part(M_CMP, top == COOP_CHAN_SEND ? M_SEND : M_RECV);
		} else {
			int left, kk, oo;

			m_reset_part(M_CMP, M_SELECT);
			for (left = m_pick(4); left > 0; left--) {
				kk = m_pick(8) ? m_pick(M_NCH) : -1;
				oo = m_pick(2) ? COOP_CHAN_SEND : COOP_CHAN_RECV;
				if (kk < 0 || !m_ready(kk, oo))
					m_add(M_CMP, kk, oo);
			}
		}
		m_add(M_CMP, tk, top);
		m_run(M_CMP);
	}
	M_CHECK(!d->blocked, "the completer does not end the driver's wait");
	M_CHECK(coop_spawn(ctx, NULL, m_task, c, NULL) == 0, "spawn");
	d->rc = coop_chan_select(d->ops, (size_t)d->n, coop_deadline_in(20 * COOP_SEC));
	M.log[M.nlog++] = M_DRV;
	M.nselects++;
}

/* Cancel a blocked helper: no effect on any channel. */
static void m_cancel_helper(void)
{
	int who;

	if (!M.nblocked)
		return;
	do
		who = m_pick(M_NHELP);
	while (!M.part[who].blocked);
	M_CHECK(coop_cancel(M.part[who].task) == 0, "cancel");
	m_end(who, -ECANCELED, 0, 0);
}

static void m_create(int k)
{
	struct m_chan *c = &M.ch[k];

	memset(c, 0, sizeof(*c));
	c->cap = m_caps[k];
	M_CHECK(coop_chan_create(ctx, &c->ch, sizeof(uint64_t), c->cap) == 0, "create");
}

/* Close an open channel (now and then twice), or replace a closed one. */
static void m_close_or_replace(bool replace)
{
	int k = m_pick(M_NCH), i;

	if (replace) {
		/* A closed channel is always ready: replaced soon, or most
		 * selects would end on it. */
		for (i = 0; i < M_NCH && !M.ch[k].closed; i++)
			k = (k + 1) % M_NCH;
		if (!M.ch[k].closed)
			return;
		M_CHECK(M.ch[k].nsq == 0 && M.ch[k].nrq == 0, "waiters on a closed channel");
		M_CHECK(coop_chan_destroy(M.ch[k].ch) == 0, "destroy");
		m_create(k);
		return;
	}
	if (M.ch[k].closed)
		return;
	M_CHECK(coop_chan_close(M.ch[k].ch) == 0, "close");
	m_close(k);
	if (!m_pick(4))
		M_CHECK(coop_chan_close(M.ch[k].ch) == -EPIPE, "second close");
}

/* Drain every channel with deadline-0 receives, as the model says, then
 * compare the blocked tasks with the model's. */
static void m_drain(void)
{
	static struct coop_task_info info[M_NPART + 8];
	struct m_part *p = &M.part[M_DRV];
	int k, i, n, blocked = 0;

	for (k = 0; k < M_NCH; k++) {
		do {
			m_reset_part(M_DRV, M_RECV);
			m_add(M_DRV, k, COOP_CHAN_RECV);
			p->ops[0].elem = &p->recvv[0];
			m_run(M_DRV);
			p->rc = coop_chan_recv(M.ch[k].ch, &p->recvv[0], COOP_NOWAIT);
			m_check(M_DRV);
		} while (p->rc == 0);
		M_CHECK(M.ch[k].count == 0 && M.ch[k].nsq == 0, "channel %d not drained", k);
	}
	m_settle();
	for (i = 0; i < M_NPART + 8; i++)
		info[i].size = sizeof(info[i]);
	n = coop_context_tasks(ctx, info, M_NPART + 8);
	M_CHECK(n >= 1 && n <= M_NPART + 8, "%d tasks", n);
	for (i = 0; i < n; i++) {
		int who;

		if (info[i].state != COOP_TASK_BLOCKED)
			continue;
		blocked++;
		M_CHECK(sscanf(info[i].name, "h%d", &who) == 1 && who >= 0 && who < M_NHELP &&
		                M.part[who].blocked,
		        "blocked task \"%s\" is no blocked helper", info[i].name);
		if (M.part[who].kind == M_SELECT) {
			M_CHECK(info[i].wait == COOP_WAIT_SELECT && !info[i].wait_object,
			        "helper %d waits in %d", who, info[i].wait);
		} else {
			M_CHECK(info[i].wait == COOP_WAIT_CHAN &&
			                info[i].wait_object == M.ch[M.part[who].mch[0]].ch,
			        "helper %d waits in %d", who, info[i].wait);
		}
	}
	M_CHECK(blocked == M.nblocked, "%d tasks blocked, the model has %d", blocked, M.nblocked);
}

static void *m_driver(void *arg)
{
	long target = *(long *)arg;
	int r, k;

	for (k = 0; k < M_NCH; k++)
		m_create(k);
	while (M.nselects < target) {
		M.step++;
		r = m_pick(100);
		if (r < 70)
			m_driver_call();
		else if (r < 82)
			m_spawn_helper();
		else if (r < 90)
			m_driver_waits();
		else if (r < 93)
			m_cancel_helper();
		else if (r < 94)
			m_close_or_replace(false);
		else
			m_close_or_replace(true);
		m_settle();
		if (M.step % 1000 == 0)
			m_drain();
	}
	/* The end: every channel closed (the blocked helpers end with
	 * -EPIPE; those in a select of NULL channels only, cancelled),
	 * drained, destroyed. */
	for (k = 0; k < M_NCH; k++) {
		if (!M.ch[k].closed) {
			M_CHECK(coop_chan_close(M.ch[k].ch) == 0, "close");
			m_close(k);
		}
	}
	while (M.nblocked)
		m_cancel_helper();
	m_settle();
	m_drain();
	M_CHECK(M.nblocked == 0, "%d helpers left", M.nblocked);
	for (k = 0; k < M_NCH; k++)
		M_CHECK(coop_chan_destroy(M.ch[k].ch) == 0, "destroy");
	return NULL;
}

/* T-SEL-2: random mixed selects against the model; only the chosen op
 * has an effect. */
START_TEST(t_sel_2_model)
{
	const char *e = getenv("COOP_TEST_SEED");
	long target = test_slow_run() ? 10000 : 100000;

	memset(&M, 0, sizeof(M));
	M.seed = e && *e ? strtoull(e, NULL, 0) : 0x13c0a5e1ull;
	M.rng = M.seed;
	spawn_detached("driver", m_driver, &target);
	run_all();
	ck_assert_int_ge(M.nselects, target);
}
END_TEST

/* -------------------------------------------------------------- order -- */

/* Messages of one sender arrive in its send order, with two senders
 * interleaving through a small buffer and everyone yielding now and then. */
#define STREAM_N 2000
static struct coop_chan *stream_ch;
static long stream_bad;

static void *stream_sender(void *arg)
{
	int id = (int)(intptr_t)arg, i, v;

	for (i = 0; i < STREAM_N; i++) {
		v = id * 100000 + i;
		if (coop_chan_send(stream_ch, &v, COOP_FOREVER) != 0)
			stream_bad++;
		if ((i + id) % 3 == 0)
			coop_yield();
	}
	return NULL;
}

static void *stream_receiver(void *arg)
{
	int next[2] = {0, 0}, i, v, id;

	(void)arg;
	for (i = 0; i < 2 * STREAM_N; i++) {
		if (coop_chan_recv(stream_ch, &v, COOP_FOREVER) != 0) {
			stream_bad++;
			continue;
		}
		id = v / 100000;
		if (id < 1 || id > 2 || v % 100000 != next[id - 1]++)
			stream_bad++;
		if (i % 7 == 0)
			coop_yield();
	}
	return NULL;
}

/* Blocked senders complete, and blocked receivers are served, in the
 * order they blocked (not the order they were spawned in). */
static void *blocked_order_main(void *arg)
{
	static const int send_kinds[4] = {W_SEND, W_SEND, W_SEND, W_SEND};
	static const int recv_kinds[4] = {W_RECV, W_RECV, W_SELECT, W_RECV};
	static const int delays[4] = {2, 0, 3, 1};
	/* Blocked in the order of their delays: w1, w3, w0, w2. */
	static const int want[4] = {1, 3, 0, 2};
	struct coop_chan *ch, *full, *other;
	int i, v;

	(void)arg;
	ch = mkchan(sizeof(int), 0);
	nrunlog = 0;
	spawn_waiters(ch, NULL, 4, send_kinds, delays);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(recv_now(ch), 100 + want[i]);
	ck_assert_int_eq(coop_yield(), 0);
	check_runlog(want, 4, "blocked senders");

	/* Through a full buffer: the buffer's element first, then theirs. */
	full = mkchan(sizeof(int), 1);
	v = 99;
	ck_assert_int_eq(coop_chan_send(full, &v, COOP_NOWAIT), 0);
	nrunlog = 0;
	spawn_waiters(full, NULL, 4, send_kinds, delays);
	ck_assert_int_eq(recv_now(full), 99);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(recv_now(full), 100 + want[i]);
	ck_assert_int_eq(coop_yield(), 0);
	check_runlog(want, 4, "blocked senders of a buffered channel");

	/* Receivers (one of them in a select). */
	other = mkchan(sizeof(int), 0);
	nrunlog = 0;
	spawn_waiters(ch, other, 4, recv_kinds, delays);
	for (i = 0; i < 4; i++) {
		v = 200 + i;
		ck_assert_int_eq(coop_chan_send(ch, &v, COOP_NOWAIT), 0);
	}
	ck_assert_int_eq(coop_yield(), 0);
	check_runlog(want, 4, "blocked receivers");
	for (i = 0; i < 4; i++) {
		int pos;

		for (pos = 0; want[pos] != i; pos++)
			;
		ck_assert_int_eq(ws[i].value, 200 + pos);
		ck_assert_int_eq(ws[i].rc, ws[i].kind == W_SELECT ? 1 : 0);
	}
	ck_assert_int_eq(coop_chan_destroy(ch), 0);
	ck_assert_int_eq(coop_chan_destroy(full), 0);
	ck_assert_int_eq(coop_chan_destroy(other), 0);
	return NULL;
}

/* R6: a task a send, a receive or a close wakes runs after the tasks that
 * were already runnable; the waker keeps running. */
static void *r6_logger(void *arg)
{
	logrun((int)(intptr_t)arg);
	return NULL;
}

static void *r6_main(void *arg)
{
	static const int kinds[3] = {W_RECV, W_SEND, W_RECV};
	static const int delays[1] = {0};
	/* Woken w0 (id 0) logs after the runnable 7 and 8. */
	static const int want[4] = {9, 7, 8, 0};
	struct coop_chan *ch;
	int how, v;

	(void)arg;
	for (how = 0; how < 3; how++) {
		ch = mkchan(sizeof(int), 0);
		nrunlog = 0;
		spawn_waiters(ch, NULL, 1, &kinds[how], delays);
		spawn_detached("r7", r6_logger, (void *)(intptr_t)7);
		spawn_detached("r8", r6_logger, (void *)(intptr_t)8);
		v = 5;
		if (how == 0)
			ck_assert_int_eq(coop_chan_send(ch, &v, COOP_FOREVER), 0);
		else if (how == 1)
			ck_assert_int_eq(recv_now(ch), 100);
		else
			ck_assert_int_eq(coop_chan_close(ch), 0);
		logrun(9);
		ck_assert_int_eq(coop_yield(), 0);
		check_runlog(want, 4, "R6");
		ck_assert_int_eq(coop_chan_destroy(ch), 0);
	}
	return NULL;
}

/* §4.5's ordering guarantees and R6. */
START_TEST(t_ch_order)
{
	stream_ch = mkchan(sizeof(int), 3);
	stream_bad = 0;
	spawn_detached("s1", stream_sender, (void *)(intptr_t)1);
	spawn_detached("receiver", stream_receiver, NULL);
	spawn_detached("s2", stream_sender, (void *)(intptr_t)2);
	run_all();
	ck_assert_int_eq(stream_bad, 0);
	ck_assert_int_eq(coop_chan_destroy(stream_ch), 0);

	spawn_detached("main", blocked_order_main, NULL);
	run_all();
	spawn_detached("main", r6_main, NULL);
	run_all();
}
END_TEST

/* ------------------------------------------------------------- errors -- */

static struct coop_context *ctx2;
static struct coop_chan *x_other;  /* a channel of ctx2 */
static struct coop_chan *x_orphan; /* of a context destroyed since */

/* Calls on a channel that another context owns, or none any more: -EXDEV,
 * after -EINVAL. */
static void foreign_calls(struct coop_chan *f, struct coop_chan *own)
{
	struct coop_chan_op ops[2];
	int v = 1;

	ck_assert_int_eq(E(coop_chan_send(f, &v, COOP_NOWAIT)), -EXDEV);
	ck_assert_int_eq(E(coop_chan_send(f, &v, -2)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_send(f, NULL, COOP_NOWAIT)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_recv(f, &v, COOP_FOREVER)), -EXDEV);
	ck_assert_int_eq(E(coop_chan_recv(f, &v, -2)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_close(f)), -EXDEV);
	ops[0] = op_of(own, COOP_CHAN_RECV, &v);
	ops[1] = op_of(f, COOP_CHAN_SEND, &v);
	ck_assert_int_eq(E(coop_chan_select(ops, 2, COOP_NOWAIT)), -EXDEV);
	ops[1].op = 0;
	ck_assert_int_eq(E(coop_chan_select(ops, 2, COOP_NOWAIT)), -EINVAL);
	ck_assert_int_eq(ops[0].status, STATUS_SENTINEL);
	ck_assert_int_eq(ops[1].status, STATUS_SENTINEL);
}

static struct coop_chan *xc_ch;
static int xc_rc = 1;

static void *cancelled_task(void *arg)
{
	struct coop_chan_op ops[1];
	int v = 3;

	(void)arg;
	/* Argument errors come first, then -EXDEV, then the cancellation,
	 * even on a ready channel; close is no cancellation point. */
	ck_assert_int_eq(E(coop_chan_send(NULL, &v, COOP_NOWAIT)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_send(x_other, &v, COOP_NOWAIT)), -EXDEV);
	ck_assert_int_eq(E(coop_chan_send(x_orphan, &v, COOP_NOWAIT)), -EXDEV);
	ck_assert_int_eq(E(coop_chan_send(xc_ch, &v, COOP_NOWAIT)), -ECANCELED);
	ck_assert_int_eq(E(coop_chan_recv(xc_ch, &v, COOP_FOREVER)), -ECANCELED);
	ops[0] = op_of(xc_ch, COOP_CHAN_RECV, &v);
	ck_assert_int_eq(E(coop_chan_select(ops, 1, COOP_NOWAIT)), -ECANCELED);
	ck_assert_int_eq(E(coop_chan_select(NULL, 0, COOP_FOREVER)), -ECANCELED);
	ops[0].op = 3;
	ck_assert_int_eq(E(coop_chan_select(ops, 1, COOP_NOWAIT)), -EINVAL);
	ck_assert_int_eq(ops[0].status, STATUS_SENTINEL);
	ck_assert_int_eq(v, 3);
	ck_assert_int_eq(E(coop_chan_create(NULL, &xc_ch, 1, 1)), 0);
	ck_assert_int_eq(E(coop_chan_close(xc_ch)), 0);
	ck_assert_int_eq(E(coop_chan_destroy(xc_ch)), 0);
	return NULL;
}

static void *waiting_cancelled(void *arg)
{
	int v = VALUE_SENTINEL;

	xc_rc = E(arg ? coop_chan_send(xc_ch, &v, COOP_FOREVER) : coop_chan_recv(xc_ch, &v, COOP_FOREVER));
	ck_assert_int_eq(v, VALUE_SENTINEL);
	return NULL;
}

static void *errors_main(void *arg)
{
	struct coop_chan *ch = mkchan(sizeof(int), 1), *closed = mkchan(sizeof(int), 1), *nc;
	struct coop_task *t;
	int v = 1, how;

	(void)arg;
	/* create: -EINVAL (no out; capacity * elem_size overflows) before
	 * -EPERM; ctx NULL in a task is its context. */
	ck_assert_int_eq(E(coop_chan_create(ctx, NULL, 4, 1)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_create(ctx, &nc, SIZE_MAX / 2 + 1, 2)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_create(NULL, &nc, 2, SIZE_MAX / 2 + 1)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_create(ctx, &nc, SIZE_MAX, SIZE_MAX)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_create(NULL, &nc, sizeof(int), 1)), 0);
	ck_assert_int_eq(E(coop_chan_send(nc, &v, COOP_NOWAIT)), 0);
	ck_assert_int_eq(recv_now(nc), 1);
	ck_assert_int_eq(E(coop_chan_destroy(nc)), 0);
	/* -ENOMEM: a buffer no allocator gives (not under ASan, whose
	 * allocator reports the size instead of failing). */
	if (!TEST_ASAN) {
		size_t huge = sizeof(size_t) > 4 ? (size_t)1 << 46 : SIZE_MAX - 4096;

		ck_assert_int_eq(E(coop_chan_create(ctx, &nc, 1, huge)), -ENOMEM);
	}

	/* send and recv: -EINVAL, -EPIPE, -ETIMEDOUT (-EAGAIN: T-CH-7). */
	ck_assert_int_eq(E(coop_chan_send(NULL, &v, COOP_NOWAIT)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_send(ch, &v, -2)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_send(ch, &v, INT64_MIN)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_send(ch, NULL, COOP_NOWAIT)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_recv(NULL, &v, COOP_NOWAIT)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_recv(ch, &v, -2)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_close(NULL)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_destroy(NULL)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_send(ch, &v, COOP_NOWAIT)), 0);
	ck_assert_int_eq(E(coop_chan_send(ch, &v, COOP_NOWAIT)), -ETIMEDOUT);
	ck_assert_int_eq(E(coop_chan_recv(ch, NULL, COOP_NOWAIT)), 0); /* dropped */
	ck_assert_int_eq(E(coop_chan_recv(ch, &v, COOP_NOWAIT)), -ETIMEDOUT);
	ck_assert_int_eq(E(coop_chan_close(closed)), 0);
	ck_assert_int_eq(E(coop_chan_close(closed)), -EPIPE);
	ck_assert_int_eq(E(coop_chan_send(closed, &v, COOP_NOWAIT)), -EPIPE);
	ck_assert_int_eq(E(coop_chan_recv(closed, &v, COOP_NOWAIT)), -EPIPE);
	/* -EXDEV: another context's channel, a destroyed context's. */
	foreign_calls(x_other, ch);
	foreign_calls(x_orphan, ch);

	/* -ECANCELED at entry (a task cancelled before it ran) ... */
	xc_ch = ch;
	ck_assert_int_eq(E(coop_chan_send(ch, &v, COOP_NOWAIT)), 0);
	t = spawn_named("cancelled", cancelled_task, NULL);
	ck_assert_int_eq(coop_cancel(t), 0);
	ck_assert_int_eq(coop_join(t, NULL), 0);
	ck_assert_int_eq(recv_now(ch), 1); /* untouched */
	/* ... and while waiting in a send or a receive: nothing sent or
	 * consumed, the channel usable. */
	for (how = 0; how < 2; how++) {
		xc_ch = mkchan(sizeof(int), 0);
		xc_rc = 1;
		t = spawn_named("waiter", waiting_cancelled, how ? (void *)1 : NULL);
		yield_until_blocked("waiter");
		ck_assert_int_eq(coop_cancel(t), 0);
		ck_assert_int_eq(E(coop_chan_send(xc_ch, &v, COOP_NOWAIT)), -ETIMEDOUT);
		ck_assert_int_eq(E(coop_chan_recv(xc_ch, &v, COOP_NOWAIT)), -ETIMEDOUT);
		ck_assert_int_eq(coop_join(t, NULL), 0);
		ck_assert_int_eq(xc_rc, -ECANCELED);
		ck_assert_int_eq(E(coop_chan_destroy(xc_ch)), 0);
	}
	ck_assert_int_eq(E(coop_chan_destroy(ch)), 0);
	ck_assert_int_eq(E(coop_chan_destroy(closed)), 0);
	return NULL;
}

/* Appendix B's rows for the channel calls, each error once, in A7.1's
 * order of precedence; errno left alone by every call (T-X-7). */
START_TEST(t_ch_error_matrix)
{
	struct coop_context *ctx3;
	struct coop_chan *mine = mkchan(sizeof(int), 1), *c;
	struct coop_chan_op ops[2];
	int v = 1;

	errno_bad = 0;
	ck_assert_int_eq(coop_context_create(&ctx2, NULL), 0);
	ck_assert_int_eq(coop_context_create(&ctx3, NULL), 0);
	ck_assert_int_eq(E(coop_chan_create(ctx2, &x_other, sizeof(int), 1)), 0);
	ck_assert_int_eq(E(coop_chan_create(ctx3, &x_orphan, sizeof(int), 1)), 0);
	ck_assert_int_eq(E(coop_chan_send(x_orphan, &v, COOP_NOWAIT)), 0);
	coop_context_destroy(ctx3);
	/* Outside any task and context: ctx NULL is -EPERM, after -EINVAL. */
	ck_assert_int_eq(E(coop_chan_create(NULL, &c, sizeof(int), 1)), -EPERM);
	ck_assert_int_eq(E(coop_chan_create(NULL, NULL, sizeof(int), 1)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_create(NULL, &c, SIZE_MAX, 2)), -EINVAL);
	/* Outside a task, a channel of any context that is not running
	 * works, an orphan does not, nor a select over two contexts. */
	ck_assert_int_eq(E(coop_chan_send(x_other, &v, COOP_NOWAIT)), 0);
	ck_assert_int_eq(E(coop_chan_recv(x_other, &v, COOP_NOWAIT)), 0);
	ck_assert_int_eq(E(coop_chan_send(x_orphan, &v, COOP_NOWAIT)), -EXDEV);
	ck_assert_int_eq(E(coop_chan_recv(x_orphan, &v, COOP_NOWAIT)), -EXDEV);
	ck_assert_int_eq(E(coop_chan_close(x_orphan)), -EXDEV);
	ops[0] = op_of(mine, COOP_CHAN_SEND, &v);
	ops[1] = op_of(x_other, COOP_CHAN_SEND, &v);
	ck_assert_int_eq(E(coop_chan_select(ops, 2, COOP_NOWAIT)), -EXDEV);
	ops[1].chan = x_orphan;
	ck_assert_int_eq(E(coop_chan_select(ops, 2, COOP_NOWAIT)), -EXDEV);
	ops[1].chan = mine;
	ck_assert_int_eq(E(coop_chan_select(ops, 2, COOP_NOWAIT)), 0);
	ck_assert_int_eq(ops[0].status, 0);
	ck_assert_int_eq(E(coop_chan_recv(mine, &v, COOP_NOWAIT)), 0);

	spawn_detached("main", errors_main, NULL);
	run_all();
	/* The orphan can only be destroyed, whatever it holds. */
	ck_assert_int_eq(E(coop_chan_destroy(x_orphan)), 0);
	ck_assert_int_eq(E(coop_chan_destroy(x_other)), 0);
	ck_assert_int_eq(E(coop_chan_destroy(mine)), 0);
	coop_context_destroy(ctx2);
	ck_assert_int_eq(errno_bad, 0);
}
END_TEST

/* Select's entry validation: every -EINVAL case, before -EXDEV, with no
 * effect (a ready entry 0 is not done) and no entry written. */
static void *selval_main(void *arg)
{
	struct coop_chan *ch = mkchan(sizeof(int), 1), *sig = mkchan(0, 1);
	struct coop_chan_op ops[3];
	int v = 8, r = VALUE_SENTINEL, i;

	(void)arg;
	errno_bad = 0;
	ck_assert_int_eq(coop_chan_send(ch, &v, COOP_NOWAIT), 0);
#define RESET_OPS()                                           \
	do {                                                  \
		ops[0] = op_of(ch, COOP_CHAN_RECV, &r);       \
		ops[1] = op_of(sig, COOP_CHAN_SEND, NULL);    \
		ops[2] = op_of(NULL, COOP_CHAN_SEND, NULL);   \
	} while (0)
	RESET_OPS();
	ck_assert_int_eq(E(coop_chan_select(NULL, 1, COOP_NOWAIT)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_select(ops, (size_t)INT_MAX + 1, COOP_NOWAIT)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_select(ops, SIZE_MAX, COOP_NOWAIT)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_select(ops, 3, -2)), -EINVAL);
	ck_assert_int_eq(E(coop_chan_select(NULL, 0, -2)), -EINVAL);
	ops[0].size = sizeof(struct coop_chan_op) - 1;
	ck_assert_int_eq(E(coop_chan_select(ops, 3, COOP_NOWAIT)), -EINVAL);
	ops[0].size = 0;
	ck_assert_int_eq(E(coop_chan_select(ops, 3, COOP_NOWAIT)), -EINVAL);
	RESET_OPS();
	ops[2].size = sizeof(struct coop_chan_op) + 8;
	ck_assert_int_eq(E(coop_chan_select(ops, 3, COOP_NOWAIT)), -EINVAL);
	for (i = -1; i <= 4; i++) {
		if (i == COOP_CHAN_SEND || i == COOP_CHAN_RECV)
			continue;
		RESET_OPS();
		ops[1].op = i;
		ck_assert_int_eq(E(coop_chan_select(ops, 3, COOP_NOWAIT)), -EINVAL);
		RESET_OPS();
		ops[2].op = i; /* on a NULL channel too */
		ck_assert_int_eq(E(coop_chan_select(ops, 3, COOP_NOWAIT)), -EINVAL);
	}
	RESET_OPS();
	ops[1] = op_of(ch, COOP_CHAN_SEND, NULL); /* elem_size 4 */
	ck_assert_int_eq(E(coop_chan_select(ops, 3, COOP_NOWAIT)), -EINVAL);
	/* -EINVAL in a later entry wins over -EXDEV in an earlier one. */
	RESET_OPS();
	ops[0].chan = x_other;
	ops[2].op = 0;
	ck_assert_int_eq(E(coop_chan_select(ops, 3, COOP_NOWAIT)), -EINVAL);
	ops[2].op = COOP_CHAN_SEND;
	ck_assert_int_eq(E(coop_chan_select(ops, 3, COOP_NOWAIT)), -EXDEV);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(ops[i].status, STATUS_SENTINEL);
	ck_assert_int_eq(r, VALUE_SENTINEL);
	/* All of it valid: NULL elems where allowed; entry 0 is ready. */
	RESET_OPS();
	ck_assert_int_eq(E(coop_chan_select(ops, 3, COOP_NOWAIT)), 0);
	ck_assert_int_eq(r, 8);
	ck_assert_int_eq(E(coop_chan_select(ops, 3, COOP_NOWAIT)), 1);
	ck_assert_int_eq(E(coop_chan_select(NULL, 0, COOP_NOWAIT)), -ETIMEDOUT);
	ck_assert_int_eq(errno_bad, 0);
#undef RESET_OPS
	ck_assert_int_eq(coop_chan_destroy(ch), 0);
	ck_assert_int_eq(coop_chan_destroy(sig), 0);
	return NULL;
}

START_TEST(t_sel_validation)
{
	ck_assert_int_eq(coop_context_create(&ctx2, NULL), 0);
	ck_assert_int_eq(coop_chan_create(ctx2, &x_other, sizeof(int), 1), 0);
	spawn_detached("main", selval_main, NULL);
	run_all();
	ck_assert_int_eq(coop_chan_destroy(x_other), 0);
	coop_context_destroy(ctx2);
}
END_TEST

/* Entries of a later version's larger struct: select steps by ops[0].size,
 * never touching the bytes past ours. */
struct wide_op {
	struct coop_chan_op op;
	uint64_t extra[3];
};
#define WIDE_N 12
#define WIDE_FILL 0xa5a5a5a5a5a5a5a5ull
static struct wide_op wide[WIDE_N];
static struct coop_chan *wide_ch[WIDE_N];
static int wide_r[WIDE_N], wide_rc;

static void wide_prepare(int n)
{
	int i;

	for (i = 0; i < n; i++) {
		wide_r[i] = VALUE_SENTINEL;
		wide[i].op = op_of(wide_ch[i], COOP_CHAN_RECV, &wide_r[i]);
		wide[i].op.size = sizeof(struct wide_op);
		wide[i].extra[0] = wide[i].extra[1] = wide[i].extra[2] = WIDE_FILL;
	}
}

static void wide_check(int n, int chosen, int value)
{
	int i;

	for (i = 0; i < n; i++) {
		ck_assert(wide[i].extra[0] == WIDE_FILL && wide[i].extra[1] == WIDE_FILL &&
		          wide[i].extra[2] == WIDE_FILL);
		ck_assert_int_eq(wide[i].op.status, i == chosen ? 0 : STATUS_SENTINEL);
		ck_assert_int_eq(wide_r[i], i == chosen ? value : VALUE_SENTINEL);
		ck_assert_uint_eq(wide[i].op.size, sizeof(struct wide_op));
	}
}

static void *wide_selector(void *arg)
{
	wide_rc = coop_chan_select(&wide[0].op, (size_t)(intptr_t)arg, COOP_FOREVER);
	return NULL;
}

static void *wide_main(void *arg)
{
	int i, n, v;

	(void)arg;
	for (i = 0; i < WIDE_N; i++)
		wide_ch[i] = mkchan(sizeof(int), i == 2 ? 1 : 0);
	/* Ready at once. */
	v = 12;
	ck_assert_int_eq(coop_chan_send(wide_ch[2], &v, COOP_NOWAIT), 0);
	wide_prepare(3);
	ck_assert_int_eq(coop_chan_select(&wide[0].op, 3, COOP_NOWAIT), 2);
	wide_check(3, 2, 12);
	/* Waiting, on the stack's records (3) and on the context's (12). */
	for (n = 3; n <= WIDE_N; n += WIDE_N - 3) {
		wide_prepare(n);
		spawn_detached("wide", wide_selector, (void *)(intptr_t)n);
		yield_until_blocked("wide");
		v = 40 + n;
		ck_assert_int_eq(coop_chan_send(wide_ch[n - 2], &v, COOP_NOWAIT), 0);
		ck_assert_int_eq(coop_yield(), 0);
		ck_assert_int_eq(wide_rc, n - 2);
		wide_check(n, n - 2, 40 + n);
	}
	/* One entry of another size. */
	wide_prepare(3);
	wide[1].op.size = sizeof(struct coop_chan_op);
	ck_assert_int_eq(coop_chan_select(&wide[0].op, 3, COOP_NOWAIT), -EINVAL);
	for (i = 0; i < WIDE_N; i++)
		ck_assert_int_eq(coop_chan_destroy(wide_ch[i]), 0);
	return NULL;
}

START_TEST(t_sel_wide_entries)
{
	spawn_detached("main", wide_main, NULL);
	run_all();
}
END_TEST

/* ------------------------------------------------------------- budget -- */

/* R7: calls on channels that complete without waiting (0, -EPIPE, or
 * -ETIMEDOUT at a passed deadline) spend the budget: the 128th in a row
 * yields, so a task looping on an always-ready channel cannot starve the
 * others. */
enum { R_SENDRECV, R_SELECT, R_EPIPE, R_TIMEDOUT, R_KINDS };
static struct budget_run r7_run;
static struct coop_chan *r7_ch, *r7_closed, *r7_full, *r7_empty;

static int r7_call(int kind, int i)
{
	struct coop_chan_op ops[2];
	int v = i, r = -1;

	switch (kind) {
	case R_SENDRECV:
		if (i % 2)
			return coop_chan_send(r7_ch, &v, COOP_FOREVER) == 0;
		return coop_chan_recv(r7_ch, &r, COOP_FOREVER) == 0 && r == i - 1;
	case R_SELECT:
		/* Capacity 1: the send when empty, else the receive. */
		ops[0] = op_of(r7_ch, COOP_CHAN_SEND, &v);
		ops[1] = op_of(r7_ch, COOP_CHAN_RECV, &r);
		if (i % 2)
			return coop_chan_select(ops, 2, COOP_FOREVER) == 0;
		return coop_chan_select(ops, 2, COOP_FOREVER) == 1 && r == i - 1;
	case R_EPIPE:
		if (i % 2)
			return coop_chan_send(r7_closed, &v, COOP_FOREVER) == -EPIPE;
		return coop_chan_recv(r7_closed, &r, COOP_FOREVER) == -EPIPE;
	default:
		return coop_chan_send(r7_full, &v, COOP_NOWAIT) == -ETIMEDOUT;
	}
}

/* A wait refills the budget (the ticker runs meanwhile); one whose
 * deadline passed before it began did not wait: tried again, longer. */
static void r7_refill(void)
{
	long before;
	int tries = 0;

	do {
		before = ticks;
		ck_assert_int_eq(coop_chan_recv(r7_empty, NULL, coop_deadline_in((5 << tries) * COOP_MSEC)),
		                 -ETIMEDOUT);
	} while (ticks == before && ++tries < 8);
	ck_assert_int_gt(ticks, before);
}

static void *r7_task(void *arg)
{
	budget_phase(&r7_run, (int)(intptr_t)arg, r7_refill);
	return NULL;
}

START_TEST(t_ch_budget)
{
	char what[32];
	int kind, phase, v = 0;

	for (kind = 0; kind < R_KINDS; kind++) {
		for (phase = 0; phase < 3; phase++) {
			r7_ch = mkchan(sizeof(int), 1);
			r7_closed = mkchan(sizeof(int), 1);
			r7_full = mkchan(sizeof(int), 1);
			r7_empty = mkchan(0, 0);
			ck_assert_int_eq(coop_chan_close(r7_closed), 0);
			ck_assert_int_eq(coop_chan_send(r7_full, &v, COOP_NOWAIT), 0);
			r7_run = (struct budget_run){.call = r7_call, .kind = kind};
			spawn_detached("calls", r7_task, (void *)(intptr_t)phase);
			start_ticker();
			run_all();
			snprintf(what, sizeof(what), "kind %d", kind);
			budget_check(&r7_run, phase, what);
			ck_assert_int_eq(coop_chan_destroy(r7_ch), 0);
			ck_assert_int_eq(coop_chan_destroy(r7_closed), 0);
			ck_assert_int_eq(coop_chan_destroy(r7_full), 0);
			ck_assert_int_eq(coop_chan_destroy(r7_empty), 0);
		}
	}
}
END_TEST

/* -------------------------------------------------------------- suite -- */

static Suite *chan_suite(void)
{
	Suite *s = suite_create("chan");
	TCase *tc;

	tc = test_tcase(s, "chan");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_ch_1_ping_pong);
	tcase_add_test(tc, t_ch_2_capacity_and_fifo);
	tcase_add_test(tc, t_ch_3_close);
	tcase_add_test(tc, t_ch_4_destroy);
	tcase_add_test(tc, t_ch_5_zero_size);
	tcase_add_test(tc, t_ch_6_nowait_no_switch);
	tcase_add_test(tc, t_ch_7_outside_task);
	tcase_add_test(tc, t_ch_order);

	tc = test_tcase(s, "select");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_sel_1_first_ready_wins);
	tcase_add_test(tc, t_sel_2_model);
	tcase_add_test(tc, t_sel_3_deadline);
	tcase_add_test(tc, t_sel_4_cancel);
	tcase_add_test(tc, t_sel_5_null_channels);
	tcase_add_test(tc, t_sel_6_closed);
	tcase_add_test(tc, t_sel_7_twenty_ops);
	tcase_add_test(tc, t_sel_8_no_self_match);
	tcase_add_test(tc, t_sel_validation);
	tcase_add_test(tc, t_sel_wide_entries);

	tc = test_tcase(s, "errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_ch_error_matrix);
	tcase_add_test(tc, t_ch_budget);
	return s;
}

int main(void)
{
	return test_run(chan_suite());
}
