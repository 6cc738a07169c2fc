/* SPDX-License-Identifier: MIT */
/* The study's figures as data and the table beside nbench's measurement (study.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbench/fsutil.h"
#include "nbench/paired.h"
#include "nbench/stats.h"
#include "nbench/study.h"

#define MAX_FILE_BYTES (1u << 20)

/* ---- reading the data ---- */

struct rd {
	char *err;
	size_t errlen;
	int rc;
};

__attribute__((format(printf, 2, 3))) static void rd_fail(struct rd *d, const char *fmt, ...)
{
	if (d->rc)
		return;
	d->rc = -EINVAL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->err, d->errlen, fmt, ap);
	va_end(ap);
}

/* The string at key into buf; missing or too long is a failure named by where. */
static void rd_str(struct rd *d, const cJSON *o, const char *key, char *buf, size_t size, const char *where)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	buf[0] = '\0';
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= size)
		rd_fail(d, "%s: %s is not a string of at most %zu bytes", where, key, size - 1);
	else
		memcpy(buf, v->valuestring, strlen(v->valuestring) + 1);
}

/* The string at key into buf when it is there (cut to fit), else "". */
static void opt_str(const cJSON *o, const char *key, char *buf, size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	snprintf(buf, size, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

/* The finite number at key, or NAN when absent or not one. */
static double opt_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : NAN;
}

static void read_path(struct rd *d, const cJSON *p, struct nb_study_path *sp)
{
	rd_str(d, p, "id", sp->id, sizeof(sp->id), "paths[]");
	rd_str(d, p, "label", sp->label, sizeof(sp->label), "paths[]");
	const cJSON *k, *kinds = cJSON_GetObjectItemCaseSensitive(p, "nbench");
	cJSON_ArrayForEach(k, kinds)
	{
		if (!cJSON_IsString(k) || strlen(k->valuestring) >= sizeof(sp->nbench[0]) ||
		    sp->n_nbench >= NB_STUDY_MAX_NBENCH) {
			rd_fail(d, "paths[] %s: nbench is not a list of at most %d path kinds", sp->id,
				NB_STUDY_MAX_NBENCH);
			return;
		}
		snprintf(sp->nbench[sp->n_nbench++], sizeof(sp->nbench[0]), "%s", k->valuestring);
	}
}

/* One value of a figure: a measured value (with its reading error) or a statement's ratio. */
static void read_value(struct rd *d, const cJSON *v, const char *fig, const char *path,
		       struct nb_study_value *sv)
{
	sv->have = true;
	sv->statement = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "statement"));
	sv->derived = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "derived"));
	sv->value = opt_num(v, "value");
	sv->error = opt_num(v, "error");
	if (isnan(sv->error))
		sv->error = 0;
	sv->ratio = opt_num(v, "ratio");
	opt_str(v, "source", sv->source, sizeof(sv->source));
	if (sv->statement ? !(sv->ratio > 0) : !(sv->value > 0) || sv->error < 0 || sv->error >= sv->value)
		rd_fail(d, "figures %s: %s has no positive %s", fig, path, sv->statement ? "ratio" : "value");
	if (!sv->source[0])
		rd_fail(d, "figures %s: %s has no source", fig, path);
}

/* Each path's ratio to native, and its range with both values' reading errors. */
static void figure_ratios(struct rd *d, struct nb_study_figure *f, int native)
{
	const struct nb_study_value *n = &f->v[native];
	if (native < 0 || !n->have || n->statement) {
		rd_fail(d, "figures %s: no native value", f->id);
		return;
	}
	for (unsigned p = 0; p < NB_STUDY_MAX_PATHS; p++) {
		struct nb_study_value *v = &f->v[p];
		if (!v->have)
			continue;
		if (v->statement) {
			v->ratio_lo = v->ratio_hi = v->ratio;
			continue;
		}
		v->ratio = v->value / n->value;
		v->ratio_lo = (v->value - v->error) / (n->value + n->error);
		v->ratio_hi = (v->value + v->error) / (n->value - n->error);
	}
}

static void read_figure(struct rd *d, const struct nb_study *s, const cJSON *o, struct nb_study_figure *f)
{
	char better[8];
	rd_str(d, o, "id", f->id, sizeof(f->id), "figures[]");
	rd_str(d, o, "figure", f->figure, sizeof(f->figure), f->id);
	rd_str(d, o, "title", f->title, sizeof(f->title), f->id);
	rd_str(d, o, "test", f->test, sizeof(f->test), f->id);
	rd_str(d, o, "metric", f->metric, sizeof(f->metric), f->id);
	rd_str(d, o, "unit", f->unit, sizeof(f->unit), f->id);
	rd_str(d, o, "better", better, sizeof(better), f->id);
	opt_str(o, "statement", f->statement, sizeof(f->statement));
	f->better = !strcmp(better, "higher") ? 1 : !strcmp(better, "lower") ? -1 : 0;
	if (!d->rc && !f->better)
		rd_fail(d, "figures %s: better is neither higher nor lower", f->id);
	const cJSON *v, *vals = cJSON_GetObjectItemCaseSensitive(o, "values");
	if (!cJSON_IsObject(vals))
		rd_fail(d, "figures %s: values is not an object", f->id);
	cJSON_ArrayForEach(v, vals)
	{
		int p = nb_study_path_index(s, v->string);
		if (p < 0 || !cJSON_IsObject(v)) {
			rd_fail(d, "figures %s: values names the unknown path %s", f->id, v->string);
			return;
		}
		read_value(d, v, f->id, v->string, &f->v[p]);
	}
	if (!d->rc)
		figure_ratios(d, f, nb_study_path_index(s, "native"));
}

static void read_statement(struct rd *d, const struct nb_study *s, const cJSON *o,
			   struct nb_study_statement *st)
{
	rd_str(d, o, "path", st->path, sizeof(st->path), "redis statements[]");
	rd_str(d, o, "metric", st->metric, sizeof(st->metric), "redis statements[]");
	opt_str(o, "text", st->text, sizeof(st->text));
	double c = opt_num(o, "connections");
	st->connections = c >= 0 && c <= 100000 ? (unsigned)c : 0;
	st->ratio = opt_num(o, "ratio");
	st->ratio_min = opt_num(o, "ratio_min");
	st->added_us = opt_num(o, "added_us");
	st->value_us = opt_num(o, "value_us");
	if (!d->rc && nb_study_path_index(s, st->path) < 0)
		rd_fail(d, "redis statements: unknown path %s", st->path);
	if (!d->rc && strcmp(st->metric, "latency") && strcmp(st->metric, "throughput"))
		rd_fail(d, "redis statements: metric %s is neither latency nor throughput", st->metric);
}

static void read_redis(struct rd *d, struct nb_study *s, const cJSON *r)
{
	const cJSON *o;
	opt_str(r, "workload", s->redis_workload, sizeof(s->redis_workload));
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(r, "statements"))
	{
		if (s->nredis >= NB_STUDY_MAX_STATEMENTS) {
			rd_fail(d, "redis: more than %d statements", NB_STUDY_MAX_STATEMENTS);
			return;
		}
		read_statement(d, s, o, &s->redis[s->nredis++]);
	}
}

int nb_study_from_json(const cJSON *j, struct nb_study *s, char *err, size_t errlen)
{
	struct rd d = {.err = err, .errlen = errlen};
	const cJSON *o;
	memset(s, 0, sizeof(*s));
	rd_str(&d, j, "study", s->name, sizeof(s->name), "the study");
	opt_str(j, "title", s->title, sizeof(s->title));
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(j, "paths"))
	{
		if (s->npaths >= NB_STUDY_MAX_PATHS)
			rd_fail(&d, "more than %d paths", NB_STUDY_MAX_PATHS);
		else
			read_path(&d, o, &s->paths[s->npaths++]);
	}
	if (!d.rc && nb_study_path_index(s, "native") < 0)
		rd_fail(&d, "paths has no native");
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(j, "figures"))
	{
		if (s->nfigs >= NB_STUDY_MAX_FIGURES)
			rd_fail(&d, "more than %d figures", NB_STUDY_MAX_FIGURES);
		else if (!d.rc)
			read_figure(&d, s, o, &s->figs[s->nfigs++]);
	}
	if (!d.rc && !s->nfigs)
		rd_fail(&d, "no figures");
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "redis");
	if (!d.rc && cJSON_IsObject(r))
		read_redis(&d, s, r);
	return d.rc;
}

int nb_study_load(const char *path, struct nb_study *ret, char *err, size_t errlen)
{
	char *text = nb_slurp(path, MAX_FILE_BYTES);
	if (!text) {
		int e = errno;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(e));
		return -e;
	}
	cJSON *j = cJSON_Parse(text);
	free(text);
	if (!j) {
		snprintf(err, errlen, "%s is not JSON", path);
		return -EINVAL;
	}
	char why[256];
	int r = nb_study_from_json(j, ret, why, sizeof(why));
	cJSON_Delete(j);
	if (r < 0)
		snprintf(err, errlen, "%s: %s", path, why);
	return r;
}

int nb_study_path_index(const struct nb_study *s, const char *id)
{
	for (unsigned i = 0; i < s->npaths; i++)
		if (!strcmp(s->paths[i].id, id))
			return (int)i;
	return -1;
}

int nb_study_path_of(const struct nb_study *s, const char *kind)
{
	for (unsigned i = 0; i < s->npaths; i++)
		for (unsigned k = 0; k < s->paths[i].n_nbench; k++)
			if (!strcmp(s->paths[i].nbench[k], kind))
				return (int)i;
	return -1;
}

int nb_study_figure_index(const struct nb_study *s, const char *id)
{
	for (unsigned i = 0; i < s->nfigs; i++)
		if (!strcmp(s->figs[i].id, id))
			return (int)i;
	return -1;
}

/* ---- the verdicts ---- */

/* The ratio over the rounds both have, paired by round: compare's (analyze/paired.c: Student's t on the
 * log-ratios while the rounds are few, joined by a bootstrap over the rounds from NB_PAIRED_BOOT_MIN). */
static void paired_ratio(const double *x, const double *ref, unsigned n, double level, uint64_t seed,
			 struct nb_study_measure *m)
{
	double a[NB_PAIRED_MAX], b[NB_PAIRED_MAX];
	unsigned k = 0;
	struct nb_ratio r;
	for (unsigned i = 0; i < n && k < NB_PAIRED_MAX; i++)
		if (x[i] > 0 && ref[i] > 0)
			a[k] = x[i], b[k++] = ref[i];
	m->ratio = m->ratio_lo = m->ratio_hi = NAN;
	if (!k || nb_paired_ratio(a, b, k, level, seed, &r) < 0)
		return;
	m->ratio = r.ratio;
	m->ratio_lo = k > 1 ? r.lo : r.ratio;
	m->ratio_hi = k > 1 ? r.hi : r.ratio;
}

struct nb_study_measure nb_study_measure_rounds(const double *x, const double *ref, unsigned n, double scale,
						double level, uint64_t seed)
{
	struct nb_study_measure m = {.have = false, NAN, NAN, NAN, NAN, NAN, NAN, 0};
	double v[NB_PAIRED_MAX];
	unsigned k = 0;
	for (unsigned i = 0; i < n && k < NB_PAIRED_MAX; i++)
		if (isfinite(x[i]))
			v[k++] = x[i] * scale;
	if (!k)
		return m;
	struct nb_paired_mean pm = nb_paired_mean_of(v, k, level, seed);
	m.have = true;
	m.rounds = k;
	m.value = pm.mean;
	m.lo = k > 1 ? pm.lo : pm.mean;
	m.hi = k > 1 ? pm.hi : pm.mean;
	if (ref)
		paired_ratio(x, ref, n, level, seed, &m);
	return m;
}

struct nb_study_measure nb_study_measure_inverse(const struct nb_study_measure *m, double k)
{
	struct nb_study_measure r = *m;
	r.value = k / m->value;
	r.lo = k / m->hi;
	r.hi = m->lo > 0 ? k / m->lo : INFINITY; /* an interval reaching 0/s has no upper bound of latency */
	r.ratio = 1 / m->ratio;
	r.ratio_lo = 1 / m->ratio_hi;
	r.ratio_hi = 1 / m->ratio_lo;
	return r;
}

const char *nb_study_verdict_name(enum nb_study_verdict v)
{
	static const char *const names[] = {
	    [NB_VERDICT_NONE] = "-",	      [NB_VERDICT_REFERENCE] = "reference",
	    [NB_VERDICT_HOLDS] = "holds",     [NB_VERDICT_DIRECTION] = "holds (direction)",
	    [NB_VERDICT_DIFFERS] = "differs", [NB_VERDICT_UNRESOLVED] = "unresolved"};
	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

enum nb_study_side nb_study_side(double lo, double hi, double margin)
{
	if (lo > 1 + margin)
		return NB_SIDE_ABOVE;
	if (hi < 1 - margin)
		return NB_SIDE_BELOW;
	if (lo >= 1 - margin && hi <= 1 + margin)
		return NB_SIDE_PARITY;
	return NB_SIDE_UNRESOLVED;
}

/* The study's side of parity: with the margin, or, where its reading error straddles the margin's edge, by
 * which side of 1 it lies on (the study's numbers are what they are; only nbench's can be made precise). */
static enum nb_study_side study_side(double s_lo, double s_hi, double margin)
{
	enum nb_study_side side = nb_study_side(s_lo, s_hi, margin);
	if (side != NB_SIDE_UNRESOLVED)
		return side;
	return s_lo > 1 ? NB_SIDE_ABOVE : s_hi < 1 ? NB_SIDE_BELOW : NB_SIDE_PARITY;
}

/* nbench's interval holds the study's ratio: it holds when it also tells the study's finding from the
 * alternative (an effect: from none, its interval clear of 1; no effect: from one beyond the margin, its
 * interval inside it), else it cannot tell. */
static enum nb_study_verdict judge_overlap(double lo, double hi, enum nb_study_side theirs, double margin)
{
	if (theirs == NB_SIDE_PARITY)
		return lo >= 1 - margin && hi <= 1 + margin ? NB_VERDICT_HOLDS : NB_VERDICT_UNRESOLVED;
	return lo > 1 || hi < 1 ? NB_VERDICT_HOLDS : NB_VERDICT_UNRESOLVED;
}

struct nb_study_judgement nb_study_judge(double r, double lo, double hi, double s, double s_lo, double s_hi,
					 double margin)
{
	struct nb_study_judgement j = {NB_VERDICT_NONE, NAN, NAN, NAN};
	if (isnan(r) || isnan(lo) || isnan(hi) || isnan(s) || !(s > 0))
		return j;
	j.diff_pct = (r / s - 1) * 100;
	j.diff_lo_pct = (lo / s_hi - 1) * 100;
	j.diff_hi_pct = (hi / s_lo - 1) * 100;
	enum nb_study_side ours = nb_study_side(lo, hi, margin), theirs = study_side(s_lo, s_hi, margin);
	if (lo <= s_hi && hi >= s_lo)
		j.verdict = judge_overlap(lo, hi, theirs, margin);
	else if (ours == NB_SIDE_UNRESOLVED)
		j.verdict = NB_VERDICT_UNRESOLVED;
	else
		j.verdict = ours == theirs ? NB_VERDICT_DIRECTION : NB_VERDICT_DIFFERS;
	return j;
}

void nb_study_row(const struct nb_study *s, unsigned fig, const char *kind, const struct nb_study_measure *m,
		  double margin, struct nb_study_row *row)
{
	const struct nb_study_figure *f = &s->figs[fig];
	memset(row, 0, sizeof(*row));
	row->fig = fig;
	snprintf(row->path, sizeof(row->path), "%s", kind);
	row->spath = nb_study_path_of(s, kind);
	row->m = *m;
	row->j = (struct nb_study_judgement){NB_VERDICT_NONE, NAN, NAN, NAN};
	if (row->spath >= 0)
		row->sv = f->v[row->spath];
	if (!strcmp(kind, "native")) {
		row->j.verdict = NB_VERDICT_REFERENCE;
		return;
	}
	if (!row->sv.have || !m->have)
		return;
	row->j = nb_study_judge(m->ratio, m->ratio_lo, m->ratio_hi, row->sv.ratio, row->sv.ratio_lo,
				row->sv.ratio_hi, margin);
}

unsigned nb_study_table(const struct nb_study *s, const char *const *kinds, unsigned nkinds,
			nb_study_measure_fn measure, void *arg, double margin, struct nb_study_row *rows,
			unsigned max)
{
	unsigned n = 0;
	for (unsigned f = 0; f < s->nfigs; f++)
		for (unsigned k = 0; k < nkinds && n < max; k++) {
			struct nb_study_measure m = {.have = false};
			measure(arg, f, kinds[k], &m);
			nb_study_row(s, f, kinds[k], &m, margin, &rows[n++]);
		}
	return n;
}

/* key: x, or null when x is not a number. */
static void add_num(cJSON *o, const char *key, double x)
{
	if (isfinite(x))
		cJSON_AddNumberToObject(o, key, x);
	else
		cJSON_AddNullToObject(o, key);
}

static cJSON *study_value_json(const struct nb_study_value *v)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	add_num(o, "value", v->statement ? NAN : v->value);
	add_num(o, "error", v->error);
	add_num(o, "ratio", v->ratio);
	add_num(o, "ratio_lo", v->ratio_lo);
	add_num(o, "ratio_hi", v->ratio_hi);
	cJSON_AddBoolToObject(o, "statement", v->statement);
	cJSON_AddBoolToObject(o, "derived", v->derived);
	cJSON_AddStringToObject(o, "source", v->source);
	return o;
}

cJSON *nb_study_row_json(const struct nb_study *s, const struct nb_study_row *row)
{
	const struct nb_study_figure *f = &s->figs[row->fig];
	const struct nb_study_measure *m = &row->m;
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "figure", f->id);
	cJSON_AddStringToObject(o, "title", f->title);
	cJSON_AddStringToObject(o, "test", f->test);
	cJSON_AddStringToObject(o, "metric", f->metric);
	cJSON_AddStringToObject(o, "unit", f->unit);
	cJSON_AddStringToObject(o, "path", row->path);
	if (row->spath >= 0)
		cJSON_AddStringToObject(o, "study_path", s->paths[row->spath].id);
	else
		cJSON_AddNullToObject(o, "study_path");
	add_num(o, "value", m->have ? m->value : NAN);
	add_num(o, "value_lo", m->have ? m->lo : NAN);
	add_num(o, "value_hi", m->have ? m->hi : NAN);
	add_num(o, "ratio", m->have ? m->ratio : NAN);
	add_num(o, "ratio_lo", m->have ? m->ratio_lo : NAN);
	add_num(o, "ratio_hi", m->have ? m->ratio_hi : NAN);
	cJSON_AddNumberToObject(o, "rounds", m->rounds);
	if (row->sv.have)
		cJSON_AddItemToObject(o, "study", study_value_json(&row->sv));
	else
		cJSON_AddNullToObject(o, "study");
	cJSON_AddStringToObject(o, "verdict", nb_study_verdict_name(row->j.verdict));
	add_num(o, "diff_pct", row->j.diff_pct);
	add_num(o, "diff_lo_pct", row->j.diff_lo_pct);
	add_num(o, "diff_hi_pct", row->j.diff_hi_pct);
	return o;
}

/* ---- a study's JSON document ---- */

static const cJSON *item(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

bool nb_study_doc_is(const cJSON *doc)
{
	const cJSON *k = item(doc, "kind");
	return cJSON_IsString(k) && !strcmp(k->valuestring, "study") && cJSON_IsArray(item(doc, "table"));
}

bool nb_study_doc_row(const cJSON *doc, const char *figure, const char *path, struct nb_study_doc_row *ret)
{
	const cJSON *row;
	cJSON_ArrayForEach(row, item(doc, "table"))
	{
		const cJSON *f = item(row, "figure"), *p = item(row, "path"), *st = item(row, "study");
		if (!cJSON_IsString(f) || !cJSON_IsString(p) || strcmp(f->valuestring, figure) ||
		    strcmp(p->valuestring, path))
			continue;
		*ret = (struct nb_study_doc_row){opt_num(row, "value"),
						 opt_num(row, "value_lo"),
						 opt_num(row, "value_hi"),
						 opt_num(row, "ratio"),
						 opt_num(row, "ratio_lo"),
						 opt_num(row, "ratio_hi"),
						 cJSON_IsObject(st) ? opt_num(st, "value") : NAN};
		return true;
	}
	return false;
}

bool nb_study_doc_point(const cJSON *pt, const char *path, const char *key, double *ret_conns, double *ret_v,
			double *ret_lo, double *ret_hi)
{
	const cJSON *p = item(pt, "path"), *m = item(pt, key);
	if (!cJSON_IsString(p) || strcmp(p->valuestring, path) || !cJSON_IsObject(m))
		return false;
	*ret_conns = opt_num(pt, "connections");
	*ret_v = opt_num(m, "value");
	*ret_lo = opt_num(m, "lo");
	*ret_hi = opt_num(m, "hi");
	return isfinite(*ret_conns) && isfinite(*ret_v);
}

unsigned nb_study_doc_paths(const cJSON *doc, const char **paths, unsigned max)
{
	const cJSON *p;
	unsigned n = 0;
	cJSON_ArrayForEach(p, item(item(item(doc, "start"), "settings"),
				   "paths")) if (cJSON_IsString(p) && n < max) paths[n++] = p->valuestring;
	return n;
}

/* ---- the Redis row ---- */

static const struct nb_study_redis_point *find_point(const struct nb_study_redis_point *pts, unsigned n,
						     const char *path, unsigned connections)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(pts[i].path, path) && pts[i].connections == connections)
			return &pts[i];
	return NULL;
}

static const struct nb_study_measure *point_measure(const struct nb_study_redis_point *p, const char *metric)
{
	return !strcmp(metric, "latency") ? &p->lat_us : &p->tps;
}

/* How bad a verdict is, to keep the worst over several connection counts. */
static int severity(enum nb_study_verdict v)
{
	static const int sev[] = {
	    [NB_VERDICT_NONE] = 0,	[NB_VERDICT_REFERENCE] = 0,  [NB_VERDICT_HOLDS] = 1,
	    [NB_VERDICT_DIRECTION] = 2, [NB_VERDICT_UNRESOLVED] = 3, [NB_VERDICT_DIFFERS] = 4};
	return sev[v];
}

/* A statement of a ratio (at one count, or at every count: the worst of them), or of a lower bound. */
static bool judge_ratio(const struct nb_study_statement *st, const struct nb_study_redis_point *pts,
			unsigned n, const char *path, double margin, struct nb_study_redis_verdict *v)
{
	double s = isnan(st->ratio) ? st->ratio_min : st->ratio;
	/* "1.05x" is given to two digits: it stands for [1.045, 1.055]; "over 1.11x" for [1.11, inf) */
	double s_lo = isnan(st->ratio) ? st->ratio_min : s - 0.005;
	double s_hi = isnan(st->ratio) ? INFINITY : s + 0.005;
	double rmin = INFINITY, rmax = -INFINITY;
	unsigned cmin = 0, cmax = 0, seen = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct nb_study_measure *m = point_measure(&pts[i], st->metric);
		if (strcmp(pts[i].path, path) || (st->connections && pts[i].connections != st->connections) ||
		    !m->have || isnan(m->ratio))
			continue;
		struct nb_study_judgement j =
		    nb_study_judge(m->ratio, m->ratio_lo, m->ratio_hi, s, s_lo, s_hi, margin);
		if (!seen++ || severity(j.verdict) > severity(v->j.verdict))
			v->j = j;
		if (m->ratio < rmin)
			rmin = m->ratio, cmin = pts[i].connections;
		if (m->ratio > rmax)
			rmax = m->ratio, cmax = pts[i].connections;
	}
	if (!seen)
		return false;
	if (seen == 1)
		snprintf(v->measured, sizeof(v->measured), "%s %.2fx native at %u connections", st->metric,
			 rmin, cmin);
	else
		snprintf(v->measured, sizeof(v->measured), "%s %.2fx (%u connections) to %.2fx (%u) native",
			 st->metric, rmin, cmin, rmax, cmax);
	return true;
}

/* "adds about N us": the latency over native's at the fewest connections measured, from the paired ratio
 * (native's value x (ratio - 1)), against N. */
static bool judge_added(const struct nb_study_statement *st, const struct nb_study_redis_point *pts,
			unsigned n, const char *path, double margin, struct nb_study_redis_verdict *v)
{
	const struct nb_study_redis_point *p = NULL, *nat;
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(pts[i].path, path) && pts[i].lat_us.have && !isnan(pts[i].lat_us.ratio) &&
		    (!p || pts[i].connections < p->connections))
			p = &pts[i];
	if (!p || !(nat = find_point(pts, n, "native", p->connections)) || !nat->lat_us.have)
		return false;
	double base = nat->lat_us.value, d = base * (p->lat_us.ratio - 1);
	double lo = base * (p->lat_us.ratio_lo - 1), hi = base * (p->lat_us.ratio_hi - 1);
	/* "about 83 us" is given to the microsecond: [82.5, 83.5] */
	double s_lo = st->added_us - 0.5, s_hi = st->added_us + 0.5;
	v->j.diff_pct = (d / st->added_us - 1) * 100;
	v->j.diff_lo_pct = (lo / st->added_us - 1) * 100;
	v->j.diff_hi_pct = (hi / st->added_us - 1) * 100;
	v->j.verdict = lo <= s_hi && hi >= s_lo ? NB_VERDICT_HOLDS
		       : lo > 0			? NB_VERDICT_DIRECTION /* it adds latency: the size differs */
		       : hi < 0			? NB_VERDICT_DIFFERS
						: NB_VERDICT_UNRESOLVED;
	(void)margin;
	snprintf(v->measured, sizeof(v->measured), "+%.1f us [%.1f, %.1f] over native at %u connections", d,
		 lo, hi, p->connections);
	return true;
}

/* "lower at low concurrency, approaching native": below native at the fewest connections (its interval under
 * 1), and above that at the most (its interval clear of the first's): holds; the first at or above native, or
 * the last below the first, differs; intervals that overlap cannot tell. */
static bool judge_trend(const struct nb_study_statement *st, const struct nb_study_redis_point *pts,
			unsigned n, const char *path, struct nb_study_redis_verdict *v)
{
	const struct nb_study_redis_point *lo = NULL, *hi = NULL;
	for (unsigned i = 0; i < n; i++) {
		const struct nb_study_measure *m = point_measure(&pts[i], st->metric);
		if (strcmp(pts[i].path, path) || !m->have || isnan(m->ratio))
			continue;
		if (!lo || pts[i].connections < lo->connections)
			lo = &pts[i];
		if (!hi || pts[i].connections > hi->connections)
			hi = &pts[i];
	}
	if (!lo || lo == hi)
		return false;
	const struct nb_study_measure *a = point_measure(lo, st->metric), *b = point_measure(hi, st->metric);
	enum nb_study_verdict vd = a->ratio_lo >= 1 || b->ratio_hi < a->ratio_lo  ? NB_VERDICT_DIFFERS
				   : a->ratio_hi < 1 && b->ratio_lo > a->ratio_hi ? NB_VERDICT_HOLDS
										  : NB_VERDICT_UNRESOLVED;
	v->j = (struct nb_study_judgement){vd, NAN, NAN, NAN};
	snprintf(v->measured, sizeof(v->measured), "%s %.2fx native at %u connections, %.2fx at %u",
		 st->metric, a->ratio, lo->connections, b->ratio, hi->connections);
	return true;
}

unsigned nb_study_redis_judge(const struct nb_study *s, const struct nb_study_redis_point *pts, unsigned n,
			      double margin, struct nb_study_redis_verdict *ret, unsigned max)
{
	unsigned k = 0;
	for (unsigned i = 0; i < s->nredis; i++) {
		const struct nb_study_statement *st = &s->redis[i];
		const struct nb_study_path *sp = &s->paths[nb_study_path_index(s, st->path)];
		for (unsigned q = 0; q < sp->n_nbench && k < max; q++) {
			struct nb_study_redis_verdict *v = &ret[k];
			*v = (struct nb_study_redis_verdict){.st = st};
			v->j = (struct nb_study_judgement){NB_VERDICT_NONE, NAN, NAN, NAN};
			snprintf(v->path, sizeof(v->path), "%s", sp->nbench[q]);
			bool ok = !isnan(st->ratio) || !isnan(st->ratio_min)
				      ? judge_ratio(st, pts, n, v->path, margin, v)
				  : !isnan(st->added_us) ? judge_added(st, pts, n, v->path, margin, v)
							 : judge_trend(st, pts, n, v->path, v);
			k += ok;
		}
	}
	return k;
}
