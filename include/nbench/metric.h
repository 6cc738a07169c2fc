/* SPDX-License-Identifier: MIT */
/*
 * The figures of a run that repeated runs are compared on (analyze/metric.c): what compare and sweep take
 * from each run's report, and which way each figure of any report is better (what diff judges by).
 */
#ifndef NBENCH_METRIC_H
#define NBENCH_METRIC_H

#include <stdbool.h>
#include <stddef.h>

#include "nbench/cfg.h"

struct nb_report;

/* The figures compare and sweep take from each run. */
enum nb_metric { NB_M_GOODPUT, NB_M_CPB, NB_M_P50, NB_M_P90, NB_M_P99, NB_M_TPS, NB_M_CPT, NB_M_COUNT };

struct nb_metric_info {
	const char *key;   /* the JSON's name, in the report's unit ("p50_ns") */
	const char *label; /* the text tables' name ("p50") */
	const char *unit;  /* the text tables' unit ("us"; "" none) */
	double scale;	   /* the report's unit to the text's */
	bool stream;	   /* a stream's figure, else rr/crr's */
};
extern const struct nb_metric_info nb_metrics[NB_M_COUNT];

/* Figure m of a finished run's report. */
double nb_metric_of(const struct nb_report *r, enum nb_metric m);
/* Whether m is a figure of a test of kind (goodput of a stream, latency of rr and crr...). */
bool nb_metric_applies(enum nb_metric m, enum nb_test_kind kind);
/* "p50 (us)": m's name in a text table, with its unit; returns buf. */
const char *nb_metric_label(enum nb_metric m, char *buf, size_t len);

/* Which way a figure is better, by its key ("p99_ns", "goodput_bps"): -1 lower, +1 higher, 0 unknown (a
 * change in it is shown and never judged). */
int nb_metric_direction(const char *key);

#endif
