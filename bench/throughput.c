/* SPDX-License-Identifier: MIT */
/*
 * RFC 2544 throughput's driver (throughput.h): one target opened for every trial; per frame size the search
 * (gen/search.c) over trials of a paced UDP stream, then --latency's probes at steps of the rate found.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

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
	cfg.duration_ns = x->cfg->trial_ns;
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
}

/* gen/search.c's trial: one paced stream, what it offered and lost. */
static int run_trial(void *arg, double rate_fps, struct nb_trial *ret)
{
	struct search *x = arg;
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
	ret->sent_fps = (double)rep.msgs_sent * NB_NS_PER_S / (double)x->cfg->trial_ns;
	if (x->cfg->trial) {
		struct nb_throughput_trial t = {x->size->frame_bytes, rate_fps, ret, rep.loss_pct,
						nb_trial_passes(ret->sent, ret->lost, x->cfg->loss_pct)};
		x->cfg->trial(x->cfg->arg, &t);
	}
	nb_report_free(&rep);
	return 0;
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
	if (nb_search_rate(&sc, run_trial, x, &sz->res) < 0)
		snprintf(sz->error, sizeof(sz->error), "%s", x->error[0] ? x->error : "the search failed");
	sz->search_s = (double)(nb_now_ns() - t0) / NB_NS_PER_S;
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
	struct search x = {.cfg = cfg, .res = ret, .run = {.quit = cfg->quit}};
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

double nb_throughput_l2_bps(const struct nb_throughput_size *s)
{
	return s->res.rate_fps * s->frame_bytes * 8.0;
}

double nb_throughput_l1_bps(const struct nb_throughput_size *s)
{
	return s->res.rate_fps * (s->frame_bytes + NB_ETH_L1_EXTRA_BYTES) * 8.0;
}
