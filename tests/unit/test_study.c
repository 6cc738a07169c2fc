/* SPDX-License-Identifier: MIT */
/*
 * analyze/study.c: the study's data (data/rc25482.json) as it loads, the verdict rule on hand-computed cases,
 * and the table and the Redis verdicts built from a fixture of measurements (tests/study/measures.json) with
 * the verdict each row must get.
 */
#include <errno.h>
#include <math.h>

#include "nbench/fsutil.h"
#include "nbench/study.h"
#include "tap.h"

static const char *root; /* the source tree */

static bool near(double a, double b, double tol)
{
	return fabs(a - b) <= tol;
}

static struct nb_study *load_study(void)
{
	static struct nb_study s;
	char path[4096], err[256] = "";
	snprintf(path, sizeof(path), "%s/data/rc25482.json", root);
	int r = nb_study_load(path, &s, err, sizeof(err));
	CHECK_MSG(r == 0, "%s", err);
	return &s;
}

static cJSON *load_fixture(void)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/study/measures.json", root);
	char *text = nb_slurp(path, 1 << 20);
	CHECK_MSG(text != NULL, "%s", path);
	cJSON *j = text ? cJSON_Parse(text) : NULL;
	free(text);
	CHECK(j != NULL);
	return j;
}

/* The data: every figure with native's value, the ratios and their reading errors, the paths' kinds. */
static void test_data(void)
{
	struct nb_study *s = load_study();
	CHECK_STR(s->name, "RC25482");
	CHECK_INT(s->npaths, 4);
	CHECK_INT(s->nfigs, 8);
	int nat = nb_study_path_index(s, "docker-nat"), kvm = nb_study_path_index(s, "kvm");
	int host = nb_study_path_index(s, "docker-host");
	CHECK(nat > 0 && kvm > 0 && host > 0);
	for (unsigned f = 0; f < s->nfigs; f++) {
		CHECK_MSG(s->figs[f].v[0].have && s->figs[f].v[0].ratio == 1, "%s", s->figs[f].id);
		CHECK_MSG(s->figs[f].v[nat].have && s->figs[f].v[nat].source[0], "%s", s->figs[f].id);
		CHECK_MSG(s->figs[f].v[host].statement, "%s: docker-host is the text's statement",
			  s->figs[f].id);
	}
	/* figure 2's transmit bars, read to +-0.02: 2.55 / 2.11 */
	const struct nb_study_value *v = &s->figs[nb_study_figure_index(s, "cpb-tx")].v[nat];
	CHECK(near(v->ratio, 2.55 / 2.11, 1e-9));
	CHECK(near(v->ratio_lo, 2.53 / 2.13, 1e-9) && near(v->ratio_hi, 2.57 / 2.09, 1e-9));
	/* the spreadsheet's values are exact: netperf.xlsx G4 / C4 */
	v = &s->figs[nb_study_figure_index(s, "tcp-rr-latency")].v[kvm];
	CHECK(near(v->ratio, 67.941291 / 37.582060, 1e-9) && v->ratio_lo == v->ratio &&
	      v->ratio_hi == v->ratio);
	CHECK_STR(s->figs[nb_study_figure_index(s, "goodput-tx")].test, "stream-reverse");
	CHECK_STR(s->figs[nb_study_figure_index(s, "cpb-rx")].test, "stream");
	CHECK_INT(nb_study_path_of(s, "nat"), nat);
	CHECK_INT(nb_study_path_of(s, "docker-nat"), nat);
	CHECK_INT(nb_study_path_of(s, "host"), host);
	CHECK_INT(nb_study_path_of(s, "vhost"), kvm);
	CHECK_INT(nb_study_path_of(s, "virtio"), kvm);
	CHECK_INT(nb_study_path_of(s, "native"), 0);
	CHECK_INT(nb_study_path_of(s, "bridge"), -1);
	CHECK_INT(s->nredis, 6);
}

/* A study file that lacks what the table needs is refused with the key named. */
static void test_bad_data(void)
{
	static const struct {
		const char *json, *msg;
	} bad[] = {
	    {"[]", "study"},
	    {"{\"study\":\"x\",\"paths\":[{\"id\":\"a\",\"label\":\"A\"}],\"figures\":[]}", "no native"},
	    {"{\"study\":\"x\",\"paths\":[{\"id\":\"native\",\"label\":\"N\"}],\"figures\":[]}",
	     "no figures"},
	    {"{\"study\":\"x\",\"paths\":[{\"id\":\"native\",\"label\":\"N\"}],\"figures\":[{\"id\":\"f\","
	     "\"figure\":\"1\",\"title\":\"t\",\"test\":\"rr-tcp\",\"metric\":\"latency\",\"unit\":\"us\","
	     "\"better\":\"lower\",\"values\":{\"kvm\":{\"value\":1,\"source\":\"s\"}}}]}",
	     "unknown path kvm"},
	    {"{\"study\":\"x\",\"paths\":[{\"id\":\"native\",\"label\":\"N\"}],\"figures\":[{\"id\":\"f\","
	     "\"figure\":\"1\",\"title\":\"t\",\"test\":\"rr-tcp\",\"metric\":\"latency\",\"unit\":\"us\","
	     "\"better\":\"lower\",\"values\":{\"native\":{\"value\":1}}}]}",
	     "native has no source"},
	    {"{\"study\":\"x\",\"paths\":[{\"id\":\"native\",\"label\":\"N\"}],\"figures\":[{\"id\":\"f\","
	     "\"figure\":\"1\",\"title\":\"t\",\"test\":\"rr-tcp\",\"metric\":\"latency\",\"unit\":\"us\","
	     "\"better\":\"lower\",\"values\":{\"native\":{\"value\":-1,\"source\":\"s\"}}}]}",
	     "no positive value"},
	    {"{\"study\":\"x\",\"paths\":[{\"id\":\"native\",\"label\":\"N\"}],\"figures\":[{\"id\":\"f\","
	     "\"figure\":\"1\",\"title\":\"t\",\"test\":\"rr-tcp\",\"metric\":\"latency\",\"unit\":\"us\","
	     "\"better\":\"up\",\"values\":{\"native\":{\"value\":1,\"source\":\"s\"}}}]}",
	     "neither higher nor lower"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		static struct nb_study s;
		char err[256] = "";
		cJSON *j = cJSON_Parse(bad[i].json);
		CHECK_MSG(nb_study_from_json(j, &s, err, sizeof(err)) == -EINVAL && strstr(err, bad[i].msg),
			  "case %zu: '%s', expected '%s'", i, err, bad[i].msg);
		cJSON_Delete(j);
	}
	struct nb_study s;
	char err[256];
	CHECK_INT(nb_study_load("/nonexistent/rc25482.json", &s, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "/nonexistent/rc25482.json") != NULL);
}

/* The sides of parity and the verdicts, on hand-computed cases. */
static void test_judge(void)
{
	CHECK_INT(nb_study_side(1.03, 1.2, 0.02), NB_SIDE_ABOVE);
	CHECK_INT(nb_study_side(0.5, 0.97, 0.02), NB_SIDE_BELOW);
	CHECK_INT(nb_study_side(0.98, 1.02, 0.02), NB_SIDE_PARITY);
	CHECK_INT(nb_study_side(1.01, 1.13, 0.02), NB_SIDE_UNRESOLVED);
	CHECK_INT(nb_study_side(0.9, 1.1, 0.02), NB_SIDE_UNRESOLVED);

	double s = 72.8 / 37.582060, slo = 72.4 / 37.582060, shi = 73.2 / 37.582060;
	struct nb_study_judgement j = nb_study_judge(1.94, 1.90, 1.98, s, slo, shi, 0.02);
	CHECK_INT(j.verdict, NB_VERDICT_HOLDS);
	CHECK(near(j.diff_pct, (1.94 / s - 1) * 100, 1e-9));
	j = nb_study_judge(1.47, 1.40, 1.55, s, slo, shi, 0.02);
	CHECK_INT(j.verdict, NB_VERDICT_DIRECTION);
	CHECK(near(j.diff_pct, -24.11, 0.01));
	CHECK(near(j.diff_lo_pct, (1.40 / shi - 1) * 100, 1e-9) &&
	      near(j.diff_hi_pct, (1.55 / slo - 1) * 100, 1e-9));
	/* goodput: the study's 0.998 is parity; 0.94 is below it */
	j = nb_study_judge(0.94, 0.92, 0.96, 0.998, 0.998, 0.998, 0.02);
	CHECK_INT(j.verdict, NB_VERDICT_DIFFERS);
	CHECK(near(j.diff_pct, -5.81, 0.01));
	CHECK_INT(nb_study_judge(1.0, 0.99, 1.01, 0.998, 0.998, 0.998, 0.02).verdict, NB_VERDICT_HOLDS);
	CHECK_INT(nb_study_judge(1.001, 0.999, 1.003, 0.998, 0.998, 0.998, 0.02).verdict,
		  NB_VERDICT_DIRECTION);
	CHECK_INT(nb_study_judge(1.02, 0.97, 1.08, 1.2085, 1.188, 1.230, 0.02).verdict,
		  NB_VERDICT_UNRESOLVED);
	CHECK_INT(nb_study_judge(0.5, 0.45, 0.55, 1.8, 1.8, 1.8, 0.02).verdict, NB_VERDICT_DIFFERS);
	/* the margin decides parity: 1.03 [1.025, 1.035] is above at 2%, at parity at 5% */
	CHECK_INT(nb_study_judge(1.03, 1.025, 1.035, 1, 1, 1, 0.02).verdict, NB_VERDICT_DIFFERS);
	CHECK_INT(nb_study_judge(1.03, 1.025, 1.035, 1, 1, 1, 0.05).verdict, NB_VERDICT_DIRECTION);
	/* an interval holding the study's ratio and parity both cannot tell the study's effect from none; one
	 * holding the study's parity but reaching past the margin cannot tell it from an effect */
	CHECK_INT(nb_study_judge(3.0, 0.7, 13.6, s, slo, shi, 0.05).verdict, NB_VERDICT_UNRESOLVED);
	CHECK_INT(nb_study_judge(0.9, 0.65, 1.2, 1, 1, 1, 0.05).verdict, NB_VERDICT_UNRESOLVED);
	CHECK_INT(nb_study_judge(1.0, 0.97, 1.04, 1, 1, 1, 0.05).verdict, NB_VERDICT_HOLDS);
	/* the study's reading error straddling the margin's edge (KVM's transmit cycles/byte, 1.066 [1.047,
	 * 1.086] at 5%): its side is that of 1 it lies on, above */
	CHECK_INT(nb_study_judge(3.0, 2.5, 3.5, 1.066, 1.047, 1.086, 0.05).verdict, NB_VERDICT_DIRECTION);
	CHECK_INT(nb_study_judge(0.9, 0.85, 0.93, 1.066, 1.047, 1.086, 0.05).verdict, NB_VERDICT_DIFFERS);
	/* one round: a point, no interval */
	CHECK_INT(nb_study_judge(1.2, 1.2, 1.2, 1.2085, 1.188, 1.230, 0.02).verdict, NB_VERDICT_HOLDS);
	CHECK_INT(nb_study_judge(NAN, NAN, NAN, 1.2, 1.2, 1.2, 0.02).verdict, NB_VERDICT_NONE);
	CHECK_STR(nb_study_verdict_name(NB_VERDICT_DIRECTION), "holds (direction)");
	CHECK_STR(nb_study_verdict_name(NB_VERDICT_NONE), "-");
}

/* A figure's measure from its rounds: the value over the path's rounds, the ratio over the rounds both have,
 * paired by round. */
static void test_rounds(void)
{
	double x[] = {2, 4, NAN, 3}, ref[] = {1, 2, 1.5, NAN};
	struct nb_study_measure m = nb_study_measure_rounds(x, ref, 4, 1, 95, 1);
	CHECK(m.have && m.rounds == 3);
	/* mean 3, sd 1, t(2) = 4.303: 3 +- 4.303 / sqrt(3) */
	CHECK(near(m.value, 3, 1e-12) && near(m.lo, 3 - 4.303 / sqrt(3), 1e-3) &&
	      near(m.hi, 3 + 4.303 / sqrt(3), 1e-3));
	/* rounds 1 and 2 pair, both 2x: exactly 2, no spread */
	CHECK(near(m.ratio, 2, 1e-12) && near(m.ratio_lo, 2, 1e-12) && near(m.ratio_hi, 2, 1e-12));
	/* a round's noise that hits both paths cancels in the pairs: 2.0x every round, native's own spread
	 * wide */
	double a[] = {20, 200, 2, 60}, b[] = {10, 100, 1, 30};
	m = nb_study_measure_rounds(a, b, 4, 1e-1, 95, 1);
	CHECK(near(m.value, 7.05, 1e-12) && m.lo < 0 && near(m.ratio, 2, 1e-12) &&
	      near(m.ratio_hi, 2, 1e-12));
	/* one round: the point, no interval; no round: nothing; no reference: no ratio */
	m = nb_study_measure_rounds(x, ref, 1, 1, 95, 1);
	CHECK(m.have && m.rounds == 1 && m.lo == m.value && m.hi == m.value && m.ratio == 2 &&
	      m.ratio_lo == 2);
	double none[] = {NAN, NAN};
	CHECK(!nb_study_measure_rounds(none, ref, 2, 1, 95, 1).have);
	m = nb_study_measure_rounds(x, NULL, 4, 1, 95, 1);
	CHECK(m.have && isnan(m.ratio));
}

/* transactions/s to latency: the value and the ratio turned round, their intervals' ends swapped. */
static void test_inverse(void)
{
	struct nb_study_measure tps = {true, 25000, 20000, 40000, 0.5, 0.4, 0.8, 5};
	struct nb_study_measure lat = nb_study_measure_inverse(&tps, 1e6);
	CHECK(near(lat.value, 40, 1e-9) && near(lat.lo, 25, 1e-9) && near(lat.hi, 50, 1e-9));
	CHECK(near(lat.ratio, 2, 1e-9) && near(lat.ratio_lo, 1.25, 1e-9) && near(lat.ratio_hi, 2.5, 1e-9));
	CHECK(lat.have && lat.rounds == 5);
}

static void fixture_measure(void *arg, unsigned fig, const char *kind, struct nb_study_measure *ret)
{
	const struct nb_study *s = ((void **)arg)[0];
	const cJSON *fx = ((void **)arg)[1];
	const cJSON *m = cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(fx, "measures"), s->figs[fig].id), kind);
	if (!cJSON_IsArray(m))
		return;
	double v[7];
	for (int i = 0; i < 7; i++) {
		const cJSON *x = cJSON_GetArrayItem(m, i);
		v[i] = cJSON_IsNumber(x) ? x->valuedouble : NAN;
	}
	*ret = (struct nb_study_measure){true, v[0], v[1], v[2], v[3], v[4], v[5], (unsigned)v[6]};
}

/* The table from the fixture: the study's layout (every figure, each path in order), each row's verdict,
 * and each row's JSON. */
static void test_table(void)
{
	struct nb_study *s = load_study();
	cJSON *fx = load_fixture();
	const char *kinds[8];
	unsigned nk = 0;
	const cJSON *p;
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(fx, "paths")) kinds[nk++] = p->valuestring;
	static struct nb_study_row rows[NB_STUDY_MAX_FIGURES * 8];
	void *arg[2] = {s, fx};
	unsigned n = nb_study_table(s, kinds, nk, fixture_measure, arg, NB_STUDY_MARGIN, rows, 128);
	CHECK_INT(n, s->nfigs * nk);
	const cJSON *expect = cJSON_GetObjectItem(fx, "expect");
	for (unsigned i = 0; i < n; i++) {
		const struct nb_study_row *r = &rows[i];
		CHECK_INT(r->fig, i / nk);
		CHECK_STR(r->path, kinds[i % nk]);
		const char *id = s->figs[r->fig].id;
		const cJSON *e = cJSON_GetObjectItem(cJSON_GetObjectItem(expect, id), r->path);
		CHECK_MSG(cJSON_IsString(e) && !strcmp(e->valuestring, nb_study_verdict_name(r->j.verdict)),
			  "%s on %s: %s, expected %s", id, r->path, nb_study_verdict_name(r->j.verdict),
			  cJSON_IsString(e) ? e->valuestring : "?");
		cJSON *j = nb_study_row_json(s, r);
		static const char *const keys[] = {
		    "figure", "title",	  "test",     "metric",	     "unit",	   "path",     "study_path",
		    "value",  "value_lo", "value_hi", "ratio",	     "ratio_lo",   "ratio_hi", "rounds",
		    "study",  "verdict",  "diff_pct", "diff_lo_pct", "diff_hi_pct"};
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			CHECK_MSG(cJSON_GetObjectItem(j, keys[k]), "%s on %s: no %s", id, r->path, keys[k]);
		CHECK_STR(cJSON_GetObjectItem(j, "verdict")->valuestring,
			  nb_study_verdict_name(r->j.verdict));
		/* bridge stands for none of the study's paths: no study object, no verdict */
		if (!strcmp(r->path, "bridge"))
			CHECK(cJSON_IsNull(cJSON_GetObjectItem(j, "study")) &&
			      cJSON_IsNull(cJSON_GetObjectItem(j, "study_path")));
		cJSON_Delete(j);
	}
	/* a differs row carries the size: nat's receive goodput, 0.92 against 9319.9298 / 9340.2296 */
	const struct nb_study_row *r = &rows[1 * nk + 2];
	CHECK_STR(r->path, "nat");
	CHECK(near(r->j.diff_pct, (0.92 / (9319.9298 / 9340.2296) - 1) * 100, 1e-9));
	cJSON_Delete(fx);
}

static struct nb_study_measure point_m(const cJSON *a, int at)
{
	double v[4];
	for (int i = 0; i < 4; i++) {
		const cJSON *x = cJSON_GetArrayItem(a, at + i);
		v[i] = cJSON_IsNumber(x) ? x->valuedouble : NAN;
	}
	return (struct nb_study_measure){true, v[0], v[0], v[0], v[1], v[2], v[3], 3};
}

/* The Redis statements judged against the fixture's curves. */
static void test_redis(void)
{
	struct nb_study *s = load_study();
	cJSON *fx = load_fixture();
	const cJSON *rd = cJSON_GetObjectItem(fx, "redis"), *a;
	struct nb_study_redis_point pts[32];
	unsigned n = 0;
	cJSON_ArrayForEach(a, cJSON_GetObjectItem(rd, "points"))
	{
		snprintf(pts[n].path, sizeof(pts[n].path), "%s", cJSON_GetArrayItem(a, 0)->valuestring);
		pts[n].connections = (unsigned)cJSON_GetArrayItem(a, 1)->valuedouble;
		pts[n].tps = point_m(a, 2);
		pts[n].lat_us = point_m(a, 6);
		n++;
	}
	struct nb_study_redis_verdict v[16];
	unsigned k = nb_study_redis_judge(s, pts, n, NB_STUDY_MARGIN, v, 16);
	const cJSON *e = cJSON_GetObjectItem(rd, "expect");
	CHECK_INT(k, cJSON_GetArraySize(e));
	for (unsigned i = 0; i < k && i < (unsigned)cJSON_GetArraySize(e); i++) {
		const cJSON *x = cJSON_GetArrayItem(e, (int)i);
		CHECK_STR(v[i].st->path, cJSON_GetArrayItem(x, 0)->valuestring);
		CHECK_STR(v[i].st->metric, cJSON_GetArrayItem(x, 1)->valuestring);
		CHECK_STR(v[i].path, cJSON_GetArrayItem(x, 2)->valuestring);
		CHECK_MSG(
		    !strcmp(nb_study_verdict_name(v[i].j.verdict), cJSON_GetArrayItem(x, 3)->valuestring),
		    "%s %s on %s: %s (%s)", v[i].st->path, v[i].st->metric, v[i].path,
		    nb_study_verdict_name(v[i].j.verdict), v[i].measured);
		CHECK(v[i].measured[0]);
	}
	/* KVM's added latency: native's 50 us x (2.66 - 1) = 83 us */
	CHECK(strstr(v[4].measured, "+83.0 us") != NULL);
	/* NAT at 100 connections far over 1.11x is still "over 1.11x": holds; under 1 it differs */
	pts[8].lat_us.ratio = 0.9, pts[8].lat_us.ratio_lo = 0.85, pts[8].lat_us.ratio_hi = 0.94;
	k = nb_study_redis_judge(s, pts, n, NB_STUDY_MARGIN, v, 16);
	CHECK_INT(v[3].j.verdict, NB_VERDICT_DIFFERS);
	/* KVM's trend: the same ratio at 1 and at 100 connections cannot tell an approach; moving away
	 * differs */
	pts[11].tps.ratio = 0.4, pts[11].tps.ratio_lo = 0.3, pts[11].tps.ratio_hi = 0.5;
	k = nb_study_redis_judge(s, pts, n, NB_STUDY_MARGIN, v, 16);
	CHECK_INT(v[5].j.verdict, NB_VERDICT_UNRESOLVED);
	pts[11].tps.ratio = 0.2, pts[11].tps.ratio_lo = 0.15, pts[11].tps.ratio_hi = 0.25;
	k = nb_study_redis_judge(s, pts, n, NB_STUDY_MARGIN, v, 16);
	CHECK_INT(v[5].j.verdict, NB_VERDICT_DIFFERS);
	/* a statement about connections no point has is not judged */
	for (unsigned i = 0; i < n; i++)
		if (pts[i].connections == 4)
			pts[i].connections = 5;
	CHECK_INT(nb_study_redis_judge(s, pts, n, NB_STUDY_MARGIN, v, 16), 5);
	cJSON_Delete(fx);
}

/* A study's document as nbench plot reads it (tests/plot/study.json, from `nbench study --json` here). */
static void test_doc(void)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/plot/study.json", root);
	char *text = nb_slurp(path, 1 << 20);
	cJSON *d = text ? cJSON_Parse(text) : NULL;
	free(text);
	CHECK(nb_study_doc_is(d));
	const char *paths[8];
	CHECK_INT(nb_study_doc_paths(d, paths, 8), 3);
	CHECK_STR(paths[0], "native");
	CHECK_STR(paths[2], "nat");
	struct nb_study_doc_row r;
	CHECK(nb_study_doc_row(d, "goodput-tx", "native", &r));
	CHECK(near(r.study, 9348.1319, 1e-9) && r.value > 0 && r.lo <= r.value && r.value <= r.hi);
	CHECK(nb_study_doc_row(d, "tcp-rr-latency", "host", &r) && isnan(r.study) && r.ratio > 0);
	CHECK(!nb_study_doc_row(d, "tcp-rr-latency", "virtio", &r));
	CHECK(!nb_study_doc_row(d, "no-such-figure", "native", &r));
	const cJSON *pt;
	unsigned n = 0;
	cJSON_ArrayForEach(pt, cJSON_GetObjectItem(cJSON_GetObjectItem(d, "redis"), "points"))
	{
		double c, v, lo, hi;
		if (nb_study_doc_point(pt, "nat", "mean_latency_us", &c, &v, &lo, &hi))
			CHECK(c >= 1 && v > 0 && ++n);
		CHECK(!nb_study_doc_point(pt, "virtio", "mean_latency_us", &c, &v, &lo, &hi));
	}
	CHECK_INT(n, 3);
	cJSON *runrep = cJSON_Parse("{\"schema_version\":1,\"start\":{},\"end\":{}}");
	CHECK(!nb_study_doc_is(runrep));
	cJSON_Delete(runrep);
	cJSON_Delete(d);
}

int main(int argc, char **argv)
{
	root = argc > 1 ? argv[1] : "..";
	static const struct tap_case cases[] = {
	    TAP_CASE(test_data),   TAP_CASE(test_bad_data), TAP_CASE(test_judge), TAP_CASE(test_inverse),
	    TAP_CASE(test_rounds), TAP_CASE(test_table),    TAP_CASE(test_redis), TAP_CASE(test_doc)};
	return tap_run(cases, sizeof(cases) / sizeof(cases[0]), argc > 2 ? argv[2] : NULL);
}
