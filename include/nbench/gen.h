/* SPDX-License-Identifier: MIT */
/*
 * The generator (gen/): runs one test against a responder over the control protocol, and the per-flow loops
 * it runs in each flow's thread. Only the CLI and the tests call into it; it uses lib/ and nothing else.
 */
#ifndef NBENCH_GEN_H
#define NBENCH_GEN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nbench/cfg.h"
#include "nbench/proto.h"
#include "nbench/report.h"
#include "nbench/workload.h"

struct nb_engine;
struct nb_key;

struct nb_run_hooks {
	/* Each interim interval as it completes, from nb_run's thread; may be NULL. */
	void (*interval)(void *arg, const struct nb_test_cfg *cfg, const struct nb_interval *iv);
	void *arg;
	volatile sig_atomic_t *quit; /* non-zero (Ctrl-C): end the run early, still report (marked incomplete,
				      * "interrupted"); may be NULL */
	/* Processes that are part of the path (a guest's qemu, a vhost-user switch), with their descendants:
	 * not counted as other processes disturbing the run. This process and a same-host responder always
	 * are. */
	const pid_t *exclude;
	unsigned n_exclude;
	/* The started engine of cfg->engine for the data flows; NULL: nb_run starts (and stops) it itself. */
	struct nb_engine *engine;
	/* Where the data flows go when not where the control connection went (--data-host): a responder
	 * that names another data address (DPDK's) is followed only to this one. NULL: none. */
	const char *data_host;
	/* The shared key (auth.h): the responder must prove it before the client proves it in turn; NULL:
	 * none, and a responder that requires one refuses the run. */
	const struct nb_key *key;
	/* Called with arg when the measured window opens (MEASURE sent, end false) and closes (before STOP,
	 * end true; also after a failure, without a start when the window never opened); may be NULL. */
	void (*window)(void *arg, bool end);
	/* rr, crr: flow i logs its measured transactions into txlogs[i] (i < n_txlogs) for --hops; NULL:
	 * none. */
	struct nb_txn_log *txlogs;
	unsigned n_txlogs;
	/* rr: each flow writes what it sends and receives into txnotes[its local port] (workload.h); NULL:
	 * none. */
	struct nb_txn_note *txnotes;
	/* Told the measured window's planned bounds (CLOCK_MONOTONIC) once the test starts, before any flow
	 * runs: a transaction sent from t_measure_ns and complete by t_end_ns is a measured one. Called with
	 * bounds_arg; may be NULL. */
	void (*bounds)(void *bounds_arg, int64_t t_measure_ns, int64_t t_end_ns);
	void *bounds_arg;
	/* rr, crr: the run's latency histogram (every flow's) is added to it at the end; may be NULL. */
	struct nb_hist *latency;
	/* The responder's interfaces (its RESULT's) join the report as the server's: for a responder on
	 * another host (-H). false for a path on this host, whose interfaces the caller watches itself. */
	bool server_ifaces;
};

/*
 * Runs one test against the responder at cfg->host:cfg->port and fills rep (which the caller initialised
 * with nb_report_init); hooks may be NULL. Blocks for the whole test: the handshake, warm-up and duration,
 * and collecting the RESULT. Returns 0 when the test ran to the end, -errno otherwise; rep->complete and
 * rep->error say the same, and rep holds whatever was measured before a failure.
 */
int nb_run(const struct nb_test_cfg *cfg, const struct nb_run_hooks *hooks, struct nb_report *rep);

/* A session with an agent (`nbench serve --paths`) holding a path's server half on its host. */
struct nb_path_session {
	int fd;			    /* the control connection: the half lasts while it is open */
	char dialed[64];	    /* the numeric address it reached */
	struct nb_sysinfo server;   /* the agent's host */
	struct nb_path_grant grant; /* where the tests go, and the client's half */
};
/* Connects to the agent at host:port, proves key (required) and asks for kind's server half, for for_ns of
 * tests (the agent keeps it that long and a grace period). 0 with *ret filled, or -errno with rep->error set
 * (the agent's refusal in its words). The grant is not checked here (cli/remote.c does, against
 * ret->dialed). */
int nb_path_request(const char *host, uint16_t port, const struct nb_key *key, const char *kind,
		    int64_t for_ns, struct nb_path_session *ret, struct nb_report *rep);
/* Ends the session: the agent tears the half down. */
void nb_path_release(struct nb_path_session *s);

/* The per-flow loops, each in its flow's thread (gen/gen_flows.c). Each returns 0, or -errno with c->rc and
 * c->err set. */
/* Forward stream: sends until t_end or stop; TCP then ends its sending side and waits (10 s at most) for the
 * responder's end, which says every byte was read. */
int nb_gen_stream_send(struct nb_flow_ctx *c);
/* Reverse stream: receives until the end of the flow (TCP) or stop (UDP). */
int nb_gen_stream_recv(struct nb_flow_ctx *c);
/* Request/response until t_end or stop: closed loop (depth in flight) or open loop (rate_tps, latency from
 * each request's intended send time). UDP requests unanswered for udp_timeout_ns count in live->lost. */
int nb_gen_rr(struct nb_flow_ctx *c);
/* A new connection per transaction (hello + request, response, close) until t_end or stop. */
int nb_gen_crr(struct nb_flow_ctx *c);

/*
 * RFC 2544 throughput: the highest offered rate whose loss stays within a bound, found by binary search over
 * trials (gen/search.c). The search is a pure function of its trials: the caller's trial function runs one
 * (a paced UDP stream, or a fake in the tests) and says what was offered and lost.
 */
struct nb_trial {
	uint64_t sent, lost; /* frames offered and frames lost (sent - received) in the trial */
	double sent_fps; /* the rate the sender actually offered (below the asked one when it could not) */
};

/* Runs one trial offering rate_fps frames/s (0: unpaced, as fast as the sender goes); fills ret. 0 or
 * -errno, which ends the search. */
typedef int (*nb_trial_fn)(void *arg, double rate_fps, struct nb_trial *ret);

struct nb_search_cfg {
	double max_fps; /* the first trial's rate; 0: the first trial runs unpaced and its offered rate is
			 * the upper bound */
	double resolution_pct; /* stop when the pass/fail interval is at most this % of the upper bound ... */
	double resolution_fps; /* ... or at most this many frames/s (used when resolution_pct is 0) */
	double loss_pct;       /* a trial passes when lost <= loss_pct % of sent (0: no frame lost) */
	unsigned max_trials;   /* a bound on the trials whatever the resolution; 0: 64 */
};

struct nb_search_result {
	bool found;	      /* some trial passed */
	double rate_fps;      /* the highest rate that passed (offered, at most what the sender achieved) */
	double loss_pct;      /* the loss measured at it */
	uint64_t sent, lost;  /* that trial's frames */
	double max_fps;	      /* the upper bound searched under */
	double max_rx_fps;    /* what arrived per second in the trial at the bound: unpaced, the maximum
			       * forwarding rate (RFC 2889), loss or not, as testpmd's rxonly counts it */
	double fail_fps;      /* the lowest rate that failed; 0 when none did */
	double fail_loss_pct; /* the loss measured at it */
	unsigned trials;      /* trials run */
};

/* A paced trial whose sender offered more than this % below the rate asked fails whatever its loss: the
 * rate was not offered (kernel UDP through a local qdisc is held back rather than dropped). */
#define NB_SEARCH_SHORT_PCT 3.0

/* True when a trial that lost lost of sent frames is within loss_pct (sent 0 never passes). */
bool nb_trial_passes(uint64_t sent, uint64_t lost, double loss_pct);

/*
 * Searches for the highest rate that passes (lost within cfg->loss_pct, offered within NB_SEARCH_SHORT_PCT of
 * the rate asked): a trial at the upper bound (cfg->max_fps, or unpaced when 0),
 * then bisection between the highest passing rate (0 at first) and the lowest failing one until they are
 * within the resolution. Blocks for every trial. 0 with ret filled (ret->found false: no rate down to the
 * resolution passed), -EINVAL for settings out of range, or the trial function's error (ret holds the
 * trials before it).
 */
int nb_search_rate(const struct nb_search_cfg *cfg, nb_trial_fn trial, void *arg,
		   struct nb_search_result *ret);

/* Ethernet framing of a UDP/IPv4 datagram: header 14, FCS 4, IPv4 20, UDP 8; on the wire each frame also
 * takes a preamble+SFD (8) and the inter-frame gap (12). */
#define NB_ETH_OVERHEAD_BYTES 46u /* frame - UDP payload */
#define NB_ETH_L1_EXTRA_BYTES 20u /* wire bytes per frame beyond the frame */
#define NB_ETH_MIN_FRAME      64u

#endif
