/* SPDX-License-Identifier: MIT */
/*
 * `nbench compare`: its options into bench/compare.c's settings, the rounds' progress on stderr, the tables
 * (compare_out.c) on stdout and in the files asked for, and --baseline's verdict.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "compare_out.h"
#include "nbench/auth.h"
#include "nbench/clock.h"
#include "nbench/compare.h"
#include "nbench/report.h"
#include "nbench/topo.h"
#include "nbench/units.h"

#define DEFAULT_PATHS "native,host,bridge,nat"
#define DEFAULT_TESTS "stream,stream-reverse,rr-tcp,rr-udp"

/* The command line: the shared options, the driver's settings, what only the output needs. */
struct cmp_args {
	struct cli_test t; /* -H, --port, --key-file, --wire..., --hops, --runs, format, -o, -q, --baseline */
	struct nb_compare_cfg cfg;
	const char *paths, *tests; /* --paths, --tests as given */
	const char *json_out;	   /* --json-out: the JSON too, whatever stdout shows (for nbench plot) */
	double tol_pct;		   /* --tolerance, with --baseline */
};

/* list into buf (cut to its size), for strtok. */
static char *strcpy_list(char *buf, size_t len, const char *list)
{
	snprintf(buf, len, "%s", list);
	return buf;
}

static int parse_list(const char *cmd, const char *opt, char *s, const char **out, unsigned max, unsigned *n)
{
	*n = 0;
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		if (*n == max)
			return cli_usage_error(cmd, "%s: at most %u entries", opt, max);
		for (unsigned i = 0; i < *n; i++)
			if (!strcmp(out[i], tok))
				return cli_usage_error(cmd, "%s: '%s' is given twice", opt, tok);
		out[(*n)++] = tok;
	}
	if (!*n)
		return cli_usage_error(cmd, "%s: the list is empty", opt);
	return 0;
}

/* What follows compare's options: the names --paths and --tests take. */
static void compare_more(void)
{
	char kinds[256];
	printf("paths: %s\ntests: stream, stream-reverse, rr-tcp, rr-udp, crr\n",
	       nb_topo_kinds_join(kinds, sizeof(kinds), ", "));
}

static int parse_ci(void *base, const char *arg)
{
	struct cmp_args *a = base;
	double lv, pct;
	char extra;
	if (sscanf(arg, "%lf,%lf%c", &lv, &pct, &extra) != 2 || (lv != 95 && lv != 99) || pct <= 0 ||
	    pct > 100)
		return cli_usage_error(
		    "compare", "--ci: '%s' is not LEVEL,PCT with LEVEL 95 or 99 and PCT in (0,100]", arg);
	a->cfg.ci_level = lv;
	a->cfg.ci_pct = pct;
	return 0;
}

static int parse_placement(void *base, const char *arg)
{
	struct nb_compare_cfg *c = &((struct cmp_args *)base)->cfg;
	if (!strcmp(arg, "same"))
		c->pl[0] = NB_PLACE_SAME, c->npl = 1;
	else if (!strcmp(arg, "split"))
		c->pl[0] = NB_PLACE_SPLIT, c->npl = 1;
	else if (!strcmp(arg, "both"))
		c->pl[0] = NB_PLACE_SAME, c->pl[1] = NB_PLACE_SPLIT, c->npl = 2;
	else
		return cli_usage_error("compare", "--placement: '%s' is not same, split or both", arg);
	return 0;
}

/* compare's own options (-H, --port, --key-file, --hops and --runs said as compare means them); the others
 * are the shared table's (opts.c). */
static const struct cli_opt compare_opts[] = {
    {"paths", 0, "LIST", CLI_C_COMPARE, 0, CLI_OT_ARG, CLI_FIELD(struct cmp_args, paths),
     .help = "the paths, comma-separated (below)", .dflt = DEFAULT_PATHS},
    {"tests", 0, "LIST", CLI_C_COMPARE, 0, CLI_OT_ARG, CLI_FIELD(struct cmp_args, tests),
     .help = "the tests, comma-separated (below)", .dflt = DEFAULT_TESTS},
    {"runs", 0, "N", CLI_C_COMPARE, 0, CLI_OT_UINT, CLI_FIELD(struct cmp_args, t.runs), .lo = 1, .hi = 100,
     .what = "a number", .help = "rounds", .dflt = "5; 3 with --ci"},
    {"ci", 0, "LEVEL,PCT", CLI_C_COMPARE, 0, CLI_OT_FN, .parse = parse_ci,
     .help = "more rounds until every LEVEL% (95 or 99) confidence interval is within\nPCT% of its "
	     "mean, up to --max-runs"},
    {"max-runs", 0, "N", CLI_C_COMPARE, 0, CLI_OT_UINT, CLI_FIELD(struct cmp_args, cfg.max_runs), .lo = 2,
     .hi = NB_COMPARE_MAX_RUNS, .what = "a number", .help = "--ci: the most rounds", .dflt = "20"},
    {"time", 't', "SEC", CLI_C_COMPARE, 0, CLI_OT_DURATION, CLI_FIELD(struct cmp_args, cfg.duration_ns),
     .lo = 100 * NB_NS_PER_MS, .hi = 3600 * NB_NS_PER_S, .what = "a duration", .label = "-t",
     .help = "each run's measured duration", .dflt = "5"},
    {"placement", 0, "P", CLI_C_COMPARE, 0, CLI_OT_FN, .parse = parse_placement,
     .help = "rr/crr: same (both ends on CPU 0), split (CPU 0 and 1, spinning) or\nboth; streams "
	     "always run unpinned",
     .dflt = "same"},
    {"hops", 0, NULL, CLI_C_COMPARE, 0, CLI_OT_SET, CLI_FIELD(struct cmp_args, t.hops), .lo = 1,
     .help = "rr tests: after each run the same with capture on every interface of\nthe path: a "
	     "waterfall per path, the capture's overhead, and each path's\nhops beside the hop delta"},
    {"host", 'H', "SERVER", CLI_C_COMPARE, 0, CLI_OT_STRING, CLI_FIELD(struct cmp_args, t.cfg.host),
     .what = "a host name or address",
     .help = "build each path's server half on SERVER (its `nbench serve --paths\n--key-file K`); "
	     "needs --key-file"},
    {"port", 'p', "PORT", CLI_C_COMPARE, 0, CLI_OT_UINT, CLI_FIELD(struct cmp_args, t.cfg.port), .lo = 1,
     .hi = UINT16_MAX, .what = "a port number", .label = "--port", .help = "-H: the agent's port",
     .dflt = "12865"},
    {"key-file", 0, "FILE", CLI_C_COMPARE, 0, CLI_OT_ARG, CLI_FIELD(struct cmp_args, t.key_file),
     .help = "the key of the agent (-H) and of the paths' responders", .dflt = "$NBENCH_KEY_FILE"},
    {"json-out", 0, "FILE", CLI_C_COMPARE, 0, CLI_OT_ARG, CLI_FIELD(struct cmp_args, json_out),
     .help = "also write the JSON report to FILE, whatever stdout shows (for\nnbench plot)"},
};

/* What holds only for the options together: 0, or 2 after a one-line error. */
static int compare_check(struct cmp_args *a)
{
	struct cli_test *t = &a->t;
	bool host = t->host_given = t->cfg.host[0] != '\0';
	if (t->key_file) { /* a bad key file is bad usage, said once rather than once per path */
		struct nb_key k;
		char err[512];
		int r = nb_key_load(t->key_file, &k, err, sizeof(err));
		nb_key_wipe(&k);
		if (r < 0)
			return cli_usage_error("compare", "%s", err);
	}
	if (t->cfg.port && !host)
		return cli_usage_error("compare", "--port is the agent's, with -H");
	if (host && t->hops)
		return cli_usage_error("compare", "--hops captures on paths of this host: not with -H");
	if (host && !t->key_file)
		return cli_usage_error("compare",
				       "-H needs --key-file (the agent's key: nbench serve --paths)");
	if (host && (t->wire.ifs || t->wire.rate_bps > 0))
		return cli_usage_error("compare",
				       "--wire and --wire-rate are for paths built on one host, not with -H");
	return cli_baseline_ready("compare", t->baseline, t->tolerance, &a->tol_pct);
}

/* The command line into a: 0, 1 after --help, or 2 after a one-line error. */
static int compare_parse(struct cmp_args *a, int argc, char **argv)
{
	static const struct cli_cmd cmd = {
	    .name = "compare",
	    .bit = CLI_C_COMPARE,
	    .kind = -1,
	    .own = compare_opts,
	    .n_own = sizeof(compare_opts) / sizeof(compare_opts[0]),
	    .usage = "compare [--paths LIST] [--tests LIST] [--runs N] [--ci LEVEL,PCT] "
		     "[-t SEC] [options]",
	    .about = "Every test on every path, interleaved round robin and repeated; "
		     "mean, confidence interval,\nratio against native and the hop delta "
		     "of each path against the one it extends.",
	    .more = compare_more};
	int optind_, rc;
	cli_test_init(&a->t);
	if ((rc = cli_parse(&cmd, argc, argv, &a->t, a, &optind_)) || (rc = compare_check(a)))
		return rc;
	a->cfg.runs = a->t.runs ? a->t.runs : a->cfg.ci_pct > 0 ? 3 : a->cfg.runs;
	if (a->cfg.max_runs < a->cfg.runs)
		a->cfg.max_runs = a->cfg.runs;
	return 0;
}

/* --paths and --tests into c; 0 or 2 after a one-line error. */
static int compare_lists(struct cmp_args *a)
{
	static char paths[256], tests[256]; /* the lists' names point into them */
	struct nb_compare_cfg *c = &a->cfg;
	const char *tnames[NB_COMPARE_MAX_TESTS];
	char kinds[256];
	int rc;

	if ((rc = parse_list("compare", "--paths", strcpy_list(paths, sizeof(paths), a->paths), c->paths,
			     NB_COMPARE_MAX_PATHS, &c->npaths)))
		return rc;
	for (unsigned i = 0; i < c->npaths; i++)
		if (!nb_topo_kind_valid(c->paths[i]))
			return cli_usage_error("compare", "--paths: unknown path '%s' (%s)", c->paths[i],
					       nb_topo_kinds_join(kinds, sizeof(kinds), ", "));
	if ((rc = parse_list("compare", "--tests", strcpy_list(tests, sizeof(tests), a->tests), tnames,
			     NB_COMPARE_MAX_TESTS, &c->ntests)))
		return rc;
	for (unsigned i = 0; i < c->ntests; i++) {
		c->tests[i] = nb_compare_test_find(tnames[i]);
		if (!c->tests[i])
			return cli_usage_error(
			    "compare",
			    "--tests: unknown test '%s' (stream, stream-reverse, rr-tcp, rr-udp, crr)",
			    tnames[i]);
	}
	return 0;
}

/* ---- progress ---- */

static void on_building(void *arg, const char *path)
{
	const struct cmp_args *a = arg;
	if (!a->t.quiet)
		fprintf(stderr, "nbench compare: building path %s\n", path);
}

static void on_left_out(void *arg, const char *path, const char *why)
{
	(void)arg;
	fprintf(stderr, "nbench compare: path %s left out: %s\n", path, why);
}

/* The output being made: the args, and the JSON of the runs. */
static struct cli_compare out;

static void on_run(void *arg, const struct nb_compare_run *r)
{
	const struct cmp_args *a = arg;
	const struct nb_compare *c = out.c;
	const char *msg = r->ok ? "ok" : r->capture && r->rep->n_notes ? r->rep->notes[0] : r->rep->error;
	if (!r->capture)
		cli_compare_record(&out, r);
	if (!a->t.quiet)
		fprintf(stderr, "  round %u  %-14s %-10s %-8s %s\n", r->round, c->cfg.tests[r->ti]->name,
			r->capture ? "capture" : nb_compare_row_placement(c, r->ti, r->pli),
			c->cfg.paths[r->pi], msg);
}

/* ---- output ---- */

/* The tables in format into file; -errno after a one-line error. */
static int write_file(const char *file, enum cli_format format)
{
	FILE *f = fopen(file, "w");
	if (!f) {
		int r = -errno;
		fprintf(stderr, "nbench compare: cannot write %s: %s\n", file, strerror(errno));
		return r;
	}
	cli_compare_write(&out, format, f);
	return fclose(f) ? -EIO : 0;
}

/* --baseline: the compare against FILE; the note on stderr. 0, 1 on a regression, 2 on a baseline of
 * another test. */
static int baseline_gate(const struct cmp_args *a)
{
	char note[512] = "";
	cJSON *doc = cli_compare_doc(&out);
	int g = cli_baseline_check("compare", a->t.baseline, a->tol_pct, doc, note, sizeof(note));
	cJSON_Delete(doc);
	if (note[0])
		fprintf(stderr, "nbench compare: %s\n", note);
	return g;
}

/* The tables on stdout and in -o FILE (and --json-out FILE); the exit status: 1 when interrupted, unwritten
 * or a cell is empty. */
static int report(const struct cmp_args *a)
{
	const struct nb_compare *c = out.c;
	int rc = 0;

	if (cli_quitting()) {
		fprintf(stderr, "nbench compare: interrupted; the table shows the runs that finished\n");
		rc = 1;
	}
	cli_compare_write(&out, a->t.format, stdout);
	if (a->t.output && write_file(a->t.output, a->t.format) < 0)
		rc = 1;
	if (a->json_out && write_file(a->json_out, CLI_JSON) < 0)
		rc = 1;
	for (unsigned ti = 0; ti < c->cfg.ntests; ti++)
		for (unsigned pli = 0; pli < nb_compare_rows(c, ti); pli++)
			for (unsigned pi = 0; pi < c->cfg.npaths; pi++)
				if (!c->cells[ti][pli][pi].n)
					rc = 1;
	if (a->t.baseline && !cli_quitting()) {
		int g = baseline_gate(a);
		rc = rc ? rc : g;
	}
	return rc;
}

/* Builds the paths, runs the rounds, reports. */
static int run(struct cmp_args *a)
{
	char err[256];
	int rc = 0;
	out.c = calloc(1, sizeof(*out.c));
	out.runs_json = cJSON_CreateArray();
	out.path_details = cJSON_CreateObject();
	if (!out.c)
		return 1;
	if (nb_compare_open(out.c, &a->cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "nbench compare: %s\n", err);
		rc = 1;
	} else if (!out.c->cfg.npaths) {
		fprintf(stderr, "nbench compare: no path could be built\n");
		rc = 1;
	} else {
		nb_compare_rounds(out.c);
		rc = report(a);
	}
	nb_compare_close(out.c);
	free(out.c);
	cJSON_Delete(out.runs_json);
	cJSON_Delete(out.path_details);
	return rc;
}

int cmd_compare(int argc, char **argv)
{
	static struct cmp_args a;
	a = (struct cmp_args){.cfg = {.runs = 5,
				      .max_runs = 20,
				      .duration_ns = 5 * NB_NS_PER_S,
				      .ci_level = 95,
				      .pl = {NB_PLACE_SAME},
				      .npl = 1},
			      .paths = DEFAULT_PATHS,
			      .tests = DEFAULT_TESTS};
	int rc = compare_parse(&a, argc, argv);
	if (!rc)
		rc = compare_lists(&a);
	if (rc)
		return rc == 1 ? 0 : rc; /* 1: --help */
	cli_catch_signals();
	cli_where(&a.t, &a.cfg.where);
	if (!a.cfg.where.port) /* -H: the agent's; else the paths' responders' */
		a.cfg.where.port = NB_DEFAULT_PORT;
	a.cfg.hops = a.t.hops;
	a.cfg.quit = cli_quit_flag();
	a.cfg.where.warn = cli_warn;
	a.cfg.building = on_building;
	a.cfg.left_out = on_left_out;
	a.cfg.run = on_run;
	a.cfg.arg = &a;
	return run(&a);
}
