/* SPDX-License-Identifier: MIT */
/* RFC 2544 throughput search: bisection over trials, a pure function of what the trials return. */
#include <errno.h>
#include <math.h>

#include "nbench/gen.h"

#define DEFAULT_MAX_TRIALS 64u

bool nb_trial_passes(uint64_t sent, uint64_t lost, double loss_pct)
{
	if (sent == 0)
		return false;
	/* exact for 0: any lost frame fails */
	return (double)lost * 100.0 <= loss_pct * (double)sent;
}

static bool cfg_ok(const struct nb_search_cfg *c)
{
	return c->max_fps >= 0 && isfinite(c->max_fps) && c->resolution_pct >= 0 && c->resolution_pct < 100 &&
	       c->resolution_fps >= 0 && (c->resolution_pct > 0 || c->resolution_fps > 0) &&
	       c->loss_pct >= 0 && c->loss_pct < 100;
}

/* Runs one trial at rate_fps and folds it into ret as a pass or a fail at the rate actually offered. */
static int run_trial(const struct nb_search_cfg *c, nb_trial_fn trial, void *arg, double rate_fps,
		     struct nb_search_result *ret, bool *passed)
{
	struct nb_trial t = {0};
	int r = trial(arg, rate_fps, &t);
	if (r < 0)
		return r;
	if (ret->trials == 0 && t.sent) /* the bound's trial */
		ret->max_rx_fps =
		    t.sent_fps * (double)(t.sent - (t.lost < t.sent ? t.lost : t.sent)) / (double)t.sent;
	ret->trials++;
	/* a sender that fell short offered less than asked: that is the rate the trial measured */
	double offered = rate_fps > 0 && t.sent_fps > 0 && t.sent_fps < rate_fps ? t.sent_fps : rate_fps;
	if (rate_fps == 0)
		offered = t.sent_fps;
	double loss = t.sent ? 100.0 * (double)t.lost / (double)t.sent : 100.0;
	/* a rate the sender could not offer (a local qdisc's backpressure, a slow sender) is not shown to
	 * pass */
	bool short_ = rate_fps > 0 && t.sent_fps < rate_fps * (1 - NB_SEARCH_SHORT_PCT / 100.0);
	*passed = !short_ && nb_trial_passes(t.sent, t.lost, c->loss_pct);
	if (*passed && offered >= ret->rate_fps) {
		ret->found = true;
		ret->rate_fps = offered;
		ret->loss_pct = loss;
		ret->sent = t.sent;
		ret->lost = t.lost;
	} else if (!*passed && (ret->fail_fps == 0 || rate_fps < ret->fail_fps)) {
		ret->fail_fps = rate_fps > 0 ? rate_fps : offered;
		ret->fail_loss_pct = loss;
	}
	return 0;
}

/* The bracket [lo, hi] is within the resolution: a percentage of its upper end as it narrows (of the
 * first, unpaced trial's rate, it let a low answer stop 25% wide), or, when nothing passes, hi has come
 * within that percentage of the bound max_fps (the answer is 0 at the resolution the bound allows). */
static bool narrow_enough(const struct nb_search_cfg *c, double max_fps, double lo, double hi)
{
	if (c->resolution_pct <= 0)
		return hi - lo <= c->resolution_fps;
	return hi - lo <= hi * c->resolution_pct / 100.0 || hi <= max_fps * c->resolution_pct / 100.0;
}

int nb_search_rate(const struct nb_search_cfg *cfg, nb_trial_fn trial, void *arg,
		   struct nb_search_result *ret)
{
	*ret = (struct nb_search_result){0};
	if (!cfg_ok(cfg) || !trial)
		return -EINVAL;
	unsigned max_trials = cfg->max_trials ? cfg->max_trials : DEFAULT_MAX_TRIALS;
	bool passed;
	int r = run_trial(cfg, trial, arg, cfg->max_fps, ret, &passed);
	if (r < 0)
		return r;
	ret->max_fps = cfg->max_fps > 0 ? cfg->max_fps : ret->rate_fps > 0 ? ret->rate_fps : ret->fail_fps;
	if (passed || ret->max_fps <= 0)
		return 0; /* the bound itself passed (or the sender sent nothing: nothing to search under) */
	/* the resolution is the answer's: a percentage of the bracket's upper end as it narrows (of the
	 * first, unpaced trial's rate it let a low answer stop 25% wide) */
	double lo = 0, hi = ret->max_fps;
	while (!narrow_enough(cfg, ret->max_fps, lo, hi) && ret->trials < max_trials) {
		double mid = (lo + hi) / 2;
		if ((r = run_trial(cfg, trial, arg, mid, ret, &passed)) < 0)
			return r;
		if (passed)
			lo = mid;
		else
			hi = mid;
	}
	return 0;
}
