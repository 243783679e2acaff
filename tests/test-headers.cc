/*
 * test-headers.cc: <coop/coop.h> from C++ (C++11, -pedantic, warnings as
 * errors).  Links against libcoop, so the declarations must have C linkage,
 * and checks that COOP_NORETURN on coop_exit() is accepted by a C++ compiler
 * and understood as noreturn.  <coop/compat.h> is C only and not tested
 * here.
 */
#include <coop/coop.h>

#include <cerrno>
#include <cstring>

// Ends in coop_exit(): no "noreturn function does return" warning.
[[noreturn]] static void finish(void *result)
{
	coop_exit(result);
}

static void *task(void *arg)
{
	*static_cast<int *>(arg) = std::strcmp(coop_task_name(coop_self()), "c++") == 0 ? 1 : 2;
	return arg;
}

int main()
{
	coop_context_opts copts = {};
	coop_task_opts topts = {};
	coop_context *ctx = nullptr;
	coop_task *t = nullptr;
	void *res = nullptr;
	void (*volatile fin)(void *) = finish;
	int seen = 0;
	int fail = 0;

	copts.size = sizeof(copts);
	topts.size = sizeof(topts);
	topts.name = "c++";
	fail |= fin == nullptr;
	fail |= coop_context_create(&ctx, &copts) != 0;
	fail |= coop_spawn(ctx, &t, task, &seen, &topts) != 0;
	fail |= coop_run(ctx) != 0;
	fail |= coop_join(t, &res) != 0 || res != &seen || seen != 1;
	fail |= coop_yield() != -EPERM;
	coop_context_destroy(ctx);
	fail |= std::strcmp(coop_version(), COOP_VERSION_STRING) != 0;
	return fail;
}
