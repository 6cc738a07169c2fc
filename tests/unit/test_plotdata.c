/* SPDX-License-Identifier: MIT */
/* analyze/plotdata.c: what `nbench plot` takes out of reports, on the golden rr report and the compare
 * reports of tests/plot. */
#include <math.h>

#include "nbench/plotdata.h"
#include "tap.h"

static const char *dir;

static cJSON *load(const char *rel)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	FILE *f = fopen(path, "r");
	static char buf[1 << 20];
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	cJSON *j = cJSON_Parse(buf);
	CHECK_MSG(j != NULL, "%s", path);
	return j;
}

static bool near(double a, double b)
{
	return fabs(a - b) <= 1e-9 * fmax(1, fabs(b));
}

static void test_percentile(void)
{
	CHECK(near(nb_plotdata_percentile("p50"), 50));
	CHECK(near(nb_plotdata_percentile("p999"), 99.9));
	CHECK(near(nb_plotdata_percentile("p9999_ns"), 99.99));
	CHECK(isnan(nb_plotdata_percentile("p5")));
	CHECK(isnan(nb_plotdata_percentile("path")));
	CHECK(isnan(nb_plotdata_percentile("p50_us")));
}

/* A single run: its title and its distribution, the minimum first at x 1. */
static void test_run(void)
{
	cJSON *rr = load("golden/rr_tcp.json"), *st = load("golden/stream_tcp.json");
	struct nb_plot_point pts[NB_PLOT_MAX_POINTS];
	int n = nb_plotdata_run_percentiles(rr, pts, NB_PLOT_MAX_POINTS);
	CHECK_INT(n, 5); /* min, p50, p90, p99, p999 */
	CHECK(near(pts[0].x, 1) && pts[0].pct == 0 && near(pts[0].us, 5.4));
	CHECK(near(pts[1].x, 2) && near(pts[1].us, 6.895));
	CHECK(near(pts[4].x, 1000) && near(pts[4].pct, 99.9) && near(pts[4].us, 13.023));
	CHECK_INT(nb_plotdata_run_percentiles(st, pts, NB_PLOT_MAX_POINTS), -1);
	unsigned niv;
	struct nb_plot_iv *iv = nb_plotdata_intervals(rr, false, &niv);
	CHECK(iv && niv == 3 && iv[0].end_s == 1 && iv[0].a == 152340 && near(iv[0].b, 6.52));
	free(iv);
	CHECK(nb_plotdata_intervals(rr, true, &niv) == NULL && niv == 0);
	cJSON_Delete(rr);
	cJSON_Delete(st);
}

/* A compare: paths in order, groups, a figure's mean and interval per path, percentiles with intervals. */
static void test_compare(void)
{
	cJSON *c = load("plot/compare.json");
	const char *paths[NB_PLOT_MAX_SERIES];
	char groups[NB_PLOT_MAX_SERIES][NB_PLOT_GROUP_LEN];
	CHECK_INT(nb_plotdata_compare_paths(c, paths, NB_PLOT_MAX_SERIES), 2);
	CHECK_STR(paths[1], "bridge");
	CHECK_INT(nb_plotdata_compare_groups(c, groups, NB_PLOT_MAX_SERIES), 2);
	CHECK_STR(groups[0], "rr-tcp same-core");
	CHECK_STR(groups[1], "stream unpinned");
	double mean, ci;
	CHECK(nb_plotdata_compare_value(c, "rr-tcp same-core", "native", "p50_ns", &mean, &ci));
	CHECK(mean == 6639 && near(ci, 4065.92));
	CHECK(!nb_plotdata_compare_value(c, "stream unpinned", "native", "p50_ns", &mean, &ci) &&
	      isnan(mean));
	struct nb_plot_point pts[NB_PLOT_MAX_POINTS];
	unsigned n =
	    nb_plotdata_compare_percentiles(c, "rr-tcp same-core", "native", pts, NB_PLOT_MAX_POINTS);
	CHECK(n == 2 && near(pts[0].us, 6.639) && near(pts[0].ci_us, 4.06592) && near(pts[1].x, 100));
	cJSON_Delete(c);
}

/* A figure's label is words with a unit, never the JSON key (issue 19: "cycles_per_transaction"). */
static void test_labels(void)
{
	static const struct {
		const char *key, *label;
		double scale;
	} cases[] = {
	    {"p50_ns", "p50 latency (µs)", 1e-3},
	    {"p999_ns", "p99.9 latency (µs)", 1e-3},
	    {"goodput_bps", "goodput (Gbit/s)", 1e-9},
	    {"cycles_per_transaction", "cpu cycles/transaction", 1},
	    {"cycles_per_byte", "cpu cycles/byte", 1},
	    {"transactions_per_s", "transactions/s", 1},
	    {"mean_lat_ns", "mean latency (µs)", 1e-3}, /* not one of compare's: from its key's words */
	    {"loss_pct", "loss (%)", 1},
	    {"duration_s", "duration (s)", 1},
	    {"some_new_figure", "some new figure", 1},
	};
	char label[96];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(near(nb_plotdata_scale(cases[i].key, label, sizeof(label)), cases[i].scale));
		CHECK_STR(label, cases[i].label);
		CHECK_MSG(!strchr(label, '_'), "%s: %s", cases[i].key, label);
	}
}

/* Whiskers: the axis keeps the bars readable; an end beyond it is drawn to the edge and said to be out. */
static void test_whiskers(void)
{
	/* whiskers within half again the tallest bar are shown whole, with headroom */
	double m1[] = {10, 20}, c1[] = {2, 8};
	CHECK(near(nb_plotdata_axis_top(m1, c1, 2), 28 * NB_PLOT_HEADROOM));
	/* one far above (few runs) does not squash the bars: the axis stops at the bars' reach */
	double m2[] = {10, 20}, c2[] = {2, 100};
	double top = nb_plotdata_axis_top(m2, c2, 2);
	CHECK(near(top, 20 * NB_PLOT_HEADROOM));
	struct nb_plot_whisker w = nb_plotdata_whisker(20, 100, 0, top);
	CHECK(w.hi_out && w.lo_out && near(w.hi, top) && w.lo == 0 && w.hi_end == 120 && w.lo_end == -80);
	w = nb_plotdata_whisker(10, 2, 0, top);
	CHECK(!w.hi_out && !w.lo_out && w.hi == 12 && w.lo == 8);
	/* no interval: both ends at the mean; no bars at all: an axis all the same */
	w = nb_plotdata_whisker(10, NAN, 0, top);
	CHECK(w.lo == 10 && w.hi == 10 && !w.lo_out && !w.hi_out);
	double m3[] = {0}, c3[] = {0};
	CHECK(nb_plotdata_axis_top(m3, c3, 1) == 1);
}

/* Hop waterfalls: one set per test and path; segment names by interface role line up across paths. */
static void test_hops(void)
{
	static struct nb_plot_hop_sets H;
	char names[NB_PLOT_MAX_SEGMENTS][NB_PLOT_SEG_LEN];
	cJSON *c = load("plot/compare_hops.json");
	nb_plotdata_hops(&H, c, NULL);
	CHECK_INT(H.n, 6);
	CHECK_STR(H.s[1].path, "bridge");
	CHECK_STR(H.s[1].group, "rr-tcp same-core");
	unsigned ns = nb_plotdata_seg_union(&H, "rr-tcp same-core", names);
	CHECK_INT(ns, 11); /* bridge's and nat's 11, native's 5 among them */
	CHECK_STR(names[0], "client stack out");
	CHECK_STR(names[1], "hop out r>h");
	CHECK_STR(names[2], "hop out h>b");
	CHECK(near(nb_plotdata_seg_us(&H.s[1], "hop out r>h"), 1.707755638102633));
	CHECK(nb_plotdata_seg_us(&H.s[0], "hop out h>b") == 0); /* native has no bridge */
	cJSON_Delete(c);
}

/* compare's ratios (forest plot) leave the reference out; the merged distribution's points (percentile
 * curves) come from latency_merged. */
static void test_compare_ratios(void)
{
	cJSON *c = cJSON_Parse(
	    "{\"command\":\"compare\",\"start\":{\"paths\":[\"native\",\"nat\"],\"reference\":\"native\"},"
	    "\"summary\":[{\"test\":\"rr-tcp\",\"placement\":\"same-core\",\"path\":\"native\","
	    "\"p50_ns\":{\"mean\":10000,\"ratio\":{\"value\":1,\"lo\":1,\"hi\":1}}},"
	    "{\"test\":\"rr-tcp\",\"placement\":\"same-core\",\"path\":\"nat\","
	    "\"p50_ns\":{\"mean\":14100,\"ratio\":{\"value\":1.41,\"lo\":1.37,\"hi\":1.45}},"
	    "\"transactions_per_s\":{\"mean\":70000,\"ratio\":{\"value\":0.7,\"lo\":null,\"hi\":null}},"
	    "\"latency_merged\":{\"percentiles\":[{\"percentile\":0,\"ns\":9000},{\"percentile\":50,\"ns\":"
	    "14100},{\"percentile\":99,\"ns\":30000}],\"transactions\":1000}}]}");
	static struct nb_plot_ratio r[8];
	char ref[16];
	CHECK(c != NULL);
	CHECK_INT(nb_plotdata_compare_ratios(c, r, 8, ref, sizeof(ref)), 2);
	CHECK_STR(ref, "native");
	CHECK_STR(r[0].path, "nat");
	CHECK_STR(r[0].group, "rr-tcp same-core");
	CHECK_STR(r[0].key, "p50_ns");
	CHECK(r[0].ratio == 1.41 && r[0].lo == 1.37 && r[0].hi == 1.45 && r[0].path_index == 1);
	CHECK(r[1].ratio == 0.7 && isnan(r[1].lo));
	struct nb_plot_point pts[8];
	CHECK_INT(nb_plotdata_compare_merged(c, "rr-tcp same-core", "nat", pts, 8), 3);
	CHECK(pts[1].x == 2 && pts[1].us == 14.1 && near(pts[2].x, 100));
	CHECK_INT(nb_plotdata_compare_merged(c, "rr-tcp same-core", "native", pts, 8), 0);
	cJSON_Delete(c);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {TAP_CASE(test_percentile),    TAP_CASE(test_run),
						TAP_CASE(test_compare),	      TAP_CASE(test_labels),
						TAP_CASE(test_whiskers),      TAP_CASE(test_hops),
						TAP_CASE(test_compare_ratios)};
	dir = argc > 1 ? argv[1] : ".";
	return TAP_RUN(cases, argc > 2 ? argv[2] : NULL);
}
