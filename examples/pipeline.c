/*
 * pipeline.c: three stages joined by channels (coop 1.1).
 *
 * A generator sends 1..N, a filter squares the odd ones and drops the
 * rest, a printer prints them and their sum.  Each stage closes its
 * output when its input is closed and drained, so the end of the input
 * flows down the pipeline and every task returns on its own: no counts
 * shared between stages, no polling.  The filter's output is buffered,
 * so the filter runs ahead of the printer by up to 4 values; the
 * generator's is a rendezvous, so each value is handed over directly.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <coop/coop.h>

#define N 20

struct stage {
	struct coop_chan *in, *out;
};

static void *generator(void *arg)
{
	struct coop_chan *out = arg;
	long i;

	for (i = 1; i <= N; i++)
		if (coop_chan_send(out, &i, COOP_FOREVER) < 0)
			break;
	coop_chan_close(out); /* no more values: the filter sees -EPIPE once it has all */
	return NULL;
}

static void *filter(void *arg)
{
	struct stage *s = arg;
	long v;

	/* Every value sent before the close arrives; then -EPIPE. */
	while (coop_chan_recv(s->in, &v, COOP_FOREVER) == 0)
		if (v % 2) {
			v *= v;
			if (coop_chan_send(s->out, &v, COOP_FOREVER) < 0)
				break;
		}
	coop_chan_close(s->out);
	return NULL;
}

static void *printer(void *arg)
{
	struct coop_chan *in = arg;
	long v, sum = 0;

	while (coop_chan_recv(in, &v, COOP_FOREVER) == 0) {
		printf("%ld\n", v);
		sum += v;
	}
	printf("sum %ld\n", sum);
	return (void *)sum;
}

int main(void)
{
	struct coop_context *ctx = NULL;
	struct coop_chan *numbers = NULL, *squares = NULL;
	struct coop_task *last;
	struct stage s;
	void *sum = NULL;
	int rc;

	if ((rc = coop_context_create(&ctx, NULL)) < 0 ||
	    (rc = coop_chan_create(ctx, &numbers, sizeof(long), 0)) < 0 ||
	    (rc = coop_chan_create(ctx, &squares, sizeof(long), 4)) < 0)
		goto fail;
	s = (struct stage){.in = numbers, .out = squares};
	if ((rc = coop_spawn(ctx, NULL, generator, numbers, NULL)) < 0 ||
	    (rc = coop_spawn(ctx, NULL, filter, &s, NULL)) < 0 ||
	    (rc = coop_spawn(ctx, &last, printer, squares, NULL)) < 0 ||
	    (rc = coop_run(ctx)) < 0 || (rc = coop_join(last, &sum)) < 0)
		goto fail;
	coop_chan_destroy(numbers);
	coop_chan_destroy(squares);
	coop_context_destroy(ctx);
	/* The sum of the odd squares up to N, 1 + 9 + ... + 361: */
	return (long)sum == 1330 ? 0 : 1;
fail:
	fprintf(stderr, "coop: %s\n", strerror(-rc));
	coop_context_destroy(ctx);
	coop_chan_destroy(numbers); /* NULL: -EINVAL, harmless */
	coop_chan_destroy(squares);
	return 1;
}
