/* SPDX-License-Identifier: MIT */
/*
 * What `nbench plot` draws, taken out of nbench's JSON reports (analyze/plotdata.c): a run's latency
 * percentiles and interim intervals, a compare's paths, test groups and each figure's mean and interval per
 * path, and the hop waterfalls (segments lined up by name across paths). Pure functions over cJSON; the
 * figures themselves (gnuplot's data and scripts) are the CLI's.
 */
#ifndef NBENCH_PLOTDATA_H
#define NBENCH_PLOTDATA_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#define NB_PLOT_MAX_POINTS   32	 /* percentiles of one latency distribution */
#define NB_PLOT_MAX_RATIOS   256 /* rows of a forest plot */
#define NB_PLOT_MAX_SERIES   64	 /* paths, groups, hop sets */
#define NB_PLOT_MAX_SEGMENTS 32	 /* segments of a waterfall */
#define NB_PLOT_GROUP_LEN    160 /* "rr-tcp same-core" */
#define NB_PLOT_SEG_LEN	     96	 /* "hop out r>h" */

/* o's number at key, NAN when absent; o's string at key, NULL when absent. */
double nb_plotdata_num(const cJSON *o, const char *key);
const char *nb_plotdata_str(const cJSON *o, const char *key);

/* The percentile a key names: p50 -> 50, p999 -> 99.9, p9999 -> 99.99 ("_ns" may follow); NAN for none. */
double nb_plotdata_percentile(const char *key);

/* A point of a percentile distribution: x = 1/(1-p) (HdrHistogram's axis), p in percent, the latency and its
 * interval half-width (0: none) in microseconds. */
struct nb_plot_point {
	double x, pct, us, ci_us;
};

/* ---- a single run ---- */

/* Its line title: its path (or host), test and protocol ("nat rr-tcp", "native crr"). */
void nb_plotdata_run_label(const cJSON *root, char *buf, size_t len);
/* Its latency distribution (end.latency_ns): the minimum at p0, then each percentile below 100 in the
 * report's order. How many points into pts, or -1 when the run has no latency (a stream). */
int nb_plotdata_run_percentiles(const cJSON *root, struct nb_plot_point *pts, unsigned max);

/* An interim interval: its end (s) and a stream's goodput (Gbit/s), or rr/crr's transactions/s and mean
 * latency (us); NAN where the report has none. */
struct nb_plot_iv {
	double end_s, a, b;
};
/* The intervals of a run of that kind (stream or not), malloc'd (the caller frees) with their count in
 * *ret_n; NULL when the run has none or is of the other kind. */
struct nb_plot_iv *nb_plotdata_intervals(const cJSON *root, bool stream, unsigned *ret_n);

/* ---- a compare (its "summary": a row per test, placement and path) ---- */

/* Its paths in its order (start.paths, then any more its summary names). */
unsigned nb_plotdata_compare_paths(const cJSON *root, const char **paths, unsigned max);
/* Its rows' groups (test and placement: "rr-tcp same-core"), in order. */
unsigned nb_plotdata_compare_groups(const cJSON *root, char (*groups)[NB_PLOT_GROUP_LEN], unsigned max);
/* A row's group into buf. */
void nb_plotdata_row_group(const cJSON *row, char *buf, size_t len);
/* Whether key is a figure ({mean, ci, ...}) of some row and row is the first that has it. */
bool nb_plotdata_first_metric(const cJSON *root, const cJSON *row, const char *key);
/* Figure key of group's row on path: whether the row has it, its mean and interval (NAN when absent). */
bool nb_plotdata_compare_value(const cJSON *root, const char *group, const char *path, const char *key,
			       double *ret_mean, double *ret_ci);
/* The latency percentiles' means (p50, p99...) of group's row on path, with their intervals. */
unsigned nb_plotdata_compare_percentiles(const cJSON *root, const char *group, const char *path,
					 struct nb_plot_point *pts, unsigned max);
/* The merged latency distribution of group's row on path (its "latency_merged": every transaction of every
 * round), HdrHistogram's points from p0 up to p99.99 as far as its transactions reach; how many (0: the row
 * has none, a compare from before them or a stream). */
unsigned nb_plotdata_compare_merged(const cJSON *root, const char *group, const char *path,
				    struct nb_plot_point *pts, unsigned max);

/* A row of a forest plot: a path's ratio to the reference for one figure, with its interval. */
struct nb_plot_ratio {
	char group[NB_PLOT_GROUP_LEN]; /* "rr-tcp same-core" */
	char path[64];
	char key[40];	      /* "p50_ns" */
	double ratio, lo, hi; /* lo, hi NAN: no interval */
	unsigned path_index;  /* the path's place among the compare's paths */
};
/* Every ratio of a compare's summary other than the reference's own, in the summary's order (figures in
 * each row's order); how many into out; the reference's name into ref (empty when the report has none). */
unsigned nb_plotdata_compare_ratios(const cJSON *root, struct nb_plot_ratio *out, unsigned max, char *ref,
				    size_t reflen);

/* How a figure is drawn: its label in words with its unit ("p50 latency (µs)", "cpu cycles/transaction";
 * never the JSON key), and the scale from the report's unit to the label's. */
double nb_plotdata_scale(const char *key, char *label, size_t len);

/* ---- whiskers (confidence intervals on a value axis) ---- */

#define NB_PLOT_WHISKER_REACH 1.5  /* whiskers up to this many times the tallest bar are drawn whole */
#define NB_PLOT_HEADROOM      1.08 /* the axis ends this far above what it shows, for the marks' labels */

/* mean ± ci drawn on an axis that shows [axis_lo, axis_hi]: the part drawn, and whether each end leaves the
 * axis. A figure marks an end that does (an arrowhead at the edge, the end's value beside it) rather than
 * cutting it off without a word. A NAN ci is no interval (both ends at the mean). */
struct nb_plot_whisker {
	double lo, hi;	       /* the ends as drawn, within the axis */
	bool lo_out, hi_out;   /* that end lies beyond the axis */
	double lo_end, hi_end; /* the ends themselves */
};
struct nb_plot_whisker nb_plotdata_whisker(double mean, double ci, double axis_lo, double axis_hi);
/* The top of a bar figure's value axis for n bars (mean[i] ± ci[i]): above every bar and every whisker that
 * ends within NB_PLOT_WHISKER_REACH times the tallest bar, with NB_PLOT_HEADROOM. A whisker further up (a
 * wide interval from few runs) would squash the bars to nothing: it leaves the axis, and is marked. */
double nb_plotdata_axis_top(const double *mean, const double *ci, unsigned n);

/* ---- hop waterfalls ---- */

/* A list of segments found in a report, with the path and test group it belongs to. */
struct nb_plot_hop_set {
	char path[64];
	char group[NB_PLOT_GROUP_LEN];
	const cJSON *segs; /* borrowed from the report */
};
struct nb_plot_hop_sets {
	struct nb_plot_hop_set s[NB_PLOT_MAX_SERIES];
	unsigned n;
};
/* Every `hops` in root (a run's, or a compare's per test and path) into H; label names a run's path. */
void nb_plotdata_hops(struct nb_plot_hop_sets *H, const cJSON *root, const char *label);
/* A segment's name: "hop out r>h" (by interface role, so the same hop lines up across paths), else its
 * interfaces, else its position (i). */
void nb_plotdata_seg_name(const cJSON *seg, unsigned i, char *buf, size_t len);
/* The union of group's segment names, each path's order kept (a new name goes after its predecessor). */
unsigned nb_plotdata_seg_union(const struct nb_plot_hop_sets *H, const char *group,
			       char (*names)[NB_PLOT_SEG_LEN]);
/* The time of the segments called name in set, µs (mean, else p50; 0 when it has none). */
double nb_plotdata_seg_us(const struct nb_plot_hop_set *set, const char *name);

#endif
