/* SPDX-License-Identifier: MIT */
/*
 * The change of a figure from one set of runs to another (analyze/change.c): by how much, whether it is
 * significant, better or worse, and whether it is a regression beyond a tolerance. `nbench diff` prints it
 * for every figure two report sets share; --baseline fails a run on its regressions.
 */
#ifndef NBENCH_CHANGE_H
#define NBENCH_CHANGE_H

#include <stdbool.h>

#include "nbench/reportset.h"
#include "nbench/stats.h"

/* B against A for one figure. When every value of both sides is positive (latencies, rates, costs) the
 * change is a ratio B / A of geometric means with its interval from the logs, the kind of interval
 * compare's and sweep's ratios have (paired.h; A and B were not run in rounds, so unpaired); otherwise
 * (a count of 0, a loss of 0%) the difference of the means with Welch's interval. */
struct nb_change {
	struct nb_stat a, b;
	bool on_logs;	       /* the change is a ratio (see above) */
	double delta_pct;      /* B against A in percent: (ratio - 1) x 100, or (mean B - mean A) / |mean A|;
				  +-INFINITY from 0, 0 when both are 0 */
	double lo_pct, hi_pct; /* the change's interval in percent (NAN when untested) */
	double ci_pct;	       /* its larger side from delta_pct, percent; NAN when untested */
	enum nb_stat_test test;
	bool significant; /* false when untested */
	int verdict;	  /* +1 better, -1 worse, 0 no change (or not significant, or direction unknown) */
	bool regression;  /* worse than A by more than the tolerance beyond the change's interval */
};

/* Compares b against a (a's direction) at confidence level (95 or 99), tol_pct the tolerated worsening in
 * percent (INFINITY: none is a regression). */
struct nb_change nb_change_of(const struct nb_series *a, const struct nb_series *b, double level,
			      double tol_pct);

/* The verdict in words for a figure of direction dir: "better", "worse", "no change", "no significant
 * change", or "direction unknown". */
const char *nb_change_verdict(const struct nb_change *c, int dir);

/* Calls fn (may be NULL) for every figure of a that b has too, both with values, in a's order, with b's
 * change against it; returns how many are regressions. */
unsigned nb_change_each(const struct nb_reportset *a, const struct nb_reportset *b, double level,
			double tol_pct,
			void (*fn)(void *arg, const struct nb_series *m, const struct nb_change *c),
			void *arg);

#endif
