/* SPDX-License-Identifier: MIT */
#include "nbench/sysinfo.h"
#include "tap.h"

static void test_get(void)
{
	struct nb_sysinfo s;
	CHECK_INT(nb_sysinfo_get(&s), 0);
	CHECK(s.hostname[0] != '\0');
	CHECK(s.kernel[0] != '\0');
	CHECK(s.cpu_model[0] != '\0');
	CHECK(s.ncpus >= 1);
	/* a UUID, without the newline the file ends with */
	CHECK_INT(strlen(s.boot_id), 36);
	CHECK(s.boot_id[8] == '-' && s.boot_id[13] == '-');
	CHECK(!strchr(s.cpu_model, '\n') && !strchr(s.kernel, '\n'));
	fprintf(stderr, "%s | %s | %s | %s | %u\n", s.hostname, s.kernel, s.boot_id, s.cpu_model, s.ncpus);

	struct nb_sysinfo t;
	CHECK_INT(nb_sysinfo_get(&t), 0);
	CHECK_STR(t.boot_id, s.boot_id);
}

static void iso_is(long long ns, const char *want)
{
	char buf[32];
	CHECK_STR(nb_fmt_iso8601(ns, buf, sizeof(buf)), want);
}

static void test_iso8601(void)
{
	iso_is(0, "1970-01-01T00:00:00Z");
	iso_is(999999999, "1970-01-01T00:00:00Z");
	iso_is(1795309323000000000LL, "2026-11-22T01:02:03Z");
	iso_is(1795309323999999999LL, "2026-11-22T01:02:03Z");
	iso_is(-1, "1969-12-31T23:59:59Z");
	iso_is(-1000000000LL, "1969-12-31T23:59:59Z");
	char small[8];
	nb_fmt_iso8601(0, small, sizeof(small));
	CHECK_STR(small, ""); /* does not fit: empty, not cut */
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {TAP_CASE(test_get), TAP_CASE(test_iso8601)};
	return TAP_RUN(cases, argc > 1 ? argv[1] : NULL);
}
