/* SPDX-License-Identifier: MIT */
/* `nbench compare`'s output (compare_out.c): what it shows of a compare (bench/compare.c) in text, CSV, JSON.
 */
#ifndef NBENCH_CLI_COMPARE_OUT_H
#define NBENCH_CLI_COMPARE_OUT_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "nbench/compare.h"

/* A compare and what its JSON keeps of the runs as they end. */
struct cli_compare {
	struct nb_compare *c;
	cJSON *runs_json; /* "runs": one entry per run without capture */
	cJSON
	    *path_details; /* per path, the "start" of its first complete run: hosts, engine, NICs, config */
};

/* Keeps run r (an entry of "runs"; the path's details from its first complete run). */
void cli_compare_record(struct cli_compare *cc, const struct nb_compare_run *r);
/* The JSON report: what --json prints and what --baseline reads. */
cJSON *cli_compare_doc(const struct cli_compare *cc);
/* The tables in format f. */
void cli_compare_write(const struct cli_compare *cc, enum cli_format f, FILE *out);

#endif
