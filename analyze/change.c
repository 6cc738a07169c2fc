/* SPDX-License-Identifier: MIT */
/* The change of a figure between two sets of runs (change.h): size, significance, verdict, regression. */
#include <math.h>

#include "nbench/change.h"
#include "nbench/paired.h"

static bool positive(const struct nb_series *s)
{
	for (unsigned i = 0; i < s->n; i++)
		if (!(s->v[i] > 0) || !isfinite(s->v[i]))
			return false;
	return s->n > 0;
}

/* The change as a ratio of geometric means: Welch on the logs when both sides repeat (paired.h's unpaired
 * ratio), the single run against the other side's interval of logs when one does. */
static void change_on_logs(const struct nb_series *a, const struct nb_series *b, double level,
			   struct nb_change *c)
{
	double la[NB_RS_MAX_SAMPLES], lb[NB_RS_MAX_SAMPLES];
	for (unsigned i = 0; i < a->n; i++)
		la[i] = log(a->v[i]);
	for (unsigned i = 0; i < b->n; i++)
		lb[i] = log(b->v[i]);
	struct nb_stat sa = nb_stat_of(la, a->n, level), sb = nb_stat_of(lb, b->n, level);
	double d = sb.mean - sa.mean, half = nb_stat_diff_halfwidth(&sa, &sb, level, &c->test);
	struct nb_ratio r;
	if (c->test == NB_STAT_WELCH && nb_paired_ratio_unpaired(b->v, b->n, a->v, a->n, level, &r) == 0)
		half = log(r.hi) - d;
	c->on_logs = true;
	c->delta_pct = expm1(d) * 100;
	c->lo_pct = c->test == NB_STAT_UNTESTED ? NAN : expm1(d - half) * 100;
	c->hi_pct = c->test == NB_STAT_UNTESTED ? NAN : expm1(d + half) * 100;
	c->significant = c->test != NB_STAT_UNTESTED && fabs(d) > half;
}

/* The change as a difference of means, in percent of A's (a side has a 0 or a negative value). */
static void change_linear(double level, struct nb_change *c)
{
	double delta = c->b.mean - c->a.mean;
	double half = nb_stat_diff_halfwidth(&c->a, &c->b, level, &c->test);
	c->delta_pct = nb_stat_pct(delta, c->a.mean);
	c->lo_pct = c->test == NB_STAT_UNTESTED ? NAN : nb_stat_pct(delta - half, c->a.mean);
	c->hi_pct = c->test == NB_STAT_UNTESTED ? NAN : nb_stat_pct(delta + half, c->a.mean);
	c->significant = c->test != NB_STAT_UNTESTED && fabs(delta) > half;
}

struct nb_change nb_change_of(const struct nb_series *a, const struct nb_series *b, double level,
			      double tol_pct)
{
	struct nb_change c = {.a = nb_stat_of(a->v, a->n, level), .b = nb_stat_of(b->v, b->n, level)};
	int dir = a->dir;

	if (positive(a) && positive(b))
		change_on_logs(a, b, level, &c);
	else
		change_linear(level, &c);
	bool tested = c.test != NB_STAT_UNTESTED;
	c.ci_pct = tested ? fmax(c.hi_pct - c.delta_pct, c.delta_pct - c.lo_pct) : NAN;
	double worse_pct = dir < 0 ? c.delta_pct : -c.delta_pct;
	if (dir && c.delta_pct != 0 && (!tested || c.significant))
		c.verdict = worse_pct > 0 ? -1 : +1;
	/* worse by more than the tolerance even at the interval's better end */
	double worst_case = !tested ? worse_pct : dir < 0 ? c.lo_pct : -c.hi_pct;
	c.regression = dir && worst_case > tol_pct;
	return c;
}

const char *nb_change_verdict(const struct nb_change *c, int dir)
{
	if (!dir)
		return "direction unknown";
	if (c->verdict)
		return c->verdict > 0 ? "better" : "worse";
	return c->delta_pct == 0 ? "no change" : "no significant change";
}

unsigned nb_change_each(const struct nb_reportset *a, const struct nb_reportset *b, double level,
			double tol_pct,
			void (*fn)(void *arg, const struct nb_series *m, const struct nb_change *c),
			void *arg)
{
	unsigned regressions = 0;
	for (unsigned i = 0; i < a->n; i++) {
		const struct nb_series *ma = &a->m[i], *mb = nb_reportset_find(b, ma->name);
		if (!mb || !ma->n || !mb->n)
			continue;
		struct nb_change c = nb_change_of(ma, mb, level, tol_pct);
		if (fn)
			fn(arg, ma, &c);
		regressions += c.regression;
	}
	return regressions;
}
