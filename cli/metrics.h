/* SPDX-License-Identifier: MIT */
/*
 * Metrics out of any nbench JSON report, and the statistics that compare two sets of them (`nbench diff`,
 * --baseline). Pure functions over cJSON: no I/O but nbm_load, no printing. A report kind (a single run, a
 * compare, later throughput and sweep) is one row of a table in metrics.c; a metric's direction (lower or
 * higher is better) is one row of another.
 */
#ifndef NBENCH_CLI_METRICS_H
#define NBENCH_CLI_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "stats.h"

#define NBM_MAX_SAMPLES 100 /* runs per metric: compare's --max-runs, or report files on one side */
#define NBM_MAX_METRICS 512 /* compare: 5 tests x 2 placements x 8 paths x 6 figures */
#define NBM_MAX_KEYS	32

/* One figure across runs: each run (a file, or one of compare's rounds) adds a sample. */
struct nbm_metric {
	char name[96]; /* "p50_ns"; compare: "rr-tcp/same/native p50_ns" */
	int dir;       /* -1 lower is better, +1 higher is better, 0 unknown (change shown, never judged) */
	double v[NBM_MAX_SAMPLES];
	unsigned n;
};

struct nbm_kv {
	char key[64];
	char val[160];
};

/* Everything read from one side of a diff (one or more report files of the same kind). */
struct nbm_set {
	char kind[16];			   /* "rr", "stream", "crr" (a single run), "compare", ... */
	unsigned docs;			   /* report files (or documents) added */
	struct nbm_kv ident[NBM_MAX_KEYS]; /* the settings that change what the figures mean */
	unsigned n_ident;
	struct nbm_kv context[NBM_MAX_KEYS * 4]; /* host, kernel, NIC, engine, path: shown, never refused */
	unsigned n_context;
	struct nbm_metric m[NBM_MAX_METRICS];
	unsigned n;
};

/* Adds one report's figures to s. The first report sets s's kind, identity and context; a later one must
 * match them. 0, or -EINVAL with the reason in err (an unknown shape, or "settings.msg_bytes differs"). */
int nbm_add_doc(struct nbm_set *s, const cJSON *doc, char *err, size_t errlen);

/* Reads SPEC: a report file, FILE1,FILE2,... (repeated runs), or a directory (its *.json, sorted). 0 or
 * -errno with the reason in err. */
int nbm_load(struct nbm_set *s, const char *spec, char *err, size_t errlen);

/* The metric called name in s, or NULL. */
const struct nbm_metric *nbm_find(const struct nbm_set *s, const char *name);

/* The direction of a figure by its key (the last word of a metric's name): -1, +1, or 0 when unknown. */
int nbm_direction(const char *key);

/* Whether a context key (as nbm_set's context names them: "client.kernel", "interfaces[0].firmware",
 * "context.dpdk.pmd" in a sweep) is about the hosts or the NICs: their kernel, CPU, driver, firmware,
 * identity, the DPDK port, the knobs swept or the test's settings. A difference there alone can move a
 * figure. */
bool nbm_host_nic_key(const char *key);
/* How many host or NIC context keys both a and b have with different values; the first max as "KEY A -> B"
 * joined by "; " into buf (truncated to len). */
unsigned nbm_host_nic_diffs(const struct nbm_set *a, const struct nbm_set *b, char *buf, size_t len,
			    unsigned max);

/* 0 when a and b measure the same thing; else -EINVAL with "the test's settings.kind differs: rr vs
 * stream" (one line) in err. */
int nbm_same_test(const struct nbm_set *a, const struct nbm_set *b, char *err, size_t errlen);

/* How a change was tested. */
enum nbm_test {
	NBM_TEST_NONE,	   /* one run on each side: no interval, not testable */
	NBM_TEST_WELCH,	   /* both sides repeated: Welch's t-test */
	NBM_TEST_INTERVAL, /* one side repeated: is the single run outside the other's interval? */
};
const char *nbm_test_name(enum nbm_test t);

/* B against A for one metric. */
struct nbm_change {
	struct nb_stat a, b;
	double delta_pct; /* (mean B - mean A) / |mean A|, percent; +-INFINITY from 0, 0 when both are 0 */
	double ci_pct;	  /* the change's interval half-width, percent of |mean A|; NAN when untested */
	enum nbm_test test;
	bool significant; /* false when untested */
	int verdict;	  /* +1 better, -1 worse, 0 no change (or not significant, or direction unknown) */
	bool regression;  /* worse than A by more than the tolerance beyond the change's interval */
};

/* Compares b against a at confidence level (95 or 99) with tol_pct the tolerated worsening in percent. */
struct nbm_change nbm_compare(const struct nbm_metric *a, const struct nbm_metric *b, double level,
			      double tol_pct);

/* "5%" or "5" into *ret (percent, 0..1000). 0 or -EINVAL. */
int nbm_parse_pct(const char *s, double *ret);

#endif
