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

void nb_hcell_add(struct nb_hcell *h, const struct nb_hist_stats *without, struct nb_report *with)
{
	if (h->n_with >= NB_CELL_MAX_RUNS)
		return;
	h->p50_without[h->n_without] = (double)without->p50_ns;
	h->p50_with[h->n_with] = (double)with->lat.p50_ns;
	h->without[h->n_without++] = without->mean_ns;
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
	/* the medians' mean over the rounds: what the probes' cost per hit is taken from */
	h->last->rtt_p50_without_ns = (int64_t)nb_stat_of(h->p50_without, h->n_without, level).mean;
	h->last->rtt_p50_with_ns = (int64_t)nb_stat_of(h->p50_with, h->n_with, level).mean;
	h->last->runs_without = h->n_without;
	h->last->runs_with = h->n_with;
	return h->last;
}

void nb_hcell_free(struct nb_hcell *h)
{
	free(h->last);
	h->last = NULL;
}

double nb_hops_sum_ns(const struct nb_report_hops *h, double probe_ns)
{
	double sum = 0;
	for (unsigned i = 0; i < h->n; i++)
		if (!strncmp(h->seg[i].segment, "hop ", 4))
			sum += h->seg[i].mean_ns - probe_ns;
	return sum;
}

double nb_hcell_probe_ns(const struct nb_hcell *cells, unsigned n, double level)
{
	double over = 0, hits = 0;
	for (unsigned k = 0; k < n; k++) {
		const struct nb_hcell *h = &cells[k];
		if (!h->last || h->last->probe_hits <= 0 || !h->n_with)
			continue;
		over += nb_stat_of(h->p50_with, h->n_with, level).mean -
			nb_stat_of(h->p50_without, h->n_without, level).mean;
		hits += h->last->probe_hits;
	}
	return hits > 0 ? over / hits : NAN;
}

bool nb_hcell_vs(const struct nb_hcell *h, const struct nb_hcell *parent, double level, double probe_ns,
		 struct nb_hops_vs *ret)
{
	if (!parent || !h->last || !parent->last)
		return false;
	struct nb_stat sa = nb_stat_of(h->without, h->n_without, level);
	struct nb_stat sb = nb_stat_of(parent->without, parent->n_without, level);
	struct nb_stat qa = nb_stat_of(h->p50_without, h->n_without, level);
	struct nb_stat qb = nb_stat_of(parent->p50_without, parent->n_without, level);
	*ret = (struct nb_hops_vs){.capture_ns = nb_hops_sum_ns(h->last, 0) - nb_hops_sum_ns(parent->last, 0),
				   .less_ns = nb_hops_sum_ns(h->last, probe_ns) -
					      nb_hops_sum_ns(parent->last, probe_ns),
				   .compare_ns = sa.mean - sb.mean,
				   .ci_ns = sqrt(sa.ci * sa.ci + sb.ci * sb.ci),
				   .p50_ns = qa.mean - qb.mean,
				   .p50_ci_ns = sqrt(qa.ci * qa.ci + qb.ci * qb.ci)};
	return true;
}
