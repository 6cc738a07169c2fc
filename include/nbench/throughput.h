/* SPDX-License-Identifier: MIT */
/*
 * Throughput (bench/throughput.c): per Ethernet frame size, the highest offered rate of a paced UDP stream
 * whose loss stays within a goal, found over trials across one target by one of gen/'s two searches:
 * MLRsearch (RFC 9971, gen/mlr.c; the default), which classifies each load by all the trials run at it and
 * so survives a transient loss, or RFC 2544's binary search (gen/search.c), which takes each trial as the
 * truth. With latency probes beside the stream at steps of each rate found. A config in, a result out, a
 * callback per trial; `nbench throughput` parses the one and prints the other.
 */
#ifndef NBENCH_THROUGHPUT_H
#define NBENCH_THROUGHPUT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "nbench/bench.h"
#include "nbench/gen.h"
#include "nbench/hist.h"
#include "nbench/mlr.h"
#include "nbench/sysinfo.h"

struct cJSON;

#define NB_THROUGHPUT_MAX_SIZES	   32
#define NB_THROUGHPUT_LOAD_STEPS   4 /* --latency: the probe at 10, 50, 90 and 100% of each rate found */
#define NB_THROUGHPUT_MAX_FRAME	   (NB_MAX_UDP_BYTES + NB_ETH_OVERHEAD_BYTES)
#define NB_THROUGHPUT_MIN_TRIAL_NS (100 * 1000 * 1000LL) /* no trial is shorter: 100 ms */
/* The trials' duration when none is given: MLRsearch's final trials 1 s (its first phase's a quarter of
 * that), the binary search's every trial 2 s. */
#define NB_THROUGHPUT_MLR_TRIAL_NS    (1000 * 1000 * 1000LL)
#define NB_THROUGHPUT_BINARY_TRIAL_NS (2 * 1000 * 1000 * 1000LL)
/* MLRsearch's defaults: exceed ratio 0.5 (the median trial decides), two coarser phases before the goal's.
 * The goal duration sum is twice the final trial duration: a high-loss trial at a load is measured again,
 * and a low-loss one there outweighs it, as in TST009's binary search with loss verification. */
#define NB_THROUGHPUT_MLR_EXCEED    0.5
#define NB_THROUGHPUT_MLR_PRECEDING 2u

enum nb_throughput_search { NB_THROUGHPUT_MLR, NB_THROUGHPUT_BINARY };

/* One trial as it ended. */
struct nb_throughput_trial {
	unsigned frame_bytes;
	double rate_fps;	  /* the rate asked; 0: unpaced */
	double duration_s;	  /* the trial's duration (MLRsearch's phases differ) */
	const struct nb_trial *t; /* what was offered and lost */
	double loss_pct;
	bool passed; /* its loss within the goal: the binary search's pass, MLRsearch's low-loss trial */
};

struct nb_throughput_cfg {
	struct nb_where where;	 /* where the trials run */
	struct nb_test_cfg base; /* the stream's settings (engine, placement, flows, host, port) */
	unsigned sizes[NB_THROUGHPUT_MAX_SIZES], n_sizes; /* frame sizes, bytes */
	enum nb_throughput_search search;
	double loss_pct;  /* loss a passing (MLRsearch: low-loss) trial may have, percent */
	int64_t trial_ns; /* binary: each trial's duration; MLRsearch: the final trials' (> 0) */
	int64_t initial_ns,
	    sum_ns;	     /* MLRsearch: its first phase's trials, the goal duration sum (0: default) */
	double exceed_ratio; /* MLRsearch: the goal exceed ratio, [0, 1) */
	double res_pct,
	    res_l1_bps;	   /* stop within this % of the upper bound, or (res_pct 0) these L1 bits/s */
	double max_l1_bps; /* the upper bound, L1 bits/s; 0: each size's first trial runs unpaced */
	bool latency;	   /* probes beside the stream at NB_THROUGHPUT_LOAD_STEPS of each rate */
	volatile sig_atomic_t *quit; /* set: stop after the trial under way (may be NULL) */
	void (*trial)(void *arg,
		      const struct nb_throughput_trial *t); /* each trial as it ends; may be NULL */
	void *arg;
};

/* The latency probe at one step of a size's rate. */
struct nb_throughput_lat {
	double load_pct, offered_fps, achieved_fps;
	bool ok;
	struct nb_hist_stats lat;
	uint64_t timeouts;
};

/* One frame size's outcome. */
struct nb_throughput_size {
	unsigned frame_bytes, payload_bytes;
	const char *unsupported; /* why the engine cannot send this size; NULL: searched */
	/* the binary search's result; MLRsearch fills found, rate_fps (the conditional throughput), max_fps,
	 * max_rx_fps, fail_fps (the relevant upper bound) and trials */
	struct nb_search_result res;
	struct nb_mlr_result mlr; /* MLRsearch's; the binary search's trials in its trials[] alone */
	double search_s;
	char error[256]; /* a trial failed: why (the search stopped there) */
	unsigned n_lat;	 /* --latency: probes run */
	struct nb_throughput_lat lat[NB_THROUGHPUT_LOAD_STEPS];
};

struct nb_throughput_result {
	struct nb_throughput_size sizes[NB_THROUGHPUT_MAX_SIZES];
	unsigned n_sizes;
	/* the run's facts, from the first trial that reached the responder */
	char timestamp[32], path[32];
	char gen_cpus[64], resp_cpus[64], gen_wait[32], resp_wait[32];
	struct nb_sysinfo client, server;
	/* the hosts and interfaces, as a single run's start has them (nb_report_hosts_json,
	 * nb_report_nics_json); NULL when no trial reached the responder */
	struct cJSON *context;
	bool interrupted; /* quit was set: sizes after it were not searched */
	char error[256];  /* where could not be opened */
};

/* Searches every size of cfg across cfg->where into ret (free it with nb_throughput_result_free, also after
 * an error). 0 (each size's failures in its error), or -errno when where could not be opened (ret->error;
 * -EINVAL or -ENOENT: bad usage). */
int nb_throughput_run(const struct nb_throughput_cfg *cfg, struct nb_throughput_result *ret);
/* Frees what ret holds (each size's trials, the context); ret itself is the caller's. */
void nb_throughput_result_free(struct nb_throughput_result *ret);

/* MLRsearch's settings for frames of l1_bits on the wire: cfg's goal (its defaults filled in), loads in
 * frames/s. */
struct nb_mlr_cfg nb_throughput_mlr_cfg(const struct nb_throughput_cfg *cfg, double l1_bits);
/* Whether cfg's search settings hold together: 0, or -EINVAL with why (a static string) in *why. */
int nb_throughput_check(const struct nb_throughput_cfg *cfg, const char **why);
/* Which relevant bound trial t of size s decided: "lower", "upper" or NULL. MLRsearch: the loads of its
 * relevant bounds; the binary search: the passing trial at the rate found and the failing one at the lowest
 * rate that failed. */
const char *nb_throughput_trial_bound(const struct nb_throughput_cfg *cfg, const struct nb_throughput_size *s,
				      const struct nb_mlr_trial *t);

/* A size's rate found in L2 (frame) and L1 (frame, preamble and gap) bits/s. */
double nb_throughput_l2_bps(const struct nb_throughput_size *s);
double nb_throughput_l1_bps(const struct nb_throughput_size *s);

#endif
