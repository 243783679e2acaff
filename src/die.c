/*
 * die.c: the one way coop reports misuse it cannot return as an error:
 * one line on stderr naming the call, then abort() (a core dump for the
 * debugger, like musl's deliberate crashes); and the reports that need
 * more words than one format string.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "coop-private.h"

void coop__die(const char *call, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "coop: %s: ", call);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write, so the line is not interleaved with other output. */
	fprintf(stderr, "%s\n", line);
	abort();
}

const char *coop__wait_call(const struct coop_task *t)
{
	switch (t->wait_kind) {
	case COOP_WAIT_JOIN:
		return "coop_join";
	case COOP_WAIT_SLEEP:
		return "coop_sleep_until";
	case COOP_WAIT_FD:
		return "coop_fd_wait";
	case COOP_WAIT_CHAN:
		return coop__chan_wait_call(t);
	case COOP_WAIT_SELECT:
		return "coop_chan_select";
	case COOP_WAIT_MUTEX:
		return "coop_mutex_lock";
	case COOP_WAIT_COND:
		return "coop_cond_wait";
	case COOP_WAIT_SEM:
		return "coop_sem_acquire";
	case COOP_WAIT_GROUP:
		return "coop_group_wait";
	case COOP_WAIT_NOTIFY:
		return "coop_notify_wait";
	case COOP_WAIT_OFFLOAD:
		return "coop_offload";
	default:
		return "a blocking call";
	}
}

void coop__bad_resume(const struct coop_context *ctx, const struct coop__arch_ctx *from,
                      const struct coop_task *next)
{
	static const char *const states[] = {"READY", "RUNNING", "BLOCKED", "DONE", "FREE", "NEW"};
	const struct coop_task *self = coop__self;
	const char *call, *what;

	/* Which public call is switching: the coop_run caller, an ending
	 * task, one blocking in a wait, or one yielding. */
	if (from == &ctx->main)
		call = "coop_run";
	else if (from == &ctx->graveyard)
		call = "coop_exit";
	else if (self && self->state == COOP__BLOCKED)
		call = coop__wait_call(self);
	else
		call = "coop_yield";
	if (next->ctx != ctx)
		coop__die(call, "run queue of context %p corrupted: task %p belongs to context %p",
		          (const void *)ctx, (const void *)next, (const void *)next->ctx);
	what = (unsigned)next->state < sizeof(states) / sizeof(states[0]) ? states[next->state]
	                                                                   : "invalid";
	if (next->state == COOP__DONE)
		coop__die(call, "switching into task %llu \"%s\", which has finished (run queue corrupted)",
		          (unsigned long long)next->id, next->name);
	coop__die(call, "run queue of context %p corrupted: task %llu \"%s\" is %s, not READY",
	          (const void *)ctx, (unsigned long long)next->id, next->name, what);
}
