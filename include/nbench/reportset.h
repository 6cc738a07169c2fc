/* SPDX-License-Identifier: MIT */
/*
 * The figures of nbench's JSON reports, gathered per side of a comparison (analyze/reportset.c): a set reads
 * one or more reports of the same test (a single run, a compare, a sweep, a throughput search) and keeps each
 * figure's values across them, with what identifies the test and what describes where it ran. diff and
 * --baseline compare two sets (change.h). No printing; nb_reportset_load is the only I/O.
 */
#ifndef NBENCH_REPORTSET_H
#define NBENCH_REPORTSET_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#define NB_RS_MAX_SAMPLES 100 /* runs per figure: compare's --max-runs, or report files on one side */
#define NB_RS_MAX_SERIES  512 /* compare: 5 tests x 2 placements x 8 paths x 6 figures */
#define NB_RS_MAX_KEYS	  32

/* One figure across runs: each run (a file, or one of compare's rounds) adds a value. */
struct nb_series {
	char name[96]; /* "p50_ns"; compare: "rr-tcp/same/native p50_ns" */
	int dir;       /* -1 lower is better, +1 higher is better, 0 unknown (change shown, never judged) */
	double v[NB_RS_MAX_SAMPLES];
	unsigned n;
};

struct nb_rs_kv {
	char key[64];
	char val[160];
};

/* Everything read from one side of a comparison (one or more report files of the same kind). */
struct nb_reportset {
	char kind[16];			       /* "rr", "stream", "crr" (a single run), "compare", ... */
	unsigned docs;			       /* report files (or documents) added */
	struct nb_rs_kv ident[NB_RS_MAX_KEYS]; /* the settings that change what the figures mean */
	unsigned n_ident;
	struct nb_rs_kv
	    context[NB_RS_MAX_KEYS * 4]; /* host, kernel, NIC, engine, path: shown, never refused */
	unsigned n_context;
	struct nb_series m[NB_RS_MAX_SERIES];
	unsigned n;
};

/* Adds one report's figures to s. The first report sets s's kind, identity and context; a later one must
 * match them. 0, or -EINVAL with the reason in err (an unknown shape, or "settings.msg_bytes differs"). */
int nb_reportset_add_doc(struct nb_reportset *s, const cJSON *doc, char *err, size_t errlen);

/* Reads SPEC: a report file, FILE1,FILE2,... (repeated runs), or a directory (its *.json, sorted). 0 or
 * -errno with the reason in err. */
int nb_reportset_load(struct nb_reportset *s, const char *spec, char *err, size_t errlen);

/* The figure called name in s, or NULL. */
const struct nb_series *nb_reportset_find(const struct nb_reportset *s, const char *name);

/* 0 when a and b measure the same thing; else -EINVAL with "different tests: settings.kind rr vs stream"
 * (one line) in err. */
int nb_reportset_same_test(const struct nb_reportset *a, const struct nb_reportset *b, char *err,
			   size_t errlen);

/* Whether a context key (as nb_reportset's context names them: "client.kernel", "interfaces[0].firmware",
 * "context.dpdk.pmd" in a sweep) is about the hosts or the NICs: their kernel, CPU, driver, firmware,
 * identity, the DPDK port, the knobs swept or the test's settings. A difference there alone can move a
 * figure. */
bool nb_reportset_host_nic_key(const char *key);
/* How many host or NIC context keys both a and b have with different values; the first max as "KEY A -> B"
 * joined by "; " into buf (truncated to len; buf may be NULL when len is 0). */
unsigned nb_reportset_host_nic_diffs(const struct nb_reportset *a, const struct nb_reportset *b, char *buf,
				     size_t len, unsigned max);

/* Calls fn for each context key of a whose value differs in b (bval NULL: b has no such key), in a's
 * order; returns how many. */
unsigned nb_reportset_context_diff(const struct nb_reportset *a, const struct nb_reportset *b,
				   void (*fn)(void *arg, const char *key, const char *aval, const char *bval),
				   void *arg);

#endif
