/* SPDX-License-Identifier: MIT */
/* Time as int64 nanoseconds: CLOCK_MONOTONIC for everything measured, CLOCK_REALTIME only for timestamps. */
#ifndef NBENCH_CLOCK_H
#define NBENCH_CLOCK_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

#define NB_NS_PER_S  1000000000LL
#define NB_NS_PER_MS 1000000LL
#define NB_NS_PER_US 1000LL

/* CLOCK_MONOTONIC in int64 ns: one read per event. */
static inline int64_t nb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NB_NS_PER_S + ts.tv_nsec;
}

/* CLOCK_REALTIME in int64 ns, for timestamps (nb_fmt_iso8601) and pthread_timedjoin_np. */
static inline int64_t nb_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NB_NS_PER_S + ts.tv_nsec;
}

/* A timespec of ns >= 0 (an instant of either clock, or a duration). */
static inline struct timespec nb_ns_to_ts(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / NB_NS_PER_S, .tv_nsec = ns % NB_NS_PER_S};
	return ts;
}

/* Sleeps until the CLOCK_MONOTONIC instant t_ns (at once if it has passed); a signal does not cut it short.
 */
static inline void nb_sleep_until(int64_t t_ns)
{
	struct timespec ts = nb_ns_to_ts(t_ns);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

#endif
