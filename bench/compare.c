/* SPDX-License-Identifier: MIT */
/*
 * compare's driver (compare.h): the paths built once, the rounds, each run's settings (its placement) and
 * figures, and what the tables ask of the cells (native's, a parent's, --hops' decompositions).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nbench/clock.h"
#include "nbench/compare.h"
#include "nbench/guest.h"
#include "nbench/report.h"
#include "nbench/topo.h"

static const struct nb_compare_test known_tests[] = {
    {"stream", NB_TEST_STREAM, NB_PROTO_TCP, false}, {"stream-reverse", NB_TEST_STREAM, NB_PROTO_TCP, true},
    {"rr-tcp", NB_TEST_RR, NB_PROTO_TCP, false},     {"rr-udp", NB_TEST_RR, NB_PROTO_UDP, false},
    {"crr", NB_TEST_CRR, NB_PROTO_TCP, false},
};

const struct nb_compare_test *nb_compare_test_find(const char *name)
{
	for (size_t k = 0; k < sizeof(known_tests) / sizeof(known_tests[0]); k++)
		if (!strcmp(known_tests[k].name, name))
			return &known_tests[k];
	return NULL;
}

const char *nb_placement_name(enum nb_placement p)
{
	return p == NB_PLACE_SAME ? "same-core" : "split-spin";
}

static bool quitting(const struct nb_compare *c)
{
	return c->cfg.quit && *c->cfg.quit;
}

static int path_index(const struct nb_compare *c, const char *p)
{
	for (unsigned i = 0; i < c->cfg.npaths; i++)
		if (!strcmp(c->cfg.paths[i], p))
			return (int)i;
	return -1;
}

/* ---- the paths ---- */

/* Path pi left out with its reason: the later ones move up. */
static void leave_out(struct nb_compare *c, unsigned pi, const char *why)
{
	struct nb_compare_cfg *cfg = &c->cfg;
	if (cfg->left_out)
		cfg->left_out(cfg->arg, cfg->paths[pi], why);
	snprintf(c->skipped[c->nskipped].path, sizeof(c->skipped[0].path), "%s", cfg->paths[pi]);
	snprintf(c->skipped[c->nskipped].why, sizeof(c->skipped[0].why), "%s", why);
	c->nskipped++;
	memmove(&cfg->paths[pi], &cfg->paths[pi + 1], (cfg->npaths - pi - 1) * sizeof(cfg->paths[0]));
	cfg->npaths--;
}

/* -H: how long the agent keeps each path's half for this compare: every run it may make (up to max_runs
 * rounds of each test in each placement on each path, with --hops twice), each with its warm-up and a
 * generous allowance for its setup (connections, flows, RESULT). */
static int64_t schedule_ns(const struct nb_compare_cfg *cfg)
{
	const int64_t per_run_overhead_ns = 5 * NB_NS_PER_S;
	int64_t warmup = cfg->duration_ns >= 4 * NB_NS_PER_S ? NB_NS_PER_S : cfg->duration_ns / 4, runs = 0;
	for (unsigned ti = 0; ti < cfg->ntests; ti++)
		runs += cfg->tests[ti]->kind == NB_TEST_STREAM ? 1 : cfg->npl;
	runs *= (int64_t)(cfg->max_runs > cfg->runs ? cfg->max_runs : cfg->runs) * cfg->npaths *
		(cfg->hops ? 2 : 1);
	int64_t ns = runs * (cfg->duration_ns + warmup + per_run_overhead_ns);
	return ns < NB_MAX_DURATION_NS ? ns : NB_MAX_DURATION_NS;
}

int nb_compare_open(struct nb_compare *c, const struct nb_compare_cfg *cfg, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	for (unsigned pi = 0; pi < c->cfg.npaths;) {
		struct nb_where w = c->cfg.where;
		struct nb_test_cfg tc;
		nb_cfg_defaults(&tc, NB_TEST_RR);
		w.path = c->cfg.paths[pi];
		w.for_ns = schedule_ns(&c->cfg);
		if (c->cfg.building)
			c->cfg.building(c->cfg.arg, w.path);
		int r = nb_target_open(&w, &tc, &c->targets[pi], err, errlen);
		if (r == -EPERM || r == -EACCES)
			return -EPERM;
		if (r < 0)
			leave_out(c, pi, err);
		else
			pi++;
	}
	return 0;
}

void nb_compare_close(struct nb_compare *c)
{
	for (unsigned pi = 0; pi < NB_COMPARE_MAX_PATHS; pi++) {
		nb_target_close(c->targets[pi]);
		c->targets[pi] = NULL;
	}
	for (unsigned k = 0; k < NB_COMPARE_MAX_TESTS * 2 * NB_COMPARE_MAX_PATHS; k++)
		nb_hcell_free(&(&c->hcells[0][0][0])[k]);
}

/* ---- the runs ---- */

static void apply_placement(struct nb_test_cfg *cfg, const struct nb_compare_test *t, enum nb_placement p)
{
	/* Streams run unpinned: sender and receiver each take a core, as a bulk transfer would.
	 * Request/response is pinned, so the cost of a hop is not hidden by the 35-40 us of waking the other
	 * vCPU. */
	if (t->kind == NB_TEST_STREAM)
		return;
	if (p == NB_PLACE_SAME) {
		cfg->cpu_gen = 0;
		cfg->cpu_resp = 0;
	} else {
		cfg->cpu_gen = 0;
		cfg->cpu_resp = 1;
		cfg->wait = NB_WAIT_SPIN;
	}
}

/* The settings of test ti in placement row pli on path pi. */
static void run_cfg(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi,
		    struct nb_test_cfg *cfg)
{
	const struct nb_compare_test *t = c->cfg.tests[ti];
	struct nb_topo *topo = nb_target_topo(c->targets[pi]);
	nb_cfg_defaults(cfg, t->kind);
	cfg->proto = t->proto;
	cfg->reverse = t->reverse;
	cfg->duration_ns = c->cfg.duration_ns;
	cfg->warmup_ns = c->cfg.duration_ns >= 4 * NB_NS_PER_S ? NB_NS_PER_S : c->cfg.duration_ns / 4;
	cfg->interval_ns = 0;
	apply_placement(cfg, t, c->cfg.pl[pli]);
	if (topo && nb_guest_kind(nb_topo_kind(topo)) && cfg->cpu_resp > 0)
		cfg->cpu_resp =
		    0; /* the guest has one vCPU (a container's responder is pinned where asked) */
	nb_cfg_resolve(cfg);
}

static void said(const struct nb_compare *c, const struct nb_compare_run *r)
{
	if (c->cfg.run)
		c->cfg.run(c->cfg.arg, r);
}

/* --hops: right after a run without capture, the same test with it; keeps both round trips and the
 * decomposition. */
static void capture_run(struct nb_compare *c, struct nb_compare_run *r, const struct nb_test_cfg *cfg,
			double rtt_without_ns)
{
	struct nb_run_opts o = {.quit = c->cfg.quit, .capture = true};
	struct nb_report rep;
	nb_report_init(&rep);
	r->capture = true;
	r->ok = nb_target_run(c->targets[r->pi], cfg, &o, &rep) == 0 && rep.complete && rep.hops;
	r->rep = &rep;
	if (r->ok)
		nb_hcell_add(&c->hcells[r->ti][r->pli][r->pi], rtt_without_ns, &rep);
	said(c, r);
	nb_report_free(&rep);
}

static void one_run(struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi)
{
	struct nb_compare_run r = {.round = c->rounds, .ti = ti, .pli = pli, .pi = pi};
	struct nb_run_opts o = {.quit = c->cfg.quit};
	struct nb_test_cfg cfg;
	struct nb_report rep;

	run_cfg(c, ti, pli, pi, &cfg);
	nb_report_init(&rep);
	r.ok = nb_target_run(c->targets[pi], &cfg, &o, &rep) == 0 && rep.complete;
	r.rep = &rep;
	nb_cell_add(&c->cells[ti][pli][pi], &rep, r.ok);
	said(c, &r);
	double rtt_ns = rep.lat.mean_ns;
	nb_report_free(&rep);
	if (r.ok && c->cfg.hops && c->cfg.tests[ti]->kind == NB_TEST_RR)
		capture_run(c, &r, &cfg, rtt_ns);
}

void nb_compare_round(struct nb_compare *c)
{
	unsigned round = ++c->rounds, n = c->cfg.npaths;
	for (unsigned ti = 0; ti < c->cfg.ntests && !quitting(c); ti++)
		for (unsigned pli = 0; pli < nb_compare_rows(c, ti) && !quitting(c); pli++)
			for (unsigned k = 0; k < n && !quitting(c); k++)
				one_run(c, ti, pli, (k + round - 1) % n);
}

/* --ci: every cell's interval of every figure shown (cpu cost aside) within ci_pct of its mean. */
static bool converged(const struct nb_compare *c)
{
	for (unsigned ti = 0; ti < c->cfg.ntests; ti++)
		for (unsigned pli = 0; pli < c->cfg.npl; pli++)
			for (unsigned pi = 0; pi < c->cfg.npaths; pi++)
				for (int m = 0; m < NB_M_COUNT; m++) {
					if (!nb_metric_applies(m, c->cfg.tests[ti]->kind) || m == NB_M_CPB ||
					    m == NB_M_CPT)
						continue;
					struct nb_stat s =
					    nb_cell_stat(&c->cells[ti][pli][pi], m, c->cfg.ci_level);
					if (!nb_stat_within(&s, c->cfg.ci_pct))
						return false;
				}
	return true;
}

bool nb_compare_enough(const struct nb_compare *c)
{
	if (quitting(c) || c->rounds >= c->cfg.max_runs)
		return true;
	return c->rounds >= c->cfg.runs && (c->cfg.ci_pct <= 0 || converged(c));
}

void nb_compare_rounds(struct nb_compare *c)
{
	while (!nb_compare_enough(c))
		nb_compare_round(c);
}

/* ---- what the tables ask ---- */

unsigned nb_compare_rows(const struct nb_compare *c, unsigned ti)
{
	return c->cfg.tests[ti]->kind == NB_TEST_STREAM ? 1 : c->cfg.npl;
}

const char *nb_compare_row_placement(const struct nb_compare *c, unsigned ti, unsigned pli)
{
	return c->cfg.tests[ti]->kind == NB_TEST_STREAM ? "unpinned" : nb_placement_name(c->cfg.pl[pli]);
}

const struct nb_cell *nb_compare_native(const struct nb_compare *c, unsigned ti, unsigned pli)
{
	int pi = path_index(c, "native");
	return pi < 0 ? NULL : &c->cells[ti][pli][pi];
}

const char *nb_compare_parent(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi,
			      const struct nb_cell **ret)
{
	const char *par = nb_topo_kind_parent(c->cfg.paths[pi]);
	int pp = par ? path_index(c, par) : -1;
	*ret = pp < 0 ? NULL : &c->cells[ti][pli][pp];
	return par;
}

struct nb_report_hops *nb_compare_hops(struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi)
{
	return nb_hcell_summary(&c->hcells[ti][pli][pi], c->cfg.ci_level);
}

bool nb_compare_hops_vs(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi,
			const char **ret_parent, struct nb_hops_vs *ret)
{
	const char *par = nb_topo_kind_parent(c->cfg.paths[pi]);
	int pp = par ? path_index(c, par) : -1;
	*ret_parent = par;
	return nb_hcell_vs(&c->hcells[ti][pli][pi], pp < 0 ? NULL : &c->hcells[ti][pli][pp], c->cfg.ci_level,
			   ret);
}
