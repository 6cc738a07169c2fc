/* SPDX-License-Identifier: MIT */
/*
 * Latency under load (bench.h): a UDP rr probe beside a paced stream to the same responder, the load started
 * first so that its measured window is the probe's. rr --load runs the probe idle and then loaded; throughput
 * --latency runs it beside each frame size's stream at steps of the rate found.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "nbench/bench.h"
#include "nbench/clock.h"
#include "nbench/engine.h"
#include "nbench/report.h"

#define PROBE_NS (2 * NB_NS_PER_S)

struct nb_test_cfg nb_load_probe_cfg(const struct nb_test_cfg *base)
{
	struct nb_test_cfg cfg = *base;
	cfg.kind = NB_TEST_RR;
	cfg.proto = NB_PROTO_UDP;
	cfg.flows = 1;
	cfg.depth = 1;
	cfg.req_bytes = cfg.resp_bytes = 64;
	cfg.rate_tps = NB_LOAD_PROBE_TPS;
	cfg.rate_bps = 0;
	cfg.msg_bytes = 0;
	cfg.duration_ns = PROBE_NS;
	cfg.warmup_ns = NB_LOAD_LEAD_NS;
	cfg.interval_ns = 0;
	return cfg;
}

struct load_run {
	struct nb_target *t;
	const struct nb_run_opts *o;
	struct nb_test_cfg cfg;
	struct nb_report rep;
	int rc;
};

static void *load_main(void *arg)
{
	struct load_run *l = arg;
	l->rc = nb_target_run_retry(l->t, &l->cfg, l->o, &l->rep);
	return NULL;
}

int nb_load_beside(struct nb_target *t, const struct nb_test_cfg *probe, const struct nb_test_cfg *load,
		   const struct nb_run_opts *o, struct nb_report *probe_rep, struct nb_report *load_rep)
{
	struct load_run l = {.t = t, .o = o};
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
	int r = nb_target_run_retry(t, probe, o, probe_rep);
	if (started) {
		pthread_join(th, NULL);
		*load_rep = l.rep;
		if (r == 0 && l.rc < 0)
			r = l.rc;
	}
	return r;
}

/* What rep->load says: the stream beside the probe, and the probe idle. */
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

/* rr --load's two tests: the probe (open loop, warmed up past the handshakes) and the paced stream. */
static void loaded_cfgs(const struct nb_test_cfg *cfg, double load_bps, enum nb_proto load_proto,
			struct nb_test_cfg *probe, struct nb_test_cfg *load)
{
	*probe = *load = *cfg;
	if (probe->rate_tps == 0)
		probe->rate_tps = NB_LOAD_PROBE_TPS;
	probe->interval_ns = 0;
	if (probe->warmup_ns < NB_LOAD_LEAD_NS)
		probe->warmup_ns = NB_LOAD_LEAD_NS;
	load->kind = NB_TEST_STREAM;
	load->proto = load_proto;
	load->reverse = false;
	load->flows = 1;
	load->msg_bytes = 0;
	load->rate_bps = load_bps;
	load->rate_tps = 0;
	nb_cfg_resolve(load);
}

/* The probe beside the load into rep (which is made anew: the caller's command line is kept). */
static void run_loaded(struct nb_target *t, const struct nb_test_cfg *probe, const struct nb_test_cfg *load,
		       const struct nb_run_opts *o, const struct nb_report *idle, struct nb_report *rep)
{
	char cmdline[sizeof(rep->cmdline)];
	struct nb_report lr;
	snprintf(cmdline, sizeof(cmdline), "%s", rep->cmdline);
	nb_report_free(rep);
	int r = nb_load_beside(t, probe, load, o, rep, &lr);
	snprintf(rep->cmdline, sizeof(rep->cmdline), "%s", cmdline);
	fill_load(rep, load, idle, &lr);
	if (r == 0 && !lr.complete)
		r = -EIO;
	if (r < 0 && rep->complete) {
		rep->complete = false;
		snprintf(rep->error, sizeof(rep->error), "the load stream: %.200s",
			 lr.error[0] ? lr.error : strerror(-r));
	}
	nb_report_free(&lr);
}

int nb_load_run(struct nb_target *t, const struct nb_test_cfg *cfg, double load_bps, enum nb_proto load_proto,
		const struct nb_run_opts *o, struct nb_report *rep)
{
	struct nb_engine *eng = nb_target_engine(t);
	struct nb_test_cfg probe, load;
	struct nb_report idle;

	if (eng && eng->caps.one_test) {
		snprintf(rep->error, sizeof(rep->error),
			 "--load: the %s engine's responder runs one test at a time (the probe and the load "
			 "are two)",
			 cfg->engine);
		return -EINVAL;
	}
	loaded_cfgs(cfg, load_bps, load_proto, &probe, &load);
	nb_report_init(&idle);
	int r = nb_target_run_retry(t, &probe, o, &idle);
	if (r == 0 && idle.complete) {
		run_loaded(t, &probe, &load, o, &idle, rep);
	} else {
		rep->complete = false;
		snprintf(rep->error, sizeof(rep->error), "the idle probe: %.200s",
			 idle.error[0] ? idle.error : strerror(r ? -r : EIO));
	}
	nb_report_free(&idle);
	return 0;
}
