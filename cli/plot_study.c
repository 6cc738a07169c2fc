/* SPDX-License-Identifier: MIT */
/*
 * `nbench plot` on `nbench study --json`: the study's figures in its own style, nbench's values beside the
 * study's. Goodput and cycles per byte as bars per path in each direction, the RR round trips as bars per
 * path for TCP and UDP, each bar with its 95% interval as a whisker and the study's value as a marker; the
 * paths in plot_fig.c's palette, as in every figure; the Redis row as curves of requests/s and of mean
 * latency against connections, a curve per path. What each figure shows is analyze/study.c's
 * (nb_study_doc_*); the files are plot_fig.c's.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nbench/study.h"
#include "plot_fig.h"

#define MAX_PATHS 16

/* One bar figure: its file stem's suffix, title, the figures (table rows' ids) that are its groups, their
 * labels, the y label and the scale from the table's unit. */
struct bars {
	const char *suffix, *title, *ylabel;
	const char *figs[2], *groups[2];
	double scale;
};

static void num(FILE *f, double x)
{
	if (isfinite(x))
		fprintf(f, " %.6g", x);
	else
		fprintf(f, " ?");
}

/* The data: a block per path, a row per group: x, value, lo, hi, the study's value (scaled; ? none). The
 * largest and smallest positive values, whisker ends included, into *ret_max, *ret_min (the axis holds them
 * all: no whisker is cut off). */
static unsigned bar_data(struct plot_figs *P, const cJSON *doc, const struct bars *b, const char **paths,
			 unsigned np, unsigned *per_path, unsigned *per_study, double *ret_min,
			 double *ret_max)
{
	unsigned rows = 0;
	*ret_min = INFINITY, *ret_max = 0;
	fprintf(P->dat, "# per path: x value lo hi study_value (%s)\n", b->ylabel);
	for (unsigned p = 0; p < np; p++) {
		fprintf(P->dat, "%s# %s\n", p ? "\n\n" : "", paths[p]);
		per_path[p] = per_study[p] = 0;
		for (unsigned g = 0; g < 2 && b->figs[g]; g++) {
			struct nb_study_doc_row r;
			if (!nb_study_doc_row(doc, b->figs[g], paths[p], &r))
				continue;
			fprintf(P->dat, "%g", (double)g * (np + 1) + p);
			num(P->dat, r.value * b->scale);
			/* an interval without bounds (a rate's reaching 0: an unbounded round trip) draws no
			 * whisker on that side */
			num(P->dat, (isfinite(r.lo) ? r.lo : r.value) * b->scale);
			num(P->dat, (isfinite(r.hi) ? r.hi : r.value) * b->scale);
			num(P->dat, r.study * b->scale);
			fprintf(P->dat, "\n");
			rows += isfinite(r.value);
			per_path[p] += isfinite(r.value);
			per_study[p] += isfinite(r.study);
			if (r.value > 0)
				*ret_min = fmin(*ret_min, r.value * b->scale);
			if (isfinite(r.lo) && r.lo > 0)
				*ret_min = fmin(*ret_min, r.lo * b->scale);
			*ret_max = fmax(*ret_max, fmax(r.value, isfinite(r.hi) ? r.hi : 0) * b->scale);
			if (r.study > 0)
				*ret_max = fmax(*ret_max, r.study * b->scale);
		}
	}
	return rows;
}

/* A bar figure: a bar per path in each group, its interval's whisker, the study's value as a marker. */
static int fig_bars(struct plot_figs *P, const char *stem, const cJSON *doc, const struct bars *b,
		    const char **paths, unsigned np)
{
	char name[160], title[200];
	double lo, hi;
	snprintf(name, sizeof(name), "%.80s_%s", stem, b->suffix);
	snprintf(title, sizeof(title), "%s: nbench (bars, 95%% interval) and RC25482 (◆)", b->title);
	int r = plot_fig_begin(P, name, title);
	if (r < 0)
		return r;
	unsigned per_path[MAX_PATHS], per_study[MAX_PATHS], series = 0, last = 0;
	unsigned rows = bar_data(P, doc, b, paths, np, per_path, per_study, &lo, &hi);
	const char *file = P->figs[P->nfigs].name;
	for (unsigned p = 0; p < np; p++)
		last = per_path[p] && per_study[p] ? p : last;
	for (unsigned p = 0; p < np; p++) {
		if (!per_path[p]) /* a path this figure has nothing of (left out, failed) */
			continue;
		fprintf(P->cmd, "%s'%s.dat' index %u using 1:2 with boxes lc rgb '%s' title ",
			plot_sep(series++), file, p, plot_colour(p));
		plot_gp_str(P->cmd, paths[p]);
		fprintf(P->cmd,
			"%s'%s.dat' index %u using 1:2:3:4 with yerrorbars lc rgb 'black' lw 1.5 pt 7 ps 0.4 "
			"notitle",
			plot_sep(1), file, p);
		if (per_study[p]) /* the study's own value (not only its text's ratio) */
			fprintf(P->cmd,
				"%s'%s.dat' index %u using 1:5 with points pt 13 ps 2 lc rgb 'black' %s",
				plot_sep(1), file, p, p == last ? "title 'RC25482'" : "notitle");
	}
	fprintf(P->gp, "set datafile missing '?'\nset boxwidth 0.8\nset style fill solid 0.8 border -1\n"
		       "set grid noxtics\nset xtics (");
	for (unsigned g = 0; g < 2 && b->groups[g]; g++) {
		fprintf(P->gp, "%s", g ? ", " : "");
		plot_gp_str(P->gp, b->groups[g]);
		fprintf(P->gp, " %g", g * (np + 1.0) + (np - 1) / 2.0);
	}
	fprintf(P->gp, ")\nset xrange [-1:%u]\nset ylabel ", (b->groups[1] ? 2 : 1) * (np + 1) - 1);
	plot_gp_str(P->gp, b->ylabel);
	/* a VM under emulation is 40x native's round trip: a log axis keeps the others readable */
	if (hi > 0 && lo > 0 && hi / lo > 20)
		fprintf(P->gp, "\nset logscale y\nset yrange [%g:%g]\n", lo / 2, hi * 1.5);
	else
		fprintf(P->gp, "\nset yrange [0:*]\n");
	plot_fig_end(P, rows > 0);
	return 0;
}

/* The study's statements about metric ("latency", "throughput") beside the curves: a label per statement,
 * with each path's verdict on it. */
static void redis_statements(FILE *gp, const cJSON *doc, const char *metric)
{
	const cJSON *st, *all = cJSON_GetObjectItemCaseSensitive(
			     cJSON_GetObjectItemCaseSensitive(doc, "redis"), "statements");
	char labels[8][320];
	const char *last = "";
	unsigned n = 0;
	cJSON_ArrayForEach(st, all)
	{
		const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "metric"));
		const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "text"));
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "path"));
		const char *verdict = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "verdict"));
		if (!m || !text || !path || !verdict || strcmp(m, metric))
			continue;
		if (strcmp(text, last) && n < 8) /* a new statement: its text, then each path's verdict */
			snprintf(labels[n++], sizeof(labels[0]), "RC25482: %.120s --", text);
		size_t len = n ? strlen(labels[n - 1]) : 0;
		if (n)
			snprintf(labels[n - 1] + len, sizeof(labels[0]) - len, " %s %s;", path, verdict);
		last = text;
	}
	if (n) /* room above the curves for them */
		fprintf(gp, "set offsets 0, 0, graph %g, 0\n", 0.05 + 0.05 * n);
	for (unsigned k = 0; k < n; k++) {
		fprintf(gp, "set label %u ", 10 + k);
		plot_gp_str(gp, labels[k]);
		fprintf(gp, " at graph 0.01, graph %g left font ',8'\n", 0.97 - 0.04 * k);
	}
}

/* One Redis curve figure: requests/s or mean latency against connections, a line per path with whiskers. */
static int fig_redis(struct plot_figs *P, const char *stem, const cJSON *doc, bool latency,
		     const char **paths, unsigned np)
{
	char name[160];
	const char *key = latency ? "mean_latency_us" : "requests_per_s";
	snprintf(name, sizeof(name), "%.80s_redis_%s", stem, latency ? "latency" : "throughput");
	int r = plot_fig_begin(P, name,
			       latency ? "Redis load (RC25482 figure 9): mean latency against connections"
				       : "Redis load (RC25482 figure 8): requests/s against connections");
	if (r < 0)
		return r;
	unsigned series = 0;
	double cmax = 1;
	fprintf(P->dat, "# per path: connections value lo hi\n");
	for (unsigned p = 0; p < np; p++) {
		const cJSON *pt;
		unsigned n = 0;
		double c_max = 1;
		fprintf(P->dat, "%s# %s\n", p ? "\n\n" : "", paths[p]);
		cJSON_ArrayForEach(pt, cJSON_GetObjectItemCaseSensitive(
					   cJSON_GetObjectItemCaseSensitive(doc, "redis"), "points"))
		{
			double c, v, lo, hi;
			if (!nb_study_doc_point(pt, paths[p], key, &c, &v, &lo, &hi))
				continue;
			fprintf(P->dat, "%g", c);
			/* latency spans decades over the connections: on its log axis an interval reaching 0
			 * or below is drawn to a hundredth of the value */
			if (latency && !(lo > 0))
				lo = v / 100;
			num(P->dat, v), num(P->dat, lo), num(P->dat, hi);
			fprintf(P->dat, "\n");
			c_max = fmax(c_max, c);
			n++;
		}
		if (!n)
			continue;
		fprintf(P->cmd, "%s'%s.dat' index %u using 1:2:3:4 with yerrorlines lw 2 lc rgb '%s' title ",
			plot_sep(series), P->figs[P->nfigs].name, p, plot_colour(p));
		plot_gp_str(P->cmd, paths[p]);
		series += n > 0;
		cmax = fmax(cmax, c_max);
	}
	fprintf(
	    P->gp,
	    "set datafile missing '?'\nset logscale x\nset xrange [0.8:%g]\nset xlabel 'client connections'\n"
	    "set ylabel '%s'\n%s\n",
	    cmax * 1.25, latency ? "mean latency (µs)" : "requests/s",
	    latency ? "set logscale y" : "set yrange [0:*]");
	redis_statements(P->gp, doc, latency ? "latency" : "throughput");
	plot_fig_end(P, series > 0);
	return 0;
}

int plot_study(struct plot_figs *P, const char *stem, const cJSON *doc)
{
	static const struct bars bars[] = {
	    {"goodput",
	     "Goodput of one TCP connection",
	     "goodput (Gbit/s)",
	     {"goodput-tx", "goodput-rx"},
	     {"SUT transmits", "SUT receives"},
	     1e-3},
	    {"cpb",
	     "CPU cycles per byte, system-wide on the SUT (RC25482 figure 2)",
	     "cycles/byte",
	     {"cpb-tx", "cpb-rx"},
	     {"transmit", "receive"},
	     1},
	    {"rr",
	     "Round trip, 100-byte request, 200-byte response (RC25482 figure 3)",
	     "round trip (µs)",
	     {"tcp-rr-latency", "udp-rr-latency"},
	     {"TCP_RR", "UDP_RR"},
	     1},
	};
	const char *paths[MAX_PATHS];
	unsigned np = nb_study_doc_paths(doc, paths, MAX_PATHS);
	int r = 0;
	for (size_t i = 0; i < sizeof(bars) / sizeof(bars[0]) && !r; i++)
		r = fig_bars(P, stem, doc, &bars[i], paths, np);
	if (!r && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc, "redis")))
		r = fig_redis(P, stem, doc, false, paths, np);
	if (!r && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc, "redis")))
		r = fig_redis(P, stem, doc, true, paths, np);
	return r;
}
