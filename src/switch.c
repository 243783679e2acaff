/*
 * switch.c: the switch layer's state and its out-of-line switches (the
 * hand-over itself is inline, in switch.h).  See switch.h.
 */
#include "switch.h"

COOP_TLS struct coop__thread coop__thread;
COOP_TLS struct coop__arch_eh *coop__eh;
unsigned char coop__hooks;

/* One ordinary libcoop.so serves plain, sanitized and C++ programs alike:
 * look for ASan's or TSan's fiber API and for the C++ runtime once, at
 * load. */
__attribute__((constructor)) static void detect_hooks(void)
{
	if (__sanitizer_start_switch_fiber || __tsan_switch_to_fiber)
		coop__hooks |= COOP__HOOK_SANITIZER;
	if (__cxa_get_globals)
		coop__hooks |= COOP__HOOK_CXX;
}

int coop__switch_from(struct coop_task *self, const char *call)
{
	struct coop_task *next;

	if (COOP_UNLIKELY(self->canary))
		coop__stack_check(call ? call : coop__wait_call(self), self);
	if (self->state == COOP__READY) {
		next = self->rq_next;
		if (next == self && !coop__to_main) { /* alone: keep running */
			self->state = COOP__RUNNING;
			return 0;
		}
	} else {
		next = coop__ring_leave(self);
	}
	if (COOP_UNLIKELY(coop__to_main)) {
		/* The coop_run caller's turn (a round's end, events for it):
		 * it resumes the ring where this switch would have. */
		self->ctx->rq = next;
		next = NULL;
	}
	return coop__hand_over(self->ctx, &self->arch, &self->saved_errno, &self->eh, next, false);
}

void coop__switch_last(struct coop_context *ctx, struct coop_task *next)
{
	int scratch;

	/* The last thing here, so that it is a jump (see switch.h). */
	coop__hand_over(ctx, &ctx->graveyard, &scratch, NULL, next, true);
}

COOP_EXPORT struct coop_task *coop_self(void)
{
	return coop__self;
}
