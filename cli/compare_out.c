/* SPDX-License-Identifier: MIT */
/*
 * `nbench compare`'s output (compare_out.h): per test, placement and path each figure's mean with its
 * interval, the ratio to native and the hop delta from the path it extends, as text, CSV or JSON (with every
 * run and each path's details); --hops' waterfalls beside them. The numbers are bench/compare.c's cells.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare_out.h"
#include "nbench/guest.h"
#include "nbench/hist.h"
#include "nbench/report.h"
#include "nbench/topo.h"

/* Every cell in table order: test, its placement rows, path. */
#define FOR_EACH_CELL(c, ti, pli, pi)                                                                        \
	for (unsigned ti = 0; ti < (c)->cfg.ntests; ti++)                                                    \
		for (unsigned pli = 0; pli < nb_compare_rows((c), ti); pli++)                                \
			for (unsigned pi = 0; pi < (c)->cfg.npaths; pi++)

static const char *test_name(const struct nb_compare *c, unsigned ti)
{
	return c->cfg.tests[ti]->name;
}

static bool applies(const struct nb_compare *c, unsigned ti, enum nb_metric m)
{
	return nb_metric_applies(m, c->cfg.tests[ti]->kind);
}

/* What a table shows of figure m in cell (ti, pli, pi): the point with its interval, the ratio to the
 * reference's (paired by round), the hop delta from the parent's (hop NULL when there is none), the rounds
 * flagged as outliers (kept). */
struct shown {
	struct nb_paired_mean s;
	struct nb_ratio ratio; /* ratio.ratio NAN: none */
	const char *hop;
	struct nb_delta delta;
	unsigned outliers[NB_CELL_MAX_RUNS], n_outliers;
};

static void shown(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi, enum nb_metric m,
		  struct shown *v)
{
	v->s = nb_compare_point(c, ti, pli, pi, m);
	nb_compare_ratio(c, ti, pli, pi, m, &v->ratio);
	if (!nb_compare_delta(c, ti, pli, pi, m, &v->hop, &v->delta) || !v->delta.n)
		v->hop = NULL;
	v->n_outliers =
	    nb_cell_outliers(&c->cells[ti][pli][pi], nb_compare_reference(c, ti, pli), m, v->outliers);
}

static const char *ref_name(const struct nb_compare *c)
{
	return c->cfg.paths[c->ref];
}

/* The figure a test's verdict is on: p50 for rr and crr, goodput for a stream. */
static enum nb_metric lead_metric(const struct nb_compare *c, unsigned ti)
{
	return c->cfg.tests[ti]->kind == NB_TEST_STREAM ? NB_M_GOODPUT : NB_M_P50;
}

/* A verdict: "nat: p50 1.41× native [1.37, 1.45]" (", no difference at 95%" when the interval holds 1). */
static void verdict(const struct nb_compare *c, const struct nb_ratio *r, unsigned pi, enum nb_metric m,
		    char *buf, size_t len)
{
	if (isnan(r->ratio))
		snprintf(buf, len, "%s: %s no ratio (no paired rounds)", c->cfg.paths[pi],
			 nb_metrics[m].label);
	else if (isnan(r->lo))
		snprintf(buf, len, "%s: %s %.2f× %s (one round: no interval)", c->cfg.paths[pi],
			 nb_metrics[m].label, r->ratio, ref_name(c));
	else
		snprintf(buf, len, "%s: %s %.2f× %s [%.2f, %.2f]%s", c->cfg.paths[pi], nb_metrics[m].label,
			 r->ratio, ref_name(c), r->lo, r->hi,
			 nb_ratio_holds_one(r)
			     ? c->cfg.ci_level == 99 ? ", no difference at 99%" : ", no difference at 95%"
			     : "");
}

void cli_compare_record(struct cli_compare *cc, const struct nb_compare_run *r)
{
	const struct nb_compare *c = cc->c;
	const char *path = c->cfg.paths[r->pi];
	cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "round", r->round);
	cJSON_AddStringToObject(j, "path", path);
	cJSON_AddStringToObject(j, "test", test_name(c, r->ti));
	cJSON_AddStringToObject(j, "placement", nb_compare_row_placement(c, r->ti, r->pli));
	cJSON_AddBoolToObject(j, "complete", r->ok);
	if (!r->ok)
		cJSON_AddStringToObject(j, "error", r->rep->error);
	cJSON_AddBoolToObject(j, "disturbed", r->rep->cpu.disturbed);
	if (r->rep->capture)
		cJSON_AddItemToObject(j, "capture", nb_report_capture_json(r->rep->capture));
	cJSON_AddStringToObject(j, "gen_cpus", r->rep->gen_cpus);
	cJSON_AddStringToObject(j, "resp_cpus", r->rep->resp_cpus);
	for (int m = 0; m < NB_M_COUNT; m++)
		if (applies(c, r->ti, m))
			cJSON_AddNumberToObject(j, nb_metrics[m].key, nb_metric_of(r->rep, m));
	cJSON_AddItemToArray(cc->runs_json, j);
	if (r->ok && !cJSON_HasObjectItem(cc->path_details, path)) {
		cJSON *doc = cli_report_doc(r->rep);
		cJSON *st = doc ? cJSON_DetachItemFromObjectCaseSensitive(doc, "start") : NULL;
		if (st)
			cJSON_AddItemToObject(cc->path_details, path, st);
		cJSON_Delete(doc);
	}
}

/* ---- text ---- */

static void fmt_val(double v, enum nb_metric m, char *buf, size_t len)
{
	double x = v * nb_metrics[m].scale;
	if (m == NB_M_TPS || m == NB_M_CPT)
		snprintf(buf, len, "%.0f", x);
	else if (m == NB_M_CPB)
		snprintf(buf, len, "%.3f", x);
	else
		snprintf(buf, len, "%.2f", x);
}

/* The hops of the kind table, leaving out those from the floor (loopback is no path through a hop). */
static void print_legend(const struct nb_compare *c, FILE *out)
{
	const char *sep = "";

	fprintf(
	    out,
	    "(ratio = path / %s per round, its interval from the rounds, paired; hop = path - the path it "
	    "extends: ",
	    ref_name(c));
	for (const char *const *k = nb_topo_kinds(); *k; k++) {
		const char *par = nb_topo_kind_parent(*k);

		if (!par || !nb_topo_kind_parent(par))
			continue;
		fprintf(out, "%s%s-%s", sep, *k, par);
		sep = ", ";
	}
	fprintf(out, ")\n");
}

/* The guest of path pi (a VM path), or false. */
static bool guest_of(const struct nb_compare *c, unsigned pi, struct nb_topo_guest *ret)
{
	struct nb_topo *t = c->targets[pi] ? nb_target_topo(c->targets[pi]) : NULL;
	return t && !nb_topo_guest(t, ret);
}

static void print_guests(const struct nb_compare *c, FILE *out)
{
	for (unsigned pi = 0; pi < c->cfg.npaths; pi++) {
		struct nb_topo_guest g;
		if (guest_of(c, pi, &g))
			fprintf(out, "%s: guest kernel %s, accel %s, backend %s, booted in %.1f s%s\n",
				c->cfg.paths[pi], g.kernel_version, g.accel, g.backend,
				(double)g.boot_ns / 1e9,
				strcmp(g.accel, "tcg")
				    ? ""
				    : "; EMULATION-BOUND (TCG): its figures measure qemu's emulator");
	}
}

/* One line of the text table: metric m of path pi. */
static void print_row(const struct nb_compare *c, FILE *out, unsigned ti, unsigned pli, unsigned pi,
		      enum nb_metric m)
{
	const struct nb_cell *cell = &c->cells[ti][pli][pi];
	struct shown v;
	char label[48], mean[24], ci[24], val[64], ratio[48] = "", hop[64] = "", d[24], dci[24],
						   flags[64] = "";

	shown(c, ti, pli, pi, m, &v);
	nb_metric_label(m, label, sizeof(label));
	fmt_val(v.s.mean, m, mean, sizeof(mean));
	if (!isnan(v.s.lo))
		fmt_val((v.s.hi - v.s.lo) / 2, m, ci, sizeof(ci));
	else
		snprintf(ci, sizeof(ci), "?");
	snprintf(val, sizeof(val), "%s ± %s", mean, ci);
	if (pi == c->ref && !isnan(v.ratio.ratio))
		snprintf(ratio, sizeof(ratio), "1 (reference)");
	else if (!isnan(v.ratio.lo))
		snprintf(ratio, sizeof(ratio), "%.3fx [%.3f, %.3f]", v.ratio.ratio, v.ratio.lo, v.ratio.hi);
	else if (!isnan(v.ratio.ratio))
		snprintf(ratio, sizeof(ratio), "%.3fx", v.ratio.ratio);
	if (v.hop) {
		fmt_val(v.delta.delta, m, d, sizeof(d));
		if (!isnan(v.delta.lo))
			fmt_val((v.delta.hi - v.delta.lo) / 2, m, dci, sizeof(dci));
		snprintf(hop, sizeof(hop), "%s%s%s%s", v.delta.delta >= 0 ? "+" : "", d,
			 isnan(v.delta.lo) ? "" : " ± ", isnan(v.delta.lo) ? "" : dci);
	}
	if (v.n_outliers)
		snprintf(flags, sizeof(flags), " (%u outlier%s kept)", v.n_outliers,
			 v.n_outliers == 1 ? "" : "s");
	fprintf(out, "  %-22s %-10s %22s %26s %18s  %u%s%s%s\n", pi == 0 ? label : "", c->cfg.paths[pi],
		cell->n ? val : "failed", ratio, hop, cell->n, cell->failed ? " (some failed)" : "",
		cell->disturbed ? " (disturbed)" : "", flags);
}

/* The verdicts: per test and placement, each path's lead figure against the reference. */
static void print_verdicts(const struct nb_compare *c, FILE *out)
{
	fprintf(out, "\n");
	for (unsigned ti = 0; ti < c->cfg.ntests; ti++)
		for (unsigned pli = 0; pli < nb_compare_rows(c, ti); pli++) {
			char where[64], line[160];
			snprintf(where, sizeof(where), "%s %s", test_name(c, ti),
				 nb_compare_row_placement(c, ti, pli));
			for (unsigned pi = 0; pi < c->cfg.npaths; pi++) {
				struct nb_ratio r;
				if (pi == c->ref)
					continue;
				nb_compare_ratio(c, ti, pli, pi, lead_metric(c, ti), &r);
				verdict(c, &r, pi, lead_metric(c, ti), line, sizeof(line));
				fprintf(out, "  %-26s %s\n", where, line);
			}
		}
}

/* How the rounds ended: their number, the seed, the time, and why they stopped. */
static const char *stop_reason(const struct nb_compare *c, const struct nb_compare_status *st)
{
	if (c->cfg.quit && *c->cfg.quit)
		return "interrupted";
	if (c->cfg.precision_pct > 0 && !st->unmet)
		return "precision";
	if (c->rounds >= c->cfg.max_rounds)
		return "max_rounds";
	if (c->cfg.max_time_ns > 0 && (st->unmet || c->rounds < c->cfg.runs))
		return "max_time";
	return "rounds";
}

static void print_text(const struct nb_compare *c, FILE *out)
{
	struct nb_compare_status st;
	nb_compare_status(c, &st);
	fprintf(out,
		"\nnbench compare: %u paths x %u tests, %.3g s per run, %u rounds in %.0f s (seed %" PRIu64
		"), stopped on %s; %.0f%% intervals\n",
		c->cfg.npaths, c->cfg.ntests, (double)c->cfg.duration_ns / 1e9, c->rounds,
		(double)st.elapsed_ns / 1e9, c->seed, stop_reason(c, &st), c->cfg.ci_level);
	if (c->cfg.precision_pct > 0)
		fprintf(
		    out,
		    "(precision asked: every ratio within ±%g%%, p99 ±%g%%, CPU cost ±%g%%; %u not met)\n",
		    c->cfg.precision_pct, c->cfg.p99_pct, c->cfg.cpu_pct, st.unmet);
	if (c->cfg.npaths > 1)
		print_verdicts(c, out);
	fputc('\n', out);
	print_legend(c, out);
	print_guests(c, out);
	for (unsigned ti = 0; ti < c->cfg.ntests; ti++) {
		bool stream = c->cfg.tests[ti]->kind == NB_TEST_STREAM;
		for (unsigned pli = 0; pli < nb_compare_rows(c, ti); pli++) {
			fprintf(out, "\n%s%s%s\n", test_name(c, ti), stream ? " (unpinned)" : ", ",
				stream ? "" : nb_placement_name(c->cfg.pl[pli]));
			fprintf(out, "  %-22s %-10s %22s %26s %18s  %s\n", "metric", "path", "value ± ci",
				"ratio [interval]", "hop delta", "rounds");
			for (int m = 0; m < NB_M_COUNT; m++)
				for (unsigned pi = 0; applies(c, ti, m) && pi < c->cfg.npaths; pi++)
					print_row(c, out, ti, pli, pi, m);
		}
	}
}

/* --hops: a path's hops (less the probes' cost when it is known: ebpf) beside the difference of the median
 * round trips compare measured without the timestamps (a shared machine's other work lands in the means
 * first; they are given too). */
static void print_hops_vs(struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi,
			  const struct nb_report_hops *h, FILE *out)
{
	const char *par;
	struct nb_hops_vs v;
	if (!nb_compare_hops_vs(c, ti, pli, pi, &par, &v))
		return;
	bool less = isfinite(v.less_ns);
	double hops = less ? v.less_ns : v.capture_ns, apart_ns = fabs(hops - v.p50_ns);
	char raw[64] = "";
	if (less)
		snprintf(raw, sizeof(raw), "; %+.2f us with it", v.capture_ns / 1e3);
	fprintf(out,
		"  %s - %s: the hops add %+.2f us (%s%s%s); the median round trip, %+.2f ± %.2f us (runs "
		"without %s; the mean's %+.2f ± %.2f): %s by %.2f us\n",
		c->cfg.paths[pi], par, hops / 1e3, h->backend, less ? ", less the probes' cost" : "", raw,
		v.p50_ns / 1e3, v.p50_ci_ns / 1e3, strcmp(h->backend, "ebpf") ? "capture" : "probes",
		v.compare_ns / 1e3, v.ci_ns / 1e3,
		apart_ns <= v.p50_ci_ns ? "within the interval, apart" : "outside the interval, apart",
		apart_ns / 1e3);
}

static void print_hops_text(struct nb_compare *c, FILE *out)
{
	FOR_EACH_CELL(c, ti, pli, pi)
	{
		struct nb_report_hops *h = nb_compare_hops(c, ti, pli, pi);
		char title[64];
		if (!h)
			continue;
		snprintf(title, sizeof(title), "%s (%s, %s)", c->cfg.paths[pi], test_name(c, ti),
			 nb_compare_row_placement(c, ti, pli));
		fputc('\n', out);
		nb_report_text_hops(h, title, out);
		print_hops_vs(c, ti, pli, pi, h, out);
	}
}

static void print_skipped(const struct nb_compare *c, FILE *out)
{
	for (unsigned i = 0; i < c->nskipped; i++)
		fprintf(out, "path %s left out: %s\n", c->skipped[i].path, c->skipped[i].why);
}

/* ---- CSV ---- */

/* A CSV number, or nothing. */
static void csv_num(FILE *out, double v, const char *fmt)
{
	fputc(',', out);
	if (isfinite(v))
		fprintf(out, fmt, v);
}

static void print_csv(const struct nb_compare *c, FILE *out)
{
	fprintf(
	    out,
	    "test,placement,path,metric,runs,mean,ci,ratio,ratio_lo,ratio_hi,reference,hop_from,hop_delta,"
	    "hop_lo,hop_hi\n");
	FOR_EACH_CELL(c, ti, pli, pi)
	for (int m = 0; m < NB_M_COUNT; m++) {
		struct shown v;
		if (!applies(c, ti, m))
			continue;
		shown(c, ti, pli, pi, m, &v);
		fprintf(out, "%s,%s,%s,%s,%u", test_name(c, ti), nb_compare_row_placement(c, ti, pli),
			c->cfg.paths[pi], nb_metrics[m].key, c->cells[ti][pli][pi].n);
		csv_num(out, v.s.mean, "%.6g");
		csv_num(out, (v.s.hi - v.s.lo) / 2, "%.6g");
		csv_num(out, v.ratio.ratio, "%.4f");
		csv_num(out, v.ratio.lo, "%.4f");
		csv_num(out, v.ratio.hi, "%.4f");
		fprintf(out, ",%s,%s", ref_name(c), v.hop ? v.hop : "");
		csv_num(out, v.hop ? v.delta.delta : NAN, "%.6g");
		csv_num(out, v.hop ? v.delta.lo : NAN, "%.6g");
		csv_num(out, v.hop ? v.delta.hi : NAN, "%.6g");
		fputc('\n', out);
	}
}

static void print_hops_csv(struct nb_compare *c, FILE *out)
{
	bool header = true;
	FOR_EACH_CELL(c, ti, pli, pi)
	{
		struct nb_report_hops *h = nb_compare_hops(c, ti, pli, pi);
		char label[64];
		if (!h)
			continue;
		if (header)
			fputc('\n', out);
		snprintf(label, sizeof(label), "%s/%s", c->cfg.paths[pi], test_name(c, ti));
		nb_report_write_hops_csv(h, label, out, header);
		header = false;
	}
}

/* ---- JSON ---- */

static void num_or_null(cJSON *o, const char *key, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

/* A ratio's JSON: the paired interval, and beside it what the rounds would give unpaired. */
static void ratio_json(const struct nb_compare *c, cJSON *mo, const struct nb_ratio *r)
{
	cJSON *o = cJSON_AddObjectToObject(mo, "ratio");
	cJSON_AddStringToObject(o, "to", ref_name(c));
	num_or_null(o, "value", r->ratio);
	num_or_null(o, "lo", r->lo);
	num_or_null(o, "hi", r->hi);
	num_or_null(o, "half_width_pct", r->half_pct);
	cJSON_AddStringToObject(o, "method", nb_paired_method_name(r->method));
	cJSON_AddNumberToObject(o, "rounds", r->n);
	num_or_null(o, "unpaired_lo", r->unpaired_lo);
	num_or_null(o, "unpaired_hi", r->unpaired_hi);
	num_or_null(o, "correlation", r->correlation);
}

/* The summary of metric m of path pi: its point and interval, the ratio to the reference, the hop delta. */
static void metric_json(const struct nb_compare *c, cJSON *o, unsigned ti, unsigned pli, unsigned pi,
			enum nb_metric m)
{
	struct shown v;
	cJSON *mo = cJSON_AddObjectToObject(o, nb_metrics[m].key);

	shown(c, ti, pli, pi, m, &v);
	num_or_null(mo, "mean", v.s.mean); /* p50, p90, p99: of the merged histogram */
	num_or_null(mo, "ci", (v.s.hi - v.s.lo) / 2);
	num_or_null(mo, "lo", v.s.lo);
	num_or_null(mo, "hi", v.s.hi);
	cJSON_AddStringToObject(mo, "interval_method", nb_paired_method_name(v.s.method));
	if (!isnan(v.ratio.ratio)) {
		ratio_json(c, mo, &v.ratio);
		unsigned met = c->met_at[ti][pli][pi][m];
		if (nb_compare_target_pct(c, m) >
		    0) { /* when the precision was first reached, and after how long */
			cJSON *r = cJSON_GetObjectItemCaseSensitive(mo, "ratio");
			cJSON_AddNumberToObject(r, "target_pct", nb_compare_target_pct(c, m));
			num_or_null(r, "met_at_round", met ? met : NAN);
			num_or_null(r, "met_at_s", met ? (double)c->round_end_ns[met] / 1e9 : NAN);
		}
		if (!strcmp(ref_name(c), "native"))
			cJSON_AddNumberToObject(mo, "ratio_vs_native", v.ratio.ratio);
	}
	if (v.hop) {
		cJSON *h = cJSON_AddObjectToObject(mo, "hop");
		cJSON_AddStringToObject(h, "from", v.hop);
		num_or_null(h, "delta", v.delta.delta);
		num_or_null(h, "lo", v.delta.lo);
		num_or_null(h, "hi", v.delta.hi);
		cJSON_AddStringToObject(h, "method", nb_paired_method_name(v.delta.method));
		num_or_null(h, "unpaired_lo", v.delta.unpaired_lo);
		num_or_null(h, "unpaired_hi", v.delta.unpaired_hi);
		num_or_null(h, "correlation", v.delta.correlation);
	}
	cJSON *ol = cJSON_AddArrayToObject(mo, "outlier_rounds");
	for (unsigned i = 0; i < v.n_outliers; i++)
		cJSON_AddItemToArray(ol, cJSON_CreateNumber(v.outliers[i]));
}

/* A cell's merged latency distribution, HdrHistogram's axis: 1/(1-p) from 1 to 10^4 (p99.99), four points a
 * decade and p50, as far as its transactions reach (the minimum at p0). */
static void percentiles_json(const struct nb_hist *h, cJSON *o)
{
	cJSON *arr = cJSON_AddArrayToObject(o, "percentiles");
	bool median = false;
	for (int j = 0; j <= 16; j++) {
		double x = pow(10, j / 4.0);
		if (x > 2 && !median) /* p50 too: x = 2 is off the grid */
			x = 2, median = true, j--;
		double p = 100 * (1 - 1 / x);
		if (j > 0 && (double)h->count * (1 - p / 100) < 1)
			break;
		cJSON *pt = cJSON_CreateObject();
		cJSON_AddNumberToObject(pt, "percentile", p);
		cJSON_AddNumberToObject(pt, "ns",
					p > 0 ? (double)nb_hist_percentile(h, p) : (double)h->min_ns);
		cJSON_AddItemToArray(arr, pt);
	}
	cJSON_AddNumberToObject(o, "transactions", (double)h->count);
}

static cJSON *summary_json(const struct nb_compare *c)
{
	cJSON *arr = cJSON_CreateArray();
	FOR_EACH_CELL(c, ti, pli, pi)
	{
		const struct nb_cell *cell = &c->cells[ti][pli][pi];
		const struct nb_hist *h = nb_compare_hist(c, ti, pli, pi);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "test", test_name(c, ti));
		cJSON_AddStringToObject(o, "placement", nb_compare_row_placement(c, ti, pli));
		cJSON_AddStringToObject(o, "path", c->cfg.paths[pi]);
		cJSON_AddNumberToObject(o, "runs", cell->n);
		cJSON_AddNumberToObject(o, "failed", cell->failed);
		cJSON_AddNumberToObject(o, "disturbed", cell->disturbed);
		for (int m = 0; m < NB_M_COUNT; m++)
			if (applies(c, ti, m))
				metric_json(c, o, ti, pli, pi, m);
		if (h && h->count)
			percentiles_json(h, cJSON_AddObjectToObject(o, "latency_merged"));
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

/* "verdicts": each test's lead figure per path against the reference, as the text leads with them. */
static cJSON *verdicts_json(const struct nb_compare *c)
{
	cJSON *arr = cJSON_CreateArray();
	FOR_EACH_CELL(c, ti, pli, pi)
	{
		struct nb_ratio r;
		char line[160];
		enum nb_metric m = lead_metric(c, ti);
		if (pi == c->ref)
			continue;
		nb_compare_ratio(c, ti, pli, pi, m, &r);
		verdict(c, &r, pi, m, line, sizeof(line));
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "test", test_name(c, ti));
		cJSON_AddStringToObject(o, "placement", nb_compare_row_placement(c, ti, pli));
		cJSON_AddStringToObject(o, "path", c->cfg.paths[pi]);
		cJSON_AddStringToObject(o, "metric", nb_metrics[m].key);
		cJSON_AddStringToObject(o, "reference", ref_name(c));
		num_or_null(o, "ratio", r.ratio);
		num_or_null(o, "lo", r.lo);
		num_or_null(o, "hi", r.hi);
		if (isnan(r.lo))
			cJSON_AddNullToObject(o, "differs");
		else
			cJSON_AddBoolToObject(o, "differs", !nb_ratio_holds_one(&r));
		cJSON_AddStringToObject(o, "text", line);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

/* "stop": the rounds, their time, the seed, the targets and why the rounds ended. */
static void stop_json(const struct nb_compare *c, cJSON *j)
{
	struct nb_compare_status st;
	cJSON *o = cJSON_AddObjectToObject(j, "stop");
	nb_compare_status(c, &st);
	cJSON_AddStringToObject(o, "reason", stop_reason(c, &st));
	cJSON_AddNumberToObject(o, "rounds", c->rounds);
	cJSON_AddNumberToObject(o, "elapsed_s", (double)st.elapsed_ns / 1e9);
	cJSON_AddNumberToObject(o, "round_s", (double)st.round_ns / 1e9);
	num_or_null(o, "precision_pct", c->cfg.precision_pct > 0 ? c->cfg.precision_pct : NAN);
	num_or_null(o, "p99_precision_pct", c->cfg.precision_pct > 0 ? c->cfg.p99_pct : NAN);
	num_or_null(o, "cpu_precision_pct", c->cfg.precision_pct > 0 ? c->cfg.cpu_pct : NAN);
	cJSON_AddNumberToObject(o, "stop_level", c->cfg.stop_level);
	num_or_null(o, "max_time_s", c->cfg.max_time_ns > 0 ? (double)c->cfg.max_time_ns / 1e9 : NAN);
	cJSON_AddNumberToObject(o, "unmet", st.unmet);
	cJSON_AddNumberToObject(o, "projected_rounds", st.projected);
}

/* One entry of "hops": the decomposition of a cell, its capture's overhead, its hops against its parent's. */
static cJSON *hops_entry(struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi,
			 const struct nb_report_hops *h)
{
	const char *par;
	struct nb_hops_vs v;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "test", test_name(c, ti));
	cJSON_AddStringToObject(o, "placement", nb_compare_row_placement(c, ti, pli));
	cJSON_AddStringToObject(o, "path", c->cfg.paths[pi]);
	cJSON_AddStringToObject(o, "backend", h->backend);
	cJSON_AddItemToObject(o, "hops", nb_report_hops_json(h));
	cJSON_AddNumberToObject(o, "decomposed", (double)h->decomposed);
	cJSON_AddNumberToObject(o, "rtt_mean_ns", h->rtt_mean_ns);
	cJSON_AddNumberToObject(o, "rtt_mean_without_capture_ns", h->rtt_without_ns);
	cJSON_AddNumberToObject(o, "rtt_mean_with_capture_ns", h->rtt_with_ns);
	cJSON_AddNumberToObject(o, "overhead_ns", h->rtt_with_ns - h->rtt_without_ns);
	cJSON_AddNumberToObject(o, "runs_with", h->runs_with);
	cJSON_AddNumberToObject(o, "hop_sum_ns", nb_hops_sum_ns(h, 0));
	num_or_null(o, "probe_hits_per_txn", h->probe_hits > 0 ? h->probe_hits : NAN);
	if (nb_compare_hops_vs(c, ti, pli, pi, &par, &v)) {
		cJSON *p = cJSON_AddObjectToObject(o, "vs_parent");
		cJSON_AddStringToObject(p, "from", par);
		cJSON_AddNumberToObject(p, "hops_delta_ns", v.capture_ns);
		num_or_null(p, "hops_delta_less_probes_ns", v.less_ns);
		cJSON_AddNumberToObject(p, "rtt_delta_ns", v.compare_ns);
		num_or_null(p, "rtt_delta_ci_ns", v.ci_ns);
		cJSON_AddNumberToObject(p, "rtt_p50_delta_ns", v.p50_ns);
		num_or_null(p, "rtt_p50_delta_ci_ns", v.p50_ci_ns);
	}
	return o;
}

static cJSON *hops_json(struct nb_compare *c)
{
	cJSON *arr = cJSON_CreateArray();
	FOR_EACH_CELL(c, ti, pli, pi)
	{
		struct nb_report_hops *h = nb_compare_hops(c, ti, pli, pi);
		if (h)
			cJSON_AddItemToArray(arr, hops_entry(c, ti, pli, pi, h));
	}
	return arr;
}

/* What ran the server end of each VM path. */
static void guests_json(const struct nb_compare *c, cJSON *st)
{
	cJSON *gu = cJSON_AddObjectToObject(st, "guests");
	for (unsigned i = 0; gu && i < c->cfg.npaths; i++) {
		struct nb_topo_guest g;
		if (!guest_of(c, i, &g))
			continue;
		cJSON *go = cJSON_AddObjectToObject(gu, c->cfg.paths[i]);
		cJSON_AddStringToObject(go, "kernel_version", g.kernel_version);
		cJSON_AddStringToObject(go, "accel", g.accel);
		cJSON_AddStringToObject(go, "accel_why", g.accel_why);
		cJSON_AddBoolToObject(go, "emulation_bound", !strcmp(g.accel, "tcg"));
		cJSON_AddStringToObject(go, "backend", g.backend);
		cJSON_AddNumberToObject(go, "boot_ns", (double)g.boot_ns);
	}
}

static void add_strings(cJSON *o, const char *key, const char *const *v, unsigned n)
{
	cJSON *a = cJSON_AddArrayToObject(o, key);
	for (unsigned i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

/* "start": what was asked and what could not be built. */
static void start_json(const struct cli_compare *cc, cJSON *j)
{
	const struct nb_compare *c = cc->c;
	const char *tests[NB_COMPARE_MAX_TESTS], *pls[2];
	cJSON *st = cJSON_AddObjectToObject(j, "start");
	for (unsigned i = 0; i < c->cfg.ntests; i++)
		tests[i] = test_name(c, i);
	for (unsigned i = 0; i < c->cfg.npl; i++)
		pls[i] = nb_placement_name(c->cfg.pl[i]);
	add_strings(st, "paths", c->cfg.paths, c->cfg.npaths);
	add_strings(st, "tests", tests, c->cfg.ntests);
	add_strings(st, "placements", pls, c->cfg.npl);
	cJSON_AddNumberToObject(st, "duration_s", (double)c->cfg.duration_ns / 1e9);
	cJSON_AddNumberToObject(st, "ci_level", c->cfg.ci_level);
	cJSON_AddStringToObject(st, "reference", ref_name(c));
	char seed[24];
	snprintf(seed, sizeof(seed), "%" PRIu64, c->seed); /* a string: JSON numbers lose 64-bit integers */
	cJSON_AddStringToObject(st, "seed", seed);
	cJSON *sk = cJSON_AddArrayToObject(st, "skipped_paths");
	for (unsigned i = 0; i < c->nskipped; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "path", c->skipped[i].path);
		cJSON_AddStringToObject(o, "reason", c->skipped[i].why);
		cJSON_AddItemToArray(sk, o);
	}
	guests_json(c, st);
	cJSON_AddItemReferenceToObject(st, "path_details", cc->path_details);
}

cJSON *cli_compare_doc(const struct cli_compare *cc)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "schema_version", 1);
	cJSON_AddStringToObject(j, "command", "compare");
	start_json(cc, j);
	cJSON_AddItemReferenceToObject(j, "runs", cc->runs_json);
	stop_json(cc->c, j);
	cJSON_AddItemToObject(j, "verdicts", verdicts_json(cc->c));
	cJSON_AddItemToObject(j, "summary", summary_json(cc->c));
	if (cc->c->cfg.hops)
		cJSON_AddItemToObject(j, "hops", hops_json(cc->c));
	return j;
}

void cli_compare_write(const struct cli_compare *cc, enum cli_format f, FILE *out)
{
	if (f == CLI_JSON) {
		cli_json_write(cli_compare_doc(cc), out);
	} else if (f == CLI_CSV) {
		print_csv(cc->c, out);
		if (cc->c->cfg.hops)
			print_hops_csv(cc->c, out);
	} else {
		print_text(cc->c, out);
		if (cc->c->cfg.hops)
			print_hops_text(cc->c, out);
		print_skipped(cc->c, out);
	}
}
