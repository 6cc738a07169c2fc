/* SPDX-License-Identifier: MIT */
/*
 * nbench plot FILE.json...: figures from nbench's JSON reports, drawn by gnuplot.
 *
 * In C rather than a script beside guest-build: it reads the JSON with the cJSON nbench already links, needs
 * no interpreter at run time and no helper to find after `meson install`, and its tests run from the build
 * tree. The drawing itself stays gnuplot's: per figure nbench writes the data (NAME.dat) and the script
 * (NAME.gp) into the output folder, then runs `gnuplot NAME.gp` there, so users restyle and redraw by hand.
 *
 * Figures: the latency percentile distribution (HdrHistogram's style: x is 1/(1-p) on a log scale), the
 * interim intervals over time, compare's metrics as bars with confidence-interval whiskers per path, and a
 * hop waterfall (`hops`) as stacked bars per path.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

#define MAX_FILES    64
#define MAX_FIGS     64
#define MAX_SERIES   64
#define MAX_SEGMENTS 32
#define MAX_INPUT    (64 << 20)

static const char usage[] =
    "usage: nbench plot FILE.json... [-o DIR] [--format svg|png]\n"
    "Draws figures from nbench's JSON reports (rr, crr, stream --json; compare --json, with hops) with "
    "gnuplot:\n"
    "  latency.*          the latency percentile distribution of every rr/crr run (x: 1/(1-p), log scale)\n"
    "  intervals_rr.*     transactions/s and mean latency per interim interval\n"
    "  intervals_stream.* goodput per interim interval\n"
    "  STEM_METRIC.*      compare: each metric's mean per test and path, with its confidence interval\n"
    "  STEM_latency_TEST.* compare: the p50/p99 means per path as a percentile distribution\n"
    "  STEM_hops_TEST.*   the hop waterfall: each segment's mean time, stacked per path\n"
    "Each figure's data (NAME.dat) and gnuplot script (NAME.gp) are written beside it, one line per file.\n"
    "  -o, --output DIR   where to write (.)\n"
    "      --format F     svg (default) or png\n"
    "Exit status: 0 drawn, 1 gnuplot missing or failing (data and scripts are written), 2 bad input.\n";

/* One figure: its file stem and the texts of its data and script. */
struct fig {
	char name[128];
	char *dat, *gp;
	size_t dat_len, gp_len;
};

struct plot {
	const char *dir;
	const char *format; /* "svg" or "png" */
	struct fig figs[MAX_FIGS];
	unsigned nfigs;
	FILE *dat, *gp; /* the figure being built: its data, and its script's settings */
	FILE *cmd;	/* its plot command, after the settings */
	char *cmd_buf;
	size_t cmd_len;
};

/* One single-run report and how its lines are titled. */
struct run {
	cJSON *root;
	char label[160];
};

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
static int fig_begin(struct plot *P, const char *name, const char *title)
{
	if (P->nfigs == MAX_FIGS)
		return -ENOSPC;
	struct fig *f = &P->figs[P->nfigs];
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
static void fig_end(struct plot *P, bool keep)
{
	struct fig *f = &P->figs[P->nfigs];
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

static double num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *obj(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* The percentile a key names: p50 -> 50, p999 -> 99.9, p9999 -> 99.99; NAN when it names none. */
static double key_percentile(const char *key)
{
	size_t n = strspn(key + 1, "0123456789");
	if (key[0] != 'p' || n < 2 || (key[1 + n] && strcmp(key + 1 + n, "_ns")))
		return NAN;
	return strtod(key + 1, NULL) / pow(10, (double)n - 2);
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

/* A single run's line title: its path (or host), test and protocol. */
static void run_label(const cJSON *root, char *buf, size_t len)
{
	const cJSON *st = obj(root, "start");
	const cJSON *set = obj(st, "settings");
	const char *path = str(obj(st, "path"), "name");
	const char *kind = str(set, "kind"), *proto = str(set, "proto");
	if (!path)
		path = str(set, "host");
	snprintf(buf, len, "%s %s%s%s", path && *path ? path : "?", kind ? kind : "?",
		 kind && proto && strcmp(kind, "crr") ? "-" : "",
		 kind && strcmp(kind, "crr") && proto ? proto : "");
}

/* Every rr/crr run's percentiles, a line each. */
static int fig_run_latency(struct plot *P, const struct run *runs, unsigned n)
{
	int r = fig_begin(P, "latency", "latency by percentile");
	unsigned series = 0;
	double xmax = 1;
	if (r < 0)
		return r;
	fprintf(P->dat, "# per run: 1/(1-p) percentile latency_us\n");
	for (unsigned i = 0; i < n; i++) {
		const cJSON *lat = obj(obj(runs[i].root, "end"), "latency_ns");
		const cJSON *v;
		if (!cJSON_IsObject(lat))
			continue;
		fprintf(P->dat, "%s# %s\n", series ? "\n\n" : "", runs[i].label);
		if (cJSON_IsNumber(obj(lat, "min")))
			fprintf(P->dat, "1 0 %.6g\n", num(lat, "min") / 1e3);
		cJSON_ArrayForEach(v, lat)
		{
			double p = key_percentile(v->string);
			if (isnan(p) || !cJSON_IsNumber(v) || p >= 100)
				continue;
			fprintf(P->dat, "%.6g %g %.6g\n", 1 / (1 - p / 100), p, v->valuedouble / 1e3);
			xmax = fmax(xmax, 1 / (1 - p / 100));
		}
		fprintf(P->cmd, "%s'latency.dat' index %u using 1:3 with linespoints lw 2 title ",
			series ? ", \\\n     " : "", series);
		gp_str(P->cmd, runs[i].label);
		series++;
	}
	percentile_axis(P->gp, xmax);
	fig_end(P, series > 0);
	return 0;
}

/* A separator before every series of a plot command but the first. */
static const char *sep(unsigned series)
{
	return series ? ", \\\n     " : "";
}

/* The interim intervals of every run of one kind: rr/crr (transactions/s, and mean latency on the right
 * axis) or stream (goodput). */
static int fig_run_intervals(struct plot *P, const struct run *runs, unsigned n, bool stream)
{
	const char *name = stream ? "intervals_stream" : "intervals_rr";
	int r = fig_begin(P, name,
			  stream ? "goodput per interval" : "transactions/s and mean latency per interval");
	unsigned series = 0;
	if (r < 0)
		return r;
	fprintf(P->dat, "# per run: end_s %s\n", stream ? "goodput_gbps" : "tps mean_latency_us");
	for (unsigned i = 0; i < n; i++) {
		const cJSON *iv = obj(runs[i].root, "intervals"), *e;
		const char *kind = str(obj(obj(runs[i].root, "start"), "settings"), "kind");
		if (!cJSON_IsArray(iv) || !cJSON_GetArraySize(iv) || !kind ||
		    (strcmp(kind, "stream") == 0) != stream)
			continue;
		fprintf(P->dat, "%s# %s\n", series ? "\n\n" : "", runs[i].label);
		cJSON_ArrayForEach(e, iv)
		{
			if (stream)
				fprintf(P->dat, "%g %.6g\n", num(e, "end_s"), num(e, "bps") / 1e9);
			else
				fprintf(P->dat, "%g %.6g %.6g\n", num(e, "end_s"), num(e, "tps"),
					num(e, "mean_lat_ns") / 1e3);
		}
		unsigned idx = series / (stream ? 1 : 2);
		fprintf(P->cmd, "%s'%s.dat' index %u using 1:2 with linespoints lw 2 title ", sep(series),
			name, idx);
		char title[200];
		snprintf(title, sizeof(title), "%s%s", runs[i].label, stream ? "" : ": transactions/s");
		gp_str(P->cmd, title);
		series++;
		if (!stream) {
			fprintf(P->cmd, "%s'%s.dat' index %u using 1:3 axes x1y2 with lines dt 2 lw 2 title ",
				sep(series), name, idx);
			snprintf(title, sizeof(title), "%s: mean latency", runs[i].label);
			gp_str(P->cmd, title);
			series++;
		}
	}
	fprintf(P->gp, "set xlabel 'time (s)'\nset yrange [0:*]\n");
	if (stream)
		fprintf(P->gp, "set ylabel 'goodput (Gbit/s)'\n");
	else
		fprintf(P->gp,
			"set ylabel 'transactions/s'\nset y2label 'mean latency (µs)'\nset y2range [0:*]\n"
			"set ytics nomirror\nset y2tics\n");
	fig_end(P, series > 0);
	return 0;
}

/* How a compare metric is drawn: its label with unit, and the scale to it. */
static double metric_scale(const char *key, char *label, size_t len)
{
	size_t n = strlen(key);
	if (n > 3 && !strcmp(key + n - 3, "_ns")) {
		snprintf(label, len, "%.*s (µs)", (int)(n - 3), key);
		return 1e-3;
	}
	if (n > 4 && !strcmp(key + n - 4, "_bps")) {
		snprintf(label, len, "%.*s (Gbit/s)", (int)(n - 4), key);
		return 1e-9;
	}
	snprintf(label, len, "%s", key);
	return 1;
}

/* compare's paths, in its order (start.paths), else as the summary first names them. */
static unsigned compare_paths(const cJSON *root, const char **paths, unsigned max)
{
	unsigned n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, obj(obj(root, "start"), "paths")) if (cJSON_IsString(e) && n < max) paths[n++] =
	    e->valuestring;
	cJSON_ArrayForEach(e, obj(root, "summary"))
	{
		const char *p = str(e, "path");
		unsigned i = 0;
		while (p && i < n && strcmp(paths[i], p))
			i++;
		if (p && i == n && n < max)
			paths[n++] = p;
	}
	return n;
}

/* A summary row's group: its test and placement ("rr-tcp same-core"). */
static void row_group(const cJSON *row, char *buf, size_t len)
{
	const char *t = str(row, "test"), *pl = str(row, "placement");
	snprintf(buf, len, "%s%s%s", t ? t : "?", pl ? " " : "", pl ? pl : "");
}

/* The summary row of group g and path p, or NULL. */
static const cJSON *summary_row(const cJSON *root, const char *g, const char *p)
{
	const cJSON *e;
	char rg[160];
	cJSON_ArrayForEach(e, obj(root, "summary"))
	{
		row_group(e, rg, sizeof(rg));
		if (!strcmp(rg, g) && str(e, "path") && !strcmp(str(e, "path"), p))
			return e;
	}
	return NULL;
}

/* The groups of compare's summary, in order. */
static unsigned compare_groups(const cJSON *root, char (*groups)[160], unsigned max)
{
	unsigned n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, obj(root, "summary"))
	{
		char g[160];
		unsigned i = 0;
		row_group(e, g, sizeof(g));
		while (i < n && strcmp(groups[i], g))
			i++;
		if (i == n && n < max)
			snprintf(groups[n++], 160, "%s", g);
	}
	return n;
}

/* Is key a metric of some summary row ({mean, ci, ...}), and is it the first row that has it? */
static bool first_metric(const cJSON *root, const cJSON *row, const char *key)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, obj(root, "summary"))
	{
		if (cJSON_IsNumber(obj(obj(e, key), "mean")))
			return e == row;
	}
	return false;
}

/* compare: one figure per metric, a cluster of bars per test (and placement), a bar per path, the whiskers
 * its confidence interval. */
static int fig_compare_metric(struct plot *P, const char *stem, const cJSON *root, const char *key)
{
	const char *paths[MAX_SERIES];
	char groups[MAX_SERIES][160], label[160], name[160], title[200];
	unsigned np = compare_paths(root, paths, MAX_SERIES), ng = compare_groups(root, groups, MAX_SERIES);
	double scale = metric_scale(key, label, sizeof(label)), level = num(obj(root, "start"), "ci_level");
	unsigned rows = 0;

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
	for (unsigned g = 0; g < ng; g++) {
		bool any = false;
		for (unsigned p = 0; p < np; p++)
			any |= cJSON_IsNumber(obj(obj(summary_row(root, groups[g], paths[p]), key), "mean"));
		if (!any)
			continue;
		dat_str(P->dat, groups[g]);
		for (unsigned p = 0; p < np; p++) {
			const cJSON *m = obj(summary_row(root, groups[g], paths[p]), key);
			double ci = num(m, "ci");
			fprintf(P->dat, " %.6g %.6g", num(m, "mean") * scale, isnan(ci) ? 0 : ci * scale);
		}
		fprintf(P->dat, "\n");
		rows++;
	}
	for (unsigned p = 0; p < np; p++) {
		fprintf(P->cmd, "%s'%s.dat' using %u:%u%s title ", sep(p), P->figs[P->nfigs].name, 2 + 2 * p,
			3 + 2 * p, p ? "" : ":xtic(1)");
		gp_str(P->cmd, paths[p]);
	}
	fprintf(P->gp,
		"set style data histograms\nset style histogram errorbars gap 1 lw 1.5\n"
		"set style fill solid 0.75 border -1\nset yrange [0:*]\nset grid noxtics\nset ylabel ");
	gp_str(P->gp, label);
	fprintf(P->gp, "\n");
	fig_end(P, rows > 0 && np > 0);
	return 0;
}

/* compare: per rr/crr test, its latency percentiles' means per path (p50, p99), with their intervals. */
static int fig_compare_latency(struct plot *P, const char *stem, const cJSON *root, const char *group)
{
	const char *paths[MAX_SERIES];
	unsigned np = compare_paths(root, paths, MAX_SERIES), series = 0;
	char name[200], title[200];
	double xmax = 1;

	snprintf(name, sizeof(name), "%.60s_latency_%.100s", stem, group);
	snprintf(title, sizeof(title), "%.100s: latency by percentile (mean ± CI over runs)", group);
	int r = fig_begin(P, name, title);
	if (r < 0)
		return r;
	fprintf(P->dat, "# per path: 1/(1-p) percentile mean_us ci_us\n");
	for (unsigned p = 0; p < np; p++) {
		const cJSON *row = summary_row(root, group, paths[p]), *m;
		unsigned points = 0;
		cJSON_ArrayForEach(m, row)
		{
			double pc = key_percentile(m->string), ci = num(m, "ci");
			if (isnan(pc) || pc >= 100 || !cJSON_IsNumber(obj(m, "mean")))
				continue;
			if (!points++)
				fprintf(P->dat, "%s# %s\n", series ? "\n\n" : "", paths[p]);
			fprintf(P->dat, "%.6g %g %.6g %.6g\n", 1 / (1 - pc / 100), pc, num(m, "mean") / 1e3,
				isnan(ci) ? 0 : ci / 1e3);
			xmax = fmax(xmax, 1 / (1 - pc / 100));
		}
		if (!points)
			continue;
		fprintf(P->cmd, "%s'%s.dat' index %u using 1:3:4 with yerrorlines lw 2 title ", sep(series),
			P->figs[P->nfigs].name, series);
		gp_str(P->cmd, paths[p]);
		series++;
	}
	percentile_axis(P->gp, xmax);
	fig_end(P, series > 0);
	return 0;
}

/* A `hops` array found in a report, with the path and test it belongs to. */
struct hop_set {
	char path[64];
	char group[160];
	const cJSON *segs;
};

struct hop_sets {
	struct hop_set s[MAX_SERIES];
	unsigned n;
};

static void hops_add(struct hop_sets *H, const char *path, const char *group, const cJSON *segs)
{
	if (H->n == MAX_SERIES || !cJSON_IsArray(segs))
		return;
	struct hop_set *h = &H->s[H->n++];
	snprintf(h->path, sizeof(h->path), "%s", path ? path : "?");
	snprintf(h->group, sizeof(h->group), "%s", group ? group : "");
	h->segs = segs;
}

/* Whether a is a list of segments (not of compare's {test, path, hops} entries). */
static bool seg_list(const cJSON *a)
{
	const cJSON *first = cJSON_GetArrayItem(a, 0);
	return !first || !obj(first, "hops");
}

/* Finds every `hops` in node: an array of segments, an object {segments: [...]}, or an object of those by
 * path. The path is the nearest enclosing "path" string (compare's summary rows), else the run's label. */
static void hops_find(struct hop_sets *H, const cJSON *node, const char *path, const char *group)
{
	const cJSON *e;
	char g[160];
	if (cJSON_IsObject(node)) {
		if (str(node, "path"))
			path = str(node, "path");
		if (str(node, "test")) {
			row_group(node, g, sizeof(g));
			group = g;
		}
		const cJSON *hops = obj(node, "hops");
		if (cJSON_IsArray(hops) && !seg_list(hops))
			hops_find(H, hops, path, group); /* compare's: an entry per test and path */
		else if (cJSON_IsArray(hops))
			hops_add(H, path, group, hops);
		else if (cJSON_IsObject(hops) && obj(hops, "segments"))
			hops_add(H, path, group, obj(hops, "segments"));
		else if (cJSON_IsObject(hops))
			cJSON_ArrayForEach(e, hops)
			    hops_add(H, e->string, group, cJSON_IsObject(e) ? obj(e, "segments") : e);
	}
	if (cJSON_IsObject(node) || cJSON_IsArray(node))
		cJSON_ArrayForEach(e, node) if (!e->string || strcmp(e->string, "hops"))
		    hops_find(H, e, path, group);
}

/* What an interface is on nbench's paths, whatever the instance: the last word of nb-<name>-X ("r", "h",
 * "b"...), so that the same hop lines up across paths. */
static const char *if_role(const char *ifname)
{
	const char *dash = ifname ? strrchr(ifname, '-') : NULL;
	return dash && dash[1] ? dash + 1 : ifname ? ifname : "?";
}

/* A segment's name: "segment" (with "FROM>TO" by interface role when it is a hop between two), else
 * "FROM -> TO", else its position. */
static void seg_name(const cJSON *seg, unsigned i, char *buf, size_t len)
{
	const char *s = str(seg, "segment"), *from = str(seg, "from_if"), *to = str(seg, "to_if");
	if (s && from && to && strcmp(from, to))
		snprintf(buf, len, "%s %s>%s", s, if_role(from), if_role(to));
	else if (s)
		snprintf(buf, len, "%s", s);
	else if (from || to)
		snprintf(buf, len, "%s -> %s", from ? from : "?", to ? to : "?");
	else
		snprintf(buf, len, "segment %u", i + 1);
}

/* A segment's mean time (mean_ns, else p50_ns) in µs; NAN when it has none. */
static double seg_us(const cJSON *seg)
{
	double v = num(seg, "mean_ns");
	return (isnan(v) ? num(seg, "p50_ns") : v) / 1e3;
}

/* The union of the sets' segment names, each path's order kept: a new name goes after its predecessor. */
static unsigned seg_union(const struct hop_sets *H, const char *group, char (*names)[96])
{
	unsigned n = 0;
	for (unsigned s = 0; s < H->n; s++) {
		const cJSON *seg;
		unsigned i = 0, at = 0;
		if (strcmp(H->s[s].group, group))
			continue;
		cJSON_ArrayForEach(seg, H->s[s].segs)
		{
			char nm[96];
			unsigned k = 0;
			seg_name(seg, i++, nm, sizeof(nm));
			while (k < n && strcmp(names[k], nm))
				k++;
			if (k == n && n < MAX_SEGMENTS) {
				memmove(names[at + 1], names[at], (n - at) * sizeof(names[0]));
				snprintf(names[at], 96, "%s", nm);
				n++;
				k = at;
			}
			at = k + 1;
		}
	}
	return n;
}

/* The hop waterfall of one test: a stacked bar per path, a block per segment (its mean time). */
static int fig_hops(struct plot *P, const char *stem, const struct hop_sets *H, const char *group)
{
	char names[MAX_SEGMENTS][96], name[200], title[200];
	unsigned ns = seg_union(H, group, names), rows = 0;

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
	for (unsigned s = 0; s < H->n; s++) {
		const cJSON *seg;
		unsigned i = 0;
		if (strcmp(H->s[s].group, group))
			continue;
		cJSON_ArrayForEach(seg, H->s[s].segs)
		{
			char nm[96];
			seg_name(seg, i++, nm, sizeof(nm));
			fprintf(P->dat, "#   %s \"%s\" %s %s %s %s %g %g %g %g %g %g %g\n", H->s[s].path, nm,
				str(seg, "from_if") ? str(seg, "from_if") : "-",
				str(seg, "to_if") ? str(seg, "to_if") : "-",
				str(seg, "direction") ? str(seg, "direction") : "-",
				str(seg, "netns") ? str(seg, "netns") : "-", num(seg, "p50_ns"),
				num(seg, "p90_ns"), num(seg, "p99_ns"), num(seg, "mean_ns"),
				num(seg, "share"), num(seg, "samples"), num(seg, "unmatched"));
		}
	}
	for (unsigned s = 0; s < H->n; s++) {
		if (strcmp(H->s[s].group, group))
			continue;
		dat_str(P->dat, H->s[s].path);
		for (unsigned k = 0; k < ns; k++) {
			const cJSON *seg;
			unsigned i = 0;
			double v = 0;
			cJSON_ArrayForEach(seg, H->s[s].segs)
			{
				char nm[96];
				seg_name(seg, i++, nm, sizeof(nm));
				if (!strcmp(nm, names[k]) && !isnan(seg_us(seg)))
					v += seg_us(seg);
			}
			fprintf(P->dat, " %.6g", v);
		}
		fprintf(P->dat, "\n");
		rows++;
	}
	for (unsigned k = 0; k < ns; k++) {
		/* gnuplot's own cycle repeats after 8: a stack of more needs more colours */
		static const char *const colours[] = {
		    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
		    "#9c755f", "#bab0ac", "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#a6761d"};
		fprintf(P->cmd, "%s'%s.dat' using %u%s lc rgb '%s' title ", sep(k), P->figs[P->nfigs].name,
			2 + k, k ? "" : ":xtic(1)", colours[k % (sizeof(colours) / sizeof(colours[0]))]);
		gp_str(P->cmd, names[k]);
	}
	fprintf(P->gp, "set style data histograms\nset style histogram rowstacked\nset boxwidth 0.6\n"
		       "set style fill solid 0.85 border -1\nset yrange [0:*]\nset grid noxtics\n"
		       "set ylabel 'time per round trip (µs)'\n");
	fig_end(P, rows > 0 && ns > 0);
	return 0;
}

/* Every hop waterfall of one report, a figure per test. */
static int figs_hops(struct plot *P, const char *stem, const cJSON *root, const char *label)
{
	struct hop_sets H = {.n = 0};
	int r = 0;
	hops_find(&H, root, label, "");
	for (unsigned s = 0; s < H.n && !r; s++) {
		unsigned first = 0;
		while (strcmp(H.s[first].group, H.s[s].group))
			first++;
		if (first == s)
			r = fig_hops(P, stem, &H, H.s[s].group);
	}
	return r;
}

/* Every figure of one compare report. */
static int figs_compare(struct plot *P, const char *stem, const cJSON *root)
{
	char groups[MAX_SERIES][160];
	unsigned ng = compare_groups(root, groups, MAX_SERIES);
	const cJSON *row, *m;
	int r = 0;
	cJSON_ArrayForEach(row, obj(root, "summary"))
	{
		cJSON_ArrayForEach(m, row) if (!r && cJSON_IsObject(m) && first_metric(root, row, m->string))
		    r = fig_compare_metric(P, stem, root, m->string);
	}
	for (unsigned g = 0; g < ng && !r; g++)
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

/* Reads and parses one report: 0, or 2 after a one-line error. */
static int read_report(const char *file, cJSON **ret)
{
	FILE *f = fopen(file, "r");
	char *buf = NULL;
	size_t n = 0;
	if (f) {
		buf = malloc(MAX_INPUT + 1);
		n = buf ? fread(buf, 1, MAX_INPUT + 1, f) : 0;
		fclose(f);
	}
	if (!f || !buf) {
		free(buf);
		return cli_usage_error("plot", "cannot read %s: %s", file, strerror(f ? ENOMEM : errno));
	}
	if (n > MAX_INPUT) {
		free(buf);
		return cli_usage_error("plot", "%s: larger than %d MiB", file, MAX_INPUT >> 20);
	}
	buf[n] = 0;
	*ret = cJSON_Parse(buf);
	free(buf);
	if (!*ret)
		return cli_usage_error("plot", "%s: not JSON", file);
	bool run = cJSON_IsObject(obj(*ret, "start")) && cJSON_IsObject(obj(*ret, "end"));
	bool cmp = cJSON_IsObject(obj(*ret, "start")) && cJSON_IsArray(obj(*ret, "summary"));
	if (!cJSON_IsNumber(obj(*ret, "schema_version")) || (!run && !cmp)) {
		cJSON_Delete(*ret);
		return cli_usage_error(
		    "plot", "%s: not an nbench report (no schema_version, start and end or summary)", file);
	}
	return 0;
}

/* Is there an executable gnuplot on PATH? */
static bool have_gnuplot(void)
{
	const char *path = getenv("PATH");
	char dir[4096];
	while (path && *path) {
		size_t n = strcspn(path, ":");
		snprintf(dir, sizeof(dir), "%.*s/gnuplot", (int)n, path);
		if (n && !access(dir, X_OK))
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

/* Writes name.ext (len bytes of text) into dir and says so: 0 or 1 after a one-line error. */
static int write_file(const char *dir, const char *name, const char *ext, const char *text, size_t len)
{
	char file[4096];
	snprintf(file, sizeof(file), "%s/%s.%s", dir, name, ext);
	FILE *f = fopen(file, "w");
	bool ok = f && fwrite(text, 1, len, f) == len;
	if (f && fclose(f))
		ok = false;
	if (!ok) {
		fprintf(stderr, "nbench plot: cannot write %s: %s\n", file, strerror(errno));
		return 1;
	}
	printf("%s\n", file);
	return 0;
}

/* Runs `gnuplot NAME.gp` in dir: 0 or 1 after a one-line error. */
static int run_gnuplot(const char *dir, const char *name, const char *format)
{
	char script[160];
	int status;
	snprintf(script, sizeof(script), "%s.gp", name);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (chdir(dir) < 0)
			_exit(126);
		execlp("gnuplot", "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "nbench plot: gnuplot failed on %s/%s\n", dir, script);
		return 1;
	}
	printf("%s/%s.%s\n", dir, name, format);
	return 0;
}

/* Writes every figure's data and script, then draws them. */
static int write_figures(struct plot *P)
{
	int rc = 0;
	if (mkdir(P->dir, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "nbench plot: cannot create %s: %s\n", P->dir, strerror(errno));
		return 1;
	}
	for (unsigned i = 0; i < P->nfigs && !rc; i++) {
		struct fig *f = &P->figs[i];
		rc = write_file(P->dir, f->name, "dat", f->dat, f->dat_len) ||
		     write_file(P->dir, f->name, "gp", f->gp, f->gp_len);
	}
	if (rc)
		return rc;
	if (!have_gnuplot()) {
		fprintf(stderr,
			"nbench plot: gnuplot not found (install gnuplot-nox), then: cd %s && gnuplot *.gp\n",
			P->dir);
		return 1;
	}
	for (unsigned i = 0; i < P->nfigs; i++)
		rc |= run_gnuplot(P->dir, P->figs[i].name, P->format);
	return rc;
}

/* The figures of every report: single runs share theirs (a line per run), compare reports have their own. */
static int build_figures(struct plot *P, cJSON **roots, char **files, unsigned n)
{
	struct run runs[MAX_FILES];
	unsigned nruns = 0;
	int r = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!cJSON_IsObject(obj(roots[i], "end")))
			continue;
		struct run *ru = &runs[nruns++];
		ru->root = roots[i];
		run_label(roots[i], ru->label, sizeof(ru->label));
		for (unsigned j = 0; j + 1 < nruns; j++)
			if (!strcmp(runs[j].label, ru->label)) {
				char stem[96];
				file_stem(files[i], stem, sizeof(stem));
				snprintf(ru->label + strlen(ru->label), sizeof(ru->label) - strlen(ru->label),
					 " (%s)", stem);
				break;
			}
	}
	if (nruns) {
		r = fig_run_latency(P, runs, nruns);
		r = r ? r : fig_run_intervals(P, runs, nruns, false);
		r = r ? r : fig_run_intervals(P, runs, nruns, true);
	}
	for (unsigned i = 0, k = 0; i < n && !r; i++) {
		char stem[96];
		file_stem(files[i], stem, sizeof(stem));
		if (cJSON_IsObject(obj(roots[i], "end")))
			r = figs_hops(P, stem, roots[i], runs[k++].label);
		else
			r = figs_compare(P, stem, roots[i]);
	}
	return r;
}

int cmd_plot(int argc, char **argv)
{
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
					     {"format", required_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	struct plot P = {.dir = ".", .format = "svg"};
	cJSON *roots[MAX_FILES];
	int c, rc = 0;
	unsigned n = 0;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		if (c == 'o')
			P.dir = optarg;
		else if (c == 'f' && (!strcmp(optarg, "svg") || !strcmp(optarg, "png")))
			P.format = optarg;
		else if (c == 'f')
			return cli_usage_error("plot", "--format %s: svg or png", optarg);
		else
			return cli_usage_error("plot", "see nbench plot --help");
	}
	if (optind == argc)
		return cli_usage_error("plot", "no report given (nbench plot FILE.json...)");
	if (argc - optind > MAX_FILES)
		return cli_usage_error("plot", "at most %d reports", MAX_FILES);
	for (; optind + (int)n < argc && !rc; n++)
		if ((rc = read_report(argv[optind + n], &roots[n])))
			break;
	if (!rc && build_figures(&P, roots, argv + optind, n) < 0) {
		fprintf(stderr, "nbench plot: out of memory or more than %d figures\n", MAX_FIGS);
		rc = 1;
	} else if (!rc && !P.nfigs) {
		rc = cli_usage_error("plot",
				     "nothing to draw in the report%s given (no latency, intervals, compare "
				     "summary or hops)",
				     n > 1 ? "s" : "");
	} else if (!rc) {
		rc = write_figures(&P);
	}
	for (unsigned i = 0; i < P.nfigs; i++) {
		free(P.figs[i].dat);
		free(P.figs[i].gp);
	}
	for (unsigned i = 0; i < n; i++)
		cJSON_Delete(roots[i]);
	return rc;
}
