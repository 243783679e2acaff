/*
 * test-faults.c: failures the public API cannot provoke on demand (white
 * box, linked with the library's internals).
 *
 * T-SEL-7's allocation half (§4.5): a select over more than 8 channels
 * that must wait takes its wait records from the context, which may have
 * to allocate them; coop__selblock_fail (src/coop-private.h) makes that
 * allocation fail.  The select then returns -ENOMEM with no effect on any
 * channel or entry, and only then: not when an op is ready at once, not
 * with 8 ops or fewer (the records are on the stack), not when a free
 * block of the context's is large enough (records are reused), not before
 * a pending cancellation, not outside a task (-EAGAIN) and not with a
 * deadline that has passed (R1: it does not wait, -ETIMEDOUT).  Once the
 * switch is cleared, the same select works.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "coop-private.h"
#include "test-common.h"

static struct coop_context *ctx;

static void setup(void)
{
	coop__selblock_fail = false;
	test_context_create(&ctx);
}

static void teardown(void)
{
	test_context_destroy(&ctx);
	coop__selblock_fail = false;
}

#define STATUS_SENTINEL 0x5a5a
#define VALUE_SENTINEL (-777)
#define NCH 40

/* A select over the first n of NCH unbuffered channels: even entries
 * receive, odd ones send (base + index). */
struct sel {
	struct coop_chan_op ops[NCH];
	int r[NCH], s[NCH];
	int base;
	int rc;
};

static struct coop_chan *ch[NCH];

static void sel_prepare(struct sel *x, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		x->r[i] = VALUE_SENTINEL;
		x->s[i] = x->base + i;
		x->ops[i] = (struct coop_chan_op){
			.size = sizeof(struct coop_chan_op),
			.chan = ch[i],
			.elem = i % 2 ? (void *)&x->s[i] : (void *)&x->r[i],
			.op = i % 2 ? COOP_CHAN_SEND : COOP_CHAN_RECV,
			.status = STATUS_SENTINEL,
		};
	}
}

/* Entry `chosen` (-1: none) has status 0 and, for a receive, `value`;
 * no other entry was written. */
static void sel_check(const struct sel *x, int n, int chosen, int value)
{
	int i;

	for (i = 0; i < n; i++) {
		ck_assert_int_eq(x->ops[i].status, i == chosen ? 0 : STATUS_SENTINEL);
		ck_assert_int_eq(x->r[i], i == chosen && !(i % 2) ? value : VALUE_SENTINEL);
		ck_assert_int_eq(x->s[i], x->base + i);
	}
}

/* No channel holds a record of a select that has returned: a deadline-0
 * peer finds no one on any of them. */
static void no_records(void)
{
	int i, v = 1;

	for (i = 0; i < NCH; i++) {
		ck_assert_int_eq(coop_chan_send(ch[i], &v, COOP_NOWAIT), -ETIMEDOUT);
		ck_assert_int_eq(coop_chan_recv(ch[i], &v, COOP_NOWAIT), -ETIMEDOUT);
	}
}

/* A peer that completes op k of a waiting select (deadline 0: the select
 * must be waiting by the time it runs). */
static int peer_rc;

static void *peer(void *arg)
{
	int k = (int)(intptr_t)arg, v = 7000 + k;

	if (k % 2)
		peer_rc = coop_chan_recv(ch[k], &v, COOP_NOWAIT);
	else
		peer_rc = coop_chan_send(ch[k], &v, COOP_NOWAIT);
	return NULL;
}

/* Select over n channels from this task, op k completed by a peer once it
 * waits; then the result checked. */
static void wait_completed(struct sel *x, int n, int k)
{
	peer_rc = 1;
	sel_prepare(x, n);
	ck_assert_int_eq(coop_spawn(ctx, NULL, peer, (void *)(intptr_t)k, NULL), 0);
	ck_assert_int_eq(coop_chan_select(x->ops, (size_t)n, COOP_FOREVER), k);
	ck_assert_int_eq(peer_rc, 0);
	sel_check(x, n, k, 7000 + k);
}

/* The select of n ops fails with -ENOMEM and has no effect. */
static void fails_enomem(struct sel *x, int n, int64_t deadline)
{
	sel_prepare(x, n);
	ck_assert_int_eq(coop_chan_select(x->ops, (size_t)n, deadline), -ENOMEM);
	sel_check(x, n, -1, 0);
	no_records();
}

static void make_channels(void)
{
	int i;

	for (i = 0; i < NCH; i++)
		ck_assert_int_eq(coop_chan_create(ctx, &ch[i], sizeof(int), 0), 0);
}

static void destroy_channels(void)
{
	int i;

	for (i = 0; i < NCH; i++)
		ck_assert_int_eq(coop_chan_destroy(ch[i]), 0);
}

static void *enomem_main(void *arg)
{
	static struct sel x = {.base = 100};
	struct coop_chan *b, *keep;
	int v = 5;
	int64_t d;

	(void)arg;
	make_channels();
	coop__selblock_fail = true;
	/* Must wait, records to allocate: -ENOMEM, nothing done. */
	fails_enomem(&x, 20, COOP_FOREVER);
	fails_enomem(&x, 9, coop_deadline_in(COOP_SEC));
	/* An op ready at once: no records needed. */
	ck_assert_int_eq(coop_chan_create(ctx, &b, sizeof(int), 1), 0);
	ck_assert_int_eq(coop_chan_send(b, &v, COOP_NOWAIT), 0);
	keep = ch[16];
	ch[16] = b;
	sel_prepare(&x, 20);
	ck_assert_int_eq(coop_chan_select(x.ops, 20, COOP_FOREVER), 16);
	sel_check(&x, 20, 16, 5);
	ch[16] = keep;
	ck_assert_int_eq(coop_chan_recv(b, &v, COOP_NOWAIT), -ETIMEDOUT);
	ck_assert_int_eq(coop_chan_destroy(b), 0);
	/* 8 ops or fewer: records on the stack; waiting works. */
	wait_completed(&x, 8, 3);
	wait_completed(&x, 1, 0);
	sel_prepare(&x, 8);
	d = coop_deadline_in(2 * COOP_MSEC);
	ck_assert_int_eq(coop_chan_select(x.ops, 8, d), -ETIMEDOUT);
	ck_assert_int_ge(coop_now(), d);
	sel_check(&x, 8, -1, 0);
	/* Cleared: the same select waits and works. */
	coop__selblock_fail = false;
	wait_completed(&x, 20, 5);
	wait_completed(&x, 20, 19);
	no_records();
	destroy_channels();
	return NULL;
}

/* T-SEL-7: -ENOMEM when the records of a waiting select cannot be
 * allocated, only then, with no effect; the same select works after. */
START_TEST(t_sel_7_enomem)
{
	static struct sel x = {.base = 300};

	ck_assert_int_eq(coop_spawn(ctx, NULL, enomem_main, NULL, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	/* Outside a task it never waits: -EAGAIN. */
	make_channels();
	coop__selblock_fail = true;
	sel_prepare(&x, 20);
	ck_assert_int_eq(coop_chan_select(x.ops, 20, COOP_FOREVER), -EAGAIN);
	sel_check(&x, 20, -1, 0);
	destroy_channels();
}
END_TEST

/* The context keeps a free block for the next select: reused without an
 * allocation; a larger select, or a second one at the same time, needs
 * another. */
static struct sel y = {.base = 200};
static int y_rc;

static void *second_selector(void *arg)
{
	(void)arg;
	sel_prepare(&y, 20);
	y_rc = coop_chan_select(y.ops, 20, COOP_FOREVER);
	return NULL;
}

static void *reuse_main(void *arg)
{
	static struct sel x = {.base = 100};
	struct coop_task *t;
	int rounds, v = 44;

	(void)arg;
	make_channels();
	wait_completed(&x, 20, 2); /* allocates a block (for up to 32) */
	coop__selblock_fail = true;
	for (rounds = 0; rounds < 3; rounds++) {
		wait_completed(&x, 20, 7 + rounds);
		wait_completed(&x, 32, 31);
	}
	fails_enomem(&x, 33, COOP_FOREVER);
	/* Two at once: the second finds the one block in use.  (The same
	 * ops in the same directions: none of the second's is ready.) */
	y_rc = 1;
	ck_assert_int_eq(coop_spawn(ctx, &t, second_selector, NULL, NULL), 0);
	ck_assert_int_eq(coop_yield(), 0);
	ck_assert_int_eq(y_rc, 1); /* waiting, with the block */
	sel_prepare(&x, 20);
	ck_assert_int_eq(coop_chan_select(x.ops, 20, COOP_FOREVER), -ENOMEM);
	sel_check(&x, 20, -1, 0);
	/* The first one still waits, on every channel, undisturbed. */
	ck_assert_int_eq(coop_chan_send(ch[0], &v, COOP_NOWAIT), 0);
	ck_assert_int_eq(coop_join(t, NULL), 0);
	ck_assert_int_eq(y_rc, 0);
	sel_check(&y, 20, 0, 44);
	no_records();
	coop__selblock_fail = false;
	destroy_channels();
	return NULL;
}

/* T-SEL-7: the records of a finished select are the context's, reused. */
START_TEST(t_sel_7_records_reused)
{
	ck_assert_int_eq(coop_spawn(ctx, NULL, reuse_main, NULL, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
}
END_TEST

static void *cancelled_main(void *arg)
{
	static struct sel x = {.base = 100};

	(void)arg;
	/* Cancelled before it ran: -ECANCELED comes first (R2). */
	sel_prepare(&x, 20);
	ck_assert_int_eq(coop_chan_select(x.ops, 20, COOP_FOREVER), -ECANCELED);
	sel_check(&x, 20, -1, 0);
	return NULL;
}

/* T-SEL-7: a pending cancellation comes before the allocation. */
START_TEST(t_sel_7_enomem_after_cancel)
{
	struct coop_task *t;

	make_channels();
	coop__selblock_fail = true;
	ck_assert_int_eq(coop_spawn(ctx, &t, cancelled_main, NULL, NULL), 0);
	ck_assert_int_eq(coop_cancel(t), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(coop_join(t, NULL), 0);
	destroy_channels();
}
END_TEST

static void *passed_main(void *arg)
{
	static struct sel x = {.base = 100};
	int64_t old;

	(void)arg;
	make_channels();
	coop__selblock_fail = true;
	/* A passed deadline (own or ambient): the select does not wait, so
	 * it needs no records: -ETIMEDOUT, as R1 says. */
	sel_prepare(&x, 20);
	ck_assert_int_eq(coop_chan_select(x.ops, 20, COOP_NOWAIT), -ETIMEDOUT);
	ck_assert_int_eq(coop_chan_select(x.ops, 20, coop_now() - 1), -ETIMEDOUT);
	ck_assert_int_eq(coop_set_deadline(1, &old), 0);
	ck_assert_int_eq(coop_chan_select(x.ops, 20, COOP_FOREVER), -ETIMEDOUT);
	ck_assert_int_eq(coop_set_deadline(old, NULL), 0);
	sel_check(&x, 20, -1, 0);
	no_records();
	destroy_channels();
	return NULL;
}

/* T-SEL-7: a select that need not wait needs no records. */
START_TEST(t_sel_7_passed_deadline_no_enomem)
{
	ck_assert_int_eq(coop_spawn(ctx, NULL, passed_main, NULL, NULL), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
}
END_TEST

static Suite *faults_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *tc;

	tc = test_tcase(s, "select");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_sel_7_enomem);
	tcase_add_test(tc, t_sel_7_records_reused);
	tcase_add_test(tc, t_sel_7_enomem_after_cancel);
	tcase_add_test(tc, t_sel_7_passed_deadline_no_enomem);
	return s;
}

int main(void)
{
	return test_run(faults_suite());
}
