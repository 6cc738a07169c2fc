/* SPDX-License-Identifier: MIT */
/*
 * `nbench diff A B`: each metric's change from A to B with its interval, whether it is significant and
 * whether it is better or worse; and --baseline FILE on the tests and compare, which fails a run (exit 1)
 * whose figures are worse than FILE's by more than --tolerance beyond their interval. The figures and the
 * statistics are metrics.c's; this file reads the command line and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "metrics.h"
#include "nbench/report.h"

#define LEVEL	    95 /* the confidence level of every interval here */
#define MAX_CONTEXT 20 /* context lines printed */
#define DEFAULT_TOL 5.0

struct diff {
	const char *spec_a, *spec_b;
	struct nbm_set *a, *b;
	double tol_pct; /* NAN: no gate */
	enum cli_format format;
};

static const char *dir_name(int dir)
{
	return dir < 0 ? "lower" : dir > 0 ? "higher" : NULL;
}

static const char *verdict_name(const struct nbm_change *c, const struct nbm_metric *m)
{
	if (!m->dir)
		return "direction unknown";
	if (c->verdict)
		return c->verdict > 0 ? "better" : "worse";
	return c->delta_pct == 0 ? "no change" : "no significant change";
}

static void significance(const struct nbm_change *c, char *buf, size_t len)
{
	if (c->test == NBM_TEST_NONE)
		snprintf(buf, len, "untested: single runs");
	else if (c->test == NBM_TEST_WELCH)
		snprintf(buf, len, "%s (Welch t-test)", c->significant ? "yes" : "no");
	else
		snprintf(buf, len, "%s (outside %s's interval)", c->significant ? "yes" : "no",
			 c->a.n >= 2 ? "A" : "B");
}

static void interval(const struct nbm_change *c, char *buf, size_t len)
{
	if (c->test == NBM_TEST_NONE)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "+-%.1f%%", c->ci_pct);
}

/* The context keys whose values differ between the sides ("client.kernel 6.1 -> 6.18"). */
static unsigned context_diffs(const struct nbm_set *a, const struct nbm_set *b, cJSON *json, FILE *out)
{
	unsigned shown = 0;
	for (unsigned i = 0; i < a->n_context; i++) {
		const char *bv = NULL;
		for (unsigned j = 0; j < b->n_context && !bv; j++)
			if (!strcmp(a->context[i].key, b->context[j].key))
				bv = b->context[j].val;
		if (bv && !strcmp(bv, a->context[i].val))
			continue;
		if (json) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "key", a->context[i].key);
			cJSON_AddStringToObject(o, "a", a->context[i].val);
			if (bv)
				cJSON_AddStringToObject(o, "b", bv);
			else
				cJSON_AddNullToObject(o, "b");
			cJSON_AddItemToArray(json, o);
		} else if (out && shown < MAX_CONTEXT) {
			fprintf(out, "  %s: %s -> %s\n", a->context[i].key, a->context[i].val,
				bv ? bv : "(absent)");
		}
		shown++;
	}
	return shown;
}

/* Warns on stderr, before any figure is compared, when a and b ran on hosts or NICs that differ (kernel,
 * driver, firmware, NIC identity, the knobs swept): a change may be theirs, not the code's. The number of
 * such keys. */
static unsigned warn_host_nic(const char *cmd, const char *a_name, const char *b_name,
			      const struct nbm_set *a, const struct nbm_set *b)
{
	char list[640];
	unsigned n = nbm_host_nic_diffs(a, b, list, sizeof(list), 4);
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

static cJSON *metric_json(const struct nbm_metric *m, const struct nbm_change *c)
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
	cJSON_AddStringToObject(o, "test", nbm_test_name(c->test));
	if (c->test == NBM_TEST_NONE)
		cJSON_AddNullToObject(o, "significant");
	else
		cJSON_AddBoolToObject(o, "significant", c->significant);
	cJSON_AddStringToObject(o, "verdict", verdict_name(c, m));
	cJSON_AddBoolToObject(o, "regression", c->regression);
	return o;
}

static void metric_text(const struct nbm_metric *m, const struct nbm_change *c, FILE *out)
{
	char sig[48], ci[24];
	significance(c, sig, sizeof(sig));
	interval(c, ci, sizeof(ci));
	fprintf(out, "%-44s %12.6g %12.6g %+9.1f%% %10s  %-30s %s%s\n", m->name, c->a.mean, c->b.mean,
		c->delta_pct, ci, sig, verdict_name(c, m), c->regression ? "  REGRESSION" : "");
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

static void metric_csv(const struct nbm_metric *m, const struct nbm_change *c, FILE *out)
{
	char f[6][32];
	fprintf(out, "%s,%s,%u,%s,%s,%u,%s,%s,%s,%s,%s,%s,%s,%s\n", m->name,
		dir_name(m->dir) ? dir_name(m->dir) : "", c->a.n, csv_num(c->a.mean, f[0], 32),
		csv_num(c->a.ci, f[1], 32), c->b.n, csv_num(c->b.mean, f[2], 32), csv_num(c->b.ci, f[3], 32),
		csv_num(c->delta_pct, f[4], 32), csv_num(c->ci_pct, f[5], 32), nbm_test_name(c->test),
		c->test == NBM_TEST_NONE ? ""
		: c->significant	 ? "true"
					 : "false",
		verdict_name(c, m), c->regression ? "true" : "false");
}

/* One line on stderr for a regression: the gate's message. */
static void regression_line(const char *cmd, const char *against, double tol, const struct nbm_metric *m,
			    const struct nbm_change *c)
{
	char ci[24];
	interval(c, ci, sizeof(ci));
	fprintf(
	    stderr,
	    "nbench %s: regression: %s is %.1f%% worse than %s (%.6g -> %.6g; tolerance %g%%, interval %s)\n",
	    cmd, m->name, fabs(c->delta_pct), against, c->a.mean, c->b.mean, tol, ci);
}

/* Every metric of a with its change in b: printed in fmt (out NULL: nothing printed); the regressions
 * against tol_pct (NAN: none) named on stderr. Returns how many metrics regressed. */
static unsigned compare_sets(const char *cmd, const char *against, const struct nbm_set *a,
			     const struct nbm_set *b, double tol_pct, enum cli_format fmt, FILE *out,
			     cJSON *json)
{
	unsigned regressions = 0;
	cJSON *arr = json ? cJSON_AddArrayToObject(json, "metrics") : NULL;
	for (unsigned i = 0; i < a->n; i++) {
		const struct nbm_metric *ma = &a->m[i], *mb = nbm_find(b, ma->name);
		if (!mb || !ma->n || !mb->n)
			continue;
		struct nbm_change c = nbm_compare(ma, mb, LEVEL, isnan(tol_pct) ? INFINITY : tol_pct);
		if (arr)
			cJSON_AddItemToArray(arr, metric_json(ma, &c));
		else if (out && fmt == CLI_CSV)
			metric_csv(ma, &c, out);
		else if (out)
			metric_text(ma, &c, out);
		if (c.regression) {
			regression_line(cmd, against, tol_pct, ma, &c);
			regressions++;
		}
	}
	return regressions;
}

/* The metrics one side has and the other does not. */
static void only_in(const struct nbm_set *s, const struct nbm_set *other, const char *side, cJSON *json,
		    FILE *out)
{
	cJSON *arr = json ? cJSON_AddArrayToObject(json, side[0] == 'A' ? "only_in_a" : "only_in_b") : NULL;
	for (unsigned i = 0; i < s->n; i++)
		if (!nbm_find(other, s->m[i].name)) {
			if (arr)
				cJSON_AddItemToArray(arr, cJSON_CreateString(s->m[i].name));
			else if (out)
				fprintf(out, "only in %s: %s\n", side, s->m[i].name);
		}
}

static const char *runs_note(const struct nbm_set *s)
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
		"changes are B against A; intervals at %d%% (Welch's t-test when both sides have repeated "
		"runs,\nthe single run against the other's interval when one side has; none between single "
		"runs)\n",
		LEVEL);
	unsigned n = context_diffs(d->a, d->b, NULL, NULL);
	if (n) {
		fprintf(out, "context that differs (shown, not refused):\n");
		context_diffs(d->a, d->b, NULL, out);
		if (n > MAX_CONTEXT)
			fprintf(out, "  ... and %u more (--json lists them all)\n", n - MAX_CONTEXT);
	}
	fprintf(out, "\n%-44s %12s %12s %10s %10s  %-30s %s\n", "metric", "A", "B", "change", "interval",
		"significant", "verdict");
}

static cJSON *side_doc(const char *spec, const struct nbm_set *s)
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
				      nbm_host_nic_diffs(d->a, d->b, NULL, 0, 0) > 0);
		reg = compare_sets("diff", "A", d->a, d->b, d->tol_pct, CLI_JSON, stdout, j);
		only_in(d->a, d->b, "A", j, NULL);
		only_in(d->b, d->a, "B", j, NULL);
		char *txt = cJSON_Print(j);
		printf("%s\n", txt);
		free(txt);
		cJSON_Delete(j);
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

static void diff_help(void)
{
	printf(
	    "usage: nbench diff A B [--tolerance PCT] [--json|--csv]\n"
	    "  Each metric's change from A to B (any nbench --json report: a single run, compare or sweep), "
	    "with "
	    "its\n"
	    "  %d%% interval, whether it is significant, and better or worse by the metric's direction.\n"
	    "  A and B: a report, REPORT1,REPORT2,... (repeated runs: an interval and Welch's t-test), or a\n"
	    "  directory of *.json reports. Reports of different tests (kind, protocol, sizes...) are "
	    "refused;\n"
	    "  host, kernel, NIC and path differences are shown.\n"
	    "  --tolerance PCT   exit 1 when a metric is worse than A by more than PCT beyond its interval\n",
	    LEVEL);
}

static int diff_parse(struct diff *d, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"tolerance", required_argument, NULL, 'T'},
	    {"json", no_argument, NULL, 'j'},
	    {"csv", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *pos[2];
	int ch, npos = 0;

	optind = 1;
	opterr = 0;
	while (optind < argc) {
		if ((ch = getopt_long(argc, argv, "-:h", opts, NULL)) == -1)
			break;
		if (ch == 1 && npos < 2)
			pos[npos++] = optarg;
		else if (ch == 1)
			return cli_usage_error("diff", "unexpected argument '%s'", optarg);
		else if (ch == 'T' && nbm_parse_pct(optarg, &d->tol_pct))
			return cli_usage_error("diff", "--tolerance: '%s' is not a percentage from 0 to 1000",
					       optarg);
		else if (ch == 'j' || ch == 'v')
			d->format = ch == 'j' ? CLI_JSON : CLI_CSV;
		else if (ch == 'h') {
			diff_help();
			return 1;
		} else if (ch == ':')
			return cli_usage_error("diff", "%s needs a value", argv[optind - 1]);
		else if (ch == '?')
			return cli_usage_error("diff", "unknown option '%s' (see nbench diff --help)",
					       argv[optind - 1]);
	}
	if (npos != 2)
		return cli_usage_error("diff", "needs two reports: nbench diff A.json B.json");
	d->spec_a = pos[0];
	d->spec_b = pos[1];
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
	else if (nbm_load(d.a, d.spec_a, err, sizeof(err)) || nbm_load(d.b, d.spec_b, err, sizeof(err)) ||
		 nbm_same_test(d.a, d.b, err, sizeof(err)))
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
	if (tolerance && nbm_parse_pct(tolerance, ret_tol))
		return cli_usage_error(cmd, "--tolerance: '%s' is not a percentage from 0 to 1000",
				       tolerance);
	if (!file)
		return 0;
	struct nbm_set *s = calloc(1, sizeof(*s));
	int r = s ? nbm_load(s, file, err, sizeof(err)) : -ENOMEM;
	free(s);
	return r ? cli_usage_error(cmd, "--baseline: %s", r == -ENOMEM ? strerror(ENOMEM) : err) : 0;
}

int cli_baseline_check(const char *cmd, const char *file, double tol_pct, const cJSON *doc, char *note,
		       size_t notelen)
{
	struct nbm_set *base = calloc(1, sizeof(*base)), *run = calloc(1, sizeof(*run));
	char err[512];
	int rc = 0;

	if (!base || !run)
		rc = cli_usage_error(cmd, "--baseline: %s", strerror(ENOMEM));
	else if (nbm_load(base, file, err, sizeof(err)) || nbm_add_doc(run, doc, err, sizeof(err)) ||
		 nbm_same_test(base, run, err, sizeof(err)))
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
