/* SPDX-License-Identifier: MIT */
/*
 * `nbench study`'s driver (studyrun.h): the study's matrix through compare's rounds, each run's figures kept
 * by round (the system under test's CPU, which compare's cells do not single out over two hosts), then the
 * Redis row on the same paths.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbench/clock.h"
#include "nbench/report.h"
#include "nbench/studyrun.h"
#include "nbench/topo.h"

static bool quitting(const struct nb_studyrun *r)
{
	return r->cfg.quit && *r->cfg.quit;
}

static void said(const struct nb_studyrun *r, const struct nb_studyrun_progress *p)
{
	if (r->cfg.run)
		r->cfg.run(r->cfg.arg, p);
}

/* ---- the matrix ---- */

/* The system under test's cycles per byte: this host's system-wide figure when the path is built here (both
 * ends and any guest's qemu run on it) or the responder shares this machine (two namespaces standing in for
 * two hosts), else the server host's own, as the study measured the SUT alone. NAN when not measured. */
static const struct nb_cpu_cost *sut_cost(const struct nb_studyrun *r, const struct nb_report *rep)
{
	if (!r->two_hosts || rep->same_host)
		return &rep->cpu;
	return rep->server_cpu_valid ? &rep->server_cpu : NULL;
}

static double sut_cpb(const struct nb_studyrun *r, const struct nb_report *rep)
{
	const struct nb_cpu_cost *c = sut_cost(r, rep);
	return c && c->valid && c->cycles_per_byte > 0 ? c->cycles_per_byte : NAN;
}

/* compare's run callback: the run's figures into r->v by round, then on to the caller's progress. */
static void on_compare_run(void *arg, const struct nb_compare_run *cr)
{
	struct nb_studyrun *r = arg;
	const struct nb_report *rep = cr->rep;
	if (cr->capture || !cr->round || cr->round > NB_STUDYRUN_MAX_ROUNDS)
		return;
	double *v[NB_SR_NFIG];
	for (int f = 0; f < NB_SR_NFIG; f++) {
		v[f] = &r->v[cr->ti][cr->pi][f][cr->round - 1];
		*v[f] = NAN;
	}
	if (cr->ok && rep->cfg.kind == NB_TEST_STREAM) {
		*v[NB_SR_GOODPUT] = rep->goodput_bps > 0 ? rep->goodput_bps : NAN;
		*v[NB_SR_CPB] = sut_cpb(r, rep);
	} else if (cr->ok) {
		*v[NB_SR_TPS] = rep->tps > 0 ? rep->tps : NAN;
		*v[NB_SR_MEAN] = rep->lat.mean_ns > 0 ? rep->lat.mean_ns : NAN;
	}
	if (cr->ok && !r->cpu_source[0] && sut_cost(r, rep)) {
		snprintf(r->cpu_source, sizeof(r->cpu_source), "%s", sut_cost(r, rep)->source);
		r->sut_same_host = rep->same_host;
	}
	struct nb_studyrun_progress p = {.test = r->cmp->cfg.tests[cr->ti]->name,
					 .path = r->cmp->cfg.paths[cr->pi],
					 .round = cr->round,
					 .ok = cr->ok,
					 .rep = rep};
	said(r, &p);
}

static void on_building(void *arg, const char *path)
{
	struct nb_studyrun *r = arg;
	if (r->cfg.building)
		r->cfg.building(r->cfg.arg, path);
}

static void on_left_out(void *arg, const char *path, const char *why)
{
	struct nb_studyrun *r = arg;
	if (r->cfg.left_out)
		r->cfg.left_out(r->cfg.arg, path, why);
}

/* The Redis row's time in matrix rounds, at compare's reckoning of a run (its duration, warm-up and 5 s), so
 * that compare's schedule for the halves (-H) covers the row that runs on them after its rounds. */
static unsigned redis_rounds_worth(const struct nb_studyrun_cfg *cfg)
{
	const int64_t over = 5 * NB_NS_PER_S;
	int64_t warm = cfg->duration_ns >= 4 * NB_NS_PER_S ? NB_NS_PER_S : cfg->duration_ns / 4;
	int64_t round = (int64_t)cfg->ntests * (cfg->duration_ns + warm + over);
	int64_t redis = (int64_t)cfg->nconns * cfg->redis_rounds *
			(cfg->redis_duration_ns + cfg->redis_duration_ns / 4 + over);
	int64_t k = round > 0 ? (redis + round - 1) / round : 0;
	return k < NB_COMPARE_MAX_RUNS - NB_STUDYRUN_MAX_ROUNDS
		   ? (unsigned)k
		   : NB_COMPARE_MAX_RUNS - NB_STUDYRUN_MAX_ROUNDS;
}

/* compare's settings for the study's matrix: exactly cfg.rounds rounds, rr in the placement asked. */
static int compare_cfg(struct nb_studyrun *r, struct nb_compare_cfg *cc, char *err, size_t errlen)
{
	const struct nb_studyrun_cfg *cfg = &r->cfg;
	memset(cc, 0, sizeof(*cc));
	for (unsigned i = 0; i < cfg->npaths; i++)
		cc->paths[cc->npaths++] = cfg->paths[i];
	for (unsigned i = 0; i < cfg->ntests; i++) {
		if (!(cc->tests[cc->ntests++] = nb_compare_test_find(cfg->tests[i]))) {
			snprintf(err, errlen, "the study names the unknown test '%s'", cfg->tests[i]);
			return -EINVAL;
		}
	}
	cc->pl[0] = cfg->placement;
	cc->npl = 1;
	/* exactly cfg->rounds: without a precision target compare stops after runs; max_rounds only sizes its
	 * schedule, how long an agent keeps the halves over -H, which must cover the Redis row after it */
	cc->runs = cfg->rounds;
	cc->max_rounds = cfg->rounds + redis_rounds_worth(cfg);
	cc->seed = cfg->seed;
	cc->ci_level = 95;
	cc->duration_ns = cfg->duration_ns;
	cc->where = cfg->where;
	cc->quit = cfg->quit;
	cc->building = on_building;
	cc->left_out = on_left_out;
	cc->run = on_compare_run;
	cc->arg = r;
	return 0;
}

int nb_studyrun_open(struct nb_studyrun *r, const struct nb_studyrun_cfg *cfg, char *err, size_t errlen)
{
	struct nb_compare_cfg cc;
	struct nb_test_cfg probe;
	int rc;
	memset(r, 0, sizeof(*r));
	r->cfg = *cfg;
	r->two_hosts = cfg->where.host != NULL;
	for (size_t k = 0; k < sizeof(r->v) / sizeof(double); k++)
		(&r->v[0][0][0][0])[k] = NAN;
	if (!cfg->npaths || strcmp(cfg->paths[0], "native")) {
		snprintf(err, errlen, "the study's paths start with native, the reference of every ratio");
		return -EINVAL;
	}
	if (cfg->rounds < 1 || cfg->rounds > NB_STUDYRUN_MAX_ROUNDS ||
	    cfg->redis_rounds > NB_STUDYRUN_MAX_ROUNDS || cfg->nconns > NB_STUDYRUN_MAX_CONNS) {
		snprintf(err, errlen, "rounds must be 1-%d and connection counts at most %d",
			 NB_STUDYRUN_MAX_ROUNDS, NB_STUDYRUN_MAX_CONNS);
		return -EINVAL;
	}
	nb_cfg_defaults(&probe, NB_TEST_RR);
	if (cfg->nconns && nb_cfg_parse_mix(&probe, cfg->redis_mix, err, errlen) < 0)
		return -EINVAL;
	if ((rc = compare_cfg(r, &cc, err, errlen)) < 0)
		return rc;
	if (!(r->cmp = calloc(1, sizeof(*r->cmp))))
		return -ENOMEM;
	rc = nb_compare_open(r->cmp, &cc, err, errlen);
	r->cc = r->cmp->cfg;
	r->seed = r->cmp->seed;
	for (unsigned i = 0; i < r->cmp->nskipped && i < NB_COMPARE_MAX_PATHS; i++) {
		snprintf(r->skipped[i].path, sizeof(r->skipped[i].path), "%s", r->cmp->skipped[i].path);
		snprintf(r->skipped[i].why, sizeof(r->skipped[i].why), "%s", r->cmp->skipped[i].why);
	}
	r->nskipped = r->cmp->nskipped;
	return rc;
}

void nb_studyrun_matrix(struct nb_studyrun *r)
{
	int64_t t0 = nb_now_ns();
	if (r->cmp->cfg.npaths)
		nb_compare_rounds(r->cmp);
	r->rounds = r->cmp->rounds < NB_STUDYRUN_MAX_ROUNDS ? r->cmp->rounds : NB_STUDYRUN_MAX_ROUNDS;
	r->matrix_ns = nb_now_ns() - t0;
}

/* ---- the Redis row ---- */

/* The Redis load at conns connections: each a TCP flow with redis_depth requests in flight, the mix's
 * shapes, unpinned (120 connections are 240 threads: pinned to one CPU they would measure the scheduler). */
static void redis_cfg(const struct nb_studyrun *r, unsigned conns, struct nb_test_cfg *cfg)
{
	char err[160];
	nb_cfg_defaults(cfg, NB_TEST_RR);
	cfg->flows = conns;
	cfg->depth = r->cfg.redis_depth;
	cfg->duration_ns = r->cfg.redis_duration_ns;
	cfg->warmup_ns = r->cfg.redis_duration_ns / 4;
	cfg->interval_ns = 0;
	nb_cfg_parse_mix(cfg, r->cfg.redis_mix, err, sizeof(err)); /* checked at open */
	nb_cfg_resolve(cfg);
}

static void redis_run(struct nb_studyrun *r, unsigned ci, unsigned pi, unsigned round)
{
	struct nb_test_cfg cfg;
	struct nb_report rep;
	struct nb_run_opts o = {.quit = r->cfg.quit};
	redis_cfg(r, r->cfg.conns[ci], &cfg);
	nb_report_init(&rep);
	bool ok = nb_target_run(r->cmp->targets[pi], &cfg, &o, &rep) == 0 && rep.complete && rep.tps > 0;
	r->redis_tps[ci][pi][round - 1] = ok ? rep.tps : NAN;
	r->redis_lat_ns[ci][pi][round - 1] = ok ? rep.lat.mean_ns : NAN;
	struct nb_studyrun_progress p = {.redis = true,
					 .test = "redis",
					 .path = r->cmp->cfg.paths[pi],
					 .connections = r->cfg.conns[ci],
					 .round = round,
					 .ok = ok,
					 .rep = &rep};
	said(r, &p);
	nb_report_free(&rep);
}

void nb_studyrun_redis(struct nb_studyrun *r)
{
	int64_t t0 = nb_now_ns();
	unsigned n = r->cmp->cfg.npaths;
	for (size_t k = 0; k < sizeof(r->redis_tps) / sizeof(double); k++)
		(&r->redis_tps[0][0][0])[k] = (&r->redis_lat_ns[0][0][0])[k] = NAN;
	/* rounds outermost, so that a short budget still covers every count; the paths' order rotates each
	 * round, as compare's does */
	for (unsigned round = 1; round <= r->cfg.redis_rounds && !quitting(r); round++) {
		r->redis_rounds = round;
		for (unsigned ci = 0; ci < r->cfg.nconns && !quitting(r); ci++)
			for (unsigned k = 0; k < n && !quitting(r); k++)
				redis_run(r, ci, (k + round - 1) % n, round);
	}
	r->redis_ns = nb_now_ns() - t0;
}

void nb_studyrun_close(struct nb_studyrun *r)
{
	if (!r->cmp)
		return;
	nb_compare_close(r->cmp);
	free(r->cmp);
	r->cmp = NULL;
}

/* ---- the figures, as the table wants them ---- */

static int index_of(const char *const *names, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return (int)i;
	return -1;
}

void nb_studyrun_measure(void *arg, unsigned fig, const char *kind, struct nb_study_measure *ret)
{
	const struct nb_studyrun *r = ((void **)arg)[0];
	const struct nb_study *s = ((void **)arg)[1];
	const struct nb_study_figure *f = &s->figs[fig];
	const struct nb_compare_cfg *cc = &r->cc;
	int ti = -1, pi = index_of(cc->paths, cc->npaths, kind),
	    ni = index_of(cc->paths, cc->npaths, "native");
	for (unsigned t = 0; t < cc->ntests; t++)
		if (!strcmp(cc->tests[t]->name, f->test))
			ti = (int)t;
	if (ti < 0 || pi < 0)
		return;
	bool latency = !strcmp(f->metric, "latency");
	int which = !strcmp(f->metric, "goodput")	    ? NB_SR_GOODPUT
		    : !strcmp(f->metric, "cycles_per_byte") ? NB_SR_CPB
							    : NB_SR_TPS;
	double scale = which == NB_SR_GOODPUT ? 1e-6 : 1; /* bit/s to the study's Mbit/s */
	const double *x = r->v[ti][pi][which], *ref = ni < 0 ? NULL : r->v[ti][ni][which];
	*ret = nb_study_measure_rounds(x, ref, r->rounds, scale, 95, r->seed);
	/* the study's latency is netperf's: 1 / transactions per second */
	if (latency && ret->have)
		*ret = nb_study_measure_inverse(ret, 1e6);
}

unsigned nb_studyrun_redis_points(const struct nb_studyrun *r, struct nb_study_redis_point *pts)
{
	const struct nb_compare_cfg *cc = &r->cc;
	int ni = index_of(cc->paths, cc->npaths, "native");
	unsigned n = 0;
	for (unsigned ci = 0; ci < r->cfg.nconns; ci++)
		for (unsigned pi = 0; pi < cc->npaths; pi++) {
			struct nb_study_redis_point *p = &pts[n];
			snprintf(p->path, sizeof(p->path), "%s", cc->paths[pi]);
			p->connections = r->cfg.conns[ci];
			const double *ref_t = ni < 0 ? NULL : r->redis_tps[ci][ni];
			const double *ref_l = ni < 0 ? NULL : r->redis_lat_ns[ci][ni];
			p->tps = nb_study_measure_rounds(r->redis_tps[ci][pi], ref_t, r->redis_rounds, 1, 95,
							 r->seed);
			p->lat_us = nb_study_measure_rounds(r->redis_lat_ns[ci][pi], ref_l, r->redis_rounds,
							    1e-3, 95, r->seed);
			n += p->tps.have || p->lat_us.have;
		}
	return n;
}
