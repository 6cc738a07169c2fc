/* SPDX-License-Identifier: MIT */
/*
 * Throughput's driver (throughput.h): one target opened for every trial; per frame size the search
 * (MLRsearch, gen/mlr.c, or RFC 2544's binary search, gen/search.c) over trials of a paced UDP stream, then
 * --latency's probes at steps of the rate found.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "nbench/clock.h"
#include "nbench/engine.h"
#include "nbench/report.h"
#include "nbench/throughput.h"

static const double load_steps[NB_THROUGHPUT_LOAD_STEPS] = {0.1, 0.5, 0.9, 1.0}; /* of each found rate */

/* The search under way: the target, the size being searched, what the trials found. */
struct search {
	const struct nb_throughput_cfg *cfg;
	struct nb_throughput_result *res;
	struct nb_target *t;
	struct nb_run_opts run;
	const struct nb_throughput_size *size;
	int64_t trial_ns;	   /* the next trial's duration */
	struct nb_mlr_result *log; /* the binary search's trials go here; NULL: none */
	char error[256];
};

static bool quitting(const struct nb_throughput_cfg *c)
{
	return c->quit && *c->quit;
}

/* The paced UDP stream of one trial: the size's payload per datagram, rate_fps datagrams/s (0: unpaced). */
static struct nb_test_cfg trial_cfg(const struct search *x, double rate_fps)
{
	struct nb_test_cfg cfg = x->cfg->base;
	cfg.kind = NB_TEST_STREAM;
	cfg.proto = NB_PROTO_UDP;
	cfg.reverse = false;
	cfg.msg_bytes = x->size->payload_bytes;
	cfg.rate_bps = rate_fps * x->size->payload_bytes * 8.0;
	cfg.duration_ns = x->trial_ns;
	cfg.warmup_ns = 0; /* loss is counted over the whole trial: every frame offered counts */
	cfg.interval_ns = 0;
	return cfg;
}

/* The run's facts the report shows once: taken from the first trial that reached the responder. */
static void note_facts(struct nb_throughput_result *res, const struct nb_report *rep)
{
	if (res->timestamp[0])
		return;
	snprintf(res->timestamp, sizeof(res->timestamp), "%s", rep->timestamp);
	snprintf(res->gen_cpus, sizeof(res->gen_cpus), "%s", rep->gen_cpus[0] ? rep->gen_cpus : "any");
	snprintf(res->resp_cpus, sizeof(res->resp_cpus), "%s", rep->resp_cpus[0] ? rep->resp_cpus : "any");
	snprintf(res->gen_wait, sizeof(res->gen_wait), "%s", rep->gen_wait);
	snprintf(res->resp_wait, sizeof(res->resp_wait), "%s", rep->resp_wait);
	snprintf(res->path, sizeof(res->path), "%s", rep->path);
	res->client = rep->client;
	res->server = rep->server;
	res->context = cJSON_CreateObject();
	if (res->context) {
		nb_report_hosts_json(rep, res->context);
		nb_report_nics_json(rep, res->context);
	}
}

/* One trial of x->trial_ns at rate_fps (0: unpaced): what it offered and lost. 0 or -errno (the reason in
 * x->error). */
static int run_trial(struct search *x, double rate_fps, struct nb_trial *ret)
{
	struct nb_test_cfg cfg = trial_cfg(x, rate_fps);
	struct nb_report rep;
	nb_report_init(&rep);
	int r = nb_target_run_retry(x->t, &cfg, &x->run, &rep);
	if (r < 0 || !rep.complete) {
		snprintf(x->error, sizeof(x->error), "%s", rep.error[0] ? rep.error : strerror(r ? -r : EIO));
		nb_report_free(&rep);
		return r < 0 ? r : -EIO;
	}
	note_facts(x->res, &rep);
	ret->sent = rep.msgs_sent;
	ret->lost = rep.lost;
	ret->sent_fps = (double)rep.msgs_sent * NB_NS_PER_S / (double)x->trial_ns;
	if (x->cfg->trial) {
		struct nb_throughput_trial t = {x->size->frame_bytes,
						rate_fps,
						(double)x->trial_ns / NB_NS_PER_S,
						ret,
						rep.loss_pct,
						nb_trial_passes(ret->sent, ret->lost, x->cfg->loss_pct)};
		x->cfg->trial(x->cfg->arg, &t);
	}
	nb_report_free(&rep);
	return 0;
}

/* The binary search's trial executor: every trial --trial-duration long, each logged as MLRsearch logs
 * its own (so both reports list the trials that decided the result). */
static int binary_trial(void *arg, double rate_fps, struct nb_trial *ret)
{
	struct search *x = arg;
	x->trial_ns = x->cfg->trial_ns;
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
	struct search *x = arg;
	x->trial_ns = (int64_t)llround(duration_s * NB_NS_PER_S);
	return run_trial(x, load_fps, ret);
}

struct nb_mlr_cfg nb_throughput_mlr_cfg(const struct nb_throughput_cfg *c, double l1_bits)
{
	double fin = (double)c->trial_ns / NB_NS_PER_S,
	       min_s = (double)NB_THROUGHPUT_MIN_TRIAL_NS / NB_NS_PER_S;
	double init = c->initial_ns ? (double)c->initial_ns / NB_NS_PER_S : fmax(fin / 4, fmin(fin, min_s));
	struct nb_mlr_cfg m = {
	    .goal = {.loss_ratio = c->loss_pct / 100,
		     .exceed_ratio = c->exceed_ratio,
		     .final_trial_s = fin,
		     .duration_sum_s = c->sum_ns ? (double)c->sum_ns / NB_NS_PER_S : 2 * fin,
		     .width = c->res_pct / 100,
		     .initial_trial_s = init},
	    .max_fps = c->max_l1_bps / l1_bits,
	    .width_fps = c->res_l1_bps / l1_bits,
	    .preceding = NB_THROUGHPUT_MLR_PRECEDING,
	    .short_pct = NB_SEARCH_SHORT_PCT};
	return m;
}

int nb_throughput_check(const struct nb_throughput_cfg *c, const char **why)
{
	if (c->search == NB_THROUGHPUT_BINARY)
		return 0;
	if (c->initial_ns > c->trial_ns) {
		*why = "--initial-trial-duration is longer than --trial-duration";
		return -EINVAL;
	}
	struct nb_mlr_cfg m = nb_throughput_mlr_cfg(c, 8.0 * NB_ETH_MIN_FRAME);
	return nb_mlr_cfg_check(&m, why);
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

const char *nb_throughput_trial_bound(const struct nb_throughput_cfg *c, const struct nb_throughput_size *s,
				      const struct nb_mlr_trial *t)
{
	if (c->search == NB_THROUGHPUT_MLR)
		return s->mlr.has_lower && t->load_fps == s->mlr.lower_fps   ? "lower"
		       : s->mlr.has_upper && t->load_fps == s->mlr.upper_fps ? "upper"
									     : NULL;
	bool pass = t->loss_ratio * 100 <= c->loss_pct &&
		    !(!t->unpaced && t->offered_fps < t->load_fps * (1 - NB_SEARCH_SHORT_PCT / 100.0));
	double offered = t->unpaced || t->offered_fps >= t->load_fps ? t->load_fps : t->offered_fps;
	if (pass && s->res.found && offered == s->res.rate_fps)
		return "lower";
	return !pass && s->res.fail_fps > 0 && t->load_fps == s->res.fail_fps ? "upper" : NULL;
}

/* --latency: the probe beside the size's stream at each step of the found rate. */
static void size_latency(struct search *x, struct nb_throughput_size *sz)
{
	struct nb_test_cfg probe = nb_load_probe_cfg(&x->cfg->base);
	for (unsigned i = 0; i < NB_THROUGHPUT_LOAD_STEPS && sz->res.found && !quitting(x->cfg); i++) {
		struct nb_throughput_lat *L = &sz->lat[sz->n_lat++];
		struct nb_report pr, lr;
		L->load_pct = 100 * load_steps[i];
		L->offered_fps = sz->res.rate_fps * load_steps[i];
		struct nb_test_cfg load = trial_cfg(x, L->offered_fps);
		int r = nb_load_beside(x->t, &probe, &load, &x->run, &pr, &lr);
		L->ok = r == 0 && pr.complete && lr.complete;
		L->lat = pr.lat;
		L->timeouts = pr.timeouts;
		if (lr.duration_s > 0 && sz->payload_bytes)
			L->achieved_fps = lr.goodput_bps / 8 / sz->payload_bytes;
		nb_report_free(&pr);
		nb_report_free(&lr);
	}
}

static void search_size(struct search *x, struct nb_throughput_size *sz)
{
	const struct nb_throughput_cfg *c = x->cfg;
	double l1_bits = (sz->frame_bytes + NB_ETH_L1_EXTRA_BYTES) * 8.0;
	struct nb_search_cfg sc = {
	    .max_fps = c->max_l1_bps / l1_bits,
	    .resolution_pct = c->res_pct,
	    .resolution_fps = c->res_l1_bps / l1_bits,
	    .loss_pct = c->loss_pct,
	};
	x->size = sz;
	x->error[0] = '\0';
	int64_t t0 = nb_now_ns();
	int r;
	if (c->search == NB_THROUGHPUT_MLR) {
		struct nb_mlr_cfg mc = nb_throughput_mlr_cfg(c, l1_bits);
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
	x->trial_ns = c->trial_ns; /* --latency's streams */
	if (c->latency && !sz->error[0])
		size_latency(x, sz);
}

/* Why the engine cannot send a frame of this size, or NULL. */
static const char *size_unsupported(const struct nb_engine *eng, unsigned frame)
{
	if (frame < NB_ETH_MIN_FRAME)
		return "below Ethernet's 64-byte minimum frame";
	if (frame < NB_ETH_OVERHEAD_BYTES + NB_UDP_HDR_BYTES)
		return "its UDP payload is shorter than nbench's 8-byte sequence header";
	if (frame - NB_ETH_OVERHEAD_BYTES > NB_MAX_UDP_BYTES)
		return "its UDP payload is above UDP's 65507-byte maximum";
	uint32_t max = eng ? eng->caps.max_msg_bytes : 0;
	if (max && frame - NB_ETH_OVERHEAD_BYTES > max)
		return "the engine's port sends no datagram this large (its MTU)";
	return NULL;
}

int nb_throughput_run(const struct nb_throughput_cfg *cfg, struct nb_throughput_result *ret)
{
	/* host_facts: the trials' reports give the start its hosts and interfaces (-H's too) */
	struct search x = {.cfg = cfg,
			   .res = ret,
			   .run = {.quit = cfg->quit, .host_facts = true},
			   .trial_ns = cfg->trial_ns};
	memset(ret, 0, sizeof(*ret));
	int r = nb_target_open(&cfg->where, &cfg->base, &x.t, ret->error, sizeof(ret->error));
	if (r < 0)
		return r;
	ret->n_sizes = cfg->n_sizes;
	for (unsigned i = 0; i < cfg->n_sizes; i++) {
		struct nb_throughput_size *s = &ret->sizes[i];
		s->frame_bytes = cfg->sizes[i];
		s->payload_bytes =
		    s->frame_bytes > NB_ETH_OVERHEAD_BYTES ? s->frame_bytes - NB_ETH_OVERHEAD_BYTES : 0;
		s->unsupported = size_unsupported(nb_target_engine(x.t), s->frame_bytes);
		if (!s->unsupported && !quitting(cfg))
			search_size(&x, s);
	}
	ret->interrupted = quitting(cfg);
	nb_target_close(x.t);
	return 0;
}

void nb_throughput_result_free(struct nb_throughput_result *ret)
{
	for (unsigned i = 0; i < ret->n_sizes; i++)
		nb_mlr_result_free(&ret->sizes[i].mlr);
	cJSON_Delete(ret->context);
	ret->context = NULL;
}

double nb_throughput_l2_bps(const struct nb_throughput_size *s)
{
	return s->res.rate_fps * s->frame_bytes * 8.0;
}

double nb_throughput_l1_bps(const struct nb_throughput_size *s)
{
	return s->res.rate_fps * (s->frame_bytes + NB_ETH_L1_EXTRA_BYTES) * 8.0;
}
