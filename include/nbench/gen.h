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
	/* rr, crr: the run's latency histogram (every flow's) is added to it at the end; may be NULL. */
	struct nb_hist *latency;
};

/*
 * Runs one test against the responder at cfg->host:cfg->port and fills rep (which the caller initialised
 * with nb_report_init); hooks may be NULL. Blocks for the whole test: the handshake, warm-up and duration,
 * and collecting the RESULT. Returns 0 when the test ran to the end, -errno otherwise; rep->complete and
 * rep->error say the same, and rep holds whatever was measured before a failure.
 */
int nb_run(const struct nb_test_cfg *cfg, const struct nb_run_hooks *hooks, struct nb_report *rep);

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

#endif
