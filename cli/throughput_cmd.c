/* SPDX-License-Identifier: MIT */
/*
 * `nbench throughput` (RFC 2544 throughput per Ethernet frame size): its options into bench/throughput.c's
 * settings (the stream's own are the shared table's, less those the search sets), a line per trial on stderr,
 * and the result per frame size as text, JSON or CSV, with --baseline's verdict.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "nbench/clock.h"
#include "nbench/gen.h"
#include "nbench/report.h"
#include "nbench/throughput.h"
#include "nbench/units.h"

#define DEFAULT_TRIAL_NS (2 * NB_NS_PER_S)
#define DEFAULT_RES_PCT	 1.0
static const unsigned default_sizes[] = {64, 128, 256, 512, 1024, 1280, 1518};

struct tput_opts {
	struct cli_test t;	      /* the stream's settings: where, engine, placement, format */
	struct nb_throughput_cfg run; /* the search's: sizes, loss, trials, resolution, bound, --latency */
	double tol_pct;		      /* --tolerance, with --baseline */
};

/* ---- the report ---------------------------------------------------------------------------------------- */

static void write_text(const struct tput_opts *o, const struct nb_throughput_result *x, FILE *out)
{
	const struct nb_throughput_size *sz = x->sizes;
	unsigned n = x->n_sizes;
	char a[32], b[32];
	fprintf(out, "nbench throughput (RFC 2544): engine %s, %s, loss <= %g%%, trials of %g s\n",
		o->t.cfg.engine, x->path[0] ? x->path : o->t.cfg.host, o->run.loss_pct,
		(double)o->run.trial_ns / NB_NS_PER_S);
	fprintf(out, "placement: generator cpus %s (%s), responder cpus %s (%s)\n", x->gen_cpus, x->gen_wait,
		x->resp_cpus, x->resp_wait);
	fprintf(out, "%6s %7s %14s %12s %12s %9s %6s %8s\n", "frame", "payload", "frames/s", "L2 bit/s",
		"L1 bit/s", "loss", "trials", "time");
	for (unsigned i = 0; i < n; i++) {
		const struct nb_throughput_size *s = &sz[i];
		if (s->unsupported) {
			fprintf(out, "%6u %7s  not sent: %s\n", s->frame_bytes, "-", s->unsupported);
			continue;
		}
		if (!s->res.found) {
			fprintf(out, "%6u %7u %14s %12s %12s %8.3f%% %6u %7.1fs  %s\n", s->frame_bytes,
				s->payload_bytes, "not found", "-", "-", s->res.fail_loss_pct, s->res.trials,
				s->search_s, s->error[0] ? s->error : "(loss above the bound at every rate)");
			continue;
		}
		fprintf(out, "%6u %7u %14.0f %12s %12s %8.3f%% %6u %7.1fs%s%s\n", s->frame_bytes,
			s->payload_bytes, s->res.rate_fps, nb_fmt_bps(nb_throughput_l2_bps(s), a, sizeof(a)),
			nb_fmt_bps(nb_throughput_l1_bps(s), b, sizeof(b)), s->res.loss_pct, s->res.trials,
			s->search_s, s->error[0] ? "  stopped: " : "", s->error);
	}
	for (unsigned i = 0; i < n; i++) {
		const struct nb_throughput_size *s = &sz[i];
		if (!s->n_lat)
			continue;
		if (i == 0 || !sz[i - 1].n_lat)
			fprintf(out,
				"\nlatency under load (UDP rr probe, %.0f/s):\n%6s %6s %14s %14s %10s %10s "
				"%10s %10s\n",
				NB_LOAD_PROBE_TPS, "frame", "load", "offered f/s", "achieved f/s", "p50",
				"p90", "p99", "max");
		for (unsigned k = 0; k < s->n_lat; k++) {
			const struct nb_throughput_lat *L = &s->lat[k];
			char p50[16], p90[16], p99[16], mx[16];
			fprintf(out, "%6u %5.0f%% %14.0f %14.0f %10s %10s %10s %10s%s\n", s->frame_bytes,
				L->load_pct, L->offered_fps, L->achieved_fps,
				nb_fmt_ns(L->lat.p50_ns, p50, sizeof(p50)),
				nb_fmt_ns(L->lat.p90_ns, p90, sizeof(p90)),
				nb_fmt_ns(L->lat.p99_ns, p99, sizeof(p99)),
				nb_fmt_ns(L->lat.max_ns, mx, sizeof(mx)), L->ok ? "" : "  (failed)");
		}
	}
}

static cJSON *size_json(const struct nb_throughput_size *s)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "frame_bytes", s->frame_bytes);
	cJSON_AddNumberToObject(j, "udp_payload_bytes", s->payload_bytes);
	if (s->unsupported) {
		cJSON_AddStringToObject(j, "unsupported", s->unsupported);
		return j;
	}
	cJSON_AddBoolToObject(j, "found", s->res.found);
	cJSON_AddNumberToObject(j, "rate_fps", s->res.rate_fps);
	cJSON_AddNumberToObject(j, "l2_bps", nb_throughput_l2_bps(s));
	cJSON_AddNumberToObject(j, "l1_bps", nb_throughput_l1_bps(s));
	cJSON_AddNumberToObject(j, "loss_pct", s->res.loss_pct);
	cJSON_AddNumberToObject(j, "frames_sent", (double)s->res.sent);
	cJSON_AddNumberToObject(j, "frames_lost", (double)s->res.lost);
	cJSON_AddNumberToObject(j, "max_fps", s->res.max_fps);
	cJSON_AddNumberToObject(j, "max_rx_fps", s->res.max_rx_fps);
	cJSON_AddNumberToObject(j, "fail_fps", s->res.fail_fps);
	cJSON_AddNumberToObject(j, "fail_loss_pct", s->res.fail_loss_pct);
	cJSON_AddNumberToObject(j, "trials", s->res.trials);
	cJSON_AddNumberToObject(j, "search_s", s->search_s);
	if (s->error[0])
		cJSON_AddStringToObject(j, "error", s->error);
	if (s->n_lat) {
		cJSON *a = cJSON_AddArrayToObject(j, "latency");
		for (unsigned k = 0; k < s->n_lat; k++) {
			cJSON *l = cJSON_CreateObject();
			cJSON_AddNumberToObject(l, "load_pct", s->lat[k].load_pct);
			cJSON_AddNumberToObject(l, "offered_fps", s->lat[k].offered_fps);
			cJSON_AddNumberToObject(l, "achieved_fps", s->lat[k].achieved_fps);
			cJSON_AddBoolToObject(l, "complete", s->lat[k].ok);
			cJSON_AddNumberToObject(l, "timeouts", (double)s->lat[k].timeouts);
			cJSON_AddNumberToObject(l, "transactions", (double)s->lat[k].lat.count);
			cJSON_AddItemToObject(l, "latency_ns", nb_report_latency_json(&s->lat[k].lat));
			cJSON_AddItemToArray(a, l);
		}
	}
	return j;
}

/* The JSON report (what --json prints and what --baseline compares against). */
static cJSON *throughput_doc(const struct tput_opts *o, const struct nb_throughput_result *x)
{
	cJSON *root = cJSON_CreateObject(), *st = cJSON_AddObjectToObject(root, "start");
	cJSON_AddNumberToObject(root, "schema_version", NB_REPORT_SCHEMA_VERSION);
	cJSON_AddStringToObject(root, "kind", "throughput");
	cJSON_AddStringToObject(st, "nbench_version", NB_VERSION);
	cJSON_AddStringToObject(st, "timestamp", x->timestamp);
	cJSON_AddStringToObject(st, "cmdline", o->t.cmdline);
	cJSON_AddStringToObject(st, "engine", o->t.cfg.engine);
	cJSON_AddStringToObject(st, "host", o->t.cfg.host);
	cJSON_AddStringToObject(st, "path", x->path);
	cJSON_AddStringToObject(st, "client_kernel", x->client.kernel);
	cJSON_AddStringToObject(st, "server_kernel", x->server.kernel);
	cJSON_AddNumberToObject(st, "loss_pct", o->run.loss_pct);
	cJSON_AddNumberToObject(st, "trial_s", (double)o->run.trial_ns / NB_NS_PER_S);
	cJSON_AddNumberToObject(st, "resolution_pct", o->run.res_pct);
	cJSON_AddNumberToObject(st, "resolution_l1_bps", o->run.res_l1_bps);
	cJSON_AddNumberToObject(st, "max_l1_bps", o->run.max_l1_bps);
	cJSON *pl = cJSON_AddObjectToObject(st, "placement");
	cJSON_AddStringToObject(pl, "gen_cpus", x->gen_cpus);
	cJSON_AddStringToObject(pl, "resp_cpus", x->resp_cpus);
	cJSON_AddStringToObject(pl, "gen_wait", x->gen_wait);
	cJSON_AddStringToObject(pl, "resp_wait", x->resp_wait);
	cJSON *a = cJSON_AddArrayToObject(root, "sizes");
	for (unsigned i = 0; i < x->n_sizes; i++)
		cJSON_AddItemToArray(a, size_json(&x->sizes[i]));
	return root;
}

static int write_json(const struct tput_opts *o, const struct nb_throughput_result *x, FILE *out)
{
	return cli_json_write(throughput_doc(o, x), out);
}

static void write_csv(const struct nb_throughput_result *x, FILE *out)
{
	const struct nb_throughput_size *sz = x->sizes;
	unsigned n = x->n_sizes;
	fprintf(out, "frame_bytes,udp_payload_bytes,found,rate_fps,l2_bps,l1_bps,loss_pct,trials,search_s,"
		     "unsupported\n");
	for (unsigned i = 0; i < n; i++) {
		const struct nb_throughput_size *s = &sz[i];
		fprintf(out, "%u,%u,%d,%.0f,%.0f,%.0f,%.6f,%u,%.3f,%s\n", s->frame_bytes, s->payload_bytes,
			s->res.found, s->res.rate_fps, nb_throughput_l2_bps(s), nb_throughput_l1_bps(s),
			s->res.loss_pct, s->res.trials, s->search_s, s->unsupported ? s->unsupported : "");
	}
}

static int write_report(const struct tput_opts *o, const struct nb_throughput_result *x, FILE *out)
{
	switch (o->t.format) {
	case CLI_JSON:
		return write_json(o, x, out);
	case CLI_CSV:
		write_csv(x, out);
		return 0;
	default:
		write_text(o, x, out);
		return 0;
	}
}

/* ---- options ------------------------------------------------------------------------------------------ */

static int parse_sizes(void *base, const char *arg)
{
	struct nb_throughput_cfg *c = &((struct tput_opts *)base)->run;
	char buf[256];
	bool ok = snprintf(buf, sizeof(buf), "%s", arg) < (int)sizeof(buf);
	c->n_sizes = 0;
	for (char *save, *tok = ok ? strtok_r(buf, ",", &save) : NULL; tok && ok;
	     tok = strtok_r(NULL, ",", &save)) {
		uint64_t u;
		ok = c->n_sizes < NB_THROUGHPUT_MAX_SIZES &&
		     nb_parse_uint(tok, 1, NB_THROUGHPUT_MAX_FRAME, &u) == 0;
		if (ok)
			c->sizes[c->n_sizes++] = (unsigned)u;
	}
	if (ok && c->n_sizes)
		return 0;
	return cli_usage_error("throughput",
			       "--sizes: '%s' is not a list of at most %d frame sizes from 1 to %u", arg,
			       NB_THROUGHPUT_MAX_SIZES, NB_THROUGHPUT_MAX_FRAME);
}

/* A percentage in [lo, hi). */
static int parse_pct(const char *arg, double lo, double hi, double *ret)
{
	double d;
	if (nb_parse_pct(arg, &d) < 0 || !(d >= lo && d < hi))
		return -EINVAL;
	*ret = d;
	return 0;
}

static int parse_loss(void *base, const char *arg)
{
	if (parse_pct(arg, 0, 100, &((struct tput_opts *)base)->run.loss_pct) < 0)
		return cli_usage_error("throughput", "--loss: '%s' is not a percentage from 0 to below 100",
				       arg);
	return 0;
}

static int parse_resolution(void *base, const char *arg)
{
	struct nb_throughput_cfg *c = &((struct tput_opts *)base)->run;
	c->res_pct = c->res_l1_bps = 0;
	if (strchr(arg, '%') ? parse_pct(arg, 1e-6, 50, &c->res_pct) < 0
			     : nb_parse_rate(arg, &c->res_l1_bps) < 0 || c->res_l1_bps <= 0)
		return cli_usage_error(
		    "throughput",
		    "--resolution: '%s' is not a percentage above 0 and below 50%% or a rate in bits/s", arg);
	return 0;
}

/* throughput's own options; the stream's are the shared table's (opts.c), less those the search sets. */
static const struct cli_opt tput_opts[] = {
    {"sizes", 0, "LIST", CLI_C_THROUGHPUT, 0, CLI_OT_FN, .parse = parse_sizes,
     .help = "Ethernet frame sizes in bytes; the UDP payload is the frame less 46\n(Ethernet 14, FCS 4, "
	     "IPv4 20, UDP 8)",
     .dflt = "64,128,256,512,1024,1280,1518"},
    {"loss", 0, "PCT", CLI_C_THROUGHPUT, 0, CLI_OT_FN, .parse = parse_loss,
     .help = "the loss a passing trial may have, in percent", .dflt = "0"},
    {"trial", 0, "SEC", CLI_C_THROUGHPUT, 0, CLI_OT_DURATION, CLI_FIELD(struct tput_opts, run.trial_ns),
     .lo = 100 * NB_NS_PER_MS, .hi = 3600 * NB_NS_PER_S, .what = "a duration",
     .help = "each trial's duration", .dflt = "2"},
    {"resolution", 0, "R", CLI_C_THROUGHPUT, 0, CLI_OT_FN, .parse = parse_resolution,
     .help = "stop when the search interval is within R: a percentage of the upper\nbound or an L1 "
	     "rate in bits/s (k, M, G)",
     .dflt = "1%"},
    {"max-rate", 0, "R", CLI_C_THROUGHPUT, 0, CLI_OT_RATE, CLI_FIELD(struct tput_opts, run.max_l1_bps),
     .lo = 0, .hi = (int64_t)NB_MAX_RATE_BPS, .what = "a rate in bits/s",
     .help = "the upper bound, L1 bits/s (the line rate); by default each size's\nfirst trial runs "
	     "unpaced and what it offered is the bound"},
    {"latency", 0, NULL, CLI_C_THROUGHPUT, 0, CLI_OT_SET, CLI_FIELD(struct tput_opts, run.latency), .lo = 1,
     .help = "a UDP rr probe (1000/s) beside the stream at 10/50/90/100% of each\nfound rate"},
};

/* 0, 1 after --help, 2 after an error. */
static int parse(int argc, char **argv, struct tput_opts *o)
{
	static const struct cli_cmd cmd = {
	    .name = "throughput",
	    .bit = CLI_C_THROUGHPUT,
	    .kind = NB_TEST_STREAM,
	    .own = tput_opts,
	    .n_own = sizeof(tput_opts) / sizeof(tput_opts[0]),
	    .usage = "throughput (-H HOST | --path PATH | --topo NAME) [--sizes LIST] "
		     "[--loss PCT] [--trial SEC]\n"
		     "                         [--resolution R] [--latency] [options]",
	    .about = "RFC 2544 throughput: per Ethernet frame size, the highest offered "
		     "rate (a paced UDP stream)\nwhose loss stays within --loss, by binary "
		     "search over trials. The stream options that say\nwhere and how "
		     "apply; its duration, message size and rate are the search's.",
	    .refused = "is set by the search (see --trial, --sizes)",
	    .udp = true};
	int r;
	memset(o, 0, sizeof(*o));
	memcpy(o->run.sizes, default_sizes, sizeof(default_sizes));
	o->run.n_sizes = sizeof(default_sizes) / sizeof(default_sizes[0]);
	o->run.trial_ns = DEFAULT_TRIAL_NS;
	o->run.res_pct = DEFAULT_RES_PCT;
	if ((r = cli_parse_test_as(&cmd, argc, argv, &o->t, o)))
		return r;
	return cli_baseline_ready("throughput", o->t.baseline, o->t.tolerance, &o->tol_pct);
}

/* --baseline: 1 when a rate is worse than the baseline's beyond --tolerance (each named on stderr), else 0.
 */
static int baseline_gate(const struct tput_opts *o, const struct nb_throughput_result *x)
{
	char note[512];
	if (!o->t.baseline)
		return 0;
	cJSON *doc = throughput_doc(o, x);
	int g =
	    doc ? cli_baseline_check("throughput", o->t.baseline, o->tol_pct, doc, note, sizeof(note)) : 1;
	cJSON_Delete(doc);
	return g;
}

static void print_trial(void *arg, const struct nb_throughput_trial *t)
{
	char rb[32];
	double l1_bps = t->t->sent_fps * (t->frame_bytes + NB_ETH_L1_EXTRA_BYTES) * 8;
	(void)arg;
	fprintf(stderr, "  %5u B  %s %12.0f frames/s  (%s L1)  loss %.4f%%  %s\n", t->frame_bytes,
		t->rate_fps > 0 ? "offered" : "unpaced", t->t->sent_fps, nb_fmt_bps(l1_bps, rb, sizeof(rb)),
		t->loss_pct, t->passed ? "pass" : "fail");
}

/* The report on stdout and in -o FILE; the errors of each size. 1 when one could not be written. */
static int report(const struct tput_opts *o, const struct nb_throughput_result *x)
{
	int rc = 0;
	write_report(o, x, stdout);
	if (o->t.output) {
		FILE *f = fopen(o->t.output, "w");
		if (!f || write_report(o, x, f) < 0) {
			fprintf(stderr, "nbench throughput: cannot write %s: %s\n", o->t.output,
				strerror(errno));
			rc = 1;
		}
		if (f)
			fclose(f);
	}
	for (unsigned i = 0; i < x->n_sizes; i++)
		if (x->sizes[i].error[0])
			fprintf(stderr, "nbench throughput: %u-byte frames: %s\n", x->sizes[i].frame_bytes,
				x->sizes[i].error);
	return rc;
}

int cmd_throughput(int argc, char **argv)
{
	struct tput_opts o;
	int r = parse(argc, argv, &o);
	if (r)
		return r == 1 ? 0 : r;
	cli_catch_signals();
	cli_where(&o.t, &o.run.where);
	o.run.where.for_ns = 0; /* -H with --path: the search's trials, as many as it takes */
	o.run.base = o.t.cfg;
	o.run.quit = cli_quit_flag();
	o.run.trial = o.t.quiet ? NULL : print_trial;
	struct nb_throughput_result *x = calloc(1, sizeof(*x));
	if (!x)
		return 1;
	if ((r = nb_throughput_run(&o.run, x)) < 0) {
		fprintf(stderr, "nbench throughput: %s\n", x->error);
		free(x);
		return r == -EINVAL || r == -ENOENT ? 2 : 1;
	}
	bool failed = x->interrupted;
	for (unsigned i = 0; i < x->n_sizes; i++)
		failed |= x->sizes[i].error[0] != '\0';
	failed |= report(&o, x) != 0;
	int gate = failed ? 0 : baseline_gate(&o, x);
	free(x);
	return failed ? 1 : gate;
}
