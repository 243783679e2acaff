/*
 * resolve.c: getaddrinfo(3) without stalling the other tasks, through
 * coop_offload (coop 1.1).
 *
 *   resolve [--deadline SECONDS] [NAME...]
 *
 * Looks up each NAME (default: localhost, 127.0.0.1 and ::1, which need
 * no network), one task per name, all at once: getaddrinfo() blocks, so
 * each task hands it to a pool thread with coop_offload() and waits, while
 * the context runs the other tasks.  Each lookup has a deadline (default
 * 5 s).  getaddrinfo() cannot be stopped, so the call is made with
 * COOP_OFFLOAD_ABANDON: at the deadline the task stops waiting and goes
 * on, and the lookup, still running on its thread, is orphaned: when it
 * returns, the orphan callback frees its result and its request.  So the
 * request lives on the heap, never on the task's stack, which is gone by
 * then.  The lookups run on a pool of their own, so that slow name
 * servers can tie up its threads only, never those of the process-wide
 * default pool that other offloaded work shares.  Prints one line per
 * name and exits 0 if every name resolved.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <coop/coop.h>

/* One lookup, shared by the task and the pool thread. */
struct request {
	char *name;
	int rc;               /* getaddrinfo's */
	struct addrinfo *res; /* its answer; NULL until it has one */
};

static struct coop_pool *dns; /* the lookups' threads */
static int64_t timeout = 5 * COOP_SEC;
static int failed;

static void request_free(struct request *req)
{
	if (req->res)
		freeaddrinfo(req->res);
	free(req->name);
	free(req);
}

/* On a pool thread: the blocking call itself. */
static void *lookup(void *arg)
{
	struct request *req = arg;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};

	req->rc = getaddrinfo(req->name, NULL, &hints, &req->res);
	return req;
}

/* On the pool thread, when a lookup its task gave up on returns: nobody
 * else will touch the request again. */
static void orphan(void *arg, void *result)
{
	(void)result; /* arg, or NULL if lookup() never ran */
	request_free(arg);
}

static void print(const struct request *req)
{
	char addr[INET6_ADDRSTRLEN];
	const void *a;

	printf("%s:", req->name);
	for (const struct addrinfo *ai = req->res; ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET)
			a = &((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			a = &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		else
			continue;
		printf(" %s", inet_ntop(ai->ai_family, a, addr, sizeof(addr)));
	}
	printf("\n");
}

static void *resolve(void *arg)
{
	struct coop_offload_opts opts = {
		.size = sizeof(opts),
		.pool = dns,
		.flags = COOP_OFFLOAD_ABANDON,
		.orphan = orphan,
	};
	struct request *req = calloc(1, sizeof(*req));
	int rc;

	if (!req || !(req->name = strdup(arg))) {
		fprintf(stderr, "resolve: %s: out of memory\n", (char *)arg);
		free(req);
		failed = 1;
		return NULL;
	}
	rc = coop_offload(lookup, req, NULL, coop_deadline_in(timeout), &opts);
	if (rc == -ETIMEDOUT || rc == -ECANCELED) {
		/* Given up on: the orphan callback owns the request now (and
		 * the name, so print the one we were given). */
		printf("%s: no answer in time (%s)\n", (char *)arg, strerror(-rc));
		failed = 1;
		return NULL;
	}
	if (rc < 0) {
		fprintf(stderr, "resolve: %s: coop_offload: %s\n", req->name, strerror(-rc));
		failed = 1;
	} else if (req->rc != 0) {
		printf("%s: %s\n", req->name, gai_strerror(req->rc));
		failed = 1;
	} else {
		print(req);
	}
	request_free(req);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: resolve [--deadline SECONDS] [NAME...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"deadline", required_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	static char *defaults[] = {"localhost", "127.0.0.1", "::1"};
	struct coop_context *ctx = NULL;
	char **names = defaults, *end;
	int n = 3, opt, rc;
	double seconds;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt != 'd')
			usage();
		seconds = strtod(optarg, &end);
		if (*end || !(seconds >= 0 && seconds < 1e9))
			usage();
		timeout = (int64_t)(seconds * COOP_SEC);
	}
	if (optind < argc) {
		names = argv + optind;
		n = argc - optind;
	}
	/* Up to 8 lookups at a time; its threads start as lookups need them. */
	if ((rc = coop_pool_create(&dns, &(struct coop_pool_opts){.size = sizeof(struct coop_pool_opts),
								  .max_threads = 8})) < 0 ||
	    (rc = coop_context_create(&ctx, NULL)) < 0) {
		fprintf(stderr, "resolve: %s\n", strerror(-rc));
		return 1;
	}
	for (int i = 0; i < n; i++)
		if ((rc = coop_spawn(ctx, NULL, resolve, names[i], NULL)) < 0) {
			fprintf(stderr, "resolve: coop_spawn: %s\n", strerror(-rc));
			return 1;
		}
	if ((rc = coop_run(ctx)) < 0) {
		fprintf(stderr, "resolve: coop_run: %s\n", strerror(-rc));
		return 1;
	}
	coop_context_destroy(ctx);
	/* Joins the pool's threads, which frees what getaddrinfo keeps per
	 * thread; -EBUSY while an abandoned lookup still runs: exiting ends it. */
	if ((rc = coop_pool_destroy(dns)) < 0)
		fprintf(stderr, "resolve: coop_pool_destroy: %s (a lookup still runs)\n", strerror(-rc));
	return failed;
}
