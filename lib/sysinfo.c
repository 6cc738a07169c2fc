/* SPDX-License-Identifier: MIT */
#include "nbench/sysinfo.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* Copies src into dst[len], truncating, always terminated; trims trailing blanks and newlines. */
static void copy_trim(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);
	memmove(dst, src, n);
	while (n && isspace((unsigned char)dst[n - 1]))
		n--;
	dst[n] = '\0';
}

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char *s = fgets(buf, (int)len, f);
	fclose(f);
	if (!s)
		return -EIO;
	copy_trim(buf, len, buf);
	return 0;
}

/* The CPU's name from /proc/cpuinfo: "model name" on x86, other keys elsewhere. */
static void cpu_model(char *buf, size_t len)
{
	static const char *const keys[] = {"model name", "Hardware", "cpu model", "Processor", "cpu"};
	char line[512];
	char found[sizeof(keys) / sizeof(keys[0])][128] = {{0}};
	FILE *f = fopen("/proc/cpuinfo", "re");

	copy_trim(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		char *end = colon;
		while (end > line && isspace((unsigned char)end[-1]))
			end--;
		*end = '\0';
		const char *val = colon + 1;
		while (isspace((unsigned char)*val))
			val++;
		for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!found[i][0] && !strcmp(line, keys[i]))
				copy_trim(found[i], sizeof(found[i]), val);
	}
	fclose(f);
	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (found[i][0]) {
			copy_trim(buf, len, found[i]);
			return;
		}
	}
}

int nb_sysinfo_get(struct nb_sysinfo *ret)
{
	struct utsname u;

	memset(ret, 0, sizeof(*ret));
	if (uname(&u) < 0)
		return -errno;
	copy_trim(ret->hostname, sizeof(ret->hostname), u.nodename);
	copy_trim(ret->kernel, sizeof(ret->kernel), u.release);
	if (read_line("/proc/sys/kernel/random/boot_id", ret->boot_id, sizeof(ret->boot_id)) < 0)
		ret->boot_id[0] = '\0'; /* unknown: never equal to another host's */
	cpu_model(ret->cpu_model, sizeof(ret->cpu_model));
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	ret->ncpus = n > 0 ? (unsigned)n : 1;
	return 0;
}

const char *nb_fmt_iso8601(long long realtime_ns, char *buf, unsigned len)
{
	long long s = realtime_ns / 1000000000LL;
	if (realtime_ns < 0 && realtime_ns % 1000000000LL)
		s--; /* floor: -0.5 s is 23:59:59 of the day before */
	time_t t = (time_t)s;
	struct tm tm;
	if (!len)
		return buf;
	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		buf[0] = '\0';
	return buf;
}
