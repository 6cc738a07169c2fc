/* SPDX-License-Identifier: MIT */
/*
 * bench/'s drivers without argv, on paths they build: compare over native and bridge (rr-tcp and stream, two
 * rounds, rr with capture), then sweep over host's wire (gro on and off). What is checked is what the drivers
 * report: every cell has its rounds, bridge's parent is native, the ratios' reference is native, the stopping
 * rule says enough after --runs, each combination ran and the interfaces were put back; never speed.
 *
 * usage: bench_test NBENCH [CASE] (the binary whose `serve` the paths' responders run); exit 77 without root.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nbench/compare.h"
#include "nbench/hist.h"
#include "nbench/report.h"
#include "nbench/sweep.h"
#include "tap.h"

#define SKIP 77

static const char *exe; /* the nbench binary the paths' responders run */

static unsigned runs, captures;

static void on_run(void *arg, const struct nb_compare_run *r)
{
	(void)arg;
	if (!r->ok)
		fprintf(stderr, "run failed: %s\n", r->rep->n_notes ? r->rep->notes[0] : r->rep->error);
	r->capture ? captures++ : runs++;
}

static void test_compare(void)
{
	static struct nb_compare c;
	struct nb_compare_cfg cfg = {
	    .paths = {"native", "bridge"},
	    .npaths = 2,
	    .tests = {nb_compare_test_find("rr-tcp"), nb_compare_test_find("stream")},
	    .ntests = 2,
	    .pl = {NB_PLACE_SAME},
	    .npl = 1,
	    .runs = 2,
	    .max_rounds = 2,
	    .ci_level = 95,
	    .seed = 7,
	    .histograms = true,
	    .duration_ns = 300 * 1000 * 1000LL,
	    .where = {.port = NB_DEFAULT_PORT, .exe = exe},
	    .hops = true,
	    .run = on_run};
	char err[256] = "";
	const struct nb_cell *parent;

	CHECK_MSG(nb_compare_open(&c, &cfg, err, sizeof(err)) == 0 && c.cfg.npaths == 2, "%s (%u paths)", err,
		  c.cfg.npaths);
	nb_compare_rounds(&c);
	CHECK_MSG(c.rounds == 2 && nb_compare_enough(&c), "%u rounds", c.rounds);
	/* every cell ran once a round; a run a loaded machine starved of its whole window failed (said above)
	 */
	CHECK_MSG(runs == 2 * 2 * 2 && captures <= 2 * 2, "%u runs, %u with capture", runs, captures);
	bool all = true;
	for (unsigned ti = 0; ti < 2; ti++)
		for (unsigned pi = 0; pi < 2; pi++) {
			const struct nb_cell *cell = &c.cells[ti][0][pi];
			CHECK_MSG(cell->n + cell->failed == 2 && cell->n >= 1,
				  "test %u path %u: %u runs, %u failed", ti, pi, cell->n, cell->failed);
			all &= cell->n == 2;
		}
	CHECK_MSG(nb_compare_reference(&c, 0, 0) == &c.cells[0][0][0] && c.ref == 0,
		  "native is the reference");
	/* the rounds pair: bridge's p50 against native's, with an interval from the two rounds */
	struct nb_ratio r;
	CHECK_MSG(nb_compare_ratio(&c, 0, 0, 1, NB_M_P50, &r) == 0 && r.n == 2 && r.lo <= r.ratio &&
		      r.ratio <= r.hi,
		  "bridge/native p50 %g [%g, %g] over %u rounds", r.ratio, r.lo, r.hi, r.n);
	struct nb_delta d;
	const char *from;
	CHECK_MSG(nb_compare_delta(&c, 0, 0, 1, NB_M_P50, &from, &d) && !strcmp(from, "native") && d.n == 2,
		  "bridge's hop delta");
	/* the merged histogram holds every transaction of both rounds; the p50 is its own */
	const struct nb_hist *hist = nb_compare_hist(&c, 0, 0, 1);
	struct nb_paired_mean p50 = nb_compare_point(&c, 0, 0, 1, NB_M_P50);
	CHECK_MSG(hist && hist->count > 0 && p50.mean == (double)nb_hist_percentile(hist, 50), "merged p50");
	CHECK(nb_compare_hist(&c, 1, 0, 0) == NULL); /* a stream has none */
	/* the same seed draws the same order; the order runs every cell once */
	unsigned o1[32][3], o2[32][3];
	CHECK(nb_compare_order(&c, 1, o1) == 4 && nb_compare_order(&c, 1, o2) == 4 &&
	      !memcmp(o1, o2, sizeof(o1[0]) * 4));
	CHECK_MSG(!strcmp(nb_compare_parent(&c, 0, 0, 1, &parent), "native") && parent == &c.cells[0][0][0],
		  "bridge extends native");
	CHECK_MSG(nb_compare_rows(&c, 1) == 1 && !strcmp(nb_compare_row_placement(&c, 1, 0), "unpinned"),
		  "stream");
	struct nb_report_hops *h = nb_compare_hops(&c, 0, 0, 1);
	CHECK_MSG(h && h->runs_with >= 1 && h->rtt_without_ns > 0, "bridge's decomposition: %p %u %g",
		  (void *)h, h ? h->runs_with : 0, h ? h->rtt_without_ns : 0);
	nb_compare_close(&c);
}

static unsigned combos_run;

static void on_combo(void *arg, unsigned round, const struct nb_sweep_combo *co, bool ok,
		     const struct nb_report *rep)
{
	(void)arg, (void)round, (void)co;
	CHECK_MSG(ok, "%s: %s", co->label, rep->error);
	combos_run++;
}

static void test_sweep(void)
{
	static struct nb_sweep s;
	static struct nb_sweep_cfg cfg;
	unsigned total;
	char err[256] = "";

	cfg = (struct nb_sweep_cfg){.knobs = {{"gro", {"on", "off"}, 2}},
				    .nknobs = 1,
				    .runs = 1,
				    .where = {.path = "host", .port = NB_DEFAULT_PORT, .exe = exe},
				    .run = on_combo};
	nb_cfg_defaults(&cfg.test, NB_TEST_RR);
	cfg.test.duration_ns = 300 * 1000 * 1000LL;
	nb_cfg_resolve(&cfg.test);
	CHECK_MSG(nb_sweep_init(&s, &cfg, &total) == 0 && s.ncombos == 2, "%u combinations", total);
	CHECK_MSG(!strcmp(s.combos[1].label, "gro=off"), "%s", s.combos[1].label);
	CHECK_MSG(nb_sweep_open(&s, err, sizeof(err)) == 0, "%s", err);
	CHECK_MSG(nb_sweep_record(&s, err, sizeof(err)) == 0 && s.nifs == 2, "%s (%u interfaces)", err,
		  s.nifs);
	nb_sweep_rounds(&s);
	CHECK_MSG(nb_sweep_close(&s) == 0, "the interfaces put back");
	CHECK_MSG(combos_run == 2 && s.combos[0].cell.n == 1 && s.combos[1].cell.n == 1, "%u runs",
		  combos_run);
	struct nb_ratio r0, r1;
	CHECK_MSG(nb_sweep_ratio(&s, 1, NB_M_P50, &r1) == 0 && nb_sweep_ratio(&s, 0, NB_M_P50, &r0) == 0 &&
		      r0.ratio == 1 && !isnan(r1.ratio),
		  "ratios");
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {TAP_CASE(test_compare), TAP_CASE(test_sweep)};
	if (argc < 2)
		return fprintf(stderr, "usage: bench_test NBENCH [CASE]\n"), 2;
	if (geteuid() != 0)
		return fprintf(stderr, "SKIP: building paths needs root\n"), SKIP;
	exe = argv[1];
	return TAP_RUN(cases, argc > 2 ? argv[2] : NULL);
}
