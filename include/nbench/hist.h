/* SPDX-License-Identifier: MIT */
/*
 * Log-linear latency histogram of int64 nanoseconds (the HdrHistogram shape).
 *
 * Values below 2^(NB_HIST_SUB_BITS+1) are counted exactly; above that every power of two is split into
 * 2^NB_HIST_SUB_BITS equal buckets, so a bucket is at most 1/128 of its value wide and the midpoint we
 * report is within 0.4% of any value it holds, over the whole int64 range (1 ns .. 292 years).
 * min, max, count and the sum are kept exactly. One histogram per thread; merge at the end.
 */
#ifndef NBENCH_HIST_H
#define NBENCH_HIST_H

#include <stdbool.h>
#include <stdint.h>

#define NB_HIST_SUB_BITS  7
#define NB_HIST_SUB_COUNT (1 << NB_HIST_SUB_BITS)
/* The exact range 0 .. 2*SUB_COUNT-1 (two rows of SUB_COUNT), then SUB_COUNT buckets for each power of two
 * from 2^(SUB_BITS+1) to 2^62 (shifts 1 .. 63-SUB_BITS-1): 64-SUB_BITS rows in all. */
#define NB_HIST_BUCKETS ((64 - NB_HIST_SUB_BITS) * NB_HIST_SUB_COUNT)

struct nb_hist {
	uint64_t count;
	int64_t min_ns; /* INT64_MAX while empty */
	int64_t max_ns; /* 0 while empty */
	unsigned __int128 sum_ns;
	uint64_t counts[NB_HIST_BUCKETS]; /* by nb_hist_index */
};

/* Summary figures of a histogram, all in nanoseconds except count; all 0 for an empty one. */
struct nb_hist_stats {
	uint64_t count;
	int64_t min_ns, max_ns;
	double mean_ns, stddev_ns;
	int64_t p50_ns, p90_ns, p99_ns, p999_ns;
};

/* Empties h. */
void nb_hist_reset(struct nb_hist *h);

/* Allocates an empty histogram (57 KB: allocate, do not put one on a stack); 0 or -ENOMEM. Free with
 * nb_hist_free (NULL is fine). */
int nb_hist_new(struct nb_hist **ret);
void nb_hist_free(struct nb_hist *h);

/* Records one value; false (and nothing recorded) when v is negative. */
bool nb_hist_record(struct nb_hist *h, int64_t v_ns);

/* Records n occurrences of v; false (and nothing recorded) when v is negative. */
bool nb_hist_record_n(struct nb_hist *h, int64_t v_ns, uint64_t n);

/* Adds every count of src to dst. */
void nb_hist_merge(struct nb_hist *dst, const struct nb_hist *src);

/* Value at percentile p (0 < p <= 100): the midpoint of the bucket holding the ceil(p/100*count)-th
 * smallest value, clamped to [min, max]. 0 for an empty histogram. */
int64_t nb_hist_percentile(const struct nb_hist *h, double p);

/* The exact mean (from the sum); 0 for an empty histogram. */
double nb_hist_mean(const struct nb_hist *h);

/* Every summary figure; stddev is taken over the bucket midpoints, so it carries their 0.4%. */
void nb_hist_stats(const struct nb_hist *h, struct nb_hist_stats *ret);

/* Bucket helpers, exposed for tests: index of a value, and the lowest/highest value of a bucket. */
unsigned nb_hist_index(int64_t v_ns);
int64_t nb_hist_bucket_low(unsigned idx);
int64_t nb_hist_bucket_high(unsigned idx);

#endif
