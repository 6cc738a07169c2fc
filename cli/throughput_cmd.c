/* SPDX-License-Identifier: MIT */
/*
 * `nbench throughput` (the zero-loss, or --loss, throughput per Ethernet frame size, by MLRsearch or RFC
 * 2544's binary search): its options into bench/throughput.c's settings (the stream's own are the shared
 * table's, less those the search sets), a line per trial on stderr, and the result per frame size as text,
 * JSON or CSV, with every trial that decided it and --baseline's verdict.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "nbench/clock.h"
#include "nbench/gen.h"
#include "nbench/mlr.h"
#include "nbench/report.h"
#include "nbench/throughput.h"
#include "nbench/units.h"

#define DEFAULT_RES_PCT 1.0
static const unsigned default_sizes[] = {64, 128, 256, 512, 1024, 1280, 1518};

struct tput_opts {
	struct cli_test t;	      /* the stream's settings: where, engine, placement, format */
	struct nb_throughput_cfg run; /* the search's: sizes, loss, trials, resolution, bound, --latency */
	double tol_pct;		      /* --tolerance, with --baseline */
	bool mlr_given; /* an option only MLRsearch takes was given (refused with --search binary) */
};

/* ---- the report ---------------------------------------------------------------------------------------- */

/* The binary search's rows: the rate that passed, the loss at it, the final bracket (the highest rate
 * that passed, the lowest that failed: the answer lies between). */
static void text_binary_rows(const struct nb_throughput_result *x, FILE *out)
{
	char a[32], b[32], fail[24];
	fprintf(out, "%6s %7s %14s %12s %12s %9s %12s %6s %8s\n", "frame", "payload", "frames/s", "L2 bit/s",
		"L1 bit/s", "loss", "failed f/s", "trials", "time");
	for (unsigned i = 0; i < x->n_sizes; i++) {
		const struct nb_throughput_size *s = &x->sizes[i];
		if (s->unsupported) {
			fprintf(out, "%6u %7s  not sent: %s\n", s->frame_bytes, "-", s->unsupported);
			continue;
		}
		snprintf(fail, sizeof(fail), s->res.fail_fps > 0 ? "%.0f" : "-", s->res.fail_fps);
		if (!s->res.found) {
			fprintf(out, "%6u %7u %14s %12s %12s %8.3f%% %12s %6u %7.1fs  %s\n", s->frame_bytes,
				s->payload_bytes, "not found", "-", "-", s->res.fail_loss_pct, fail,
				s->res.trials, s->search_s,
				s->error[0] ? s->error : "(loss above the bound at every rate)");
			continue;
		}
		fprintf(out, "%6u %7u %14.0f %12s %12s %8.3f%% %12s %6u %7.1fs%s%s\n", s->frame_bytes,
			s->payload_bytes, s->res.rate_fps, nb_fmt_bps(nb_throughput_l2_bps(s), a, sizeof(a)),
			nb_fmt_bps(nb_throughput_l1_bps(s), b, sizeof(b)), s->res.loss_pct, fail,
			s->res.trials, s->search_s, s->error[0] ? "  stopped: " : "", s->error);
	}
}

/* MLRsearch's rows: the conditional throughput, the relevant bounds, and why a result is irregular. */
static void text_mlr_rows(const struct nb_throughput_result *x, FILE *out)
{
	char a[32], b[32], lo[24], hi[24];
	fprintf(out, "%6s %7s %14s %12s %12s %12s %12s %6s %8s\n", "frame", "payload", "frames/s", "L2 bit/s",
		"L1 bit/s", "lower f/s", "upper f/s", "trials", "time");
	for (unsigned i = 0; i < x->n_sizes; i++) {
		const struct nb_throughput_size *s = &x->sizes[i];
		const struct nb_mlr_result *m = &s->mlr;
		if (s->unsupported) {
			fprintf(out, "%6u %7s  not sent: %s\n", s->frame_bytes, "-", s->unsupported);
			continue;
		}
		snprintf(lo, sizeof(lo), m->has_lower ? "%.0f" : "-", m->lower_fps);
		snprintf(hi, sizeof(hi), m->has_upper ? "%.0f" : "-", m->upper_fps);
		if (m->has_lower)
			fprintf(out, "%6u %7u %14.0f %12s %12s", s->frame_bytes, s->payload_bytes,
				s->res.rate_fps, nb_fmt_bps(nb_throughput_l2_bps(s), a, sizeof(a)),
				nb_fmt_bps(nb_throughput_l1_bps(s), b, sizeof(b)));
		else
			fprintf(out, "%6u %7u %14s %12s %12s", s->frame_bytes, s->payload_bytes, "not found",
				"-", "-");
		fprintf(out, " %12s %12s %6u %7.1fs", lo, hi, m->n_trials, s->search_s);
		if (s->error[0])
			fprintf(out, "  stopped: %s", s->error);
		else if (m->irregular != NB_MLR_REGULAR)
			fprintf(out, "  irregular: %s", nb_mlr_irregular_str(m->irregular));
		fputc('\n', out);
	}
}

/* Each size's trials at its relevant bounds: what decided the result. */
static void text_trials(const struct tput_opts *o, const struct nb_throughput_result *x, FILE *out)
{
	bool head = false;
	for (unsigned i = 0; i < x->n_sizes; i++) {
		const struct nb_mlr_result *m = &x->sizes[i].mlr;
		for (unsigned k = 0; k < m->n_trials; k++) {
			const struct nb_mlr_trial *t = &m->trials[k];
			const char *bound = nb_throughput_trial_bound(&o->run, &x->sizes[i], t);
			if (!bound)
				continue;
			if (!head)
				fprintf(out,
					"\ntrials at the relevant bounds:\n%6s %6s %14s %9s %12s %12s %11s\n",
					"frame", "bound", "load f/s", "duration", "sent", "received",
					"loss ratio");
			head = true;
			fprintf(out, "%6u %6s %14.1f %8.2fs %12" PRIu64 " %12" PRIu64 " %11.3g\n",
				x->sizes[i].frame_bytes, bound, t->load_fps, t->duration_s, t->sent,
				t->received, t->loss_ratio);
		}
	}
}

static void text_header(const struct tput_opts *o, const struct nb_throughput_result *x, FILE *out)
{
	const char *where = x->path[0] ? x->path : o->t.cfg.host;
	if (o->run.search == NB_THROUGHPUT_MLR) {
		struct nb_mlr_cfg c = nb_throughput_mlr_cfg(&o->run, 8.0 * NB_ETH_MIN_FRAME);
		fprintf(out,
			"nbench throughput (MLRsearch, RFC 9971): engine %s, %s, goal loss ratio %g, exceed "
			"ratio %g, final trials of %g s (the first phase's %g s), duration sum %g s, width "
			"%g%%\n",
			o->t.cfg.engine, where, c.goal.loss_ratio, c.goal.exceed_ratio, c.goal.final_trial_s,
			c.goal.initial_trial_s, c.goal.duration_sum_s, o->run.res_pct);
	} else {
		fprintf(out, "nbench throughput (RFC 2544): engine %s, %s, loss <= %g%%, trials of %g s\n",
			o->t.cfg.engine, where, o->run.loss_pct, (double)o->run.trial_ns / NB_NS_PER_S);
	}
	fprintf(out, "placement: generator cpus %s (%s), responder cpus %s (%s)\n", x->gen_cpus, x->gen_wait,
		x->resp_cpus, x->resp_wait);
}

static void text_latency(const struct nb_throughput_result *x, FILE *out)
{
	const struct nb_throughput_size *sz = x->sizes;
	for (unsigned i = 0; i < x->n_sizes; i++) {
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

static void write_text(const struct tput_opts *o, const struct nb_throughput_result *x, FILE *out)
{
	text_header(o, x, out);
	if (o->run.search == NB_THROUGHPUT_MLR) {
		text_mlr_rows(x, out);
		text_trials(o, x, out);
	} else {
		text_binary_rows(x, out);
	}
	text_latency(x, out);
}

/* Every trial of a size, as the search saw it, with the relevant bound each decided (if any). */
static cJSON *trials_json(const struct tput_opts *o, const struct nb_throughput_size *s)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned k = 0; k < s->mlr.n_trials; k++) {
		const struct nb_mlr_trial *t = &s->mlr.trials[k];
		cJSON *j = cJSON_CreateObject();
		const char *bound = nb_throughput_trial_bound(&o->run, s, t);
		cJSON_AddNumberToObject(j, "load_fps", t->load_fps);
		cJSON_AddNumberToObject(j, "duration_s", t->duration_s);
		cJSON_AddNumberToObject(j, "sent", (double)t->sent);
		cJSON_AddNumberToObject(j, "received", (double)t->received);
		cJSON_AddNumberToObject(j, "offered_fps", t->offered_fps);
		cJSON_AddNumberToObject(j, "loss_ratio", t->loss_ratio);
		cJSON_AddBoolToObject(j, "unpaced", t->unpaced);
		if (o->run.search == NB_THROUGHPUT_MLR)
			cJSON_AddNumberToObject(j, "phase", t->phase);
		if (bound)
			cJSON_AddStringToObject(j, "bound", bound);
		else
			cJSON_AddNullToObject(j, "bound");
		cJSON_AddItemToArray(a, j);
	}
	return a;
}

static void num_or_null(cJSON *j, const char *key, bool has, double v)
{
	if (has)
		cJSON_AddNumberToObject(j, key, v);
	else
		cJSON_AddNullToObject(j, key);
}

/* MLRsearch's result for a size (RFC 9971 4.6: the relevant bounds, the conditional throughput). */
static void mlr_json(cJSON *j, const struct nb_throughput_size *s)
{
	const struct nb_mlr_result *m = &s->mlr;
	cJSON_AddBoolToObject(j, "regular", m->irregular == NB_MLR_REGULAR);
	cJSON_AddStringToObject(j, "result", nb_mlr_irregular_str(m->irregular));
	cJSON_AddNumberToObject(j, "conditional_throughput_fps", m->conditional_fps);
	num_or_null(j, "relevant_lower_fps", m->has_lower, m->lower_fps);
	num_or_null(j, "relevant_upper_fps", m->has_upper, m->upper_fps);
	cJSON_AddNumberToObject(j, "max_fps", m->max_fps);
	cJSON_AddNumberToObject(j, "min_fps", m->min_fps);
	cJSON_AddNumberToObject(j, "max_rx_fps", m->max_rx_fps);
	cJSON_AddNumberToObject(j, "trials_s", m->trials_s);
}

/* The binary search's result for a size: the rate that passed and the lowest that failed. */
static void binary_json(cJSON *j, const struct nb_throughput_size *s)
{
	cJSON_AddNumberToObject(j, "loss_pct", s->res.loss_pct);
	cJSON_AddNumberToObject(j, "frames_sent", (double)s->res.sent);
	cJSON_AddNumberToObject(j, "frames_lost", (double)s->res.lost);
	cJSON_AddNumberToObject(j, "max_fps", s->res.max_fps);
	cJSON_AddNumberToObject(j, "max_rx_fps", s->res.max_rx_fps);
	cJSON_AddNumberToObject(j, "fail_fps", s->res.fail_fps);
	cJSON_AddNumberToObject(j, "fail_loss_pct", s->res.fail_loss_pct);
}

static cJSON *size_json(const struct tput_opts *o, const struct nb_throughput_size *s)
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
	if (o->run.search == NB_THROUGHPUT_MLR)
		mlr_json(j, s);
	else
		binary_json(j, s);
	cJSON_AddNumberToObject(j, "trials", s->res.trials);
	cJSON_AddItemToObject(j, "trial_results", trials_json(o, s));
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

/* MLRsearch's Search Goal, in RFC 9971's terms, and the phases before it. */
static cJSON *goal_json(const struct tput_opts *o)
{
	struct nb_mlr_cfg c = nb_throughput_mlr_cfg(&o->run, 8.0 * NB_ETH_MIN_FRAME);
	cJSON *g = cJSON_CreateObject();
	cJSON_AddNumberToObject(g, "loss_ratio", c.goal.loss_ratio);
	cJSON_AddNumberToObject(g, "exceed_ratio", c.goal.exceed_ratio);
	cJSON_AddNumberToObject(g, "final_trial_s", c.goal.final_trial_s);
	cJSON_AddNumberToObject(g, "duration_sum_s", c.goal.duration_sum_s);
	cJSON_AddNumberToObject(g, "initial_trial_s", c.goal.initial_trial_s);
	cJSON_AddNumberToObject(g, "width", c.goal.width);
	cJSON_AddNumberToObject(g, "width_l1_bps", o->run.res_l1_bps);
	cJSON_AddNumberToObject(g, "preceding_phases", c.preceding);
	cJSON_AddNumberToObject(g, "short_sender_pct", c.short_pct);
	return g;
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
	/* the hosts and interfaces, as a single run's start has them */
	for (const cJSON *c = x->context ? x->context->child : NULL; c; c = c->next)
		cJSON_AddItemToObject(st, c->string, cJSON_Duplicate(c, true));
	cJSON_AddStringToObject(st, "search", o->run.search == NB_THROUGHPUT_MLR ? "mlr" : "binary");
	cJSON_AddNumberToObject(st, "loss_pct", o->run.loss_pct);
	cJSON_AddNumberToObject(st, "trial_s", (double)o->run.trial_ns / NB_NS_PER_S);
	if (o->run.search == NB_THROUGHPUT_MLR)
		cJSON_AddItemToObject(st, "goal", goal_json(o));
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
		cJSON_AddItemToArray(a, size_json(o, &x->sizes[i]));
	return root;
}

static int write_json(const struct tput_opts *o, const struct nb_throughput_result *x, FILE *out)
{
	return cli_json_write(throughput_doc(o, x), out);
}

/* One row per size; rate_fps is the binary search's rate or MLRsearch's conditional throughput, the
 * relevant bounds MLRsearch's (the binary search's rate and lowest failing rate). */
static void write_csv(const struct tput_opts *o, const struct nb_throughput_result *x, FILE *out)
{
	bool mlr = o->run.search == NB_THROUGHPUT_MLR;
	fprintf(out, "frame_bytes,udp_payload_bytes,found,rate_fps,l2_bps,l1_bps,loss_pct,trials,search_s,"
		     "unsupported,search,relevant_lower_fps,relevant_upper_fps,regular\n");
	for (unsigned i = 0; i < x->n_sizes; i++) {
		const struct nb_throughput_size *s = &x->sizes[i];
		fprintf(out, "%u,%u,%d,%.0f,%.0f,%.0f,%.6f,%u,%.3f,%s,%s,%.0f,%.0f,%d\n", s->frame_bytes,
			s->payload_bytes, s->res.found, s->res.rate_fps, nb_throughput_l2_bps(s),
			nb_throughput_l1_bps(s), s->res.loss_pct, s->res.trials, s->search_s,
			s->unsupported ? s->unsupported : "", mlr ? "mlr" : "binary",
			mlr ? s->mlr.lower_fps : s->res.rate_fps, mlr ? s->mlr.upper_fps : s->res.fail_fps,
			mlr ? s->mlr.irregular == NB_MLR_REGULAR : s->res.found);
	}
}

static int write_report(const struct tput_opts *o, const struct nb_throughput_result *x, FILE *out)
{
	switch (o->t.format) {
	case CLI_JSON:
		return write_json(o, x, out);
	case CLI_CSV:
		write_csv(o, x, out);
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

/* A ratio from 0 to below 1, or a percentage ("0.5%"). */
static int parse_ratio(const char *arg, double *ret)
{
	char *end;
	double d = strtod(arg, &end);
	if (end == arg || (*end && strcmp(end, "%")))
		return -EINVAL;
	if (*end)
		d /= 100;
	if (!(d >= 0 && d < 1))
		return -EINVAL;
	*ret = d;
	return 0;
}

static int parse_search(void *base, const char *arg)
{
	struct nb_throughput_cfg *c = &((struct tput_opts *)base)->run;
	if (strcmp(arg, "mlr") && strcmp(arg, "binary"))
		return cli_usage_error("throughput", "--search: '%s' is neither mlr nor binary", arg);
	c->search = !strcmp(arg, "mlr") ? NB_THROUGHPUT_MLR : NB_THROUGHPUT_BINARY;
	return 0;
}

static int parse_goal_loss(void *base, const char *arg)
{
	double d;
	if (parse_ratio(arg, &d) < 0)
		return cli_usage_error(
		    "throughput", "--goal-loss-ratio: '%s' is not a ratio from 0 to below 1 (or a %%)", arg);
	((struct tput_opts *)base)->run.loss_pct = d * 100;
	return 0;
}

static int parse_goal_exceed(void *base, const char *arg)
{
	struct tput_opts *o = base;
	if (parse_ratio(arg, &o->run.exceed_ratio) < 0)
		return cli_usage_error("throughput",
				       "--goal-exceed-ratio: '%s' is not a ratio from 0 to below 1 (or a %%)",
				       arg);
	o->mlr_given = true;
	return 0;
}

/* throughput's own options; the stream's are the shared table's (opts.c), less those the search sets. */
static const struct cli_opt tput_opts[] = {
    {"sizes", 0, "LIST", CLI_C_THROUGHPUT, 0, CLI_OT_FN, .parse = parse_sizes,
     .help = "Ethernet frame sizes in bytes; the UDP payload is the frame less 46\n(Ethernet 14, FCS 4, "
	     "IPv4 20, UDP 8)",
     .dflt = "64,128,256,512,1024,1280,1518"},
    {"search", 0, "S", CLI_C_THROUGHPUT, 0, CLI_OT_FN, .parse = parse_search,
     .help = "mlr (MLRsearch, RFC 9971: a load's verdict from all its trials) or\nbinary (RFC 2544: "
	     "each trial taken as the truth)",
     .dflt = "mlr"},
    {"goal-loss-ratio", 0, "R", CLI_C_THROUGHPUT, 0, CLI_OT_FN, .parse = parse_goal_loss,
     .help = "a trial losing more than R (0.005 or 0.5%) is high-loss (binary: fails)", .dflt = "0"},
    {"loss", 0, "PCT", CLI_C_THROUGHPUT, 0, CLI_OT_FN, .parse = parse_loss, .help = "the same in percent",
     .dflt = "0"},
    {"trial-duration", 0, "SEC", CLI_C_THROUGHPUT, 0, CLI_OT_DURATION,
     CLI_FIELD(struct tput_opts, run.trial_ns), .lo = NB_THROUGHPUT_MIN_TRIAL_NS, .hi = 3600 * NB_NS_PER_S,
     .what = "a duration", .help = "the final trials' duration (binary: every trial's)",
     .dflt = "mlr 1, binary 2"},
    {"trial", 0, "SEC", CLI_C_THROUGHPUT, 0, CLI_OT_DURATION, CLI_FIELD(struct tput_opts, run.trial_ns),
     .lo = NB_THROUGHPUT_MIN_TRIAL_NS, .hi = 3600 * NB_NS_PER_S, .what = "a duration",
     .help = "the same as --trial-duration", .dflt = "mlr 1, binary 2"},
    {"resolution", 0, "R", CLI_C_THROUGHPUT, 0, CLI_OT_FN, .parse = parse_resolution,
     .help = "the goal width: stop when the relevant bounds (binary: the search\ninterval) are within R, "
	     "a percentage of the upper one or an L1 rate\nin bits/s (k, M, G)",
     .dflt = "1%"},
    {"max-rate", 0, "R", CLI_C_THROUGHPUT, 0, CLI_OT_RATE, CLI_FIELD(struct tput_opts, run.max_l1_bps),
     .lo = 0, .hi = (int64_t)NB_MAX_RATE_BPS, .what = "a rate in bits/s",
     .help = "Max Load, L1 bits/s (the line rate); by default each size's first\ntrial runs unpaced and "
	     "what it offered is Max Load"},
    {"goal-duration-sum", 0, "SEC", CLI_C_THROUGHPUT, 0, CLI_OT_DURATION,
     CLI_FIELD(struct tput_opts, run.sum_ns), .lo = 1, .hi = 24 * 3600 * NB_NS_PER_S, .what = "a duration",
     .help = "MLRsearch: the trial time that decides a load (a high-loss trial\nis "
	     "repeated and a low-loss one outweighs it)",
     .dflt = "twice --trial-duration"},
    {"goal-exceed-ratio", 0, "R", CLI_C_THROUGHPUT, 0, CLI_OT_FN, .parse = parse_goal_exceed,
     .help = "MLRsearch: the share of that time that may be high-loss at a lower\nbound (0.5: the median "
	     "trial decides)",
     .dflt = "0.5"},
    {"initial-trial-duration", 0, "SEC", CLI_C_THROUGHPUT, 0, CLI_OT_DURATION,
     CLI_FIELD(struct tput_opts, run.initial_ns), .lo = NB_THROUGHPUT_MIN_TRIAL_NS, .hi = 3600 * NB_NS_PER_S,
     .what = "a duration",
     .help = "MLRsearch: the first of its three phases' trials; the phases between\ngrow to "
	     "--trial-duration",
     .dflt = "a quarter of --trial-duration, at least 0.1"},
    {"latency", 0, NULL, CLI_C_THROUGHPUT, 0, CLI_OT_SET, CLI_FIELD(struct tput_opts, run.latency), .lo = 1,
     .help = "a UDP rr probe (1000/s) beside the stream at 10/50/90/100% of each\nfound rate"},
};

/* The search's settings once every option is in: the trials' default duration, MLRsearch's goal checked.
 * 0 or 2. */
static int search_ready(struct tput_opts *o)
{
	struct nb_throughput_cfg *c = &o->run;
	const char *why;
	if (!c->trial_ns)
		c->trial_ns = c->search == NB_THROUGHPUT_MLR ? NB_THROUGHPUT_MLR_TRIAL_NS
							     : NB_THROUGHPUT_BINARY_TRIAL_NS;
	if (c->search == NB_THROUGHPUT_BINARY) {
		if (o->mlr_given || c->sum_ns || c->initial_ns)
			return cli_usage_error("throughput", "%s is MLRsearch's (--search mlr)",
					       o->mlr_given ? "--goal-exceed-ratio"
					       : c->sum_ns  ? "--goal-duration-sum"
							    : "--initial-trial-duration");
		return 0;
	}
	if (nb_throughput_check(c, &why) < 0)
		return cli_usage_error("throughput", "%s", why);
	return 0;
}

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
		     "[--search mlr|binary]\n"
		     "                         [--goal-loss-ratio R] [--trial-duration SEC] "
		     "[--resolution R] [--latency] [options]",
	    .about = "Throughput per Ethernet frame size: the highest offered rate (a paced UDP "
		     "stream) whose\nloss stays within the goal, by MLRsearch (RFC 9971; the default) "
		     "or RFC 2544's binary search.\nMLRsearch classifies each load by all the trials "
		     "run at it, so one trial hit by a pause of\nthe host does not decide it; it "
		     "reports the conditional throughput, the relevant lower and\nupper bounds, and "
		     "every trial that decided them (--json). The stream options that say where\nand "
		     "how apply; its duration, message size and rate are the search's.",
	    .refused = "is set by the search (see --trial, --sizes)",
	    .udp = true};
	int r;
	memset(o, 0, sizeof(*o));
	memcpy(o->run.sizes, default_sizes, sizeof(default_sizes));
	o->run.n_sizes = sizeof(default_sizes) / sizeof(default_sizes[0]);
	o->run.res_pct = DEFAULT_RES_PCT;
	o->run.exceed_ratio = NB_THROUGHPUT_MLR_EXCEED;
	if ((r = cli_parse_test_as(&cmd, argc, argv, &o->t, o)))
		return r;
	if ((r = search_ready(o)))
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
	bool mlr = ((const struct tput_opts *)arg)->run.search == NB_THROUGHPUT_MLR;
	fprintf(stderr, "  %5u B  %s %12.0f frames/s  (%s L1)  %.2f s  loss %.4f%%  %s\n", t->frame_bytes,
		t->rate_fps > 0 ? "offered" : "unpaced", t->t->sent_fps, nb_fmt_bps(l1_bps, rb, sizeof(rb)),
		t->duration_s, t->loss_pct,
		mlr ? (t->passed ? "low-loss" : "high-loss") : (t->passed ? "pass" : "fail"));
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
	o.run.arg = &o;
	struct nb_throughput_result *x = calloc(1, sizeof(*x));
	if (!x)
		return 1;
	if ((r = nb_throughput_run(&o.run, x)) < 0) {
		fprintf(stderr, "nbench throughput: %s\n", x->error);
		nb_throughput_result_free(x);
		free(x);
		return r == -EINVAL || r == -ENOENT ? 2 : 1;
	}
	bool failed = x->interrupted;
	for (unsigned i = 0; i < x->n_sizes; i++)
		failed |= x->sizes[i].error[0] != '\0';
	failed |= report(&o, x) != 0;
	int gate = failed ? 0 : baseline_gate(&o, x);
	nb_throughput_result_free(x);
	free(x);
	return failed ? 1 : gate;
}
