/* SPDX-License-Identifier: MIT */
/*
 * MLRsearch (RFC 9971) for one Search Goal: a pure function of what its trials return (include/nbench/mlr.h).
 *
 * The Controller. A first trial at Max Load (unpaced when no Max Load is given: what it offered is Max
 * Load) gives the forwarding rate there, the first candidate for a Lower Bound. Then phases run in turn,
 * each a search for its own target: the coarser ones first, on shorter trials, with a proportionally
 * shorter duration sum and a wider width, the goal's own last. Within a phase every load measured so far
 * is classified by the phase's target (appendix A's code, the same for all phases), which gives the
 * tightest bounds: hi, the smallest Upper Bound, and lo, the largest Lower Bound below it. Then, until hi
 * and lo are within the width:
 *  - a load this phase chose (or the previous phase's relevant bounds) still Undecided between lo and hi is
 *    measured again, the smallest first: this is what keeps one lossy trial from deciding a load;
 *  - with no Upper Bound, Max Load is measured (a Lower Bound there ends the search: irregular);
 *  - with no Lower Bound, a load below hi, farther each time (by the width, then twice that, ...), down to
 *    Min Load (an Upper Bound there ends the search: nothing passed);
 *  - otherwise the midpoint of lo and hi.
 * Every trial counts for every phase: a later phase sees an earlier one's as short trials, which the
 * classification weighs as the RFC says (short low-loss trials balance short high-loss ones).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nbench/mlr.h"

#define DEFAULT_MAX_TRIALS 256u
#define MAX_PRECEDING	   4u
#define MAX_PHASES	   (MAX_PRECEDING + 1)
#define DEFAULT_INITIAL	   0.25 /* of the final trial duration */

int nb_mlr_cfg_check(const struct nb_mlr_cfg *cfg, const char **why)
{
	const struct nb_mlr_goal *g = &cfg->goal;
	const char *w = NULL;
	if (!(g->loss_ratio >= 0 && g->loss_ratio < 1))
		w = "the goal loss ratio must be from 0 to below 1";
	else if (!(g->exceed_ratio >= 0 && g->exceed_ratio < 1))
		w = "the goal exceed ratio must be from 0 to below 1";
	else if (!(g->final_trial_s > 0 && isfinite(g->final_trial_s)))
		w = "the final trial duration must be above 0";
	else if (!(g->duration_sum_s > 0 && isfinite(g->duration_sum_s)))
		w = "the goal duration sum must be above 0";
	else if (!(g->width > 0 && g->width < 1) && !(cfg->width_fps > 0))
		w = "the goal width must be above 0 and below 1";
	else if (!(g->initial_trial_s >= 0 && g->initial_trial_s <= g->final_trial_s))
		w = "the initial trial duration must be at most the final one";
	else if (!(cfg->max_fps >= 0 && isfinite(cfg->max_fps)) || !(cfg->min_fps >= 0) ||
		 (cfg->max_fps > 0 && cfg->min_fps > cfg->max_fps))
		w = "the loads must be finite, Min Load at most Max Load";
	else if (cfg->preceding > MAX_PRECEDING)
		w = "at most 4 preceding phases";
	else if (!(cfg->short_pct >= 0 && cfg->short_pct < 100))
		w = "the short-sender percentage must be from 0 to below 100";
	if (why)
		*why = w;
	return w ? -EINVAL : 0;
}

/* ---- the classification and the conditional throughput (RFC 9971 appendices A and B) ---- */

/* Durations are sums of doubles made from whole nanoseconds: three 0.2 s trials do not add up to exactly
 * 0.6 s. Comparisons of such sums allow this much, seconds, so a load decided by exactly the goal's duration
 * sum is decided (without it, exceed ratio 0 and a sum of three trials left 1e-16 s "missing" and made the
 * conditional throughput 0). */
#define SUM_EPS_S 1e-9

struct sums {
	double full_low_s, full_high_s, short_low_s, short_high_s;
};

static void sums_at(const struct nb_mlr_goal *g, const struct nb_mlr_trial *t, unsigned n, double load,
		    struct sums *s)
{
	*s = (struct sums){0};
	for (unsigned i = 0; i < n; i++) {
		if (t[i].load_fps != load)
			continue;
		bool high = t[i].loss_ratio > g->loss_ratio;
		bool full = t[i].duration_s >= g->final_trial_s;
		double *sum = full ? (high ? &s->full_high_s : &s->full_low_s)
				   : (high ? &s->short_high_s : &s->short_low_s);
		*sum += t[i].duration_s;
	}
}

enum nb_mlr_class nb_mlr_classify(const struct nb_mlr_goal *g, const struct nb_mlr_trial *t, unsigned n,
				  double load_fps)
{
	struct sums s;
	sums_at(g, t, n, load_fps, &s);
	double exceed_coefficient = g->exceed_ratio / (1.0 - g->exceed_ratio);
	double balancing_s = s.short_low_s * exceed_coefficient;
	double positive_excess_s = fmax(0.0, s.short_high_s - balancing_s);
	double effect_high_loss_s = s.full_high_s + positive_excess_s;
	double effect_full_length_s = s.full_low_s + effect_high_loss_s;
	double effect_whole_s = fmax(effect_full_length_s, g->duration_sum_s);
	double quantile_duration_s = effect_whole_s * g->exceed_ratio;
	double pessimistic_high_loss_s = effect_whole_s - s.full_low_s;
	bool pessimistic_is_lower = pessimistic_high_loss_s <= quantile_duration_s + SUM_EPS_S;
	bool optimistic_is_lower = effect_high_loss_s <= quantile_duration_s + SUM_EPS_S;
	if (pessimistic_is_lower && optimistic_is_lower)
		return NB_MLR_LOWER;
	return !pessimistic_is_lower && !optimistic_is_lower ? NB_MLR_UPPER : NB_MLR_UNDECIDED;
}

static int by_loss(const void *a, const void *b)
{
	const struct nb_mlr_trial *x = a, *y = b;
	return (x->loss_ratio > y->loss_ratio) - (x->loss_ratio < y->loss_ratio);
}

double nb_mlr_conditional_fps(const struct nb_mlr_goal *g, const struct nb_mlr_trial *t, unsigned n,
			      double load_fps)
{
	struct nb_mlr_trial *full = malloc((n ? n : 1) * sizeof(*full));
	unsigned k = 0;
	double full_s = 0;
	if (!full)
		return 0;
	for (unsigned i = 0; i < n; i++)
		if (t[i].load_fps == load_fps && t[i].duration_s >= g->final_trial_s) {
			full[k++] = t[i];
			full_s += t[i].duration_s;
		}
	qsort(full, k, sizeof(*full), by_loss);
	double whole_s = fmax(g->duration_sum_s, full_s);
	double remaining = whole_s * (1.0 - g->exceed_ratio);
	double quantile_loss_ratio = -1;
	unsigned i;
	for (i = 0; i < k; i++) {
		if (quantile_loss_ratio >= 0 && remaining <= SUM_EPS_S)
			break;
		quantile_loss_ratio = full[i].loss_ratio;
		remaining -= full[i].duration_s;
	}
	if (i == k && remaining > SUM_EPS_S)
		quantile_loss_ratio = 1.0;
	free(full);
	return k ? load_fps * (1.0 - quantile_loss_ratio) : 0;
}

const char *nb_mlr_irregular_str(enum nb_mlr_irregular i)
{
	switch (i) {
	case NB_MLR_REGULAR:
		return "regular";
	case NB_MLR_MAX_IS_LOWER:
		return "max load is a lower bound";
	case NB_MLR_MIN_IS_UPPER:
		return "min load is an upper bound";
	case NB_MLR_TRIAL_LIMIT:
		return "trial limit reached";
	case NB_MLR_SENT_NOTHING:
		return "the sender sent nothing";
	case NB_MLR_INTERRUPTED:
		return "interrupted";
	}
	return "?";
}

/* ---- the controller ---- */

/* One phase's target: the goal with its durations scaled down and its width scaled up. */
struct phase {
	struct nb_mlr_goal g;
	double width_fps;
};

/* A load measured (or chosen) so far; tracked: the last phase that chose it (-1: none). */
struct point {
	double load;
	int tracked;
};

struct state {
	const struct nb_mlr_cfg *cfg;
	nb_mlr_trial_fn trial;
	void *arg;
	struct nb_mlr_result *r;
	struct phase ph[MAX_PHASES];
	unsigned n_ph, max_trials;
	struct point *pts;
	unsigned n_pts, cap_pts;
	unsigned down, up; /* this phase's steps down from hi (no Lower Bound yet) and up from lo */
};

/* Phase k of n: durations geometric from the initial to the final, the duration sum in proportion, the
 * width doubled for each phase still to come. */
static void phases_make(struct state *st)
{
	const struct nb_mlr_cfg *c = st->cfg;
	double fin = c->goal.final_trial_s;
	double init = c->goal.initial_trial_s > 0 ? c->goal.initial_trial_s : fin * DEFAULT_INITIAL;
	st->n_ph = c->preceding + 1;
	for (unsigned k = 0; k < st->n_ph; k++) {
		unsigned left = st->n_ph - 1 - k;
		double d = c->preceding ? init * pow(fin / init, (double)k / c->preceding) : fin;
		struct phase *p = &st->ph[k];
		p->g = c->goal;
		p->g.final_trial_s = left ? d : fin; /* exact for the goal */
		p->g.duration_sum_s = c->goal.duration_sum_s * p->g.final_trial_s / fin;
		p->g.width = fmin(c->goal.width * (double)(1u << left), 0.5);
		p->width_fps = c->width_fps * (double)(1u << left);
	}
}

static struct point *point_at(struct state *st, double load)
{
	for (unsigned i = 0; i < st->n_pts; i++)
		if (st->pts[i].load == load)
			return &st->pts[i];
	return NULL;
}

/* The point of load (added when new), tracked by phase k when k >= 0. NULL: out of memory. */
static struct point *point_track(struct state *st, double load, int k)
{
	struct point *p = point_at(st, load);
	if (!p) {
		if (st->n_pts == st->cap_pts) {
			unsigned cap = st->cap_pts ? 2 * st->cap_pts : 32;
			struct point *n = realloc(st->pts, cap * sizeof(*n));
			if (!n)
				return NULL;
			st->pts = n;
			st->cap_pts = cap;
		}
		p = &st->pts[st->n_pts++];
		*p = (struct point){.load = load, .tracked = -1};
	}
	if (k > p->tracked)
		p->tracked = k;
	return p;
}

static int trial_push(struct nb_mlr_result *r, const struct nb_mlr_trial *t)
{
	if (r->n_trials == r->cap_trials) {
		unsigned cap = r->cap_trials ? 2 * r->cap_trials : 32;
		struct nb_mlr_trial *n = realloc(r->trials, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->trials = n;
		r->cap_trials = cap;
	}
	r->trials[r->n_trials++] = *t;
	r->trials_s += t->duration_s;
	return 0;
}

/* Runs a trial at load (0: unpaced) for phase k and records it. 0 or -errno. */
static int measure(struct state *st, double load, unsigned k)
{
	const struct nb_mlr_cfg *c = st->cfg;
	double dur = st->ph[k].g.final_trial_s;
	struct nb_trial t = {0};
	int r = st->trial(st->arg, load, dur, &t);
	if (r < 0)
		return r;
	struct nb_mlr_trial m = {.load_fps = load > 0 ? load : t.sent_fps,
				 .duration_s = dur,
				 .sent = t.sent,
				 .received = t.sent - (t.lost < t.sent ? t.lost : t.sent),
				 .offered_fps = t.sent_fps,
				 .phase = k,
				 .unpaced = load <= 0};
	double expected = m.load_fps * dur;
	if (!m.unpaced && t.sent_fps < load * (1 - c->short_pct / 100.0) && expected > 0)
		m.loss_ratio = fmin(1.0, fmax(0.0, 1.0 - (double)m.received / expected));
	else
		m.loss_ratio = t.sent ? (double)(t.sent - m.received) / (double)t.sent : 1.0;
	if ((r = trial_push(st->r, &m)) < 0)
		return r;
	return point_track(st, m.load_fps, (int)k) ? 0 : -ENOMEM;
}

/* The tightest bounds by goal g among the points: hi the smallest Upper Bound, lo the largest Lower Bound
 * below it. */
static void bounds(const struct state *st, const struct nb_mlr_goal *g, double *lo, double *hi)
{
	const struct nb_mlr_result *r = st->r;
	*lo = -1;
	*hi = -1;
	for (unsigned i = 0; i < st->n_pts; i++) {
		double l = st->pts[i].load;
		if (nb_mlr_classify(g, r->trials, r->n_trials, l) == NB_MLR_UPPER && (*hi < 0 || l < *hi))
			*hi = l;
	}
	for (unsigned i = 0; i < st->n_pts; i++) {
		double l = st->pts[i].load;
		if ((*hi < 0 || l < *hi) && l > *lo &&
		    nb_mlr_classify(g, r->trials, r->n_trials, l) == NB_MLR_LOWER)
			*lo = l;
	}
}

static enum nb_mlr_class class_of(const struct state *st, const struct nb_mlr_goal *g, double load)
{
	return nb_mlr_classify(g, st->r->trials, st->r->n_trials, load);
}

/* Phase k's Undecided load between lo and hi (< 0: none) that it tracks, the smallest; < 0 when none. */
static double pending(const struct state *st, unsigned k, double lo, double hi)
{
	double best = -1;
	for (unsigned i = 0; i < st->n_pts; i++) {
		const struct point *p = &st->pts[i];
		if (p->tracked != (int)k || p->load <= lo || (hi >= 0 && p->load >= hi) ||
		    (best >= 0 && p->load >= best))
			continue;
		if (class_of(st, &st->ph[k].g, p->load) == NB_MLR_UNDECIDED)
			best = p->load;
	}
	return best;
}

/* Phase k's next load to measure into *load: 1, or 0 when the phase is done. -ENOMEM. */
static int next_load(struct state *st, unsigned k, double *load)
{
	const struct phase *p = &st->ph[k];
	double lo, hi, max = st->r->max_fps, min = st->r->min_fps;
	bounds(st, &p->g, &lo, &hi);
	if (lo >= 0 && hi >= 0 && hi - lo <= fmax(p->g.width * hi, p->width_fps))
		return 0;
	if (hi < 0 && class_of(st, &p->g, max) == NB_MLR_LOWER)
		return 0;
	if (lo < 0 && point_at(st, min) && class_of(st, &p->g, min) == NB_MLR_UPPER)
		return 0;
	double l = pending(st, k, lo, hi), w = fmax(p->g.width * hi, p->width_fps);
	if (l < 0 && hi < 0) {
		l = max; /* not tracked by this phase yet, or it would be pending */
	} else if (l < 0 && lo < 0) {
		double step = w * (double)(1u << (st->down < 20 ? st->down++ : 20));
		l = hi - step > min ? hi - step : min;
	} else if (l < 0) {
		/* up from lo by the width, then twice that, ...: the first candidate (the forwarding rate at
		 * Max Load) is often just below the throughput, and the midpoint is no better once they meet
		 */
		double step = w * (double)(1u << (st->up < 20 ? st->up : 20));
		l = lo + step < (lo + hi) / 2 ? (st->up++, lo + step) : (lo + hi) / 2;
	}
	if (!point_track(st, l, (int)k))
		return -ENOMEM;
	*load = l;
	return 1;
}

/* The first trial: at Max Load, or unpaced (what it offered becomes Max Load). Its forwarding rate is phase
 * 0's first candidate. 0, 1 when the sender sent nothing (the search ends there), or -errno. */
static int first_trial(struct state *st)
{
	const struct nb_mlr_cfg *c = st->cfg;
	struct nb_mlr_result *r = st->r;
	int e = measure(st, c->max_fps, 0);
	if (e < 0)
		return e;
	const struct nb_mlr_trial *t = &r->trials[0];
	if (t->load_fps <= 0)
		return 1;
	r->max_fps = t->load_fps;
	r->max_rx_fps = (double)t->received / t->duration_s;
	r->min_fps = c->min_fps > 0 ? fmin(c->min_fps, r->max_fps) : r->max_fps * c->goal.width;
	if (!(r->min_fps > 0 && r->min_fps < r->max_fps))
		r->min_fps = r->max_fps * 1e-3;
	double seed = r->max_rx_fps;
	if (seed >= r->min_fps && seed < r->max_fps * (1 - st->ph[0].g.width))
		return point_track(st, seed, 0) ? 0 : -ENOMEM;
	return 0;
}

/* The result by the goal over every trial; why: what ended the search early (NB_MLR_REGULAR: nothing). */
static void finish(struct state *st, enum nb_mlr_irregular why)
{
	struct nb_mlr_result *r = st->r;
	const struct nb_mlr_goal *g = &st->cfg->goal;
	double lo = -1, hi = -1;
	if (r->max_fps > 0)
		bounds(st, g, &lo, &hi);
	r->has_lower = lo >= 0;
	r->has_upper = hi >= 0;
	r->lower_fps = r->has_lower ? lo : 0;
	r->upper_fps = r->has_upper ? hi : 0;
	r->conditional_fps = r->has_lower ? nb_mlr_conditional_fps(g, r->trials, r->n_trials, lo) : 0;
	if (why == NB_MLR_REGULAR && !r->has_upper)
		why = r->has_lower ? NB_MLR_MAX_IS_LOWER : NB_MLR_TRIAL_LIMIT;
	else if (why == NB_MLR_REGULAR && !r->has_lower)
		why = NB_MLR_MIN_IS_UPPER;
	else if (why == NB_MLR_REGULAR && hi - lo > fmax(g->width * hi, st->cfg->width_fps))
		why = NB_MLR_TRIAL_LIMIT;
	r->irregular = why;
}

/* Every phase in turn; each starts from the previous one's relevant bounds. 0, 1 at the trial limit, or
 * -errno. */
static int run_phases(struct state *st)
{
	for (unsigned k = 0; k < st->n_ph; k++) {
		if (k > 0) {
			double lo, hi;
			bounds(st, &st->ph[k - 1].g, &lo, &hi);
			if ((lo >= 0 && !point_track(st, lo, (int)k)) ||
			    (hi >= 0 && !point_track(st, hi, (int)k)))
				return -ENOMEM;
		}
		st->down = st->up = 0;
		for (;;) {
			double load;
			int r = next_load(st, k, &load);
			if (r <= 0) {
				if (r < 0)
					return r;
				break;
			}
			if (st->r->n_trials >= st->max_trials)
				return 1;
			if ((r = measure(st, load, k)) < 0)
				return r;
		}
	}
	return 0;
}

int nb_mlr_search(const struct nb_mlr_cfg *cfg, nb_mlr_trial_fn trial, void *arg, struct nb_mlr_result *ret)
{
	*ret = (struct nb_mlr_result){0};
	if (nb_mlr_cfg_check(cfg, NULL) < 0 || !trial)
		return -EINVAL;
	struct state st = {.cfg = cfg, .trial = trial, .arg = arg, .r = ret};
	st.max_trials = cfg->max_trials ? cfg->max_trials : DEFAULT_MAX_TRIALS;
	phases_make(&st);
	int e = first_trial(&st);
	enum nb_mlr_irregular why = e == 1 ? NB_MLR_SENT_NOTHING : NB_MLR_REGULAR;
	if (e == 0 && (e = run_phases(&st)) == 1)
		why = NB_MLR_TRIAL_LIMIT;
	if (e < 0)
		why = NB_MLR_INTERRUPTED;
	finish(&st, why);
	free(st.pts);
	return e < 0 ? e : 0;
}

void nb_mlr_result_free(struct nb_mlr_result *ret)
{
	free(ret->trials);
	ret->trials = NULL;
	ret->n_trials = ret->cap_trials = 0;
}
