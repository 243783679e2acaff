/*
 * demo: the two-task program of demo-compat.c, written with the real API of
 * <coop/coop.h>.  Two named tasks take turns on one context; each returns a
 * result that main() collects with coop_join() once the context has run.
 * Every call that can fail returns a negative errno value, which this
 * program reports with strerror(-rc).
 *
 * Prints:
 *   Func1: 1
 *   Func2: 1
 *   Func1: 2
 *   Func2: 2
 *   func1 returned 2
 *   func2 returned 2
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coop/coop.h>

#define LINES 2

/* Print LINES numbered lines under `arg` (a label), handing the CPU to the
 * other task between them; the result is the number of lines printed. */
static void *count(void *arg)
{
	const char *label = arg;
	int i, rc;

	for (i = 1; i <= LINES; i++) {
		printf("%s: %d\n", label, i);
		if (i < LINES && (rc = coop_yield()) < 0) {
			fprintf(stderr, "demo: coop_yield: %s\n", strerror(-rc));
			break;
		}
	}
	return (void *)(intptr_t)(i - 1);
}

int main(void)
{
	static const char *const names[2] = {"func1", "func2"};
	static char labels[2][8] = {"Func1", "Func2"};
	struct coop_context *ctx;
	struct coop_task *tasks[2];
	int i, rc, status = EXIT_FAILURE;

	rc = coop_context_create(&ctx, NULL);
	if (rc < 0) {
		fprintf(stderr, "demo: coop_context_create: %s\n", strerror(-rc));
		return EXIT_FAILURE;
	}

	for (i = 0; i < 2; i++) {
		struct coop_task_opts opts = {.size = sizeof(opts), .name = names[i]};

		rc = coop_spawn(ctx, &tasks[i], count, labels[i], &opts);
		if (rc < 0) {
			fprintf(stderr, "demo: coop_spawn %s: %s\n", names[i], strerror(-rc));
			goto out; /* coop_context_destroy() releases tasks[0] */
		}
	}

	/* Runs both tasks, in spawn order, until both have returned. */
	rc = coop_run(ctx);
	if (rc < 0) {
		fprintf(stderr, "demo: coop_run: %s\n", strerror(-rc));
		goto out;
	}

	/* main() is not a task, so coop_join() does not wait: both tasks have
	 * ended, and each join hands back the result and frees the handle. */
	for (i = 0; i < 2; i++) {
		void *result;

		rc = coop_join(tasks[i], &result);
		if (rc < 0) {
			fprintf(stderr, "demo: coop_join %s: %s\n", names[i], strerror(-rc));
			goto out;
		}
		printf("%s returned %d\n", names[i], (int)(intptr_t)result);
	}
	status = EXIT_SUCCESS;
out:
	coop_context_destroy(ctx);
	return status;
}
