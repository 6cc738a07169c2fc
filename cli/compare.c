/* SPDX-License-Identifier: MIT */
/*
 * `nbench compare`: its options into bench/compare.c's settings, the rounds' progress on stderr, the tables
 * (compare_out.c) on stdout and in the files asked for, and --baseline's verdict.
 */
#include <errno.h>
#include <getopt.h>
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

/* The command line: the driver's settings and what only the output needs. */
struct cmp_args {
	struct nb_compare_cfg cfg;
	char paths[256], tests[256]; /* --paths, --tests as given */
	enum cli_format format;
	const char *output;
	const char *json_out; /* --json-out: the JSON too, whatever stdout shows (for nbench plot) */
	const char *baseline, *tolerance; /* --baseline FILE --tolerance PCT (diff_cmd.c) */
	double tol_pct;
	bool quiet;
};

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

static void compare_help(void)
{
	char kinds[128];

	printf(
	    "usage: nbench compare [--paths " DEFAULT_PATHS "] [--tests " DEFAULT_TESTS "]\n"
	    "                      [--runs N] [--ci LEVEL,PCT] [--max-runs N] [-t SEC] [--placement "
	    "same|split|both]\n"
	    "                      [--json|--csv] [-o FILE] [--json-out FILE] [-q] [-H SERVER [--port P]] "
	    "[--key-file FILE]\n"
	    "                      [--hops] [--baseline FILE [--tolerance PCT]]\n"
	    "  Every test on every path, interleaved round robin and repeated; mean, confidence interval, "
	    "ratio\n"
	    "  against native and the hop delta of each path against the one it extends.\n"
	    "  paths: %s\n"
	    "  tests: stream stream-reverse rr-tcp rr-udp crr\n"
	    "  --runs N (5)         rounds; with --ci 95,5 rounds go on until every interval is within 5%%\n"
	    "                       of its mean (at most --max-runs, default 20)\n"
	    "  --placement P        rr/crr: same (both ends on CPU 0, default), split (CPU 0 and 1, "
	    "spinning),\n"
	    "                       or both; streams always run unpinned\n"
	    "  --wire IF_A,IF_B     two ports of this host as the wire; --wire-rate R shapes it (tbf)\n"
	    "  -H, --host SERVER    build each path's server half on SERVER (its `nbench serve --paths\n"
	    "                       --key-file K`); needs --key-file\n"
	    "  --port PORT          -H: the agent's port (12865)\n"
	    "  --key-file FILE      the paths' responders require this key (default: "
	    "$NBENCH_KEY_FILE)\n"

	    "  --hops               rr tests: after each run the same with capture on every interface of "
	    "the\n"
	    "                       path: a waterfall per path, the capture's overhead, and each path's "
	    "hops\n"
	    "                       beside the hop delta\n"
	    "  --baseline FILE      after the rounds, exit 1 when a metric is worse than FILE's by more\n"
	    "                       than --tolerance PCT (5%%) beyond its interval (see nbench diff)\n",
	    nb_topo_kinds_join(kinds, sizeof(kinds), " "));
}

/* One option's value into c; 0, or 2 after a one-line error. */
static int compare_opt(struct cmp_args *a, int ch, const char *arg, bool *runs_given)
{
	uint64_t u;
	int64_t ns;

	switch (ch) {
	case 'n':
		if (nb_parse_uint(arg, 1, NB_COMPARE_MAX_RUNS, &u) < 0)
			return cli_usage_error("compare", "--runs: '%s' is not a number from 1 to %d", arg,
					       NB_COMPARE_MAX_RUNS);
		a->cfg.runs = (unsigned)u;
		*runs_given = true;
		return 0;
	case 'm':
		if (nb_parse_uint(arg, 2, NB_COMPARE_MAX_RUNS, &u) < 0)
			return cli_usage_error("compare", "--max-runs: '%s' is not a number from 2 to %d",
					       arg, NB_COMPARE_MAX_RUNS);
		a->cfg.max_runs = (unsigned)u;
		return 0;
	case 'c': {
		double lv, pct;
		char extra;
		if (sscanf(arg, "%lf,%lf%c", &lv, &pct, &extra) != 2 || (lv != 95 && lv != 99) || pct <= 0 ||
		    pct > 100)
			return cli_usage_error(
			    "compare", "--ci: '%s' is not LEVEL,PCT with LEVEL 95 or 99 and PCT in (0,100]",
			    arg);
		a->cfg.ci_level = lv;
		a->cfg.ci_pct = pct;
		return 0;
	}
	case 't':
		if (nb_parse_duration(arg, &ns) < 0 || ns < 100 * NB_NS_PER_MS || ns > 3600 * NB_NS_PER_S)
			return cli_usage_error("compare", "-t: '%s' is not a duration from 100ms to 3600 s",
					       arg);
		a->cfg.duration_ns = ns;
		return 0;
	case 'L':
		if (!strcmp(arg, "same"))
			a->cfg.pl[0] = NB_PLACE_SAME, a->cfg.npl = 1;
		else if (!strcmp(arg, "split"))
			a->cfg.pl[0] = NB_PLACE_SPLIT, a->cfg.npl = 1;
		else if (!strcmp(arg, "both"))
			a->cfg.pl[0] = NB_PLACE_SAME, a->cfg.pl[1] = NB_PLACE_SPLIT, a->cfg.npl = 2;
		else
			return cli_usage_error("compare", "--placement: '%s' is not same, split or both",
					       arg);
		return 0;
	}
	return 0;
}

/* The command line into c and the two lists; 0, 1 after --help, or 2 after a one-line error. */
static int compare_parse(struct cmp_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"paths", required_argument, NULL, 'p'},
	    {"tests", required_argument, NULL, 'T'},
	    {"runs", required_argument, NULL, 'n'},
	    {"ci", required_argument, NULL, 'c'},
	    {"max-runs", required_argument, NULL, 'm'},
	    {"time", required_argument, NULL, 't'},
	    {"placement", required_argument, NULL, 'L'},
	    {"json", no_argument, NULL, 'j'},
	    {"csv", no_argument, NULL, 'v'},
	    {"output", required_argument, NULL, 'o'},
	    {"json-out", required_argument, NULL, 'J'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"hops", no_argument, NULL, 'X'},
	    {"key-file", required_argument, NULL, 'K'},
	    {"help", no_argument, NULL, 'h'},
	    {"wire", required_argument, NULL, 'W'},
	    {"wire-rate", required_argument, NULL, 'R'},
	    {"force", no_argument, NULL, 'F'},
	    {"host", required_argument, NULL, 'H'},
	    {"port", required_argument, NULL, 'P'},
	    {"baseline", required_argument, NULL, 'B'},
	    {"tolerance", required_argument, NULL, 'O'},
	    {0},
	};
	bool runs_given = false;
	const char *env_key = getenv("NBENCH_KEY_FILE");
	a->cfg.where.key_file = env_key && env_key[0] ? env_key : NULL;
	int ch, rc = 0;

	optind = 1;
	opterr = 0;
	while (!rc && (ch = getopt_long(argc, argv, ":t:o:qhH:", opts, NULL)) != -1) {
		const char *opt = argv[optind - 1];
		if (ch == 'p' || ch == 'T')
			snprintf(ch == 'p' ? a->paths : a->tests, sizeof(a->paths), "%s", optarg);
		else if (ch == 'j' || ch == 'v')
			a->format = ch == 'j' ? CLI_JSON : CLI_CSV;
		else if (ch == 'o' || ch == 'J')
			*(ch == 'o' ? &a->output : &a->json_out) = optarg;
		else if (ch == 'B' || ch == 'O')
			*(ch == 'B' ? &a->baseline : &a->tolerance) = optarg;
		else if (ch == 'q')
			a->quiet = true;
		else if (ch == 'X')
			a->cfg.hops = true;
		else if (ch == 'W' || ch == 'F')
			a->cfg.where.wire.ifs = ch == 'W' ? optarg : a->cfg.where.wire.ifs,
			a->cfg.where.wire.force |= ch == 'F';
		else if (ch == 'R') {
			if (nb_parse_rate(optarg, &a->cfg.where.wire.rate_bps) ||
			    a->cfg.where.wire.rate_bps <= 0)
				rc = cli_usage_error("compare", "--wire-rate: '%s' is not a rate in bits/s",
						     optarg);
		} else if (ch == 'K')
			a->cfg.where.key_file = optarg;
		else if (ch == 'H')
			a->cfg.where.host = optarg;
		else if (ch == 'P') {
			if (cli_parse_port(optarg, &a->cfg.where.port) < 0)
				rc = cli_usage_error("compare", "--port: '%s' is not a port number (1-65535)",
						     optarg);
		} else if (ch == 'h') {
			compare_help();
			return 1;
		} else if (ch == ':')
			rc = cli_usage_error("compare", "%s needs a value", opt);
		else if (ch > 0 && strchr("nmctL", ch))
			rc = compare_opt(a, ch, optarg, &runs_given);
		else
			rc = cli_usage_error("compare", "unknown option '%s' (see nbench compare --help)",
					     opt);
	}
	if (!rc && optind < argc)
		rc = cli_usage_error("compare", "unexpected argument '%s'", argv[optind]);
	if (!rc &&
	    a->cfg.where.key_file) { /* a bad key file is bad usage, said once rather than once per path */
		struct nb_key k;
		char err[512];
		if (nb_key_load(a->cfg.where.key_file, &k, err, sizeof(err)) < 0)
			rc = cli_usage_error("compare", "%s", err);
		nb_key_wipe(&k);
	}
	if (!rc && a->cfg.where.port && !a->cfg.where.host)
		rc = cli_usage_error("compare", "--port is the agent's, with -H");
	if (!rc && a->cfg.where.host && a->cfg.hops)
		rc = cli_usage_error("compare", "--hops captures on paths of this host: not with -H");
	if (!rc && a->cfg.where.host && !a->cfg.where.key_file)
		rc =
		    cli_usage_error("compare", "-H needs --key-file (the agent's key: nbench serve --paths)");
	if (!rc && a->cfg.where.host && (a->cfg.where.wire.ifs || a->cfg.where.wire.rate_bps > 0))
		rc = cli_usage_error("compare",
				     "--wire and --wire-rate are for paths built on one host, not with -H");
	if (!rc && a->cfg.ci_pct > 0 && !runs_given)
		a->cfg.runs = 3;
	if (a->cfg.max_runs < a->cfg.runs)
		a->cfg.max_runs = a->cfg.runs;
	if (!rc)
		rc = cli_baseline_ready("compare", a->baseline, a->tolerance, &a->tol_pct);
	return rc;
}

/* --paths and --tests into c; 0 or 2 after a one-line error. */
static int compare_lists(struct cmp_args *a)
{
	struct nb_compare_cfg *c = &a->cfg;
	const char *tnames[NB_COMPARE_MAX_TESTS];
	char kinds[128];
	int rc;

	if ((rc = parse_list("compare", "--paths", a->paths, c->paths, NB_COMPARE_MAX_PATHS, &c->npaths)))
		return rc;
	for (unsigned i = 0; i < c->npaths; i++)
		if (!nb_topo_kind_valid(c->paths[i]))
			return cli_usage_error("compare", "--paths: unknown path '%s' (%s)", c->paths[i],
					       nb_topo_kinds_join(kinds, sizeof(kinds), ", "));
	if ((rc = parse_list("compare", "--tests", a->tests, tnames, NB_COMPARE_MAX_TESTS, &c->ntests)))
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
	if (!a->quiet)
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
	if (!a->quiet)
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
	int g = cli_baseline_check("compare", a->baseline, a->tol_pct, doc, note, sizeof(note));
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
	cli_compare_write(&out, a->format, stdout);
	if (a->output && write_file(a->output, a->format) < 0)
		rc = 1;
	if (a->json_out && write_file(a->json_out, CLI_JSON) < 0)
		rc = 1;
	for (unsigned ti = 0; ti < c->cfg.ntests; ti++)
		for (unsigned pli = 0; pli < nb_compare_rows(c, ti); pli++)
			for (unsigned pi = 0; pi < c->cfg.npaths; pi++)
				if (!c->cells[ti][pli][pi].n)
					rc = 1;
	if (a->baseline && !cli_quitting()) {
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
	struct cmp_args a = {.cfg = {.runs = 5,
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
	if (!a.cfg.where.port) /* -H: the agent's; else the paths' responders' */
		a.cfg.where.port = NB_DEFAULT_PORT;
	a.cfg.quit = cli_quit_flag();
	a.cfg.where.warn = cli_warn;
	a.cfg.building = on_building;
	a.cfg.left_out = on_left_out;
	a.cfg.run = on_run;
	a.cfg.arg = &a;
	return run(&a);
}
