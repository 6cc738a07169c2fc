/* SPDX-License-Identifier: MIT */
/*
 * A cell of repeated runs (analyze/cell.c): the figures of every run of one test in one place (compare: a
 * path and a placement; sweep: a combination of knob values), and what a table shows of it: the mean with its
 * interval, the ratio to a reference cell, the delta from a parent cell. An --hops cell keeps the round trips
 * with and without capture and the last decomposition, and compares a path's hops with its parent's.
 */
#ifndef NBENCH_CELL_H
#define NBENCH_CELL_H

#include <stdbool.h>

#include "nbench/metric.h"
#include "nbench/paired.h"
#include "nbench/stats.h"

#define NB_CELL_MAX_RUNS 200

struct nb_report;
struct nb_report_hops;

struct nb_cell {
	double v[NB_M_COUNT][NB_CELL_MAX_RUNS]; /* each figure of each complete run, in the report's unit */
	unsigned round[NB_CELL_MAX_RUNS];	/* the round each of those runs ran in (from 1) */
	unsigned n;				/* complete runs kept */
	unsigned disturbed, failed;		/* runs flagged disturbed (of those kept), runs that failed */
};

/* Adds the run of round: its figures when ok (up to NB_CELL_MAX_RUNS), else one failure. */
void nb_cell_add(struct nb_cell *c, const struct nb_report *rep, bool ok, unsigned round);
/* Figure m's mean and interval over c's runs. */
struct nb_stat nb_cell_stat(const struct nb_cell *c, enum nb_metric m, double level);
/* Figure m's mean over c's runs; NAN when c is NULL or has none. */
double nb_cell_mean(const struct nb_cell *c, enum nb_metric m, double level);
/* mean / ref's mean of m: NAN when ref has no runs (or is NULL) or a mean of 0. */
double nb_cell_ratio(const struct nb_cell *ref, double mean, enum nb_metric m, double level);
/* mean - parent's mean of m into *ret_delta: false (nothing set) when parent has no runs or is NULL. */
bool nb_cell_delta(const struct nb_cell *parent, double mean, enum nb_metric m, double level,
		   double *ret_delta);

/* The rounds in which both a and b have a complete run: figure m of each into xa[] and xb[] (room for
 * NB_CELL_MAX_RUNS), paired by round; how many pairs. */
unsigned nb_cell_pairs(const struct nb_cell *a, const struct nb_cell *b, enum nb_metric m, double *xa,
		       double *xb);
/* The same over the rounds up to last_round only (a stopping rule's first stage). */
unsigned nb_cell_pairs_upto(const struct nb_cell *a, const struct nb_cell *b, enum nb_metric m,
			    unsigned last_round, double *xa, double *xb);
/* Figure m of x against ref over their paired rounds (paired.h): the ratio x / ref with its interval at
 * level (seed: the bootstrap's, the same for every cell of one comparison). 0, or -EDOM when a value is not
 * positive or they share no round. */
int nb_cell_ratio_paired(const struct nb_cell *x, const struct nb_cell *ref, enum nb_metric m, double level,
			 uint64_t seed, struct nb_ratio *ret);
/* x - ref of figure m over their paired rounds, with its interval. */
void nb_cell_delta_paired(const struct nb_cell *x, const struct nb_cell *ref, enum nb_metric m, double level,
			  uint64_t seed, struct nb_delta *ret);
/* Rounds whose figure m is an outlier among c's (robust z of the log-ratio to ref's run of the same round;
 * of c's own logs when ref is NULL or c): their round numbers into ret (room for NB_CELL_MAX_RUNS); how many.
 */
unsigned nb_cell_outliers(const struct nb_cell *c, const struct nb_cell *ref, enum nb_metric m,
			  unsigned *ret);

/* --hops: one rr test in one place, its runs with capture beside those without. */
struct nb_hcell {
	double without[NB_CELL_MAX_RUNS], with[NB_CELL_MAX_RUNS]; /* mean round trips of each run, ns */
	double p50_without[NB_CELL_MAX_RUNS], p50_with[NB_CELL_MAX_RUNS]; /* and their medians */
	unsigned n_without, n_with;
	struct nb_report_hops *last; /* the last capture run's decomposition (owned) */
};

/* Adds a pair: the round trips of the run without capture and the capture run's report, whose
 * decomposition h takes over (rep->hops becomes NULL). */
struct nb_hist_stats;
void nb_hcell_add(struct nb_hcell *h, const struct nb_hist_stats *without, struct nb_report *with);
/* h's last decomposition with the capture's overhead over every pair (the means' and the medians' round
 * trips, runs); NULL when no capture run succeeded. */
struct nb_report_hops *nb_hcell_summary(struct nb_hcell *h, double level);
/* Frees h's decomposition (h stays usable, empty of one). */
void nb_hcell_free(struct nb_hcell *h);

/* The hops' share of a decomposition: its "hop out" and "hop back" segments' means, each less probe_ns
 * (ebpf: each segment holds about one probe's cost; 0: as they are), ns. */
double nb_hops_sum_ns(const struct nb_report_hops *h, double probe_ns);

/* What a path's hops add to those of the path it extends (its parent), beside the difference of their
 * round trips without capture. */
struct nb_hops_vs {
	double capture_ns; /* hop sum of the path - hop sum of the parent */
	double less_ns;	   /* the same, each hop less its probe's cost (ebpf); NAN when not known */
	double compare_ns,
	    ci_ns; /* mean round trip of the path - the parent's, and its interval half-width */
	double p50_ns, p50_ci_ns; /* the same of the median round trips: what the hops are held against */
};
/* ebpf: what one probe hit costs a round trip, pooled over n cells (it is the machine's, not a path's):
 * the sum of their medians' overheads over the sum of their hits; NAN when none has hits (pcap). */
double nb_hcell_probe_ns(const struct nb_hcell *cells, unsigned n, double level);
/* false when either has no decomposition (parent NULL too). less_ns takes probe_ns (nb_hcell_probe_ns) out of
 * each hop; NAN when it is NAN. */
bool nb_hcell_vs(const struct nb_hcell *h, const struct nb_hcell *parent, double level, double probe_ns,
		 struct nb_hops_vs *ret);

#endif
