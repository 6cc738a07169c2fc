/* SPDX-License-Identifier: MIT */
/*
 * `nbench plot`'s figures (plot_fig.h): per figure the data (NAME.dat) and the gnuplot script (NAME.gp) that
 * draws it, as text in memory. The latency percentile distribution (HdrHistogram's style: x is 1/(1-p) on a
 * log scale), the interim intervals over time, compare's metrics as bars with confidence-interval whiskers
 * per path, and a hop waterfall as stacked bars per path. What each shows is analyze/plotdata.c's.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbench/plotdata.h"
#include "plot_fig.h"

#define MAX_FILES 64

/* A gnuplot string: single quotes, where only '' needs escaping. */
static void gp_str(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++)
		fputs(*s == '\'' ? "''" : (char[]){*s, 0}, f);
	fputc('\'', f);
}

/* A data-file string: double quotes, which gnuplot's data reader strips; no quote or newline inside. */
static void dat_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++)
		fputc(*s == '"' || *s == '\n' ? '\'' : *s, f);
	fputc('"', f);
}

/* s with everything but [A-Za-z0-9.-] as '_', for file names. */
static void file_safe(char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '.' || *s == '-'))
			*s = '_';
}

/* Starts a figure: the script's terminal, output and title. */
static int fig_begin(struct plot_figs *P, const char *name, const char *title)
{
	if (P->nfigs == PLOT_MAX_FIGS)
		return -ENOSPC;
	struct plot_fig *f = &P->figs[P->nfigs];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	file_safe(f->name);
	P->dat = open_memstream(&f->dat, &f->dat_len);
	P->gp = open_memstream(&f->gp, &f->gp_len);
	P->cmd = open_memstream(&P->cmd_buf, &P->cmd_len);
	if (!P->dat || !P->gp || !P->cmd)
		return -ENOMEM;
	fprintf(P->dat, "# nbench plot: %s (drawn by %s.gp)\n", title, f->name);
	fprintf(P->gp, "# nbench plot: %s\n# redraw: gnuplot %s.gp\n", title, f->name);
	if (!strcmp(P->format, "png"))
		fprintf(P->gp, "set terminal pngcairo size 1000,600 noenhanced font 'sans,10'\n");
	else
		fprintf(P->gp, "set terminal svg size 1000,600 dynamic noenhanced font 'sans,11' background "
			       "'#ffffff'\n");
	fprintf(P->gp, "set output '%s.%s'\nset title ", f->name, P->format);
	gp_str(P->gp, title);
	fprintf(P->gp, "\nset grid\nset key below\n");
	return 0;
}

/* Ends the figure begun last: kept when keep, dropped otherwise (nothing to draw). */
static void fig_end(struct plot_figs *P, bool keep)
{
	struct plot_fig *f = &P->figs[P->nfigs];
	fclose(P->cmd);
	fprintf(P->gp, "plot %s\n", P->cmd_buf);
	free(P->cmd_buf);
	fclose(P->dat);
	fclose(P->gp);
	P->dat = P->gp = P->cmd = NULL;
	if (keep) {
		P->nfigs++;
		return;
	}
	free(f->dat);
	free(f->gp);
}

/* The x tics of a percentile figure up to 1/(1-p) = xmax, and its range. */
static void percentile_axis(FILE *gp, double xmax)
{
	static const struct {
		double x;
		const char *label;
	} tics[] = {{1, "0%%"},	      {2, "50%%"},	 {10, "90%%"},	    {100, "99%%"}, {1000, "99.9%%"},
		    {1e4, "99.99%%"}, {1e5, "99.999%%"}, {1e6, "99.9999%%"}}; /* gnuplot formats */
	fprintf(gp, "set logscale x\nset xrange [1:%g]\nset xtics (", xmax < 10 ? 20 : xmax * 2);
	for (size_t i = 0; i < sizeof(tics) / sizeof(tics[0]) && tics[i].x <= xmax * 2; i++)
		fprintf(gp, "%s'%s' %g", i ? ", " : "", tics[i].label, tics[i].x);
	fprintf(gp, ")\nset xlabel 'percentile'\nset ylabel 'latency (µs)'\nset yrange [0:*]\n");
}

/* A separator before every series of a plot command but the first. */
static const char *sep(unsigned series)
{
	return series ? ", \\\n     " : "";
}

/* One single-run report and how its lines are titled. */
struct run {
	cJSON *root;
	char label[160];
};

/* The points of one distribution into the data, with or without their intervals; the largest x. */
static double percentile_points(FILE *dat, const struct nb_plot_point *pts, unsigned n, bool ci)
{
	double xmax = 1;
	for (unsigned i = 0; i < n; i++) {
		if (ci)
			fprintf(dat, "%.6g %g %.6g %.6g\n", pts[i].x, pts[i].pct, pts[i].us, pts[i].ci_us);
		else
			fprintf(dat, "%.6g %g %.6g\n", pts[i].x, pts[i].pct, pts[i].us);
		xmax = fmax(xmax, pts[i].x);
	}
	return xmax;
}

/* Every rr/crr run's percentiles, a line each. */
static int fig_run_latency(struct plot_figs *P, const struct run *runs, unsigned n)
{
	int r = fig_begin(P, "latency", "latency by percentile");
	unsigned series = 0;
	double xmax = 1;
	if (r < 0)
		return r;
	fprintf(P->dat, "# per run: 1/(1-p) percentile latency_us\n");
	for (unsigned i = 0; i < n; i++) {
		struct nb_plot_point pts[NB_PLOT_MAX_POINTS];
		int np = nb_plotdata_run_percentiles(runs[i].root, pts, NB_PLOT_MAX_POINTS);
		if (np < 0)
			continue;
		fprintf(P->dat, "%s# %s\n", series ? "\n\n" : "", runs[i].label);
		xmax = fmax(xmax, percentile_points(P->dat, pts, (unsigned)np, false));
		fprintf(P->cmd, "%s'latency.dat' index %u using 1:3 with linespoints lw 2 lc rgb '%s' title ",
			sep(series), series, plot_colour(series));
		gp_str(P->cmd, runs[i].label);
		series++;
	}
	percentile_axis(P->gp, xmax);
	fig_end(P, series > 0);
	return 0;
}

/* One run's series of an intervals figure: goodput, or transactions/s and mean latency on the right axis.
 * The most intervals of a run so far in *most. */
static unsigned run_intervals(struct plot_figs *P, const char *name, const struct run *ru, bool stream,
			      unsigned series, unsigned *most)
{
	unsigned n;
	struct nb_plot_iv *iv = nb_plotdata_intervals(ru->root, stream, &n);
	char title[200];
	if (!iv)
		return series;
	*most = n > *most ? n : *most;
	fprintf(P->dat, "%s# %s\n", series ? "\n\n" : "", ru->label);
	for (unsigned k = 0; k < n; k++)
		if (stream)
			fprintf(P->dat, "%g %.6g\n", iv[k].end_s, iv[k].a);
		else
			fprintf(P->dat, "%g %.6g %.6g\n", iv[k].end_s, iv[k].a, iv[k].b);
	free(iv);
	unsigned idx = series / (stream ? 1 : 2);
	fprintf(P->cmd, "%s'%s.dat' index %u using 1:2 with linespoints lw 2 lc rgb '%s' title ", sep(series),
		name, idx, plot_colour(idx));
	snprintf(title, sizeof(title), "%s%s", ru->label, stream ? "" : ": transactions/s");
	gp_str(P->cmd, title);
	if (stream)
		return series + 1;
	fprintf(P->cmd,
		"%s'%s.dat' index %u using 1:3 axes x1y2 with linespoints dt 2 lw 2 lc rgb '%s' title ",
		sep(series + 1), name, idx, plot_colour(idx));
	snprintf(title, sizeof(title), "%s: mean latency", ru->label);
	gp_str(P->cmd, title);
	return series + 2;
}

/* The interim intervals of every run of one kind: rr/crr (transactions/s, and mean latency on the right
 * axis) or stream (goodput). */
static int fig_run_intervals(struct plot_figs *P, const struct run *runs, unsigned n, bool stream)
{
	const char *name = stream ? "intervals_stream" : "intervals_rr";
	int r = fig_begin(P, name,
			  stream ? "goodput per interval" : "transactions/s and mean latency per interval");
	unsigned series = 0, most = 0;
	if (r < 0)
		return r;
	fprintf(P->dat, "# per run: end_s %s\n", stream ? "goodput_gbps" : "tps mean_latency_us");
	for (unsigned i = 0; i < n; i++)
		series = run_intervals(P, name, &runs[i], stream, series, &most);
	/* time from the run's start: a lone interval is a point at its end, not the middle of a 0.02 s axis
	 * (gnuplot widens an empty range around it), and the figure says why there is no line */
	fprintf(P->gp, "set xlabel 'time (s)'\nset xrange [0:*]\nset yrange [0:*]\n");
	if (most == 1)
		fprintf(P->gp,
			"set label 'one interval per run: nothing to show over time (-i shorter than -t "
			"gives a line)' at graph 0.5,0.5 center front\n");
	if (stream)
		fprintf(P->gp, "set ylabel 'goodput (Gbit/s)'\n");
	else
		fprintf(P->gp,
			"set ylabel 'transactions/s'\nset y2label 'mean latency (µs)'\nset y2range [0:*]\n"
			"set ytics nomirror\nset y2tics\n");
	fig_end(P, series > 0);
	return 0;
}

/* A row of a compare metric figure's table: the group, then each path's mean and interval (scaled). false
 * when no path has the metric in this group. */
static bool metric_row(struct plot_figs *P, const cJSON *root, const char *group, const char **paths,
		       unsigned np, const char *key, double scale)
{
	bool any = false;
	double mean, ci;
	for (unsigned p = 0; p < np; p++)
		any |= nb_plotdata_compare_value(root, group, paths[p], key, &mean, &ci);
	if (!any)
		return false;
	dat_str(P->dat, group);
	for (unsigned p = 0; p < np; p++) {
		nb_plotdata_compare_value(root, group, paths[p], key, &mean, &ci);
		fprintf(P->dat, " %.6g %.6g", mean * scale, isnan(ci) ? 0 : ci * scale);
	}
	fprintf(P->dat, "\n");
	return true;
}

/* The bars of a compare metric figure: per path a data block (x of each of its bars, mean), the whiskers
 * as arrows on an axis that keeps the bars readable (nb_plotdata_axis_top), their plot command. */
static void metric_bars(struct plot_figs *P, const cJSON *root, char (*groups)[NB_PLOT_GROUP_LEN],
			unsigned ng, const char **paths, unsigned np, const char *key, double scale)
{
	double mean[NB_PLOT_MAX_SERIES * 8], ci[NB_PLOT_MAX_SERIES * 8], w = 0.8 / np;
	unsigned n = 0;
	for (unsigned g = 0; g < ng; g++)
		for (unsigned p = 0; p < np && n < sizeof(mean) / sizeof(mean[0]); p++, n++) {
			nb_plotdata_compare_value(root, groups[g], paths[p], key, &mean[n], &ci[n]);
			mean[n] *= scale;
			ci[n] *= scale;
		}
	double top = nb_plotdata_axis_top(mean, ci, n);
	fprintf(P->gp, "set yrange [0:%g]\nset xrange [-0.6:%g]\nset boxwidth %g absolute\nset xtics (", top,
		ng - 0.4, w);
	for (unsigned g = 0; g < ng; g++) {
		fprintf(P->gp, "%s", g ? ", " : "");
		gp_str(P->gp, groups[g]);
		fprintf(P->gp, " %u", g);
	}
	fprintf(P->gp, ") scale 0\n");
	fprintf(P->dat, "\n\n# the bars: per path, x mean (index 1 on)\n");
	for (unsigned p = 0; p < np; p++) {
		fprintf(P->dat, "%s# %s\n", p ? "\n\n" : "", paths[p]);
		for (unsigned g = 0, i = p; g < ng && i < n; g++, i += np) {
			double x = g - 0.4 + w * (p + 0.5);
			if (isnan(mean[i]))
				continue;
			fprintf(P->dat, "%g %.6g\n", x, mean[i]);
			plot_whisker(P->gp, x, mean[i], ci[i], 0, top, false);
		}
		fprintf(P->cmd, "%s'%s.dat' index %u using 1:2 with boxes lc rgb '%s' title ", sep(p),
			P->figs[P->nfigs].name, p + 1, plot_colour(p));
		gp_str(P->cmd, paths[p]);
	}
}

/* compare: one figure per metric, a cluster of bars per test (and placement), a bar per path, the whiskers
 * its confidence interval (an end beyond the axis marked, with its value). */
static int fig_compare_metric(struct plot_figs *P, const char *stem, const cJSON *root, const char *key)
{
	const char *paths[NB_PLOT_MAX_SERIES];
	char groups[NB_PLOT_MAX_SERIES][NB_PLOT_GROUP_LEN], label[160], name[160], title[200];
	unsigned np = nb_plotdata_compare_paths(root, paths, NB_PLOT_MAX_SERIES),
		 ng = nb_plotdata_compare_groups(root, groups, NB_PLOT_MAX_SERIES), rows = 0;
	double scale = nb_plotdata_scale(key, label, sizeof(label)),
	       level = nb_plotdata_num(cJSON_GetObjectItemCaseSensitive(root, "start"), "ci_level");

	snprintf(name, sizeof(name), "%.60s_%.60s", stem, key);
	snprintf(title, sizeof(title), "%.100s: mean ± %g%% confidence interval per path", label,
		 isnan(level) ? 95 : level);
	int r = fig_begin(P, name, title);
	if (r < 0)
		return r;
	fprintf(P->dat, "# group");
	for (unsigned p = 0; p < np; p++)
		fprintf(P->dat, " %s_mean %s_ci", paths[p], paths[p]);
	fprintf(P->dat, "\n");
	/* the groups this metric has a row in */
	unsigned kept = 0;
	for (unsigned g = 0; g < ng; g++)
		if (metric_row(P, root, groups[g], paths, np, key, scale)) {
			memmove(groups[kept], groups[g], sizeof(groups[0]));
			kept++;
		}
	rows = kept;
	fprintf(P->gp, "set style fill solid 0.85 border -1\nset grid ytics noxtics\nset ylabel ");
	gp_str(P->gp, label);
	fprintf(P->gp, "\n");
	if (rows && np)
		metric_bars(P, root, groups, rows, paths, np, key, scale);
	fig_end(P, rows > 0 && np > 0);
	return 0;
}

/* compare: per rr/crr test, its latency percentiles' means per path (p50, p99), with their intervals. */
static int fig_compare_latency(struct plot_figs *P, const char *stem, const cJSON *root, const char *group)
{
	const char *paths[NB_PLOT_MAX_SERIES];
	unsigned np = nb_plotdata_compare_paths(root, paths, NB_PLOT_MAX_SERIES), series = 0;
	char name[200], title[200];
	double xmax = 1;

	snprintf(name, sizeof(name), "%.60s_latency_%.100s", stem, group);
	snprintf(title, sizeof(title), "%.100s: latency by percentile (mean ± CI over runs)", group);
	int r = fig_begin(P, name, title);
	if (r < 0)
		return r;
	fprintf(P->dat, "# per path: 1/(1-p) percentile mean_us ci_us\n");
	for (unsigned p = 0; p < np; p++) {
		struct nb_plot_point pts[NB_PLOT_MAX_POINTS];
		unsigned n = nb_plotdata_compare_percentiles(root, group, paths[p], pts, NB_PLOT_MAX_POINTS);
		if (!n)
			continue;
		fprintf(P->dat, "%s# %s\n", series ? "\n\n" : "", paths[p]);
		xmax = fmax(xmax, percentile_points(P->dat, pts, n, true));
		fprintf(P->cmd, "%s'%s.dat' index %u using 1:3:4 with yerrorlines lw 2 lc rgb '%s' title ",
			sep(series), P->figs[P->nfigs].name, series, plot_colour(p));
		gp_str(P->cmd, paths[p]);
		series++;
	}
	percentile_axis(P->gp, xmax);
	fig_end(P, series > 0);
	return 0;
}

/* The segments of group's sets as reported, a comment line each (what the stacked bars leave out). */
static void hops_dump(struct plot_figs *P, const struct nb_plot_hop_sets *H, const char *group)
{
	for (unsigned s = 0; s < H->n; s++) {
		const cJSON *seg;
		unsigned i = 0;
		if (strcmp(H->s[s].group, group))
			continue;
		cJSON_ArrayForEach(seg, H->s[s].segs)
		{
			char nm[NB_PLOT_SEG_LEN];
			const char *f = nb_plotdata_str(seg, "from_if"), *t = nb_plotdata_str(seg, "to_if"),
				   *d = nb_plotdata_str(seg, "direction"),
				   *ns = nb_plotdata_str(seg, "netns");
			nb_plotdata_seg_name(seg, i++, nm, sizeof(nm));
			fprintf(P->dat, "#   %s \"%s\" %s %s %s %s %g %g %g %g %g %g %g\n", H->s[s].path, nm,
				f ? f : "-", t ? t : "-", d ? d : "-", ns ? ns : "-",
				nb_plotdata_num(seg, "p50_ns"), nb_plotdata_num(seg, "p90_ns"),
				nb_plotdata_num(seg, "p99_ns"), nb_plotdata_num(seg, "mean_ns"),
				nb_plotdata_num(seg, "share"), nb_plotdata_num(seg, "samples"),
				nb_plotdata_num(seg, "unmatched"));
		}
	}
}

const char *plot_colour(unsigned i)
{
	/* Okabe and Ito's eight (told apart with the common colour blindnesses too), then three picked from a
	 * grid for the largest CIEDE2000 distance to all before them: every two of the first 11 are at least
	 * 21 apart (Tableau's ten plus one had two greens 12 apart); black last, since it hides a block's
	 * border */
	static const char *const colours[PLOT_COLOURS] = {"#e69f00", "#56b4e9", "#009e73", "#f0e442",
							  "#0072b2", "#d55e00", "#cc79a7", "#999999",
							  "#661199", "#555500", "#880022", "#000000"};
	return colours[i % PLOT_COLOURS];
}

/* A value as a mark's label shows it: whole above 1000, else three figures. */
static void fmt_value(double v, char *buf, size_t len)
{
	snprintf(buf, len, fabs(v) >= 1000 ? "%.0f" : "%.3g", v);
}

/* One half of a whisker, from the mean to end (drawn to edge when end is beyond it): a flat cap at the end,
 * or an arrowhead at the edge and the end's value beside it. */
static void whisker_half(FILE *gp, double pos, double mean, double drawn, bool out, double end,
			 bool horizontal)
{
	char v[32];
	double x0 = horizontal ? mean : pos, y0 = horizontal ? pos : mean;
	double x1 = horizontal ? drawn : pos, y1 = horizontal ? pos : drawn;
	if (drawn == mean && !out)
		return; /* no interval that way */
	fprintf(gp, "set arrow from %g,%g to %g,%g lw 1.5 lc rgb 'black' front ", x0, y0, x1, y1);
	if (!out) {
		fprintf(gp, "head size screen 0.008,90\n");
		return;
	}
	fmt_value(end, v, sizeof(v));
	fprintf(gp, "head filled size screen 0.014,25\n");
	fprintf(gp, "set label '%s' at %g,%g %s front font ',9'\n", v, x1, y1,
		horizontal ? (end > drawn ? "offset char 0.5,0.8 left" : "offset char -0.5,0.8 right")
			   : (end > drawn ? "offset char 1,-0.6 left" : "offset char 1,0.6 left"));
}

void plot_whisker(FILE *gp, double pos, double mean, double ci, double lo, double hi, bool horizontal)
{
	struct nb_plot_whisker w = nb_plotdata_whisker(mean, ci, lo, hi);
	if (isnan(mean) || isnan(ci) || ci <= 0)
		return;
	whisker_half(gp, pos, mean, w.hi, w.hi_out, w.hi_end, horizontal);
	whisker_half(gp, pos, mean, w.lo, w.lo_out, w.lo_end, horizontal);
}

/* The plot command of a waterfall: a block per segment, in a colour of its own. */
static void hops_cmd(struct plot_figs *P, char (*names)[NB_PLOT_SEG_LEN], unsigned ns)
{
	for (unsigned k = 0; k < ns; k++) {
		fprintf(P->cmd, "%s'%s.dat' using %u%s lc rgb '%s' title ", sep(k), P->figs[P->nfigs].name,
			2 + k, k ? "" : ":xtic(1)", plot_colour(k));
		gp_str(P->cmd, names[k]);
	}
}

/* The hop waterfall of one test: a stacked bar per path, a block per segment (its mean time). */
static int fig_hops(struct plot_figs *P, const char *stem, const struct nb_plot_hop_sets *H,
		    const char *group)
{
	char names[NB_PLOT_MAX_SEGMENTS][NB_PLOT_SEG_LEN], name[200], title[200];
	unsigned ns = nb_plotdata_seg_union(H, group, names), rows = 0;

	snprintf(name, sizeof(name), "%.60s_hops%s%.100s", stem, *group ? "_" : "", group);
	snprintf(title, sizeof(title), "%.100s%swhere the round trip's time goes (mean per segment)", group,
		 *group ? ": " : "");
	int r = fig_begin(P, name, title);
	if (r < 0)
		return r;
	fprintf(P->dat, "# path, then each segment's mean in µs (0: not on this path):");
	for (unsigned k = 0; k < ns; k++)
		fprintf(P->dat, " \"%s\"", names[k]);
	fprintf(P->dat, "\n# segments as reported: path segment from_if to_if direction netns p50_ns p90_ns "
			"p99_ns mean_ns share samples unmatched\n");
	hops_dump(P, H, group);
	for (unsigned s = 0; s < H->n; s++) {
		if (strcmp(H->s[s].group, group))
			continue;
		dat_str(P->dat, H->s[s].path);
		for (unsigned k = 0; k < ns; k++)
			fprintf(P->dat, " %.6g", nb_plotdata_seg_us(&H->s[s], names[k]));
		fprintf(P->dat, "\n");
		rows++;
	}
	hops_cmd(P, names, ns);
	fprintf(P->gp, "set style data histograms\nset style histogram rowstacked\nset boxwidth 0.6\n"
		       "set style fill solid 0.85 border -1\nset yrange [0:*]\nset grid noxtics\n"
		       "set ylabel 'time per round trip (µs)'\n");
	fig_end(P, rows > 0 && ns > 0);
	return 0;
}

/* Every hop waterfall of one report, a figure per test. */
static int figs_hops(struct plot_figs *P, const char *stem, const cJSON *root, const char *label)
{
	static struct nb_plot_hop_sets H;
	int r = 0;
	nb_plotdata_hops(&H, root, label);
	for (unsigned s = 0; s < H.n && !r; s++) {
		unsigned first = 0;
		while (strcmp(H.s[first].group, H.s[s].group))
			first++;
		if (first == s)
			r = fig_hops(P, stem, &H, H.s[s].group);
	}
	return r;
}

/* Whether group's rows have merged latency distributions (a compare since they were added). */
static bool has_merged(const cJSON *root, const char *group)
{
	const char *paths[NB_PLOT_MAX_SERIES];
	unsigned np = nb_plotdata_compare_paths(root, paths, NB_PLOT_MAX_SERIES);
	struct nb_plot_point pts[NB_PLOT_MAX_POINTS];
	for (unsigned p = 0; p < np; p++)
		if (nb_plotdata_compare_merged(root, group, paths[p], pts, NB_PLOT_MAX_POINTS))
			return true;
	return false;
}

/* Every figure of one compare report. */
static int figs_compare(struct plot_figs *P, const char *stem, const cJSON *root)
{
	char groups[NB_PLOT_MAX_SERIES][NB_PLOT_GROUP_LEN];
	unsigned ng = nb_plotdata_compare_groups(root, groups, NB_PLOT_MAX_SERIES);
	const cJSON *row, *m;
	int r = 0;
	cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(root, "summary"))
	{
		cJSON_ArrayForEach(m, row) if (!r && cJSON_IsObject(m) &&
					       nb_plotdata_first_metric(root, row, m->string)) r =
		    fig_compare_metric(P, stem, root, m->string);
	}
	for (unsigned g = 0; g < ng && !r; g++)
		if (!has_merged(root, groups[g])) /* else plot_compare.c draws the merged distributions */
			r = fig_compare_latency(P, stem, root, groups[g]);
	return r ? r : figs_hops(P, stem, root, NULL);
}

/* The file's name without its folder and ".json", file-safe: compare figures' prefix. */
static void file_stem(const char *file, char *buf, size_t len)
{
	const char *b = strrchr(file, '/');
	snprintf(buf, len, "%s", b ? b + 1 : file);
	size_t n = strlen(buf);
	if (n > 5 && !strcmp(buf + n - 5, ".json"))
		buf[n - 5] = 0;
	file_safe(buf);
}

static bool is_run(const cJSON *root)
{
	return cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "end"));
}

/* The single runs among the reports, each titled; a title two share gets its file's stem. */
static unsigned single_runs(cJSON **roots, char **files, unsigned n, struct run *runs)
{
	unsigned nruns = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!is_run(roots[i]))
			continue;
		struct run *ru = &runs[nruns++];
		ru->root = roots[i];
		nb_plotdata_run_label(roots[i], ru->label, sizeof(ru->label));
		for (unsigned j = 0; j + 1 < nruns; j++)
			if (!strcmp(runs[j].label, ru->label)) {
				char stem[96];
				file_stem(files[i], stem, sizeof(stem));
				snprintf(ru->label + strlen(ru->label), sizeof(ru->label) - strlen(ru->label),
					 " (%s)", stem);
				break;
			}
	}
	return nruns;
}

int plot_build(struct plot_figs *P, cJSON **roots, char **files, unsigned n)
{
	struct run runs[MAX_FILES];
	unsigned nruns = single_runs(roots, files, n, runs);
	int r = 0;
	if (nruns) {
		r = fig_run_latency(P, runs, nruns);
		r = r ? r : fig_run_intervals(P, runs, nruns, false);
		r = r ? r : fig_run_intervals(P, runs, nruns, true);
	}
	for (unsigned i = 0, k = 0; i < n && !r; i++) {
		char stem[96];
		file_stem(files[i], stem, sizeof(stem));
		if (is_run(roots[i]))
			r = figs_hops(P, stem, roots[i], runs[k++].label);
		else
			r = figs_compare(P, stem, roots[i]);
	}
	return r;
}

bool plot_is_run(const cJSON *root)
{
	return is_run(root);
}

void plot_file_stem(const char *file, char *buf, size_t len)
{
	file_stem(file, buf, len);
}

void plot_free(struct plot_figs *P)
{
	for (unsigned i = 0; i < P->nfigs; i++) {
		free(P->figs[i].dat);
		free(P->figs[i].gp);
	}
	P->nfigs = 0;
}

/* ---- for the figures of other files (plot_compare.c) ---- */

int plot_fig_begin(struct plot_figs *P, const char *name, const char *title)
{
	return fig_begin(P, name, title);
}

void plot_fig_end(struct plot_figs *P, bool keep)
{
	fig_end(P, keep);
}

void plot_gp_str(FILE *f, const char *s)
{
	gp_str(f, s);
}

void plot_dat_str(FILE *f, const char *s)
{
	dat_str(f, s);
}

void plot_percentile_axis(FILE *gp, double xmax)
{
	percentile_axis(gp, xmax);
}

const char *plot_sep(unsigned series)
{
	return sep(series);
}
