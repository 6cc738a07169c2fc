/* SPDX-License-Identifier: MIT */
#include "nbench/units.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct suffix {
	const char *name;
	double mult;
};

/* Reads the decimal digits at the start of s into *ret; returns the number of characters used, 0 when s
 * does not start with a digit, -ERANGE on overflow. No sign, no blanks: strtoull would accept both. */
static int scan_uint(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	int n = 0;
	for (; s[n] >= '0' && s[n] <= '9'; n++) {
		unsigned d = (unsigned)(s[n] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret = v;
	return n;
}

/* Length of a plain decimal number ("12", "1.5", ".5", "3.") at the start of s; 0 if there is none.
 * Signs, exponents, hex, "inf" and "nan" are not numbers here. */
static size_t decimal_len(const char *s)
{
	size_t n = 0, digits = 0;
	while (s[n] >= '0' && s[n] <= '9')
		n++, digits++;
	if (s[n] == '.') {
		n++;
		while (s[n] >= '0' && s[n] <= '9')
			n++, digits++;
	}
	return digits ? n : 0;
}

static const struct suffix *find_suffix(const struct suffix *tab, const char *s)
{
	for (; tab->name; tab++)
		if (!strcmp(tab->name, s))
			return tab;
	return NULL;
}

/* Parses a decimal number followed by one of the suffixes in tab (the empty suffix must be listed to
 * allow a bare number). The result is number x multiplier, finite and >= 0. */
static int parse_scaled(const char *s, const struct suffix *tab, double *ret)
{
	if (!s)
		return -EINVAL;
	size_t n = decimal_len(s);
	if (!n || n >= 64)
		return n ? -ERANGE : -EINVAL;
	const struct suffix *sfx = find_suffix(tab, s + n);
	if (!sfx)
		return -EINVAL;
	char num[64];
	memcpy(num, s, n);
	num[n] = '\0';
	errno = 0;
	double v = strtod(num, NULL);
	if (errno == ERANGE || !isfinite(v))
		return -ERANGE;
	v *= sfx->mult;
	if (!isfinite(v))
		return -ERANGE;
	*ret = v;
	return 0;
}

int nb_parse_bytes(const char *s, uint64_t *ret)
{
	static const struct suffix tab[] = {
	    {"", 1},
	    {"B", 1},
	    {"K", 1ULL << 10},
	    {"k", 1ULL << 10},
	    {"KB", 1ULL << 10},
	    {"kB", 1ULL << 10},
	    {"KiB", 1ULL << 10},
	    {"M", 1ULL << 20},
	    {"MB", 1ULL << 20},
	    {"MiB", 1ULL << 20},
	    {"G", 1ULL << 30},
	    {"GB", 1ULL << 30},
	    {"GiB", 1ULL << 30},
	    {"T", 1ULL << 40},
	    {"TB", 1ULL << 40},
	    {"TiB", 1ULL << 40},
	    {NULL, 0},
	};
	uint64_t v;
	if (!s)
		return -EINVAL;
	int n = scan_uint(s, &v);
	if (n < 0)
		return n;
	if (n == 0)
		return -EINVAL;
	const struct suffix *sfx = find_suffix(tab, s + n);
	if (!sfx)
		return -EINVAL; /* includes fractions such as "1.5K" */
	uint64_t mult = (uint64_t)sfx->mult;
	if (v && mult > UINT64_MAX / v)
		return -ERANGE;
	*ret = v * mult;
	return 0;
}

int nb_parse_duration(const char *s, int64_t *ret_ns)
{
	static const struct suffix tab[] = {
	    {"", 1e9},	 {"s", 1e9},	{"ms", 1e6},   {"us", 1e3}, {"ns", 1},
	    {"m", 60e9}, {"min", 60e9}, {"h", 3600e9}, {NULL, 0},
	};
	double v;
	int r = parse_scaled(s, tab, &v);
	if (r < 0)
		return r;
	v = round(v);
	/* 2^63 is exactly representable; anything at or above it does not fit. */
	if (v >= 9223372036854775808.0)
		return -ERANGE;
	*ret_ns = (int64_t)v;
	return 0;
}

int nb_parse_rate(const char *s, double *ret)
{
	static const struct suffix tab[] = {
	    {"", 1}, {"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {NULL, 0},
	};
	return parse_scaled(s, tab, ret);
}

int nb_parse_pct(const char *s, double *ret)
{
	char *end;
	if (!s)
		return -EINVAL;
	double v = strtod(s, &end);
	if (end == s || (*end && strcmp(end, "%")))
		return -EINVAL;
	if (!isfinite(v))
		return -ERANGE;
	*ret = v;
	return 0;
}

int nb_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	uint64_t v;
	if (!s)
		return -EINVAL;
	int n = scan_uint(s, &v);
	if (n < 0)
		return n;
	if (n == 0 || s[n])
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int nb_parse_size_pair(const char *s, uint64_t *ret_a, uint64_t *ret_b)
{
	if (!s)
		return -EINVAL;
	const char *comma = strchr(s, ',');
	uint64_t a, b;
	int r;
	if (!comma) {
		r = nb_parse_bytes(s, &a);
		if (r < 0)
			return r;
		*ret_a = *ret_b = a;
		return 0;
	}
	size_t n = (size_t)(comma - s);
	char first[64];
	if (n >= sizeof(first))
		return -EINVAL;
	memcpy(first, s, n);
	first[n] = '\0';
	r = nb_parse_bytes(first, &a);
	if (r < 0)
		return r;
	r = nb_parse_bytes(comma + 1, &b);
	if (r < 0)
		return r;
	*ret_a = a;
	*ret_b = b;
	return 0;
}

/*
 * Formatting. Values scale by step through units[] until below the step; below 100 two decimals, above
 * one ("9.41 Gbit/s", "812.3 Mbit/s"); the first unit is printed without decimals ("850 ns", "512 B").
 * The unit is chosen after rounding, so 999.96 Mbit/s prints as "1.00 Gbit/s", never "1000.0 Mbit/s".
 */
static const char *fmt_scaled(double v, double step, const char *const *units, unsigned nunits, char *buf,
			      unsigned len)
{
	if (!buf || !len)
		return buf;
	if (isnan(v)) {
		snprintf(buf, len, "-");
		return buf;
	}
	const char *sign = "";
	if (v < 0) {
		sign = "-";
		v = -v;
	}
	unsigned u = 0;
	if (v >= 999.5) {
		/* find the unit in which the rounded value stays below step */
		for (u = 1; u < nunits; u++) {
			v /= step;
			double rounded = v < 99.995 ? round(v * 100) / 100 : round(v * 10) / 10;
			if (rounded < step || u == nunits - 1)
				break;
		}
	}
	if (u == 0)
		snprintf(buf, len, "%s%.0f %s", sign, v, units[0]);
	else if (v < 99.995)
		snprintf(buf, len, "%s%.2f %s", sign, v, units[u]);
	else
		snprintf(buf, len, "%s%.1f %s", sign, v, units[u]);
	return buf;
}

const char *nb_fmt_bps(double bps, char *buf, unsigned len)
{
	static const char *const units[] = {"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"};
	return fmt_scaled(bps, 1000, units, 5, buf, len);
}

const char *nb_fmt_bytes(double bytes, char *buf, unsigned len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	/* binary units change at 1024, so 1000..1023 bytes stay in B */
	if (fabs(bytes) < 1024) {
		snprintf(buf, len, "%.0f B", bytes);
		return buf;
	}
	return fmt_scaled(bytes, 1024, units, 6, buf, len);
}

const char *nb_fmt_ns(double ns, char *buf, unsigned len)
{
	static const char *const units[] = {"ns", "us", "ms", "s"};
	return fmt_scaled(ns, 1000, units, 4, buf, len);
}
