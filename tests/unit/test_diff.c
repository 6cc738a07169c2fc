/* SPDX-License-Identifier: MIT */
/* analyze/: the statistics and verdict of a change (change.c), the figures read from reports (reportset.c),
 * and the refusal of reports of different tests. Pure functions: no file but the golden reports. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nbench/change.h"
#include "nbench/metric.h"
#include "nbench/reportset.h"
#include "tap.h"

static const char *golden;

static struct nb_series metric(const char *name, int dir, const double *v, unsigned n)
{
	struct nb_series m = {.dir = dir, .n = n};
	snprintf(m.name, sizeof(m.name), "%s", name);
	memcpy(m.v, v, n * sizeof(v[0]));
	return m;
}

static bool near(double a, double b, double eps)
{
	return fabs(a - b) <= eps;
}

/* Both sides repeated: Welch's t-test on the logs decides; a 20% worse latency with a 1% spread is
 * significant. The change is the ratio of geometric means: (119 x 120 x 121)^(1/3) / (99 x 100 x 101)^(1/3)
 * = 1.200012, +20.0012%. */
static void test_welch_worse(void)
{
	const double a[] = {99, 100, 101}, b[] = {119, 120, 121};
	struct nb_series ma = metric("p50_ns", -1, a, 3), mb = metric("p50_ns", -1, b, 3);
	struct nb_change c = nb_change_of(&ma, &mb, 95, 5);
	CHECK_INT(c.test, NB_STAT_WELCH);
	CHECK(c.on_logs);
	CHECK_MSG(near(c.delta_pct, 20.0012, 1e-3), "%g", c.delta_pct);
	CHECK(c.lo_pct > 15 && c.hi_pct < 25 && c.lo_pct < c.delta_pct && c.delta_pct < c.hi_pct);
	CHECK(c.significant);
	CHECK_INT(c.verdict, -1);
	CHECK(c.regression);
	/* the same change of a higher-is-better metric is better, and no regression */
	ma.dir = mb.dir = +1;
	c = nb_change_of(&ma, &mb, 95, 5);
	CHECK_INT(c.verdict, +1);
	CHECK(!c.regression);
	/* a tolerance above the change less its interval passes */
	ma.dir = mb.dir = -1;
	c = nb_change_of(&ma, &mb, 95, 30);
	CHECK(!c.regression);
}

/* Overlapping spreads: not significant, no verdict, and no regression beyond the interval. */
static void test_welch_noise(void)
{
	const double a[] = {80, 100, 120}, b[] = {90, 110, 130};
	struct nb_series ma = metric("p50_ns", -1, a, 3), mb = metric("p50_ns", -1, b, 3);
	struct nb_change c = nb_change_of(&ma, &mb, 95, 5);
	CHECK(!c.significant);
	CHECK_INT(c.verdict, 0);
	CHECK(c.ci_pct > 10);
	CHECK(!c.regression); /* +10% but an interval wider than 5% of it */
}

/* One run on each side: no interval, untested, judged on the change alone. */
static void test_single(void)
{
	const double a[] = {100}, b[] = {120};
	struct nb_series ma = metric("p50_ns", -1, a, 1), mb = metric("p50_ns", -1, b, 1);
	struct nb_change c = nb_change_of(&ma, &mb, 95, 5);
	CHECK_INT(c.test, NB_STAT_UNTESTED);
	CHECK(isnan(c.ci_pct));
	CHECK(!c.significant);
	CHECK_INT(c.verdict, -1);
	CHECK(c.regression);
	CHECK(!nb_change_of(&ma, &mb, 95, 25).regression);
	CHECK(!nb_change_of(&ma, &ma, 95, 0).regression);
	CHECK_INT(nb_change_of(&ma, &ma, 95, 0).verdict, 0);
}

/* One side repeated: the single run against the other's interval. */
static void test_interval(void)
{
	const double a[] = {98, 100, 102}, b[] = {101}, far[] = {150};
	struct nb_series ma = metric("goodput_bps", +1, a, 3), mb = metric("goodput_bps", +1, b, 1);
	struct nb_change c = nb_change_of(&ma, &mb, 95, 5);
	CHECK_INT(c.test, NB_STAT_INTERVAL);
	CHECK(!c.significant);
	mb = metric("goodput_bps", +1, far, 1);
	c = nb_change_of(&ma, &mb, 95, 5);
	CHECK(c.significant);
	CHECK_INT(c.verdict, +1);
}

/* From zero: infinitely worse loss; an unknown direction is never judged. */
static void test_edges(void)
{
	const double z[] = {0}, one[] = {1};
	struct nb_series ma = metric("loss_pct", -1, z, 1), mb = metric("loss_pct", -1, one, 1);
	struct nb_change c = nb_change_of(&ma, &mb, 95, 1000);
	CHECK(isinf(c.delta_pct) && c.delta_pct > 0);
	CHECK(c.regression);
	ma.dir = mb.dir = 0;
	c = nb_change_of(&ma, &mb, 95, 0);
	CHECK_INT(c.verdict, 0);
	CHECK(!c.regression);
	CHECK_INT(nb_metric_direction("p99_ns"), -1);
	CHECK_INT(nb_metric_direction("goodput_bps"), +1);
	CHECK_INT(nb_metric_direction("round"), 0);
}

/* The verdict in words, by direction, significance and size. */
static void test_verdict(void)
{
	const double a[] = {99, 100, 101}, worse[] = {119, 120, 121}, noise[] = {98, 101, 102}, one[] = {100};
	struct nb_series ma = metric("p50_ns", -1, a, 3), mw = metric("p50_ns", -1, worse, 3),
			 mn = metric("p50_ns", -1, noise, 3), m1 = metric("p50_ns", -1, one, 1);
	struct nb_change c = nb_change_of(&ma, &mw, 95, 5);
	CHECK_STR(nb_change_verdict(&c, -1), "worse");
	c = nb_change_of(&mw, &ma, 95, 5);
	CHECK_STR(nb_change_verdict(&c, -1), "better");
	c = nb_change_of(&ma, &mn, 95, 5);
	CHECK_STR(nb_change_verdict(&c, -1), "no significant change");
	c = nb_change_of(&m1, &m1, 95, 5);
	CHECK_STR(nb_change_verdict(&c, -1), "no change");
	CHECK_STR(nb_change_verdict(&c, 0), "direction unknown");
	CHECK_STR(nb_stat_test_name(c.test), "none");
}

/* nb_change_each: the figures both sets have, in A's order, and the count of regressions. */
static void seen(void *arg, const struct nb_series *m, const struct nb_change *c)
{
	char *names = arg;
	snprintf(names + strlen(names), 256 - strlen(names), "%s%s:%d ", m->name, c->regression ? "!" : "",
		 c->verdict);
}

static void test_each(void)
{
	static struct nb_reportset a, b;
	const double v1[] = {100}, v2[] = {130}, v3[] = {5};
	a.m[a.n++] = metric("p50_ns", -1, v1, 1);
	a.m[a.n++] = metric("only_a", 0, v1, 1);
	a.m[a.n++] = metric("transactions_per_s", +1, v1, 1);
	b.m[b.n++] = metric("transactions_per_s", +1, v2, 1);
	b.m[b.n++] = metric("p50_ns", -1, v2, 1);
	b.m[b.n++] = metric("only_b", 0, v3, 1);
	char names[256] = "";
	CHECK_INT(nb_change_each(&a, &b, 95, 10, seen, names), 1);
	CHECK_STR(names, "p50_ns!:-1 transactions_per_s:1 ");
	CHECK_INT(nb_change_each(&a, &b, 95, INFINITY, NULL, NULL), 0);
}

static struct nb_reportset *load(const char *name)
{
	char path[4096], err[512] = "";
	struct nb_reportset *s = calloc(1, sizeof(*s));
	snprintf(path, sizeof(path), "%s/%s", golden, name);
	int r = nb_reportset_load(s, path, err, sizeof(err));
	CHECK_MSG(r == 0, "%s: %s", name, err);
	return s;
}

/* The golden reports: each kind's metrics, its identity, and the refusal of another kind or protocol. */
static void test_golden(void)
{
	struct nb_reportset *rr = load("rr_tcp.json"), *st = load("stream_tcp.json"),
			    *su = load("stream_udp.json");
	char err[256];
	CHECK_STR(rr->kind, "rr");
	const struct nb_series *p50 = nb_reportset_find(rr, "p50_ns");
	CHECK(p50 && p50->n == 1 && p50->v[0] == 6895 && p50->dir == -1);
	CHECK(nb_reportset_find(rr, "cycles_per_transaction") != NULL);
	CHECK(nb_reportset_find(rr, "goodput_bps") == NULL);
	CHECK(nb_reportset_find(st, "goodput_bps") &&
	      nb_reportset_find(st, "goodput_bps")->v[0] == 9410000000.0);
	CHECK(nb_reportset_find(st, "loss_pct") == NULL); /* TCP */
	CHECK(nb_reportset_find(su, "loss_pct") != NULL);
	CHECK_INT(nb_reportset_same_test(rr, rr, err, sizeof(err)), 0);
	CHECK_INT(nb_reportset_same_test(rr, st, err, sizeof(err)), -EINVAL);
	CHECK_MSG(strstr(err, "kind") != NULL, "%s", err);
	CHECK_INT(nb_reportset_same_test(st, su, err, sizeof(err)), -EINVAL);
	CHECK_MSG(strstr(err, "settings.proto") != NULL, "%s", err);
	free(rr);
	free(st);
	free(su);
}

/* A report's rows (compare's runs): one metric per cell and figure, one sample per complete run; a second
 * report of another kind is refused. */
static void test_rows(void)
{
	const char *doc = "{\"command\":\"compare\",\"start\":{\"duration_s\":5},\"runs\":["
			  "{\"round\":1,\"path\":\"native\",\"test\":\"rr-tcp\",\"placement\":\"same-core\","
			  "\"complete\":true,\"p50_ns\":10,\"transactions_per_s\":5},"
			  "{\"round\":2,\"path\":\"native\",\"test\":\"rr-tcp\",\"placement\":\"same-core\","
			  "\"complete\":true,\"p50_ns\":12,\"transactions_per_s\":6},"
			  "{\"round\":3,\"path\":\"native\",\"test\":\"rr-tcp\",\"placement\":\"same-core\","
			  "\"complete\":false,\"p50_ns\":99}],\"summary\":[]}";
	struct nb_reportset *s = calloc(1, sizeof(*s));
	char err[256];
	cJSON *j = cJSON_Parse(doc);
	CHECK_INT(nb_reportset_add_doc(s, j, err, sizeof(err)), 0);
	const struct nb_series *m = nb_reportset_find(s, "rr-tcp/same-core/native p50_ns");
	CHECK(m && m->n == 2 && m->v[1] == 12 && m->dir == -1);
	CHECK(nb_reportset_find(s, "rr-tcp/same-core/native round") == NULL);
	cJSON *single = cJSON_Parse("{\"start\":{\"settings\":{\"kind\":\"rr\"}},\"end\":{}}");
	CHECK_INT(nb_reportset_add_doc(s, single, err, sizeof(err)), -EINVAL);
	cJSON *unknown = cJSON_Parse("{\"command\":\"frobnicate\"}");
	CHECK_INT(nb_reportset_add_doc(s, unknown, err, sizeof(err)), -EINVAL);
	cJSON_Delete(j);
	cJSON_Delete(single);
	cJSON_Delete(unknown);
	free(s);
}

/* sweep's cells: each combination's figures with every run's values; its test is its identity. */
static void test_sweep(void)
{
	const char *doc = "{\"schema_version\":1,\"kind\":\"sweep\",\"test\":\"rr\",\"path\":\"veth\","
			  "\"combinations\":[{\"label\":\"gro=on\",\"runs\":2,\"metrics\":{"
			  "\"p50_ns\":{\"mean\":11,\"ci\":1,\"ratio\":1,\"values\":[10,12]},"
			  "\"ratio\":{\"values\":[1]}}}]}";
	struct nb_reportset *s = calloc(1, sizeof(*s)), *o = calloc(1, sizeof(*o));
	char err[256];
	cJSON *j = cJSON_Parse(doc);
	CHECK_INT(nb_reportset_add_doc(s, j, err, sizeof(err)), 0);
	const struct nb_series *m = nb_reportset_find(s, "gro=on p50_ns");
	CHECK(m && m->n == 2 && m->v[0] == 10 && m->dir == -1);
	CHECK_INT((int)s->n, 1);
	cJSON_ReplaceItemInObject(j, "test", cJSON_CreateString("stream"));
	CHECK_INT(nb_reportset_add_doc(o, j, err, sizeof(err)), 0);
	CHECK_INT(nb_reportset_same_test(s, o, err, sizeof(err)), -EINVAL);
	CHECK_MSG(strstr(err, "test rr vs stream") != NULL, "%s", err);
	cJSON_Delete(j);
	free(s);
	free(o);
}

/* Host and NIC context: throughput's start and a sweep's context carry the hosts and interfaces; a
 * difference in them (a firmware, a kernel, a knob swept) is one to warn of, a placement's or a path's is
 * not; a key only one side has is not a difference. */
static void test_host_nic(void)
{
	const char *tput =
	    "{\"kind\":\"throughput\",\"start\":{\"loss_pct\":0,\"trial_s\":1,\"engine\":\"dpdk\","
	    "\"placement\":{\"gen_cpus\":\"0\"},\"client\":{\"kernel\":\"6.1\"},"
	    "\"interfaces\":[{\"name\":\"eth0\",\"driver\":\"ice\",\"firmware\":\"4.40\"}],"
	    "\"dpdk\":{\"pmd\":\"net_ice\"}},\"sizes\":[{\"frame_bytes\":64,\"rate_fps\":1e6}]}";
	struct nb_reportset *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	char err[256], list[256];
	cJSON *j = cJSON_Parse(tput);
	CHECK_INT(nb_reportset_add_doc(a, j, err, sizeof(err)), 0);
	CHECK_INT(nb_reportset_add_doc(b, j, err, sizeof(err)), 0);
	CHECK_INT(nb_reportset_host_nic_diffs(a, b, list, sizeof(list), 4), 0);
	cJSON *st = cJSON_GetObjectItem(j, "start");
	cJSON *nic = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "interfaces"), 0);
	cJSON_ReplaceItemInObject(nic, "firmware", cJSON_CreateString("4.50"));
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(st, "placement"), "gen_cpus", cJSON_CreateString("1"));
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(st, "client"), "kernel", cJSON_CreateString("6.18"));
	memset(b, 0, sizeof(*b));
	CHECK_INT(nb_reportset_add_doc(b, j, err, sizeof(err)), 0);
	CHECK_INT(nb_reportset_host_nic_diffs(a, b, list, sizeof(list), 4), 2);
	CHECK_MSG(strstr(list, "interfaces[0].firmware 4.40 -> 4.50") &&
		      strstr(list, "client.kernel 6.1 -> 6.18") && !strstr(list, "placement"),
		  "%s", list);
	CHECK_INT(nb_reportset_host_nic_diffs(a, b, list, sizeof(list), 1), 2); /* counted all, listed one */
	CHECK(strchr(list, ';') == NULL);
	CHECK(nb_reportset_host_nic_key("context.interfaces[1].driver") &&
	      nb_reportset_host_nic_key("context.knobs[0].name") && nb_reportset_host_nic_key("dpdk.pmd") &&
	      nb_reportset_host_nic_key("settings.duration_ns"));
	CHECK(!nb_reportset_host_nic_key("placement.gen_cpus") && !nb_reportset_host_nic_key("path.name") &&
	      !nb_reportset_host_nic_key("clients.x"));
	/* a sweep's context, and a report without one: absent is not different */
	const char *sw = "{\"kind\":\"sweep\",\"test\":\"rr\",\"path\":\"host\",\"knobs\":[],"
			 "\"context\":{\"server\":{\"kernel\":\"6.1\"}},\"combinations\":[]}";
	cJSON *k = cJSON_Parse(sw);
	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	CHECK_INT(nb_reportset_add_doc(a, k, err, sizeof(err)), 0);
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cJSON_GetObjectItem(k, "context"), "server"), "kernel",
				  cJSON_CreateString("6.2"));
	CHECK_INT(nb_reportset_add_doc(b, k, err, sizeof(err)), 0);
	CHECK_INT(nb_reportset_host_nic_diffs(a, b, list, sizeof(list), 4), 1);
	CHECK_MSG(!strcmp(list, "context.server.kernel 6.1 -> 6.2"), "%s", list);
	cJSON_DeleteItemFromObject(k, "context");
	memset(b, 0, sizeof(*b));
	CHECK_INT(nb_reportset_add_doc(b, k, err, sizeof(err)), 0);
	CHECK_INT(nb_reportset_host_nic_diffs(a, b, list, sizeof(list), 4), 0);
	cJSON_Delete(j);
	cJSON_Delete(k);
	free(a);
	free(b);
}

/* Issue 19: the names of a built path's namespaces and interfaces change on every run and are no context;
 * a real difference (the MTU) still is. */
static void test_context_names(void)
{
	static struct nb_reportset a, b;
	char err[256];
	const char *fmt = "{\"command\":\"compare\",\"start\":{\"duration_s\":1,\"path_details\":{\"nat\":{"
			  "\"interfaces\":[{\"name\":\"nb-%s-r\",\"mtu\":%d}],\"nft\":\"table nbench_%s\"}}},"
			  "\"runs\":[],\"summary\":[]}";
	char ja[512], jb[512];
	snprintf(ja, sizeof(ja), fmt, "t218fc0", 1500, "t218fc0");
	snprintf(jb, sizeof(jb), fmt, "t4fdef9", 1500, "t4fdef9");
	cJSON *da = cJSON_Parse(ja), *db = cJSON_Parse(jb);
	CHECK(nb_reportset_add_doc(&a, da, err, sizeof(err)) == 0 &&
	      nb_reportset_add_doc(&b, db, err, sizeof(err)) == 0);
	CHECK_INT(nb_reportset_context_diff(&a, &b, NULL, NULL), 0);
	cJSON_Delete(db);
	memset(&b, 0, sizeof(b));
	snprintf(jb, sizeof(jb), fmt, "t4fdef9", 9000, "t4fdef9");
	db = cJSON_Parse(jb);
	CHECK(nb_reportset_add_doc(&b, db, err, sizeof(err)) == 0);
	CHECK_INT(nb_reportset_context_diff(&a, &b, NULL, NULL), 1);
	cJSON_Delete(da);
	cJSON_Delete(db);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {
	    TAP_CASE(test_welch_worse), TAP_CASE(test_welch_noise),   TAP_CASE(test_single),
	    TAP_CASE(test_interval),	TAP_CASE(test_edges),	      TAP_CASE(test_verdict),
	    TAP_CASE(test_each),	TAP_CASE(test_golden),	      TAP_CASE(test_rows),
	    TAP_CASE(test_sweep),	TAP_CASE(test_context_names), TAP_CASE(test_host_nic),
	};
	golden = argc > 1 ? argv[1] : ".";
	return TAP_RUN(cases, argc > 2 ? argv[2] : NULL);
}
