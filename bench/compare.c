/* SPDX-License-Identifier: MIT */
/*
 * compare's driver (compare.h): the paths built once, the rounds in their seeded order, each run's settings
 * (its placement) and figures, the stopping rule, and what the tables ask of the cells (the ratios to the
 * reference and the hop deltas with their paired intervals, the merged histograms, --hops' decompositions).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "nbench/clock.h"
#include "nbench/compare.h"
#include "nbench/guest.h"
#include "nbench/hist.h"
#include "nbench/paired.h"
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

const char *nb_compare_kind(const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "%.*s", (int)strcspn(path, "."), path);
	return buf;
}

/* The reference's index among the paths built: cfg.reference, else native, else the first. */
static int find_reference(struct nb_compare *c, char *err, size_t errlen)
{
	const char *want = c->cfg.reference ? c->cfg.reference : "native";
	int pi = path_index(c, want);
	for (unsigned i = 0; i < c->nskipped && c->cfg.reference; i++)
		if (!strcmp(c->skipped[i].path, want)) {
			snprintf(err, errlen, "the reference path %s was left out: %s", want,
				 c->skipped[i].why);
			return -EINVAL;
		}
	if (pi < 0 && c->cfg.reference) {
		snprintf(err, errlen, "--reference %s is not one of the paths compared", want);
		return -EINVAL;
	}
	c->ref = pi < 0 ? 0 : (unsigned)pi;
	return 0;
}

static void defaults(struct nb_compare *c)
{
	struct nb_compare_cfg *k = &c->cfg;
	if (!k->max_rounds || k->max_rounds > NB_COMPARE_MAX_RUNS)
		k->max_rounds = NB_COMPARE_MAX_RUNS;
	k->ci_level = k->ci_level ? k->ci_level : 95;
	k->stop_level = k->stop_level ? k->stop_level : k->ci_level;
	k->p99_pct = k->p99_pct > 0 ? k->p99_pct : NB_COMPARE_P99_PCT;
	k->cpu_pct = k->cpu_pct > 0 ? k->cpu_pct : NB_COMPARE_CPU_PCT;
	if (k->precision_pct > 0 && k->runs < NB_PAIRED_MIN_ROUNDS)
		k->runs = NB_PAIRED_MIN_ROUNDS;
	c->seed = k->seed;
	while (!c->seed && getrandom(&c->seed, sizeof(c->seed), 0) != sizeof(c->seed))
		c->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	k->seed = c->seed;
}

/* Each rr and crr cell's histogram, when asked. */
static int alloc_hists(struct nb_compare *c)
{
	for (unsigned ti = 0; c->cfg.histograms && ti < c->cfg.ntests; ti++)
		for (unsigned pli = 0; c->cfg.tests[ti]->kind != NB_TEST_STREAM && pli < c->cfg.npl; pli++)
			for (unsigned pi = 0; pi < c->cfg.npaths; pi++)
				if (nb_hist_new(&c->hists[ti][pli][pi]) < 0)
					return -ENOMEM;
	return 0;
}

/* -H: how long the agent keeps each path's half for this compare: every run it may make (up to max_rounds
 * rounds of each test in each placement on each path, with --hops twice), each with its warm-up and a
 * generous allowance for its setup (connections, flows, RESULT). */
static int64_t schedule_ns(const struct nb_compare_cfg *cfg)
{
	const int64_t per_run_overhead_ns = 5 * NB_NS_PER_S;
	int64_t warmup = cfg->duration_ns >= 4 * NB_NS_PER_S ? NB_NS_PER_S : cfg->duration_ns / 4, runs = 0;
	for (unsigned ti = 0; ti < cfg->ntests; ti++)
		runs += cfg->tests[ti]->kind == NB_TEST_STREAM ? 1 : cfg->npl;
	runs *= (int64_t)(cfg->max_rounds > cfg->runs ? cfg->max_rounds : cfg->runs) * cfg->npaths *
		(cfg->hops ? 2 : 1);
	int64_t ns = runs * (cfg->duration_ns + warmup + per_run_overhead_ns);
	if (cfg->max_time_ns > 0 && ns > cfg->max_time_ns + 60 * NB_NS_PER_S) /* no round starts past it */
		ns = cfg->max_time_ns + 60 * NB_NS_PER_S;
	return ns < NB_MAX_DURATION_NS ? ns : NB_MAX_DURATION_NS;
}

int nb_compare_open(struct nb_compare *c, const struct nb_compare_cfg *cfg, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	defaults(c);
	for (unsigned pi = 0; pi < c->cfg.npaths;) {
		struct nb_where w = c->cfg.where;
		struct nb_test_cfg tc;
		char kind[32];
		nb_cfg_defaults(&tc, NB_TEST_RR);
		w.path = nb_compare_kind(c->cfg.paths[pi], kind, sizeof(kind));
		w.for_ns = schedule_ns(&c->cfg);
		if (c->cfg.building)
			c->cfg.building(c->cfg.arg, c->cfg.paths[pi]);
		int r = nb_target_open(&w, &tc, &c->targets[pi], err, errlen);
		if (r == -EPERM || r == -EACCES)
			return -EPERM;
		if (r < 0)
			leave_out(c, pi, err);
		else
			pi++;
	}
	int r = find_reference(c, err, errlen);
	if (!r && alloc_hists(c) < 0) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		r = -ENOMEM;
	}
	return r;
}

void nb_compare_close(struct nb_compare *c)
{
	for (unsigned pi = 0; pi < NB_COMPARE_MAX_PATHS; pi++) {
		nb_target_close(c->targets[pi]);
		c->targets[pi] = NULL;
	}
	for (unsigned k = 0; k < NB_COMPARE_MAX_TESTS * 2 * NB_COMPARE_MAX_PATHS; k++) {
		nb_hcell_free(&(&c->hcells[0][0][0])[k]);
		nb_hist_free((&c->hists[0][0][0])[k]);
		(&c->hists[0][0][0])[k] = NULL;
	}
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
			const struct nb_hist_stats *without)
{
	struct nb_run_opts o = {.quit = c->cfg.quit, .capture = true, .hops_backend = c->cfg.hops_backend};
	struct nb_report rep;
	nb_report_init(&rep);
	r->capture = true;
	r->ok = nb_target_run(c->targets[r->pi], cfg, &o, &rep) == 0 && rep.complete && rep.hops;
	r->rep = &rep;
	if (r->ok)
		nb_hcell_add(&c->hcells[r->ti][r->pli][r->pi], without, &rep);
	said(c, r);
	nb_report_free(&rep);
}

/* --capture STEM: run (ti, pli, pi)'s file, STEM-PATH-TEST-PLACEMENT-rROUND.pcapng, into file. */
static void capture_file(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi, char *file,
			 size_t len)
{
	const char *stem = c->cfg.pathcap.file;
	size_t n = strlen(stem), e = n > 7 && !strcmp(stem + n - 7, ".pcapng") ? n - 7 : n;
	snprintf(file, len, "%.*s-%s-%s-%s-r%u.pcapng", (int)e, stem, c->cfg.paths[pi],
		 c->cfg.tests[ti]->name, nb_compare_row_placement(c, ti, pli), c->rounds);
}

static void one_run(struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi)
{
	struct nb_compare_run r = {.round = c->rounds, .ti = ti, .pli = pli, .pi = pi};
	struct nb_run_opts o = {.quit = c->cfg.quit};
	struct nb_pathcap_cfg pcap = c->cfg.pathcap;
	char file[512];
	struct nb_hist *h = NULL;
	struct nb_test_cfg cfg;
	struct nb_report rep;

	run_cfg(c, ti, pli, pi, &cfg);
	nb_report_init(&rep);
	if (pcap.file) {
		capture_file(c, ti, pli, pi, file, sizeof(file));
		pcap.file = file;
		o.pathcap = &pcap;
	}
	/* the run's own histogram, merged into the cell's only when the run completed */
	if (c->hists[ti][pli][pi] && nb_hist_new(&h) == 0)
		o.latency = h;
	r.ok = nb_target_run(c->targets[pi], &cfg, &o, &rep) == 0 && rep.complete;
	/* a run that measured nothing (a core stolen for its whole window) has no figures to pair */
	if (r.ok && (cfg.kind == NB_TEST_STREAM ? !(rep.goodput_bps > 0) : !rep.txns)) {
		r.ok = false;
		snprintf(rep.error, sizeof(rep.error), "nothing measured in the window (no %s)",
			 cfg.kind == NB_TEST_STREAM ? "byte delivered" : "transaction completed");
	}
	r.rep = &rep;
	nb_cell_add(&c->cells[ti][pli][pi], &rep, r.ok, c->rounds);
	if (r.ok && h)
		nb_hist_merge(c->hists[ti][pli][pi], h);
	nb_hist_free(h);
	said(c, &r);
	struct nb_hist_stats without = rep.lat;
	nb_report_free(&rep);
	if (r.ok && c->cfg.hops && c->cfg.tests[ti]->kind == NB_TEST_RR)
		capture_run(c, &r, &cfg, &without);
}

/* ---- the rounds ---- */

static bool judged(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi, enum nb_metric m,
		   double *half_pct, double *sd_log, unsigned *n);

/* After a round: each targeted interval's first round within its precision; at a stage's end, where the
 * next stage ends (the rounds the widest projects, at least one more). */
static void judge_stage(struct nb_compare *c)
{
	struct nb_compare_status st;
	if (c->cfg.precision_pct <= 0)
		return;
	for (unsigned ti = 0; ti < c->cfg.ntests; ti++)
		for (unsigned pli = 0; pli < nb_compare_rows(c, ti); pli++)
			for (unsigned pi = 0; pi < c->cfg.npaths; pi++)
				for (int m = 0; m < NB_M_COUNT; m++) {
					double half, sd, target = nb_compare_target_pct(c, m);
					unsigned n;
					if (target > 0 && !c->met_at[ti][pli][pi][m] &&
					    nb_metric_applies(m, c->cfg.tests[ti]->kind) &&
					    judged(c, ti, pli, pi, m, &half, &sd, &n) && n >= 2 &&
					    half <= target)
						c->met_at[ti][pli][pi][m] = (unsigned short)c->rounds;
				}
	if (!c->next_check)
		c->next_check = c->cfg.runs;
	if (c->rounds < c->next_check)
		return;
	nb_compare_status(c, &st);
	if (st.unmet)
		c->next_check = st.projected > c->rounds ? st.projected : c->rounds + 1;
}

static void shuffle(struct nb_rng *g, unsigned *v, unsigned n)
{
	for (unsigned i = n; i > 1; i--) {
		unsigned j = nb_rng_below(g, i), t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

unsigned nb_compare_order(const struct nb_compare *c, unsigned k, unsigned (*ret)[3])
{
	struct nb_rng g = {c->seed ^ (0x9e3779b97f4a7c15ull * k)};
	unsigned blocks[NB_COMPARE_MAX_TESTS * 2], nb = 0, n = 0;
	for (unsigned ti = 0; ti < c->cfg.ntests; ti++)
		for (unsigned pli = 0; pli < nb_compare_rows(c, ti); pli++)
			blocks[nb++] = ti * 2 + pli;
	shuffle(&g, blocks, nb);
	for (unsigned b = 0; b < nb; b++) {
		unsigned paths[NB_COMPARE_MAX_PATHS];
		for (unsigned pi = 0; pi < c->cfg.npaths; pi++)
			paths[pi] = pi;
		shuffle(&g, paths, c->cfg.npaths);
		for (unsigned pi = 0; pi < c->cfg.npaths; pi++, n++) {
			ret[n][0] = blocks[b] / 2;
			ret[n][1] = blocks[b] % 2;
			ret[n][2] = paths[pi];
		}
	}
	return n;
}

void nb_compare_round(struct nb_compare *c)
{
	unsigned order[NB_COMPARE_MAX_TESTS * 2 * NB_COMPARE_MAX_PATHS][3];
	if (!c->rounds)
		c->start_ns = nb_now_ns();
	unsigned n = nb_compare_order(c, ++c->rounds, order);
	for (unsigned k = 0; k < n && !quitting(c); k++)
		one_run(c, order[k][0], order[k][1], order[k][2]);
	c->elapsed_ns = nb_now_ns() - c->start_ns;
	if (c->rounds <= NB_COMPARE_MAX_RUNS)
		c->round_end_ns[c->rounds] = c->elapsed_ns;
	judge_stage(c);
	if (c->cfg.round_done && !quitting(c))
		c->cfg.round_done(c->cfg.arg, c);
}

bool nb_compare_enough(const struct nb_compare *c)
{
	struct nb_compare_status st;
	if (quitting(c) || c->rounds >= c->cfg.max_rounds)
		return true;
	if (!c->rounds)
		return false;
	int64_t round_ns = c->elapsed_ns / c->rounds;
	if (c->cfg.max_time_ns > 0 && c->elapsed_ns + round_ns > c->cfg.max_time_ns)
		return true;
	if (c->rounds < c->cfg.runs)
		return false;
	if (c->cfg.precision_pct <= 0)
		return true;
	if (c->rounds < c->next_check)
		return false;
	nb_compare_status(c, &st);
	return !st.unmet;
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

const struct nb_cell *nb_compare_reference(const struct nb_compare *c, unsigned ti, unsigned pli)
{
	return &c->cells[ti][pli][c->ref];
}

/* The index of the path path pi extends, or -1; its name in *ret_parent (NULL for the floor). */
static int parent_index(const struct nb_compare *c, unsigned pi, const char **ret_parent)
{
	char kind[32];
	const char *par = nb_topo_kind_parent(nb_compare_kind(c->cfg.paths[pi], kind, sizeof(kind)));
	*ret_parent = par;
	return par ? path_index(c, par) : -1;
}

const char *nb_compare_parent(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi,
			      const struct nb_cell **ret)
{
	const char *par;
	int pp = parent_index(c, pi, &par);
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
	int pp = parent_index(c, pi, ret_parent);
	/* the probes' cost per hit, pooled over the test's paths in this placement */
	double probe_ns = nb_hcell_probe_ns(c->hcells[ti][pli], c->cfg.npaths, c->cfg.ci_level);
	return nb_hcell_vs(&c->hcells[ti][pli][pi], pp < 0 ? NULL : &c->hcells[ti][pli][pp], c->cfg.ci_level,
			   probe_ns, ret);
}

/* ---- the figures and their intervals ---- */

double nb_compare_target_pct(const struct nb_compare *c, enum nb_metric m)
{
	if (c->cfg.precision_pct <= 0 || m == NB_M_P90)
		return 0; /* p90 is shown, not targeted: between p50's and p99's, it adds rounds and no
			     decision */
	return m == NB_M_P99			? c->cfg.p99_pct
	       : m == NB_M_CPB || m == NB_M_CPT ? c->cfg.cpu_pct
						: c->cfg.precision_pct;
}

/* A cell's seed for the bootstrap: the compare's, the same for every cell, so that each resamples the same
 * round indices. */
static uint64_t boot_seed(const struct nb_compare *c)
{
	return c->seed ^ 0x5bd1e995ull;
}

/* --precision: Stein's guard on a ratio (paired.h): the first stage's rounds (up to cfg.runs) bound how
 * narrow its interval may be, so that stopping once it looks narrow keeps the level's coverage. */
static void guard(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi, enum nb_metric m,
		  double level, struct nb_ratio *r)
{
	double a[NB_CELL_MAX_RUNS], b[NB_CELL_MAX_RUNS];
	struct nb_ratio pilot;
	if (c->cfg.precision_pct <= 0 || pi == c->ref)
		return;
	unsigned n0 =
	    nb_cell_pairs_upto(&c->cells[ti][pli][pi], &c->cells[ti][pli][c->ref], m, c->cfg.runs, a, b);
	if (nb_paired_ratio(a, b, n0, level, boot_seed(c), &pilot) == 0)
		nb_paired_ratio_guard(r, pilot.sd_log, n0, level);
}

int nb_compare_ratio(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi, enum nb_metric m,
		     struct nb_ratio *ret)
{
	int r = nb_cell_ratio_paired(&c->cells[ti][pli][pi], &c->cells[ti][pli][c->ref], m, c->cfg.ci_level,
				     boot_seed(c), ret);
	if (!r)
		guard(c, ti, pli, pi, m, c->cfg.ci_level, ret);
	return r;
}

static bool percentile_of(enum nb_metric m, double *ret_p)
{
	*ret_p = m == NB_M_P50 ? 50 : m == NB_M_P90 ? 90 : m == NB_M_P99 ? 99 : 0;
	return *ret_p > 0;
}

struct nb_paired_mean nb_compare_point(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi,
				       enum nb_metric m)
{
	const struct nb_cell *cell = &c->cells[ti][pli][pi];
	const struct nb_hist *h = c->hists[ti][pli][pi];
	struct nb_paired_mean s = nb_paired_mean_of(cell->v[m], cell->n, c->cfg.ci_level, boot_seed(c));
	double p;
	if (h && h->count && percentile_of(m, &p)) {
		/* the point from every transaction of every round; the interval's sides from the rounds */
		double point = (double)nb_hist_percentile(h, p);
		s.lo = point - (s.mean - s.lo);
		s.hi = point + (s.hi - s.mean);
		s.mean = point;
	}
	return s;
}

bool nb_compare_delta(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi, enum nb_metric m,
		      const char **ret_parent, struct nb_delta *ret)
{
	int pp = parent_index(c, pi, ret_parent);
	if (pp < 0)
		return false;
	nb_cell_delta_paired(&c->cells[ti][pli][pi], &c->cells[ti][pli][pp], m, c->cfg.ci_level, boot_seed(c),
			     ret);
	return true;
}

const struct nb_hist *nb_compare_hist(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi)
{
	return c->hists[ti][pli][pi];
}

/* The interval the stopping rule judges for figure m of cell (ti, pli, pi), at stop_level: the ratio to the
 * reference, or the reference's own spread (on logs) when it is compared alone. Its half-width in percent,
 * the log spread and the rounds judged; false when the figure has no such interval (a value of 0: CPU cost
 * without a source). */
static bool judged(const struct nb_compare *c, unsigned ti, unsigned pli, unsigned pi, enum nb_metric m,
		   double *half_pct, double *sd_log, unsigned *n)
{
	const struct nb_cell *cell = &c->cells[ti][pli][pi];
	struct nb_ratio r;
	if (pi != c->ref || c->cfg.npaths == 1) {
		const struct nb_cell *ref = pi == c->ref ? NULL : &c->cells[ti][pli][c->ref];
		double lv[NB_CELL_MAX_RUNS] = {0}, one[NB_CELL_MAX_RUNS] = {0};
		unsigned k = ref ? nb_cell_pairs(cell, ref, m, lv, one) : cell->n;
		if (!ref)
			for (unsigned i = 0; i < k; i++)
				lv[i] = cell->v[m][i], one[i] = 1;
		if (nb_paired_ratio(lv, one, k, c->cfg.stop_level, boot_seed(c), &r) < 0)
			return false;
		if (ref)
			guard(c, ti, pli, pi, m, c->cfg.stop_level, &r);
		*half_pct = r.half_pct;
		*sd_log = r.sd_log;
		if (r.n >= 2 &&
		    !isnan(r.half_pct)) /* the spread the (guarded) interval implies: the projection's */
			*sd_log = fmax(r.sd_log, log1p(r.half_pct / 100) * sqrt(r.n) /
						     nb_t_quantile(c->cfg.stop_level, r.n - 1));
		*n = r.n;
		return true;
	}
	return false;
}

/* One targeted interval into the status: met or not, its need, the widest so far. */
static void status_cell(const struct nb_compare *c, struct nb_compare_status *st, unsigned ti, unsigned pli,
			unsigned pi, enum nb_metric m)
{
	double target = nb_compare_target_pct(c, m), half, sd;
	unsigned n;
	/* without --precision nothing is targeted; the widest of what a verdict rests on is still shown */
	bool shown_only = c->cfg.precision_pct <= 0 && (m == NB_M_P50 || m == NB_M_TPS || m == NB_M_GOODPUT);
	if ((!target && !shown_only) || !nb_metric_applies(m, c->cfg.tests[ti]->kind) ||
	    !judged(c, ti, pli, pi, m, &half, &sd, &n))
		return;
	if (shown_only) {
		if (n >= 2 && !isnan(half) && (!st->any || half > st->widest_pct)) {
			st->any = true;
			st->wti = ti, st->wpli = pli, st->wpi = pi, st->wm = m;
			st->widest_pct = half;
			st->widest_target_pct = 0;
			st->wneed = c->cfg.runs;
		}
		return;
	}
	unsigned need = n < 2 || isnan(half)
			    ? c->cfg.runs
			    : nb_paired_rounds_needed(sd, nb_paired_log_target(target), c->cfg.stop_level,
						      c->cfg.runs, c->cfg.max_rounds);
	bool met = n >= 2 && half <= target;
	if (!met) {
		st->unmet++;
		need = need <= c->rounds ? c->rounds + 1 : need; /* the spread grew: at least one more */
		st->projected = need > st->projected ? need : st->projected;
	}
	double how_far = isnan(half) ? INFINITY : half / target;
	if (!st->any || how_far > st->widest_pct / st->widest_target_pct ||
	    (isinf(how_far) && !isinf(st->widest_pct))) {
		st->any = true;
		st->wti = ti, st->wpli = pli, st->wpi = pi, st->wm = m;
		st->widest_pct = isnan(half) ? INFINITY : half;
		st->widest_target_pct = target;
		st->wneed = need;
	}
}

void nb_compare_status(const struct nb_compare *c, struct nb_compare_status *st)
{
	*st = (struct nb_compare_status){.rounds = c->rounds, .elapsed_ns = c->elapsed_ns};
	st->round_ns = c->rounds ? c->elapsed_ns / c->rounds : 0;
	for (unsigned ti = 0; ti < c->cfg.ntests; ti++)
		for (unsigned pli = 0; pli < nb_compare_rows(c, ti); pli++)
			for (unsigned pi = 0; pi < c->cfg.npaths; pi++)
				for (int m = 0; m < NB_M_COUNT; m++)
					status_cell(c, st, ti, pli, pi, m);
	unsigned want = c->rounds < c->cfg.runs ? c->cfg.runs : c->rounds;
	st->projected = st->projected > want ? st->projected : want;
	if (st->projected > c->cfg.max_rounds)
		st->projected = c->cfg.max_rounds;
	st->left_ns = (int64_t)(st->projected - c->rounds) * st->round_ns;
	if (c->cfg.max_time_ns > 0) {
		st->over_budget = st->elapsed_ns + st->left_ns > c->cfg.max_time_ns;
		if (st->over_budget)
			st->left_ns =
			    c->cfg.max_time_ns - st->elapsed_ns > 0 ? c->cfg.max_time_ns - st->elapsed_ns : 0;
	}
}
