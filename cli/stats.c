/* SPDX-License-Identifier: MIT */
/* The figures and statistics of repeated runs (stats.h): compare, sweep and diff. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "nbench/report.h"
#include "stats.h"

const struct metric_info metrics[M_COUNT] = {
    [M_GOODPUT] = {"goodput_bps", "goodput", "Gbit/s", 1e-9, true},
    [M_CPB] = {"cycles_per_byte", "cpu cycles/byte", "", 1, true},
    [M_P50] = {"p50_ns", "p50", "us", 1e-3, false},
    [M_P99] = {"p99_ns", "p99", "us", 1e-3, false},
    [M_TPS] = {"transactions_per_s", "transactions/s", "", 1, false},
    [M_CPT] = {"cycles_per_transaction", "cpu cycles/transaction", "", 1, false},
};

const char *metric_label(enum metric m, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", metrics[m].label, *metrics[m].unit ? " (" : "", metrics[m].unit,
		 *metrics[m].unit ? ")" : "");
	return buf;
}

double metric_of(const struct nb_report *r, enum metric m)
{
	switch (m) {
	case M_GOODPUT:
		return r->goodput_bps;
	case M_CPB:
		return r->cpu.cycles_per_byte;
	case M_P50:
		return (double)r->lat.p50_ns;
	case M_P99:
		return (double)r->lat.p99_ns;
	case M_TPS:
		return r->tps;
	case M_CPT:
		return r->cpu.cycles_per_txn;
	default:
		return 0;
	}
}

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
		return n99 ? t99[(int)df] : t95[(int)df]; /* floored: the wider interval */
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
