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
/* The helpers each figure kind is built with, for the kinds in their own files (plot_study.c): a figure begun
 * (its script's terminal, output and title) and ended (kept when keep); a gnuplot string; the separator
 * before every series of a plot command but the first. */
int plot_fig_begin(struct plot_figs *P, const char *name, const char *title);
void plot_fig_end(struct plot_figs *P, bool keep);
void plot_gp_str(FILE *f, const char *s);
const char *plot_sep(unsigned series);
/* The file's name without its folder and ".json", file-safe: the prefix of a compare's or a study's figures.
 */
void plot_file_stem(const char *file, char *buf, size_t len);
/* plot_study.c: the figures of `nbench study --json`'s document doc, named after stem. 0, -ENOMEM, -ENOSPC.
 */
int plot_study(struct plot_figs *P, const char *stem, const cJSON *doc);
/* Frees every figure's texts. */
void plot_free(struct plot_figs *P);

#endif
