/* SPDX-License-Identifier: MIT */
/*
 * The unit tests' few checks. A failed CHECK prints where and what, and the test goes on, so one run shows
 * every failure; main returns tap_status().
 */
#ifndef NB_TEST_TAP_H
#define NB_TEST_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static unsigned tap_checks, tap_failures;

#define CHECK(cond)                                                                                          \
	do {                                                                                                 \
		tap_checks++;                                                                                \
		if (!(cond)) {                                                                               \
			tap_failures++;                                                                      \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);             \
		}                                                                                            \
	} while (0)

#define CHECK_MSG(cond, ...)                                                                                 \
	do {                                                                                                 \
		tap_checks++;                                                                                \
		if (!(cond)) {                                                                               \
			tap_failures++;                                                                      \
			fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);             \
			fprintf(stderr, __VA_ARGS__);                                                        \
			fputc('\n', stderr);                                                                 \
		}                                                                                            \
	} while (0)

#define CHECK_INT(a, b)                                                                                      \
	do {                                                                                                 \
		long long va_ = (long long)(a), vb_ = (long long)(b);                                        \
		CHECK_MSG(va_ == vb_, "%s = %lld, expected %s = %lld", #a, va_, #b, vb_);                    \
	} while (0)

#define CHECK_U64(a, b)                                                                                      \
	do {                                                                                                 \
		uint64_t va_ = (uint64_t)(a), vb_ = (uint64_t)(b);                                           \
		CHECK_MSG(va_ == vb_, "%s = %" PRIu64 ", expected %s = %" PRIu64, #a, va_, #b, vb_);         \
	} while (0)

#define CHECK_STR(a, b)                                                                                      \
	do {                                                                                                 \
		const char *sa_ = (a), *sb_ = (b);                                                           \
		CHECK_MSG(sa_ &&sb_ && !strcmp(sa_, sb_), "%s = \"%s\", expected \"%s\"", #a,                \
			  sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                                       \
	} while (0)

static inline int tap_status(const char *name)
{
	fprintf(stderr, "%s: %u checks, %u failed\n", name, tap_checks, tap_failures);
	return tap_failures ? 1 : 0;
}

#endif
