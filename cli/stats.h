/* SPDX-License-Identifier: MIT */
/* The statistics of repeated runs, shared by compare and sweep: the mean and its confidence interval. */
#ifndef NBENCH_CLI_STATS_H
#define NBENCH_CLI_STATS_H

#include <stdbool.h>
#include <stddef.h>

struct nb_report;

/* The figures compare and sweep take from each run. */
enum metric { M_GOODPUT, M_CPB, M_P50, M_P99, M_TPS, M_CPT, M_COUNT };
struct metric_info {
	const char *key;   /* the JSON's name, in the report's unit ("p50_ns") */
	const char *label; /* the text tables' name ("p50") */
	const char *unit;  /* the text tables' unit ("us"; "" none) */
	double scale;	   /* the report's unit to the text's */
	bool stream;	   /* a stream's figure, else rr/crr's */
};
extern const struct metric_info metrics[M_COUNT];
/* Figure m of a finished run's report. */
double metric_of(const struct nb_report *r, enum metric m);
/* "p50 (us)": m's name in a text table, with its unit; returns buf. */
const char *metric_label(enum metric m, char *buf, size_t len);

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
