/* SPDX-License-Identifier: MIT */
/* `nbench study`'s output (study_out.c): the settings, the table beside the study's figures, the Redis row
 * with the study's statements, the paths left out; as text or JSON. */
#ifndef NBENCH_CLI_STUDY_OUT_H
#define NBENCH_CLI_STUDY_OUT_H

#include <stdint.h>

#include "cli.h"
#include "nbench/study.h"
#include "nbench/studyrun.h"

#define CLI_STUDY_MAX_LEFT 8

struct cli_study {
	const struct nb_study *s; /* the study's figures */
	struct nb_studyrun *r;	  /* what ran (closed) */
	const char *data_file;	  /* where the study's figures came from */
	double margin;		  /* the verdicts' parity margin (a fraction) */
	const char *cmdline;
	int64_t elapsed_ns;
	/* paths asked for that this nbench does not have (compare's own left-out paths are in r) */
	struct {
		char path[16];
		char why[96];
	} left[CLI_STUDY_MAX_LEFT];
	unsigned nleft;
};

/* Notes path as left out before anything ran, with why. */
void cli_study_left_out(struct cli_study *o, const char *path, const char *why);
/* The study's document: {schema_version, kind "study", study, start {settings, paths, left_out}, table [],
 * redis {settings, points [], statements []}, elapsed_s, complete}. NULL when out of memory. */
struct cJSON *cli_study_doc(const struct cli_study *o);
/* The table and the Redis row as text into out. */
void cli_study_text(const struct cli_study *o, FILE *out);
/* Prints o in format on stdout, and also into output (in format) and json_out (JSON) when given. 0, or
 * -errno after a one-line error (a file that cannot be written). */
int cli_study_output(const struct cli_study *o, enum cli_format format, const char *output,
		     const char *json_out);

#endif
