/* SPDX-License-Identifier: MIT */
/*
 * Workloads, the part both sides share (lib/workload.c): a flow's context and live counters, the stream
 * sender and receiver that the generator and the responder both run, and the UDP sequence number every
 * datagram of a test starts with. The side-specific loops are declared in gen.h and serve.h. Every loop is
 * written against the engine interface only and runs in the flow's own thread until its end time, its stop
 * flag, or the end of its flow.
 *
 * Counters in struct nb_flow_live are written by the flow's thread alone and read by the controller
 * (interim lines, the warm-up snapshot) with relaxed atomics: no lock or shared write on the hot path.
 */
#ifndef NBENCH_WORKLOAD_H
#define NBENCH_WORKLOAD_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nbench/cfg.h"
#include "nbench/engine.h"
#include "nbench/hist.h"

struct nb_flow_live {
	uint64_t bytes_sent, bytes_rcvd; /* payload bytes, from the flow's start (warm-up included) */
	uint64_t msgs_sent, msgs_rcvd;	 /* UDP stream: datagrams */
	uint64_t txns;	     /* completed transactions, all of them (responder: requests answered) */
	uint64_t lat_sum_ns; /* of all completed transactions, for interim means */
	uint64_t lost; /* generator's udp rr: requests that timed out. A udp stream's loss is not counted
			* here: the report's is the sender's msgs_sent - the receiver's msgs_rcvd
			* (gen/client.c), and max_seq - msgs_rcvd is the receiver's own count of gaps */
	uint64_t
	    reordered; /* udp stream receiver: datagrams not newer than the newest seen (late or repeated) */
	uint64_t max_seq;  /* udp stream receiver: highest sequence number seen + 1 */
	int64_t t_last_ns; /* stream receiver: when the last datagram, or the TCP stream's end, arrived */
	int cpu;	   /* where the thread last ran; -1 (set by the caller) until sampled */
	unsigned ticks;	   /* nb_note_cpu_often's call count */
	uint64_t cpu_mask; /* every CPU (< 64) the thread was seen on: sampled, so placement is reported
			    * as it was, not as a snapshot at the end */
};

/* Samples where the calling flow thread runs. sched_getcpu is a vDSO read: cheap enough every few ops. */
static inline void nb_note_cpu(struct nb_flow_live *l)
{
	int c = sched_getcpu();
	l->cpu = c;
	if (c >= 0 && c < 64)
		l->cpu_mask |= 1ULL << c;
}

/* nb_note_cpu every 64th call. */
static inline void nb_note_cpu_often(struct nb_flow_live *l)
{
	if ((++l->ticks & 63) == 1)
		nb_note_cpu(l);
}

/* "0", "0,1": the CPUs in mask into buf; "any" when it is empty. */
void nb_cpu_mask_str(uint64_t mask, char *buf, size_t len);

/* A flow thread publishes a counter (nb_pub) that the controller reads while it runs (nb_peek). */
static inline void nb_pub(uint64_t *dst, uint64_t v)
{
	__atomic_store_n(dst, v, __ATOMIC_RELAXED);
}
static inline uint64_t nb_peek(const uint64_t *src)
{
	return __atomic_load_n(src, __ATOMIC_RELAXED);
}

/* One rr transaction as the generator saw it (CLOCK_MONOTONIC), for --hops to split it. */
struct nb_txn_rec {
	uint64_t seq;
	int64_t t_send_ns, t_recv_ns;
};
/* A flow's transactions, up to cap; those past it are counted in dropped. Written only by its flow. */
struct nb_txn_log {
	struct nb_txn_rec *rec;
	uint32_t cap, n;
	uint64_t dropped;
};

static inline void nb_txn_log_add(struct nb_txn_log *l, uint64_t seq, int64_t t_send_ns, int64_t t_recv_ns)
{
	if (l->n < l->cap)
		l->rec[l->n++] = (struct nb_txn_rec){seq, t_send_ns, t_recv_ns};
	else
		l->dropped++;
}

/*
 * What the generator tells --hops=ebpf's programs of the request it is about to send and of the response it
 * received last, written into memory the programs read (a BPF array mapped into this process, one note per
 * client port), so they need no hook on the send and receive calls: the send names the transaction the
 * request's first packet belongs to (its TCP sequence number does not say), and the receive time ends the
 * previous one. Only for closed-loop rr with one transaction in flight per flow, where a note stays true
 * until the response it announces has come. bpf/hops_abi.h's struct nb_hb_note is the same layout.
 */
struct nb_txn_note {
	uint64_t seq;	   /* the request about to be sent: its sequence number, */
	int64_t t_send_ns; /* its send time (CLOCK_MONOTONIC), */
	uint64_t done_seq; /* the transaction completed last, */
	int64_t t_done_ns; /* when its response was received (0: none yet) */
	uint32_t flow;	   /* the flow's index */
	uint32_t req_len;  /* the request's size and its response's */
	uint32_t resp_len;
	uint32_t valid; /* 1 once the flow has filled it in */
};
#define NB_TXN_NOTES 65536u /* one per client port */

struct nb_flow_ctx {
	const struct nb_test_cfg *cfg;
	struct nb_flow
	    *flow;	/* the flow, owned by the caller (crr: unused, each transaction opens its own) */
	unsigned index; /* the flow's number, in messages */
	struct nb_flow_live *live;
	struct nb_hist *hist; /* generator's rr/crr: latencies of transactions sent inside the measured window
			       * and completed before its end */
	const int *stop;      /* non-zero: stop now (read with relaxed atomics) */
	int64_t t_start_ns;   /* generator: CLOCK_MONOTONIC start of the test, where pacing and the open-loop
			       * schedule start (responder: 0, its pacing starts with its loop) */
	int64_t t_measure_ns; /* warm-up ends: record latencies from here */
	int64_t t_end_ns;     /* generator: its loops stop here (the end of the measured window) */
	double rate_tps;      /* this flow's open-loop rate; 0 = closed loop */
	double rate_bps;      /* stream: this flow's paced payload rate; 0 = unpaced */
	/* crr: where to connect and the DATA_HELLO frame each connection starts with */
	struct nb_engine *engine;
	const char *host;
	uint16_t port;
	const void *hello; /* crr: sent first on each connection; responder: a UDP flow's hello */
	size_t hello_len;
	const void *hello_ack; /* responder: the DATA_ACK sent again when a UDP hello repeats */
	size_t hello_ack_len;
	uint64_t txns_measured;	     /* rr/crr: transactions counted in hist */
	struct nb_txn_log *txlog;    /* generator's rr with --hops: each measured transaction; NULL: none */
	struct nb_txn_note *txnotes; /* generator's rr with --hops=ebpf: NB_TXN_NOTES notes, by client port;
				      * NULL: none */
	/* rr --mix, per shape: the generator's transactions counted in hist and their latencies' sum (ns);
	 * the responder's requests answered (mix_lat_ns unused). Written by the flow's thread alone, read
	 * after it ended. */
	uint64_t mix_txns[NB_MAX_MIX], mix_lat_ns[NB_MAX_MIX];
	int rc;	       /* 0, or -errno the loop ended with (set by nb_flow_fail) */
	char err[160]; /* rc's message: "flow 3: send: Connection reset by peer" */
};

/* Whether the controller told the flow to stop. */
static inline bool nb_stopped(const struct nb_flow_ctx *c)
{
	return __atomic_load_n(c->stop, __ATOMIC_RELAXED) != 0;
}

/* Records rc and a message naming the flow and what failed in c; returns rc. */
int nb_flow_fail(struct nb_flow_ctx *c, int rc, const char *what);
/* Whether buf is a UDP flow's DATA_HELLO again (our DATA_ACK was lost): then answers it again with
 * c->hello_ack, when there is one. */
bool nb_udp_hello_again(struct nb_flow_ctx *c, const void *buf, size_t len);

/* Stream sender, either side: TCP writes of msg_bytes, or UDP sequence-numbered datagrams in bursts, until
 * end_ns (< 0: none) or stop, paced to c->rate_bps when that is set (as iperf3 -b: a sender held up catches
 * up in a burst). A UDP send refused (ECONNREFUSED, ENOBUFS) is a lost datagram, not an error. Does not end
 * the flow. 0, or -errno after nb_flow_fail. */
int nb_stream_send(struct nb_flow_ctx *c, int64_t end_ns);

/* Stream receiver, either side: counts bytes (TCP, until the end of the flow) or datagrams, reordering and
 * max_seq (UDP, until stop or the end of the flow), and when the last one came. Repeated hellos are answered
 * (nb_udp_hello_again), not counted. 0, or -errno after nb_flow_fail. */
int nb_stream_recv(struct nb_flow_ctx *c);

/* UDP sequence numbers: little-endian u64 at offset 0 of every datagram (NB_UDP_HDR_BYTES). */
static inline void nb_seq_put(void *buf, uint64_t seq)
{
	unsigned char *p = buf;
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(seq >> (8 * i));
}
static inline uint64_t nb_seq_get(const void *buf)
{
	const unsigned char *p = buf;
	uint64_t s = 0;
	for (int i = 0; i < 8; i++)
		s |= (uint64_t)p[i] << (8 * i);
	return s;
}

/*
 * The marker at the start of every rr request and response of NB_MARK_BYTES or more (crr: of the request,
 * right after the hello frame): the sequence number (nb_seq_put, offset 0), the flow's index (24 bits
 * little-endian, offset 8), the request's shape (its index in --mix, offset 11; 0 without one) and "nbHq"
 * (request) or "nbHr" (response) at offset 12. A capture finds the same message on every interface it crosses
 * by it, through NAT too: addresses change, the payload does not. With --mix the responder learns each
 * request's size, and the size of its response, from the shape. A request of NB_MARK_TSEND_OFF + 8 bytes or
 * more also carries the generator's send time there (CLOCK_MONOTONIC ns, nb_seq_put's byte order; crr: the
 * time the connection began), so --hops=ebpf's programs start each transaction where the generator's clock
 * did.
 */
#define NB_MARK_BYTES	   16u
#define NB_MARK_TSEND_OFF  16u
#define NB_MARK_MAGIC	   "nbH" /* offset 12; then 'q' or 'r' */
#define NB_MARK_REQ	   'q'
#define NB_MARK_RESP	   'r'
#define NB_MARK_SHAPE_AT   11u
#define NB_MARK_FLOW_LIMIT (1u << 24) /* flow indexes the marker holds (NB_MAX_FLOWS is far below) */

/* Writes the marker's flow index, magic and shape 0 (the sequence number is written per message). */
static inline void nb_mark_put(void *buf, uint32_t flow, char dir)
{
	unsigned char *p = buf;
	for (int i = 0; i < 3; i++)
		p[8 + i] = (unsigned char)(flow >> (8 * i));
	p[NB_MARK_SHAPE_AT] = 0;
	memcpy(p + 12, NB_MARK_MAGIC, 3);
	p[15] = (unsigned char)dir;
}

/* Whether buf (len bytes) starts with a marker: its direction ('q', 'r') or 0. */
static inline char nb_mark_get(const void *buf, size_t len, uint64_t *seq, uint32_t *flow)
{
	const unsigned char *p = buf;
	if (len < NB_MARK_BYTES || memcmp(p + 12, NB_MARK_MAGIC, 3) ||
	    (p[15] != NB_MARK_REQ && p[15] != NB_MARK_RESP))
		return 0;
	*seq = nb_seq_get(p);
	*flow = (uint32_t)p[8] | (uint32_t)p[9] << 8 | (uint32_t)p[10] << 16;
	return (char)p[15];
}

/* The shape a request's marker names (buf holds at least NB_MARK_BYTES), or -1 when buf holds no request
 * marker or the shape is not below n_mix: a responder's answer to a request it cannot size. */
static inline int nb_mark_shape(const void *buf, unsigned n_mix)
{
	const unsigned char *p = buf;
	if (memcmp(p + 12, NB_MARK_MAGIC, 3) || p[15] != NB_MARK_REQ || p[NB_MARK_SHAPE_AT] >= n_mix)
		return -1;
	return p[NB_MARK_SHAPE_AT];
}

/* A flow's draw of shapes for --mix: weighted, from its own generator (xorshift64*, seeded per flow), so
 * flows draw independently and a run's sequence depends on nothing shared. */
struct nb_mix_draw {
	uint64_t state;
	uint64_t total;		   /* the sum of the weights */
	uint64_t upto[NB_MAX_MIX]; /* cumulative weights */
	unsigned n;
};
/* Prepares d for cfg's mix (n 0 without one) and flow index, seeded with seed. */
void nb_mix_draw_init(struct nb_mix_draw *d, const struct nb_test_cfg *cfg, unsigned flow, uint64_t seed);
/* The next request's shape: k with probability weight k / total; 0 without a mix. */
unsigned nb_mix_draw_next(struct nb_mix_draw *d);

#endif
