/* SPDX-License-Identifier: MIT */
/*
 * Workloads, the part both sides share (lib/workload.c): a flow's context and live counters, the stream
 * sender and receiver that the generator and the responder both run, pacing and UDP sequence numbers. The
 * side-specific loops are declared in gen.h and serve.h. Every loop is written against the engine interface
 * only and runs in the flow's own thread until its end time, its stop flag, or the end of its flow.
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

#include "nbench/cfg.h"
#include "nbench/engine.h"
#include "nbench/hist.h"

struct nb_flow_live {
	uint64_t bytes_sent, bytes_rcvd;
	uint64_t msgs_sent, msgs_rcvd;
	uint64_t txns;	     /* completed transactions, all of them */
	uint64_t lat_sum_ns; /* of all completed transactions, for interim means */
	uint64_t lost;	     /* udp rr: timed out; udp stream receiver: gaps at the end */
	uint64_t reordered;  /* udp stream receiver: datagrams older than the newest seen */
	uint64_t max_seq;    /* udp stream receiver: highest sequence number + 1 */
	int64_t t_last_ns;   /* receiver: when the last byte arrived */
	int cpu;	     /* where the thread last ran */
	unsigned ticks;
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

/* "0", "0,1": the CPUs in mask. */
void nb_cpu_mask_str(uint64_t mask, char *buf, size_t len);

static inline void nb_pub(uint64_t *dst, uint64_t v)
{
	__atomic_store_n(dst, v, __ATOMIC_RELAXED);
}
static inline uint64_t nb_peek(const uint64_t *src)
{
	return __atomic_load_n(src, __ATOMIC_RELAXED);
}

struct nb_flow_ctx {
	const struct nb_test_cfg *cfg;
	struct nb_flow *flow; /* the flow (crr: unused, each transaction opens its own) */
	unsigned index;
	struct nb_flow_live *live;
	struct nb_hist *hist; /* rr/crr: latencies of transactions sent in the measured window */
	const int *stop;      /* non-zero: stop now (read with relaxed atomics) */
	int64_t t_start_ns;   /* CLOCK_MONOTONIC start of the test */
	int64_t t_measure_ns; /* warm-up ends: record latencies from here */
	int64_t t_end_ns;     /* senders stop here (the client's end of the measured window) */
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
	uint64_t txns_measured; /* rr/crr: transactions sent and completed inside the measured window */
	int rc;			/* 0, or -errno the loop ended with */
	char err[160];
};

static inline bool nb_stopped(const struct nb_flow_ctx *c)
{
	return __atomic_load_n(c->stop, __ATOMIC_RELAXED) != 0;
}

/* Shared by both sides (lib/workload.c). */
/* Records rc and a message naming the flow and what failed; returns rc. */
int nb_flow_fail(struct nb_flow_ctx *c, int rc, const char *what);
/* A UDP flow's DATA_HELLO repeated because our DATA_ACK was lost: answers it again; true when it was one. */
bool nb_udp_hello_again(struct nb_flow_ctx *c, const void *buf, size_t len);
/* Pacing (stream --rate): a schedule that starts at t0 and makes a byte due every ns_per_byte. A sender held
 * up catches up in a burst, so the average over the run is the rate asked for, as with iperf3 -b. */
struct nb_pacer {
	double ns_per_byte; /* 0: unpaced */
	int64_t t0;
};
static inline void nb_pacer_start(struct nb_pacer *p, double rate_bps, int64_t t0)
{
	p->ns_per_byte = rate_bps > 0 ? 8e9 / rate_bps : 0;
	p->t0 = t0;
}
/* When the byte after `sent` is due. */
static inline int64_t nb_pacer_due_ns(const struct nb_pacer *p, uint64_t sent)
{
	return p->t0 + (int64_t)((double)sent * p->ns_per_byte);
}
/* How many bytes beyond `sent` are due at now (<= 0: ahead of the schedule). */
static inline double nb_pacer_owed_bytes(const struct nb_pacer *p, uint64_t sent, int64_t now)
{
	return (double)(now - p->t0) / p->ns_per_byte - (double)sent;
}

/* Stream sender, either side: TCP writes of msg_bytes, or UDP sequence-numbered datagrams in bursts, until
 * end_ns (< 0: none) or stop, paced to c->rate_bps when that is set. Does not end the flow. */
int nb_stream_send(struct nb_flow_ctx *c, int64_t end_ns);
/* UDP stream: receives and counts (loss, reordering) until stop or the end of the flow. */
int nb_udp_stream_recv(struct nb_flow_ctx *c);

/* Stream receiver, either side: counts bytes (TCP, until the end of the flow) or datagrams (UDP, until stop)
 * and when the last one came. */
int nb_stream_recv(struct nb_flow_ctx *c);

/* UDP sequence numbers: little-endian u64 at offset 0 of every datagram. */
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

/* UDP stream receiver accounting: one datagram with sequence number seq. */
static inline void nb_seq_account(struct nb_flow_live *l, uint64_t *rcvd, uint64_t *reordered,
				  uint64_t *max_seq, uint64_t seq)
{
	(void)l;
	(*rcvd)++;
	if (seq + 1 > *max_seq)
		*max_seq = seq + 1;
	else
		(*reordered)++;
}

#endif
