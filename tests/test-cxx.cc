/*
 * test-cxx.cc: C++ exceptions and tasks.  The C++ runtime's per-thread
 * exception state (the caught exceptions, which `throw;` and
 * std::current_exception() read, and the uncaught count, which
 * std::uncaught_exceptions() reads) follows each task across switches,
 * as errno does, and the coop_run caller keeps its own:
 *
 *  - two tasks suspended inside catch blocks each rethrow and see their
 *    own exception;
 *  - a task suspended in a destructor during unwinding counts one uncaught
 *    exception, and the task running meanwhile none;
 *  - code that calls coop_run() from a catch block finds its exception
 *    there afterwards, and its tasks never see it;
 *  - an exception escaping a task's function calls std::terminate, as for
 *    a thread.
 */
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include <coop/coop.h>

#include "test-common.h"

/* The message of the exception being handled, "" when there is none.
 * (Compare it as a std::string: Check's string asserts keep the pointer
 * past the temporary's end.) */
static std::string current_message()
{
	std::exception_ptr e = std::current_exception();

	if (!e)
		return "";
	try {
		std::rethrow_exception(e);
	} catch (const std::exception &x) {
		return x.what();
	}
	return "?";
}

struct catcher {
	const char *name;     /* what it throws */
	std::string seen[3];  /* current_message() after each yield */
	std::string rethrown; /* what `throw;` threw, caught again */
};

static void *catch_and_yield(void *arg)
{
	catcher *c = static_cast<catcher *>(arg);

	try {
		throw std::runtime_error(c->name);
	} catch (const std::runtime_error &) {
		for (int i = 0; i < 3; i++) {
			coop_yield(); /* the other task enters its catch block */
			c->seen[i] = current_message();
		}
		try {
			throw;
		} catch (const std::runtime_error &again) {
			c->rethrown = again.what();
		}
	}
	return nullptr;
}

static struct coop_context *make_ctx()
{
	struct coop_context *ctx = nullptr;

	ck_assert_int_eq(coop_context_create(&ctx, nullptr), 0);
	return ctx;
}

START_TEST(rethrow_is_per_task)
{
	struct coop_context *ctx = make_ctx();
	catcher a = {"from a", {}, ""}, b = {"from b", {}, ""};

	ck_assert_int_eq(coop_spawn(ctx, nullptr, catch_and_yield, &a, nullptr), 0);
	ck_assert_int_eq(coop_spawn(ctx, nullptr, catch_and_yield, &b, nullptr), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_str_eq(a.seen[i].c_str(), "from a");
		ck_assert_str_eq(b.seen[i].c_str(), "from b");
	}
	ck_assert_str_eq(a.rethrown.c_str(), "from a");
	ck_assert_str_eq(b.rethrown.c_str(), "from b");
	ck_assert(current_message() == "");
	coop_context_destroy(ctx);
}
END_TEST

static int unwinding_counts[2] = {-1, -1};
static int bystander_counts[3] = {-1, -1, -1};

struct yields_in_destructor {
	~yields_in_destructor()
	{
		unwinding_counts[0] = std::uncaught_exceptions();
		coop_yield(); /* the bystander runs while this one unwinds */
		unwinding_counts[1] = std::uncaught_exceptions();
	}
};

static void *unwinder(void *)
{
	try {
		yields_in_destructor d;
		throw 42;
	} catch (int) {
	}
	return nullptr;
}

static void *bystander(void *)
{
	for (int i = 0; i < 3; i++) {
		bystander_counts[i] = std::uncaught_exceptions();
		coop_yield();
	}
	return nullptr;
}

START_TEST(uncaught_count_is_per_task)
{
	struct coop_context *ctx = make_ctx();

	ck_assert_int_eq(coop_spawn(ctx, nullptr, unwinder, nullptr, nullptr), 0);
	ck_assert_int_eq(coop_spawn(ctx, nullptr, bystander, nullptr, nullptr), 0);
	ck_assert_int_eq(coop_run(ctx), 0);
	ck_assert_int_eq(unwinding_counts[0], 1);
	ck_assert_int_eq(unwinding_counts[1], 1);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(bystander_counts[i], 0);
	ck_assert_int_eq(std::uncaught_exceptions(), 0);
	coop_context_destroy(ctx);
}
END_TEST

static std::string seen_by_task = "unset";

static void *look(void *)
{
	seen_by_task = current_message();
	try {
		throw std::runtime_error("task's own");
	} catch (const std::exception &) {
		coop_yield();
	}
	return nullptr;
}

START_TEST(caller_keeps_its_exception)
{
	struct coop_context *ctx = make_ctx();

	try {
		throw std::logic_error("the caller's");
	} catch (const std::logic_error &) {
		ck_assert_int_eq(coop_spawn(ctx, nullptr, look, nullptr, nullptr), 0);
		ck_assert_int_eq(coop_spawn(ctx, nullptr, look, nullptr, nullptr), 0);
		ck_assert_int_eq(coop_run(ctx), 0);
		ck_assert_str_eq(seen_by_task.c_str(), "");
		ck_assert(current_message() == "the caller's");
	}
	ck_assert(current_message() == "");
	coop_context_destroy(ctx);
}
END_TEST

/* Throws `what`, and inside the catch block yields twice, then records
 * the exception it sees. */
struct yields_in_catch {
	const char *what;
	std::string saw;
};

static void *catch_yield_twice(void *arg)
{
	yields_in_catch *y = static_cast<yields_in_catch *>(arg);

	try {
		throw std::runtime_error(y->what);
	} catch (const std::exception &) {
		coop_yield();
		coop_yield();
		y->saw = current_message();
	}
	return nullptr;
}

static struct coop_context *joiner_ctx;
static yields_in_catch joined = {"the joined task's", ""}, other = {"the other task's", ""};
static std::string joiner_saw;

static void *joiner(void *)
{
	struct coop_task *t;

	try {
		throw std::runtime_error("the joiner's");
	} catch (const std::exception &) {
		ck_assert_int_eq(coop_spawn(joiner_ctx, &t, catch_yield_twice, &joined, nullptr), 0);
		ck_assert_int_eq(coop_join(t, nullptr), 0); /* suspends inside the catch */
		joiner_saw = current_message();
	}
	return nullptr;
}

/* One task suspended in coop_join() inside a catch block, while the task
 * it joins and another task run in and out of theirs, interleaved. */
START_TEST(join_keeps_exception)
{
	joiner_ctx = make_ctx();
	ck_assert_int_eq(coop_spawn(joiner_ctx, nullptr, joiner, nullptr, nullptr), 0);
	ck_assert_int_eq(coop_spawn(joiner_ctx, nullptr, catch_yield_twice, &other, nullptr), 0);
	ck_assert_int_eq(coop_run(joiner_ctx), 0);
	ck_assert(other.saw == "the other task's");
	ck_assert(joined.saw == "the joined task's");
	ck_assert(joiner_saw == "the joiner's");
	coop_context_destroy(joiner_ctx);
}
END_TEST

static void *throws(void *)
{
	throw std::runtime_error("escapes");
}

static void terminated()
{
	_exit(42);
}

/* As for a thread: std::terminate, whose handler exits with 42 here. */
START_TEST(escaping_exception_terminates)
{
	struct coop_context *ctx = make_ctx();

	std::set_terminate(terminated);
	ck_assert_int_eq(coop_spawn(ctx, nullptr, throws, nullptr, nullptr), 0);
	coop_run(ctx);
	ck_abort_msg("coop_run returned after an exception escaped a task");
}
END_TEST

int main()
{
	Suite *s = suite_create("cxx");
	TCase *tc = test_tcase(s, "cxx");

	tcase_add_test(tc, rethrow_is_per_task);
	tcase_add_test(tc, uncaught_count_is_per_task);
	tcase_add_test(tc, caller_keeps_its_exception);
	tcase_add_test(tc, join_keeps_exception);
	tcase_add_exit_test(tc, escaping_exception_terminates, 42);
	return test_run(s);
}
