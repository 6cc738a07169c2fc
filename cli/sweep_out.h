/* SPDX-License-Identifier: MIT */
/* `nbench sweep`'s output (sweep_out.c): what it shows of a sweep (bench/sweep.c) in text, CSV, JSON. */
#ifndef NBENCH_CLI_SWEEP_OUT_H
#define NBENCH_CLI_SWEEP_OUT_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "nbench/sweep.h"

/* The JSON report: what --json prints and what --baseline reads. */
cJSON *cli_sweep_doc(const struct nb_sweep *s);
/* The table in format f. */
void cli_sweep_write(const struct nb_sweep *s, enum cli_format f, FILE *out);

#endif
