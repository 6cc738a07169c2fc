/* SPDX-License-Identifier: MIT */
/*
 * --hops=ebpf: what the kernel programs (bpf/hops.bpf.c) and their loader (gen/hops_bpf.c) share: the
 * configuration written before load, the per-transaction record, the per-segment aggregate, the point ids
 * and the histogram's buckets. Fixed-size types only (__u32 ...): both sides compile it, one with clang
 * -target bpf, the other with the host compiler.
 *
 * A point is one place a message was seen, stamped with bpf_ktime_get_ns() (CLOCK_MONOTONIC, the
 * generator's clock): a phase (the request, the response, crr's SYN and SYN-ACK) and where in it (an
 * interface of the path transmitting or receiving it, or a socket function). A transaction's points, in
 * the order they happened, make its chain; the time between two consecutive points is a segment.
 */
#ifndef NBENCH_HOPS_ABI_H
#define NBENCH_HOPS_ABI_H

/* Phases: the request, the response; crr's connect: the SYN out and the SYN-ACK back. */
#define NB_HB_PH_REQ	0u
#define NB_HB_PH_RESP	1u
#define NB_HB_PH_SYN	2u
#define NB_HB_PH_SYNACK 3u

/* Where in a phase (a point id is phase << 5 | where): interface i transmitting (2i) or receiving (2i+1),
 * then the sockets, seen through tracepoints (tp_btf). */
#define NB_HB_MAX_IFS 12u
#define NB_HB_AT_SEND                                                                                        \
	24u		  /* a send reached TCP: rr, TCP's departure time on the message's first skb         \
			   * (tcp_write_xmit's clock), read where it leaves the socket's namespace; crr,     \
			   * tcp_sendmsg_locked. UDP has none. */
#define NB_HB_AT_ENQ  25u /* sk_data_ready: the whole message is in the receiving socket, its reader woken */
#define NB_HB_AT_RECV 26u /* sock_recv_length: the receive call that got the response returns */
#define NB_HB_AT_CONN 27u /* crr, inet_sock_set_state to SYN_SENT: connect() is sending the SYN */
#define NB_HB_AT_EST  28u /* crr, inet_sock_set_state SYN_SENT to ESTABLISHED: the SYN-ACK taken */
#define NB_HB_AT_USER                                                                                        \
	29u /* the generator's own clock: the request's send time, which it writes into the                  \
	     * request and its note; the response's receive time, from the next note */
#define NB_HB_PT(phase, at) ((__u8)((phase) << 5 | (at)))
#define NB_HB_PT_PHASE(pt)  ((unsigned)(pt) >> 5)
#define NB_HB_PT_AT(pt)	    ((unsigned)(pt)&31u)

/* Points of a chain: the generator's send time and up to NB_HB_PTS - 1 kernel points (rr over TCP: 2 x 12
 * interfaces and 5 socket points at most). */
#define NB_HB_PTS 32u
/* Distinct chains aggregated (a path gives one; a retransmission or a missed hook another). */
#define NB_HB_CHAINS 8u

/*
 * Histogram of a segment's durations, log-linear like lib/hist.c but coarser (it is per CPU and per
 * segment in the kernel): values below 2^(SUB_BITS+1) ns exactly, then 2^SUB_BITS buckets per power of two
 * up to 2^32 ns (values above land in the last bucket). A bucket's midpoint is within 3.1% of its values.
 */
#define NB_HB_SUB_BITS 4u
#define NB_HB_SUB      (1u << NB_HB_SUB_BITS)
#define NB_HB_BINS     ((32u - NB_HB_SUB_BITS + 1u) * NB_HB_SUB)

/* Interfaces of the path, by (network namespace inode, ifindex): open addressing from nb_hb_if_hash. */
#define NB_HB_IF_SLOTS 64u
#define NB_HB_IF_PROBE 4u
struct nb_hb_if {
	__u32 netns_ino; /* 0: empty slot */
	__u32 ifindex;
	__u32 idx; /* the interface's number, 0 .. NB_HB_MAX_IFS-1 */
};

/* Configuration, in .rodata: fixed before load (the verifier prunes what a run does not use). */
struct nb_hb_cfg {
	__u16 ports[4]; /* the server's ports: as dialled and as it listens (they differ through NAT) */
	__u32 n_ports;
	/* the inodes of the client's and the server's network namespaces: a socket of the test is in one of
	 * them (another test on the same ports elsewhere on the machine is not this one) */
	__u32 netns_client, netns_server;
	__u32 proto;	  /* 6 (TCP) or 17 (UDP) */
	__u32 crr;	  /* 1: connect/request/response; transactions are keyed by the client's ISN (a
			   * crr request's marker follows the hello frame, whose header gives its length) */
	__u32 tsend;	  /* 1: requests carry the generator's send time after the marker */
	__u32 req_bytes;  /* rr: a request's size (TCP: where it starts = rcv_nxt - this, at the server) */
	__u32 resp_bytes; /* a response's size (likewise at the client) */
	__u32 txn_shift;  /* rr: records per flow are 1 << txn_shift */
	__u32 notes;	  /* rr, closed loop, one transaction in flight per flow: the generator's notes (the
			   * notes map) name each request's first packet and end the transaction before it;
			   * the send and receive calls are not hooked */
	__u32 floor;	  /* every program returns at once: what the hooks cost before any work
			   * (NBENCH_HOPS_FLOOR=1,      for scripts/bench-hops) */
	struct nb_hb_if ifs[NB_HB_IF_SLOTS];
};

/* Records of transactions: rr at (flow << txn_shift | seq % per flow), crr at hash(ISN). The newest
 * transactions of the run stay there after it (the bounded per-transaction record). */
#define NB_HB_TXNS (1u << 14)
struct nb_hb_txn {
	__u64 seq;	 /* the marker's sequence number */
	__u64 t0_ns;	 /* the first kernel point (CLOCK_MONOTONIC) */
	__u64 t_user_ns; /* the generator's send time, from the request; 0: not known */
	__u32 flow;	 /* the marker's flow */
	__u32 key;	 /* crr: the client's ISN; rr: 0 */
	__u32 resp_len;	 /* rr with notes: the response's size, from the note; */
	__u32 resp_end;	 /* TCP: the sequence number after its last byte, once its first packet is seen */
	__u64 seen[2];
	__u8 n;	    /* kernel points in pt and dt_ns (at most NB_HB_PTS - 1) */
	__u8 state; /* NB_HB_ST_* */
	__u8 chain; /* NB_HB_ST_DONE: the chain slot it was added to */
	__u8 marked;
	__u8 bad; /* points were stored out of time order (two CPUs at once): left out */
	__u8 pad[3];
	__u64 hash; /* FNV-1a of the kernel points so far: the chain's identity, found without a loop */
	__u8 pt[NB_HB_PTS];
	__u32 dt_ns[NB_HB_PTS]; /* each point's time after t0_ns */
};
#define NB_HB_ST_FREE 0u
#define NB_HB_ST_OPEN 1u /* started inside the window, waiting for its last point */
#define NB_HB_ST_DONE 2u /* finished inside the window and aggregated into chain */
#define NB_HB_ST_LATE 3u /* finished after the window closed: not aggregated */

/* The programs' own tables (global arrays, shown here because the skeleton spells out their types). rr
 * over TCP: the sequence number a message starts at, tied to its marker by the send hook. */
#define NB_HB_SEQ_SLOTS 4096u
struct nb_hb_seq {
	__u32 seq, phase, flow, used;
	__u64 msg;
};
/* Per socket, by its address: the record a response waits in for the receive call (pend), crr's
 * connect() start until its SYN names the connection (conn). */
#define NB_HB_SK_SLOTS 1024u
struct nb_hb_sk {
	__u64 sk;
	__u64 t_ns;
	__u32 idx, used;
};

/* rr with notes: what the generator writes before each send (workload.h's struct nb_txn_note, the same
 * layout), one per client port. */
#define NB_HB_NOTES 65536u
struct nb_hb_note {
	__u64 seq, t_send_ns, done_seq, t_done_ns;
	__u32 flow, req_len, resp_len, valid;
};

/* Aggregates per CPU: each chain slot's count and sum per segment, side by side (a transaction's
 * segments touch a few cache lines, not one per segment), and each (chain slot, segment)'s histogram.
 * Segment k runs from point k-1 to point k. */
struct nb_hb_sums {
	__u64 count[NB_HB_PTS];
	__u64 sum_ns[NB_HB_PTS];
};
struct nb_hb_bins {
	__u32 bins[NB_HB_BINS];
};

/* Per-CPU counters (the loader sums them). */
enum {
	NB_HB_C_PKTS, /* packets seen on the path's interfaces (every hook run that got past the first check)
		       */
	NB_HB_C_SOCK, /* socket hook runs on the test's sockets */
	NB_HB_C_POINTS, /* points recorded */
	NB_HB_C_DONE,	/* transactions aggregated */
	NB_HB_C_LATE,	/* transactions that finished outside the window */
	NB_HB_C_NOSLOT, /* sightings whose record had been taken by a later transaction, or never made */
	NB_HB_C_FULL,	/* transactions with more than NB_HB_PTS points, or in a chain beyond NB_HB_CHAINS */
	NB_HB_C_SHORT,	/* UDP payloads not in the skb's linear part (the marker could not be read) */
	NB_HB_C_COUNT
};

/* The bucket of v ns. */
static inline __u32 nb_hb_bin(__u64 v)
{
	if (v >= (1ull << 32))
		v = (1ull << 32) - 1;
	if (v < 2 * NB_HB_SUB)
		return (__u32)v;
	__u32 msb = 0;
	__u64 x = v;
	if (x >> 16) {
		x >>= 16;
		msb += 16;
	}
	if (x >> 8) {
		x >>= 8;
		msb += 8;
	}
	if (x >> 4) {
		x >>= 4;
		msb += 4;
	}
	if (x >> 2) {
		x >>= 2;
		msb += 2;
	}
	if (x >> 1)
		msb += 1;
	__u32 shift = msb - NB_HB_SUB_BITS;
	return shift * NB_HB_SUB + (__u32)(v >> shift);
}

/* The lowest value of bucket b (its highest is the next one's lowest - 1). */
static inline __u64 nb_hb_bin_low(__u32 b)
{
	if (b < 2 * NB_HB_SUB)
		return b;
	__u32 shift = b / NB_HB_SUB - 1;
	return (__u64)(b - shift * NB_HB_SUB) << shift;
}

/* Where (netns inode, ifindex) starts its probe in nb_hb_cfg.ifs. */
static inline __u32 nb_hb_if_hash(__u32 netns_ino, __u32 ifindex)
{
	return ((netns_ino * 2654435761u) ^ (ifindex * 40503u)) & (NB_HB_IF_SLOTS - 1);
}

#endif
