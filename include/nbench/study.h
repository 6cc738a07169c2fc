/* SPDX-License-Identifier: MIT */
/*
 * The study beside the measurement (analyze/study.c): RC25482's network figures as data (data/rc25482.json,
 * each value with its source), and the table `nbench study` prints: per figure and path, nbench's value and
 * its ratio to native, each with an interval, beside the study's value and ratio, and a verdict. The Redis
 * row the same way, per connection count, with the study's statements about it. Pure functions over
 * numbers and cJSON: the driver (bench/study.c) measures, the CLI prints.
 *
 * The verdict of a row compares nbench's ratio to native, r in [lo, hi], with the study's, s in [s_lo, s_hi]
 * (a spreadsheet value is exact, a bar read off a figure carries its reading error, which both bars of a
 * ratio add to), with a margin m (NB_STUDY_MARGIN): an interval inside [1 - m, 1 + m] is at parity, one
 * whose lower end is above 1 + m above it, whose upper end is below 1 - m below it; the study's side is the
 * same, or (its reading error straddling a margin's edge) the side of 1 it lies on.
 *   - "holds": the intervals overlap and nbench's tells the study's finding from the alternative: for a
 *     study's effect (above or below parity) nbench's interval is clear of 1; for the study's parity it lies
 *     inside the margin;
 *   - "holds (direction)": they do not overlap, but both lie on the same side (above, below, or at parity):
 *     the same finding, of another size;
 *   - "differs": they do not overlap and lie on different sides; the size is r / s - 1 with its interval;
 *   - "unresolved": nbench's interval cannot tell (it holds the study's ratio and parity both, or straddles a
 *     margin's edge): more rounds, or a quieter machine, would.
 * A row without the study's value, or without a measured ratio, has none ("-"); native is the reference.
 */
#ifndef NBENCH_STUDY_H
#define NBENCH_STUDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define NB_STUDY_MAX_PATHS	8    /* the study's configurations */
#define NB_STUDY_MAX_FIGURES	16   /* figure rows: goodput tx/rx, cycles/byte tx/rx, TCP/UDP_RR x 2 */
#define NB_STUDY_MAX_NBENCH	4    /* nbench path kinds standing for one of the study's */
#define NB_STUDY_MAX_STATEMENTS 12   /* the Redis statements */
#define NB_STUDY_MARGIN		0.05 /* default: a ratio within 5% of 1 is parity */

/* One of the study's configurations and the nbench paths that stand for it. */
struct nb_study_path {
	char id[16];			      /* "native", "docker-nat", "docker-host", "kvm" */
	char label[32];			      /* "Docker NAT" */
	char nbench[NB_STUDY_MAX_NBENCH][16]; /* "nat", "docker-nat" */
	unsigned n_nbench;
};

/* The study's value of one figure on one path. */
struct nb_study_value {
	bool have;		   /* the study says something for this path */
	bool statement;		   /* only a ratio, from the text (no measured value) */
	bool derived;		   /* computed from another value (1e6 / a latency read off a figure) */
	double value;		   /* in the figure's unit; NAN for a statement */
	double error;		   /* the reading error (+-), 0 for an exact spreadsheet value */
	double ratio;		   /* value / native's, or the statement's ratio; 1 for native */
	double ratio_lo, ratio_hi; /* with both values' reading errors */
	char source[224];
};

/* One figure row of the study: a metric of one test in one direction. */
struct nb_study_figure {
	char id[24];	 /* "cpb-tx" */
	char figure[16]; /* "figure 2", "goodput" */
	char title[64];	 /* "CPU cycles per byte, SUT transmits" */
	char test[24];	 /* compare's test name: "stream-reverse", "rr-tcp" */
	char metric[24]; /* "goodput", "cycles_per_byte", "latency", "transactions_per_s" */
	char unit[16];	 /* the study's unit: "Mbit/s", "cycles/byte", "us", "1/s" */
	int better;	 /* +1 higher is better, -1 lower */
	struct nb_study_value v[NB_STUDY_MAX_PATHS]; /* by the study's path index */
	char statement[256];
};

/* What the study says of the Redis row. */
struct nb_study_statement {
	char path[16];	      /* the study's path id */
	char metric[16];      /* "latency" or "throughput" */
	unsigned connections; /* where it applies; 0: at every count */
	double ratio;	      /* ~ratio to native; NAN: none */
	double ratio_min;     /* the ratio is above this; NAN: none */
	double added_us;      /* latency added to native's; NAN: none */
	double value_us;      /* the latency it names; NAN: none */
	char text[192];
};

struct nb_study {
	char name[16]; /* "RC25482" */
	char title[128];
	struct nb_study_path paths[NB_STUDY_MAX_PATHS];
	unsigned npaths;
	struct nb_study_figure figs[NB_STUDY_MAX_FIGURES];
	unsigned nfigs;
	struct nb_study_statement redis[NB_STUDY_MAX_STATEMENTS];
	unsigned nredis;
	char redis_workload[256];
};

/* Reads the study's data (data/rc25482.json's layout) from j into *ret: 0, or -EINVAL with the key named in
 * err. Every figure must have native's value; a ratio is computed for every other path that has one. */
int nb_study_from_json(const cJSON *j, struct nb_study *ret, char *err, size_t errlen);
/* nb_study_from_json of the file at path: 0, -errno (the file) or -EINVAL, with a message in err. */
int nb_study_load(const char *path, struct nb_study *ret, char *err, size_t errlen);

/* The study's path an nbench path kind stands for ("nat" -> "docker-nat"): its index, or -1 (bridge). */
int nb_study_path_of(const struct nb_study *s, const char *kind);
/* The study's path with id: its index, or -1. */
int nb_study_path_index(const struct nb_study *s, const char *id);
/* The figure with id: its index, or -1. */
int nb_study_figure_index(const struct nb_study *s, const char *id);

/* What nbench measured of one figure on one path: the value with its interval, and the ratio to native
 * with its interval (NAN when there is none: native itself, or no native to pair with). */
struct nb_study_measure {
	bool have;	      /* measured (at least one complete round) */
	double value, lo, hi; /* in the study's unit */
	double ratio, ratio_lo, ratio_hi;
	unsigned rounds;
};

/* A figure's measure from its rounds: x[i] on the path and ref[i] on native in round i (NAN: that run failed
 * or did not run), each value scaled by scale to the study's unit. The value is the mean of x's rounds with
 * its interval at level (95 or 99), the ratio x / ref over the rounds both have, paired by round (what hits a
 * whole round cancels), with its interval: compare's statistics (analyze/paired.h: t on the logs while the
 * rounds are few, a bootstrap seeded with seed joining it from NB_PAIRED_BOOT_MIN rounds). ref NULL: no
 * ratio. A single round gives the point as its own interval. */
struct nb_study_measure nb_study_measure_rounds(const double *x, const double *ref, unsigned n, double scale,
						double level, uint64_t seed);

/* The measure of 1/x scaled by k (transactions/s -> latency in us with k = 1e6), intervals turned round (an
 * interval of x reaching 0 has no upper bound: INFINITY). */
struct nb_study_measure nb_study_measure_inverse(const struct nb_study_measure *m, double k);

enum nb_study_verdict {
	NB_VERDICT_NONE,      /* no study value or no measured ratio */
	NB_VERDICT_REFERENCE, /* native */
	NB_VERDICT_HOLDS,
	NB_VERDICT_DIRECTION,
	NB_VERDICT_DIFFERS,
	NB_VERDICT_UNRESOLVED,
};
/* "-", "reference", "holds", "holds (direction)", "differs", "unresolved". */
const char *nb_study_verdict_name(enum nb_study_verdict v);

/* Which side of parity an interval lies on. */
enum nb_study_side { NB_SIDE_BELOW = -1, NB_SIDE_PARITY = 0, NB_SIDE_ABOVE = 1, NB_SIDE_UNRESOLVED = 2 };
/* [lo, hi]'s side with margin m (see the top of this file). */
enum nb_study_side nb_study_side(double lo, double hi, double margin);

/* A verdict with the size of the difference: nbench's ratio over the study's, less 1, in percent, with its
 * interval (NAN when there is no verdict). */
struct nb_study_judgement {
	enum nb_study_verdict verdict;
	double diff_pct, diff_lo_pct, diff_hi_pct;
};
/* Judges nbench's ratio r in [lo, hi] against the study's s in [s_lo, s_hi] with margin m. */
struct nb_study_judgement nb_study_judge(double r, double lo, double hi, double s, double s_lo, double s_hi,
					 double margin);

/* One row of the table. */
struct nb_study_row {
	unsigned fig;  /* index in the study's figs */
	char path[16]; /* nbench's path kind */
	int spath;     /* the study's path it stands for, or -1 */
	struct nb_study_measure m;
	struct nb_study_value sv; /* the study's (have false: none) */
	struct nb_study_judgement j;
};

/* Fills row for figure fig on nbench path kind with measure m (native's row is the reference). */
void nb_study_row(const struct nb_study *s, unsigned fig, const char *kind, const struct nb_study_measure *m,
		  double margin, struct nb_study_row *row);
/* What nbench measured of figure fig (an index in s->figs) on path kind into *ret (left with have false when
 * nothing was). */
typedef void (*nb_study_measure_fn)(void *arg, unsigned fig, const char *kind, struct nb_study_measure *ret);
/* The table in the study's layout: every figure of s in its order, for each of the nkinds nbench path kinds
 * in theirs (native first, as the reference), measured by measure. Returns the rows written to rows (at most
 * max). */
unsigned nb_study_table(const struct nb_study *s, const char *const *kinds, unsigned nkinds,
			nb_study_measure_fn measure, void *arg, double margin, struct nb_study_row *rows,
			unsigned max);
/* A row as JSON: figure, title, test, metric, unit, path, study_path, value, value_lo, value_hi, ratio,
 * ratio_lo, ratio_hi, rounds, study {value, error, ratio, ratio_lo, ratio_hi, statement, derived, source},
 * verdict, diff_pct, diff_lo_pct, diff_hi_pct (null where NAN). NULL when out of memory. */
cJSON *nb_study_row_json(const struct nb_study *s, const struct nb_study_row *row);

/* ---- a study's JSON document (`nbench study --json`), as nbench plot reads it ---- */

/* A row of the document's table. */
struct nb_study_doc_row {
	double value, lo, hi;		  /* nbench's, in the study's unit; NAN: none */
	double ratio, ratio_lo, ratio_hi; /* to native */
	double study;			  /* the study's value; NAN: none, or only its text's ratio */
};
/* The row of figure (an id: "cpb-tx") on path in doc's table: false when the table has none. */
bool nb_study_doc_row(const cJSON *doc, const char *figure, const char *path, struct nb_study_doc_row *ret);
/* One of doc's redis.points when it is path's: its connections and figure key's ("requests_per_s",
 * "mean_latency_us") value and interval (NAN bounds: none). */
bool nb_study_doc_point(const cJSON *pt, const char *path, const char *key, double *ret_conns, double *ret_v,
			double *ret_lo, double *ret_hi);
/* doc's paths (start.settings.paths) into paths (borrowed from doc), at most max; how many. */
unsigned nb_study_doc_paths(const cJSON *doc, const char **paths, unsigned max);
/* Whether doc is a study's document (kind "study", with a table). */
bool nb_study_doc_is(const cJSON *doc);

/* ---- the Redis row ---- */

/* One point of the Redis curves: a path at a number of connections. */
struct nb_study_redis_point {
	char path[16];
	unsigned connections;
	struct nb_study_measure tps;	/* requests/s */
	struct nb_study_measure lat_us; /* mean latency, us */
};

/* A statement's verdict against the points: the measured figure it is about in measured (text). */
struct nb_study_redis_verdict {
	const struct nb_study_statement *st;
	char path[16]; /* nbench's path judged */
	struct nb_study_judgement j;
	char measured[160];
};
/* Judges every statement of s against the points for each nbench path standing for the statement's path
 * (the reference is "native"); a statement whose connections no point has, or whose path was not measured,
 * has no verdict. Returns the number of verdicts written to ret (at most max). */
unsigned nb_study_redis_judge(const struct nb_study *s, const struct nb_study_redis_point *pts, unsigned n,
			      double margin, struct nb_study_redis_verdict *ret, unsigned max);

#endif
