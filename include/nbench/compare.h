/* SPDX-License-Identifier: MIT */
/*
 * compare's driver (bench/compare.c): rounds are the unit. A round runs every (test, placement, path) cell
 * once, in a fresh order drawn from a seed (so a seed replays a compare's order), each run on a new control
 * connection with its warm-up discarded; each run's figures go into its cell (analyze/cell.h) with its
 * round, so that the cells of one round pair. The ratio of every path to the reference and each hop delta
 * come with intervals from the paired rounds (analyze/paired.h). Paths are built once, each with its
 * responder, and torn down at the end. A round is one call; whether enough rounds ran is one function (the
 * stopping rule: a precision on every ratio, a time budget), so a study can run compare's rounds itself.
 */
#ifndef NBENCH_COMPARE_H
#define NBENCH_COMPARE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nbench/bench.h"
#include "nbench/hops.h"
#include "nbench/pathcap.h"
#include "nbench/cell.h"

#define NB_COMPARE_MAX_PATHS 16 /* every kind of the table (14) fits */
#define NB_COMPARE_MAX_TESTS 8
#define NB_COMPARE_MAX_RUNS  NB_CELL_MAX_RUNS /* rounds */

struct nb_compare;

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

#define NB_COMPARE_P99_PCT 10.0 /* p99's precision target when none is given: a tail needs many rounds */
#define NB_COMPARE_CPU_PCT 10.0 /* CPU cost's: sampled system-wide, it spreads more than latency */

struct nb_compare_cfg {
	/* Paths in order: a kind (nb_topo_kinds()), or KIND.N for another instance of it (native.2: an A/A
	 * comparison of a path with an identical copy of itself). */
	const char *paths[NB_COMPARE_MAX_PATHS];
	unsigned npaths;
	const struct nb_compare_test *tests[NB_COMPARE_MAX_TESTS];
	unsigned ntests;
	enum nb_placement pl[2]; /* rr and crr run in each */
	unsigned npl;
	const char *reference; /* the ratios' reference path; NULL: native when compared, else the first */
	unsigned runs;	       /* rounds: exactly these without precision_pct, at least these with it */
	unsigned max_rounds;   /* never more (0: NB_COMPARE_MAX_RUNS) */
	double ci_level;       /* the level of every interval reported (95 or 99) */
	/* > 0: rounds go on until every ratio to the reference of p50, transactions/s and goodput has a
	 * half-width (its larger side) within precision_pct percent, p99's within p99_pct and the CPU cost's
	 * within cpu_pct (0: NB_COMPARE_P99_PCT, NB_COMPARE_CPU_PCT) */
	double precision_pct, p99_pct, cpu_pct;
	double stop_level;   /* the level the stopping rule judges at (optional stopping: stricter than
				ci_level) */
	int64_t max_time_ns; /* > 0: no round begins that would end after this long from the first */
	uint64_t seed;	     /* the runs' order each round and the bootstrap's resamples; 0: drawn at open */
	int64_t duration_ns; /* each run's */
	struct nb_where where; /* host and port (an agent builds the paths' server halves), key, wire */
	bool hops;	       /* rr: after each run the same with capture */
	bool histograms;       /* keep every rr/crr cell's merged latency histogram (nb_compare_hist) */
	enum nb_hops_backend hops_backend; /* --hops' backend (what cli chose) */
	/* --capture STEM: each run's packets into STEM-PATH-TEST-PLACEMENT-rROUND.pcapng (pcapng; the stem's
	 * .pcapng dropped); file NULL: none */
	struct nb_pathcap_cfg pathcap;
	volatile sig_atomic_t *quit;
	/* Progress, each may be NULL: a path about to be built, one left out (this machine cannot build it),
	 * a run that ended, a round that ended. */
	void (*building)(void *arg, const char *path);
	void (*left_out)(void *arg, const char *path, const char *why);
	void (*run)(void *arg, const struct nb_compare_run *r);
	void (*round_done)(void *arg, const struct nb_compare *c);
	void *arg;
};

struct nb_hist;

struct nb_compare {
	struct nb_compare_cfg cfg; /* its paths are those built: the others are in skipped */
	struct nb_target *targets[NB_COMPARE_MAX_PATHS];
	struct nb_cell cells[NB_COMPARE_MAX_TESTS][2][NB_COMPARE_MAX_PATHS];
	struct nb_hcell hcells[NB_COMPARE_MAX_TESTS][2][NB_COMPARE_MAX_PATHS];
	/* rr and crr with cfg.histograms: each cell's runs' latency histograms merged (NULL otherwise) */
	struct nb_hist *hists[NB_COMPARE_MAX_TESTS][2][NB_COMPARE_MAX_PATHS];
	struct {
		char path[16];
		char why[256];
	} skipped[NB_COMPARE_MAX_PATHS];
	unsigned nskipped;
	unsigned rounds;    /* rounds begun */
	unsigned ref;	    /* the reference path's index */
	uint64_t seed;	    /* cfg.seed, or the one drawn */
	int64_t start_ns;   /* the first round's start (CLOCK_MONOTONIC) */
	int64_t elapsed_ns; /* from the first round's start to the last round's end */
	/* --precision: the rounds are judged only at stages, not after every round (peeking at every round
	 * and stopping at the first narrow interval makes a 95% interval cover less than 95% of the time):
	 * the first after cfg.runs rounds, each next after the rounds the last one projected */
	unsigned next_check;
	/* the round after which each targeted interval was first within its precision (0: not yet), and when
	 * each round ended (since the first began) */
	unsigned short met_at[NB_COMPARE_MAX_TESTS][2][NB_COMPARE_MAX_PATHS][NB_M_COUNT];
	int64_t round_end_ns[NB_COMPARE_MAX_RUNS + 1];
};

/* Builds every path of cfg with its responder into c (zeroed here; large: allocate it). A path this machine
 * cannot build (no vhost-net, no bridge) is left out with its reason, the others run. 0; -EINVAL with err
 * when cfg.reference is not among the paths; -EPERM with err when no path will build here at all (no
 * privileges); -ENOMEM. */
int nb_compare_open(struct nb_compare *c, const struct nb_compare_cfg *cfg, char *err, size_t errlen);
/* The path kind of a path's name (native.2 -> native) into buf. */
const char *nb_compare_kind(const char *path, char *buf, size_t len);

/* Where a compare stands after its last round: what the stopping rule and the progress line read. */
struct nb_compare_status {
	unsigned rounds; /* rounds run */
	unsigned
	    projected;	/* rounds the unmet targets need in all (by their spread so far); rounds when met */
	unsigned unmet; /* targeted intervals not yet within their precision */
	int64_t elapsed_ns; /* since the first round began */
	int64_t round_ns;   /* a round's mean time */
	int64_t left_ns;    /* the projection's time left (capped by max_time_ns) */
	bool over_budget;   /* the projection ends after max_time_ns */
	/* the widest targeted interval against its target: its cell and metric, half-width and target (%) */
	unsigned wti, wpli, wpi;
	enum nb_metric wm;
	double widest_pct, widest_target_pct;
	unsigned wneed; /* the rounds that one needs */
	bool any;	/* a targeted interval exists (w* are set) */
};
/* c's status; targets from precision_pct (none without it: then met once runs rounds ran). */
void nb_compare_status(const struct nb_compare *c, struct nb_compare_status *ret);
/* The stopping rule: quit was set, max_rounds ran, the next round would pass max_time_ns, or runs did and
 * (with precision_pct) at a stage's end (next_check) every targeted interval is within its precision at
 * stop_level. */
bool nb_compare_enough(const struct nb_compare *c);
/* Runs the next round: every cell (test, placement, path) once, in a fresh order drawn from the seed and
 * the round's number (the same seed replays it): the tests' blocks in a random order, the paths in a
 * random order within each, so that the runs a ratio pairs are close in time. */
void nb_compare_round(struct nb_compare *c);
/* Round k's order into ret (ti, pli, pi per run; room for NB_COMPARE_MAX_TESTS * 2 *
 * NB_COMPARE_MAX_PATHS), how many: what nb_compare_round runs. */
unsigned nb_compare_order(const struct nb_compare *c, unsigned k, unsigned (*ret)[3]);
/* Rounds until nb_compare_enough. */
void nb_compare_rounds(struct nb_compare *c);
/* Tears every path down and frees the decompositions and histograms; the cells stay readable. */
void nb_compare_close(struct nb_compare *c);

/* The placement rows test ti has: 1 for a stream, else cfg.npl. */
unsigned nb_compare_rows(const struct nb_compare *c, unsigned ti);
/* What row pli of test ti calls its placement: "unpinned" for a stream. */
const char *nb_compare_row_placement(const struct nb_compare *c, unsigned ti, unsigned pli);
/* The cell of the reference path for test ti and row pli. */
const struct nb_cell *nb_compare_reference(const struct nb_compare *c, unsigned ti, unsigned pli);
/* Cell (ti, pli, pi)'s figure m against the reference's, paired by round, at cfg.ci_level: 0, or -EDOM. */
int nb_compare_ratio(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi, enum nb_metric m,
		     struct nb_ratio *ret);
/* Figure m of the cell itself: its point and interval at cfg.ci_level. p50, p90 and p99 from its merged
 * histogram when it has one (the interval's half-widths from the rounds' spread around that point), else
 * the mean of its rounds. */
struct nb_paired_mean nb_compare_point(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi,
				       enum nb_metric m);
/* The hop delta of cell (ti, pli, pi): figure m minus its parent's, paired by round. false when the path
 * extends none that is compared. */
bool nb_compare_delta(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi, enum nb_metric m,
		      const char **ret_parent, struct nb_delta *ret);
/* The merged latency histogram of cell (ti, pli, pi), or NULL (a stream; cfg.histograms off). */
const struct nb_hist *nb_compare_hist(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi);
/* The precision target of figure m in percent (0: not targeted). */
double nb_compare_target_pct(const struct nb_compare *c, enum nb_metric m);
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
