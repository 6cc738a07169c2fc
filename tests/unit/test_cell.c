/* SPDX-License-Identifier: MIT */
/* analyze/metric.c and cell.c: the figures taken from a run's report, and the cells compare and sweep keep.
 */
#include <math.h>

#include "nbench/cell.h"
#include "nbench/metric.h"
#include "nbench/report.h"
#include "tap.h"

static bool near(double a, double b, double eps)
{
	return fabs(a - b) <= eps;
}

static struct nb_report *run(double goodput, int64_t p50, double tps, bool disturbed)
{
	static struct nb_report r;
	r = (struct nb_report){.goodput_bps = goodput, .tps = tps};
	r.lat.p50_ns = p50;
	r.lat.p99_ns = 2 * p50;
	r.cpu.cycles_per_byte = 1.5;
	r.cpu.cycles_per_txn = 3000;
	r.cpu.disturbed = disturbed;
	return &r;
}

/* Each figure comes from its place in the report; a stream's are goodput and cycles per byte. */
static void test_metric_of(void)
{
	struct nb_report *r = run(9.4e9, 7000, 140000, false);
	CHECK(nb_metric_of(r, NB_M_GOODPUT) == 9.4e9);
	CHECK(nb_metric_of(r, NB_M_CPB) == 1.5);
	CHECK(nb_metric_of(r, NB_M_P50) == 7000);
	CHECK(nb_metric_of(r, NB_M_P99) == 14000);
	CHECK(nb_metric_of(r, NB_M_TPS) == 140000);
	CHECK(nb_metric_of(r, NB_M_CPT) == 3000);
	CHECK(nb_metric_applies(NB_M_GOODPUT, NB_TEST_STREAM) &&
	      !nb_metric_applies(NB_M_P50, NB_TEST_STREAM));
	CHECK(nb_metric_applies(NB_M_P99, NB_TEST_CRR) && !nb_metric_applies(NB_M_CPB, NB_TEST_RR));
	char buf[48];
	CHECK_STR(nb_metric_label(NB_M_P50, buf, sizeof(buf)), "p50 (us)");
	CHECK_STR(nb_metric_label(NB_M_TPS, buf, sizeof(buf)), "transactions/s");
	CHECK_INT(nb_metric_direction("p99_ns"), -1);
	CHECK_INT(nb_metric_direction("goodput_bps"), +1);
	CHECK_INT(nb_metric_direction("round"), 0);
}

/* A cell keeps complete runs, counts failed and disturbed ones; means, ratios and deltas come from it. */
static void test_cell(void)
{
	static struct nb_cell c, ref;
	nb_cell_add(&c, run(0, 10000, 0, false), true, 1);
	nb_cell_add(&c, run(0, 12000, 0, true), true, 2);
	nb_cell_add(&c, run(0, 99000, 0, false), false, 3);
	CHECK_INT(c.n, 2);
	CHECK_INT(c.failed, 1);
	CHECK_INT(c.disturbed, 1);
	struct nb_stat s = nb_cell_stat(&c, NB_M_P50, 95);
	CHECK(near(s.mean, 11000, 1e-9) && s.n == 2);
	CHECK(isnan(nb_cell_mean(&ref, NB_M_P50, 95)) && isnan(nb_cell_mean(NULL, NB_M_P50, 95)));
	CHECK(isnan(nb_cell_ratio(&ref, 11000, NB_M_P50, 95)));
	double d = -1;
	CHECK(!nb_cell_delta(&ref, 11000, NB_M_P50, 95, &d) && d == -1);
	nb_cell_add(&ref, run(0, 5500, 0, false), true, 1);
	CHECK(near(nb_cell_ratio(&ref, 11000, NB_M_P50, 95), 2, 1e-12));
	CHECK(nb_cell_delta(&ref, 11000, NB_M_P50, 95, &d) && near(d, 5500, 1e-9));
	/* a reference with a mean of 0 gives no ratio */
	CHECK(isnan(nb_cell_ratio(&ref, 1, NB_M_GOODPUT, 95)));
}

/* Pairs are the rounds both cells completed: a round one of them failed is left out of the ratio. Rounds
 * 1, 2, 4 pair (3 failed on ref, 5 is x's alone); x / ref is 2 in each: the ratio 2 with no width. */
static void test_cell_pairs(void)
{
	static struct nb_cell x, ref;
	const double p50[] = {10000, 12000, 11000, 9000, 15000};
	for (unsigned r = 1; r <= 5; r++) {
		nb_cell_add(&x, run(0, (int64_t)p50[r - 1], 0, false), true, r);
		if (r <= 4)
			nb_cell_add(&ref, run(0, (int64_t)p50[r - 1] / 2, 0, false), r != 3, r);
	}
	double a[NB_CELL_MAX_RUNS], b[NB_CELL_MAX_RUNS];
	CHECK_INT(nb_cell_pairs(&x, &ref, NB_M_P50, a, b), 3);
	CHECK(a[2] == 9000 && b[2] == 4500);
	struct nb_ratio r;
	CHECK(nb_cell_ratio_paired(&x, &ref, NB_M_P50, 95, 1, &r) == 0);
	CHECK(r.n == 3 && near(r.ratio, 2, 1e-12) && near(r.lo, 2, 1e-9) && near(r.hi, 2, 1e-9));
	struct nb_delta d;
	nb_cell_delta_paired(&x, &ref, NB_M_P50, 95, 1, &d);
	CHECK(d.n == 3 && near(d.delta, (5000 + 6000 + 4500) / 3.0, 1e-9));
	/* an outlier round: round 3's ratio is ten times the others' (which spread by a few percent) */
	static struct nb_cell y, yref;
	for (unsigned r = 1; r <= 8; r++) {
		nb_cell_add(&y, run(0, r == 3 ? 100000 : 10000, 0, false), true, r);
		nb_cell_add(&yref, run(0, 5000 + 100 * r, 0, false), true, r);
	}
	unsigned out[NB_CELL_MAX_RUNS];
	CHECK_INT(nb_cell_outliers(&y, &yref, NB_M_P50, out), 1);
	CHECK_INT(out[0], 3);
	CHECK_INT(nb_cell_outliers(&yref, NULL, NB_M_P50, out), 0); /* its own spread: none */
}

static struct nb_report_hops *decomposition(double hop_out_ns, double hop_back_ns)
{
	struct nb_report_hops *h = calloc(1, sizeof(*h));
	h->n = 3;
	snprintf(h->seg[0].segment, sizeof(h->seg[0].segment), "client stack out");
	h->seg[0].mean_ns = 1000;
	snprintf(h->seg[1].segment, sizeof(h->seg[1].segment), "hop out");
	h->seg[1].mean_ns = hop_out_ns;
	snprintf(h->seg[2].segment, sizeof(h->seg[2].segment), "hop back");
	h->seg[2].mean_ns = hop_back_ns;
	return h;
}

/* --hops: the pairs' round trips (means and medians), the last decomposition, and a path's hops against its
 * parent's: raw, less each hop's share of the probes' cost (ebpf: the medians' overhead over the hits), and
 * the medians' subtraction they are held against. */
static void test_hcell(void)
{
	static struct nb_hcell h, parent;
	struct nb_report with = {.hops = decomposition(700, 800)};
	struct nb_hist_stats without = {.mean_ns = 10000, .p50_ns = 9000};
	with.lat.mean_ns = 11000;
	with.lat.p50_ns = 9900;
	with.hops->probe_hits = 10;
	nb_hcell_add(&h, &without, &with);
	CHECK(with.hops == NULL && h.last != NULL);
	with.hops = decomposition(600, 900);
	with.hops->probe_hits = 10;
	with.lat.mean_ns = 13000;
	with.lat.p50_ns = 11100;
	without = (struct nb_hist_stats){.mean_ns = 12000, .p50_ns = 10000};
	nb_hcell_add(&h, &without, &with);
	struct nb_report_hops *s = nb_hcell_summary(&h, 95);
	CHECK(s == h.last && s->runs_with == 2 && s->runs_without == 2);
	CHECK(near(s->rtt_without_ns, 11000, 1e-9) && near(s->rtt_with_ns, 12000, 1e-9));
	CHECK(s->rtt_p50_without_ns == 9500 && s->rtt_p50_with_ns == 10500);
	CHECK(near(nb_hops_sum_ns(s, 0), 1500, 1e-9));
	CHECK(near(nb_hops_sum_ns(s, 100), 1300, 1e-9));
	/* the medians' overhead, 1000 ns, over 10 hits */
	CHECK(near(nb_report_hops_probe_ns(s), 100, 1e-9));
	struct nb_hops_vs v;
	CHECK(!nb_hcell_vs(&h, &parent, 95, NAN, &v));
	with.hops = decomposition(200, 300); /* pcap: no hits, no probes' cost */
	with.lat.mean_ns = 8000;
	with.lat.p50_ns = 6500;
	without = (struct nb_hist_stats){.mean_ns = 7000, .p50_ns = 6000};
	nb_hcell_add(&parent, &without, &with);
	CHECK(nb_hcell_vs(&h, &parent, 95, NAN, &v));
	CHECK(near(v.capture_ns, 1000, 1e-9) && near(v.compare_ns, 4000, 1e-9) && isinf(v.ci_ns));
	CHECK(near(v.p50_ns, 3500, 1e-9) && isinf(v.p50_ci_ns));
	CHECK(isnan(v.less_ns)); /* no probes' cost */
	/* pooled over the paths: the parent has no hits (pcap), h's 1000 ns over 10; then the parent's 500
	 * over 5 too */
	struct nb_hcell both[2] = {h, parent};
	CHECK(near(nb_hcell_probe_ns(both, 2, 95), 100, 1e-9));
	parent.last->probe_hits = 5;
	both[1] = parent;
	CHECK(near(nb_hcell_probe_ns(both, 2, 95), 1500.0 / 15, 1e-9));
	CHECK(nb_hcell_vs(&h, &parent, 95, 100, &v));
	CHECK(near(v.less_ns, (1500 - 2 * 100) - (500 - 2 * 100), 1e-9));
	CHECK(nb_hcell_summary(&(struct nb_hcell){0}, 95) == NULL);
	nb_hcell_free(&h);
	nb_hcell_free(&parent);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {TAP_CASE(test_metric_of), TAP_CASE(test_cell),
						TAP_CASE(test_cell_pairs), TAP_CASE(test_hcell)};
	return TAP_RUN(cases, argc > 2 ? argv[2] : NULL);
}
