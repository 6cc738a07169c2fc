/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>

#include "nbench/hist.h"
#include "tap.h"

/* splitmix64: a fixed-seed generator, so every run checks the same values */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* uniform in [0, 1) */
static double rng_unit(void)
{
	return (double)(rng() >> 11) / 9007199254740992.0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The exact percentile as the histogram defines it: the ceil(p/100*n)-th smallest value, with the rank in
 * integers (p/100*n in doubles is 999.0000000000001 for p = 99.9, n = 1000). */
static int64_t exact_percentile(const int64_t *sorted, size_t n, double p)
{
	uint64_t ppm = (uint64_t)llround(p * 10000);
	size_t rank = (size_t)(((unsigned __int128)n * ppm + 999999) / 1000000);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

static const double percentiles[] = {0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100};

/* Records vals, then checks count, min, max, mean exactly and every percentile within 1% of the exact one. */
static void check_distribution(const char *name, int64_t *vals, size_t n)
{
	struct nb_hist *h;
	CHECK_INT(nb_hist_new(&h), 0);
	if (!h)
		return;
	unsigned __int128 sum = 0;
	for (size_t i = 0; i < n; i++) {
		CHECK(nb_hist_record(h, vals[i]));
		sum += (unsigned __int128)vals[i];
	}
	qsort(vals, n, sizeof(*vals), cmp_i64);
	CHECK_U64(h->count, n);
	CHECK_INT(h->min_ns, vals[0]);
	CHECK_INT(h->max_ns, vals[n - 1]);
	double mean = (double)sum / (double)n;
	CHECK_MSG(fabs(nb_hist_mean(h) - mean) <= 1e-9 * mean, "%s: mean %f, exact %f", name, nb_hist_mean(h),
		  mean);
	for (size_t i = 0; i < sizeof(percentiles) / sizeof(percentiles[0]); i++) {
		double p = percentiles[i];
		int64_t got = nb_hist_percentile(h, p), want = exact_percentile(vals, n, p);
		double rel = fabs((double)(got - want)) / (double)want;
		CHECK_MSG(rel <= 0.01, "%s: p%g = %lld, exact %lld (%.3f%% off)", name, p, (long long)got,
			  (long long)want, rel * 100);
	}
	struct nb_hist_stats st;
	nb_hist_stats(h, &st);
	CHECK_U64(st.count, n);
	CHECK(st.min_ns <= st.p50_ns && st.p50_ns <= st.p90_ns && st.p90_ns <= st.p99_ns &&
	      st.p99_ns <= st.p999_ns && st.p999_ns <= st.max_ns);
	CHECK_INT(st.p50_ns, nb_hist_percentile(h, 50));
	CHECK_INT(st.p999_ns, nb_hist_percentile(h, 99.9));
	nb_hist_free(h);
}

#define N_SAMPLES 200000
#define LO_NS	  100LL
#define HI_NS	  60000000000LL /* 100 ns .. 60 s */

static void test_uniform(void)
{
	int64_t *v = malloc(N_SAMPLES * sizeof(*v));
	for (size_t i = 0; i < N_SAMPLES; i++)
		v[i] = LO_NS + (int64_t)(rng_unit() * (double)(HI_NS - LO_NS));
	check_distribution("uniform", v, N_SAMPLES);
	/* uniform in log space: every magnitude between 100 ns and 60 s gets its share */
	for (size_t i = 0; i < N_SAMPLES; i++)
		v[i] =
		    (int64_t)exp(log((double)LO_NS) + rng_unit() * (log((double)HI_NS) - log((double)LO_NS)));
	check_distribution("log-uniform", v, N_SAMPLES);
	free(v);
}

static void test_exponential(void)
{
	int64_t *v = malloc(N_SAMPLES * sizeof(*v));
	/* mean 50 us above a 5 us floor: an RR latency's shape */
	for (size_t i = 0; i < N_SAMPLES; i++)
		v[i] = 5000 + (int64_t)(-log(1.0 - rng_unit()) * 50000.0);
	check_distribution("exponential", v, N_SAMPLES);
	free(v);
}

static void test_constant(void)
{
	static const int64_t consts[] = {0, 1, 255, 256, 257, 1000, 12345, 65432109, HI_NS, INT64_MAX};
	for (size_t c = 0; c < sizeof(consts) / sizeof(consts[0]); c++) {
		struct nb_hist *h;
		CHECK_INT(nb_hist_new(&h), 0);
		CHECK(nb_hist_record_n(h, consts[c], 1000));
		/* a single value is reported exactly: the midpoint is clamped to [min, max] */
		for (size_t i = 0; i < sizeof(percentiles) / sizeof(percentiles[0]); i++)
			CHECK_MSG(nb_hist_percentile(h, percentiles[i]) == consts[c],
				  "constant %lld: p%g = %lld", (long long)consts[c], percentiles[i],
				  (long long)nb_hist_percentile(h, percentiles[i]));
		struct nb_hist_stats st;
		nb_hist_stats(h, &st);
		CHECK_INT(st.min_ns, consts[c]);
		CHECK_INT(st.max_ns, consts[c]);
		CHECK_MSG(st.mean_ns == (double)consts[c], "constant %lld: mean %f", (long long)consts[c],
			  st.mean_ns);
		CHECK(st.stddev_ns == 0);
		nb_hist_free(h);
	}
}

/* Small values are exact: a few distinct values give exact percentiles. */
static void test_small_exact(void)
{
	struct nb_hist *h;
	CHECK_INT(nb_hist_new(&h), 0);
	for (int64_t v = 1; v <= 100; v++)
		nb_hist_record(h, v);
	CHECK_INT(nb_hist_percentile(h, 50), 50);
	CHECK_INT(nb_hist_percentile(h, 90), 90);
	CHECK_INT(nb_hist_percentile(h, 99), 99);
	CHECK_INT(nb_hist_percentile(h, 100), 100);
	CHECK_INT(nb_hist_percentile(h, 1), 1);
	CHECK_INT(nb_hist_percentile(h, 0.5), 1);
	nb_hist_free(h);
}

static void check_bucket(int64_t v)
{
	unsigned idx = nb_hist_index(v);
	int64_t lo = nb_hist_bucket_low(idx), hi = nb_hist_bucket_high(idx);
	CHECK_MSG(idx < NB_HIST_BUCKETS, "index(%lld) = %u out of range", (long long)v, idx);
	CHECK_MSG(lo <= v && v <= hi, "value %lld outside its bucket %u [%lld, %lld]", (long long)v, idx,
		  (long long)lo, (long long)hi);
	/* a bucket is at most 1/128 of its value wide, so the midpoint is within 0.4% of anything in it */
	CHECK_MSG((double)(hi - lo) <= (double)lo / NB_HIST_SUB_COUNT, "bucket %u [%lld, %lld] too wide", idx,
		  (long long)lo, (long long)hi);
	double mid = (double)lo + (double)(hi - lo) / 2;
	if (v > 0)
		CHECK_MSG(fabs(mid - (double)v) / (double)v <= 0.004,
			  "midpoint %f of bucket %u is far from %lld", mid, idx, (long long)v);
}

static void test_buckets(void)
{
	/* exact low range */
	for (int64_t v = 0; v < 2 * NB_HIST_SUB_COUNT; v++) {
		CHECK_INT(nb_hist_index(v), v);
		CHECK_INT(nb_hist_bucket_low((unsigned)v), v);
		CHECK_INT(nb_hist_bucket_high((unsigned)v), v);
	}
	/* every bucket: consecutive, non-overlapping, covering 0 .. INT64_MAX */
	int64_t expect_lo = 0;
	for (unsigned i = 0; i < NB_HIST_BUCKETS; i++) {
		int64_t lo = nb_hist_bucket_low(i), hi = nb_hist_bucket_high(i);
		CHECK_MSG(lo == expect_lo, "bucket %u starts at %lld, expected %lld", i, (long long)lo,
			  (long long)expect_lo);
		CHECK(hi >= lo);
		CHECK_INT(nb_hist_index(lo), i);
		CHECK_INT(nb_hist_index(hi), i);
		if (i + 1 < NB_HIST_BUCKETS)
			expect_lo = hi + 1;
		else
			CHECK_INT(hi, INT64_MAX);
	}
	/* powers of two and their neighbours, and random values of every magnitude */
	for (int s = 0; s < 63; s++) {
		int64_t p = (int64_t)1 << s;
		check_bucket(p);
		check_bucket(p - 1);
		check_bucket(p + 1);
	}
	check_bucket(INT64_MAX);
	check_bucket(INT64_MAX - 1);
	for (int i = 0; i < 100000; i++) {
		int64_t v = (int64_t)(rng() >> (1 + rng() % 63));
		check_bucket(v);
	}
}

static void test_merge(void)
{
	struct nb_hist *a, *b, *all;
	CHECK_INT(nb_hist_new(&a), 0);
	CHECK_INT(nb_hist_new(&b), 0);
	CHECK_INT(nb_hist_new(&all), 0);
	for (int i = 0; i < 50000; i++) {
		int64_t v = 1000 + (int64_t)(-log(1.0 - rng_unit()) * 30000.0);
		nb_hist_record(i % 3 ? a : b, v);
		nb_hist_record(all, v);
	}
	nb_hist_record(b, 7); /* the smallest value is in b only */
	nb_hist_record(all, 7);
	nb_hist_record(a, 90000000000LL); /* the largest in a only */
	nb_hist_record(all, 90000000000LL);

	nb_hist_merge(a, b);
	CHECK_U64(a->count, all->count);
	CHECK_INT(a->min_ns, all->min_ns);
	CHECK_INT(a->max_ns, all->max_ns);
	CHECK(a->sum_ns == all->sum_ns);
	CHECK(memcmp(a->counts, all->counts, sizeof(a->counts)) == 0);
	struct nb_hist_stats sa, sall;
	nb_hist_stats(a, &sa);
	nb_hist_stats(all, &sall);
	CHECK(memcmp(&sa, &sall, sizeof(sa)) == 0);

	/* merging an empty histogram changes nothing; merging into an empty one copies */
	struct nb_hist *empty;
	CHECK_INT(nb_hist_new(&empty), 0);
	nb_hist_merge(a, empty);
	CHECK_U64(a->count, all->count);
	CHECK_INT(a->min_ns, all->min_ns);
	nb_hist_merge(empty, all);
	CHECK_U64(empty->count, all->count);
	CHECK_INT(empty->min_ns, all->min_ns);
	CHECK_INT(empty->max_ns, all->max_ns);
	CHECK_INT(nb_hist_percentile(empty, 99), nb_hist_percentile(all, 99));

	nb_hist_free(a);
	nb_hist_free(b);
	nb_hist_free(all);
	nb_hist_free(empty);
	nb_hist_free(NULL);
}

static void test_empty_and_invalid(void)
{
	struct nb_hist *h;
	struct nb_hist_stats st;
	CHECK_INT(nb_hist_new(&h), 0);
	CHECK_U64(h->count, 0);
	CHECK_INT(nb_hist_percentile(h, 50), 0);
	CHECK_INT(nb_hist_percentile(h, 100), 0);
	CHECK(nb_hist_mean(h) == 0);
	memset(&st, 0xff, sizeof(st));
	nb_hist_stats(h, &st);
	CHECK_U64(st.count, 0);
	CHECK_INT(st.min_ns, 0);
	CHECK_INT(st.max_ns, 0);
	CHECK_INT(st.p99_ns, 0);
	CHECK(st.mean_ns == 0 && st.stddev_ns == 0);

	CHECK(!nb_hist_record(h, -1));
	CHECK(!nb_hist_record(h, INT64_MIN));
	CHECK(!nb_hist_record_n(h, -5, 10));
	CHECK_U64(h->count, 0);
	CHECK_INT(nb_hist_percentile(h, 50), 0);

	/* reset empties */
	nb_hist_record(h, 5);
	nb_hist_reset(h);
	CHECK_U64(h->count, 0);
	nb_hist_stats(h, &st);
	CHECK_U64(st.count, 0);
	nb_hist_free(h);
}

static void test_huge(void)
{
	struct nb_hist *h;
	CHECK_INT(nb_hist_new(&h), 0);
	CHECK(nb_hist_record(h, INT64_MAX));
	CHECK(nb_hist_record(h, INT64_MAX));
	CHECK(nb_hist_record(h, INT64_MAX - 1000));
	CHECK(nb_hist_record(h, 1));
	CHECK_INT(h->max_ns, INT64_MAX);
	CHECK_INT(nb_hist_percentile(h, 100), INT64_MAX);
	int64_t p50 = nb_hist_percentile(h, 50);
	CHECK_MSG(fabs((double)p50 - (double)INT64_MAX) / (double)INT64_MAX < 0.004, "p50 %lld",
		  (long long)p50);
	/* the sum does not overflow: it is 128 bits */
	double mean = nb_hist_mean(h);
	double want = (3.0 * (double)INT64_MAX + 1) / 4;
	CHECK_MSG(fabs(mean - want) / want < 1e-12, "mean %g, want %g", mean, want);
	struct nb_hist_stats st;
	nb_hist_stats(h, &st);
	CHECK(st.min_ns == 1 && st.max_ns == INT64_MAX);
	CHECK(isfinite(st.stddev_ns) && st.stddev_ns > 0);
	nb_hist_free(h);
}

/* The rank of a percentile is exact: with 1000 values p99.9 is the 999th smallest, not the largest.
 * 99.9 / 100 * 1000 is 999.0000000000001 in doubles, so a plain ceil() picks rank 1000. */
static void test_rank(void)
{
	struct nb_hist *h;
	CHECK_INT(nb_hist_new(&h), 0);
	nb_hist_record_n(h, 10, 999);
	nb_hist_record(h, 200);
	CHECK_INT(nb_hist_percentile(h, 99.9), 10);
	CHECK_INT(nb_hist_percentile(h, 100), 200);
	nb_hist_reset(h);
	nb_hist_record_n(h, 10, 9990);
	nb_hist_record_n(h, 200, 10);
	CHECK_INT(nb_hist_percentile(h, 99.9), 10);
	CHECK_INT(nb_hist_percentile(h, 99.91), 200);
	nb_hist_free(h);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {
	    TAP_CASE(test_buckets),	      TAP_CASE(test_uniform),	  TAP_CASE(test_exponential),
	    TAP_CASE(test_constant),	      TAP_CASE(test_small_exact), TAP_CASE(test_merge),
	    TAP_CASE(test_empty_and_invalid), TAP_CASE(test_huge),	  TAP_CASE(test_rank),
	};
	return TAP_RUN(cases, argc > 1 ? argv[1] : NULL);
}
