/* SPDX-License-Identifier: MIT */
/*
 * --hops: where the microseconds of a round trip go, from one of two backends.
 *
 * ebpf (the default where BPF may run): tracepoint programs (bpf/hops.bpf.c) stamp each message where it
 * crosses an interface of the path and where it reaches and leaves the sockets, in CLOCK_MONOTONIC (the
 * generator's clock), and add each finished transaction's segments to per-CPU aggregates in the kernel;
 * nothing crosses to user space until the run is over. Messages are matched across hooks by what NAT does
 * not change: the marker in a UDP payload, the TCP sequence number (tied to the marker at the send), crr's
 * initial sequence number. rr and crr (crr's handshake is split from its transaction).
 *
 * pcap: libpcap captures on every interface of the path (opened inside each interface's namespace,
 * nanosecond host timestamps, a kernel filter on the test's ports and nbench's payload marker); each message
 * is found on every interface by the flow and sequence number it carries (NB_MARK_BYTES, workload.h),
 * through NAT too. Joined with the generator's own send and receive times, each transaction's round trip
 * splits into segments that add up to it exactly: client stack out, each hop out, the server, each hop
 * back, client stack in. Every tap copies each packet to user space: it costs far more than the probes.
 *
 * Both serve the generator's runs (rr, crr, compare), so they live in the generator's layer.
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

/* Where the timestamps come from. AUTO: eBPF where nb_hops_ebpf_probe allows it, else pcap. */
enum nb_hops_backend { NB_HOPS_AUTO, NB_HOPS_EBPF, NB_HOPS_PCAP };

/* "auto", "ebpf", "pcap". */
const char *nb_hops_backend_name(enum nb_hops_backend b);
/* The backend named s ("auto", "ebpf", "pcap") into *ret: 0 or -EINVAL. */
int nb_hops_parse_backend(const char *s, enum nb_hops_backend *ret);

/* The file the eBPF backend reads the kernel's BTF from: $NBENCH_BTF when set (a test points it at a
 * missing file to see the refusal), else /sys/kernel/btf/vmlinux. */
const char *nb_hops_btf_path(void);

/* Whether the eBPF backend can run here: 0, or -errno with one line saying why in why: this nbench was
 * built without it (clang, bpftool or libbpf missing), no BTF at nb_hops_btf_path(), neither CAP_BPF nor
 * CAP_SYS_ADMIN, neither CAP_PERFMON nor CAP_SYS_ADMIN, or a kernel locked down for confidentiality. */
int nb_hops_ebpf_probe(char *why, size_t len);

/* What to capture and how to name what it sees. */
struct nb_hops_opts {
	enum nb_hops_backend backend; /* EBPF or PCAP (AUTO is resolved by the caller first) */
	const struct nb_nic_ref *ifs; /* the path's interfaces, any order: the order is found from the data */
	unsigned n_ifs;
	uint16_t ports[2]; /* the server's port as dialled and as it listens (nat: they may differ) */
	unsigned flows;	   /* the test's flows */
	const char *client_netns, *server_netns;
	const char
	    *client_unseen; /* what the client stack segments span unseen ("the DPDK engine"), or NULL */
	const char *server_unseen; /* what the server segment spans unseen ("the VM guest"), or NULL */
	/* the test, for the eBPF backend: rr or crr, its protocol and message sizes */
	enum nb_test_kind kind;
	enum nb_proto proto;
	uint32_t req_bytes, resp_bytes;
	/* rr in a closed loop with one transaction in flight per flow, on kernel sockets: the generator
	 * writes a note before each send (workload.h's nb_txn_note), so the ebpf backend needs no hook on
	 * the send and receive calls */
	bool notes;
};

struct nb_hops;

/* Starts o->backend: pcap opens a capture on every interface (an interface that cannot be opened fails the
 * whole: a decomposition missing a hop would attribute it to its neighbour) and starts the capture thread;
 * ebpf loads and attaches the programs, which aggregate only what the measured window holds (hooks). 0, or
 * -errno with one line in err. */
int nb_hops_start(const struct nb_hops_opts *o, struct nb_hops **ret, char *err, size_t errlen);
/* Lets the run's flows log their transactions into h (hooks->txlogs); ebpf also learns the measured
 * window's bounds (hooks->bounds). */
void nb_hops_hooks(struct nb_hops *h, struct nb_run_hooks *hooks);
/* Stops capturing (pcap: after draining what the kernel holds; ebpf: the programs are detached first) and
 * fills out with the decomposition. 0 or -errno (-ENODATA: no transaction was seen on every interface). */
int nb_hops_finish(struct nb_hops *h, struct nb_report_hops *out);
/* Stops the thread if it runs, closes the captures or detaches and unloads the programs, frees h; NULL is
 * fine. (A process that dies holds no program: the kernel drops them with its file descriptors.) */
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

/* ---- the eBPF backend's aggregates, pure (unit-tested) ---- */

#define NB_HOPS_CHAIN_PTS  32  /* bpf/hops_abi.h NB_HB_PTS */
#define NB_HOPS_CHAIN_BINS 464 /* bpf/hops_abi.h NB_HB_BINS */

/* One chain as the kernel aggregated it: its points (bpf/hops_abi.h: phase << 5 | where) in the order
 * crossed, and per segment (point k to k+1) the transactions, their sum and their histogram (bins of
 * bpf/hops_abi.h's nb_hb_bin), summed over CPUs. */
struct nb_hops_chain {
	unsigned n_pts;
	uint8_t pt[NB_HOPS_CHAIN_PTS];
	uint64_t count[NB_HOPS_CHAIN_PTS], sum_ns[NB_HOPS_CHAIN_PTS];
	uint64_t bins[NB_HOPS_CHAIN_PTS][NB_HOPS_CHAIN_BINS];
};

/* Fills out's segments from the chains (slots with the same points are one chain, raced into two): the
 * chain most transactions took is the decomposition, named from o's interfaces; the transactions of the
 * others count as unmatched in every segment. out->decomposed is the chosen chain's transactions,
 * out->rtt_mean_ns the sum of its segments' means. 0, or -ENODATA when no chain holds a transaction. */
int nb_hops_chains_split(const struct nb_hops_opts *o, const struct nb_hops_chain *c, unsigned n,
			 struct nb_report_hops *out);

/* One finished transaction's record as the kernel kept it: its marker and the times of its first point
 * (the generator's send time it carried, or its first kernel point) and its last. */
struct nb_hops_record {
	uint32_t flow;
	uint64_t seq;
	int64_t t_first_ns, t_last_ns;
	bool from_user; /* t_first_ns is the generator's send time, read from the request */
};

/* The per-transaction sum check: each record found in the generator's logs (by flow and sequence number)
 * must start at the send time the generator logged and end at or before its logged receive; fills out's
 * records_checked, records_consistent and tail_ns (the mean time from the last kernel point to the
 * generator's receive). */
void nb_hops_check_records(const struct nb_hops_record *r, size_t n, const struct nb_txn_log *logs,
			   unsigned n_logs, struct nb_report_hops *out);

#endif
