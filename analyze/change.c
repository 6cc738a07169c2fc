/* SPDX-License-Identifier: MIT */
/* The change of a figure between two sets of runs (change.h): size, significance, verdict, regression. */
#include <math.h>

#include "nbench/change.h"

struct nb_change nb_change_of(const struct nb_series *a, const struct nb_series *b, double level,
			      double tol_pct)
{
	struct nb_change c = {.a = nb_stat_of(a->v, a->n, level), .b = nb_stat_of(b->v, b->n, level)};
	double delta = c.b.mean - c.a.mean;
	double half = nb_stat_diff_halfwidth(&c.a, &c.b, level, &c.test);
	int dir = a->dir;

	c.delta_pct = nb_stat_pct(delta, c.a.mean);
	c.ci_pct = c.test == NB_STAT_UNTESTED ? NAN : nb_stat_pct(half, c.a.mean);
	c.significant = c.test != NB_STAT_UNTESTED && fabs(delta) > half;
	double worse_pct = dir < 0 ? c.delta_pct : -c.delta_pct;
	if (dir && delta != 0 && (c.test == NB_STAT_UNTESTED || c.significant))
		c.verdict = worse_pct > 0 ? -1 : +1;
	c.regression = dir && worse_pct - (c.test == NB_STAT_UNTESTED ? 0 : c.ci_pct) > tol_pct;
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
