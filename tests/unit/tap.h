/* SPDX-License-Identifier: MIT */
/*
 * The unit tests' few checks and their runner. A failed CHECK prints where and what, and the case goes on,
 * so one run shows every failure. main lists its cases and returns tap_run(): each case runs in a child
 * process, so a crash, an abort or a leak report names its case, and one case cannot corrupt the next.
 * Output is TAP (meson's protocol : 'tap' shows each case).
 */
#ifndef NB_TEST_TAP_H
#define NB_TEST_TAP_H

#include <dirent.h>
#include <inttypes.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* For a test not yet on tap_run: the summary line; 0 when every check held, else 1. */
static inline int tap_status(const char *name)
{
	fprintf(stderr, "%s: %u checks, %u failed\n", name, tap_checks, tap_failures);
	return tap_failures ? 1 : 0;
}

struct tap_case {
	const char *name;
	void (*fn)(void);
};
#define TAP_CASE(fn)                                                                                         \
	{                                                                                                    \
#fn, fn                                                                                      \
	}

/* Open file descriptors of this process (a case that leaks one fails, as in wayland's runner). */
static inline int tap_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* In the child: runs the case; the exit status says whether every check held and no fd leaked. */
static inline void tap_child(const struct tap_case *tc)
{
	int fds = tap_count_fds();
	tc->fn();
	int leaked = tap_count_fds() - fds;
	if (leaked > 0)
		fprintf(stderr, "%s: %d file descriptor(s) left open\n", tc->name, leaked);
	fprintf(stderr, "%s: %u checks, %u failed\n", tc->name, tap_checks, tap_failures);
	exit(tap_failures || leaked > 0 ? 1 : 0);
}

/* Runs one case in a child; true when it exited 0. Prints its TAP line. */
static inline bool tap_fork(const struct tap_case *tc, unsigned num)
{
	int status;
	fflush(NULL); /* or the child would print what is buffered again */
	pid_t pid = fork();
	if (pid < 0) {
		printf("not ok %u - %s # fork failed\n", num, tc->name);
		return false;
	}
	if (pid == 0)
		tap_child(tc);
	while (waitpid(pid, &status, 0) < 0)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		printf("ok %u - %s\n", num, tc->name);
		return true;
	}
	if (WIFSIGNALED(status))
		printf("not ok %u - %s # killed by signal %d (%s)\n", num, tc->name, WTERMSIG(status),
		       strsignal(WTERMSIG(status)));
	else
		printf("not ok %u - %s # exit status %d\n", num, tc->name, WEXITSTATUS(status));
	return false;
}

/* Runs the n cases (only the one called only, when not NULL), each forked. 0 when all passed, else 1. */
static inline int tap_run(const struct tap_case *cases, size_t n, const char *only)
{
	unsigned planned = 0, failed = 0, num = 0;
	for (size_t i = 0; i < n; i++)
		planned += !only || !strcmp(cases[i].name, only);
	if (!planned) {
		fprintf(stderr, "no case called %s\n", only);
		return 1;
	}
	printf("1..%u\n", planned);
	for (size_t i = 0; i < n; i++)
		if (!only || !strcmp(cases[i].name, only))
			failed += !tap_fork(&cases[i], ++num);
	return failed ? 1 : 0;
}
#define TAP_RUN(cases, only) tap_run(cases, sizeof(cases) / sizeof(cases[0]), only)

#endif
