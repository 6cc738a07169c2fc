/* SPDX-License-Identifier: MIT */
/*
 * Parsing of the CLI's quantities. Each returns 0 or -EINVAL (malformed), -ERANGE (out of the type's range).
 * Suffixes are case-sensitive where SI and binary differ.
 */
#ifndef NBENCH_UNITS_H
#define NBENCH_UNITS_H

#include <stdint.h>

/* Byte sizes: "100", "64K", "1M", "2G" (binary: K = 1024), also "64KiB"/"64k". No negatives, no fractions. */
int nb_parse_bytes(const char *s, uint64_t *ret);
/* Durations: "10" (seconds), "2.5", "500ms", "100us", "1s", "2m"; to nanoseconds. No negatives. */
int nb_parse_duration(const char *s, int64_t *ret_ns);
/* Rates: "1000", "10k", "1.5M" (SI: k = 1000) per second. Must be finite and >= 0. */
int nb_parse_rate(const char *s, double *ret);
/* Plain unsigned integer in [min, max]; -ERANGE outside. */
int nb_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
/* "REQ,RESP" byte sizes (each as nb_parse_bytes); a single value sets both. */
int nb_parse_size_pair(const char *s, uint64_t *ret_a, uint64_t *ret_b);

/* Formatting: "9.41 Gbit/s" (SI, bits), "12.3 us" etc. Write into buf, return buf. */
const char *nb_fmt_bps(double bps, char *buf, unsigned len);
const char *nb_fmt_ns(double ns, char *buf, unsigned len);
const char *nb_fmt_bytes(double bytes, char *buf, unsigned len);

#endif
