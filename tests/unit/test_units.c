/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "nbench/units.h"
#include "tap.h"

static void bytes_ok(const char *s, uint64_t want)
{
	uint64_t v = 12345;
	int r = nb_parse_bytes(s, &v);
	CHECK_MSG(r == 0 && v == want, "nb_parse_bytes(\"%s\") = %d, %" PRIu64 "; want %" PRIu64, s, r, v,
		  want);
}

static void bytes_bad(const char *s, int want)
{
	uint64_t v = 12345;
	int r = nb_parse_bytes(s, &v);
	CHECK_MSG(r == want && v == 12345, "nb_parse_bytes(\"%s\") = %d; want %d, untouched result", s, r,
		  want);
}

static void dur_ok(const char *s, int64_t want)
{
	int64_t v = -7;
	int r = nb_parse_duration(s, &v);
	CHECK_MSG(r == 0 && v == want, "nb_parse_duration(\"%s\") = %d, %" PRId64 "; want %" PRId64, s, r, v,
		  want);
}

static void dur_bad(const char *s, int want)
{
	int64_t v = -7;
	int r = nb_parse_duration(s, &v);
	CHECK_MSG(r == want && v == -7, "nb_parse_duration(\"%s\") = %d; want %d", s, r, want);
}

static void rate_ok(const char *s, double want)
{
	double v = -1;
	int r = nb_parse_rate(s, &v);
	CHECK_MSG(r == 0 && fabs(v - want) <= 1e-9 * want, "nb_parse_rate(\"%s\") = %d, %g; want %g", s, r, v,
		  want);
}

static void rate_bad(const char *s, int want)
{
	double v = -1;
	int r = nb_parse_rate(s, &v);
	CHECK_MSG(r == want && v == -1, "nb_parse_rate(\"%s\") = %d; want %d", s, r, want);
}

static void test_bytes(void)
{
	bytes_ok("0", 0);
	bytes_ok("100", 100);
	bytes_ok("64K", 65536);
	bytes_ok("64k", 65536);
	bytes_ok("64KiB", 65536);
	bytes_ok("1M", 1 << 20);
	bytes_ok("1MiB", 1 << 20);
	bytes_ok("2G", 2ULL << 30);
	bytes_ok("3T", 3ULL << 40);
	bytes_ok("1472", 1472);
	bytes_ok("18446744073709551615", UINT64_MAX);
	bytes_ok("16777215T", 16777215ULL << 40);

	bytes_bad(NULL, -EINVAL);
	bytes_bad("", -EINVAL);
	bytes_bad("-1", -EINVAL);
	bytes_bad("+1", -EINVAL);
	bytes_bad(" 1", -EINVAL);
	bytes_bad("1 ", -EINVAL);
	bytes_bad("1x", -EINVAL);
	bytes_bad("1.5K", -EINVAL);
	bytes_bad("K", -EINVAL);
	bytes_bad("0x10", -EINVAL);
	bytes_bad("1Kib", -EINVAL);
	bytes_bad("1KK", -EINVAL);
	bytes_bad("18446744073709551616", -ERANGE);
	bytes_bad("99999999999999999999999", -ERANGE);
	bytes_bad("16777216T", -ERANGE);
	bytes_bad("17179869184G", -ERANGE);
}

static void test_duration(void)
{
	dur_ok("10", 10000000000LL);
	dur_ok("0", 0);
	dur_ok("2.5", 2500000000LL);
	dur_ok("0.5s", 500000000LL);
	dur_ok(".5", 500000000LL);
	dur_ok("500ms", 500000000LL);
	dur_ok("100us", 100000LL);
	dur_ok("250ns", 250);
	dur_ok("1s", 1000000000LL);
	dur_ok("2m", 120000000000LL);
	dur_ok("1h", 3600000000000LL);
	dur_ok("1.5us", 1500);
	dur_ok("86400", 86400000000000LL);
	dur_ok("9223372036", 9223372036000000000LL);

	dur_bad(NULL, -EINVAL);
	dur_bad("", -EINVAL);
	dur_bad("-1", -EINVAL);
	dur_bad("s", -EINVAL);
	dur_bad(".", -EINVAL);
	dur_bad("1x", -EINVAL);
	dur_bad("1 s", -EINVAL);
	dur_bad("1S", -EINVAL);
	dur_bad("nan", -EINVAL);
	dur_bad("inf", -EINVAL);
	dur_bad("1e3", -EINVAL);
	dur_bad("0x10", -EINVAL);
	dur_bad("9223372037", -ERANGE);
	dur_bad("99999999999999999999h", -ERANGE);
}

static void test_rate(void)
{
	rate_ok("1000", 1000);
	rate_ok("0", 0);
	rate_ok("10k", 10000);
	rate_ok("10K", 10000);
	rate_ok("1.5M", 1500000);
	rate_ok("2G", 2e9);
	rate_ok("0.5", 0.5);

	rate_bad(NULL, -EINVAL);
	rate_bad("", -EINVAL);
	rate_bad("-5", -EINVAL);
	rate_bad("nan", -EINVAL);
	rate_bad("NaN", -EINVAL);
	rate_bad("inf", -EINVAL);
	rate_bad("infinity", -EINVAL);
	rate_bad("1m", -EINVAL); /* milli is not a rate suffix; SI and binary differ in case */
	rate_bad("1x", -EINVAL);
	rate_bad("1e3", -EINVAL);
	char big[400];
	memset(big, '9', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rate_bad(big, -ERANGE);
}

static void test_uint(void)
{
	uint64_t v = 99;
	CHECK_INT(nb_parse_uint("5", 1, 10, &v), 0);
	CHECK_U64(v, 5);
	CHECK_INT(nb_parse_uint("1", 1, 10, &v), 0);
	CHECK_INT(nb_parse_uint("10", 1, 10, &v), 0);
	CHECK_U64(v, 10);
	v = 99;
	CHECK_INT(nb_parse_uint("0", 1, 10, &v), -ERANGE);
	CHECK_INT(nb_parse_uint("11", 1, 10, &v), -ERANGE);
	CHECK_INT(nb_parse_uint("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	CHECK_INT(nb_parse_uint("", 0, 10, &v), -EINVAL);
	CHECK_INT(nb_parse_uint("-1", 0, 10, &v), -EINVAL);
	CHECK_INT(nb_parse_uint("1K", 0, 10000, &v), -EINVAL);
	CHECK_INT(nb_parse_uint("3 ", 0, 10, &v), -EINVAL);
	CHECK_U64(v, 99);
	CHECK_INT(nb_parse_uint("18446744073709551615", 0, UINT64_MAX, &v), 0);
	CHECK_U64(v, UINT64_MAX);
}

static void test_size_pair(void)
{
	uint64_t a = 0, b = 0;
	CHECK_INT(nb_parse_size_pair("100,200", &a, &b), 0);
	CHECK_U64(a, 100);
	CHECK_U64(b, 200);
	CHECK_INT(nb_parse_size_pair("1K", &a, &b), 0);
	CHECK_U64(a, 1024);
	CHECK_U64(b, 1024);
	CHECK_INT(nb_parse_size_pair("1,64K", &a, &b), 0);
	CHECK_U64(a, 1);
	CHECK_U64(b, 65536);
	a = b = 7;
	CHECK_INT(nb_parse_size_pair("", &a, &b), -EINVAL);
	CHECK_INT(nb_parse_size_pair(",", &a, &b), -EINVAL);
	CHECK_INT(nb_parse_size_pair("1,", &a, &b), -EINVAL);
	CHECK_INT(nb_parse_size_pair(",1", &a, &b), -EINVAL);
	CHECK_INT(nb_parse_size_pair("1,2,3", &a, &b), -EINVAL);
	CHECK_INT(nb_parse_size_pair("1,-2", &a, &b), -EINVAL);
	CHECK_INT(nb_parse_size_pair("1,99999999999999999999", &a, &b), -ERANGE);
	CHECK_U64(a, 7);
	CHECK_U64(b, 7);
}

static void fmt_is(const char *(*fn)(double, char *, unsigned), double v, const char *want)
{
	char buf[32];
	const char *got = fn(v, buf, sizeof(buf));
	CHECK_MSG(got == buf && !strcmp(got, want), "format(%.17g) = \"%s\", want \"%s\"", v, got, want);
}

static void test_format(void)
{
	fmt_is(nb_fmt_bps, 9.41e9, "9.41 Gbit/s");
	fmt_is(nb_fmt_bps, 812.3e6, "812.3 Mbit/s");
	fmt_is(nb_fmt_bps, 22.5e9, "22.50 Gbit/s");
	fmt_is(nb_fmt_bps, 999.96e6, "1.00 Gbit/s");
	fmt_is(nb_fmt_bps, 1500, "1.50 kbit/s");
	fmt_is(nb_fmt_bps, 800, "800 bit/s");
	fmt_is(nb_fmt_bps, 0, "0 bit/s");
	fmt_is(nb_fmt_bps, 2e15, "2000.0 Tbit/s");

	fmt_is(nb_fmt_ns, 12340, "12.34 us");
	fmt_is(nb_fmt_ns, 1.2e6, "1.20 ms");
	fmt_is(nb_fmt_ns, 850, "850 ns");
	fmt_is(nb_fmt_ns, 999.4, "999 ns");
	fmt_is(nb_fmt_ns, 999.6, "1.00 us");
	fmt_is(nb_fmt_ns, 65200, "65.20 us");
	fmt_is(nb_fmt_ns, 812.3e3, "812.3 us");
	fmt_is(nb_fmt_ns, 10e9, "10.00 s");
	fmt_is(nb_fmt_ns, 3600e9, "3600.0 s");
	fmt_is(nb_fmt_ns, 0, "0 ns");
	fmt_is(nb_fmt_ns, -1500, "-1.50 us");

	fmt_is(nb_fmt_bytes, 1.5 * (1 << 30), "1.50 GiB");
	fmt_is(nb_fmt_bytes, 1000, "1000 B");
	fmt_is(nb_fmt_bytes, 1023, "1023 B");
	fmt_is(nb_fmt_bytes, 1024, "1.00 KiB");
	fmt_is(nb_fmt_bytes, 131072, "128.0 KiB");
	fmt_is(nb_fmt_bytes, 11811160064.0, "11.00 GiB");

	/* a short buffer truncates but stays terminated */
	char small[6];
	nb_fmt_bps(9.41e9, small, sizeof(small));
	CHECK_STR(small, "9.41 ");
}

/* Percentages: a number with an optional '%', any finite value (the caller checks the range). */
static void test_pct(void)
{
	double p = -7;
	CHECK(nb_parse_pct("5%", &p) == 0 && p == 5);
	CHECK(nb_parse_pct("2.5", &p) == 0 && p == 2.5);
	CHECK(nb_parse_pct("-1", &p) == 0 && p == -1);
	p = -7;
	CHECK_INT(nb_parse_pct("5%%", &p), -EINVAL);
	CHECK_INT(nb_parse_pct("", &p), -EINVAL);
	CHECK_INT(nb_parse_pct("x", &p), -EINVAL);
	CHECK_INT(nb_parse_pct(NULL, &p), -EINVAL);
	CHECK_INT(nb_parse_pct("inf", &p), -ERANGE);
	CHECK(p == -7);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {
	    TAP_CASE(test_bytes),     TAP_CASE(test_duration), TAP_CASE(test_rate), TAP_CASE(test_uint),
	    TAP_CASE(test_size_pair), TAP_CASE(test_format),   TAP_CASE(test_pct),
	};
	return TAP_RUN(cases, argc > 1 ? argv[1] : NULL);
}
