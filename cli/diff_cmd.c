/* SPDX-License-Identifier: MIT */
/*
 * `nbench diff A B`: each metric's change from A to B with its interval, whether it is significant and
 * whether it is better or worse; and --baseline FILE on the tests and compare, which fails a run (exit 1)
 * whose figures are worse than FILE's by more than --tolerance beyond their interval. The figures and the
 * statistics are analyze/'s (reportset.c, change.c); this file reads the command line and prints.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "nbench/change.h"
#include "nbench/reportset.h"
#include "nbench/report.h"
#include "nbench/units.h"

#define LEVEL	    95 /* the confidence level of every interval here */
#define MAX_CONTEXT 20 /* context lines printed */
#define DEFAULT_TOL 5.0

struct diff {
	const char *spec_a, *spec_b;
	struct nb_reportset *a, *b;
	double tol_pct; /* NAN: no gate */
	enum cli_format format;
};

/* --tolerance PCT: "5%" or "5" into *ret (percent, 0..1000). 0 or -EINVAL. */
static int parse_tolerance(const char *s, double *ret)
{
	double v;
	if (nb_parse_pct(s, &v) < 0 || !(v >= 0 && v <= 1000))
		return -EINVAL;
	*ret = v;
	return 0;
}

static const char *dir_name(int dir)
{
	return dir < 0 ? "lower" : dir > 0 ? "higher" : NULL;
}

static void significance(const struct nb_change *c, char *buf, size_t len)
{
	if (c->test == NB_STAT_UNTESTED)
		snprintf(buf, len, "untested: single runs");
	else if (c->test == NB_STAT_WELCH)
		snprintf(buf, len, "%s (Welch t-test)", c->significant ? "yes" : "no");
	else /* the single run against the repeated side's interval: it is the reason either way */
		snprintf(buf, len, "%s (%s %s's interval)", c->significant ? "yes" : "no",
			 c->significant ? "outside" : "inside", c->a.n >= 2 ? "A" : "B");
}

/* The change's interval: "[-3.1%, +4.2%]" (a ratio's is not symmetric), "none" when untested. */
static void interval(const struct nb_change *c, char *buf, size_t len)
{
	if (c->test == NB_STAT_UNTESTED)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "[%+.1f%%, %+.1f%%]", c->lo_pct, c->hi_pct);
}

/* A figure's value in the unit every report shows it in: latency (_ns) in microseconds, rates (_bps) in
 * Gbit/s; the rest as they are. */
static void human(const char *name, double v, char *buf, size_t len)
{
	size_t n = strlen(name);
	if (n > 3 && !strcmp(name + n - 3, "_ns"))
		snprintf(buf, len, "%.2f us", v / 1e3);
	else if (n > 4 && !strcmp(name + n - 4, "_bps"))
		snprintf(buf, len, "%.3f Gbit/s", v / 1e9);
	else
		snprintf(buf, len, "%.6g", v);
}

/* The context keys whose values differ between the sides ("client.kernel 6.1 -> 6.18"): into a JSON array
 * (arg), or printed (the first MAX_CONTEXT). */
struct context_out {
	cJSON *json;
	FILE *out;
	unsigned shown;
};

static void context_line(void *arg, const char *key, const char *aval, const char *bval)
{
	struct context_out *c = arg;
	if (c->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "key", key);
		cJSON_AddStringToObject(o, "a", aval);
		if (bval)
			cJSON_AddStringToObject(o, "b", bval);
		else
			cJSON_AddNullToObject(o, "b");
		cJSON_AddItemToArray(c->json, o);
	} else if (c->out && c->shown < MAX_CONTEXT) {
		fprintf(c->out, "  %s: %s -> %s\n", key, aval, bval ? bval : "(absent)");
	}
	c->shown++;
}

static unsigned context_diffs(const struct nb_reportset *a, const struct nb_reportset *b, cJSON *json,
			      FILE *out)
{
	struct context_out c = {.json = json, .out = out};
	return nb_reportset_context_diff(a, b, context_line, &c);
}

/* Warns on stderr, before any figure is compared, when a and b ran on hosts or NICs that differ (kernel,
 * driver, firmware, NIC identity, the knobs swept): a change may be theirs, not the code's. The number of
 * such keys. */
static unsigned warn_host_nic(const char *cmd, const char *a_name, const char *b_name,
			      const struct nb_reportset *a, const struct nb_reportset *b)
{
	char list[640];
	unsigned n = nb_reportset_host_nic_diffs(a, b, list, sizeof(list), 4);
	if (n)
		fprintf(stderr,
			"nbench %s: warning: %s and %s differ in their hosts or NICs, which alone can move a "
			"figure: %s%s\n",
			cmd, a_name, b_name, list,
			n > 4 ? "; ... (every difference: diff --json's context)" : "");
	return n;
}

static void num_or_null(cJSON *o, const char *key, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

static cJSON *side_json(const struct nb_stat *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "runs", s->n);
	num_or_null(o, "mean", s->mean);
	num_or_null(o, "ci", s->ci);
	return o;
}

static cJSON *metric_json(const struct nb_series *m, const struct nb_change *c)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "metric", m->name);
	if (dir_name(m->dir))
		cJSON_AddStringToObject(o, "better", dir_name(m->dir));
	else
		cJSON_AddNullToObject(o, "better");
	cJSON_AddItemToObject(o, "a", side_json(&c->a));
	cJSON_AddItemToObject(o, "b", side_json(&c->b));
	num_or_null(o, "change_pct", c->delta_pct);
	num_or_null(o, "change_ci_pct", c->ci_pct);
	num_or_null(o, "change_lo_pct", c->lo_pct);
	num_or_null(o, "change_hi_pct", c->hi_pct);
	cJSON_AddStringToObject(o, "scale", c->on_logs ? "ratio" : "difference");
	cJSON_AddStringToObject(o, "test", nb_stat_test_name(c->test));
	if (c->test == NB_STAT_UNTESTED)
		cJSON_AddNullToObject(o, "significant");
	else
		cJSON_AddBoolToObject(o, "significant", c->significant);
	cJSON_AddStringToObject(o, "verdict", nb_change_verdict(c, m->dir));
	cJSON_AddBoolToObject(o, "regression", c->regression);
	return o;
}

static void metric_text(const struct nb_series *m, const struct nb_change *c, FILE *out)
{
	char sig[48], ci[40], va[32], vb[32];
	significance(c, sig, sizeof(sig));
	interval(c, ci, sizeof(ci));
	human(m->name, c->a.mean, va, sizeof(va));
	human(m->name, c->b.mean, vb, sizeof(vb));
	fprintf(out, "%-44s %14s %14s %+9.1f%% %18s  %-30s %s%s\n", m->name, va, vb, c->delta_pct, ci, sig,
		nb_change_verdict(c, m->dir), c->regression ? "  REGRESSION" : "");
}

/* A CSV field: the number, or empty when there is none (no interval). */
static const char *csv_num(double v, char *buf, size_t len)
{
	if (isfinite(v))
		snprintf(buf, len, "%.17g", v);
	else
		buf[0] = 0;
	return buf;
}

static void metric_csv(const struct nb_series *m, const struct nb_change *c, FILE *out)
{
	char f[6][32];
	fprintf(out, "%s,%s,%u,%s,%s,%u,%s,%s,%s,%s,%s,%s,%s,%s\n", m->name,
		dir_name(m->dir) ? dir_name(m->dir) : "", c->a.n, csv_num(c->a.mean, f[0], 32),
		csv_num(c->a.ci, f[1], 32), c->b.n, csv_num(c->b.mean, f[2], 32), csv_num(c->b.ci, f[3], 32),
		csv_num(c->delta_pct, f[4], 32), csv_num(c->ci_pct, f[5], 32), nb_stat_test_name(c->test),
		c->test == NB_STAT_UNTESTED ? ""
		: c->significant	    ? "true"
					    : "false",
		nb_change_verdict(c, m->dir), c->regression ? "true" : "false");
}

/* One line on stderr for a regression: the gate's message. */
static void regression_line(const char *cmd, const char *against, double tol, const struct nb_series *m,
			    const struct nb_change *c)
{
	char ci[24];
	interval(c, ci, sizeof(ci));
	fprintf(
	    stderr,
	    "nbench %s: regression: %s is %.1f%% worse than %s (%.6g -> %.6g; tolerance %g%%, interval %s)\n",
	    cmd, m->name, fabs(c->delta_pct), against, c->a.mean, c->b.mean, tol, ci);
}

/* Where each change goes: a JSON array, or a text or CSV line; and the regressions, named on stderr. */
struct change_out {
	const char *cmd, *against;
	double tol_pct;
	enum cli_format fmt;
	FILE *out; /* NULL: nothing printed but the regressions */
	cJSON *arr;
};

static void change_line(void *arg, const struct nb_series *m, const struct nb_change *c)
{
	struct change_out *o = arg;
	if (o->arr)
		cJSON_AddItemToArray(o->arr, metric_json(m, c));
	else if (o->out && o->fmt == CLI_CSV)
		metric_csv(m, c, o->out);
	else if (o->out)
		metric_text(m, c, o->out);
	if (c->regression)
		regression_line(o->cmd, o->against, o->tol_pct, m, c);
}

/* Every metric of a with its change in b: printed in fmt (out NULL: nothing printed); the regressions
 * against tol_pct (NAN: none) named on stderr. Returns how many metrics regressed. */
static unsigned compare_sets(const char *cmd, const char *against, const struct nb_reportset *a,
			     const struct nb_reportset *b, double tol_pct, enum cli_format fmt, FILE *out,
			     cJSON *json)
{
	struct change_out o = {cmd, against, tol_pct,
			       fmt, out,     json ? cJSON_AddArrayToObject(json, "metrics") : NULL};
	return nb_change_each(a, b, LEVEL, isnan(tol_pct) ? INFINITY : tol_pct, change_line, &o);
}

/* The metrics one side has and the other does not. */
static void only_in(const struct nb_reportset *s, const struct nb_reportset *other, const char *side,
		    cJSON *json, FILE *out)
{
	cJSON *arr = json ? cJSON_AddArrayToObject(json, side[0] == 'A' ? "only_in_a" : "only_in_b") : NULL;
	for (unsigned i = 0; i < s->n; i++)
		if (!nb_reportset_find(other, s->m[i].name)) {
			if (arr)
				cJSON_AddItemToArray(arr, cJSON_CreateString(s->m[i].name));
			else if (out)
				fprintf(out, "only in %s: %s\n", side, s->m[i].name);
		}
}

static const char *runs_note(const struct nb_reportset *s)
{
	unsigned most = 0;
	for (unsigned i = 0; i < s->n; i++)
		most = s->m[i].n > most ? s->m[i].n : most;
	return most > 1 ? "repeated runs" : "one run";
}

static void header_text(const struct diff *d, FILE *out)
{
	fprintf(out, "A: %s (%s, %u report%s, %s)\nB: %s (%s, %u report%s, %s)\n", d->spec_a, d->a->kind,
		d->a->docs, d->a->docs == 1 ? "" : "s", runs_note(d->a), d->spec_b, d->b->kind, d->b->docs,
		d->b->docs == 1 ? "" : "s", runs_note(d->b));
	fprintf(out,
		"changes are B against A: the ratio of geometric means, its %d%% interval from the logs "
		"(Welch's\n"
		"t-test when both sides have repeated runs, the single run against the other's interval when "
		"one\n"
		"side has; none between single runs); latency in us, goodput in Gbit/s\n",
		LEVEL);
	unsigned n = context_diffs(d->a, d->b, NULL, NULL);
	if (n) {
		fprintf(out, "context that differs (shown, not refused):\n");
		context_diffs(d->a, d->b, NULL, out);
		if (n > MAX_CONTEXT)
			fprintf(out, "  ... and %u more (--json lists them all)\n", n - MAX_CONTEXT);
	}
	fprintf(out, "\n%-44s %14s %14s %10s %18s  %-30s %s\n", "metric", "A", "B", "change", "interval",
		"significant", "verdict");
}

static cJSON *side_doc(const char *spec, const struct nb_reportset *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "reports", spec);
	cJSON_AddStringToObject(o, "kind", s->kind);
	cJSON_AddNumberToObject(o, "files", s->docs);
	return o;
}

static unsigned diff_print(const struct diff *d)
{
	unsigned reg;
	if (d->format == CLI_JSON) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "command", "diff");
		cJSON_AddItemToObject(j, "a", side_doc(d->spec_a, d->a));
		cJSON_AddItemToObject(j, "b", side_doc(d->spec_b, d->b));
		cJSON_AddNumberToObject(j, "ci_level", LEVEL);
		num_or_null(j, "tolerance_pct", d->tol_pct);
		context_diffs(d->a, d->b, cJSON_AddArrayToObject(j, "context"), NULL);
		cJSON_AddBoolToObject(j, "hosts_or_nics_differ",
				      nb_reportset_host_nic_diffs(d->a, d->b, NULL, 0, 0) > 0);
		reg = compare_sets("diff", "A", d->a, d->b, d->tol_pct, CLI_JSON, stdout, j);
		only_in(d->a, d->b, "A", j, NULL);
		only_in(d->b, d->a, "B", j, NULL);
		cli_json_write(j, stdout);
		return reg;
	}
	if (d->format == CLI_CSV) {
		printf("metric,better,a_runs,a_mean,a_ci,b_runs,b_mean,b_ci,change_pct,change_ci_pct,test,"
		       "significant,"
		       "verdict,regression\n");
		return compare_sets("diff", "A", d->a, d->b, d->tol_pct, CLI_CSV, stdout, NULL);
	}
	header_text(d, stdout);
	reg = compare_sets("diff", "A", d->a, d->b, d->tol_pct, CLI_TEXT, stdout, NULL);
	only_in(d->a, d->b, "A", NULL, stdout);
	only_in(d->b, d->a, "B", NULL, stdout);
	return reg;
}

/* The command line into d: 0, 1 after --help, or 2 after a one-line error. */
static int diff_parse(struct diff *d, int argc, char **argv)
{
	static const struct cli_opt own[] = {
	    {"tolerance", 0, "PCT", CLI_C_DIFF, 0, CLI_OT_ARG, CLI_FIELD(struct cli_test, tolerance),
	     .help = "exit 1 when a metric is worse than in A by more than PCT beyond its\ninterval"},
	};
	static const struct cli_cmd cmd = {
	    .name = "diff",
	    .bit = CLI_C_DIFF,
	    .kind = -1,
	    .own = own,
	    .n_own = 1,
	    .usage = "diff A B [--tolerance PCT] [--json|--csv]",
	    .about =
		"Each metric's change from A to B (any nbench --json report: a single run, compare or "
		"sweep),\nwith its " CLI_STR(
		    LEVEL) "% interval, whether it is significant, and better or "
			   "worse by the metric's\ndirection. A and B: a report, REPORT1,REPORT2,... "
			   "(repeated runs: an "
			   "interval and Welch's\nt-test), or a directory of *.json reports. Reports of "
			   "different tests "
			   "(kind, protocol,\nsizes...) are refused; host, kernel, NIC and path differences "
			   "are shown. A "
			   "change is\nthe ratio B/A of geometric means with its interval from the logs (as "
			   "compare's "
			   "ratios), or the\ndifference of means where a side has a 0. Latency shows in us.",
	    .args = true};
	struct cli_test t; /* --tolerance, --json, --csv */
	int first, rc;

	cli_test_init(&t);
	if ((rc = cli_parse(&cmd, argc, argv, &t, &t, &first)))
		return rc;
	if (t.tolerance && parse_tolerance(t.tolerance, &d->tol_pct))
		return cli_usage_error("diff", "--tolerance: '%s' is not a percentage from 0 to 1000",
				       t.tolerance);
	if (argc - first > 2)
		return cli_usage_error("diff", "unexpected argument '%s'", argv[first + 2]);
	if (argc - first < 2)
		return cli_usage_error("diff", "needs two reports: nbench diff A.json B.json");
	d->format = t.format;
	d->spec_a = argv[first];
	d->spec_b = argv[first + 1];
	return 0;
}

int cmd_diff(int argc, char **argv)
{
	struct diff d = {.tol_pct = NAN};
	char err[512];
	int rc = diff_parse(&d, argc, argv);

	if (rc)
		return rc == 1 ? 0 : rc;
	d.a = calloc(1, sizeof(*d.a));
	d.b = calloc(1, sizeof(*d.b));
	if (!d.a || !d.b)
		rc = 1;
	else if (nb_reportset_load(d.a, d.spec_a, err, sizeof(err)) ||
		 nb_reportset_load(d.b, d.spec_b, err, sizeof(err)) ||
		 nb_reportset_same_test(d.a, d.b, err, sizeof(err)))
		rc = cli_usage_error("diff", "%s", err);
	else {
		warn_host_nic("diff", "A", "B", d.a, d.b);
		rc = diff_print(&d) ? 1 : 0;
	}
	free(d.a);
	free(d.b);
	return rc;
}

/* ---- --baseline FILE --tolerance PCT on the tests and compare ---- */

int cli_baseline_ready(const char *cmd, const char *file, const char *tolerance, double *ret_tol)
{
	char err[512];
	*ret_tol = DEFAULT_TOL;
	if (tolerance && !file)
		return cli_usage_error(cmd, "--tolerance goes with --baseline FILE");
	if (tolerance && parse_tolerance(tolerance, ret_tol))
		return cli_usage_error(cmd, "--tolerance: '%s' is not a percentage from 0 to 1000",
				       tolerance);
	if (!file)
		return 0;
	struct nb_reportset *s = calloc(1, sizeof(*s));
	int r = s ? nb_reportset_load(s, file, err, sizeof(err)) : -ENOMEM;
	free(s);
	return r ? cli_usage_error(cmd, "--baseline: %s", r == -ENOMEM ? strerror(ENOMEM) : err) : 0;
}

int cli_baseline_check(const char *cmd, const char *file, double tol_pct, const cJSON *doc, char *note,
		       size_t notelen)
{
	struct nb_reportset *base = calloc(1, sizeof(*base)), *run = calloc(1, sizeof(*run));
	char err[512];
	int rc = 0;

	if (!base || !run)
		rc = cli_usage_error(cmd, "--baseline: %s", strerror(ENOMEM));
	else if (nb_reportset_load(base, file, err, sizeof(err)) ||
		 nb_reportset_add_doc(run, doc, err, sizeof(err)) ||
		 nb_reportset_same_test(base, run, err, sizeof(err)))
		rc = cli_usage_error(cmd, "--baseline: %s", err);
	if (!rc) {
		char against[320];
		snprintf(against, sizeof(against), "the baseline %s", file);
		warn_host_nic(cmd, against, "this run", base, run);
		unsigned n = compare_sets(cmd, against, base, run, tol_pct, CLI_TEXT, NULL, NULL);
		if (n)
			snprintf(note, notelen,
				 "baseline %s: %u metric%s worse by more than %g%% beyond the interval", file,
				 n, n == 1 ? "" : "s", tol_pct);
		else
			snprintf(note, notelen,
				 "baseline %s: no metric worse by more than %g%% beyond the interval", file,
				 tol_pct);
		rc = n ? 1 : 0;
	}
	free(base);
	free(run);
	return rc;
}

cJSON *cli_report_doc(const struct nb_report *rep)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	if (!mem)
		return NULL;
	nb_report_write_json(rep, mem);
	fclose(mem);
	cJSON *doc = cJSON_Parse(text);
	free(text);
	return doc;
}
