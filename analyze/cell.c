/* SPDX-License-Identifier: MIT */
/* Cells of repeated runs (cell.h): their figures, means, ratios and deltas, and --hops' pairs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nbench/cell.h"
#include "nbench/report.h"

void nb_cell_add(struct nb_cell *c, const struct nb_report *rep, bool ok, unsigned round)
{
	if (!ok) {
		c->failed++;
		return;
	}
	if (c->n >= NB_CELL_MAX_RUNS)
		return;
	for (int m = 0; m < NB_M_COUNT; m++)
		c->v[m][c->n] = nb_metric_of(rep, m);
	c->round[c->n] = round;
	c->n++;
	c->disturbed += rep->cpu.disturbed;
}

struct nb_stat nb_cell_stat(const struct nb_cell *c, enum nb_metric m, double level)
{
	return nb_stat_of(c->v[m], c->n, level);
}

double nb_cell_mean(const struct nb_cell *c, enum nb_metric m, double level)
{
	return c && c->n ? nb_cell_stat(c, m, level).mean : NAN;
}

double nb_cell_ratio(const struct nb_cell *ref, double mean, enum nb_metric m, double level)
{
	double rm = nb_cell_mean(ref, m, level);
	return isnan(rm) || rm == 0 ? NAN : mean / rm;
}

bool nb_cell_delta(const struct nb_cell *parent, double mean, enum nb_metric m, double level,
		   double *ret_delta)
{
	double pm = nb_cell_mean(parent, m, level);
	if (isnan(pm))
		return false;
	*ret_delta = mean - pm;
	return true;
}

/* The rounds both a and b completed: m's values into xa, xb and the rounds into rounds (may be NULL). */
static unsigned pairs(const struct nb_cell *a, const struct nb_cell *b, enum nb_metric m, double *xa,
		      double *xb, unsigned *rounds)
{
	unsigned n = 0;
	for (unsigned i = 0, j = 0; i < a->n && j < b->n;) {
		if (a->round[i] != b->round[j]) {
			a->round[i] < b->round[j] ? i++ : j++;
			continue;
		}
		if (rounds)
			rounds[n] = a->round[i];
		xa[n] = a->v[m][i++];
		xb[n++] = b->v[m][j++];
	}
	return n;
}

unsigned nb_cell_pairs(const struct nb_cell *a, const struct nb_cell *b, enum nb_metric m, double *xa,
		       double *xb)
{
	return pairs(a, b, m, xa, xb, NULL);
}

unsigned nb_cell_pairs_upto(const struct nb_cell *a, const struct nb_cell *b, enum nb_metric m,
			    unsigned last_round, double *xa, double *xb)
{
	unsigned rounds[NB_CELL_MAX_RUNS], n = pairs(a, b, m, xa, xb, rounds), k = 0;
	while (k < n && rounds[k] <= last_round)
		k++;
	return k;
}

int nb_cell_ratio_paired(const struct nb_cell *x, const struct nb_cell *ref, enum nb_metric m, double level,
			 uint64_t seed, struct nb_ratio *ret)
{
	double a[NB_CELL_MAX_RUNS], b[NB_CELL_MAX_RUNS];
	unsigned n = nb_cell_pairs(x, ref, m, a, b);
	return nb_paired_ratio(a, b, n, level, seed, ret);
}

void nb_cell_delta_paired(const struct nb_cell *x, const struct nb_cell *ref, enum nb_metric m, double level,
			  uint64_t seed, struct nb_delta *ret)
{
	double a[NB_CELL_MAX_RUNS], b[NB_CELL_MAX_RUNS];
	unsigned n = nb_cell_pairs(x, ref, m, a, b);
	nb_paired_delta(a, b, n, level, seed, ret);
}

unsigned nb_cell_outliers(const struct nb_cell *c, const struct nb_cell *ref, enum nb_metric m, unsigned *ret)
{
	double a[NB_CELL_MAX_RUNS], b[NB_CELL_MAX_RUNS], d[NB_CELL_MAX_RUNS];
	bool flag[NB_CELL_MAX_RUNS];
	unsigned rounds[NB_CELL_MAX_RUNS], n, k = 0;
	if (ref && ref != c) {
		n = pairs(c, ref, m, a, b, rounds);
	} else {
		for (n = 0; n < c->n; n++)
			a[n] = c->v[m][n], b[n] = 1, rounds[n] = c->round[n];
	}
	if (!n)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		if (!(a[i] > 0 && b[i] > 0))
			return 0; /* no logs: nothing judged */
		d[i] = log(a[i] / b[i]);
	}
	nb_paired_outliers(d, n, NULL, flag);
	for (unsigned i = 0; i < n; i++)
		if (flag[i])
			ret[k++] = rounds[i];
	return k;
}

void nb_hcell_add(struct nb_hcell *h, double rtt_without_ns, struct nb_report *with)
{
	if (h->n_with >= NB_CELL_MAX_RUNS)
		return;
	h->without[h->n_without++] = rtt_without_ns;
	h->with[h->n_with++] = with->lat.mean_ns;
	free(h->last);
	h->last = with->hops;
	with->hops = NULL;
}

struct nb_report_hops *nb_hcell_summary(struct nb_hcell *h, double level)
{
	if (!h->last)
		return NULL;
	h->last->rtt_without_ns = nb_stat_of(h->without, h->n_without, level).mean;
	h->last->rtt_with_ns = nb_stat_of(h->with, h->n_with, level).mean;
	h->last->runs_without = h->n_without;
	h->last->runs_with = h->n_with;
	return h->last;
}

void nb_hcell_free(struct nb_hcell *h)
{
	free(h->last);
	h->last = NULL;
}

double nb_hops_sum_ns(const struct nb_report_hops *h)
{
	double sum = 0;
	for (unsigned i = 0; i < h->n; i++)
		if (!strncmp(h->seg[i].segment, "hop ", 4))
			sum += h->seg[i].mean_ns;
	return sum;
}

bool nb_hcell_vs(const struct nb_hcell *h, const struct nb_hcell *parent, double level,
		 struct nb_hops_vs *ret)
{
	if (!parent || !h->last || !parent->last)
		return false;
	struct nb_stat sa = nb_stat_of(h->without, h->n_without, level);
	struct nb_stat sb = nb_stat_of(parent->without, parent->n_without, level);
	*ret = (struct nb_hops_vs){nb_hops_sum_ns(h->last) - nb_hops_sum_ns(parent->last), sa.mean - sb.mean,
				   sqrt(sa.ci * sa.ci + sb.ci * sb.ci)};
	return true;
}
