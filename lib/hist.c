/* SPDX-License-Identifier: MIT */
#include "nbench/hist.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void nb_hist_reset(struct nb_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min_ns = INT64_MAX;
	h->max_ns = 0;
}

int nb_hist_new(struct nb_hist **ret)
{
	struct nb_hist *h = malloc(sizeof(*h));
	if (!h)
		return -ENOMEM;
	nb_hist_reset(h);
	*ret = h;
	return 0;
}

void nb_hist_free(struct nb_hist *h)
{
	free(h);
}

unsigned nb_hist_index(int64_t v)
{
	uint64_t u = (uint64_t)v;
	if (u < 2 * NB_HIST_SUB_COUNT)
		return (unsigned)u;
	unsigned msb = 63 - (unsigned)__builtin_clzll(u);
	unsigned shift = msb - NB_HIST_SUB_BITS;
	/* (u >> shift) is in [SUB_COUNT, 2*SUB_COUNT) */
	return shift * NB_HIST_SUB_COUNT + (unsigned)(u >> shift);
}

static unsigned idx_shift(unsigned idx)
{
	if (idx < 2 * NB_HIST_SUB_COUNT)
		return 0;
	return idx / NB_HIST_SUB_COUNT - 1;
}

int64_t nb_hist_bucket_low(unsigned idx)
{
	unsigned shift = idx_shift(idx);
	if (shift == 0)
		return idx;
	uint64_t top = idx - shift * NB_HIST_SUB_COUNT;
	return (int64_t)(top << shift);
}

int64_t nb_hist_bucket_high(unsigned idx)
{
	unsigned shift = idx_shift(idx);
	return nb_hist_bucket_low(idx) + (int64_t)((1ULL << shift) - 1);
}

bool nb_hist_record_n(struct nb_hist *h, int64_t v, uint64_t n)
{
	if (v < 0)
		return false;
	h->counts[nb_hist_index(v)] += n;
	h->count += n;
	h->sum_ns += (unsigned __int128)v * n;
	if (v < h->min_ns)
		h->min_ns = v;
	if (v > h->max_ns)
		h->max_ns = v;
	return true;
}

bool nb_hist_record(struct nb_hist *h, int64_t v)
{
	return nb_hist_record_n(h, v, 1);
}

void nb_hist_merge(struct nb_hist *dst, const struct nb_hist *src)
{
	if (!src->count)
		return;
	for (unsigned i = 0; i < NB_HIST_BUCKETS; i++)
		dst->counts[i] += src->counts[i];
	dst->count += src->count;
	dst->sum_ns += src->sum_ns;
	if (src->min_ns < dst->min_ns)
		dst->min_ns = src->min_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
}

static int64_t clamp(const struct nb_hist *h, int64_t v)
{
	if (v < h->min_ns)
		return h->min_ns;
	if (v > h->max_ns)
		return h->max_ns;
	return v;
}

int64_t nb_hist_percentile(const struct nb_hist *h, double p)
{
	if (!h->count)
		return 0;
	if (p <= 0)
		return h->min_ns;
	if (p >= 100)
		return h->max_ns;
	/* the rank in integers: 99.9/100*1000 is 999.0000000000001 in floating point, whose ceil is wrong */
	uint64_t ppm = (uint64_t)llround(p * 10000);
	uint64_t rank = (uint64_t)(((unsigned __int128)h->count * ppm + 999999) / 1000000);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < NB_HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			int64_t lo = nb_hist_bucket_low(i), hi = nb_hist_bucket_high(i);
			return clamp(h, lo + (hi - lo) / 2);
		}
	}
	return h->max_ns;
}

double nb_hist_mean(const struct nb_hist *h)
{
	if (!h->count)
		return 0;
	return (double)h->sum_ns / (double)h->count;
}

void nb_hist_stats(const struct nb_hist *h, struct nb_hist_stats *r)
{
	memset(r, 0, sizeof(*r));
	r->count = h->count;
	if (!h->count)
		return;
	r->min_ns = h->min_ns;
	r->max_ns = h->max_ns;
	r->mean_ns = nb_hist_mean(h);
	double var = 0;
	for (unsigned i = 0; i < NB_HIST_BUCKETS; i++) {
		if (!h->counts[i])
			continue;
		int64_t lo = nb_hist_bucket_low(i), hi = nb_hist_bucket_high(i);
		double d = (double)clamp(h, lo + (hi - lo) / 2) - r->mean_ns;
		var += d * d * (double)h->counts[i];
	}
	r->stddev_ns = sqrt(var / (double)h->count);
	r->p50_ns = nb_hist_percentile(h, 50);
	r->p90_ns = nb_hist_percentile(h, 90);
	r->p99_ns = nb_hist_percentile(h, 99);
	r->p999_ns = nb_hist_percentile(h, 99.9);
}
