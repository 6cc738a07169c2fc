/* SPDX-License-Identifier: MIT */
/* `nbench plot`'s figures (plot_fig.c): per figure, gnuplot's data and script, built in memory. */
#ifndef NBENCH_CLI_PLOT_FIG_H
#define NBENCH_CLI_PLOT_FIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#define PLOT_MAX_FIGS 64

/* One figure: its file stem and the texts of its data and script. */
struct plot_fig {
	char name[128];
	char *dat, *gp;
	size_t dat_len, gp_len;
};

struct plot_figs {
	const char *format; /* "svg" or "png" */
	struct plot_fig figs[PLOT_MAX_FIGS];
	unsigned nfigs;
	FILE *dat, *gp; /* the figure being built: its data, and its script's settings */
	FILE *cmd;	/* its plot command, after the settings */
	char *cmd_buf;
	size_t cmd_len;
};

/* The figures of n reports (files[i] parsed as roots[i]): single runs share theirs (a line per run), each
 * compare has its own, named after its file. 0, or -ENOMEM / -ENOSPC (more than PLOT_MAX_FIGS). */
int plot_build(struct plot_figs *P, cJSON **roots, char **files, unsigned n);
/* Frees every figure's texts. */
void plot_free(struct plot_figs *P);

/* Helpers every figure shares. */
#define PLOT_COLOURS 12
/* The i-th colour of nbench's figures ("#rrggbb"), for series told apart by colour alone (paths, a
 * waterfall's segments): a qualitative palette whose first 11 are at least 21 apart by CIEDE2000; it
 * repeats after PLOT_COLOURS. */
const char *plot_colour(unsigned i);
/* mean ± ci at pos as gnuplot arrows into gp, on a value axis that shows [lo, hi] (y, or x when
 * horizontal): a flat cap at an end inside it, an arrowhead at the edge and the end's value beside it
 * for an end beyond (nb_plotdata_whisker). Nothing for a NAN or zero ci. */
void plot_whisker(FILE *gp, double pos, double mean, double ci, double lo, double hi, bool horizontal);

/* For the files that add figures (plot_compare.c): begin a figure (its script's terminal, output and title;
 * 0, -ENOSPC or -ENOMEM), end it (kept when keep), a gnuplot string, a data-file string, the x axis of a
 * percentile figure up to 1/(1-p) = xmax, the separator before a plot command's series. */
int plot_fig_begin(struct plot_figs *P, const char *name, const char *title);
void plot_fig_end(struct plot_figs *P, bool keep);
void plot_gp_str(FILE *f, const char *s);
void plot_dat_str(FILE *f, const char *s);
void plot_percentile_axis(FILE *gp, double xmax);
const char *plot_sep(unsigned series);
/* Whether root is a single run's report; a report file's stem (its name without folder and ".json"). */
bool plot_is_run(const cJSON *root);
void plot_file_stem(const char *file, char *buf, size_t len);

/* compare's figures of its decisions (plot_compare.c), after plot_build's: per compare report the merged
 * latency distributions and the forest plot. 0 or -errno. */
int plot_compare_build(struct plot_figs *P, cJSON **roots, char **files, unsigned n);

/* compare: its ratios as a forest plot (a row per path and figure, the interval as a bar, a line at 1.0);
 * 0 or -errno, nothing drawn when the report has no ratio. */
int plot_compare_forest(struct plot_figs *P, const char *stem, const cJSON *root);
/* compare: group's latency percentile distribution per path from the merged histograms (HdrHistogram's
 * style, to p99.99); nothing drawn when the report has none (a compare from before them); 0 or -errno. */
int plot_compare_percentiles(struct plot_figs *P, const char *stem, const cJSON *root, const char *group);

#endif
