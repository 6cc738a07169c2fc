/* SPDX-License-Identifier: MIT */
/*
 * What the responder measured of one test: the body of the RESULT message. The responder fills one and
 * lib/proto.c encodes it (nb_result_to_json); the generator decodes it (nb_result_from_json) and folds it
 * with its own flows' counters into the report. It carries only what the generator reads: the figures the
 * responder is the authority for (what reached it, what it sent, its CPU, its host's interfaces); latency,
 * transactions and timeouts are the generator's own and are not sent.
 */
#ifndef NBENCH_RESULT_H
#define NBENCH_RESULT_H

#include <stdbool.h>
#include <stdint.h>

#include "nbench/cfg.h"
#include "nbench/cpu.h"
#include "nbench/nic.h"
#include "nbench/tcpinfo.h"

/* One flow, counted by the responder over the whole run (warm-up included) unless said otherwise. */
struct nb_result_flow {
	uint64_t bytes_sent, msgs_sent; /* reverse stream: what the responder sent */
	uint64_t bytes_rcvd, msgs_rcvd; /* forward stream: what reached it (msgs: UDP datagrams) */
	uint64_t reordered;		/* UDP forward stream: datagrams older than one already received */
	uint64_t window_bytes;		/* bytes received from MEASURE (the warm-up's end) to the last one */
	int64_t window_ns;		/* that window; 0 when MEASURE never came or nothing arrived after */
	struct nb_tcpinfo tcp; /* a TCP flow's socket at STOP, its counters from MEASURE (from its start when
				* MEASURE never came); invalid: none (UDP, no kernel socket, an older peer) */
};

/* The most interfaces and counters per interface a RESULT carries: the decoder refuses more. */
#define NB_RESULT_MAX_IFACES   4
#define NB_RESULT_MAX_COUNTERS 64

/* One interface of the responder's side (nbench serve --nic, or the one the route to the client leaves by)
 * and what it counted over the measured window (MEASURE to STOP). Like HELLO_ACK's host details, they go to
 * any client that passed the handshake (the key's, when the responder has one). */
struct nb_result_iface {
	struct nb_nic_id id; /* id.netns: as the responder opened it ("" its own namespace) */
	bool counted;	     /* both ends of the window were snapshotted: counters holds the changes */
	unsigned n_counters;
	struct nb_nic_counter counters[NB_RESULT_MAX_COUNTERS]; /* deltas; only counters that changed */
	unsigned left_out; /* changed counters beyond NB_RESULT_MAX_COUNTERS, not sent */
};

struct nb_result {
	char cpus[64]; /* CPUs the test's threads were seen on: "0", "0,1", "any" when none was seen */
	char wait[32]; /* how the responder waited when not as the settings say ("spin (dpdk poll)"), or "" */
	uint64_t cpu_ns; /* the flow threads' own CPU time over the measured window (crr's worker is not
			  * counted), 0 unknown */
	bool have_cost;	 /* cost was measured (MEASURE came and the meter worked) */
	struct nb_cpu_cost cost; /* the responder machine's system-wide cost over the measured window; its
				  * gen_ns is the responder process's CPU less its test threads', its resp_ns
				  * is cpu_ns */
	char error[160];  /* why a flow of the responder's ended before the test did ("flow 0: send: ..."), or
			     "" */
	unsigned n_flows; /* the settings' flows (crr: 0, its connections are not flows) */
	struct nb_result_flow flows[NB_MAX_FLOWS];
	unsigned n_ifaces; /* the responder's interfaces, its host's side of the path */
	struct nb_result_iface ifaces[NB_RESULT_MAX_IFACES];
};

#endif
