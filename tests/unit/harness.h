/* SPDX-License-Identifier: MIT */
/*
 * A tiny unit-test harness: TEST() functions registered in a table by
 * unit_main.c, CHECK*() macros that record failures without aborting the
 * test, and one closing line "N passed, N failed".
 */
#ifndef EMBER_TEST_HARNESS_H
#define EMBER_TEST_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

extern int harness_failed_checks;
extern const char *harness_current;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "  %s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__,     \
				harness_current, #cond);                                           \
			harness_failed_checks++;                                                   \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                   \
		if (a_ != b_) {                                                                    \
			fprintf(stderr,                                                            \
				"  %s:%d: %s: %s == %s failed (0x%" PRIx64 " != 0x%" PRIx64 ")\n",  \
				__FILE__, __LINE__, harness_current, #a, #b, a_, b_);               \
			harness_failed_checks++;                                                   \
		}                                                                                  \
	} while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                                            \
	do {                                                                                       \
		if (!strstr((hay), (needle))) {                                                    \
			fprintf(stderr, "  %s:%d: %s: \"%s\" does not contain \"%s\"\n", __FILE__,  \
				__LINE__, harness_current, (hay), (needle));                       \
			harness_failed_checks++;                                                   \
		}                                                                                  \
	} while (0)

#define TEST(name) void name(void)



struct test_case {
	const char *name;
	void (*fn)(void);
};

struct test_suite {
	const char *name;
	const struct test_case *cases;
	unsigned ncases;
};

#define T(fn) { #fn, fn }
#define SUITE(sname, ...)                                                                          \
	static const struct test_case sname##_cases[] = { __VA_ARGS__ };                           \
	const struct test_suite suite_##sname = { #sname, sname##_cases,                          \
						  sizeof(sname##_cases) / sizeof(sname##_cases[0]) }
#endif
