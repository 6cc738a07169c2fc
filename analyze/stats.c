/* SPDX-License-Identifier: MIT */
/* The statistics of repeated runs (stats.h): means, their intervals and the difference of two. */
#include <math.h>

#include "nbench/stats.h"

/* Two-sided Student t quantiles for 95% and 99%, by degrees of freedom (1..30, then the normal). */
double nb_t_quantile(double level, double df)
{
	static const double t95[] = {0,	    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365,
				     2.306, 2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
				     2.120, 2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069,
				     2.064, 2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
	static const double t99[] = {0,	    63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499,
				     3.355, 3.250,  3.169, 3.106, 3.055, 3.012, 2.977, 2.947,
				     2.921, 2.898,  2.878, 2.861, 2.845, 2.831, 2.819, 2.807,
				     2.797, 2.787,  2.779, 2.771, 2.763, 2.756, 2.750};
	bool n99 = level >= 99;
	if (!(df >= 1))
		return INFINITY;
	if (df <= 30)
		/* floored: the wider interval (a hair above, so that a Welch df computed as 1.9999999 is 2)
		 */
		return n99 ? t99[(int)(df + 1e-9)] : t95[(int)(df + 1e-9)];
	return n99 ? 2.576 : 1.960;
}

struct nb_stat nb_stat_of(const double *v, unsigned n, double level)
{
	struct nb_stat s = {.n = n, .ci = INFINITY};
	if (!n)
		return s;
	for (unsigned i = 0; i < n; i++)
		s.mean += v[i];
	s.mean /= n;
	if (n > 1) {
		double var = 0;
		for (unsigned i = 0; i < n; i++)
			var += (v[i] - s.mean) * (v[i] - s.mean);
		s.sd = sqrt(var / (n - 1));
		s.ci = nb_t_quantile(level, n - 1) * s.sd / sqrt(n);
	}
	return s;
}

const char *nb_stat_test_name(enum nb_stat_test t)
{
	return t == NB_STAT_WELCH ? "welch" : t == NB_STAT_INTERVAL ? "interval" : "none";
}

double nb_stat_diff_halfwidth(const struct nb_stat *a, const struct nb_stat *b, double level,
			      enum nb_stat_test *ret_test)
{
	if (a->n >= 2 && b->n >= 2) {
		double va = a->sd * a->sd / a->n, vb = b->sd * b->sd / b->n, se = sqrt(va + vb);
		/* Welch-Satterthwaite degrees of freedom */
		double df =
		    se > 0 ? pow(se, 4) / (va * va / (a->n - 1) + vb * vb / (b->n - 1)) : a->n + b->n - 2;
		double least = (a->n < b->n ? a->n : b->n) - 1; /* Welch's df is never below this */
		df = df < least ? least : df;
		*ret_test = NB_STAT_WELCH;
		return nb_t_quantile(level, df) * se;
	}
	if (a->n >= 2 || b->n >= 2) {
		*ret_test = NB_STAT_INTERVAL;
		return a->n >= 2 ? a->ci : b->ci;
	}
	*ret_test = NB_STAT_UNTESTED;
	return NAN;
}

double nb_stat_pct(double x, double base)
{
	if (base != 0)
		return x / fabs(base) * 100;
	return x == 0 ? 0 : copysign(INFINITY, x);
}

bool nb_stat_within(const struct nb_stat *s, double pct)
{
	return s->n >= 2 && !(s->ci > fabs(s->mean) * pct / 100);
}
