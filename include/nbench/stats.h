/* SPDX-License-Identifier: MIT */
/*
 * The statistics of repeated runs (analyze/stats.c): a sample's mean with its confidence interval, Student's
 * t quantiles, and the interval of the difference of two means. Pure functions over doubles, in whatever
 * unit the caller's figures have; compare, sweep and diff share them, and the next intervals (paired ratios,
 * a stopping rule) belong here beside them.
 */
#ifndef NBENCH_STATS_H
#define NBENCH_STATS_H

#include <stdbool.h>

/* A sample of n values: its mean and the mean's confidence interval at some level. */
struct nb_stat {
	double mean;
	double sd; /* sample standard deviation (n - 1); 0 below two values */
	double ci; /* the mean's confidence interval half-width; INFINITY below two values */
	unsigned n;
};

/* Two-sided Student t quantile for level 95 or 99 (percent) and df degrees of freedom, a fraction (Welch's)
 * floored to the wider interval; INFINITY below 1. */
double nb_t_quantile(double level, double df);

/* The mean of v[0..n) and its confidence interval at level (95 or 99). */
struct nb_stat nb_stat_of(const double *v, unsigned n, double level);

/* How the difference of two means was tested. */
enum nb_stat_test {
	NB_STAT_UNTESTED, /* one value on each side: no interval */
	NB_STAT_WELCH,	  /* both sides repeated: Welch's t-test */
	NB_STAT_INTERVAL, /* one side repeated: is the single value outside the other's interval? */
};

/* "none", "welch" or "interval": the test's name in reports. */
const char *nb_stat_test_name(enum nb_stat_test t);

/* The half-width at level of the interval of b's mean less a's (Welch-Satterthwaite degrees of freedom when
 * both are repeated, the repeated side's interval when one is), with how it was found in *ret_test; NAN when
 * neither side is repeated. */
double nb_stat_diff_halfwidth(const struct nb_stat *a, const struct nb_stat *b, double level,
			      enum nb_stat_test *ret_test);

/* x as a percentage of |base|: +-INFINITY when base is 0 and x is not, 0 when both are. */
double nb_stat_pct(double x, double base);

/* s's interval is within pct percent of its mean (and s has at least two values). */
bool nb_stat_within(const struct nb_stat *s, double pct);

#endif
