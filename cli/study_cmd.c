/* SPDX-License-Identifier: MIT */
/*
 * `nbench study`: RC25482's network figures reproduced here, the study's numbers beside nbench's. Its options
 * into bench/studyrun.c's settings (the study's defaults), the runs' progress on stderr, the table and the
 * Redis row (study_out.c) on stdout and in the files asked for.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nbench/auth.h"
#include "nbench/clock.h"
#include "nbench/report.h"
#include "nbench/topo.h"
#include "nbench/units.h"
#include "study_out.h"

/* The study's paths and the nbench paths that stand for them, native (the reference) first: host and
 * docker-host for Docker --net=host, nat and docker-nat for Docker NAT, vhost and virtio for KVM. */
#define DEFAULT_PATHS	 "native,host,docker-host,nat,docker-nat,virtio,vhost"
#define DEFAULT_CONNS	 "1,4,16,100,120"
#define DEFAULT_MIX	 "87:5,30:57" /* Redis' SET and GET of a 10-byte key and a 50-byte value */
#define DEFAULT_WIRE_BPS 10e9	      /* the study's 10 GbE link */

struct study_args {
	struct cli_test t; /* -H, --port, --key-file, --wire, --force, --json, -o, -q */
	struct nb_studyrun_cfg cfg;
	const char *paths, *conns, *data, *json_out;
	double wire_bps;      /* --wire-rate: shaping of a wire built here; 0: none */
	bool wire_rate_given; /* --wire-rate given (not the default), which -H refuses */
	double margin_pct;
	bool no_redis;
};

/* What follows study's options: the verdicts, the exit status. */
static void study_more(void)
{
	fputs("verdicts: holds (nbench's ratio interval holds the study's and tells its finding from the\n"
	      "alternative), holds (direction) (both on the same side of parity), differs (on different "
	      "sides),\n"
	      "unresolved (nbench's interval cannot tell)\n"
	      "exit status: 0 done, 1 a run or a file failed (the tables show what finished), 2 bad usage\n",
	      stdout);
}

static int parse_wire_rate(void *base, const char *arg)
{
	struct study_args *a = base;
	double r;
	a->wire_rate_given = true;
	if (!strcmp(arg, "none") || !strcmp(arg, "0")) {
		a->wire_bps = 0;
		return 0;
	}
	if (nb_parse_rate(arg, &r) < 0 || r < 1e6 || r > 1e11)
		return cli_usage_error("study",
				       "--wire-rate: '%s' is not none or a rate from 1M to 100G bits/s", arg);
	a->wire_bps = r;
	return 0;
}

static int parse_placement(void *base, const char *arg)
{
	struct study_args *a = base;
	if (!strcmp(arg, "same"))
		a->cfg.placement = NB_PLACE_SAME;
	else if (!strcmp(arg, "split"))
		a->cfg.placement = NB_PLACE_SPLIT;
	else
		return cli_usage_error("study", "--placement: '%s' is not same or split", arg);
	return 0;
}

static int parse_margin(void *base, const char *arg)
{
	struct study_args *a = base;
	double p;
	if (nb_parse_pct(arg, &p) < 0 || p < 0 || p > 50)
		return cli_usage_error("study", "--margin: '%s' is not a percentage from 0 to 50", arg);
	a->margin_pct = p;
	return 0;
}

/* --seed N: compare's (a 64-bit number, as compare --seed takes it) */
static int parse_seed(void *base, const char *arg)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 0);
	if (errno || end == arg || *end || !v || arg[0] == '-')
		return cli_usage_error("study", "--seed: '%s' is not a number from 1 to 2^64-1", arg);
	((struct study_args *)base)->cfg.seed = v;
	return 0;
}

/* study's own options (-H, --port, --key-file and --wire-rate said as study means them); --wire, --force,
 * --json, -o and -q are the shared table's (opts.c). */
static const struct cli_opt study_opts[] = {
    {"paths", 0, "LIST", CLI_C_STUDY, 0, CLI_OT_ARG, CLI_FIELD(struct study_args, paths),
     .help = "the paths, native first; one this machine cannot run is named with why", .dflt = DEFAULT_PATHS},
    {"rounds", 0, "N", CLI_C_STUDY, 0, CLI_OT_UINT, CLI_FIELD(struct study_args, cfg.rounds), .lo = 1,
     .hi = NB_STUDYRUN_MAX_ROUNDS, .what = "a number of rounds",
     .help = "matrix rounds: every test on every path once per round, interleaved", .dflt = "5"},
    {"time", 't', "SEC", CLI_C_STUDY, 0, CLI_OT_DURATION, CLI_FIELD(struct study_args, cfg.duration_ns),
     .lo = 100 * NB_NS_PER_MS, .hi = 3600 * NB_NS_PER_S, .what = "a duration", .label = "-t",
     .help = "each matrix run (a quarter of it, at most 1 s, is warm-up)", .dflt = "1.5"},
    {"placement", 0, "P", CLI_C_STUDY, 0, CLI_OT_FN, .parse = parse_placement,
     .help = "rr: same (both ends on CPU 0) or split (CPU 0 and 1, spinning)", .dflt = "same"},
    {"wire-rate", 0, "R", CLI_C_STUDY, 0, CLI_OT_FN, .parse = parse_wire_rate,
     .help = "shape the wire of the paths built here to R bits/s each way (the\nstudy's 10 GbE link); "
	     "none: unshaped. Not with -H (the real link is the wire)",
     .dflt = "10G"},
    {"host", 'H', "SERVER", CLI_C_STUDY, 0, CLI_OT_STRING, CLI_FIELD(struct study_args, t.cfg.host),
     .what = "a host name or address",
     .help = "build each path's server half on SERVER (its `nbench serve --paths\n--key-file K`), the "
	     "system under test; needs --key-file"},
    {"port", 'p', "PORT", CLI_C_STUDY, 0, CLI_OT_UINT, CLI_FIELD(struct study_args, t.cfg.port), .lo = 1,
     .hi = UINT16_MAX, .what = "a port number", .label = "--port", .help = "-H: the agent's port",
     .dflt = "12865"},
    {"key-file", 0, "FILE", CLI_C_STUDY, 0, CLI_OT_ARG, CLI_FIELD(struct study_args, t.key_file),
     .help = "the key of the agent (-H) and of the paths' responders", .dflt = "$NBENCH_KEY_FILE"},
    {"redis-conns", 0, "LIST", CLI_C_STUDY, 0, CLI_OT_ARG, CLI_FIELD(struct study_args, conns),
     .help = "the Redis row's connection counts", .dflt = DEFAULT_CONNS},
    {"redis-rounds", 0, "N", CLI_C_STUDY, 0, CLI_OT_UINT, CLI_FIELD(struct study_args, cfg.redis_rounds),
     .lo = 1, .hi = NB_STUDYRUN_MAX_ROUNDS, .what = "a number of rounds", .help = "the Redis row's rounds",
     .dflt = "3"},
    {"redis-time", 0, "SEC", CLI_C_STUDY, 0, CLI_OT_DURATION,
     CLI_FIELD(struct study_args, cfg.redis_duration_ns), .lo = 100 * NB_NS_PER_MS, .hi = 3600 * NB_NS_PER_S,
     .what = "a duration", .help = "each Redis run's duration", .dflt = "1"},
    {"no-redis", 0, NULL, CLI_C_STUDY, 0, CLI_OT_SET, CLI_FIELD(struct study_args, no_redis), .lo = 1,
     .help = "the network figures alone"},
    {"margin", 0, "PCT", CLI_C_STUDY, 0, CLI_OT_FN, .parse = parse_margin,
     .help = "a ratio within PCT of 1 is parity, for the verdicts", .dflt = "5%"},
    {"seed", 0, "N", CLI_C_STUDY, 0, CLI_OT_FN, .parse = parse_seed,
     .help = "replay a study's order of runs in each round (its report prints its seed)"},
    {"study-data", 0, "FILE", CLI_C_STUDY, 0, CLI_OT_ARG, CLI_FIELD(struct study_args, data),
     .help = "the study's figures", .dflt = "the rc25482.json installed with nbench"},
    {"json-out", 0, "FILE", CLI_C_STUDY, 0, CLI_OT_ARG, CLI_FIELD(struct study_args, json_out),
     .help = "also write the JSON report to FILE, whatever stdout shows (for\nnbench plot)"},
};

/* --redis-conns into cfg: 0, or 2 after a one-line error. */
static int parse_conns(struct study_args *a)
{
	char buf[128], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", a->conns);
	a->cfg.nconns = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t n;
		if (a->cfg.nconns == NB_STUDYRUN_MAX_CONNS)
			return cli_usage_error("study", "--redis-conns: at most %d counts",
					       NB_STUDYRUN_MAX_CONNS);
		if (nb_parse_uint(tok, 1, NB_MAX_FLOWS, &n) < 0)
			return cli_usage_error("study", "--redis-conns: '%s' is not a count from 1 to %d",
					       tok, NB_MAX_FLOWS);
		a->cfg.conns[a->cfg.nconns++] = (unsigned)n;
	}
	if (!a->cfg.nconns)
		return cli_usage_error("study", "--redis-conns: the list is empty");
	return 0;
}

/* --paths into cfg (native first; every kind this build knows is kept, the others left out with why by
 * study_out): 0, or 2 after a one-line error. */
static int parse_paths(struct study_args *a, struct cli_study *o)
{
	static char buf[256];
	char *save = NULL;
	snprintf(buf, sizeof(buf), "%s", a->paths);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (unsigned i = 0; i < a->cfg.npaths; i++)
			if (!strcmp(a->cfg.paths[i], tok))
				return cli_usage_error("study", "--paths: '%s' is given twice", tok);
		if (!nb_topo_kind_valid(tok)) {
			cli_study_left_out(o, tok, "not a path of this nbench");
			continue;
		}
		if (a->cfg.npaths == NB_COMPARE_MAX_PATHS)
			return cli_usage_error("study", "--paths: at most %d paths", NB_COMPARE_MAX_PATHS);
		a->cfg.paths[a->cfg.npaths++] = tok;
	}
	if (!a->cfg.npaths || strcmp(a->cfg.paths[0], "native"))
		return cli_usage_error("study", "--paths: native first (the reference of every ratio)");
	return 0;
}

/* What holds only for the options together: 0, or 2 after a one-line error. */
static int study_check(struct study_args *a)
{
	struct cli_test *t = &a->t;
	bool host = t->host_given = t->cfg.host[0] != '\0';
	if (t->key_file) {
		struct nb_key k;
		char err[512];
		int r = nb_key_load(t->key_file, &k, err, sizeof(err));
		nb_key_wipe(&k);
		if (r < 0)
			return cli_usage_error("study", "%s", err);
	}
	if (t->cfg.port && !host)
		return cli_usage_error("study", "--port is the agent's, with -H");
	if (host && (t->wire.ifs || a->wire_rate_given))
		return cli_usage_error("study",
				       "%s is for paths built on one host, not with -H (the real "
				       "link is the wire)",
				       t->wire.ifs ? "--wire" : "--wire-rate");
	if (host && !t->key_file)
		return cli_usage_error("study",
				       "-H needs --key-file (the agent's key: nbench serve --paths)");
	if (host)
		a->wire_bps = 0; /* the real link is the wire */
	return 0;
}

/* The study's figures: --study-data, $NBENCH_STUDY_DATA, the copy beside the build tree's binary, the
 * installed one. */
static const char *study_data(const struct study_args *a, char *buf, size_t len)
{
	const char *env = getenv("NBENCH_STUDY_DATA");
	char exe[PATH_MAX];
	ssize_t n;
	if (a->data)
		return a->data;
	if (env && *env)
		return env;
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		static const char *const rel[] = {"../data/rc25482.json", "../share/nbench/rc25482.json"};
		for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++)
			if (snprintf(buf, len, "%s/%s", exe, rel[i]) < (int)len && !access(buf, R_OK))
				return buf;
	}
	snprintf(buf, len, "%s/rc25482.json", NB_DATADIR);
	return buf;
}

/* ---- progress ---- */

static void on_building(void *arg, const char *path)
{
	const struct study_args *a = arg;
	if (!a->t.quiet)
		fprintf(stderr, "nbench study: building path %s\n", path);
}

static void on_left_out(void *arg, const char *path, const char *why)
{
	(void)arg;
	fprintf(stderr, "nbench study: path %s left out: %s\n", path, why);
}

static void on_run(void *arg, const struct nb_studyrun_progress *p)
{
	const struct study_args *a = arg;
	char fig[48] = "";
	if (a->t.quiet)
		return;
	if (p->ok && p->rep->cfg.kind == NB_TEST_STREAM)
		snprintf(fig, sizeof(fig), "%.2f Gbit/s", p->rep->goodput_bps / 1e9);
	else if (p->ok)
		snprintf(fig, sizeof(fig), "%.0f/s, mean %.1f us%s", p->rep->tps, p->rep->lat.mean_ns / 1e3,
			 p->rep->timeouts ? ", with timeouts" : "");
	if (p->redis)
		fprintf(stderr, "  redis round %u  %3u conns  %-12s %s\n", p->round, p->connections, p->path,
			p->ok ? fig : p->rep->error);
	else
		fprintf(stderr, "  round %u  %-14s %-12s %s\n", p->round, p->test, p->path,
			p->ok ? fig : p->rep->error);
}

/* ---- the run ---- */

static int parse(struct study_args *a, int argc, char **argv, struct cli_study *o)
{
	static const struct cli_cmd cmd = {
	    .name = "study",
	    .bit = CLI_C_STUDY,
	    .kind = -1,
	    .own = study_opts,
	    .n_own = sizeof(study_opts) / sizeof(study_opts[0]),
	    .usage = "study [--paths LIST] [--rounds N] [-t SEC] [--wire-rate R|none]\n"
		     "                      [-H SERVER --key-file FILE] [--no-redis] [options]",
	    .about = "IBM's RC25482 (Felter et al., 2014) network figures on this host or two: goodput and "
		     "system-wide\nCPU cycles per byte of one TCP connection each way, TCP_RR and UDP_RR "
		     "with 100/200-byte\nmessages, and the Redis load (SET/GET, 10 in flight per "
		     "connection) against connections;\nevery path's value and ratio to native with 95% "
		     "intervals beside the study's, and a verdict\nper row.",
	    .more = study_more};
	int optind_, rc;
	size_t n = 0;
	cli_test_init(&a->t);
	for (int i = 0; i < argc && n < sizeof(a->t.cmdline); i++)
		n += (size_t)snprintf(a->t.cmdline + n, sizeof(a->t.cmdline) - n, "%s%s", i ? " " : "nbench ",
				      argv[i]);
	if ((rc = cli_parse(&cmd, argc, argv, &a->t, a, &optind_)) || (rc = study_check(a)) ||
	    (rc = parse_paths(a, o)))
		return rc;
	if (a->no_redis)
		return 0;
	return parse_conns(a);
}

/* The tests the study's figures name, in their order, into cfg. */
static void study_tests(const struct nb_study *s, struct nb_studyrun_cfg *cfg)
{
	for (unsigned f = 0; f < s->nfigs; f++) {
		bool seen = false;
		for (unsigned i = 0; i < cfg->ntests; i++)
			seen |= !strcmp(cfg->tests[i], s->figs[f].test);
		if (!seen && cfg->ntests < NB_COMPARE_MAX_TESTS)
			cfg->tests[cfg->ntests++] = s->figs[f].test;
	}
}

static int run(struct study_args *a, struct cli_study *o)
{
	char err[512];
	int rc = 0;
	if (!(o->r = calloc(1, sizeof(*o->r))))
		return 1;
	int64_t t0 = nb_now_ns();
	if (nb_studyrun_open(o->r, &a->cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "nbench study: %s\n", err);
		rc = 1;
	} else if (!o->r->cc.npaths) {
		fprintf(stderr, "nbench study: no path could be built\n");
		rc = 1;
	} else {
		nb_studyrun_matrix(o->r);
		if (a->cfg.nconns && !cli_quitting())
			nb_studyrun_redis(o->r);
	}
	nb_studyrun_close(o->r);
	o->elapsed_ns = nb_now_ns() - t0;
	if (rc)
		return rc;
	if (cli_quitting())
		fprintf(stderr, "nbench study: interrupted; the tables show the runs that finished\n");
	return cli_study_output(o, a->t.format, a->t.output, a->json_out) < 0 || cli_quitting() ? 1 : 0;
}

int cmd_study(int argc, char **argv)
{
	static struct study_args a;
	static struct cli_study o;
	static struct nb_study s;
	char path[PATH_MAX], err[512];
	a = (struct study_args){.cfg = {.rounds = 5,
					.duration_ns = 3 * NB_NS_PER_S / 2,
					.placement = NB_PLACE_SAME,
					.redis_rounds = 3,
					.redis_duration_ns = NB_NS_PER_S,
					.redis_depth = 10},
				.paths = DEFAULT_PATHS,
				.conns = DEFAULT_CONNS,
				.wire_bps = DEFAULT_WIRE_BPS,
				.margin_pct = NB_STUDY_MARGIN * 100};
	snprintf(a.cfg.redis_mix, sizeof(a.cfg.redis_mix), "%s", DEFAULT_MIX);
	memset(&o, 0, sizeof(o));
	int rc = parse(&a, argc, argv, &o);
	if (rc)
		return rc == 1 ? 0 : rc; /* 1: --help */
	const char *file = study_data(&a, path, sizeof(path));
	if (nb_study_load(file, &s, err, sizeof(err)) < 0)
		return cli_usage_error("study", "%s (--study-data FILE)", err);
	study_tests(&s, &a.cfg);
	cli_catch_signals();
	cli_where(&a.t, &a.cfg.where);
	if (!a.cfg.where.port)
		a.cfg.where.port = NB_DEFAULT_PORT;
	a.cfg.where.wire.rate_bps = a.wire_bps;
	a.cfg.quit = cli_quit_flag();
	a.cfg.building = on_building;
	a.cfg.left_out = on_left_out;
	a.cfg.run = on_run;
	a.cfg.arg = &a;
	o.s = &s;
	o.data_file = file;
	o.margin = a.margin_pct / 100;
	o.cmdline = a.t.cmdline;
	return run(&a, &o);
}
