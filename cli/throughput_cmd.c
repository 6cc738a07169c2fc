/* SPDX-License-Identifier: MIT */
/*
 * nbench throughput: the zero-loss (or --loss) throughput per Ethernet frame size, over trials of a paced UDP
 * stream. Two searches: MLRsearch (RFC 9971, gen/mlr.c; the default), which classifies each load by all its
 * trials and so survives a transient loss, and RFC 2544's binary search (gen/search.c, --search binary),
 * which takes each trial as the truth. The stream's own options (where, engine, placement, format) are the
 * stream command's: they are parsed by cli_parse_test; this file adds the search's options, runs the trials
 * and writes the report.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "nbench/auth.h"
#include "nbench/clock.h"
#include "nbench/engine.h"
#include "nbench/gen.h"
#include "nbench/mlr.h"
#include "nbench/report.h"
#include "nbench/units.h"

#define MAX_SIZES	 32
#define MAX_FRAME_BYTES	 (NB_MAX_UDP_BYTES + NB_ETH_OVERHEAD_BYTES)
#define DEFAULT_TRIAL_NS (2 * NB_NS_PER_S) /* --search binary's */
#define DEFAULT_RES_PCT	 1.0
#define N_LOAD_STEPS	 4
/* MLRsearch's defaults: final trials of 1 s, a goal duration sum of twice that (a high-loss trial at a load
 * is measured again, and a low-loss one there outweighs it, as in TST009's binary search with loss
 * verification), exceed ratio 0.5 (the median trial decides), two coarser phases first, the first on
 * trials of a quarter of the final duration, never below MIN_TRIAL_NS */
#define MLR_TRIAL_NS  NB_NS_PER_S
#define MLR_EXCEED    0.5
#define MLR_PRECEDING 2u
#define MIN_TRIAL_NS  (100 * NB_NS_PER_MS)
static const unsigned default_sizes[] = {64, 128, 256, 512, 1024, 1280, 1518};
static const double load_steps[N_LOAD_STEPS] = {0.1, 0.5, 0.9, 1.0}; /* --latency: of each found rate */

enum tput_search { SEARCH_MLR, SEARCH_BINARY };

struct tput_opts {
	struct cli_test t; /* the stream's settings: where, engine, placement, format */
	unsigned sizes[MAX_SIZES], n_sizes;
	enum tput_search search;
	double loss_pct;  /* --loss (or --goal-loss-ratio x 100) */
	int64_t trial_ns; /* binary: every trial's; MLRsearch: the final trials' (--trial-duration) */
	int64_t initial_ns,
	    sum_ns;	     /* MLRsearch: --initial-trial-duration, --goal-duration-sum (0: default) */
	double exceed_ratio; /* MLRsearch: --goal-exceed-ratio */
	double res_pct, res_l1_bps; /* --resolution: a percentage of the upper bound, or L1 bit/s */
	double max_l1_bps;	    /* --max-rate; 0: each size's first trial runs unpaced */
	bool latency;
	double tol_pct; /* --tolerance, with --baseline */
	char cmdline[512];
};

/* One frame size's outcome. */
struct tput_size {
	unsigned frame_bytes, payload_bytes;
	const char *unsupported; /* why the engine cannot send this size; NULL: searched */
	struct nb_search_result
	    res;		  /* binary; MLRsearch fills found, rate_fps, max_fps, max_rx_fps, trials */
	struct nb_mlr_result mlr; /* MLRsearch's; the binary search's trials in its trials[] alone */
	double search_s;
	char error[256]; /* a trial failed: why (the search stopped there) */
	unsigned n_lat;	 /* --latency: probes run */
	struct tput_lat {
		double load_pct, offered_fps, achieved_fps;
		bool ok;
		struct nb_hist_stats lat;
		uint64_t timeouts;
	} lat[N_LOAD_STEPS];
};

/* ---- where trials run: a path built or opened once, or -H with the engine started once --------------- */

struct tput_ctx {
	const struct tput_opts *o;
	struct cli_path pe;
	bool on_path;
	struct nb_engine *eng;
	struct nb_key key; /* -H: --key-file's key */
	bool keyed;
	unsigned payload_bytes; /* of the size being searched */
	unsigned frame_bytes;
	int64_t trial_ns;	   /* the next trial's duration */
	struct nb_mlr_result *log; /* the binary search's trials go here; NULL: none */
	char gen_cpus[64], resp_cpus[64], gen_wait[32], resp_wait[32], path[32];
	char timestamp[32];
	struct nb_sysinfo client, server;
	cJSON
	    *context; /* the first trial's hosts and interfaces (nb_report_hosts_json, nb_report_nics_json) */
	char error[256];
	bool quiet;
};

/* A responder that runs one test at a time (DPDK's) refuses the next trial until it has let the last one go:
 * a refusal before any flow started is tried again, this often this far apart. */
#define BUSY_TRIES    50
#define BUSY_RETRY_NS (100 * NB_NS_PER_MS)

static bool refused_busy(const struct nb_report *rep)
{
	return rep->n_flows == 0 && strstr(rep->error, "one test at a time");
}

/* Runs one test with cfg where the context says; rep initialised by the caller. 0 or -errno. */
static int ctx_run(struct tput_ctx *x, const struct nb_test_cfg *cfg, struct nb_report *rep)
{
	struct nb_run_hooks hooks = {
	    .engine = x->eng, .data_host = x->o->t.data_host, .key = x->keyed ? &x->key : NULL};
	int r = -EINTR;
	for (unsigned i = 0; i < BUSY_TRIES && !cli_quitting(); i++) {
		if (i) {
			nb_report_free(rep);
			nb_report_init(rep);
			nb_sleep_until(nb_now_ns() + BUSY_RETRY_NS);
		}
		r = x->on_path
			? cli_path_run(&x->pe, cfg, false, rep)
			: cli_run_hosted(x->o->t.data_host ? x->o->t.data_host : cfg->host, &hooks, cfg, rep);
		if (r == 0 || !refused_busy(rep))
			break;
	}
	return r;
}

static int ctx_open(struct tput_ctx *x)
{
	const struct cli_test *t = &x->o->t;
	char err[256] = "";
	int r;
	if (t->path || t->topo) {
		cli_wire = t->wire;
		r = cli_path_open(t->path, t->topo, t->cfg.port, t->key_file, &x->pe, err, sizeof(err));
		if (r < 0) {
			snprintf(x->error, sizeof(x->error), "%s", err);
			return r;
		}
		x->on_path = true;
		return 0;
	}
	if (t->key_file && (r = nb_key_load(t->key_file, &x->key, err, sizeof(err))) < 0) {
		snprintf(x->error, sizeof(x->error), "%s", err);
		return -EINVAL;
	}
	x->keyed = t->key_file != NULL;
	const struct nb_engine_ops *ops = nb_engine_find(t->cfg.engine);
	if (ops && (r = nb_engine_start(ops, &t->cfg, &x->eng, err, sizeof(err))) < 0) {
		snprintf(x->error, sizeof(x->error), "%s", err);
		return r;
	}
	return 0;
}

static void ctx_close(struct tput_ctx *x)
{
	if (x->on_path)
		cli_path_close(&x->pe);
	nb_engine_stop(x->eng);
	x->eng = NULL;
	if (x->keyed)
		nb_key_wipe(&x->key);
	x->keyed = false;
}

/* The paced UDP stream of one trial: payload bytes per datagram, rate_fps datagrams/s (0: unpaced). */
static struct nb_test_cfg trial_cfg(const struct tput_ctx *x, double rate_fps)
{
	struct nb_test_cfg cfg = x->o->t.cfg;
	cfg.kind = NB_TEST_STREAM;
	cfg.proto = NB_PROTO_UDP;
	cfg.reverse = false;
	cfg.msg_bytes = x->payload_bytes;
	cfg.rate_bps = rate_fps * x->payload_bytes * 8.0;
	cfg.duration_ns = x->trial_ns;
	cfg.warmup_ns = 0; /* loss is counted over the whole trial: every frame offered counts */
	cfg.interval_ns = 0;
	return cfg;
}

/* The run's facts the report shows once: taken from the first trial that reached the responder. */
static void ctx_note_facts(struct tput_ctx *x, const struct nb_report *rep)
{
	if (x->timestamp[0])
		return;
	snprintf(x->timestamp, sizeof(x->timestamp), "%s", rep->timestamp);
	snprintf(x->gen_cpus, sizeof(x->gen_cpus), "%s", rep->gen_cpus[0] ? rep->gen_cpus : "any");
	snprintf(x->resp_cpus, sizeof(x->resp_cpus), "%s", rep->resp_cpus[0] ? rep->resp_cpus : "any");
	snprintf(x->gen_wait, sizeof(x->gen_wait), "%s", rep->gen_wait);
	snprintf(x->resp_wait, sizeof(x->resp_wait), "%s", rep->resp_wait);
	snprintf(x->path, sizeof(x->path), "%s", rep->path);
	x->client = rep->client;
	x->server = rep->server;
	x->context = cJSON_CreateObject();
	if (x->context) {
		nb_report_hosts_json(rep, x->context);
		nb_report_nics_json(rep, x->context);
	}
}

/* One trial of x->trial_ns at rate_fps (0: unpaced). 0 or -errno (the reason in x->error). */
static int run_trial(struct tput_ctx *x, double rate_fps, struct nb_trial *ret)
{
	struct nb_test_cfg cfg = trial_cfg(x, rate_fps);
	struct nb_report rep;
	nb_report_init(&rep);
	int r = ctx_run(x, &cfg, &rep);
	if (r < 0 || !rep.complete) {
		snprintf(x->error, sizeof(x->error), "%s", rep.error[0] ? rep.error : strerror(r ? -r : EIO));
		nb_report_free(&rep);
		return r < 0 ? r : -EIO;
	}
	ctx_note_facts(x, &rep);
	ret->sent = rep.msgs_sent;
	ret->lost = rep.lost;
	ret->sent_fps = (double)rep.msgs_sent * NB_NS_PER_S / (double)x->trial_ns;
	if (!x->quiet) {
		char rb[32];
		bool low = nb_trial_passes(ret->sent, ret->lost, x->o->loss_pct);
		fprintf(
		    stderr, "  %5u B  %s %12.0f frames/s  (%s L1)  %.2f s  loss %.4f%%  %s\n", x->frame_bytes,
		    rate_fps > 0 ? "offered" : "unpaced", ret->sent_fps,
		    nb_fmt_bps(ret->sent_fps * (x->frame_bytes + NB_ETH_L1_EXTRA_BYTES) * 8, rb, sizeof(rb)),
		    (double)x->trial_ns / NB_NS_PER_S, rep.loss_pct,
		    x->o->search == SEARCH_MLR ? (low ? "low-loss" : "high-loss") : (low ? "pass" : "fail"));
	}
	nb_report_free(&rep);
	return 0;
}

/* The binary search's trial executor: every trial --trial-duration long, each logged as MLRsearch logs
 * its own (so both reports list the trials that decided the result). */
static int binary_trial(void *arg, double rate_fps, struct nb_trial *ret)
{
	struct tput_ctx *x = arg;
	x->trial_ns = x->o->trial_ns;
	int r = run_trial(x, rate_fps, ret);
	if (r < 0 || !x->log)
		return r;
	struct nb_mlr_result *l = x->log;
	if (l->n_trials == l->cap_trials) {
		unsigned cap = l->cap_trials ? 2 * l->cap_trials : 32;
		struct nb_mlr_trial *n = realloc(l->trials, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		l->trials = n;
		l->cap_trials = cap;
	}
	uint64_t lost = ret->lost < ret->sent ? ret->lost : ret->sent;
	l->trials[l->n_trials++] =
	    (struct nb_mlr_trial){.load_fps = rate_fps > 0 ? rate_fps : ret->sent_fps,
				  .duration_s = (double)x->trial_ns / NB_NS_PER_S,
				  .sent = ret->sent,
				  .received = ret->sent - lost,
				  .offered_fps = ret->sent_fps,
				  .loss_ratio = ret->sent ? (double)lost / (double)ret->sent : 1.0,
				  .unpaced = rate_fps <= 0};
	return 0;
}

/* MLRsearch's trial executor. */
static int mlr_trial(void *arg, double load_fps, double duration_s, struct nb_trial *ret)
{
	struct tput_ctx *x = arg;
	x->trial_ns = (int64_t)llround(duration_s * NB_NS_PER_S);
	return run_trial(x, load_fps, ret);
}

/* ---- latency under load: a probe rr beside a paced stream --------------------------------------------- */

struct load_run {
	struct tput_ctx *x;
	struct nb_test_cfg cfg;
	struct nb_report rep;
	int rc;
};

static void *load_main(void *arg)
{
	struct load_run *l = arg;
	l->rc = ctx_run(l->x, &l->cfg, &l->rep);
	return NULL;
}

/* Runs probe (an rr) beside load (a stream; NULL: alone), both to the same responder; fills the reports
 * (initialised here, freed by the caller). The load starts first and its measured window is the probe's.
 * 0 or -errno of the first that failed. */
static int probe_under_load(struct tput_ctx *x, const struct nb_test_cfg *probe,
			    const struct nb_test_cfg *load, struct nb_report *probe_rep,
			    struct nb_report *load_rep)
{
	struct load_run l = {.x = x};
	pthread_t th;
	bool started = false;
	nb_report_init(probe_rep);
	nb_report_init(load_rep);
	if (load) {
		l.cfg = *load;
		l.cfg.warmup_ns = probe->warmup_ns;
		l.cfg.duration_ns = probe->duration_ns;
		nb_report_init(&l.rep);
		started = pthread_create(&th, NULL, load_main, &l) == 0;
		if (!started)
			return -EAGAIN;
	}
	int r = ctx_run(x, probe, probe_rep);
	if (started) {
		pthread_join(th, NULL);
		*load_rep = l.rep;
		if (r == 0 && l.rc < 0)
			r = l.rc;
	}
	return r;
}

/* The probe of --latency and rr --load: the rr settings of the command, UDP, open loop. */
#define PROBE_DEFAULT_TPS 1000.0
#define PROBE_NS	  (2 * NB_NS_PER_S)
#define LOAD_LEAD_NS	  (300 * NB_NS_PER_MS) /* both runs' warm-up: the handshakes settle before */

static struct nb_test_cfg probe_cfg(const struct nb_test_cfg *base)
{
	struct nb_test_cfg cfg = *base;
	cfg.kind = NB_TEST_RR;
	cfg.proto = NB_PROTO_UDP;
	cfg.flows = 1;
	cfg.depth = 1;
	cfg.req_bytes = cfg.resp_bytes = 64;
	cfg.rate_tps = PROBE_DEFAULT_TPS;
	cfg.rate_bps = 0;
	cfg.msg_bytes = 0;
	cfg.duration_ns = PROBE_NS;
	cfg.warmup_ns = LOAD_LEAD_NS;
	cfg.interval_ns = 0;
	return cfg;
}

/* --latency: the probe beside the size's stream at each step of the found rate. */
static void size_latency(struct tput_ctx *x, struct tput_size *sz)
{
	struct nb_test_cfg probe = probe_cfg(&x->o->t.cfg);
	for (unsigned i = 0; i < N_LOAD_STEPS && sz->res.found && !cli_quitting(); i++) {
		struct tput_lat *L = &sz->lat[sz->n_lat++];
		struct nb_report pr, lr;
		L->load_pct = 100 * load_steps[i];
		L->offered_fps = sz->res.rate_fps * load_steps[i];
		struct nb_test_cfg load = trial_cfg(x, L->offered_fps);
		int r = probe_under_load(x, &probe, &load, &pr, &lr);
		L->ok = r == 0 && pr.complete && lr.complete;
		L->lat = pr.lat;
		L->timeouts = pr.timeouts;
		if (lr.duration_s > 0 && x->payload_bytes)
			L->achieved_fps = lr.goodput_bps / 8 / x->payload_bytes;
		nb_report_free(&pr);
		nb_report_free(&lr);
	}
}

/* MLRsearch's settings for frames of l1_bits on the wire: the goal from the options, loads in frames/s. */
static struct nb_mlr_cfg mlr_cfg(const struct tput_opts *o, double l1_bits)
{
	double fin = (double)o->trial_ns / NB_NS_PER_S, min_s = (double)MIN_TRIAL_NS / NB_NS_PER_S;
	double init = o->initial_ns ? (double)o->initial_ns / NB_NS_PER_S : fmax(fin / 4, fmin(fin, min_s));
	struct nb_mlr_cfg c = {
	    .goal = {.loss_ratio = o->loss_pct / 100,
		     .exceed_ratio = o->exceed_ratio,
		     .final_trial_s = fin,
		     .duration_sum_s = o->sum_ns ? (double)o->sum_ns / NB_NS_PER_S : 2 * fin,
		     .width = o->res_pct / 100,
		     .initial_trial_s = init},
	    .max_fps = o->max_l1_bps / l1_bits,
	    .width_fps = o->res_l1_bps / l1_bits,
	    .preceding = MLR_PRECEDING,
	    .short_pct = NB_SEARCH_SHORT_PCT};
	return c;
}

/* The figures both searches report, from MLRsearch's result: the rate is the conditional throughput. */
static void mlr_to_res(const struct nb_mlr_result *m, struct nb_search_result *r)
{
	r->found = m->has_lower;
	r->rate_fps = m->conditional_fps;
	r->max_fps = m->max_fps;
	r->max_rx_fps = m->max_rx_fps;
	r->fail_fps = m->upper_fps;
	r->trials = m->n_trials;
}

static void search_size(struct tput_ctx *x, struct tput_size *sz)
{
	const struct tput_opts *o = x->o;
	double l1_bits = (sz->frame_bytes + NB_ETH_L1_EXTRA_BYTES) * 8.0;
	struct nb_search_cfg sc = {
	    .max_fps = o->max_l1_bps / l1_bits,
	    .resolution_pct = o->res_pct,
	    .resolution_fps = o->res_l1_bps / l1_bits,
	    .loss_pct = o->loss_pct,
	};
	x->payload_bytes = sz->payload_bytes;
	x->frame_bytes = sz->frame_bytes;
	x->error[0] = '\0';
	int64_t t0 = nb_now_ns();
	int r;
	if (o->search == SEARCH_MLR) {
		struct nb_mlr_cfg mc = mlr_cfg(o, l1_bits);
		r = nb_mlr_search(&mc, mlr_trial, x, &sz->mlr);
		mlr_to_res(&sz->mlr, &sz->res);
	} else {
		x->log = &sz->mlr;
		r = nb_search_rate(&sc, binary_trial, x, &sz->res);
		x->log = NULL;
	}
	if (r < 0)
		snprintf(sz->error, sizeof(sz->error), "%s", x->error[0] ? x->error : "the search failed");
	sz->search_s = (double)(nb_now_ns() - t0) / NB_NS_PER_S;
	x->trial_ns = o->trial_ns;
	if (o->latency && !sz->error[0])
		size_latency(x, sz);
}

/* Why the engine cannot send a frame of this size, or NULL. */
static const char *size_unsupported(const struct tput_ctx *x, unsigned frame)
{
	if (frame < NB_ETH_MIN_FRAME)
		return "below Ethernet's 64-byte minimum frame";
	if (frame < NB_ETH_OVERHEAD_BYTES + NB_UDP_HDR_BYTES)
		return "its UDP payload is shorter than nbench's 8-byte sequence header";
	if (frame - NB_ETH_OVERHEAD_BYTES > NB_MAX_UDP_BYTES)
		return "its UDP payload is above UDP's 65507-byte maximum";
	uint32_t max = x->eng ? x->eng->caps.max_msg_bytes : 0;
	if (max && frame - NB_ETH_OVERHEAD_BYTES > max)
		return "the engine's port sends no datagram this large (its MTU)";
	return NULL;
}

/* ---- the report ---------------------------------------------------------------------------------------- */

static double l2_bps(const struct tput_size *s)
{
	return s->res.rate_fps * s->frame_bytes * 8.0;
}

static double l1_bps(const struct tput_size *s)
{
	return s->res.rate_fps * (s->frame_bytes + NB_ETH_L1_EXTRA_BYTES) * 8.0;
}

/* The binary search's rows: the rate that passed, the loss at it. */
static void text_binary_rows(const struct tput_size *sz, unsigned n, FILE *out)
{
	char a[32], b[32];
	fprintf(out, "%6s %7s %14s %12s %12s %9s %6s %8s\n", "frame", "payload", "frames/s", "L2 bit/s",
		"L1 bit/s", "loss", "trials", "time");
	for (unsigned i = 0; i < n; i++) {
		const struct tput_size *s = &sz[i];
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
			s->payload_bytes, s->res.rate_fps, nb_fmt_bps(l2_bps(s), a, sizeof(a)),
			nb_fmt_bps(l1_bps(s), b, sizeof(b)), s->res.loss_pct, s->res.trials, s->search_s,
			s->error[0] ? "  stopped: " : "", s->error);
	}
}

/* Which relevant bound a trial's load is: "lower", "upper" or NULL. MLRsearch: the loads of its relevant
 * bounds; the binary search: the passing trial at the rate found and the failing one at the lowest rate that
 * failed. */
static const char *trial_bound(const struct tput_opts *o, const struct tput_size *s,
			       const struct nb_mlr_trial *t)
{
	if (o->search == SEARCH_MLR)
		return s->mlr.has_lower && t->load_fps == s->mlr.lower_fps   ? "lower"
		       : s->mlr.has_upper && t->load_fps == s->mlr.upper_fps ? "upper"
									     : NULL;
	bool pass = t->loss_ratio * 100 <= o->loss_pct &&
		    !(!t->unpaced && t->offered_fps < t->load_fps * (1 - NB_SEARCH_SHORT_PCT / 100.0));
	double offered = t->unpaced || t->offered_fps >= t->load_fps ? t->load_fps : t->offered_fps;
	if (pass && s->res.found && offered == s->res.rate_fps)
		return "lower";
	return !pass && s->res.fail_fps > 0 && t->load_fps == s->res.fail_fps ? "upper" : NULL;
}

static void text_header(const struct tput_opts *o, const struct tput_ctx *x, FILE *out)
{
	const char *where = x->path[0] ? x->path : o->t.cfg.host;
	if (o->search == SEARCH_MLR) {
		struct nb_mlr_cfg c = mlr_cfg(o, 8.0 * NB_ETH_MIN_FRAME);
		fprintf(out,
			"nbench throughput (MLRsearch, RFC 9971): engine %s, %s, goal loss ratio %g, exceed "
			"ratio "
			"%g, final trials of %g s (the first phase's %g s), duration sum %g s, width %g%%\n",
			o->t.cfg.engine, where, c.goal.loss_ratio, c.goal.exceed_ratio, c.goal.final_trial_s,
			c.goal.initial_trial_s, c.goal.duration_sum_s, o->res_pct);
	} else {
		fprintf(out, "nbench throughput (RFC 2544): engine %s, %s, loss <= %g%%, trials of %g s\n",
			o->t.cfg.engine, where, o->loss_pct, (double)o->trial_ns / NB_NS_PER_S);
	}
	fprintf(out, "placement: generator cpus %s (%s), responder cpus %s (%s)\n", x->gen_cpus, x->gen_wait,
		x->resp_cpus, x->resp_wait);
}

/* MLRsearch's rows: the conditional throughput, the relevant bounds, and why a result is irregular. */
static void text_mlr_rows(const struct tput_size *sz, unsigned n, FILE *out)
{
	char a[32], b[32], lo[24], hi[24];
	fprintf(out, "%6s %7s %14s %12s %12s %12s %12s %6s %8s\n", "frame", "payload", "frames/s", "L2 bit/s",
		"L1 bit/s", "lower f/s", "upper f/s", "trials", "time");
	for (unsigned i = 0; i < n; i++) {
		const struct tput_size *s = &sz[i];
		const struct nb_mlr_result *m = &s->mlr;
		if (s->unsupported) {
			fprintf(out, "%6u %7s  not sent: %s\n", s->frame_bytes, "-", s->unsupported);
			continue;
		}
		snprintf(lo, sizeof(lo), m->has_lower ? "%.0f" : "-", m->lower_fps);
		snprintf(hi, sizeof(hi), m->has_upper ? "%.0f" : "-", m->upper_fps);
		if (m->has_lower)
			fprintf(out, "%6u %7u %14.0f %12s %12s", s->frame_bytes, s->payload_bytes,
				s->res.rate_fps, nb_fmt_bps(l2_bps(s), a, sizeof(a)),
				nb_fmt_bps(l1_bps(s), b, sizeof(b)));
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
static void text_trials(const struct tput_opts *o, const struct tput_size *sz, unsigned n, FILE *out)
{
	bool head = false;
	for (unsigned i = 0; i < n; i++) {
		const struct nb_mlr_result *m = &sz[i].mlr;
		for (unsigned k = 0; k < m->n_trials; k++) {
			const struct nb_mlr_trial *t = &m->trials[k];
			const char *bound = trial_bound(o, &sz[i], t);
			if (!bound)
				continue;
			if (!head)
				fprintf(out,
					"\ntrials at the relevant bounds:\n%6s %6s %14s %9s %12s %12s %11s\n",
					"frame", "bound", "load f/s", "duration", "sent", "received",
					"loss ratio");
			head = true;
			fprintf(out, "%6u %6s %14.1f %8.2fs %12" PRIu64 " %12" PRIu64 " %11.3g\n",
				sz[i].frame_bytes, bound, t->load_fps, t->duration_s, t->sent, t->received,
				t->loss_ratio);
		}
	}
}

static void write_text(const struct tput_opts *o, const struct tput_ctx *x, const struct tput_size *sz,
		       unsigned n, FILE *out)
{
	text_header(o, x, out);
	if (o->search == SEARCH_MLR) {
		text_mlr_rows(sz, n, out);
		text_trials(o, sz, n, out);
	} else {
		text_binary_rows(sz, n, out);
	}
	for (unsigned i = 0; i < n; i++) {
		const struct tput_size *s = &sz[i];
		if (!s->n_lat)
			continue;
		if (i == 0 || !sz[i - 1].n_lat)
			fprintf(out,
				"\nlatency under load (UDP rr probe, %.0f/s):\n%6s %6s %14s %14s %10s %10s "
				"%10s %10s\n",
				PROBE_DEFAULT_TPS, "frame", "load", "offered f/s", "achieved f/s", "p50",
				"p90", "p99", "max");
		for (unsigned k = 0; k < s->n_lat; k++) {
			const struct tput_lat *L = &s->lat[k];
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

/* Every trial of a size, as the search saw it, with the relevant bound each decided (if any). */
static cJSON *trials_json(const struct tput_opts *o, const struct tput_size *s)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned k = 0; k < s->mlr.n_trials; k++) {
		const struct nb_mlr_trial *t = &s->mlr.trials[k];
		cJSON *j = cJSON_CreateObject();
		const char *bound = trial_bound(o, s, t);
		cJSON_AddNumberToObject(j, "load_fps", t->load_fps);
		cJSON_AddNumberToObject(j, "duration_s", t->duration_s);
		cJSON_AddNumberToObject(j, "sent", (double)t->sent);
		cJSON_AddNumberToObject(j, "received", (double)t->received);
		cJSON_AddNumberToObject(j, "offered_fps", t->offered_fps);
		cJSON_AddNumberToObject(j, "loss_ratio", t->loss_ratio);
		cJSON_AddBoolToObject(j, "unpaced", t->unpaced);
		if (o->search == SEARCH_MLR)
			cJSON_AddNumberToObject(j, "phase", t->phase);
		if (bound)
			cJSON_AddStringToObject(j, "bound", bound);
		else
			cJSON_AddNullToObject(j, "bound");
		cJSON_AddItemToArray(a, j);
	}
	return a;
}

/* MLRsearch's result for a size (RFC 9971 4.6: the relevant bounds, the conditional throughput). */
static void mlr_json(cJSON *j, const struct tput_size *s)
{
	const struct nb_mlr_result *m = &s->mlr;
	cJSON_AddBoolToObject(j, "regular", m->irregular == NB_MLR_REGULAR);
	cJSON_AddStringToObject(j, "result", nb_mlr_irregular_str(m->irregular));
	cJSON_AddNumberToObject(j, "conditional_throughput_fps", m->conditional_fps);
	if (m->has_lower)
		cJSON_AddNumberToObject(j, "relevant_lower_fps", m->lower_fps);
	else
		cJSON_AddNullToObject(j, "relevant_lower_fps");
	if (m->has_upper)
		cJSON_AddNumberToObject(j, "relevant_upper_fps", m->upper_fps);
	else
		cJSON_AddNullToObject(j, "relevant_upper_fps");
	cJSON_AddNumberToObject(j, "max_fps", m->max_fps);
	cJSON_AddNumberToObject(j, "min_fps", m->min_fps);
	cJSON_AddNumberToObject(j, "max_rx_fps", m->max_rx_fps);
	cJSON_AddNumberToObject(j, "trials_s", m->trials_s);
}

/* The binary search's result for a size: the rate that passed and the lowest that failed. */
static void binary_json(cJSON *j, const struct tput_size *s)
{
	cJSON_AddNumberToObject(j, "loss_pct", s->res.loss_pct);
	cJSON_AddNumberToObject(j, "frames_sent", (double)s->res.sent);
	cJSON_AddNumberToObject(j, "frames_lost", (double)s->res.lost);
	cJSON_AddNumberToObject(j, "max_fps", s->res.max_fps);
	cJSON_AddNumberToObject(j, "max_rx_fps", s->res.max_rx_fps);
	cJSON_AddNumberToObject(j, "fail_fps", s->res.fail_fps);
	cJSON_AddNumberToObject(j, "fail_loss_pct", s->res.fail_loss_pct);
}

static cJSON *size_json(const struct tput_opts *o, const struct tput_size *s)
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
	cJSON_AddNumberToObject(j, "l2_bps", l2_bps(s));
	cJSON_AddNumberToObject(j, "l1_bps", l1_bps(s));
	if (o->search == SEARCH_MLR)
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
	struct nb_mlr_cfg c = mlr_cfg(o, 8.0 * NB_ETH_MIN_FRAME);
	cJSON *g = cJSON_CreateObject();
	cJSON_AddNumberToObject(g, "loss_ratio", c.goal.loss_ratio);
	cJSON_AddNumberToObject(g, "exceed_ratio", c.goal.exceed_ratio);
	cJSON_AddNumberToObject(g, "final_trial_s", c.goal.final_trial_s);
	cJSON_AddNumberToObject(g, "duration_sum_s", c.goal.duration_sum_s);
	cJSON_AddNumberToObject(g, "initial_trial_s", c.goal.initial_trial_s);
	cJSON_AddNumberToObject(g, "width", c.goal.width);
	cJSON_AddNumberToObject(g, "width_l1_bps", o->res_l1_bps);
	cJSON_AddNumberToObject(g, "preceding_phases", c.preceding);
	cJSON_AddNumberToObject(g, "short_sender_pct", c.short_pct);
	return g;
}

/* The JSON report (what --json prints and what --baseline compares against). */
static cJSON *throughput_doc(const struct tput_opts *o, const struct tput_ctx *x, const struct tput_size *sz,
			     unsigned n)
{
	cJSON *root = cJSON_CreateObject(), *st = cJSON_AddObjectToObject(root, "start");
	cJSON_AddNumberToObject(root, "schema_version", NB_REPORT_SCHEMA_VERSION);
	cJSON_AddStringToObject(root, "kind", "throughput");
	cJSON_AddStringToObject(st, "nbench_version", NB_VERSION);
	cJSON_AddStringToObject(st, "timestamp", x->timestamp);
	cJSON_AddStringToObject(st, "cmdline", o->cmdline);
	cJSON_AddStringToObject(st, "engine", o->t.cfg.engine);
	cJSON_AddStringToObject(st, "host", o->t.cfg.host);
	cJSON_AddStringToObject(st, "path", x->path);
	cJSON_AddStringToObject(st, "client_kernel", x->client.kernel);
	cJSON_AddStringToObject(st, "server_kernel", x->server.kernel);
	/* the hosts and interfaces, as a single run's start has them */
	for (const cJSON *c = x->context ? x->context->child : NULL; c; c = c->next)
		cJSON_AddItemToObject(st, c->string, cJSON_Duplicate(c, true));
	cJSON_AddStringToObject(st, "search", o->search == SEARCH_MLR ? "mlr" : "binary");
	cJSON_AddNumberToObject(st, "loss_pct", o->loss_pct);
	cJSON_AddNumberToObject(st, "trial_s", (double)o->trial_ns / NB_NS_PER_S);
	if (o->search == SEARCH_MLR)
		cJSON_AddItemToObject(st, "goal", goal_json(o));
	cJSON_AddNumberToObject(st, "resolution_pct", o->res_pct);
	cJSON_AddNumberToObject(st, "resolution_l1_bps", o->res_l1_bps);
	cJSON_AddNumberToObject(st, "max_l1_bps", o->max_l1_bps);
	cJSON *pl = cJSON_AddObjectToObject(st, "placement");
	cJSON_AddStringToObject(pl, "gen_cpus", x->gen_cpus);
	cJSON_AddStringToObject(pl, "resp_cpus", x->resp_cpus);
	cJSON_AddStringToObject(pl, "gen_wait", x->gen_wait);
	cJSON_AddStringToObject(pl, "resp_wait", x->resp_wait);
	cJSON *a = cJSON_AddArrayToObject(root, "sizes");
	for (unsigned i = 0; i < n; i++)
		cJSON_AddItemToArray(a, size_json(o, &sz[i]));
	return root;
}

static int write_json(const struct tput_opts *o, const struct tput_ctx *x, const struct tput_size *sz,
		      unsigned n, FILE *out)
{
	cJSON *root = throughput_doc(o, x, sz, n);
	char *txt = cJSON_Print(root);
	cJSON_Delete(root);
	if (!txt)
		return -ENOMEM;
	int r = fprintf(out, "%s\n", txt) < 0 ? -EIO : 0;
	free(txt);
	return r;
}

/* One row per size; rate_fps is the binary search's rate or MLRsearch's conditional throughput, the
 * relevant bounds MLRsearch's (the binary search's rate and lowest failing rate). */
static void write_csv(const struct tput_opts *o, const struct tput_size *sz, unsigned n, FILE *out)
{
	fprintf(out, "frame_bytes,udp_payload_bytes,found,rate_fps,l2_bps,l1_bps,loss_pct,trials,search_s,"
		     "unsupported,search,relevant_lower_fps,relevant_upper_fps,regular\n");
	for (unsigned i = 0; i < n; i++) {
		const struct tput_size *s = &sz[i];
		bool mlr = o->search == SEARCH_MLR;
		fprintf(out, "%u,%u,%d,%.0f,%.0f,%.0f,%.6f,%u,%.3f,%s,%s,%.0f,%.0f,%d\n", s->frame_bytes,
			s->payload_bytes, s->res.found, s->res.rate_fps, l2_bps(s), l1_bps(s),
			s->res.loss_pct, s->res.trials, s->search_s, s->unsupported ? s->unsupported : "",
			mlr ? "mlr" : "binary", mlr ? s->mlr.lower_fps : s->res.rate_fps,
			mlr ? s->mlr.upper_fps : s->res.fail_fps,
			mlr ? s->mlr.irregular == NB_MLR_REGULAR : s->res.found);
	}
}

static int write_report(const struct tput_opts *o, const struct tput_ctx *x, const struct tput_size *sz,
			unsigned n, FILE *out)
{
	switch (o->t.format) {
	case CLI_JSON:
		return write_json(o, x, sz, n, out);
	case CLI_CSV:
		write_csv(o, sz, n, out);
		return 0;
	default:
		write_text(o, x, sz, n, out);
		return 0;
	}
}

/* ---- options ------------------------------------------------------------------------------------------ */

static void help(void)
{
	printf(
	    "usage: nbench throughput (-H HOST | --path PATH | --topo NAME) [options]\n\n"
	    "  Throughput per Ethernet frame size: the highest offered rate (a paced UDP stream) whose\n"
	    "  loss stays within the goal, by MLRsearch (RFC 9971; the default) or RFC 2544's binary "
	    "search.\n"
	    "  MLRsearch classifies each load by all the trials run at it, so one trial hit by a pause of\n"
	    "  the host does not decide it; it reports the conditional throughput, the relevant lower and\n"
	    "  upper bounds, and every trial that decided them (--json).\n\n"
	    "      --sizes LIST       frame sizes in bytes (64,128,256,512,1024,1280,1518); the UDP payload\n"
	    "                         is the frame less 46 (Ethernet 14, FCS 4, IPv4 20, UDP 8)\n"
	    "      --search S         mlr (MLRsearch, the default) or binary (RFC 2544)\n"
	    "      --goal-loss-ratio R  a trial losing more than R (0.005 or 0.5%%) is high-loss (0)\n"
	    "      --loss PCT         the same in percent\n"
	    "      --trial-duration SEC  the final trials' duration (mlr: 1; binary: every trial's, 2);\n"
	    "                         --trial is the same\n"
	    "      --resolution R     the goal width: stop when the relevant bounds (binary: the search\n"
	    "                         interval) are within R, a percentage of the upper one (1%%) or an L1\n"
	    "                         rate in bits/s (k, M, G)\n"
	    "      --max-rate R       Max Load, L1 bits/s (the line rate); default: each size's first\n"
	    "                         trial runs unpaced and what it offered is Max Load\n"
	    "      --latency          a UDP rr probe (1000/s) beside the stream at 10/50/90/100%% of each\n"
	    "                         found rate\n"
	    "  MLRsearch only:\n"
	    "      --goal-duration-sum SEC  trial time that decides a load (twice --trial-duration): a\n"
	    "                         high-loss trial is repeated and a low-loss one outweighs it\n"
	    "      --goal-exceed-ratio R  the share of that time that may be high-loss at a lower bound\n"
	    "                         (0.5: the median trial decides; 0 with a duration sum equal to\n"
	    "                         --trial-duration: RFC 2544's rule)\n"
	    "      --initial-trial-duration SEC  the first of the three phases' trials (a quarter of\n"
	    "                         --trial-duration, at least 0.1 s); the phases between grow to it\n"
	    "  and the stream options that say where and how: -H, --port, --data-host, --path, --topo,\n"
	    "  --engine, --cpu-gen, --cpu-resp, --spin, --busy-poll, -P, --json, --csv, -o, -q, and\n");
	printf(CLI_DPDK_HELP);
}

/* The options only throughput takes; the rest go to the stream parser. */
enum {
	T_SIZES,
	T_LOSS,
	T_TRIAL,
	T_RES,
	T_MAX,
	T_LATENCY,
	T_SEARCH,
	T_TRIAL_DUR,
	T_INITIAL,
	T_SUM,
	T_GLR,
	T_GER,
	T_N
};
static const struct {
	const char *name;
	bool arg;
} t_opts[T_N] = {{"sizes", true},
		 {"loss", true},
		 {"trial", true},
		 {"resolution", true},
		 {"max-rate", true},
		 {"latency", false},
		 {"search", true},
		 {"trial-duration", true},
		 {"initial-trial-duration", true},
		 {"goal-duration-sum", true},
		 {"goal-loss-ratio", true},
		 {"goal-exceed-ratio", true}};
/* stream options that the search sets itself */
static const char *const t_refused[] = {"-t",	     "--time",	"--msg-size", "-b", "--rate",
					"--reverse", "--proto", "--warmup",   "-i", "--interval"};

static int parse_sizes(const char *arg, struct tput_opts *o)
{
	char buf[256];
	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
		return -EINVAL;
	o->n_sizes = 0;
	for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t u;
		if (o->n_sizes == MAX_SIZES || nb_parse_uint(tok, 1, MAX_FRAME_BYTES, &u) < 0)
			return -EINVAL;
		o->sizes[o->n_sizes++] = (unsigned)u;
	}
	return o->n_sizes ? 0 : -EINVAL;
}

static int parse_pct(const char *arg, double lo, double hi, double *ret)
{
	char *end;
	double d = strtod(arg, &end);
	if (end == arg || (*end && strcmp(end, "%")) || !(d >= lo && d < hi))
		return -EINVAL;
	*ret = d;
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

/* A duration from 100 ms to an hour into *ret. */
static int parse_trial_ns(const char *opt, const char *arg, int64_t *ret)
{
	int64_t ns;
	if (nb_parse_duration(arg, &ns) < 0 || ns < MIN_TRIAL_NS || ns > 3600 * NB_NS_PER_S)
		return cli_usage_error("throughput", "%s: '%s' is not a duration from 100ms to 3600 s", opt,
				       arg);
	*ret = ns;
	return 0;
}

/* MLRsearch's options (the rest apply to both searches). */
static int apply_mlr_opt(int i, const char *arg, struct tput_opts *o)
{
	const char *cmd = "throughput";
	double d;
	switch (i) {
	case T_SEARCH:
		if (strcmp(arg, "mlr") && strcmp(arg, "binary"))
			return cli_usage_error(cmd, "--search: '%s' is neither mlr nor binary", arg);
		o->search = !strcmp(arg, "mlr") ? SEARCH_MLR : SEARCH_BINARY;
		return 0;
	case T_INITIAL:
		return parse_trial_ns("--initial-trial-duration", arg, &o->initial_ns);
	case T_SUM:
		if (nb_parse_duration(arg, &o->sum_ns) < 0 || o->sum_ns <= 0 ||
		    o->sum_ns > 24 * 3600 * NB_NS_PER_S)
			return cli_usage_error(cmd, "--goal-duration-sum: '%s' is not a duration above 0",
					       arg);
		return 0;
	case T_GLR:
		if (parse_ratio(arg, &d) < 0)
			return cli_usage_error(
			    cmd, "--goal-loss-ratio: '%s' is not a ratio from 0 to below 1 (or a %%)", arg);
		o->loss_pct = d * 100;
		return 0;
	case T_GER:
		if (parse_ratio(arg, &o->exceed_ratio) < 0)
			return cli_usage_error(
			    cmd, "--goal-exceed-ratio: '%s' is not a ratio from 0 to below 1 (or a %%)", arg);
		return 0;
	}
	return 0;
}

static int apply_t_opt(int i, const char *arg, struct tput_opts *o)
{
	const char *cmd = "throughput";
	double d;
	if (i >= T_SEARCH && i != T_TRIAL_DUR)
		return apply_mlr_opt(i, arg, o);
	switch (i) {
	case T_SIZES:
		if (parse_sizes(arg, o) < 0)
			return cli_usage_error(cmd,
					       "--sizes: '%s' is not a list of at most %d frame sizes from 1 "
					       "to %u",
					       arg, MAX_SIZES, MAX_FRAME_BYTES);
		return 0;
	case T_LOSS:
		if (parse_pct(arg, 0, 100, &o->loss_pct) < 0)
			return cli_usage_error(cmd, "--loss: '%s' is not a percentage from 0 to below 100",
					       arg);
		return 0;
	case T_TRIAL:
	case T_TRIAL_DUR:
		return parse_trial_ns(i == T_TRIAL ? "--trial" : "--trial-duration", arg, &o->trial_ns);
	case T_RES:
		o->res_pct = o->res_l1_bps = 0;
		if (strchr(arg, '%') ? parse_pct(arg, 1e-6, 50, &o->res_pct) < 0
				     : nb_parse_rate(arg, &o->res_l1_bps) < 0 || o->res_l1_bps <= 0)
			return cli_usage_error(cmd,
					       "--resolution: '%s' is not a percentage above 0 and below "
					       "50%% or a rate in bits/s",
					       arg);
		return 0;
	case T_MAX:
		if (nb_parse_rate(arg, &d) < 0 || d <= 0 || d > NB_MAX_RATE_BPS)
			return cli_usage_error(cmd,
					       "--max-rate: '%s' is not a rate in bits/s above 0 and at most "
					       "10T",
					       arg);
		o->max_l1_bps = d;
		return 0;
	case T_LATENCY:
		o->latency = true;
		return 0;
	}
	return 0;
}

/* argv[i] as one of t_opts: its index (and *val its value, from "--x=v" or the next argument), -1 when it is
 * not one, -2 after an error. */
static int match_t_opt(int argc, char **argv, int *i, const char **val)
{
	const char *a = argv[*i];
	if (strncmp(a, "--", 2))
		return -1;
	for (int k = 0; k < T_N; k++) {
		size_t len = strlen(t_opts[k].name);
		if (strncmp(a + 2, t_opts[k].name, len) || (a[2 + len] && a[2 + len] != '='))
			continue;
		if (!t_opts[k].arg) {
			*val = NULL;
			return a[2 + len] ? (cli_usage_error("throughput", "%s takes no value", a), -2) : k;
		}
		if (a[2 + len] == '=')
			*val = a + 3 + len;
		else if (*i + 1 < argc)
			*val = argv[++*i];
		else
			return cli_usage_error("throughput", "%s needs a value", a), -2;
		return k;
	}
	return -1;
}

/* The search's settings once every option is in: defaults, and MLRsearch's goal checked. 0 or 2. */
static int search_ready(struct tput_opts *o, int argc, char **argv)
{
	static const char *const mlr_only[] = {"--goal-exceed-ratio", "--goal-duration-sum",
					       "--initial-trial-duration", NULL};
	if (!o->trial_ns)
		o->trial_ns = o->search == SEARCH_MLR ? MLR_TRIAL_NS : DEFAULT_TRIAL_NS;
	if (o->search == SEARCH_BINARY) {
		for (int i = 1; i < argc; i++)
			for (const char *const *m = mlr_only; *m; m++)
				if (!strncmp(argv[i], *m, strlen(*m)))
					return cli_usage_error("throughput",
							       "%s is MLRsearch's (--search mlr)", *m);
		return 0;
	}
	if (o->initial_ns > o->trial_ns)
		return cli_usage_error("throughput",
				       "--initial-trial-duration is longer than --trial-duration");
	struct nb_mlr_cfg c = mlr_cfg(o, 8.0 * NB_ETH_MIN_FRAME);
	const char *why;
	if (nb_mlr_cfg_check(&c, &why) < 0)
		return cli_usage_error("throughput", "%s", why);
	return 0;
}

/* 0, 1 after --help, 2 after an error. */
static int parse(int argc, char **argv, struct tput_opts *o)
{
	char **rest = calloc((size_t)argc + 8, sizeof(char *));
	int n = 0, r = 0;
	if (!rest)
		return 2;
	memset(o, 0, sizeof(*o));
	memcpy(o->sizes, default_sizes, sizeof(default_sizes));
	o->n_sizes = sizeof(default_sizes) / sizeof(default_sizes[0]);
	o->res_pct = DEFAULT_RES_PCT;
	o->exceed_ratio = MLR_EXCEED;
	size_t off = (size_t)snprintf(o->cmdline, sizeof(o->cmdline), "nbench throughput");
	for (int i = 1; i < argc && off < sizeof(o->cmdline); i++)
		off += (size_t)snprintf(o->cmdline + off, sizeof(o->cmdline) - off, " %s", argv[i]);
	rest[n++] = "stream";
	rest[n++] = "--proto";
	rest[n++] = "udp";
	for (int i = 1; i < argc && !r; i++) {
		const char *val;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			help();
			r = 1;
			break;
		}
		for (size_t k = 0; k < sizeof(t_refused) / sizeof(t_refused[0]); k++)
			if (!strncmp(argv[i], t_refused[k], strlen(t_refused[k])) &&
			    (!argv[i][strlen(t_refused[k])] || argv[i][strlen(t_refused[k])] == '='))
				r = cli_usage_error(
				    "throughput", "%s is set by the search (see --trial, --sizes)", argv[i]);
		int k = r ? -2 : match_t_opt(argc, argv, &i, &val);
		if (k == -2)
			r = 2;
		else if (k >= 0)
			r = apply_t_opt(k, val, o);
		else
			rest[n++] = argv[i];
	}
	if (!r)
		r = cli_parse_test(n, rest, &o->t);
	if (!r)
		r = search_ready(o, argc, argv);
	if (!r)
		r = cli_baseline_ready("throughput", o->t.baseline, o->t.tolerance, &o->tol_pct);
	free(rest);
	return r;
}

/* --baseline: 1 when a rate is worse than the baseline's beyond --tolerance (each named on stderr), else 0.
 */
static int baseline_gate(const struct tput_opts *o, const struct tput_ctx *x, const struct tput_size *sz)
{
	char note[512];
	if (!o->t.baseline)
		return 0;
	cJSON *doc = throughput_doc(o, x, sz, o->n_sizes);
	int g =
	    doc ? cli_baseline_check("throughput", o->t.baseline, o->tol_pct, doc, note, sizeof(note)) : 1;
	cJSON_Delete(doc);
	return g;
}

int cmd_throughput(int argc, char **argv)
{
	struct tput_opts o;
	int r = parse(argc, argv, &o);
	if (r)
		return r == 1 ? 0 : r;
	cli_catch_signals();
	struct tput_ctx x = {.o = &o, .quiet = o.t.quiet};
	struct tput_size *sz = calloc(o.n_sizes, sizeof(*sz));
	if (!sz)
		return 1;
	if ((r = ctx_open(&x)) < 0) {
		fprintf(stderr, "nbench throughput: %s\n", x.error);
		ctx_close(&x);
		free(sz);
		return r == -EINVAL || r == -ENOENT ? 2 : 1;
	}
	bool failed = false;
	for (unsigned i = 0; i < o.n_sizes; i++) {
		struct tput_size *s = &sz[i];
		s->frame_bytes = o.sizes[i];
		s->payload_bytes =
		    s->frame_bytes > NB_ETH_OVERHEAD_BYTES ? s->frame_bytes - NB_ETH_OVERHEAD_BYTES : 0;
		s->unsupported = size_unsupported(&x, s->frame_bytes);
		if (!s->unsupported && !cli_quitting())
			search_size(&x, s);
		failed |= s->error[0] != '\0' || cli_quitting();
	}
	ctx_close(&x);
	write_report(&o, &x, sz, o.n_sizes, stdout);
	if (o.t.output) {
		FILE *f = fopen(o.t.output, "w");
		if (!f || write_report(&o, &x, sz, o.n_sizes, f) < 0) {
			fprintf(stderr, "nbench throughput: cannot write %s: %s\n", o.t.output,
				strerror(errno));
			failed = true;
		}
		if (f)
			fclose(f);
	}
	for (unsigned i = 0; i < o.n_sizes; i++)
		if (sz[i].error[0])
			fprintf(stderr, "nbench throughput: %u-byte frames: %s\n", sz[i].frame_bytes,
				sz[i].error);
	int gate = failed ? 0 : baseline_gate(&o, &x, sz);
	for (unsigned i = 0; i < o.n_sizes; i++)
		nb_mlr_result_free(&sz[i].mlr);
	cJSON_Delete(x.context);
	free(sz);
	return failed ? 1 : gate;
}

/* ---- rr --load ------------------------------------------------------------------------------------------
 */

static void fill_load(struct nb_report *rep, const struct nb_test_cfg *load, const struct nb_report *idle,
		      const struct nb_report *lr)
{
	struct nb_report_load *L = &rep->load;
	L->on = true;
	L->proto = load->proto;
	L->offered_bps = load->rate_bps;
	L->achieved_bps = lr->goodput_bps;
	L->loss_pct = lr->loss_pct;
	L->idle_txns = idle->txns;
	L->idle_tps = idle->tps;
	L->idle_timeouts = idle->timeouts;
	L->idle_lat = idle->lat;
}

int cli_run_loaded(struct cli_test *t, struct nb_report *rep)
{
	struct tput_opts o = {.t = *t};
	struct tput_ctx x = {.o = &o, .quiet = true};
	struct nb_report idle, lr;
	int r;

	if ((r = ctx_open(&x)) < 0) {
		ctx_close(&x);
		snprintf(rep->error, sizeof(rep->error), "%s", x.error);
		rep->complete = false;
		return r == -EINVAL || r == -ENOENT ? 2 : 1;
	}
	if (x.eng && x.eng->caps.one_test) {
		ctx_close(&x);
		snprintf(rep->error, sizeof(rep->error),
			 "--load: the %s engine's responder runs one test at a time (the probe and the load "
			 "are two)",
			 t->cfg.engine);
		return 2;
	}
	struct nb_test_cfg probe = t->cfg, load = t->cfg;
	if (probe.rate_tps == 0)
		probe.rate_tps = PROBE_DEFAULT_TPS;
	probe.interval_ns = 0;
	if (probe.warmup_ns < LOAD_LEAD_NS)
		probe.warmup_ns = LOAD_LEAD_NS;
	load.kind = NB_TEST_STREAM;
	load.proto = t->load_proto;
	load.reverse = false;
	load.flows = 1;
	load.msg_bytes = 0;
	load.rate_bps = t->load_bps;
	load.rate_tps = 0;
	nb_cfg_resolve(&load);

	nb_report_init(&idle);
	r = ctx_run(&x, &probe, &idle);
	if (r == 0 && idle.complete) {
		nb_report_free(rep);
		r = probe_under_load(&x, &probe, &load, rep, &lr);
		fill_load(rep, &load, &idle, &lr);
		if (r == 0 && !lr.complete)
			r = -EIO;
		if (r < 0 && rep->complete) {
			rep->complete = false;
			snprintf(rep->error, sizeof(rep->error), "the load stream: %.200s",
				 lr.error[0] ? lr.error : strerror(-r));
		}
		nb_report_free(&lr);
	} else {
		rep->complete = false;
		snprintf(rep->error, sizeof(rep->error), "the idle probe: %.200s",
			 idle.error[0] ? idle.error : strerror(r ? -r : EIO));
	}
	snprintf(rep->cmdline, sizeof(rep->cmdline), "%s", t->cmdline);
	nb_report_free(&idle);
	ctx_close(&x);
	return rep->complete ? 0 : 1;
}
