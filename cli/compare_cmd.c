/* SPDX-License-Identifier: MIT */
/*
 * `nbench compare`: its options into bench/compare.c's settings, the rounds' progress on stderr, the tables
 * (compare_out.c) on stdout and in the files asked for, and --baseline's verdict.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "compare_out.h"
#include "nbench/auth.h"
#include "nbench/clock.h"
#include "nbench/compare.h"
#include "nbench/hist.h"
#include "nbench/paired.h"
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
	const char *hist_out;	   /* --hist-out PREFIX: each rr/crr cell's merged histogram */
	double tol_pct;		   /* --tolerance, with --baseline */
	unsigned allow_missing;	   /* --allow-missing: a path left out does not fail the compare */
	bool progress;		   /* a progress line per round (not -q, not --json) */
	bool budget_said;	   /* the projection past --max-time was said */
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

/* What follows compare's options: the names --paths and --tests take, and the exit status. */
static void compare_more(void)
{
	char kinds[256];
	printf(
	    "paths: %s (KIND.2: a second instance, for A/A)\ntests: stream, stream-reverse, rr-tcp, rr-udp, "
	    "crr\nexit status: 0 done, 1 a run or a file failed (or a --baseline regression), 2 bad usage, 3 "
	    "a path\nwas left out (this machine cannot build it) and --allow-missing was not given\n",
	    nb_topo_kinds_join(kinds, sizeof(kinds), ", "));
}

static int parse_pct(const char *opt, const char *arg, double *ret)
{
	if (nb_parse_pct(arg, ret) < 0 || !(*ret > 0 && *ret <= 100))
		return cli_usage_error("compare", "%s: '%s' is not a percentage in (0, 100]", opt, arg);
	return 0;
}

static int parse_precision(void *base, const char *arg)
{
	return parse_pct("--precision", arg, &((struct cmp_args *)base)->cfg.precision_pct);
}

static int parse_p99_precision(void *base, const char *arg)
{
	return parse_pct("--p99-precision", arg, &((struct cmp_args *)base)->cfg.p99_pct);
}

static int parse_cpu_precision(void *base, const char *arg)
{
	return parse_pct("--cpu-precision", arg, &((struct cmp_args *)base)->cfg.cpu_pct);
}

static int parse_seed(void *base, const char *arg)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 0);
	if (errno || end == arg || *end || !v || arg[0] == '-')
		return cli_usage_error("compare", "--seed: '%s' is not a number from 1 to 2^64-1", arg);
	((struct cmp_args *)base)->cfg.seed = v;
	return 0;
}

/* The options this compare replaced: named, with what to use instead. */
static int parse_gone_ci(void *base, const char *arg)
{
	(void)base, (void)arg;
	return cli_usage_error("compare", "--ci is gone: --precision PCT stops when every ratio's 95%% "
					  "interval is within PCT");
}

static int parse_gone_max_runs(void *base, const char *arg)
{
	(void)base, (void)arg;
	return cli_usage_error("compare", "--max-runs is gone: --max-rounds N, or --max-time DURATION");
}

/* --hops[=B], as the tests take it, into compare's test settings. */
static int parse_hops(void *base, const char *arg)
{
	return cli_parse_hops(&((struct cmp_args *)base)->t, arg);
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
 * are the shared table's (opts.c). --ci and --max-runs, replaced, are refused with what to use instead and
 * not listed. */
static const struct cli_opt compare_opts[] = {
    {"paths", 0, "LIST", CLI_C_COMPARE, 0, CLI_OT_ARG, CLI_FIELD(struct cmp_args, paths),
     .help = "the paths, comma-separated (below)", .dflt = DEFAULT_PATHS},
    {"tests", 0, "LIST", CLI_C_COMPARE, 0, CLI_OT_ARG, CLI_FIELD(struct cmp_args, tests),
     .help = "the tests, comma-separated (below)", .dflt = DEFAULT_TESTS},
    {"precision", 0, "PCT", CLI_C_COMPARE, 0, CLI_OT_FN, .parse = parse_precision,
     .help = "rounds go on until every ratio's interval (p50, transactions/s, goodput)\nis within +-PCT; "
	     "judged after 5 rounds, then after the rounds projected"},
    {"p99-precision", 0, "PCT", CLI_C_COMPARE, 0, CLI_OT_FN, .parse = parse_p99_precision,
     .help = "p99's own target with --precision (a tail needs many rounds)", .dflt = "10%"},
    {"cpu-precision", 0, "PCT", CLI_C_COMPARE, 0, CLI_OT_FN, .parse = parse_cpu_precision,
     .help = "the CPU cost's with --precision (sampled system-wide, it spreads more)", .dflt = "10%"},
    {"max-time", 0, "DURATION", CLI_C_COMPARE, 0, CLI_OT_DURATION,
     CLI_FIELD(struct cmp_args, cfg.max_time_ns), .lo = NB_NS_PER_S, .hi = 7 * 24 * 3600 * NB_NS_PER_S,
     .what = "a duration",
     .help = "no round starts that would end later (30s, 2m); after 5 rounds nbench\nsays at once when "
	     "the projection passes it"},
    {"runs", 0, "N", CLI_C_COMPARE, 0, CLI_OT_UINT, CLI_FIELD(struct cmp_args, t.runs), .lo = 1, .hi = 100,
     .what = "a number", .help = "rounds without --precision; the minimum with it", .dflt = "5"},
    {"max-rounds", 0, "N", CLI_C_COMPARE, 0, CLI_OT_UINT, CLI_FIELD(struct cmp_args, cfg.max_rounds), .lo = 2,
     .hi = NB_COMPARE_MAX_RUNS, .what = "a number", .help = "never more rounds",
     .dflt = CLI_STR(NB_COMPARE_MAX_RUNS)},
    {"reference", 0, "PATH", CLI_C_COMPARE, 0, CLI_OT_ARG, CLI_FIELD(struct cmp_args, cfg.reference),
     .help = "the ratios' denominator", .dflt = "native, else the first path"},
    {"seed", 0, "N", CLI_C_COMPARE, 0, CLI_OT_FN, .parse = parse_seed,
     .help = "replay a compare's order (each compare prints its seed)"},
    {"time", 't', "SEC", CLI_C_COMPARE, 0, CLI_OT_DURATION, CLI_FIELD(struct cmp_args, cfg.duration_ns),
     .lo = 100 * NB_NS_PER_MS, .hi = 3600 * NB_NS_PER_S, .what = "a duration", .label = "-t",
     .help = "each run's measured time, after a warm-up of a quarter of it (at most\n1 s)", .dflt = "1"},
    {"placement", 0, "P", CLI_C_COMPARE, 0, CLI_OT_FN, .parse = parse_placement,
     .help = "rr/crr: same (both ends on CPU 0), split (CPU 0 and 1, spinning) or\nboth; streams "
	     "always run unpinned",
     .dflt = "same"},
    {"hist-out", 0, "PREFIX", CLI_C_COMPARE, 0, CLI_OT_ARG, CLI_FIELD(struct cmp_args, hist_out),
     .help = "rr/crr: each path's merged latency histogram, HdrHistogram's text\nformat: "
	     "PREFIX-TEST-PLACEMENT-PATH.hgrm (a line per file written)"},
    {"allow-missing", 0, NULL, CLI_C_COMPARE, 0, CLI_OT_SET, CLI_FIELD(struct cmp_args, allow_missing),
     .lo = 1, .help = "exit 0 when a path could not be built here (default: exit 3)"},
    {"hops", 0, "B", CLI_C_COMPARE, 0, CLI_OT_FN, .parse = parse_hops, .opt_arg = true,
     .help = "rr tests: after each run the same with timestamps on every interface of\nthe path and at "
	     "both sockets: a waterfall per path, their overhead, and\neach path's hops beside the hop "
	     "delta; B: ebpf (kernel probes, the\ndefault where BPF may run), pcap (libpcap), auto"},
    {"capture", 0, "STEM", CLI_C_COMPARE, 0, CLI_OT_ARG, CLI_FIELD(struct cmp_args, t.pathcap.file),
     .help = "each run's packets on every interface of its path into\n"
	     "STEM-PATH-TEST-PLACEMENT-rROUND.pcapng (pcapng; not with --hops)"},
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
    {"ci", 0, "LEVEL,PCT", CLI_C_COMPARE, 0, CLI_OT_FN, .parse = parse_gone_ci},
    {"max-runs", 0, "N", CLI_C_COMPARE, 0, CLI_OT_FN, .parse = parse_gone_max_runs},
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
	if (t->pathcap.file && (t->hops || host))
		return cli_usage_error("compare",
				       "--capture is for paths of this host, without --hops (it would "
				       "count the capture's cost as the probes')");
	char err[256];
	if (t->hops && cli_hops_pick("compare", &t->hops_backend, NB_TEST_RR, NULL, err, sizeof(err)))
		return cli_usage_error("compare", "%s", err);
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
	    .usage = "compare [--paths LIST] [--tests LIST] [--precision PCT] "
		     "[--max-time DURATION] [--runs N]\n"
		     "                      [-t SEC] [options]",
	    .about = "Every test on every path in rounds: each round runs every (test, "
		     "placement, path) once in a\nfresh random order. Each path's ratio to "
		     "the reference and its hop delta (the path minus the one\nit extends) "
		     "come with 95% intervals from the rounds, paired: what hits a whole "
		     "round cancels.",
	    .more = compare_more};
	int optind_, rc;
	cli_test_init(&a->t);
	if ((rc = cli_parse(&cmd, argc, argv, &a->t, a, &optind_)) || (rc = compare_check(a)))
		return rc;
	if (a->t.runs)
		a->cfg.runs = a->t.runs;
	if ((a->cfg.p99_pct > 0 || a->cfg.cpu_pct > 0) && a->cfg.precision_pct <= 0)
		return cli_usage_error("compare", "--%s-precision goes with --precision PCT",
				       a->cfg.p99_pct > 0 ? "p99" : "cpu");
	if (a->cfg.precision_pct > 0 && a->cfg.runs < NB_PAIRED_MIN_ROUNDS)
		return cli_usage_error("compare",
				       "--runs %u with --precision: at least %u rounds (an interval of "
				       "fewer is not judged)",
				       a->cfg.runs, NB_PAIRED_MIN_ROUNDS);
	if (a->cfg.max_rounds && a->cfg.max_rounds < a->cfg.runs)
		return cli_usage_error("compare", "--max-rounds %u is below --runs %u", a->cfg.max_rounds,
				       a->cfg.runs);
	a->progress = !a->t.quiet && a->t.format != CLI_JSON;
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
	for (unsigned i = 0; i < c->npaths; i++) {
		char kind[32];
		const char *dot = strchr(c->paths[i], '.');
		if (!nb_topo_kind_valid(nb_compare_kind(c->paths[i], kind, sizeof(kind))))
			return cli_usage_error("compare", "--paths: unknown path '%s' (%s)", c->paths[i],
					       nb_topo_kinds_join(kinds, sizeof(kinds), ", "));
		if (dot && (strlen(dot + 1) != 1 || dot[1] < '2' || dot[1] > '9'))
			return cli_usage_error("compare",
					       "--paths: '%s': another instance of a path is KIND.N, N "
					       "from 2 to 9",
					       c->paths[i]);
	}
	if (c->reference) {
		bool found = false;
		for (unsigned i = 0; i < c->npaths; i++)
			found |= !strcmp(c->paths[i], c->reference);
		if (!found)
			return cli_usage_error("compare", "--reference %s is not one of --paths",
					       c->reference);
	}
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
	const char *msg = r->capture && r->rep->n_notes ? r->rep->notes[0] : r->rep->error;
	if (!r->capture)
		cli_compare_record(&out, r);
	if (!r->ok && !a->t.quiet)
		fprintf(stderr, "%snbench compare: round %u %s %s %s failed: %s\n",
			a->progress && isatty(2) ? "\n" : "", r->round, c->cfg.tests[r->ti]->name,
			r->capture ? "capture" : nb_compare_row_placement(c, r->ti, r->pli),
			c->cfg.paths[r->pi], msg);
}

/* "1 m 05 s", "19 min", "42 s": a duration for a person. */
static const char *human_time(int64_t ns, char *buf, size_t len)
{
	double s = (double)ns / 1e9;
	if (s >= 600)
		snprintf(buf, len, "%.0f min", s / 60);
	else if (s >= 60)
		snprintf(buf, len, "%d min %02d s", (int)s / 60, (int)s % 60);
	else
		snprintf(buf, len, "%.0f s", s);
	return buf;
}

/* The widest targeted interval: "rr-tcp nat p50 +-3.1% (target 2%)". */
static void widest(const struct nb_compare *c, const struct nb_compare_status *st, char *buf, size_t len)
{
	if (!st->any || isinf(st->widest_pct)) { /* one round: no spread to judge */
		snprintf(buf, len, "no interval yet");
		return;
	}
	char target[32] = "";
	if (st->widest_target_pct > 0)
		snprintf(target, sizeof(target), " (target %g%%)", st->widest_target_pct);
	snprintf(buf, len, "%s%s%s %s %s +-%.1f%%%s", c->cfg.tests[st->wti]->name,
		 nb_compare_rows(c, st->wti) > 1 ? " " : "",
		 nb_compare_rows(c, st->wti) > 1 ? nb_compare_row_placement(c, st->wti, st->wpli) : "",
		 c->cfg.paths[st->wpi], nb_metrics[st->wm].label, st->widest_pct, target);
}

/* After each round: the progress line (a terminal's is rewritten in place), and once, after the minimum
 * rounds, the projection when it passes --max-time. */
static void on_round(void *arg, const struct nb_compare *c)
{
	struct cmp_args *a = arg;
	struct nb_compare_status st;
	char el[32], left[32], w[160];
	nb_compare_status(c, &st);
	if (c->cfg.precision_pct > 0 && st.over_budget && c->rounds >= c->cfg.runs && !a->budget_said) {
		char need[32], budget[32];
		widest(c, &st, w, sizeof(w));
		fprintf(
		    stderr,
		    "%snbench compare: %s needs ~%u rounds (%s); stopping at the budget (--max-time %s)\n",
		    a->progress && isatty(2) ? "\n" : "", w, st.wneed,
		    human_time((int64_t)st.wneed * st.round_ns, need, sizeof(need)),
		    human_time(c->cfg.max_time_ns, budget, sizeof(budget)));
		a->budget_said = true;
	}
	if (!a->progress)
		return;
	widest(c, &st, w, sizeof(w));
	fprintf(stderr, "%sround %u of ~%u, %s elapsed, ~%s left; widest: %s%s", isatty(2) ? "\r\033[K" : "",
		c->rounds, st.projected, human_time(st.elapsed_ns, el, sizeof(el)),
		human_time(st.left_ns, left, sizeof(left)), w, isatty(2) ? "" : "\n");
	fflush(stderr);
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

/* --hist-out PREFIX: each rr/crr cell's merged histogram, PREFIX-TEST-PLACEMENT-PATH.hgrm; -1 when one could
 * not be written. */
static int write_hists(const struct nb_compare *c, const char *prefix)
{
	int rc = 0;
	for (unsigned ti = 0; ti < c->cfg.ntests; ti++)
		for (unsigned pli = 0; pli < nb_compare_rows(c, ti); pli++)
			for (unsigned pi = 0; pi < c->cfg.npaths; pi++) {
				const struct nb_hist *h = nb_compare_hist(c, ti, pli, pi);
				char file[4096];
				if (!h || !h->count)
					continue;
				snprintf(file, sizeof(file), "%s-%s-%s-%s.hgrm", prefix,
					 c->cfg.tests[ti]->name, nb_compare_row_placement(c, ti, pli),
					 c->cfg.paths[pi]);
				FILE *f = fopen(file, "w");
				int r = f ? cli_hist_write(h, f) : -errno;
				if (f && fclose(f) && !r)
					r = -errno;
				if (r < 0) {
					fprintf(stderr, "nbench compare: cannot write %s: %s\n", file,
						strerror(-r));
					rc = -1;
				} else {
					fprintf(stderr, "nbench compare: wrote %s\n", file);
				}
			}
	return rc;
}

/* Why the rounds stopped, in one line on stderr when it is not the plain end (the targets met, --runs). */
static void stop_note(const struct cmp_args *a, const struct nb_compare *c)
{
	struct nb_compare_status st;
	char w[160], el[32];
	nb_compare_status(c, &st);
	if (a->progress && isatty(2))
		fputc('\n', stderr);
	if (c->cfg.precision_pct <= 0 || !st.unmet || cli_quitting())
		return;
	widest(c, &st, w, sizeof(w));
	fprintf(stderr,
		"nbench compare: stopped after %u rounds (%s, %s) with %u interval%s wider than asked; "
		"widest: %s\n",
		c->rounds, human_time(st.elapsed_ns, el, sizeof(el)),
		c->rounds >= c->cfg.max_rounds ? "--max-rounds" : "--max-time", st.unmet,
		st.unmet == 1 ? "" : "s", w);
}

/* The tables on stdout and in -o FILE (and --json-out FILE); the exit status: 1 when interrupted, unwritten
 * or a cell is empty; 3 when a path was left out (without --allow-missing). */
static int report(const struct cmp_args *a)
{
	const struct nb_compare *c = out.c;
	int rc = 0;

	stop_note(a, c);
	if (cli_quitting()) {
		fprintf(stderr, "nbench compare: interrupted; the table shows the runs that finished\n");
		rc = 1;
	}
	cli_compare_write(&out, a->t.format, stdout);
	if (a->t.output && write_file(a->t.output, a->t.format) < 0)
		rc = 1;
	if (a->json_out && write_file(a->json_out, CLI_JSON) < 0)
		rc = 1;
	if (a->hist_out && write_hists(c, a->hist_out) < 0)
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
	if (!rc && c->nskipped && !a->allow_missing) {
		fprintf(stderr, "nbench compare: %u path%s left out (exit 3; --allow-missing accepts that)\n",
			c->nskipped, c->nskipped == 1 ? "" : "s");
		rc = 3;
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
	int r = nb_compare_open(out.c, &a->cfg, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "nbench compare: %s\n", err);
		rc = r == -EINVAL ? 2 : 1;
	} else if (!out.c->cfg.npaths) {
		fprintf(stderr, "nbench compare: no path could be built\n");
		rc = 1;
	} else {
		if (!a->t.quiet)
			fprintf(stderr, "nbench compare: seed %" PRIu64 " (--seed replays the order)\n",
				out.c->seed);
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
	a = (struct cmp_args){
	    .cfg = {.runs = 5, .duration_ns = NB_NS_PER_S, .ci_level = 95, .pl = {NB_PLACE_SAME}, .npl = 1},
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
	a.cfg.hops_backend = a.t.hops_backend;
	a.cfg.pathcap = a.t.pathcap;
	a.cfg.quit = cli_quit_flag();
	a.cfg.where.warn = cli_warn;
	a.cfg.building = on_building;
	a.cfg.left_out = on_left_out;
	a.cfg.run = on_run;
	a.cfg.round_done = on_round;
	a.cfg.arg = &a;
	a.cfg.histograms = true;
	return run(&a);
}
