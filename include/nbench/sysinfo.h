/* SPDX-License-Identifier: MIT */
/* Facts about the machine that every report and the control handshake carry, and the report's timestamp. */
#ifndef NBENCH_SYSINFO_H
#define NBENCH_SYSINFO_H

struct nb_sysinfo {
	char hostname[64];
	char kernel[128]; /* uname -r */
	char boot_id[40]; /* /proc/sys/kernel/random/boot_id: equal on both ends = same machine */
	char cpu_model[96];
	unsigned ncpus; /* online (at least 1) */
};

/* This machine's facts: cpu_model "unknown" and boot_id "" when they cannot be read. 0, or -errno when
 * uname fails. */
int nb_sysinfo_get(struct nb_sysinfo *ret);

/* "2026-11-22T01:02:03Z" (UTC, whole seconds) from a CLOCK_REALTIME ns value, into buf, which is returned
 * ("" when it does not fit). */
const char *nb_fmt_iso8601(long long realtime_ns, char *buf, unsigned len);

#endif
