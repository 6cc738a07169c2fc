/* SPDX-License-Identifier: MIT */
/*
 * compare's figures of its decisions (plot_fig.h): the ratios to the reference as a forest plot, and each
 * path's latency distribution from its merged histogram in HdrHistogram's style. The data are
 * analyze/plotdata.c's; the figure's frame is plot_fig.c's.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "nbench/metric.h"
#include "nbench/plotdata.h"
#include "plot_fig.h"

/* A figure's name in words: "p50", "transactions/s" (the key when compare has no such figure). */
static const char *metric_words(const char *key)
{
	for (int m = 0; m < NB_M_COUNT; m++)
		if (!strcmp(nb_metrics[m].key, key))
			return nb_metrics[m].label;
	return key;
}

/* A number, or NaN (what gnuplot skips) unless cut. */
static void num_or_nan(FILE *f, bool cut, double v, const char *end)
{
	if (cut)
		fprintf(f, " %.6g%s", v, end);
	else
		fprintf(f, " NaN%s", end);
}

/* The forest's rows into its data: label, ratio, interval (cut to [xmin, xmax]), path index, the cut ends;
 * the longest label's length. */
static size_t forest_rows(FILE *dat, const struct nb_plot_ratio *rows, unsigned n, double xmin, double xmax)
{
	size_t longest = 10;
	fprintf(dat, "# label ratio lo hi path_index cut_low cut_high (NaN: not cut)\n");
	for (unsigned i = 0; i < n; i++) {
		char label[320];
		snprintf(label, sizeof(label), "%.160s  %.64s  %.40s", rows[i].group, rows[i].path,
			 metric_words(rows[i].key));
		plot_dat_str(dat, label);
		longest = strlen(label) > longest ? strlen(label) : longest;
		double lo = isnan(rows[i].lo) ? rows[i].ratio : rows[i].lo,
		       hi = isnan(rows[i].hi) ? rows[i].ratio : rows[i].hi;
		fprintf(dat, " %.6g %.6g %.6g %u", fmin(fmax(rows[i].ratio, xmin), xmax), fmax(lo, xmin),
			fmin(hi, xmax), rows[i].path_index + 1);
		num_or_nan(dat, lo < xmin, xmin, "");
		num_or_nan(dat, hi > xmax, xmax, "\n");
	}
	return longest;
}

int plot_compare_forest(struct plot_figs *P, const char *stem, const cJSON *root)
{
	static struct nb_plot_ratio rows[NB_PLOT_MAX_RATIOS];
	char ref[64], name[160], title[200];
	unsigned n = nb_plotdata_compare_ratios(root, rows, NB_PLOT_MAX_RATIOS, ref, sizeof(ref));
	const double clamp = 8;
	double xmin = 1, xmax = 1;

	snprintf(name, sizeof(name), "%.60s_ratios", stem);
	snprintf(title, sizeof(title),
		 "each path against %.60s: ratio with its 95%% interval (paired by round)",
		 *ref ? ref : "the reference");
	int r = plot_fig_begin(P, name, title);
	if (r < 0)
		return r;
	/* a row per ratio, the first at the top; a taller figure for many */
	unsigned height = 160 + 18 * (n < 12 ? 12 : n);
	if (!strcmp(P->format, "png"))
		fprintf(P->gp, "set terminal pngcairo size 1000,%u noenhanced font 'sans,10'\n", height);
	else
		fprintf(
		    P->gp,
		    "set terminal svg size 1000,%u dynamic noenhanced font 'sans,11' background '#ffffff'\n",
		    height);
	/* a log axis (a ratio's interval is symmetric in logs), at most 1/8..8: an interval beyond is cut at
	 * the edge and marked there with an arrowhead */
	for (unsigned i = 0; i < n; i++) {
		xmin = fmin(xmin, isnan(rows[i].lo) ? rows[i].ratio : rows[i].lo);
		xmax = fmax(xmax, isnan(rows[i].hi) ? rows[i].ratio : rows[i].hi);
	}
	xmin = fmax(xmin / 1.05, 1 / clamp);
	xmax = fmin(xmax * 1.05, clamp);
	size_t longest = forest_rows(P->dat, rows, n, xmin, xmax);
	fprintf(P->gp,
		"set yrange [%u:-1] reverse\nset ytics scale 0\nset grid xtics noytics\nset key off\n"
		"set logscale x\nset xrange [%g:%g]\nset xtics (0.125, 0.25, 0.5, 0.8, 0.9, 1, 1.1, 1.25, "
		"1.5, 2, 4, 8)\nset xlabel 'ratio to %s (1.0: no difference; log scale, "
		"an interval past the edge ends in an arrowhead)'\n"
		"set arrow from 1, graph 0 to 1, graph 1 nohead dt 2 lw 1.5 lc rgb '#444444'\n"
		"set style line 1 lc rgb '#1b9e77'\nset style line 2 lc rgb '#d95f02'\n"
		"set style line 3 lc rgb '#7570b3'\nset style line 4 lc rgb '#e7298a'\n"
		"set style line 5 lc rgb '#66a61e'\nset style line 6 lc rgb '#e6ab02'\n"
		"set style line 7 lc rgb '#a6761d'\nset style line 8 lc rgb '#666666'\n"
		"set style increment user\nset lmargin %zu\n",
		n, xmin, xmax, *ref ? ref : "the reference", longest + 2);
	const char *f = P->figs[P->nfigs].name;
	fprintf(P->cmd,
		"'%s.dat' using 2:0:3:4:5:yticlabels(1) with xerrorbars pt 7 ps 0.8 lw 1.5 lc variable "
		"notitle, \\\n"
		"     '%s.dat' using 6:0:('<') with labels font ',14' tc rgb '#444444' notitle, \\\n"
		"     '%s.dat' using 7:0:('>') with labels font ',14' tc rgb '#444444' notitle",
		f, f, f);
	plot_fig_end(P, n > 0);
	return 0;
}

int plot_compare_percentiles(struct plot_figs *P, const char *stem, const cJSON *root, const char *group)
{
	const char *paths[NB_PLOT_MAX_SERIES];
	unsigned np = nb_plotdata_compare_paths(root, paths, NB_PLOT_MAX_SERIES), series = 0, any = 0;
	char name[200], title[200];
	double xmax = 1;

	for (unsigned p = 0; p < np; p++) {
		struct nb_plot_point pts[NB_PLOT_MAX_POINTS];
		any += nb_plotdata_compare_merged(root, group, paths[p], pts, NB_PLOT_MAX_POINTS) > 0;
	}
	if (!any)
		return 0;
	snprintf(name, sizeof(name), "%.60s_latency_%.100s", stem, group);
	snprintf(title, sizeof(title), "%.100s: latency by percentile, every round's transactions merged",
		 group);
	int r = plot_fig_begin(P, name, title);
	if (r < 0)
		return r;
	fprintf(P->dat, "# per path: 1/(1-p) percentile latency_us (its merged histogram)\n");
	for (unsigned p = 0; p < np; p++) {
		struct nb_plot_point pts[NB_PLOT_MAX_POINTS];
		unsigned n = nb_plotdata_compare_merged(root, group, paths[p], pts, NB_PLOT_MAX_POINTS);
		if (!n)
			continue;
		fprintf(P->dat, "%s# %s\n", series ? "\n\n" : "", paths[p]);
		for (unsigned i = 0; i < n; i++) {
			fprintf(P->dat, "%.6g %g %.6g\n", pts[i].x, pts[i].pct, pts[i].us);
			xmax = fmax(xmax, pts[i].x);
		}
		fprintf(P->cmd, "%s'%s.dat' index %u using 1:3 with linespoints lw 2 pt 7 ps 0.6 title ",
			plot_sep(series), P->figs[P->nfigs].name, series);
		plot_gp_str(P->cmd, paths[p]);
		series++;
	}
	plot_percentile_axis(P->gp, xmax);
	fprintf(P->gp, "set logscale y\nset yrange [*:*]\nset ylabel 'latency (µs, log scale)'\n");
	plot_fig_end(P, series > 0);
	return 0;
}

int plot_compare_build(struct plot_figs *P, cJSON **roots, char **files, unsigned n)
{
	int r = 0;
	for (unsigned i = 0; i < n && !r; i++) {
		char groups[NB_PLOT_MAX_SERIES][NB_PLOT_GROUP_LEN], stem[96];
		if (plot_is_run(roots[i]))
			continue;
		plot_file_stem(files[i], stem, sizeof(stem));
		unsigned ng = nb_plotdata_compare_groups(roots[i], groups, NB_PLOT_MAX_SERIES);
		for (unsigned g = 0; g < ng && !r; g++)
			r = plot_compare_percentiles(P, stem, roots[i], groups[g]);
		r = r ? r : plot_compare_forest(P, stem, roots[i]);
	}
	return r;
}
