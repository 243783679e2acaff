/*
 * consumer.c: a program outside the project.  .ci/consumer builds it
 * against a `meson install` prefix with `pkg-config --cflags --libs coop`
 * alone, and it exercises every public call with its documented meaning.
 * Exit status 0 when everything held; otherwise a line per failure.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

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

int main(void)
{
	struct coop_context_opts copts = {.size = sizeof(copts), .stack_size = 128 * 1024};
	struct coop_task_opts topts = {sizeof(topts), 0, NULL, "parent"};
	static char buf[16384];
	struct coop_task_opts uopts = {sizeof(uopts), sizeof(buf), buf, "buffer"};
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
	printf("consumer: %s, libcoop %s\n", failures ? "FAILED" : "ok", coop_version());
	return failures != 0;
}
