/* SPDX-License-Identifier: MIT */
/*
 * The bench layer (bench/): where tests run and the commands that run many of them. A target is where the
 * user said: a path built here (or one already up), a path's server half built by the agent on another host,
 * or a responder at -H HOST with the engine started here; it is opened once and runs any number of tests.
 * Above it sit one test as `nbench rr|stream|crr` runs it (with --hops' runs without and with capture, or
 * --load's idle and loaded probes), and the drivers of compare (compare.h), sweep (sweep.h) and throughput
 * (throughput.h).
 *
 * bench builds on gen/ (the runs), topo/ (the paths) and analyze/ (the statistics). It never prints and
 * never sees argv: what a run shows as it goes comes out through callbacks, what it found as structs.
 */
#ifndef NBENCH_BENCH_H
#define NBENCH_BENCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nbench/cfg.h"
#include "nbench/hops.h"
#include "nbench/pathcap.h"
#include "nbench/workload.h"

struct nb_report;
struct nb_hist;
struct nb_topo;
struct nb_engine;
struct nb_interval;

/* --wire IF_A,IF_B, --wire-rate, --force: the wire of a path built here. */
struct nb_wire_opts {
	const char *ifs; /* "IF_A,IF_B": two ports of this host instead of a veth pair; NULL: none */
	double rate_bps; /* shape the wire (tbf) each way; 0: not */
	bool force;	 /* take ports that fail the checks */
};

/* Where tests run, as the command line says it. Exactly one of: path (without host), topo, host (without
 * path), or host with path (the agent on host builds path's server half). */
struct nb_where {
	const char *path; /* build this path kind (nb_topo_kinds()) for the tests, tear it down after */
	const char *topo; /* run across this instance, already up */
	const char *host; /* the responder at host:port, or with path the agent there */
	uint16_t port;	  /* the responder's (or the agent's) port; a path's responder listens on it too */
	const char *key_file;  /* the shared key: the responder (or agent) must prove it; NULL: none */
	const char *data_host; /* --data-host: where data may go when the responder names another address */
	/* -H with path: how long the tests on the agent's half will take at most (the agent ends the half
	 * that long and a grace period later); 0: NB_MAX_DURATION_NS, for callers that cannot tell */
	int64_t for_ns;
	struct nb_wire_opts wire;
	const char
	    *exe; /* the nbench binary a path's responder runs (`nbench serve`); NULL: this process's */
	/* Where a teardown's trouble is said, one line (the route to an agent's half that would not go); may
	 * be NULL. */
	void (*warn)(void *arg, const char *msg);
	void *warn_arg;
};

/* How one run goes. */
struct nb_run_opts {
	/* Each interim interval as it completes, from the run's thread; may be NULL. */
	void (*interval)(void *arg, const struct nb_test_cfg *cfg, const struct nb_interval *iv);
	void *arg;
	volatile sig_atomic_t *quit; /* non-zero: end the run early, still report (incomplete); may be NULL */
	struct nb_hist *latency;     /* rr, crr: the run's latency histogram is added to it; may be NULL */
	bool capture; /* --hops: capture on the path's interfaces, the decomposition in rep->hops */
	enum nb_hops_backend hops_backend; /* --hops' backend: EBPF, PCAP, or AUTO (eBPF, else libpcap) */
	/* --capture: the test's packets on the path's interfaces into pathcap->file (pcapng); NULL: none */
	const struct nb_pathcap_cfg *pathcap;
	/* -H: watch the interface the route to the responder leaves by, take the responder's own interfaces
	 * and the engine's facts into the report (a path's runs always report their interfaces). Off for runs
	 * whose report nobody reads (throughput's trials). */
	bool host_facts;
};

struct nb_target;

/* Opens where for runs of tests like cfg (its engine, host and port): builds or opens the path and starts
 * its responder, asks the agent for the server half, or starts the engine for -H. 0, or -errno with one line
 * in err: -EINVAL or -ENOENT for bad usage (a key file that cannot be read, an unknown instance), -EPERM or
 * -EACCES when paths cannot be built here at all. */
int nb_target_open(const struct nb_where *where, const struct nb_test_cfg *cfg, struct nb_target **ret,
		   char *err, size_t errlen);
/* Runs one test across t and fills rep (initialised by the caller). 0 or -errno; rep says the rest. */
int nb_target_run(struct nb_target *t, const struct nb_test_cfg *cfg, const struct nb_run_opts *o,
		  struct nb_report *rep);
/* Stops the responder, tears a path built here down, ends an agent's half; NULL is fine. */
void nb_target_close(struct nb_target *t);
/* The path t runs across on this host (for its guest, its wire), or NULL (-H, or an agent's half). */
struct nb_topo *nb_target_topo(const struct nb_target *t);
/* The engine t started for -H, or NULL (a path's runs start theirs). */
struct nb_engine *nb_target_engine(const struct nb_target *t);

/* rr, crr --hops across an open path: a run without the timestamps, then one with them; rep is the run
 * without, with the decomposition and both round trips (mean and median) in rep->hops. 0 or -errno (of the
 * run without). */
int nb_target_run_hops(struct nb_target *t, const struct nb_test_cfg *cfg, const struct nb_run_opts *o,
		       struct nb_report *rep);

/* Runs cfg against t again while a responder that runs one test at a time refuses it as busy with the last
 * one (up to 5 s): back-to-back runs (throughput's trials, --load's probes) wait for it rather than fail. */
int nb_target_run_retry(struct nb_target *t, const struct nb_test_cfg *cfg, const struct nb_run_opts *o,
			struct nb_report *rep);

/* Waits until host:port accepts TCP connections (a responder just started): 0, or -errno of the last try
 * after timeout_ns or once quit is set (may be NULL). */
int nb_target_wait_listening(const char *host, uint16_t port, int64_t timeout_ns,
			     volatile sig_atomic_t *quit);

/* ---- bench/load.c: latency under load, a probe beside a paced stream (rr --load, throughput --latency) ----
 */

#define NB_LOAD_PROBE_TPS 1000.0		/* the probe's rate when none is given, transactions/s */
#define NB_LOAD_LEAD_NS	  (300 * 1000 * 1000LL) /* both runs' warm-up: the handshakes settle before */

/* throughput --latency's probe from the command's settings: a UDP rr of 64-byte messages, one flow, open
 * loop at NB_LOAD_PROBE_TPS for 2 s after NB_LOAD_LEAD_NS. */
struct nb_test_cfg nb_load_probe_cfg(const struct nb_test_cfg *base);
/* Runs probe (an rr) beside load (a stream, or NULL: alone), both across t; fills both reports (initialised
 * here, freed by the caller). The load starts first and its measured window is the probe's. 0 or -errno of
 * the first that failed. */
int nb_load_beside(struct nb_target *t, const struct nb_test_cfg *probe, const struct nb_test_cfg *load,
		   const struct nb_run_opts *o, struct nb_report *probe_rep, struct nb_report *load_rep);
/* rr --load R: the probe (cfg, open loop at its --rate or NB_LOAD_PROBE_TPS) idle, then beside a stream of
 * load_proto paced to load_bps, both across t; rep is the loaded probe with the load and the idle figures in
 * rep->load. 0, or -errno with rep->error set (-EINVAL: t's engine runs one test at a time, so no load
 * beside a probe). */
int nb_load_run(struct nb_target *t, const struct nb_test_cfg *cfg, double load_bps, enum nb_proto load_proto,
		const struct nb_run_opts *o, struct nb_report *rep);

#endif
