/* SPDX-License-Identifier: MIT */
/*
 * Parsing and formatting of the CLI's and the text report's quantities. Each parser returns 0, -EINVAL
 * (malformed or NULL) or -ERANGE (out of the type's range), and writes *ret only on success. Suffixes are
 * case-sensitive ("m" is minutes, "M" mega), except that k and K mean the same: 1024 in a byte size, 1000 in
 * a rate.
 */
#ifndef NBENCH_UNITS_H
#define NBENCH_UNITS_H

#include <stdint.h>

/* Byte sizes: "100", "64K", "1M", "2G", "1T" (binary: K = 1024), also "B", "64KiB", "64KB", "64k". No
 * negatives, no fractions. */
int nb_parse_bytes(const char *s, uint64_t *ret);
/* Durations: "10" (seconds), "2.5", "500ms", "100us", "250ns", "1s", "2m" or "2min", "1h"; to nanoseconds,
 * rounded. No negatives, no exponents. */
int nb_parse_duration(const char *s, int64_t *ret_ns);
/* Rates: "1000", "10k", "1.5M", "2G", "1T" (SI: k = 1000) per second. Finite and >= 0. */
int nb_parse_rate(const char *s, double *ret);
/* Plain unsigned integer in [min, max]; -ERANGE outside. */
int nb_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
/* "REQ,RESP" byte sizes (each as nb_parse_bytes); a single value sets both. */
int nb_parse_size_pair(const char *s, uint64_t *ret_a, uint64_t *ret_b);
/* A percentage: a number (strtod's form) with an optional '%' ("5", "2.5%"), finite; the caller checks its
 * range. */
int nb_parse_pct(const char *s, double *ret);

/* Formatting into buf, which is returned: bits/s in SI units ("9.41 Gbit/s"), nanoseconds up to seconds
 * ("12.3 us"), bytes in binary units ("1.50 MiB"). Two decimals below 100, one above, none in the first unit
 * ("850 ns"); NaN is "-". */
const char *nb_fmt_bps(double bps, char *buf, unsigned len);
const char *nb_fmt_ns(double ns, char *buf, unsigned len);
const char *nb_fmt_bytes(double bytes, char *buf, unsigned len);

#endif
