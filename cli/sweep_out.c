/* SPDX-License-Identifier: MIT */
/*
 * `nbench sweep`'s output (sweep_out.h): each combination's figures (mean, interval, ratio to the first, the
 * knobs the driver refused) as text, CSV or JSON. The numbers are bench/sweep.c's cells.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nbench/metric.h"
#include "sweep_out.h"

static bool applies(const struct nb_sweep *s, enum nb_metric m)
{
	return nb_metric_applies(m, s->cfg.test.kind);
}

static const char *kind_name(const struct nb_sweep *s)
{
	return s->cfg.test.kind == NB_TEST_STREAM ? "stream" : s->cfg.test.kind == NB_TEST_RR ? "rr" : "crr";
}

static void print_text(const struct nb_sweep *s, FILE *out)
{
	fprintf(out,
		"\nnbench sweep: %s on %u interface%s, %u combination%s, mean ± 95%% confidence interval\n",
		kind_name(s), s->nifs, s->nifs == 1 ? "" : "s", s->ncombos, s->ncombos == 1 ? "" : "s");
	fprintf(out, "(interfaces:");
	for (unsigned i = 0; i < s->nifs; i++)
		fprintf(out, " %s%s%s", s->ifs[i].netns, *s->ifs[i].netns ? ":" : "", s->ifs[i].ifname);
	fprintf(out, "; ratio = combination / the first)\n");
	for (unsigned ci = 0; ci < s->ncombos; ci++) {
		const struct nb_sweep_combo *co = &s->combos[ci];

		fprintf(out, "\n%s  (%u runs%s)\n", co->label, co->cell.n,
			co->cell.failed ? ", some failed" : "");
		if (*co->refused)
			fprintf(out, "  %s\n", co->refused);
		for (int m = 0; m < NB_M_COUNT; m++) {
			char lbl[48];
			struct nb_stat st = nb_cell_stat(&co->cell, m, 95);
			struct nb_ratio r;
			double k = nb_metrics[m].scale;
			nb_sweep_ratio(s, ci, m, &r);

			if (!applies(s, m))
				continue;
			if (!co->cell.n) {
				fprintf(out, "  %-24s failed\n", nb_metric_label(m, lbl, sizeof(lbl)));
				continue;
			}
			fprintf(out, "  %-24s %12.4g ± %-10.3g", nb_metric_label(m, lbl, sizeof(lbl)),
				st.mean * k, st.ci * k);
			if (!isnan(r.ratio))
				fprintf(out, " %6.3fx", r.ratio);
			if (ci && !isnan(r.lo))
				fprintf(out, " [%.3f, %.3f]%s", r.lo, r.hi,
					nb_ratio_holds_one(&r) ? ", no difference at 95%" : "");
			fputc('\n', out);
		}
	}
}

static void print_csv(const struct nb_sweep *s, FILE *out)
{
	fprintf(out, "combination,metric,runs,mean,ci,ratio,ratio_lo,ratio_hi,refused\n");
	for (unsigned ci = 0; ci < s->ncombos; ci++)
		for (int m = 0; m < NB_M_COUNT; m++) {
			const struct nb_sweep_combo *co = &s->combos[ci];
			struct nb_stat st = nb_cell_stat(&co->cell, m, 95);
			struct nb_ratio r;

			if (!applies(s, m))
				continue;
			nb_sweep_ratio(s, ci, m, &r);
			fprintf(out, "%s,%s,%u,", co->label, nb_metrics[m].key, co->cell.n);
			if (co->cell.n)
				fprintf(out, "%.6g", st.mean);
			fputc(',', out);
			if (isfinite(st.ci))
				fprintf(out, "%.6g", st.ci);
			fputc(',', out);
			if (!isnan(r.ratio))
				fprintf(out, "%.4f", r.ratio);
			fputc(',', out);
			if (!isnan(r.lo))
				fprintf(out, "%.4f,%.4f", r.lo, r.hi);
			else
				fputc(',', out);
			fprintf(out, ",\"%s\"\n", co->refused);
		}
}

static void num_or_null(cJSON *o, const char *key, double v, bool valid)
{
	if (valid)
		cJSON_AddNumberToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

/* A combination's refusals ("a; b") as an array. */
static void refused_json(const struct nb_sweep_combo *co, cJSON *o)
{
	cJSON *ref = cJSON_AddArrayToObject(o, "refused");
	for (const char *p = co->refused; *p;) {
		const char *e = strstr(p, "; ");
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char one[160];

		snprintf(one, sizeof(one), "%.*s", (int)len, p);
		cJSON_AddItemToArray(ref, cJSON_CreateString(one));
		p += len + (e ? 2 : 0);
	}
}

static cJSON *combo_json(const struct nb_sweep *s, unsigned ci)
{
	const struct nb_sweep_combo *co = &s->combos[ci];
	cJSON *o = cJSON_CreateObject(), *set = cJSON_AddObjectToObject(o, "set"), *ms;

	for (unsigned k = 0; k < s->cfg.nknobs; k++)
		cJSON_AddStringToObject(set, s->cfg.knobs[k].name, s->cfg.knobs[k].values[co->vi[k]]);
	cJSON_AddStringToObject(o, "label", co->label);
	cJSON_AddNumberToObject(o, "runs", co->cell.n);
	cJSON_AddNumberToObject(o, "failed", co->cell.failed);
	refused_json(co, o);
	ms = cJSON_AddObjectToObject(o, "metrics");
	for (int m = 0; m < NB_M_COUNT; m++) {
		struct nb_stat st = nb_cell_stat(&co->cell, m, 95);
		struct nb_ratio r;

		if (!applies(s, m))
			continue;
		nb_sweep_ratio(s, ci, m, &r);
		cJSON *mo = cJSON_AddObjectToObject(ms, nb_metrics[m].key);
		num_or_null(mo, "mean", st.mean, co->cell.n);
		num_or_null(mo, "ci", st.ci, isfinite(st.ci));
		num_or_null(mo, "ratio", r.ratio, !isnan(r.ratio));
		/* paired by round against the first combination (analyze/paired.c, as compare's ratios) */
		num_or_null(mo, "ratio_lo", r.lo, ci && !isnan(r.lo));
		num_or_null(mo, "ratio_hi", r.hi, ci && !isnan(r.hi));
		cJSON_AddStringToObject(mo, "ratio_method", ci ? nb_paired_method_name(r.method) : "none");
		cJSON *vals = cJSON_AddArrayToObject(mo, "values");
		for (unsigned i = 0; i < co->cell.n; i++)
			cJSON_AddItemToArray(vals, cJSON_CreateNumber(co->cell.v[m][i]));
	}
	return o;
}

cJSON *cli_sweep_doc(const struct nb_sweep *s)
{
	cJSON *j = cJSON_CreateObject(), *arr;

	cJSON_AddNumberToObject(j, "schema_version", 1);
	cJSON_AddStringToObject(j, "kind", "sweep");
	cJSON_AddStringToObject(j, "test", kind_name(s));
	cJSON_AddStringToObject(j, "path", s->cfg.where.path ? s->cfg.where.path : s->cfg.where.topo);
	cJSON_AddNumberToObject(j, "runs", s->cfg.runs);
	cJSON_AddNumberToObject(j, "ci_level", 95);
	arr = cJSON_AddArrayToObject(j, "interfaces");
	for (unsigned i = 0; i < s->nifs; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "netns", s->ifs[i].netns);
		cJSON_AddStringToObject(o, "ifname", s->ifs[i].ifname);
		cJSON_AddItemToArray(arr, o);
	}
	arr = cJSON_AddArrayToObject(j, "knobs");
	for (unsigned k = 0; k < s->cfg.nknobs; k++) {
		cJSON *o = cJSON_CreateObject(), *v = cJSON_AddArrayToObject(o, "values");

		cJSON_AddStringToObject(o, "name", s->cfg.knobs[k].name);
		for (unsigned i = 0; i < s->cfg.knobs[k].nvalues; i++)
			cJSON_AddItemToArray(v, cJSON_CreateString(s->cfg.knobs[k].values[i]));
		cJSON_AddItemToArray(arr, o);
	}
	/* where it ran, as a single run's report says it (null when no run completed) */
	cJSON_AddItemToObject(j, "context",
			      s->context ? cJSON_Duplicate(s->context, true) : cJSON_CreateNull());
	arr = cJSON_AddArrayToObject(j, "combinations");
	for (unsigned ci = 0; ci < s->ncombos; ci++)
		cJSON_AddItemToArray(arr, combo_json(s, ci));
	return j;
}

void cli_sweep_write(const struct nb_sweep *s, enum cli_format f, FILE *out)
{
	if (f == CLI_JSON) {
		cli_json_write(cli_sweep_doc(s), out);
	} else if (f == CLI_CSV) {
		print_csv(s, out);
	} else {
		print_text(s, out);
	}
}
