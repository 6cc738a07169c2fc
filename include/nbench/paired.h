/* SPDX-License-Identifier: MIT */
/*
 * The statistics of rounds (analyze/paired.c): what compare, sweep and diff decide on. A round runs every
 * cell once, so the cells of one round are paired: noise that hits the whole round (a neighbour on the
 * host, a frequency change) cancels in their ratio. Here: the ratio of two cells with its interval from the
 * per-round log-ratios (Student's t while the rounds are few; from NB_PAIRED_BOOT_MIN rounds a bootstrap
 * over the rounds, which resamples the same round indices for every pair because its generator is seeded
 * with the caller's seed), the difference of two cells (a hop delta) the same way, the unpaired interval
 * and the correlation beside them (what pairing gained), the ratio of two independent samples (diff), the
 * rounds a target half-width needs (the stopping rule's projection), and robust z-scores that flag outlier
 * rounds (kept, never dropped). Pure functions over doubles; no I/O, no allocation.
 */
#ifndef NBENCH_PAIRED_H
#define NBENCH_PAIRED_H

#include <stdbool.h>
#include <stdint.h>

#define NB_PAIRED_BOOT_MIN   20	  /* rounds from which the bootstrap joins the t interval */
#define NB_PAIRED_BOOT_N     2000 /* bootstrap resamples */
#define NB_PAIRED_MAX	     256  /* values one call takes (rounds) */
#define NB_PAIRED_OUTLIER_Z  3.5  /* |robust z| above this flags a round (Iglewicz and Hoaglin) */
#define NB_PAIRED_MIN_ROUNDS 5	  /* the fewest rounds an interval is judged on (the stopping rule's) */

/* A small, seeded generator (splitmix64): the same seed gives the same sequence on every machine. */
struct nb_rng {
	uint64_t s;
};
/* The next 64 random bits. */
uint64_t nb_rng_next(struct nb_rng *r);
/* A value uniform in [0, n) (n > 0). */
unsigned nb_rng_below(struct nb_rng *r, unsigned n);
/* A standard normal value (Box-Muller). */
double nb_rng_normal(struct nb_rng *r);

/* How an interval was found. */
enum nb_paired_method {
	NB_PAIRED_NONE,	     /* fewer than two values: no interval */
	NB_PAIRED_T,	     /* Student's t on the mean */
	NB_PAIRED_BOOTSTRAP, /* the t interval widened to hold the bootstrap's percentile interval */
};
/* "none", "t" or "bootstrap". */
const char *nb_paired_method_name(enum nb_paired_method m);

/* The mean of n values with its interval at some level. */
struct nb_paired_mean {
	double mean, lo, hi; /* the interval: NAN bounds below two values */
	double sd;	     /* sample standard deviation (n - 1); 0 below two values */
	unsigned n;
	enum nb_paired_method method;
};
/* The mean of d[0..n) and its interval at level (95 or 99): t below NB_PAIRED_BOOT_MIN values, else the
 * union of the t interval and the bootstrap percentile interval over NB_PAIRED_BOOT_N resamples of the
 * indices drawn from seed (the t interval keeps a small sample's width; the bootstrap catches skew). NAN
 * bounds below two values. n is capped at NB_PAIRED_MAX. */
struct nb_paired_mean nb_paired_mean_of(const double *d, unsigned n, double level, uint64_t seed);

/* x against a reference: a ratio with its interval. */
struct nb_ratio {
	double ratio, lo, hi; /* exp of the mean log-ratio and its interval; NAN when there is none */
	double half_pct;      /* the interval's larger side in percent of the ratio: its precision */
	double unpaired_lo, unpaired_hi; /* the same ratio's interval had the values not been paired */
	double correlation;		 /* Pearson's r of the paired logs; NAN when undefined */
	double sd_log;			 /* standard deviation of the log-ratios (of the paired rounds) */
	unsigned n;			 /* pairs */
	enum nb_paired_method method;
};
/* The ratio x / ref over n paired rounds (x[i] and ref[i] from round i) at level with seed for the
 * bootstrap. 0, or -EDOM (r->ratio NAN) when a value is not positive or n < 1; n < 2 gives the ratio with
 * no interval. */
int nb_paired_ratio(const double *x, const double *ref, unsigned n, double level, uint64_t seed,
		    struct nb_ratio *ret);
/* The ratio of the means of two independent samples b over a (diff's, whose sides were not run in rounds):
 * exp(mean log b - mean log a) with Welch's interval on the logs (paired fields: unpaired_* equal lo/hi,
 * correlation NAN). 0, or -EDOM when a value is not positive or a side is empty; no interval (NAN bounds)
 * unless both sides have two values. */
int nb_paired_ratio_unpaired(const double *b, unsigned nb, const double *a, unsigned na, double level,
			     struct nb_ratio *ret);
/* Stein's guard for a ratio reported after stopping on its precision: the first stage (the pilot, n0 pairs
 * whose log-ratios spread by pilot_sd) fixed how wide an interval over r->n pairs may honestly be, t(n0 - 1)
 * pilot_sd / sqrt(n), whatever the later rounds' spread; r's bounds widen to at least that around the ratio
 * (in logs), and its half_pct with them. Without it, stopping at the first stage whose interval happens to
 * look narrow makes a 95% interval cover less than 95% of the time. Nothing when n0 < 2 or r has no interval.
 */
void nb_paired_ratio_guard(struct nb_ratio *r, double pilot_sd, unsigned n0, double level);
/* Whether r's interval holds 1: no difference at its level (false when it has no interval). */
bool nb_ratio_holds_one(const struct nb_ratio *r);

/* x - ref over paired rounds: a hop delta with its interval. */
struct nb_delta {
	double delta, lo, hi;		 /* the mean difference and its interval (NAN: none) */
	double unpaired_lo, unpaired_hi; /* Welch's interval of the difference of the means */
	double correlation;
	unsigned n;
	enum nb_paired_method method;
};
/* The difference x - ref over n paired rounds at level, seed for the bootstrap. n < 2: no interval. */
void nb_paired_delta(const double *x, const double *ref, unsigned n, double level, uint64_t seed,
		     struct nb_delta *ret);

/* The rounds an interval at level of values whose spread is sd needs for its half-width to be at most
 * target (same unit as sd), by Student's t: the least n with t(n-1) sd / sqrt(n) <= target; at least
 * min_n, at most cap (cap when unreachable or sd is not finite). */
unsigned nb_paired_rounds_needed(double sd, double target, double level, unsigned min_n, unsigned cap);
/* The log-scale half-width a ratio's interval has when its larger side is pct percent: log(1 + pct/100). */
double nb_paired_log_target(double pct);

/* Robust z-scores of v[0..n): 0.6745 (v - median) / MAD (the median absolute deviation); 0 each when the
 * MAD is 0. Returns how many have |z| > NB_PAIRED_OUTLIER_Z (each flagged in ret_flag when non-NULL). */
unsigned nb_paired_outliers(const double *v, unsigned n, double *ret_z, bool *ret_flag);

#endif
