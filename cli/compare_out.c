/* SPDX-License-Identifier: MIT */
/*
 * `nbench compare`'s output (compare_out.h): per test, placement and path each figure's mean with its
 * interval, the ratio to native and the hop delta from the path it extends, as text, CSV or JSON (with every
 * run and each path's details); --hops' waterfalls beside them. The numbers are bench/compare.c's cells.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare_out.h"
#include "nbench/guest.h"
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

/* What a table shows of figure m in cell (ti, pli, pi): the mean with its interval, the ratio to native's,
 * the delta from the parent's (hop NULL when there is none). */
struct shown {
	struct nb_stat s;
	double ratio;
	const char *hop;
	double delta;
};

static struct shown shown(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi,
			  enum nb_metric m)
{
	const struct nb_cell *parent;
	double level = c->cfg.ci_level;
	struct shown v = {.s = nb_cell_stat(&c->cells[ti][pli][pi], m, level)};
	v.ratio = nb_cell_ratio(nb_compare_native(c, ti, pli), v.s.mean, m, level);
	v.hop = nb_compare_parent(c, ti, pli, pi, &parent);
	if (!v.hop || !nb_cell_delta(parent, v.s.mean, m, level, &v.delta))
		v.hop = NULL;
	return v;
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
static void print_legend(FILE *out)
{
	const char *sep = "";

	fprintf(out, "(ratio = path / native; hop = path - the path it extends: ");
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
	struct shown v = shown(c, ti, pli, pi, m);
	char label[48], mean[24], ci[24], val[64], ratio[16] = "", hop[32] = "", d[24];

	nb_metric_label(m, label, sizeof(label));
	fmt_val(v.s.mean, m, mean, sizeof(mean));
	if (isfinite(v.s.ci))
		fmt_val(v.s.ci, m, ci, sizeof(ci));
	else
		snprintf(ci, sizeof(ci), "?");
	snprintf(val, sizeof(val), "%s ± %s", mean, ci);
	if (!isnan(v.ratio))
		snprintf(ratio, sizeof(ratio), "%.2fx", v.ratio);
	if (v.hop) {
		fmt_val(v.delta, m, d, sizeof(d));
		snprintf(hop, sizeof(hop), "%s%s", v.delta >= 0 ? "+" : "", d);
	}
	fprintf(out, "  %-24s %-10s %22s %8s %14s  %u%s%s\n", pi == 0 ? label : "", c->cfg.paths[pi],
		cell->n ? val : "failed", ratio, hop, cell->n, cell->failed ? " (some failed)" : "",
		cell->disturbed ? " (disturbed)" : "");
}

static void print_text(const struct nb_compare *c, FILE *out)
{
	fprintf(out,
		"\nnbench compare: %u paths x %u tests, %.0f s per run, mean ± %.0f%% confidence interval\n",
		c->cfg.npaths, c->cfg.ntests, (double)c->cfg.duration_ns / 1e9, c->cfg.ci_level);
	print_legend(out);
	print_guests(c, out);
	for (unsigned ti = 0; ti < c->cfg.ntests; ti++) {
		bool stream = c->cfg.tests[ti]->kind == NB_TEST_STREAM;
		for (unsigned pli = 0; pli < nb_compare_rows(c, ti); pli++) {
			fprintf(out, "\n%s%s%s\n", test_name(c, ti), stream ? " (unpinned)" : ", ",
				stream ? "" : nb_placement_name(c->cfg.pl[pli]));
			fprintf(out, "  %-24s %-10s %22s %8s %14s  %s\n", "metric", "path", "mean ± ci",
				"ratio", "hop delta", "runs");
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

static void print_csv(const struct nb_compare *c, FILE *out)
{
	fprintf(out, "test,placement,path,metric,runs,mean,ci,ratio_vs_native\n");
	FOR_EACH_CELL(c, ti, pli, pi)
	for (int m = 0; m < NB_M_COUNT; m++) {
		if (!applies(c, ti, m))
			continue;
		struct shown v = shown(c, ti, pli, pi, m);
		fprintf(out, "%s,%s,%s,%s,%u,%.6g,", test_name(c, ti), nb_compare_row_placement(c, ti, pli),
			c->cfg.paths[pi], nb_metrics[m].key, c->cells[ti][pli][pi].n, v.s.mean);
		if (isfinite(v.s.ci))
			fprintf(out, "%.6g", v.s.ci);
		fputc(',', out);
		if (isfinite(v.ratio))
			fprintf(out, "%.4f", v.ratio);
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

/* The summary of metric m of path pi: mean, ci, ratio_vs_native, hop. */
static void metric_json(const struct nb_compare *c, cJSON *o, unsigned ti, unsigned pli, unsigned pi,
			enum nb_metric m)
{
	struct shown v = shown(c, ti, pli, pi, m);
	cJSON *mo = cJSON_AddObjectToObject(o, nb_metrics[m].key);

	cJSON_AddNumberToObject(mo, "mean", v.s.mean);
	num_or_null(mo, "ci", v.s.ci);
	if (!isnan(v.ratio))
		cJSON_AddNumberToObject(mo, "ratio_vs_native", v.ratio);
	if (v.hop) {
		cJSON *h = cJSON_AddObjectToObject(mo, "hop");
		cJSON_AddStringToObject(h, "from", v.hop);
		cJSON_AddNumberToObject(h, "delta", v.delta);
	}
}

static cJSON *summary_json(const struct nb_compare *c)
{
	cJSON *arr = cJSON_CreateArray();
	FOR_EACH_CELL(c, ti, pli, pi)
	{
		const struct nb_cell *cell = &c->cells[ti][pli][pi];
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
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
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
