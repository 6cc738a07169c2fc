/* SPDX-License-Identifier: MIT */
/*
 * --hops: where the microseconds of a round trip go. libpcap captures on every interface of the path
 * (opened inside each interface's namespace, nanosecond host timestamps, a kernel filter on the test's ports
 * and nbench's payload marker); each message is found on every interface by the flow and sequence number it
 * carries (NB_MARK_BYTES, workload.h), through NAT too. Joined with the generator's own send and receive
 * times, each transaction's round trip splits into segments that add up to it exactly: client stack out,
 * each hop out, the server, each hop back, client stack in.
 *
 * Capture serves the generator's runs (rr, compare), so it lives in the generator's layer.
 */
#ifndef NBENCH_HOPS_H
#define NBENCH_HOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nbench/gen.h"
#include "nbench/nic.h"
#include "nbench/report.h"

#define NB_HOPS_MAX_IFS 12
/* Messages in flight the capture keeps per flow while it waits for their other sightings (a ring: a
 * message not finished when its place is needed again falls out, counted). */
#define NB_HOPS_RING_PER_FLOW 4096u
/* Transactions kept in all (the generator's log and the capture's finished messages). */
#define NB_HOPS_MAX_TXNS (1u << 20)

/* What to capture and how to name what it sees. */
struct nb_hops_opts {
	const struct nb_nic_ref *ifs; /* the path's interfaces, any order: the order is found from the data */
	unsigned n_ifs;
	uint16_t ports[2]; /* the server's port as dialled and as it listens (nat: they may differ) */
	unsigned flows;	   /* the test's flows */
	const char *client_netns, *server_netns;
	const char
	    *client_unseen; /* what the client stack segments span unseen ("the DPDK engine"), or NULL */
	const char *server_unseen; /* what the server segment spans unseen ("the VM guest"), or NULL */
};

struct nb_hops;

/* Opens a capture on every interface (an interface that cannot be opened fails the whole: a decomposition
 * missing a hop would attribute it to its neighbour) and starts the capture thread. 0, or -errno with one
 * line in err. */
int nb_hops_start(const struct nb_hops_opts *o, struct nb_hops **ret, char *err, size_t errlen);
/* Lets the run's flows log their transactions into h (hooks->txlogs). */
void nb_hops_hooks(struct nb_hops *h, struct nb_run_hooks *hooks);
/* Stops capturing (after draining what the kernel holds) and fills out with the decomposition. 0 or
 * -errno (-ENODATA: no transaction was seen on every interface). */
int nb_hops_finish(struct nb_hops *h, struct nb_report_hops *out);
/* Stops the thread if it runs, closes the captures, frees h; NULL is fine. */
void nb_hops_free(struct nb_hops *h);

/* ---- the decomposition, pure (unit-tested) ---- */

/* One message pair as captured: sightings in CLOCK_MONOTONIC ns, 0 = not seen. */
struct nb_hops_msg {
	uint32_t flow;
	uint64_t seq;
	int64_t ts_ns[2][NB_HOPS_MAX_IFS]; /* [0] the request, [1] the response, per interface */
};

struct nb_hops_input {
	const struct nb_hops_opts *o;
	const struct nb_hops_msg *msgs; /* sorted by (flow, seq), one per pair */
	size_t n_msgs;
	const struct nb_txn_log *logs; /* per flow */
	unsigned n_logs;
};

/* Splits every logged transaction seen on all interfaces both ways into segments, the interfaces ordered
 * per direction by their median time after the send; fills out's segments, txns, decomposed and
 * rtt_mean_ns. 0, or -ENODATA when none could be split (out then holds the counts). */
int nb_hops_decompose(const struct nb_hops_input *in, struct nb_report_hops *out);

#endif
