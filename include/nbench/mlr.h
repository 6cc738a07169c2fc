/* SPDX-License-Identifier: MIT */
/*
 * MLRsearch (RFC 9971, Multiple Loss Ratio Search), one Search Goal: the throughput search that survives a
 * noisy host. Instead of taking every trial as the truth, as RFC 2544's binary search does, a load is
 * classified from all the trials run at it: an Upper Bound when they are certain to fail the goal whatever
 * the trials still missing from the Goal Duration Sum, a Lower Bound when certain to pass it, Undecided (and
 * measured again) in between. With a Goal Exceed Ratio of 0.5 a load's verdict behaves like the median of
 * its trials, so one trial hit by a scheduler pause does not move the result. The search runs coarser
 * phases ("targets") on shorter trials first and the goal's own at the end.
 *
 * Pure: the search is a function of what its trial executor (a callback) returns; gen/mlr.c, unit-tested
 * over a simulated device in tests/core/test_mlr.c.
 */
#ifndef NBENCH_MLR_H
#define NBENCH_MLR_H

#include <stdbool.h>
#include <stdint.h>

#include "nbench/gen.h" /* struct nb_trial */

/* The Search Goal (RFC 9971 section 4.5): the four required attributes and the two optional ones. */
struct nb_mlr_goal {
	double loss_ratio;     /* Goal Loss Ratio, [0, 1): a trial losing more is high-loss */
	double exceed_ratio;   /* Goal Exceed Ratio, [0, 1): the share of the duration sum that may be
				* high-loss at a Lower Bound (0.5: the median trial decides) */
	double final_trial_s;  /* Goal Final Trial Duration, > 0 */
	double duration_sum_s; /* Goal Duration Sum, > 0: how much trial time decides a load */
	double width; /* Goal Width, relative: the search ends when (upper - lower) <= width x upper */
	double initial_trial_s; /* Goal Initial Trial Duration: the first phase's trials (0: final / 4) */
};

struct nb_mlr_cfg {
	struct nb_mlr_goal goal;
	double max_fps;	     /* Max Load; 0: the first trial runs unpaced and what it offered is Max Load */
	double min_fps;	     /* Min Load; 0: Max Load x the goal width */
	double width_fps;    /* an absolute Goal Width in frames/s, used when it is wider (0: none) */
	unsigned preceding;  /* coarser phases before the goal's: their trials run from initial_trial_s up
			      * to final_trial_s, their widths wider (0 .. 4) */
	unsigned max_trials; /* a bound on the trials whatever else (0: 256); reached: an irregular result */
	double short_pct;    /* a trial whose sender offered more than this % below its load counts the
			      * frames it did not send as lost (RFC 9971 4.8.1: the Measurer turns a severe
			      * deviation into loss) */
};

/* One trial as the search saw it. */
struct nb_mlr_trial {
	double load_fps;   /* Trial Load (intended; the unpaced first trial's: what it offered) */
	double duration_s; /* Trial Duration, also its Effective Duration */
	uint64_t sent, received;
	double offered_fps;
	double loss_ratio; /* Trial Loss Ratio: lost / sent, or 1 - received / (load x duration) when the
			    * sender fell short of the load by more than short_pct */
	unsigned phase;	   /* the phase that chose it: 0 .. preceding (the goal's) */
	bool unpaced;
};

enum nb_mlr_class { NB_MLR_UNDECIDED, NB_MLR_LOWER, NB_MLR_UPPER };

/* Why a result is irregular (RFC 9971 4.6.4.2). */
enum nb_mlr_irregular {
	NB_MLR_REGULAR,
	NB_MLR_MAX_IS_LOWER, /* Max Load passed: no Relevant Upper Bound (lower_fps is Max Load) */
	NB_MLR_MIN_IS_UPPER, /* Min Load failed: nothing passed */
	NB_MLR_TRIAL_LIMIT,  /* max_trials ran out before the bounds were within the width */
	NB_MLR_SENT_NOTHING, /* the first trial's sender sent nothing: no Max Load */
	NB_MLR_INTERRUPTED,  /* the trial executor failed: the bounds so far */
};

struct nb_mlr_result {
	enum nb_mlr_irregular irregular; /* NB_MLR_REGULAR: both relevant bounds, within the width */
	bool has_lower, has_upper;
	double lower_fps, upper_fps; /* the Relevant Lower and Upper Bounds */
	double conditional_fps;	     /* Conditional Throughput at the Relevant Lower Bound (0: none) */
	double max_fps, min_fps;     /* Max Load and Min Load */
	double max_rx_fps;	     /* the first trial's forwarding rate at Max Load: received / duration */
	struct nb_mlr_trial *trials; /* every trial, in the order run */
	unsigned n_trials, cap_trials;
	double trials_s; /* the trial durations' sum */
};

/* Runs one trial of duration_s at load_fps frames/s (0: unpaced); fills ret's sent and lost (and sent_fps,
 * what the sender offered). 0 or -errno, which ends the search. */
typedef int (*nb_mlr_trial_fn)(void *arg, double load_fps, double duration_s, struct nb_trial *ret);

/* Checks a configuration: 0 or -EINVAL with why (a static string) in *why. */
int nb_mlr_cfg_check(const struct nb_mlr_cfg *cfg, const char **why);

/*
 * Searches for the goal's Relevant Lower Bound, calling trial until the relevant bounds are within the goal
 * width (or one of the irregular ends). 0 with ret filled (free it with nb_mlr_result_free), -EINVAL for a
 * configuration nb_mlr_cfg_check refuses, -ENOMEM, or the trial executor's error (ret holds the trials and
 * bounds before it, irregular NB_MLR_INTERRUPTED).
 */
int nb_mlr_search(const struct nb_mlr_cfg *cfg, nb_mlr_trial_fn trial, void *arg, struct nb_mlr_result *ret);

/* Frees ret's trials (ret itself is the caller's). */
void nb_mlr_result_free(struct nb_mlr_result *ret);

/* The Load Classification (RFC 9971 appendix A) of load_fps by goal g over the trials run at exactly that
 * load among t[0..n). */
enum nb_mlr_class nb_mlr_classify(const struct nb_mlr_goal *g, const struct nb_mlr_trial *t, unsigned n,
				  double load_fps);

/* The Conditional Throughput (RFC 9971 appendix B) at load_fps by goal g over t[0..n): load x (1 - the loss
 * ratio of the trial at the goal's quantile among the full-length ones); 0 when none is full-length. */
double nb_mlr_conditional_fps(const struct nb_mlr_goal *g, const struct nb_mlr_trial *t, unsigned n,
			      double load_fps);

/* "regular", "max load is a lower bound", ...: for reports. */
const char *nb_mlr_irregular_str(enum nb_mlr_irregular i);

#endif
