/* SPDX-License-Identifier: MIT */
/* What `nbench plot` draws, out of nbench's JSON reports (plotdata.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbench/plotdata.h"
#include "nbench/metric.h"

static const cJSON *obj(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

double nb_plotdata_num(const cJSON *o, const char *key)
{
	const cJSON *v = obj(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

const char *nb_plotdata_str(const cJSON *o, const char *key)
{
	const cJSON *v = obj(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

double nb_plotdata_percentile(const char *key)
{
	size_t n = strspn(key + 1, "0123456789");
	if (key[0] != 'p' || n < 2 || (key[1 + n] && strcmp(key + 1 + n, "_ns")))
		return NAN;
	return strtod(key + 1, NULL) / pow(10, (double)n - 2);
}

/* ---- a single run ---- */

void nb_plotdata_run_label(const cJSON *root, char *buf, size_t len)
{
	const cJSON *st = obj(root, "start");
	const cJSON *set = obj(st, "settings");
	const char *path = nb_plotdata_str(obj(st, "path"), "name");
	const char *kind = nb_plotdata_str(set, "kind"), *proto = nb_plotdata_str(set, "proto");
	if (!path)
		path = nb_plotdata_str(set, "host");
	snprintf(buf, len, "%s %s%s%s", path && *path ? path : "?", kind ? kind : "?",
		 kind && proto && strcmp(kind, "crr") ? "-" : "",
		 kind && strcmp(kind, "crr") && proto ? proto : "");
}

int nb_plotdata_run_percentiles(const cJSON *root, struct nb_plot_point *pts, unsigned max)
{
	const cJSON *lat = obj(obj(root, "end"), "latency_ns"), *v;
	unsigned n = 0;
	if (!cJSON_IsObject(lat))
		return -1;
	if (cJSON_IsNumber(obj(lat, "min")) && n < max)
		pts[n++] = (struct nb_plot_point){1, 0, nb_plotdata_num(lat, "min") / 1e3, 0};
	cJSON_ArrayForEach(v, lat)
	{
		double p = nb_plotdata_percentile(v->string);
		if (isnan(p) || !cJSON_IsNumber(v) || p >= 100 || n == max)
			continue;
		pts[n++] = (struct nb_plot_point){1 / (1 - p / 100), p, v->valuedouble / 1e3, 0};
	}
	return (int)n;
}

struct nb_plot_iv *nb_plotdata_intervals(const cJSON *root, bool stream, unsigned *ret_n)
{
	const cJSON *iv = obj(root, "intervals"), *e;
	const char *kind = nb_plotdata_str(obj(obj(root, "start"), "settings"), "kind");
	unsigned n = 0;
	*ret_n = 0;
	if (!cJSON_IsArray(iv) || !cJSON_GetArraySize(iv) || !kind || (strcmp(kind, "stream") == 0) != stream)
		return NULL;
	struct nb_plot_iv *out = calloc((size_t)cJSON_GetArraySize(iv), sizeof(*out));
	cJSON_ArrayForEach(e, iv)
	{
		if (!out)
			break;
		if (stream)
			out[n++] = (struct nb_plot_iv){nb_plotdata_num(e, "end_s"),
						       nb_plotdata_num(e, "bps") / 1e9, NAN};
		else
			out[n++] = (struct nb_plot_iv){nb_plotdata_num(e, "end_s"), nb_plotdata_num(e, "tps"),
						       nb_plotdata_num(e, "mean_lat_ns") / 1e3};
	}
	*ret_n = n;
	return out;
}

/* ---- a compare ---- */

/* compare's paths, in its order (start.paths), else as the summary first names them. */
unsigned nb_plotdata_compare_paths(const cJSON *root, const char **paths, unsigned max)
{
	unsigned n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, obj(obj(root, "start"), "paths")) if (cJSON_IsString(e) && n < max) paths[n++] =
	    e->valuestring;
	cJSON_ArrayForEach(e, obj(root, "summary"))
	{
		const char *p = nb_plotdata_str(e, "path");
		unsigned i = 0;
		while (p && i < n && strcmp(paths[i], p))
			i++;
		if (p && i == n && n < max)
			paths[n++] = p;
	}
	return n;
}

/* A summary row's group: its test and placement ("rr-tcp same-core"). */
void nb_plotdata_row_group(const cJSON *row, char *buf, size_t len)
{
	const char *t = nb_plotdata_str(row, "test"), *pl = nb_plotdata_str(row, "placement");
	snprintf(buf, len, "%s%s%s", t ? t : "?", pl ? " " : "", pl ? pl : "");
}

/* The summary row of group g and path p, or NULL. */
static const cJSON *summary_row(const cJSON *root, const char *g, const char *p)
{
	const cJSON *e;
	char rg[NB_PLOT_GROUP_LEN];
	cJSON_ArrayForEach(e, obj(root, "summary"))
	{
		nb_plotdata_row_group(e, rg, sizeof(rg));
		if (!strcmp(rg, g) && nb_plotdata_str(e, "path") && !strcmp(nb_plotdata_str(e, "path"), p))
			return e;
	}
	return NULL;
}

/* The groups of compare's summary, in order. */
unsigned nb_plotdata_compare_groups(const cJSON *root, char (*groups)[NB_PLOT_GROUP_LEN], unsigned max)
{
	unsigned n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, obj(root, "summary"))
	{
		char g[NB_PLOT_GROUP_LEN];
		unsigned i = 0;
		nb_plotdata_row_group(e, g, sizeof(g));
		while (i < n && strcmp(groups[i], g))
			i++;
		if (i == n && n < max)
			snprintf(groups[n++], NB_PLOT_GROUP_LEN, "%s", g);
	}
	return n;
}

/* Is key a metric of some summary row ({mean, ci, ...}), and is it the first row that has it? */
bool nb_plotdata_first_metric(const cJSON *root, const cJSON *row, const char *key)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, obj(root, "summary"))
	{
		if (cJSON_IsNumber(obj(obj(e, key), "mean")))
			return e == row;
	}
	return false;
}

bool nb_plotdata_compare_value(const cJSON *root, const char *group, const char *path, const char *key,
			       double *ret_mean, double *ret_ci)
{
	const cJSON *m = obj(summary_row(root, group, path), key);
	*ret_mean = nb_plotdata_num(m, "mean");
	*ret_ci = nb_plotdata_num(m, "ci");
	return cJSON_IsNumber(obj(m, "mean"));
}

unsigned nb_plotdata_compare_merged(const cJSON *root, const char *group, const char *path,
				    struct nb_plot_point *pts, unsigned max)
{
	const cJSON *arr = obj(obj(summary_row(root, group, path), "latency_merged"), "percentiles"), *pt;
	unsigned n = 0;
	cJSON_ArrayForEach(pt, arr)
	{
		double pc = nb_plotdata_num(pt, "percentile"), ns = nb_plotdata_num(pt, "ns");
		if (isnan(pc) || isnan(ns) || pc >= 100 || n == max)
			continue;
		pts[n++] = (struct nb_plot_point){1 / (1 - pc / 100), pc, ns / 1e3, 0};
	}
	return n;
}

unsigned nb_plotdata_compare_ratios(const cJSON *root, struct nb_plot_ratio *out, unsigned max, char *ref,
				    size_t reflen)
{
	const char *paths[NB_PLOT_MAX_SERIES];
	unsigned np = nb_plotdata_compare_paths(root, paths, NB_PLOT_MAX_SERIES), n = 0;
	const char *r = nb_plotdata_str(obj(root, "start"), "reference");
	const cJSON *row, *m;
	snprintf(ref, reflen, "%s", r ? r : "");
	cJSON_ArrayForEach(row, obj(root, "summary"))
	{
		const char *path = nb_plotdata_str(row, "path");
		if (!path || (r && !strcmp(path, r)))
			continue;
		cJSON_ArrayForEach(m, row)
		{
			const cJSON *ra = obj(m, "ratio");
			if (!cJSON_IsObject(ra) || !cJSON_IsNumber(obj(ra, "value")) || n == max ||
			    !m->string)
				continue;
			struct nb_plot_ratio *o = &out[n++];
			nb_plotdata_row_group(row, o->group, sizeof(o->group));
			snprintf(o->path, sizeof(o->path), "%s", path);
			snprintf(o->key, sizeof(o->key), "%s", m->string);
			o->ratio = nb_plotdata_num(ra, "value");
			o->lo = nb_plotdata_num(ra, "lo");
			o->hi = nb_plotdata_num(ra, "hi");
			o->path_index = 0;
			for (unsigned p = 0; p < np; p++)
				if (!strcmp(paths[p], path))
					o->path_index = p;
		}
	}
	return n;
}

unsigned nb_plotdata_compare_percentiles(const cJSON *root, const char *group, const char *path,
					 struct nb_plot_point *pts, unsigned max)
{
	const cJSON *row = summary_row(root, group, path), *m;
	unsigned n = 0;
	cJSON_ArrayForEach(m, row)
	{
		double pc = nb_plotdata_percentile(m->string), ci = nb_plotdata_num(m, "ci");
		if (isnan(pc) || pc >= 100 || !cJSON_IsNumber(obj(m, "mean")) || n == max)
			continue;
		pts[n++] = (struct nb_plot_point){1 / (1 - pc / 100), pc, nb_plotdata_num(m, "mean") / 1e3,
						  isnan(ci) ? 0 : ci / 1e3};
	}
	return n;
}

/* A key's words: its '_'s as spaces, "lat" as "latency" ("mean_lat" -> "mean latency"). */
static void key_words(const char *key, size_t n, char *buf, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < len; i++)
		buf[o++] = key[i] == '_' ? ' ' : key[i];
	buf[o] = '\0';
	if (o >= 4 && !strcmp(buf + o - 4, " lat") && o + 4 < len)
		snprintf(buf + o, len - o, "ency");
}

/* How a compare metric is drawn: its label in words with its unit (compare's text labels, from analyze/
 * metric.c, where it has one), and the scale from the report's unit to the label's. */
double nb_plotdata_scale(const char *key, char *label, size_t len)
{
	size_t n = strlen(key);
	char words[96];
	double pct = nb_plotdata_percentile(key);
	if (!isnan(pct)) { /* p50_ns: "p50 latency (µs)" */
		snprintf(label, len, "p%g latency (µs)", pct);
		return 1e-3;
	}
	for (unsigned m = 0; m < NB_M_COUNT; m++)
		if (!strcmp(nb_metrics[m].key, key)) {
			bool us = !strcmp(nb_metrics[m].unit, "us");
			snprintf(label, len, "%s%s%s%s", nb_metrics[m].label, *nb_metrics[m].unit ? " (" : "",
				 us ? "µs" : nb_metrics[m].unit, *nb_metrics[m].unit ? ")" : "");
			return nb_metrics[m].scale;
		}
	static const struct {
		const char *suffix, *unit;
		double scale;
	} units[] = {{"_ns", "µs", 1e-3}, {"_bps", "Gbit/s", 1e-9}, {"_pct", "%", 1}, {"_s", "s", 1}};
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		size_t k = strlen(units[u].suffix);
		if (n > k && !strcmp(key + n - k, units[u].suffix)) {
			key_words(key, n - k, words, sizeof(words));
			snprintf(label, len, "%s (%s)", words, units[u].unit);
			return units[u].scale;
		}
	}
	key_words(key, n, words, sizeof(words));
	snprintf(label, len, "%s", words);
	return 1;
}

/* ---- whiskers ---- */

struct nb_plot_whisker nb_plotdata_whisker(double mean, double ci, double axis_lo, double axis_hi)
{
	double lo = mean - (isnan(ci) ? 0 : ci), hi = mean + (isnan(ci) ? 0 : ci);
	return (struct nb_plot_whisker){.lo = fmax(lo, axis_lo),
					.hi = fmin(hi, axis_hi),
					.lo_out = lo<axis_lo, .hi_out = hi> axis_hi,
					.lo_end = lo,
					.hi_end = hi};
}

double nb_plotdata_axis_top(const double *mean, const double *ci, unsigned n)
{
	double top = 0, reach;
	for (unsigned i = 0; i < n; i++)
		if (!isnan(mean[i]))
			top = fmax(top, mean[i]);
	/* a whisker up to half the tallest bar above it is shown whole; one further out is marked */
	reach = NB_PLOT_WHISKER_REACH * top;
	for (unsigned i = 0; i < n; i++) {
		double hi = mean[i] + (isnan(ci[i]) ? 0 : ci[i]);
		if (!isnan(hi) && (hi <= reach || top == 0))
			top = fmax(top, hi);
	}
	return top > 0 ? top * NB_PLOT_HEADROOM : 1;
}

/* ---- hop waterfalls ---- */

static void hops_add(struct nb_plot_hop_sets *H, const char *path, const char *group, const cJSON *segs)
{
	if (H->n == NB_PLOT_MAX_SERIES || !cJSON_IsArray(segs))
		return;
	struct nb_plot_hop_set *h = &H->s[H->n++];
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
static void hops_find(struct nb_plot_hop_sets *H, const cJSON *node, const char *path, const char *group)
{
	const cJSON *e;
	char g[NB_PLOT_GROUP_LEN];
	if (cJSON_IsObject(node)) {
		if (nb_plotdata_str(node, "path"))
			path = nb_plotdata_str(node, "path");
		if (nb_plotdata_str(node, "test")) {
			nb_plotdata_row_group(node, g, sizeof(g));
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
void nb_plotdata_seg_name(const cJSON *seg, unsigned i, char *buf, size_t len)
{
	const char *s = nb_plotdata_str(seg, "segment"), *from = nb_plotdata_str(seg, "from_if"),
		   *to = nb_plotdata_str(seg, "to_if");
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
	double v = nb_plotdata_num(seg, "mean_ns");
	return (isnan(v) ? nb_plotdata_num(seg, "p50_ns") : v) / 1e3;
}

/* The union of the sets' segment names, each path's order kept: a new name goes after its predecessor. */
unsigned nb_plotdata_seg_union(const struct nb_plot_hop_sets *H, const char *group,
			       char (*names)[NB_PLOT_SEG_LEN])
{
	unsigned n = 0;
	for (unsigned s = 0; s < H->n; s++) {
		const cJSON *seg;
		unsigned i = 0, at = 0;
		if (strcmp(H->s[s].group, group))
			continue;
		cJSON_ArrayForEach(seg, H->s[s].segs)
		{
			char nm[NB_PLOT_SEG_LEN];
			unsigned k = 0;
			nb_plotdata_seg_name(seg, i++, nm, sizeof(nm));
			while (k < n && strcmp(names[k], nm))
				k++;
			if (k == n && n < NB_PLOT_MAX_SEGMENTS) {
				memmove(names[at + 1], names[at], (n - at) * sizeof(names[0]));
				snprintf(names[at], NB_PLOT_SEG_LEN, "%s", nm);
				n++;
				k = at;
			}
			at = k + 1;
		}
	}
	return n;
}

void nb_plotdata_hops(struct nb_plot_hop_sets *H, const cJSON *root, const char *label)
{
	H->n = 0;
	hops_find(H, root, label, "");
}

double nb_plotdata_seg_us(const struct nb_plot_hop_set *set, const char *name)
{
	const cJSON *seg;
	unsigned i = 0;
	double v = 0;
	cJSON_ArrayForEach(seg, set->segs)
	{
		char nm[NB_PLOT_SEG_LEN];
		nb_plotdata_seg_name(seg, i++, nm, sizeof(nm));
		if (!strcmp(nm, name) && !isnan(seg_us(seg)))
			v += seg_us(seg);
	}
	return v;
}
