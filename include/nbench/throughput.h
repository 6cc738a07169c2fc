/* SPDX-License-Identifier: MIT */
/*
 * RFC 2544 throughput (bench/throughput.c): per Ethernet frame size, the highest offered rate of a paced UDP
 * stream whose loss stays within a bound, found by gen/'s search over trials across one target; with
 * latency probes beside the stream at steps of each rate found. A config in, a result out, a callback per
 * trial; `nbench throughput` parses the one and prints the other.
 */
#ifndef NBENCH_THROUGHPUT_H
#define NBENCH_THROUGHPUT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "nbench/bench.h"
#include "nbench/gen.h"
#include "nbench/hist.h"
#include "nbench/sysinfo.h"

#define NB_THROUGHPUT_MAX_SIZES	 32
#define NB_THROUGHPUT_LOAD_STEPS 4 /* --latency: the probe at 10, 50, 90 and 100% of each rate found */
#define NB_THROUGHPUT_MAX_FRAME	 (NB_MAX_UDP_BYTES + NB_ETH_OVERHEAD_BYTES)

/* One trial as it ended. */
struct nb_throughput_trial {
	unsigned frame_bytes;
	double rate_fps;	  /* the rate asked; 0: unpaced */
	const struct nb_trial *t; /* what was offered and lost */
	double loss_pct;
	bool passed;
};

struct nb_throughput_cfg {
	struct nb_where where;	 /* where the trials run */
	struct nb_test_cfg base; /* the stream's settings (engine, placement, flows, host, port) */
	unsigned sizes[NB_THROUGHPUT_MAX_SIZES], n_sizes; /* frame sizes, bytes */
	double loss_pct;				  /* loss a passing trial may have */
	int64_t trial_ns;				  /* each trial's duration */
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
	struct nb_search_result res;
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
	bool interrupted; /* quit was set: sizes after it were not searched */
	char error[256];  /* where could not be opened */
};

/* Searches every size of cfg across cfg->where into ret. 0 (each size's failures in its error), or -errno
 * when where could not be opened (ret->error; -EINVAL or -ENOENT: bad usage). */
int nb_throughput_run(const struct nb_throughput_cfg *cfg, struct nb_throughput_result *ret);

/* A size's rate found in L2 (frame) and L1 (frame, preamble and gap) bits/s. */
double nb_throughput_l2_bps(const struct nb_throughput_size *s);
double nb_throughput_l1_bps(const struct nb_throughput_size *s);

#endif
