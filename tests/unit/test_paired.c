/* SPDX-License-Identifier: MIT */
/*
 * analyze/paired.c against hand-computed cases (paired log-ratios, deltas, the projection, robust z) and
 * against simulation: rounds drawn from a seeded generator with a known ratio and a shared round effect,
 * whose 95% interval must cover the ratio 95% of the time within tolerance, with t (few rounds) and with
 * the bootstrap (many).
 */
#include <math.h>

#include "nbench/paired.h"
#include "nbench/stats.h"
#include "tap.h"

static bool near(double a, double b, double eps)
{
	return fabs(a - b) <= eps;
}

/* log-ratios {0.1, 0.2, 0.3}: mean 0.2, sd 0.1, t(2) 4.303: half-width 4.303 x 0.1 / sqrt(3) = 0.248434. */
static void test_ratio_t(void)
{
	const double ref[] = {1, 2, 4}, x[] = {exp(0.1), 2 * exp(0.2), 4 * exp(0.3)};
	struct nb_ratio r;
	CHECK(nb_paired_ratio(x, ref, 3, 95, 1, &r) == 0);
	CHECK_MSG(near(r.ratio, exp(0.2), 1e-12), "ratio %g", r.ratio);
	CHECK_MSG(near(r.lo, exp(0.2 - 0.248434), 1e-6) && near(r.hi, exp(0.2 + 0.248434), 1e-6), "[%g, %g]",
		  r.lo, r.hi);
	CHECK_MSG(near(r.half_pct, 28.2016, 1e-3), "half %g%%", r.half_pct);
	CHECK(near(r.sd_log, 0.1, 1e-12));
	CHECK_INT(r.n, 3);
	CHECK_STR(nb_paired_method_name(r.method), "t");
	CHECK(nb_ratio_holds_one(&r)); /* [0.953, 1.566] holds 1 */
	/* one pair: the ratio, no interval; a value of 0: no log */
	CHECK(nb_paired_ratio(x, ref, 1, 95, 1, &r) == 0 && near(r.ratio, exp(0.1), 1e-12) && isnan(r.lo) &&
	      r.method == NB_PAIRED_NONE && !nb_ratio_holds_one(&r));
	const double zero[] = {1, 0, 3};
	CHECK(nb_paired_ratio(zero, ref, 3, 95, 1, &r) < 0 && isnan(r.ratio));
}

/* x = 1.1 ref exactly, ref spread over a factor 4: paired, no width at all; unpaired, a wide interval;
 * correlation 1. */
static void test_ratio_pairing(void)
{
	const double ref[] = {10, 20, 40, 15, 25}, x[] = {11, 22, 44, 16.5, 27.5};
	struct nb_ratio r;
	CHECK(nb_paired_ratio(x, ref, 5, 95, 1, &r) == 0);
	CHECK(near(r.ratio, 1.1, 1e-12) && near(r.lo, 1.1, 1e-9) && near(r.hi, 1.1, 1e-9));
	CHECK(near(r.half_pct, 0, 1e-9) && !nb_ratio_holds_one(&r));
	CHECK_MSG(r.unpaired_lo < 0.7 && r.unpaired_hi > 1.7, "unpaired [%g, %g]", r.unpaired_lo,
		  r.unpaired_hi);
	CHECK(near(r.correlation, 1, 1e-12));
}

/* Stein's guard: a pilot of 5 pairs spread by 0.05 in logs bounds an interval over 20 pairs to at least
 * t(4) 2.776 x 0.05 / sqrt(20) = 0.031036 around the ratio; a narrower one widens, a wider one stays. */
static void test_ratio_guard(void)
{
	struct nb_ratio r = {.ratio = 1.1, .lo = 1.1 * exp(-0.01), .hi = 1.1 * exp(0.01), .n = 20};
	nb_paired_ratio_guard(&r, 0.05, 5, 95);
	CHECK_MSG(near(log(r.hi / 1.1), 0.031036, 1e-6) && near(log(1.1 / r.lo), 0.031036, 1e-6), "[%g, %g]",
		  r.lo, r.hi);
	CHECK_MSG(near(r.half_pct, expm1(0.031036) * 100, 1e-4), "%g", r.half_pct);
	struct nb_ratio wide = {.ratio = 1.1, .lo = 1.0, .hi = 1.3, .n = 20};
	nb_paired_ratio_guard(&wide, 0.05, 5, 95);
	CHECK(wide.lo == 1.0 && near(wide.hi, 1.3, 1e-12));
	struct nb_ratio none = {.ratio = 1.1, .lo = NAN, .hi = NAN, .n = 1};
	nb_paired_ratio_guard(&none, 0.05, 5, 95);
	CHECK(isnan(none.lo));
}

/* Optional stopping, simulated: rounds of log-ratios with sd near what the target needs, judged after 5
 * rounds and then after the rounds each judgement projects (as compare's stages); reported with Stein's
 * guard the 95% interval covers the true ratio 95% of the time, within tolerance. */
static void test_stopping_coverage(void)
{
	struct nb_rng g = {11};
	double tgt = nb_paired_log_target(2);
	unsigned hit = 0, draws = 2000;
	for (unsigned k = 0; k < draws; k++) {
		double x[200], one[200];
		unsigned n = 0, next = 5;
		struct nb_ratio r, pilot;
		for (; n < 5; n++)
			x[n] = exp(0.03 * nb_rng_normal(&g)), one[n] = 1;
		nb_paired_ratio(x, one, 5, 95, 1, &pilot);
		for (;;) {
			nb_paired_ratio(x, one, n, 95, 1, &r);
			nb_paired_ratio_guard(&r, pilot.sd_log, 5, 95);
			if (n == 200 || (n >= next && r.half_pct <= 2))
				break;
			if (n >= next) {
				unsigned want = nb_paired_rounds_needed(
				    fmax(r.sd_log,
					 pilot.sd_log * nb_t_quantile(95, 4) / nb_t_quantile(95, n - 1)),
				    tgt, 95, 5, 200);
				next = want > n ? want : n + 1;
			}
			x[n] = exp(0.03 * nb_rng_normal(&g)), one[n++] = 1;
		}
		hit += r.lo <= 1 && r.hi >= 1;
	}
	double cov = 100.0 * hit / draws;
	CHECK_MSG(cov >= 94 && cov <= 97.5, "coverage under optional stopping %.1f%%", cov);
}

/* Two independent samples (diff): Welch on the logs. a = {e^0, e^0.2}, b = {e^0.4, e^0.6}: difference of
 * mean logs 0.4, each sd 0.141421, se 0.141421 x sqrt(1/2 + 1/2) = 0.141421, df 2: t 4.303, half 0.608537.
 */
static void test_ratio_unpaired(void)
{
	const double a[] = {1, exp(0.2)}, b[] = {exp(0.4), exp(0.6)};
	struct nb_ratio r;
	CHECK(nb_paired_ratio_unpaired(b, 2, a, 2, 95, &r) == 0);
	CHECK(near(r.ratio, exp(0.4), 1e-12));
	CHECK_MSG(near(r.lo, exp(0.4 - 0.608537), 1e-5) && near(r.hi, exp(0.4 + 0.608537), 1e-5), "[%g, %g]",
		  r.lo, r.hi);
	CHECK(r.lo == r.unpaired_lo && isnan(r.correlation));
	CHECK(nb_paired_ratio_unpaired(b, 2, a, 1, 95, &r) == 0 && isnan(r.lo) && r.method == NB_PAIRED_NONE);
	const double neg[] = {-1, 2};
	CHECK(nb_paired_ratio_unpaired(b, 2, neg, 2, 95, &r) < 0);
}

/* differences {1, 2, 2, 3}: mean 2, sd 0.816497, t(3) 3.182: half 1.299046. */
static void test_delta(void)
{
	const double x[] = {11, 12, 13, 14}, ref[] = {10, 10, 11, 11};
	struct nb_delta d;
	nb_paired_delta(x, ref, 4, 95, 1, &d);
	CHECK(near(d.delta, 2, 1e-12));
	CHECK_MSG(near(d.lo, 2 - 1.299046, 1e-6) && near(d.hi, 2 + 1.299046, 1e-6), "[%g, %g]", d.lo, d.hi);
	CHECK(d.unpaired_lo < d.lo && d.unpaired_hi > d.hi); /* pairing removed the shared round effect */
	CHECK(d.correlation > 0.8);
	nb_paired_delta(x, ref, 1, 95, 1, &d);
	CHECK(near(d.delta, 1, 1e-12) && isnan(d.lo) && d.method == NB_PAIRED_NONE);
}

/* 20 values, 18 of 0 and 2 of 10: t gives 1 +- 2.093 x 3.07794 / sqrt(20) = [-0.4405, 2.4405]; the
 * bootstrap's mean is k/2 with k ~ Bin(20, 0.1), whose 97.5th percentile is 5 (P(k <= 4) = 0.957): the
 * upper bound widens to 2.5, the lower stays t's (the bootstrap's is 0). Same seed, same interval. */
static void test_bootstrap(void)
{
	double v[20] = {0};
	v[3] = v[11] = 10;
	struct nb_paired_mean m = nb_paired_mean_of(v, 20, 95, 42);
	CHECK_STR(nb_paired_method_name(m.method), "bootstrap");
	CHECK_MSG(near(m.lo, 1 - 1.44053, 1e-4), "lo %g", m.lo);
	CHECK_MSG(near(m.hi, 2.5, 1e-12), "hi %g", m.hi);
	struct nb_paired_mean again = nb_paired_mean_of(v, 20, 95, 42);
	CHECK(again.lo == m.lo && again.hi == m.hi);
	/* below NB_PAIRED_BOOT_MIN: t alone */
	m = nb_paired_mean_of(v, 19, 95, 42);
	CHECK_INT(m.method, NB_PAIRED_T);
}

/* sd 0.05 on logs, target +-2%: log(1.02) = 0.019803; t(26) 2.056 x 0.05 / sqrt(27) = 0.019784 fits, t(25)
 * 2.060 x 0.05 / sqrt(26) = 0.020200 does not: 27 rounds. */
static void test_rounds_needed(void)
{
	double tgt = nb_paired_log_target(2);
	CHECK(near(tgt, 0.0198026, 1e-6));
	CHECK_INT(nb_paired_rounds_needed(0.05, tgt, 95, 5, 200), 27);
	CHECK_INT(nb_paired_rounds_needed(0.001, tgt, 95, 5, 200), 5); /* never below the minimum */
	CHECK_INT(nb_paired_rounds_needed(1, tgt, 95, 5, 200), 200);   /* beyond the cap: the cap */
	CHECK_INT(nb_paired_rounds_needed(NAN, tgt, 95, 5, 200), 200);
}

/* {1, 2, 3, 4, 100}: median 3, MAD 1; z(100) = 0.6745 x 97 = 65.4 flagged, z(1) = -1.349 not. */
static void test_outliers(void)
{
	const double v[] = {1, 2, 3, 4, 100}, flat[] = {5, 5, 5, 5};
	double z[5];
	bool f[5];
	CHECK_INT(nb_paired_outliers(v, 5, z, f), 1);
	CHECK(f[4] && !f[0] && near(z[4], 65.4265, 1e-4) && near(z[0], -1.349, 1e-9));
	CHECK_INT(nb_paired_outliers(flat, 4, z, f), 0);
	CHECK(z[0] == 0);
}

/* Draws of n rounds: ref = e^(round effect + noise), x = ratio x ref x e^(noise): how often the 95% interval
 * holds the true ratio. */
static double coverage(unsigned n, unsigned draws, double ratio, uint64_t seed)
{
	struct nb_rng g = {seed};
	unsigned hit = 0;
	for (unsigned d = 0; d < draws; d++) {
		double x[64], ref[64];
		for (unsigned i = 0; i < n; i++) {
			double round = 0.2 * nb_rng_normal(&g); /* shared by both cells of the round */
			ref[i] = 10e3 * exp(round + 0.03 * nb_rng_normal(&g));
			x[i] = ratio * 10e3 * exp(round + 0.03 * nb_rng_normal(&g));
		}
		struct nb_ratio r;
		if (nb_paired_ratio(x, ref, n, 95, d + 1, &r) == 0 && r.lo <= ratio && r.hi >= ratio)
			hit++;
	}
	return 100.0 * hit / draws;
}

/* 4000 draws: the binomial sd of a 95% coverage is 0.34 points; +-1.5 is 4.4 sd. The bootstrap (union with
 * t) is at least t's width: 93.5..98 with 1000 draws. */
static void test_simulated_coverage(void)
{
	double c5 = coverage(5, 4000, 1.41, 7), c12 = coverage(12, 4000, 0.99, 8);
	CHECK_MSG(c5 >= 93.5 && c5 <= 96.5, "coverage with 5 rounds %.2f%%", c5);
	CHECK_MSG(c12 >= 93.5 && c12 <= 96.5, "coverage with 12 rounds %.2f%%", c12);
	double c30 = coverage(30, 1000, 1.2, 9);
	CHECK_MSG(c30 >= 93.5 && c30 <= 98.5, "coverage with 30 rounds (bootstrap) %.2f%%", c30);
}

static void test_rng(void)
{
	struct nb_rng a = {1}, b = {1};
	CHECK(nb_rng_next(&a) == nb_rng_next(&b));
	unsigned seen[4] = {0};
	for (int i = 0; i < 4000; i++)
		seen[nb_rng_below(&a, 4)]++;
	CHECK_MSG(seen[0] > 900 && seen[1] > 900 && seen[2] > 900 && seen[3] > 900, "%u %u %u %u", seen[0],
		  seen[1], seen[2], seen[3]);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {
	    TAP_CASE(test_ratio_t),
	    TAP_CASE(test_ratio_pairing),
	    TAP_CASE(test_ratio_unpaired),
	    TAP_CASE(test_delta),
	    TAP_CASE(test_bootstrap),
	    TAP_CASE(test_rounds_needed),
	    TAP_CASE(test_outliers),
	    TAP_CASE(test_rng),
	    TAP_CASE(test_simulated_coverage),
	    TAP_CASE(test_ratio_guard),
	    TAP_CASE(test_stopping_coverage),
	};
	return TAP_RUN(cases, argc > 2 ? argv[2] : NULL);
}
