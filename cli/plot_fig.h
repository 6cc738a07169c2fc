/* SPDX-License-Identifier: MIT */
/* `nbench plot`'s figures (plot_fig.c): per figure, gnuplot's data and script, built in memory. */
#ifndef NBENCH_CLI_PLOT_FIG_H
#define NBENCH_CLI_PLOT_FIG_H

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

#endif
