/* SPDX-License-Identifier: MIT */
/* What both sides' workloads share: error reporting, pacing, and the stream sender and receiver. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nbench/clock.h"
#include "nbench/workload.h"

#define UDP_BURST 32
/* A receiver blocked this long looks at its stop flag again (the controller also wakes it by a shutdown). */
#define RECV_POLL_NS (200 * NB_NS_PER_MS)

int nb_flow_fail(struct nb_flow_ctx *c, int rc, const char *what)
{
	c->rc = rc;
	snprintf(c->err, sizeof(c->err), "flow %u: %s: %s", c->index, what, strerror(-rc));
	return rc;
}

bool nb_udp_hello_again(struct nb_flow_ctx *c, const void *buf, size_t len)
{
	if (!c->hello || !c->hello_len || len != c->hello_len || memcmp(buf, c->hello, len) != 0)
		return false;
	if (c->hello_ack)
		c->flow->ops->send(c->flow, c->hello_ack, c->hello_ack_len);
	return true;
}

/* Pacing (stream --rate): a schedule that starts at t0 and makes a byte due every ns_per_byte. A sender held
 * up catches up in a burst, so the average over the run is the rate asked for, as with iperf3 -b. A flow
 * that spins (DPDK's always, sock's with --spin) waits the last PACE_SPIN_NS before each send spinning on
 * the clock instead of sleeping: a sleep of a few tens of microseconds wakes late by the timer slack (50 us)
 * and, on a busy CPU, after another task's time slice, so a polling sender would send in lumps and fall
 * short of a high rate. */
#define PACE_SPIN_NS (1 * NB_NS_PER_MS)
struct pacer {
	double ns_per_byte; /* 0: unpaced */
	int64_t t0;
	bool spin;
};

/* When the byte after `sent` is due. */
static int64_t pacer_due_ns(const struct pacer *p, uint64_t sent)
{
	return p->t0 + (int64_t)((double)sent * p->ns_per_byte);
}

/* The schedule starts when the test does (or now, if later): a rate over the measured window. */
static void pacer_start(struct pacer *p, const struct nb_flow_ctx *c)
{
	int64_t now = nb_now_ns();
	p->ns_per_byte = c->rate_bps > 0 ? 8e9 / c->rate_bps : 0;
	p->t0 = c->t_start_ns > now ? c->t_start_ns : now;
	p->spin = c->flow && c->flow->opts.wait == NB_WAIT_SPIN;
}

/* Before a send: waits until `sent` bytes are due; false when the stop or end_ns (< 0: none) came instead.
 * Unpaced it returns at once, leaving the loop's own stop and end checks as the only ones. Sleeps are at most
 * PACE_NAP_NS so a stop is seen soon. */
#define PACE_NAP_NS (50 * NB_NS_PER_MS)
static bool pace(struct nb_flow_ctx *c, const struct pacer *p, uint64_t sent, int64_t end_ns)
{
	if (p->ns_per_byte <= 0)
		return true;
	int64_t due = pacer_due_ns(p, sent);
	for (;;) {
		int64_t now = nb_now_ns(), until = due;
		if (nb_stopped(c) || (end_ns >= 0 && now >= end_ns))
			return false;
		if (now >= due)
			return true;
		if (p->spin && due - now <= PACE_SPIN_NS)
			continue;
		if (p->spin)
			until = due - PACE_SPIN_NS;
		if (until - now > PACE_NAP_NS)
			until = now + PACE_NAP_NS;
		if (end_ns >= 0 && until > end_ns)
			until = end_ns;
		struct timespec ts = nb_ns_to_ts(until);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
}

/* A UDP sender ends with an error once its sends have been refused this many times (each refusal is an ICMP
 * error the kernel reports on the connected socket; they are rate limited, about one a second per peer). */
#define UDP_REFUSED_MAX 3

static int udp_stream_send(struct nb_flow_ctx *c, int64_t end_ns)
{
	unsigned refused = 0;
	struct nb_flow *f = c->flow;
	size_t len = c->cfg->msg_bytes;
	struct iovec iov[UDP_BURST];
	uint64_t seq = 0, bytes = 0;
	struct pacer p;
	unsigned burst = UDP_BURST;
	/* one buffer per datagram of a burst, since each carries its own sequence number */
	unsigned char *buf = malloc(len * UDP_BURST);
	int r = 0;

	if (!buf)
		return nb_flow_fail(c, -ENOMEM, "buffer");
	pacer_start(&p, c);
	/* paced: bursts of at most a millisecond's worth, so the rate holds at that time scale too */
	if (p.ns_per_byte > 0) {
		double per_ms = 1e6 / (p.ns_per_byte * (double)len);
		burst = per_ms < 1 ? 1 : per_ms > UDP_BURST ? UDP_BURST : (unsigned)per_ms;
	}
	memset(buf, 0x5a, len * UDP_BURST);
	for (unsigned i = 0; i < UDP_BURST; i++)
		iov[i] = (struct iovec){buf + (size_t)i * len, len};
	/* every datagram is the same bytes but its sequence number: an engine may write the rest once */
	if (len >= NB_UDP_HDR_BYTES && (r = nb_flow_tx_template(f, len, NB_UDP_HDR_BYTES)) < 0) {
		free(buf);
		return nb_flow_fail(c, r, "tx template");
	}
	while (!nb_stopped(c) && (end_ns < 0 || nb_now_ns() < end_ns)) {
		if (!pace(c, &p, bytes, end_ns))
			break;
		for (unsigned i = 0; i < burst; i++)
			nb_seq_put(iov[i].iov_base, seq + i);
		int n = nb_flow_send_burst(f, iov, burst);
		if (n < 0) {
			/* ENOBUFS, one ECONNREFUSED: the datagrams are lost, which the receiver counts. ICMP
			 * port unreachable again and again: nobody receives, do not send on forever. */
			if (n == -ECONNREFUSED && ++refused >= UDP_REFUSED_MAX) {
				r = nb_flow_fail(
				    c, n, "send: the receiver's port is closed (ICMP port unreachable)");
				break;
			}
			if (n == -ECONNREFUSED || n == -ENOBUFS)
				continue;
			if (!nb_stopped(c))
				r = nb_flow_fail(c, n, "send");
			break;
		}
		seq += (unsigned)n;
		bytes += (uint64_t)n * len;
		nb_pub(&c->live->msgs_sent, seq);
		nb_pub(&c->live->bytes_sent, bytes);
		nb_note_cpu_often(c->live);
	}
	nb_note_cpu(c->live);
	free(buf);
	return r;
}

int nb_stream_send(struct nb_flow_ctx *c, int64_t end_ns)
{
	struct nb_flow *f = c->flow;
	size_t len = c->cfg->msg_bytes;
	uint64_t bytes = 0;
	struct pacer p;
	int r = 0;

	if (c->cfg->proto == NB_PROTO_UDP)
		return udp_stream_send(c, end_ns);
	unsigned char *buf = malloc(len);
	if (!buf)
		return nb_flow_fail(c, -ENOMEM, "buffer");
	memset(buf, 0x5a, len);
	pacer_start(&p, c);
	while (!nb_stopped(c) && (end_ns < 0 || nb_now_ns() < end_ns)) {
		if (!pace(c, &p, bytes, end_ns))
			break;
		ssize_t n = f->ops->send(f, buf, len);
		if (n < 0) {
			if (!nb_stopped(c))
				r = nb_flow_fail(c, (int)n, "send");
			break;
		}
		bytes += (uint64_t)n;
		nb_pub(&c->live->bytes_sent, bytes);
		nb_note_cpu_often(c->live);
	}
	nb_note_cpu(c->live);
	free(buf);
	return r;
}

/* UDP stream receiver accounting: one datagram with sequence number seq. Loss is not counted here: a
 * datagram still in flight would count as a gap (see struct nb_flow_live). */
static void seq_account(uint64_t *rcvd, uint64_t *reordered, uint64_t *max_seq, uint64_t seq)
{
	(*rcvd)++;
	if (seq + 1 > *max_seq)
		*max_seq = seq + 1;
	else
		(*reordered)++;
}

static int udp_stream_recv(struct nb_flow_ctx *c)
{
	struct nb_flow *f = c->flow;
	size_t len = c->cfg->msg_bytes + 64;
	unsigned char *buf = malloc(len * UDP_BURST);
	struct iovec iov[UDP_BURST];
	size_t lens[UDP_BURST];
	uint64_t bytes = 0, msgs = 0, reord = 0, maxseq = 0;
	int r = 0;

	if (!buf)
		return nb_flow_fail(c, -ENOMEM, "buffer");
	for (unsigned i = 0; i < UDP_BURST; i++)
		iov[i] = (struct iovec){buf + (size_t)i * len, len};
	/* UDP has no end: the controller stops this loop (flag and shutdown) once the sender is done. */
	while (!nb_stopped(c)) {
		int n = nb_flow_recv_burst(f, iov, UDP_BURST, lens, RECV_POLL_NS);
		if (n == -ETIMEDOUT || n == -ECONNREFUSED)
			continue;
		if (n == 0)
			break;
		if (n < 0) {
			if (!nb_stopped(c))
				r = nb_flow_fail(c, n, "recv");
			break;
		}
		int64_t t = nb_now_ns();
		uint64_t msgs_before = msgs;
		for (int i = 0; i < n; i++) {
			if (lens[i] < NB_UDP_HDR_BYTES || nb_udp_hello_again(c, iov[i].iov_base, lens[i]))
				continue;
			seq_account(&msgs, &reord, &maxseq, nb_seq_get(iov[i].iov_base));
			bytes += lens[i];
		}
		/* Only data moves the end of the window: a socket shut down at the stop answers recvmmsg with
		 * one empty message, which once stretched every UDP window by the drain time and the STOP. */
		if (msgs == msgs_before)
			continue;
		nb_pub(&c->live->msgs_rcvd, msgs);
		nb_pub(&c->live->bytes_rcvd, bytes);
		nb_pub(&c->live->reordered, reord);
		nb_pub(&c->live->max_seq, maxseq);
		__atomic_store_n(&c->live->t_last_ns, t, __ATOMIC_RELAXED);
		nb_note_cpu_often(c->live);
	}
	nb_note_cpu(c->live);
	free(buf);
	return r;
}

int nb_stream_recv(struct nb_flow_ctx *c)
{
	struct nb_flow *f = c->flow;
	size_t len = 256u * 1024;
	unsigned char *buf;
	uint64_t bytes = 0;
	int r = 0;

	if (c->cfg->proto == NB_PROTO_UDP)
		return udp_stream_recv(c);
	buf = malloc(len);
	if (!buf)
		return nb_flow_fail(c, -ENOMEM, "buffer");
	for (;;) {
		ssize_t n = f->ops->recv(f, buf, len, -1);
		if (n == 0)
			break;
		if (n < 0) {
			if (!nb_stopped(c))
				r = nb_flow_fail(c, (int)n, "recv");
			break;
		}
		bytes += (uint64_t)n;
		nb_pub(&c->live->bytes_rcvd, bytes);
		nb_note_cpu_often(c->live);
	}
	/* the end of the stream arrives right behind its last byte */
	__atomic_store_n(&c->live->t_last_ns, nb_now_ns(), __ATOMIC_RELAXED);
	nb_note_cpu(c->live);
	free(buf);
	return r;
}

void nb_cpu_mask_str(uint64_t mask, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = 0;
	for (int c = 0; c < 64 && o < len; c++)
		if (mask & (1ULL << c))
			o += (size_t)snprintf(buf + o, len - o, "%s%d", o ? "," : "", c);
	if (!buf[0])
		snprintf(buf, len, "any");
}

void nb_mix_draw_init(struct nb_mix_draw *d, const struct nb_test_cfg *cfg, unsigned flow, uint64_t seed)
{
	memset(d, 0, sizeof(*d));
	/* splitmix64 of the seed and flow: a non-zero state, different for every flow */
	uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (flow + 1);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	d->state = (z ^ (z >> 31)) | 1;
	d->n = cfg->n_mix <= NB_MAX_MIX ? cfg->n_mix : NB_MAX_MIX;
	for (unsigned k = 0; k < d->n; k++) {
		d->total += cfg->mix_weight[k];
		d->upto[k] = d->total;
	}
}

unsigned nb_mix_draw_next(struct nb_mix_draw *d)
{
	if (d->n < 2 || !d->total)
		return 0;
	d->state ^= d->state >> 12;
	d->state ^= d->state << 25;
	d->state ^= d->state >> 27;
	/* the top 32 bits scaled to [0, total): a shape is off its weight by at most total / 2^32 (< 0.2%) */
	uint64_t x = ((d->state * 0x2545f4914f6cdd1dULL) >> 32) * d->total >> 32;
	unsigned k = 0;
	while (k + 1 < d->n && x >= d->upto[k])
		k++;
	return k;
}
