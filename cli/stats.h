/* SPDX-License-Identifier: MIT */
/* The statistics of repeated runs, shared by compare and sweep: the mean and its confidence interval. */
#ifndef NBENCH_CLI_STATS_H
#define NBENCH_CLI_STATS_H

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

#endif
