/* SPDX-License-Identifier: MIT */
/*
 * compare's driver (bench/compare.c): every test on every path, interleaved round robin (never all runs of
 * one path back to back), repeated until enough rounds ran, each run's figures into its cell
 * (analyze/cell.h). Paths are built once, each with its responder, and torn down at the end. A round is one
 * call; whether enough rounds ran is one function (the stopping rule), so a new rule changes that function
 * alone.
 */
#ifndef NBENCH_COMPARE_H
#define NBENCH_COMPARE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nbench/bench.h"
#include "nbench/cell.h"

#define NB_COMPARE_MAX_PATHS 16 /* every kind of the table (14) fits */
#define NB_COMPARE_MAX_TESTS 8
#define NB_COMPARE_MAX_RUNS  NB_CELL_MAX_RUNS

/* Where rr and crr run: both ends on CPU 0, or on CPUs 0 and 1, spinning. Streams always run unpinned. */
enum nb_placement { NB_PLACE_SAME, NB_PLACE_SPLIT };
/* "same-core" or "split-spin". */
const char *nb_placement_name(enum nb_placement p);

/* One of compare's tests. */
struct nb_compare_test {
	const char *name; /* "stream", "stream-reverse", "rr-tcp", "rr-udp", "crr" */
	enum nb_test_kind kind;
	enum nb_proto proto;
	bool reverse;
};
/* The test called name, or NULL. */
const struct nb_compare_test *nb_compare_test_find(const char *name);

/* One run as it ended. */
struct nb_compare_run {
	unsigned round;
	unsigned ti, pli, pi;	     /* its test, placement row and path */
	bool capture;		     /* --hops: the run with capture after the one without */
	bool ok;		     /* complete (with capture: and decomposed) */
	const struct nb_report *rep; /* its report, valid during the callback */
};

struct nb_compare_cfg {
	const char *paths[NB_COMPARE_MAX_PATHS]; /* path kinds, in order */
	unsigned npaths;
	const struct nb_compare_test *tests[NB_COMPARE_MAX_TESTS];
	unsigned ntests;
	enum nb_placement pl[2]; /* rr and crr run in each */
	unsigned npl;
	unsigned runs, max_runs; /* rounds: at least runs; with ci_pct up to max_runs */
	double ci_level,
	    ci_pct;	       /* the intervals' level (95 or 99); > 0: go on until each is within ci_pct % */
	int64_t duration_ns;   /* each run's */
	struct nb_where where; /* host and port (an agent builds the paths' server halves), key, wire */
	bool hops;	       /* rr: after each run the same with capture */
	volatile sig_atomic_t *quit;
	/* Progress, each may be NULL: a path about to be built, one left out (this machine cannot build it),
	 * a run that ended. */
	void (*building)(void *arg, const char *path);
	void (*left_out)(void *arg, const char *path, const char *why);
	void (*run)(void *arg, const struct nb_compare_run *r);
	void *arg;
};

struct nb_compare {
	struct nb_compare_cfg cfg; /* its paths are those built: the others are in skipped */
	struct nb_target *targets[NB_COMPARE_MAX_PATHS];
	struct nb_cell cells[NB_COMPARE_MAX_TESTS][2][NB_COMPARE_MAX_PATHS];
	struct nb_hcell hcells[NB_COMPARE_MAX_TESTS][2][NB_COMPARE_MAX_PATHS];
	struct {
		char path[16];
		char why[256];
	} skipped[NB_COMPARE_MAX_PATHS];
	unsigned nskipped;
	unsigned rounds; /* rounds begun */
};

/* Builds every path of cfg with its responder into c (zeroed here; large: allocate it). A path this machine
 * cannot build (no vhost-net, no bridge) is left out with its reason, the others run. 0, or -EPERM with err
 * when no path will build here at all (no privileges). */
int nb_compare_open(struct nb_compare *c, const struct nb_compare_cfg *cfg, char *err, size_t errlen);
/* The stopping rule: quit was set, max_runs rounds ran, or runs did and (with ci_pct) every interval is
 * within ci_pct % of its mean. */
bool nb_compare_enough(const struct nb_compare *c);
/* Runs the next round: every test on every path, the paths' order rotated each round so that no path always
 * runs first (warm caches, a neighbour's burst) or after the same one. */
void nb_compare_round(struct nb_compare *c);
/* Rounds until nb_compare_enough. */
void nb_compare_rounds(struct nb_compare *c);
/* Tears every path down and frees the decompositions; the cells stay readable. */
void nb_compare_close(struct nb_compare *c);

/* The placement rows test ti has: 1 for a stream, else cfg.npl. */
unsigned nb_compare_rows(const struct nb_compare *c, unsigned ti);
/* What row pli of test ti calls its placement: "unpinned" for a stream. */
const char *nb_compare_row_placement(const struct nb_compare *c, unsigned ti, unsigned pli);
/* The cell of native (the ratios' reference) for test ti and row pli, or NULL when native is not compared. */
const struct nb_cell *nb_compare_native(const struct nb_compare *c, unsigned ti, unsigned pli);
/* The kind path pi extends, with its cell in *ret (NULL when that kind is not compared); NULL for the
 * floor. */
const char *nb_compare_parent(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi,
			      const struct nb_cell **ret);
/* --hops: cell (ti, pli, pi)'s decomposition with the capture's overhead over its rounds, or NULL; and its
 * hops against its parent's (false when either has none). */
struct nb_report_hops *nb_compare_hops(struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi);
bool nb_compare_hops_vs(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi,
			const char **ret_parent, struct nb_hops_vs *ret);

#endif
