/* SPDX-License-Identifier: MIT */
/* The statistics of rounds (paired.h): paired ratios and deltas, their intervals, projection, outliers. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nbench/paired.h"
#include "nbench/stats.h"

uint64_t nb_rng_next(struct nb_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

unsigned nb_rng_below(struct nb_rng *r, unsigned n)
{
	/* the top bits times n: unbiased enough for n far below 2^32 (rounds, cells) */
	return (unsigned)(((nb_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

double nb_rng_normal(struct nb_rng *r)
{
	double u1 = ((double)(nb_rng_next(r) >> 11) + 1) / 9007199254740993.0; /* (0, 1] */
	double u2 = (double)(nb_rng_next(r) >> 11) / 9007199254740992.0;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

const char *nb_paired_method_name(enum nb_paired_method m)
{
	return m == NB_PAIRED_T ? "t" : m == NB_PAIRED_BOOTSTRAP ? "bootstrap" : "none";
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The bootstrap percentile interval of the mean of d: resamples of n indices drawn from seed. */
static void bootstrap(const double *d, unsigned n, double level, uint64_t seed, double *lo, double *hi)
{
	static _Thread_local double means[NB_PAIRED_BOOT_N];
	struct nb_rng r = {seed};
	for (unsigned b = 0; b < NB_PAIRED_BOOT_N; b++) {
		double sum = 0;
		for (unsigned i = 0; i < n; i++)
			sum += d[nb_rng_below(&r, n)];
		means[b] = sum / n;
	}
	qsort(means, NB_PAIRED_BOOT_N, sizeof(means[0]), cmp_double);
	double tail = (1 - level / 100) / 2;
	unsigned k = (unsigned)floor(tail * NB_PAIRED_BOOT_N);
	*lo = means[k];
	*hi = means[NB_PAIRED_BOOT_N - 1 - k];
}

struct nb_paired_mean nb_paired_mean_of(const double *d, unsigned n, double level, uint64_t seed)
{
	n = n > NB_PAIRED_MAX ? NB_PAIRED_MAX : n;
	struct nb_stat s = nb_stat_of(d, n, level);
	struct nb_paired_mean m = {.mean = s.mean, .sd = s.sd, .n = n, .lo = NAN, .hi = NAN};
	if (n < 2)
		return m;
	m.method = NB_PAIRED_T;
	m.lo = s.mean - s.ci;
	m.hi = s.mean + s.ci;
	if (n >= NB_PAIRED_BOOT_MIN) {
		double blo, bhi;
		bootstrap(d, n, level, seed, &blo, &bhi);
		m.method = NB_PAIRED_BOOTSTRAP;
		m.lo = fmin(m.lo, blo);
		m.hi = fmax(m.hi, bhi);
	}
	return m;
}

/* Pearson's r of a and b; NAN when either has no spread. */
static double pearson(const double *a, const double *b, unsigned n)
{
	double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
	for (unsigned i = 0; i < n; i++)
		ma += a[i], mb += b[i];
	ma /= n, mb /= n;
	for (unsigned i = 0; i < n; i++) {
		sab += (a[i] - ma) * (b[i] - mb);
		saa += (a[i] - ma) * (a[i] - ma);
		sbb += (b[i] - mb) * (b[i] - mb);
	}
	return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : NAN;
}

/* The logs of v into out; false when a value is not positive (or not finite). */
static bool logs(const double *v, unsigned n, double *out)
{
	for (unsigned i = 0; i < n; i++) {
		if (!(v[i] > 0) || !isfinite(v[i]))
			return false;
		out[i] = log(v[i]);
	}
	return true;
}

/* Welch's interval of mean(b) - mean(a) as [lo, hi] around their difference; NAN without one. */
static void welch(const double *b, unsigned nb, const double *a, unsigned na, double level, double *lo,
		  double *hi)
{
	struct nb_stat sa = nb_stat_of(a, na, level), sb = nb_stat_of(b, nb, level);
	enum nb_stat_test t;
	double half = na >= 2 && nb >= 2 ? nb_stat_diff_halfwidth(&sa, &sb, level, &t) : NAN;
	*lo = sb.mean - sa.mean - half;
	*hi = sb.mean - sa.mean + half;
}

static void ratio_bounds(struct nb_ratio *r, double m, double lo, double hi)
{
	r->ratio = exp(m);
	r->lo = exp(lo);
	r->hi = exp(hi);
	r->half_pct = isnan(lo) ? NAN : (exp(fmax(hi - m, m - lo)) - 1) * 100;
}

/* A ratio of n pairs with no figure yet (every estimate NaN). */
static struct nb_ratio ratio_none(unsigned n)
{
	return (struct nb_ratio){.ratio = NAN,
				 .lo = NAN,
				 .hi = NAN,
				 .half_pct = NAN,
				 .unpaired_lo = NAN,
				 .unpaired_hi = NAN,
				 .correlation = NAN,
				 .sd_log = NAN,
				 .n = n};
}

int nb_paired_ratio(const double *x, const double *ref, unsigned n, double level, uint64_t seed,
		    struct nb_ratio *ret)
{
	double lx[NB_PAIRED_MAX], lr[NB_PAIRED_MAX], d[NB_PAIRED_MAX], ulo, uhi;
	n = n > NB_PAIRED_MAX ? NB_PAIRED_MAX : n;
	*ret = ratio_none(n);
	if (!n || !logs(x, n, lx) || !logs(ref, n, lr))
		return -EDOM;
	for (unsigned i = 0; i < n; i++)
		d[i] = lx[i] - lr[i];
	struct nb_paired_mean m = nb_paired_mean_of(d, n, level, seed);
	ratio_bounds(ret, m.mean, m.lo, m.hi);
	ret->method = m.method;
	ret->sd_log = m.sd;
	if (n >= 2) {
		welch(lx, n, lr, n, level, &ulo, &uhi);
		ret->unpaired_lo = exp(ulo);
		ret->unpaired_hi = exp(uhi);
		ret->correlation = pearson(lx, lr, n);
	}
	return 0;
}

int nb_paired_ratio_unpaired(const double *b, unsigned nb, const double *a, unsigned na, double level,
			     struct nb_ratio *ret)
{
	double lb[NB_PAIRED_MAX], la[NB_PAIRED_MAX], lo, hi;
	nb = nb > NB_PAIRED_MAX ? NB_PAIRED_MAX : nb;
	na = na > NB_PAIRED_MAX ? NB_PAIRED_MAX : na;
	*ret = ratio_none(na < nb ? na : nb);
	if (!na || !nb || !logs(b, nb, lb) || !logs(a, na, la))
		return -EDOM;
	struct nb_stat sa = nb_stat_of(la, na, level), sb = nb_stat_of(lb, nb, level);
	welch(lb, nb, la, na, level, &lo, &hi);
	ratio_bounds(ret, sb.mean - sa.mean, lo, hi);
	ret->method = isnan(lo) ? NB_PAIRED_NONE : NB_PAIRED_T;
	ret->unpaired_lo = ret->lo;
	ret->unpaired_hi = ret->hi;
	return 0;
}

void nb_paired_ratio_guard(struct nb_ratio *r, double pilot_sd, unsigned n0, double level)
{
	if (n0 < 2 || isnan(r->lo) || !isfinite(pilot_sd) || !r->n)
		return;
	double m = log(r->ratio), g = nb_t_quantile(level, n0 - 1) * pilot_sd / sqrt(r->n);
	double lo = fmin(log(r->lo), m - g), hi = fmax(log(r->hi), m + g);
	ratio_bounds(r, m, lo, hi);
}

bool nb_ratio_holds_one(const struct nb_ratio *r)
{
	return r->lo <= 1 && r->hi >= 1;
}

void nb_paired_delta(const double *x, const double *ref, unsigned n, double level, uint64_t seed,
		     struct nb_delta *ret)
{
	double d[NB_PAIRED_MAX] = {0};
	n = n > NB_PAIRED_MAX ? NB_PAIRED_MAX : n;
	for (unsigned i = 0; i < n; i++)
		d[i] = x[i] - ref[i];
	struct nb_paired_mean m = nb_paired_mean_of(d, n, level, seed);
	*ret = (struct nb_delta){.delta = n ? m.mean : NAN,
				 .lo = m.lo,
				 .hi = m.hi,
				 .unpaired_lo = NAN,
				 .unpaired_hi = NAN,
				 .correlation = NAN,
				 .n = n,
				 .method = m.method};
	if (n >= 2) {
		welch(x, n, ref, n, level, &ret->unpaired_lo, &ret->unpaired_hi);
		ret->correlation = pearson(x, ref, n);
	}
}

unsigned nb_paired_rounds_needed(double sd, double target, double level, unsigned min_n, unsigned cap)
{
	if (!isfinite(sd) || !(target > 0))
		return cap;
	for (unsigned n = min_n < 2 ? 2 : min_n; n <= cap; n++)
		if (nb_t_quantile(level, n - 1) * sd / sqrt(n) <= target)
			return n < min_n ? min_n : n;
	return cap;
}

double nb_paired_log_target(double pct)
{
	return log1p(pct / 100);
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

unsigned nb_paired_outliers(const double *v, unsigned n, double *ret_z, bool *ret_flag)
{
	double tmp[NB_PAIRED_MAX];
	unsigned flagged = 0;
	n = n > NB_PAIRED_MAX ? NB_PAIRED_MAX : n;
	if (!n)
		return 0;
	memcpy(tmp, v, n * sizeof(v[0]));
	double med = median(tmp, n);
	for (unsigned i = 0; i < n; i++)
		tmp[i] = fabs(v[i] - med);
	double mad = median(tmp, n);
	for (unsigned i = 0; i < n; i++) {
		double z = mad > 0 ? 0.6745 * (v[i] - med) / mad : 0;
		bool out = fabs(z) > NB_PAIRED_OUTLIER_Z;
		if (ret_z)
			ret_z[i] = z;
		if (ret_flag)
			ret_flag[i] = out;
		flagged += out;
	}
	return flagged;
}
