/*
 * chan.c: channels and select (§4.5), on the wait path (wait.h).
 *
 * A channel is a bounded FIFO of fixed-size elements (capacity 0: a
 * rendezvous), with a queue of blocked senders and one of blocked
 * receivers.  Elements move only between a running task and a blocked
 * one's memory or the buffer, never through a queue of its own: a sender
 * that finds a receiver waiting copies straight into that receiver's
 * destination and wakes it; a receiver that takes from a full buffer
 * moves the first blocked sender's element to the buffer's tail.  So
 * messages keep their send order across the buffer and the blocked
 * senders, and send and receive never allocate.
 *
 * Whoever completes a blocked task's operation does all of it (the copy,
 * the record's status) before waking the task, and the wake takes the
 * task out of every queue it waits in (wait.h): a select's other
 * operations then cannot happen (R3), and a woken task never touches the
 * channel again, so a channel may be closed and destroyed before the
 * tasks it woke have run.
 *
 * Invariants: receivers wait only while the buffer is empty and no sender
 * waits; senders wait only while the buffer is full (always, at capacity
 * 0) and no receiver waits.  One task may be in both queues of a channel
 * (a select that sends and receives on it), never matched with itself:
 * only a running task completes a blocked one's operation.
 */
#include <limits.h>
#include <stdlib.h>

#include "object.h"
#include "wait.h"

struct coop_chan {
	struct coop__obj obj;           /* first: its context */
	size_t elem_size;
	size_t cap;                     /* capacity: elements the buffer holds */
	size_t head;                    /* the buffer's first element, < cap */
	size_t count;                   /* elements in the buffer */
	char *buf;                      /* cap * elem_size bytes (NULL when 0) */
	bool closed;
	struct coop__waitq senders;     /* record data: the element to send */
	struct coop__waitq receivers;   /* record data: where to copy one (NULL: drop it) */
};

/* Wait records of selects over more than SELECT_STACK_OPS channels: one
 * block per such select in progress, kept by the context for the next
 * one (never shrinking), freed with it. */
#define SELECT_STACK_OPS 8
struct coop__selblock {
	LIST_ENTRY(coop__selblock) link;
	size_t cap;                     /* records in w */
	bool used;                      /* a select waits with it */
	struct coop__waiter w[];
};

bool coop__selblock_fail;

COOP_EXPORT int coop_chan_create(struct coop_context *ctx, struct coop_chan **out, size_t elem_size,
                                 size_t capacity)
{
	struct coop_chan *ch;
	int saved = errno, rc;

	if (!out)
		return -EINVAL;
	if (elem_size && capacity > SIZE_MAX / elem_size)
		return -EINVAL;
	if (!(ch = coop__obj_new(ctx, sizeof(*ch), COOP__OBJ_CHAN, &rc)))
		return rc;
	/* All of the buffer now: send and receive never allocate. */
	if (capacity && elem_size && !(ch->buf = malloc(capacity * elem_size))) {
		coop__obj_free(&ch->obj);
		errno = saved;
		return -ENOMEM;
	}
	ch->elem_size = elem_size;
	ch->cap = capacity;
	TAILQ_INIT(&ch->senders);
	TAILQ_INIT(&ch->receivers);
	*out = ch;
	return 0;
}

COOP_EXPORT int coop_chan_destroy(struct coop_chan *chan)
{
	if (!chan)
		return -EINVAL;
	/* An orphan's waiters went with its context. */
	if (chan->obj.ctx && (!TAILQ_EMPTY(&chan->senders) || !TAILQ_EMPTY(&chan->receivers)))
		return -EBUSY;
	free(chan->buf);
	coop__obj_free(&chan->obj);
	return 0;
}

/* The common sizes (an int, a pointer, two of them) as constant-size
 * copies the compiler inlines: a call to memcpy cost 2 ns of a 60 ns
 * ping-pong round trip. */
static inline void copy_elem(const struct coop_chan *ch, void *dst, const void *src)
{
	if (!dst)
		return;
	switch (ch->elem_size) {
	case 0:
		return;
	case 4:
		memcpy(dst, src, 4);
		return;
	case 8:
		memcpy(dst, src, 8);
		return;
	case 16:
		memcpy(dst, src, 16);
		return;
	default:
		memcpy(dst, src, ch->elem_size);
	}
}

/* The buffer's i-th slot from its head (i <= count < 2 * cap). */
static inline char *slot(const struct coop_chan *ch, size_t i)
{
	size_t k = ch->head + i;

	if (!ch->buf)
		return NULL; /* elements of 0 bytes */
	return ch->buf + (k < ch->cap ? k : k - ch->cap) * ch->elem_size;
}

/* Blocked record w's operation was done with `status`: wake its task,
 * whose wait returns the record's op index. */
static inline void complete(struct coop__waiter *w, int status)
{
	w->status = status;
	coop__wake(w->task, w->index);
}

static inline bool send_ready(const struct coop_chan *ch)
{
	return ch->count < ch->cap || !TAILQ_EMPTY(&ch->receivers) || ch->closed;
}

static inline bool recv_ready(const struct coop_chan *ch)
{
	return ch->count || !TAILQ_EMPTY(&ch->senders) || ch->closed;
}

/* Send `elem` on ch, which is send_ready: 0, or -EPIPE when closed. */
static inline int do_send(struct coop_chan *ch, const void *elem)
{
	struct coop__waiter *r;

	if (COOP_UNLIKELY(ch->closed))
		return -EPIPE;
	if ((r = TAILQ_FIRST(&ch->receivers))) {
		copy_elem(ch, r->data, elem);
		complete(r, 0);
		return 0;
	}
	copy_elem(ch, slot(ch, ch->count), elem);
	ch->count++;
	return 0;
}

/* Receive from ch, which is recv_ready, into elem (NULL: drop it): 0, or
 * -EPIPE when closed and empty. */
static inline int do_recv(struct coop_chan *ch, void *elem)
{
	struct coop__waiter *s = TAILQ_FIRST(&ch->senders);

	if (ch->count) {
		copy_elem(ch, elem, slot(ch, 0));
		if (++ch->head == ch->cap)
			ch->head = 0;
		ch->count--;
		/* The first blocked sender's element follows the buffer's. */
		if (s) {
			copy_elem(ch, slot(ch, ch->count), s->data);
			ch->count++;
			complete(s, 0);
		}
		return 0;
	}
	if (s) {
		copy_elem(ch, elem, s->data);
		complete(s, 0);
		return 0;
	}
	return -EPIPE;
}

COOP_EXPORT int coop_chan_send(struct coop_chan *chan, const void *elem, int64_t deadline)
{
	struct coop_task *self = coop__self;
	struct coop__waiter w;
	int rc;

	if (!chan || deadline < COOP_FOREVER || (!elem && chan->elem_size))
		return -EINVAL;
	if ((rc = coop__obj_check(&chan->obj, self, "coop_chan_send")) < 0)
		return rc;
	if (self && (rc = coop__cancel_point(self)) < 0)
		return rc;
	if (send_ready(chan)) {
		rc = do_send(chan, elem);
		if (self)
			coop__spent(self);
		return rc;
	}
	if (!self)
		return -EAGAIN; /* R4 */
	w = (struct coop__waiter){.q = &chan->senders, .data = (void *)elem};
	rc = coop__wait(self, &w, 1, COOP_WAIT_CHAN, chan, deadline, 0);
	return rc < 0 ? rc : w.status;
}

COOP_EXPORT int coop_chan_recv(struct coop_chan *chan, void *elem, int64_t deadline)
{
	struct coop_task *self = coop__self;
	struct coop__waiter w;
	int rc;

	if (!chan || deadline < COOP_FOREVER)
		return -EINVAL;
	if ((rc = coop__obj_check(&chan->obj, self, "coop_chan_recv")) < 0)
		return rc;
	if (self && (rc = coop__cancel_point(self)) < 0)
		return rc;
	if (recv_ready(chan)) {
		rc = do_recv(chan, elem);
		if (self)
			coop__spent(self);
		return rc;
	}
	if (!self)
		return -EAGAIN; /* R4 */
	w = (struct coop__waiter){.q = &chan->receivers, .data = elem};
	rc = coop__wait(self, &w, 1, COOP_WAIT_CHAN, chan, deadline, 0);
	return rc < 0 ? rc : w.status;
}

const char *coop__chan_wait_call(const struct coop_task *t)
{
	const struct coop_chan *ch = t->wait_obj;

	return t->waits[0].q == &ch->senders ? "coop_chan_send" : "coop_chan_recv";
}

/* The first record of blocked task t (in its op order) waiting on ch. */
static struct coop__waiter *first_on(struct coop_task *t, const struct coop_chan *ch)
{
	unsigned i;

	for (i = 0; i < t->nwaits; i++)
		if (t->waits[i].q == &ch->senders || t->waits[i].q == &ch->receivers)
			break;
	return &t->waits[i];
}

COOP_EXPORT int coop_chan_close(struct coop_chan *chan)
{
	struct coop__waiter *w;
	int rc;

	if (!chan)
		return -EINVAL;
	if ((rc = coop__obj_check(&chan->obj, coop__self, "coop_chan_close")) < 0)
		return rc;
	if (chan->closed)
		return -EPIPE;
	chan->closed = true;
	/* Every waiter in queue order (senders first: at most one queue holds
	 * others' records), a select through its first op on this channel. */
	while ((w = TAILQ_FIRST(&chan->senders)) || (w = TAILQ_FIRST(&chan->receivers)))
		complete(first_on(w->task, chan), -EPIPE);
	return 0;
}

/* ------------------------------------------------------------- select -- */

/* Entry i of the caller's array, whose entries are `size` bytes each. */
static inline struct coop_chan_op *op_at(struct coop_chan_op *ops, size_t size, size_t i)
{
	return (struct coop_chan_op *)((char *)ops + i * size);
}

/* A7.1's argument checks of every entry: -EINVAL, then -EXDEV (a channel
 * of another context than the caller's, or, outside a task, than the
 * others'); the context of the channels in *ctx (NULL: none). */
static int select_check(struct coop_chan_op *ops, size_t n, size_t size,
                        const struct coop_task *self, struct coop_context **ctx)
{
	int xdev = 0;
	size_t i;

	*ctx = self ? self->ctx : NULL;
	for (i = 0; i < n; i++) {
		const struct coop_chan_op *op = op_at(ops, size, i);
		const struct coop_chan *ch = op->chan;

		if (op->size != size || (op->op != COOP_CHAN_SEND && op->op != COOP_CHAN_RECV))
			return -EINVAL;
		if (!ch)
			continue;
		if (op->op == COOP_CHAN_SEND && !op->elem && ch->elem_size)
			return -EINVAL;
		if (!ch->obj.ctx || (*ctx && ch->obj.ctx != *ctx))
			xdev = -EXDEV;
		else
			*ctx = ch->obj.ctx;
	}
	return xdev;
}

/* Records for n > SELECT_STACK_OPS ops: a free block of the context's, or
 * a new one; NULL when memory runs out. */
static struct coop__selblock *selblock_take(struct coop_context *ctx, size_t n)
{
	struct coop__selblock *b;
	size_t cap;
	int saved = errno;

	LIST_FOREACH(b, &ctx->selblocks, link)
		if (!b->used && b->cap >= n)
			goto found;
	cap = (n + 15) & ~(size_t)15;
	if (COOP_UNLIKELY(coop__selblock_fail) || cap < n ||
	    cap > (SIZE_MAX - sizeof(*b)) / sizeof(b->w[0]) ||
	    !(b = malloc(sizeof(*b) + cap * sizeof(b->w[0])))) {
		errno = saved;
		return NULL;
	}
	b->cap = cap;
	LIST_INSERT_HEAD(&ctx->selblocks, b, link);
found:
	b->used = true;
	return b;
}

void coop__selblocks_free(struct coop_context *ctx)
{
	struct coop__selblock *b;

	while ((b = LIST_FIRST(&ctx->selblocks))) {
		LIST_REMOVE(b, link);
		free(b);
	}
}

/* Wait in every op of ops (none ready) until one is completed by another
 * task (its index), or the deadline or a cancellation (no effect). */
static int select_wait(struct coop_task *self, struct coop_chan_op *ops, size_t n, size_t size,
                       int64_t deadline)
{
	struct coop__waiter stack_w[SELECT_STACK_OPS], *w = stack_w;
	struct coop__selblock *b = NULL;
	unsigned k = 0, i;
	int rc;

	if (n > SELECT_STACK_OPS) {
		int64_t d = coop__wait_deadline(self, deadline, 0, &rc);

		/* A deadline already passed allocates nothing (coop__wait would
		 * return at once): -ETIMEDOUT, not a chance of -ENOMEM. */
		if (coop__passed(d)) {
			coop__spent(self);
			return rc;
		}
		if (!(b = selblock_take(self->ctx, n)))
			return -ENOMEM;
		w = b->w;
	}
	for (i = 0; i < n; i++) {
		struct coop_chan_op *op = op_at(ops, size, i);
		struct coop_chan *ch = op->chan;

		if (!ch)
			continue; /* never ready */
		w[k++] = (struct coop__waiter){
			.q = op->op == COOP_CHAN_SEND ? &ch->senders : &ch->receivers,
			.data = op->elem,
			.index = (int)i,
		};
	}
	rc = coop__wait(self, w, k, COOP_WAIT_SELECT, NULL, deadline, 0);
	if (rc >= 0)
		for (i = 0; i < k; i++)
			if (w[i].index == rc) {
				op_at(ops, size, (size_t)rc)->status = w[i].status;
				break;
			}
	if (b)
		b->used = false;
	return rc;
}

COOP_EXPORT int coop_chan_select(struct coop_chan_op *ops, size_t n, int64_t deadline)
{
	struct coop_task *self = coop__self;
	struct coop_context *ctx;
	size_t size = 0, i;
	int rc;

	if ((n && !ops) || n > INT_MAX || deadline < COOP_FOREVER)
		return -EINVAL;
	/* Entries are the caller's sizeof: a later version's larger ones
	 * work, their bytes past ours neither read nor written. */
	if (n && (size = ops[0].size) < sizeof(struct coop_chan_op))
		return -EINVAL;
	if ((rc = select_check(ops, n, size, self, &ctx)) < 0)
		return rc;
	if (!self && ctx)
		coop__check_thread(ctx, "coop_chan_select");
	if (self && (rc = coop__cancel_point(self)) < 0)
		return rc;
	/* The first op that can complete now, in array order. */
	for (i = 0; i < n; i++) {
		struct coop_chan_op *op = op_at(ops, size, i);
		struct coop_chan *ch = op->chan;

		if (!ch)
			continue;
		if (op->op == COOP_CHAN_SEND ? send_ready(ch) : recv_ready(ch)) {
			op->status = op->op == COOP_CHAN_SEND ? do_send(ch, op->elem) : do_recv(ch, op->elem);
			if (self)
				coop__spent(self);
			return (int)i;
		}
	}
	if (!self)
		return -EAGAIN; /* R4 */
	return select_wait(self, ops, n, size, deadline);
}
