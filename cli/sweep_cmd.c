/* SPDX-License-Identifier: MIT */
/*
 * `nbench sweep --set KNOB=V1,V2 [--set ...] [--on IF] -- TEST [test options]`: TEST once per combination
 * of knob values (the cross product), interleaved round robin and repeated as compare does, with the knobs
 * set on the path's interfaces (the wire's two ends unless --on names others). Their whole state is on
 * file before the first change (topo/knob.c) and put back after every combination, an error or Ctrl-C; a
 * knob the driver refuses is named in its combination's row.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "nbench/proto.h"
#include "nbench/report.h"
#include "nbench/topo.h"
#include "nbench/units.h"
#include "stats.h"

#define MAX_KNOBS  8
#define MAX_VALUES 8
#define MAX_COMBOS 64
#define MAX_RUNS   100

struct knob {
	char *name;
	char *values[MAX_VALUES];
	unsigned nvalues;
};

struct combo {
	unsigned vi[MAX_KNOBS]; /* value index per knob */
	char label[128];	/* "tso=on gro=off" */
	char refused[512];	/* "rx-ring: refused by veth (EOPNOTSUPP); ..." */
	double v[M_COUNT][MAX_RUNS];
	unsigned n, failed;
};

struct sweep {
	struct knob knobs[MAX_KNOBS];
	unsigned nknobs;
	struct nb_nic_ref on[NB_KNOB_MAX_IFS];
	unsigned non;
	unsigned runs;
	double tol_pct; /* --tolerance, with --baseline among the test options */
	const char *path, *topo, *output;
	enum cli_format format;
	bool quiet;
	struct cli_test test;
	struct combo combos[MAX_COMBOS];
	unsigned ncombos;
	struct nb_nic_ref ifs[NB_KNOB_MAX_IFS];
	unsigned nifs;
	cJSON *context; /* the first complete run's hosts and interfaces, and the test's settings */
};

static void sweep_help(void)
{
	char names[256];

	printf("usage: nbench sweep --set KNOB=V1,V2[,...] [--set ...] [--on [NETNS/]IF]... [--runs N]\n"
	       "                    [--path P | --topo NAME] [--json|--csv] [-o FILE] [-q] -- TEST [test "
	       "options]\n"
	       "  TEST (stream, rr, crr) once per combination of knob values, interleaved and repeated "
	       "(--runs,\n"
	       "  default 3), with the knobs set on the path's wire (both ends) or on the --on interfaces;\n"
	       "  every interface is restored exactly after each combination. The path defaults to host.\n"
	       "  knobs: %s\n"
	       "  values: on|off (offloads, adaptive-rx/tx), numbers (mtu, rings, channels, usecs),\n"
	       "          noqueue|pfifo[:LIMIT]|tbf:RATE (qdisc)\n",
	       nb_knob_names(names, sizeof(names)));
}

/* --set KNOB=V1,V2 into s (arg is kept: argv's). 0 or 2 after a one-line error. */
static int parse_set(struct sweep *s, char *arg)
{
	char *eq = strchr(arg, '='), err[256];
	struct knob *k;

	if (!eq || eq == arg || !eq[1])
		return cli_usage_error("sweep", "--set: '%s' is not KNOB=V1[,V2...]", arg);
	if (s->nknobs == MAX_KNOBS)
		return cli_usage_error("sweep", "--set: at most %d knobs", MAX_KNOBS);
	*eq = '\0';
	k = &s->knobs[s->nknobs];
	k->name = arg;
	for (unsigned i = 0; i < s->nknobs; i++)
		if (!strcmp(s->knobs[i].name, arg))
			return cli_usage_error("sweep", "--set: knob '%s' is given twice", arg);
	for (char *v = strtok(eq + 1, ","); v; v = strtok(NULL, ",")) {
		if (k->nvalues == MAX_VALUES)
			return cli_usage_error("sweep", "--set %s: at most %d values", arg, MAX_VALUES);
		if (nb_knob_check(arg, v, err, sizeof(err)))
			return cli_usage_error("sweep", "--set %s", err);
		k->values[k->nvalues++] = v;
	}
	if (!k->nvalues)
		return cli_usage_error("sweep", "--set %s: no values", arg);
	s->nknobs++;
	return 0;
}

static int parse_on(struct sweep *s, const char *arg)
{
	const char *slash = strrchr(arg, '/');
	struct nb_nic_ref *r;

	if (s->non == NB_KNOB_MAX_IFS)
		return cli_usage_error("sweep", "--on: at most %d interfaces", NB_KNOB_MAX_IFS);
	r = &s->on[s->non++];
	if (slash && (size_t)(slash - arg) < sizeof(r->netns))
		snprintf(r->netns, sizeof(r->netns), "%.*s", (int)(slash - arg), arg);
	snprintf(r->ifname, sizeof(r->ifname), "%s", slash ? slash + 1 : arg);
	if (!*r->ifname || strlen(slash ? slash + 1 : arg) >= sizeof(r->ifname))
		return cli_usage_error("sweep", "--on: '%s' is not [NETNS/]IF", arg);
	return 0;
}

/* TEST's options, with sweep's --path/--topo (default: --path host) unless TEST names its own. */
static int parse_test(struct sweep *s, int argc, char **argv)
{
	char **av = calloc((size_t)argc + 3, sizeof(*av));
	bool own = false;
	int n = 0, rc;

	if (!av)
		return 1;
	for (int i = 0; i < argc; i++) {
		own |= !strcmp(argv[i], "--path") || !strcmp(argv[i], "--topo") ||
		       !strncmp(argv[i], "--path=", 7) || !strncmp(argv[i], "--topo=", 7);
		av[n++] = argv[i];
	}
	if (own && (s->path || s->topo)) {
		free(av);
		return cli_usage_error("sweep", "--path/--topo given both before and after '--'");
	}
	if (!own) {
		av[n++] = (char *)(s->topo ? "--topo" : "--path");
		av[n++] = (char *)(s->topo ? s->topo : s->path ? s->path : "host");
	}
	rc = cli_parse_test(n, av, &s->test);
	free(av);
	return rc;
}

static int sweep_parse(struct sweep *s, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"set", required_argument, NULL, 's'},
	    {"on", required_argument, NULL, 'O'},
	    {"runs", required_argument, NULL, 'n'},
	    {"path", required_argument, NULL, 'p'},
	    {"topo", required_argument, NULL, 'T'},
	    {"json", no_argument, NULL, 'j'},
	    {"csv", no_argument, NULL, 'v'},
	    {"output", required_argument, NULL, 'o'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	uint64_t u;
	int ch, rc = 0, dd = -1;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			dd = i;
			break;
		}
	optind = 1;
	opterr = 0;
	while (!rc && (ch = getopt_long(dd < 0 ? argc : dd, argv, "+:o:qh", opts, NULL)) != -1) {
		const char *opt = argv[optind - 1];

		if (ch == 's')
			rc = parse_set(s, optarg);
		else if (ch == 'O')
			rc = parse_on(s, optarg);
		else if (ch == 'n' && nb_parse_uint(optarg, 1, MAX_RUNS, &u))
			rc = cli_usage_error("sweep", "--runs: '%s' is not a number from 1 to %d", optarg,
					     MAX_RUNS);
		else if (ch == 'n')
			s->runs = (unsigned)u;
		else if (ch == 'p' || ch == 'T')
			*(ch == 'p' ? &s->path : &s->topo) = optarg;
		else if (ch == 'j' || ch == 'v')
			s->format = ch == 'j' ? CLI_JSON : CLI_CSV;
		else if (ch == 'o')
			s->output = optarg;
		else if (ch == 'q')
			s->quiet = true;
		else if (ch == 'h') {
			sweep_help();
			return 1;
		} else if (ch == ':')
			rc = cli_usage_error("sweep", "%s needs a value", opt);
		else
			rc = cli_usage_error("sweep", "unknown option '%s' (see nbench sweep --help)", opt);
	}
	if (rc)
		return rc;
	if (!s->nknobs)
		return cli_usage_error("sweep", "no --set KNOB=V1,V2 given");
	if (dd < 0 || dd + 1 >= argc)
		return cli_usage_error("sweep", "no test after '--' (stream, rr or crr)");
	if (strcmp(argv[dd + 1], "stream") && strcmp(argv[dd + 1], "rr") && strcmp(argv[dd + 1], "crr"))
		return cli_usage_error("sweep", "'%s' is not a test (stream, rr or crr)", argv[dd + 1]);
	rc = parse_test(s, argc - dd - 1, argv + dd + 1);
	if (rc)
		return rc == 1 ? 2 : rc;
	s->path = s->test.path;
	s->topo = s->test.topo;
	return 0;
}

/* The cross product, the last knob changing fastest. */
static int make_combos(struct sweep *s)
{
	unsigned total = 1;

	for (unsigned k = 0; k < s->nknobs; k++)
		total *= s->knobs[k].nvalues;
	if (total > MAX_COMBOS)
		return cli_usage_error("sweep", "%u combinations: at most %d", total, MAX_COMBOS);
	for (unsigned c = 0; c < total; c++) {
		struct combo *co = &s->combos[c];
		unsigned rest = c;
		size_t o = 0;

		for (int k = (int)s->nknobs - 1; k >= 0; k--) {
			co->vi[k] = rest % s->knobs[k].nvalues;
			rest /= s->knobs[k].nvalues;
		}
		for (unsigned k = 0; k < s->nknobs && o < sizeof(co->label); k++)
			o += (size_t)snprintf(co->label + o, sizeof(co->label) - o, "%s%s=%s", k ? " " : "",
					      s->knobs[k].name, s->knobs[k].values[co->vi[k]]);
	}
	s->ncombos = total;
	return 0;
}

static bool applies(const struct sweep *s, enum metric m)
{
	return metrics[m].stream == (s->test.cfg.kind == NB_TEST_STREAM);
}

/* Sets every knob of combination co on every interface; refusals go into its row (once). */
static void apply_combo(struct sweep *s, struct nb_knob_guard *g, struct combo *co, bool first_round)
{
	for (unsigned k = 0; k < s->nknobs; k++)
		for (unsigned i = 0; i < s->nifs; i++) {
			char why[160];
			size_t o = strlen(co->refused);

			if (!nb_knob_apply(g, i, s->knobs[k].name, s->knobs[k].values[co->vi[k]], why,
					   sizeof(why)))
				continue;
			if (first_round && !strstr(co->refused, why) && o < sizeof(co->refused))
				snprintf(co->refused + o, sizeof(co->refused) - o, "%s%s", o ? "; " : "",
					 why);
		}
}

static void one_run(struct sweep *s, struct cli_path *pe, struct nb_knob_guard *g, unsigned round,
		    unsigned ci)
{
	struct combo *co = &s->combos[ci];
	struct nb_report rep;
	bool ok;
	int r;

	apply_combo(s, g, co, round == 1);
	nb_report_init(&rep);
	ok = cli_path_run(pe, &s->test.cfg, false, &rep) == 0 && rep.complete;
	if (ok && !s->context && (s->context = cJSON_CreateObject())) {
		nb_report_hosts_json(&rep, s->context);
		nb_report_nics_json(&rep, s->context);
		cJSON_AddItemToObject(s->context, "settings", nb_cfg_to_json(&rep.cfg));
	}
	if (ok && co->n < MAX_RUNS) {
		for (int m = 0; m < M_COUNT; m++)
			co->v[m][co->n] = metric_of(&rep, m);
		co->n++;
	} else if (!ok) {
		co->failed++;
	}
	if (!s->quiet)
		fprintf(stderr, "  round %u  %-40s %s\n", round, co->label, ok ? "ok" : rep.error);
	nb_report_free(&rep);
	r = nb_knob_restore(g);
	if (r)
		fprintf(stderr, "nbench sweep: restoring the interfaces after %s: %s\n", co->label,
			strerror(-r));
}

static double mean_of(const struct sweep *s, unsigned ci, enum metric m)
{
	const struct combo *co = &s->combos[ci];

	return co->n ? nb_stat_of(co->v[m], co->n, 95).mean : NAN;
}

static double ratio_of(const struct sweep *s, unsigned ci, enum metric m)
{
	double base = mean_of(s, 0, m), v = mean_of(s, ci, m);

	return isnan(base) || base == 0 || isnan(v) ? NAN : v / base;
}

static void print_text(const struct sweep *s, FILE *out)
{
	fprintf(out,
		"\nnbench sweep: %s on %u interface%s, %u combination%s, mean ± 95%% confidence interval\n",
		s->test.cfg.kind == NB_TEST_STREAM ? "stream"
		: s->test.cfg.kind == NB_TEST_RR   ? "rr"
						   : "crr",
		s->nifs, s->nifs == 1 ? "" : "s", s->ncombos, s->ncombos == 1 ? "" : "s");
	fprintf(out, "(interfaces:");
	for (unsigned i = 0; i < s->nifs; i++)
		fprintf(out, " %s%s%s", s->ifs[i].netns, *s->ifs[i].netns ? "/" : "", s->ifs[i].ifname);
	fprintf(out, "; ratio = combination / the first)\n");
	for (unsigned ci = 0; ci < s->ncombos; ci++) {
		const struct combo *co = &s->combos[ci];

		fprintf(out, "\n%s  (%u runs%s)\n", co->label, co->n, co->failed ? ", some failed" : "");
		if (*co->refused)
			fprintf(out, "  %s\n", co->refused);
		for (int m = 0; m < M_COUNT; m++) {
			char lbl[48];
			struct nb_stat st = nb_stat_of(co->v[m], co->n, 95);
			double r = ratio_of(s, ci, m);

			if (!applies(s, m))
				continue;
			if (!co->n) {
				fprintf(out, "  %-24s failed\n", metric_label(m, lbl, sizeof(lbl)));
				continue;
			}
			double k = metrics[m].scale;
			fprintf(out, "  %-24s %12.4g ± %-10.3g", metric_label(m, lbl, sizeof(lbl)),
				st.mean * k, st.ci * k);
			if (!isnan(r))
				fprintf(out, " %6.3fx", r);
			fputc('\n', out);
		}
	}
}

static void print_csv(const struct sweep *s, FILE *out)
{
	fprintf(out, "combination,metric,runs,mean,ci,ratio,refused\n");
	for (unsigned ci = 0; ci < s->ncombos; ci++)
		for (int m = 0; m < M_COUNT; m++) {
			const struct combo *co = &s->combos[ci];
			struct nb_stat st = nb_stat_of(co->v[m], co->n, 95);
			double r = ratio_of(s, ci, m);

			if (!applies(s, m))
				continue;
			fprintf(out, "%s,%s,%u,", co->label, metrics[m].key, co->n);
			if (co->n)
				fprintf(out, "%.6g", st.mean);
			fputc(',', out);
			if (isfinite(st.ci))
				fprintf(out, "%.6g", st.ci);
			fputc(',', out);
			if (!isnan(r))
				fprintf(out, "%.4f", r);
			fprintf(out, ",\"%s\"\n", co->refused);
		}
}

static cJSON *combo_json(const struct sweep *s, unsigned ci)
{
	const struct combo *co = &s->combos[ci];
	cJSON *o = cJSON_CreateObject(), *set = cJSON_AddObjectToObject(o, "set"), *ref, *ms;

	for (unsigned k = 0; k < s->nknobs; k++)
		cJSON_AddStringToObject(set, s->knobs[k].name, s->knobs[k].values[co->vi[k]]);
	cJSON_AddStringToObject(o, "label", co->label);
	cJSON_AddNumberToObject(o, "runs", co->n);
	cJSON_AddNumberToObject(o, "failed", co->failed);
	ref = cJSON_AddArrayToObject(o, "refused");
	for (char *p = (char *)co->refused; *p;) {
		char *e = strstr(p, "; ");
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char one[160];

		snprintf(one, sizeof(one), "%.*s", (int)len, p);
		cJSON_AddItemToArray(ref, cJSON_CreateString(one));
		p += len + (e ? 2 : 0);
	}
	ms = cJSON_AddObjectToObject(o, "metrics");
	for (int m = 0; m < M_COUNT; m++) {
		struct nb_stat st = nb_stat_of(co->v[m], co->n, 95);
		double r = ratio_of(s, ci, m);
		cJSON *mo, *vals;

		if (!applies(s, m))
			continue;
		mo = cJSON_AddObjectToObject(ms, metrics[m].key);
		if (co->n)
			cJSON_AddNumberToObject(mo, "mean", st.mean);
		else
			cJSON_AddNullToObject(mo, "mean");
		if (isfinite(st.ci))
			cJSON_AddNumberToObject(mo, "ci", st.ci);
		else
			cJSON_AddNullToObject(mo, "ci");
		if (!isnan(r))
			cJSON_AddNumberToObject(mo, "ratio", r);
		else
			cJSON_AddNullToObject(mo, "ratio");
		vals = cJSON_AddArrayToObject(mo, "values");
		for (unsigned i = 0; i < co->n; i++)
			cJSON_AddItemToArray(vals, cJSON_CreateNumber(co->v[m][i]));
	}
	return o;
}

/* The JSON report (what --json prints and what --baseline compares against). */
static cJSON *sweep_doc(const struct sweep *s)
{
	cJSON *j = cJSON_CreateObject(), *a;

	cJSON_AddNumberToObject(j, "schema_version", 1);
	cJSON_AddStringToObject(j, "kind", "sweep");
	cJSON_AddStringToObject(j, "test",
				s->test.cfg.kind == NB_TEST_STREAM ? "stream"
				: s->test.cfg.kind == NB_TEST_RR   ? "rr"
								   : "crr");
	cJSON_AddStringToObject(j, "path", s->path ? s->path : s->topo);
	cJSON_AddNumberToObject(j, "runs", s->runs);
	cJSON_AddNumberToObject(j, "ci_level", 95);
	a = cJSON_AddArrayToObject(j, "interfaces");
	for (unsigned i = 0; i < s->nifs; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "netns", s->ifs[i].netns);
		cJSON_AddStringToObject(o, "ifname", s->ifs[i].ifname);
		cJSON_AddItemToArray(a, o);
	}
	a = cJSON_AddArrayToObject(j, "knobs");
	for (unsigned k = 0; k < s->nknobs; k++) {
		cJSON *o = cJSON_CreateObject(), *v = cJSON_AddArrayToObject(o, "values");

		cJSON_AddStringToObject(o, "name", s->knobs[k].name);
		for (unsigned i = 0; i < s->knobs[k].nvalues; i++)
			cJSON_AddItemToArray(v, cJSON_CreateString(s->knobs[k].values[i]));
		cJSON_AddItemToArray(a, o);
	}
	/* where it ran, as a single run's report says it (null when no run completed) */
	cJSON_AddItemToObject(j, "context",
			      s->context ? cJSON_Duplicate(s->context, true) : cJSON_CreateNull());
	a = cJSON_AddArrayToObject(j, "combinations");
	for (unsigned ci = 0; ci < s->ncombos; ci++)
		cJSON_AddItemToArray(a, combo_json(s, ci));
	return j;
}

static void print_json(const struct sweep *s, FILE *out)
{
	cJSON *j = sweep_doc(s);
	char *txt = cJSON_Print(j);
	fprintf(out, "%s\n", txt);
	free(txt);
	cJSON_Delete(j);
}

static void write_out(const struct sweep *s, FILE *out)
{
	if (s->format == CLI_JSON)
		print_json(s, out);
	else if (s->format == CLI_CSV)
		print_csv(s, out);
	else
		print_text(s, out);
}

static int report(const struct sweep *s)
{
	int rc = cli_quitting() ? 1 : 0;

	if (rc)
		fprintf(stderr, "nbench sweep: interrupted; the table shows the runs that finished\n");
	write_out(s, stdout);
	if (s->output) {
		FILE *f = fopen(s->output, "w");

		if (!f) {
			fprintf(stderr, "nbench sweep: cannot write %s: %s\n", s->output, strerror(errno));
			return 1;
		}
		write_out(s, f);
		fclose(f);
	}
	for (unsigned ci = 0; ci < s->ncombos; ci++)
		if (!s->combos[ci].n)
			rc = 1;
	if (!rc && s->test.baseline) { /* exit 1 on a regression against it, each named on stderr */
		char note[512];
		cJSON *doc = sweep_doc(s);
		rc = doc ? cli_baseline_check("sweep", s->test.baseline, s->tol_pct, doc, note, sizeof(note))
			 : 1;
		cJSON_Delete(doc);
	}
	return rc;
}

/* Opens the path, records its interfaces, runs every round; the interfaces are put back on every way out. */
static int run_sweep(struct sweep *s)
{
	struct nb_knob_guard *g = NULL;
	struct cli_path pe;
	char err[256];
	int r, rc;

	cli_wire = s->test.wire;
	r = cli_path_open(s->topo ? NULL : s->path, s->topo, s->test.cfg.port, s->test.key_file, &pe, err,
			  sizeof(err));
	if (r < 0) {
		fprintf(stderr, "nbench sweep: %s\n", err);
		return r == -EINVAL || r == -ENOENT ? 2 : 1;
	}
	if (s->non) {
		memcpy(s->ifs, s->on, sizeof(s->on));
		s->nifs = s->non;
	} else {
		s->nifs = nb_topo_wire_ifs(pe.topo, s->ifs, NB_KNOB_MAX_IFS);
	}
	r = s->nifs ? nb_knob_record(s->ifs, s->nifs, &g, err, sizeof(err)) : -ENODEV;
	if (r) {
		fprintf(stderr, "nbench sweep: %s\n",
			s->nifs ? err : "the path has no wire to set knobs on (--on IF)");
		cli_path_close(&pe);
		return 1;
	}
	for (unsigned round = 1; round <= s->runs && !cli_quitting(); round++)
		for (unsigned k = 0; k < s->ncombos && !cli_quitting(); k++)
			one_run(s, &pe, g, round, (k + round - 1) % s->ncombos);
	r = nb_knob_release(g);
	if (r)
		fprintf(stderr, "nbench sweep: restoring the interfaces: %s\n", strerror(-r));
	rc = report(s);
	cli_path_close(&pe);
	return r ? 1 : rc;
}

int cmd_sweep(int argc, char **argv)
{
	struct sweep *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return 1;
	s->runs = 3;
	rc = sweep_parse(s, argc, argv);
	if (!rc)
		rc = cli_baseline_ready("sweep", s->test.baseline, s->test.tolerance, &s->tol_pct);
	if (!rc)
		rc = make_combos(s);
	if (rc) {
		free(s);
		return rc == 1 ? 0 : rc;
	}
	s->format = s->format ? s->format : s->test.format;
	cli_catch_signals();
	rc = run_sweep(s);
	cJSON_Delete(s->context);
	free(s);
	return rc;
}
