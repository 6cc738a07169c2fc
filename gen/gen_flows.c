/* SPDX-License-Identifier: MIT */
/* The generator's per-flow loops: stream send/receive, request/response, connect/request/response. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nbench/clock.h"
#include "nbench/workload.h"

/* Open loop: at most this many transactions in flight per flow; beyond it sends wait, and their latency
 * still counts from the intended send time. */
#define OPEN_LOOP_CAP  4096
#define RECV_BUF_BYTES (256u * 1024)

#define fail nb_flow_fail

static void *alloc_buf(size_t len)
{
	void *b = malloc(len ? len : 1);
	if (b)
		memset(b, 0x5a, len);
	return b;
}

int nb_gen_stream_send(struct nb_flow_ctx *c)
{
	struct nb_flow *f = c->flow;
	int r = nb_stream_send(c, c->t_end_ns);

	if (r < 0 || c->cfg->proto == NB_PROTO_UDP)
		return r;
	/* End of data; the responder answers with its own end once it has read everything, so a clean end
	 * here means every byte arrived. */
	f->ops->shutdown(f, SHUT_WR);
	unsigned char buf[4096];
	for (;;) {
		ssize_t n = f->ops->recv(f, buf, sizeof(buf), 10 * NB_NS_PER_S);
		if (n == 0)
			break;
		if (n < 0) {
			r = fail(c, (int)n, "waiting for the responder to finish reading");
			break;
		}
	}
	return r;
}

int nb_gen_stream_recv(struct nb_flow_ctx *c)
{
	return nb_stream_recv(c);
}

/*
 * Request/response. In flight transactions are a ring indexed by sequence number: send time (the intended
 * one in open loop, so a stalled responder shows in the latencies rather than hiding as coordinated
 * omission) and whether it is still pending. TCP answers in order, so a response completes the oldest; UDP
 * responses carry the request's sequence number and may be lost, which the timeout detects.
 */
struct rr_state {
	struct nb_flow_ctx *c;
	unsigned cap; /* power of two */
	int64_t *t_send;
	unsigned char *pending;
	uint64_t head, tail; /* next sequence to send; oldest not retired */
	unsigned inflight;
	uint64_t txns, lat_sum, lost;
	unsigned char *req;
	size_t req_len;
};

static void rr_complete(struct rr_state *s, uint64_t seq, int64_t t)
{
	struct nb_flow_ctx *c = s->c;
	unsigned i = (unsigned)(seq & (s->cap - 1));
	int64_t ts = s->t_send[i];
	int64_t lat = t - ts;
	s->pending[i] = 0;
	s->inflight--;
	s->txns++;
	s->lat_sum += (uint64_t)lat;
	if (ts >= c->t_measure_ns && t <= c->t_end_ns) {
		nb_hist_record(c->hist, lat);
		c->txns_measured++;
	}
	while (s->tail < s->head && !s->pending[s->tail & (s->cap - 1)])
		s->tail++;
}

static int rr_send(struct rr_state *s, int64_t t_intended)
{
	struct nb_flow *f = s->c->flow;
	unsigned i = (unsigned)(s->head & (s->cap - 1));
	if (s->c->cfg->proto == NB_PROTO_UDP) {
		nb_seq_put(s->req, s->head);
		ssize_t n = f->ops->send(f, s->req, s->req_len);
		/* a refused or dropped datagram is a lost transaction, found by its timeout */
		if (n < 0 && n != -ECONNREFUSED && n != -ENOBUFS)
			return (int)n;
	} else {
		int r = nb_flow_send_all(f, s->req, s->req_len);
		if (r < 0)
			return r;
	}
	s->t_send[i] = t_intended;
	s->pending[i] = 1;
	s->head++;
	s->inflight++;
	return 0;
}

/* Retires UDP transactions older than the timeout. */
static void rr_expire(struct rr_state *s, int64_t now)
{
	/* SO_RCVTIMEO may wake a tick early: a request this close to its timeout is counted lost now rather
	 * than after another full timeout. */
	int64_t to = s->c->cfg->udp_timeout_ns - s->c->cfg->udp_timeout_ns / 16;
	while (s->tail < s->head) {
		unsigned i = (unsigned)(s->tail & (s->cap - 1));
		if (s->pending[i]) {
			if (now - s->t_send[i] < to)
				break;
			s->pending[i] = 0;
			s->inflight--;
			s->lost++;
		}
		s->tail++;
	}
}

int nb_gen_rr(struct nb_flow_ctx *c)
{
	const struct nb_test_cfg *cfg = c->cfg;
	struct nb_flow *f = c->flow;
	bool udp = cfg->proto == NB_PROTO_UDP;
	bool open_loop = c->rate_tps > 0;
	unsigned want = open_loop ? OPEN_LOOP_CAP : cfg->depth;
	struct rr_state s = {.c = c, .req_len = cfg->req_bytes};
	size_t rbuf_len = udp ? cfg->resp_bytes + 64 : RECV_BUF_BYTES;
	unsigned char *rbuf;
	uint64_t resp_have = 0; /* tcp: bytes of the current response received so far */
	int64_t period = open_loop ? (int64_t)(1e9 / c->rate_tps) : 0, next_send = c->t_start_ns;
	int r = 0;

	s.cap = 1;
	while (s.cap < want * 2)
		s.cap <<= 1;
	s.t_send = calloc(s.cap, sizeof(*s.t_send));
	s.pending = calloc(s.cap, 1);
	s.req = alloc_buf(cfg->req_bytes);
	rbuf = alloc_buf(rbuf_len);
	if (!s.t_send || !s.pending || !s.req || !rbuf) {
		r = fail(c, -ENOMEM, "buffers");
		goto out;
	}
	if (period < 1)
		period = 1;

	int64_t now = nb_now_ns();
	if (!open_loop)
		for (unsigned k = 0; k < cfg->depth; k++)
			if ((r = rr_send(&s, now)) < 0) {
				fail(c, r, "send");
				goto out;
			}
	for (;;) {
		if (nb_stopped(c) || now >= c->t_end_ns)
			break;
		if (open_loop) {
			while (next_send <= now && s.head - s.tail < s.cap && s.inflight < OPEN_LOOP_CAP) {
				if ((r = rr_send(&s, next_send)) < 0) {
					fail(c, r, "send");
					goto out;
				}
				next_send += period;
			}
		}
		/* wait for a response until the next thing due: a send, a loss timeout, the end */
		int64_t due = c->t_end_ns;
		if (open_loop && next_send < due && s.head - s.tail < s.cap)
			due = next_send;
		if (udp && s.inflight) {
			int64_t exp = s.t_send[s.tail & (s.cap - 1)] + cfg->udp_timeout_ns;
			if (exp < due)
				due = exp;
		}
		int64_t timeout = due - now;
		if (!s.inflight)
			timeout = open_loop ? timeout : 0;
		if (timeout < 0)
			timeout = 0;
		/* Closed loop over a blocking flow: a plain blocking receive, woken by a shutdown at the end.
		 */
		if (!open_loop && !udp)
			timeout = -1;
		else if (!open_loop && udp)
			timeout = cfg->udp_timeout_ns;
		ssize_t n = f->ops->recv(f, rbuf, rbuf_len, timeout);
		now = nb_now_ns();
		if (n == -ETIMEDOUT || n == -ECONNREFUSED) {
			if (udp) {
				uint64_t before = s.lost;
				rr_expire(&s, now);
				if (!open_loop)
					for (uint64_t k = before; k < s.lost; k++)
						if ((r = rr_send(&s, now)) < 0) {
							fail(c, r, "send");
							goto out;
						}
				nb_pub(&c->live->lost, s.lost);
			}
			continue;
		}
		if (n == 0) {
			if (!nb_stopped(c) && now < c->t_end_ns)
				r = fail(c, -ECONNRESET, "the responder closed the flow");
			break;
		}
		if (n < 0) {
			if (!nb_stopped(c))
				r = fail(c, (int)n, "recv");
			break;
		}
		unsigned done = 0;
		if (udp) {
			uint64_t seq = (size_t)n >= NB_UDP_HDR_BYTES ? nb_seq_get(rbuf) : UINT64_MAX;
			if (seq >= s.tail && seq < s.head && s.pending[seq & (s.cap - 1)]) {
				rr_complete(&s, seq, now);
				done = 1;
			}
			rr_expire(&s, now);
		} else {
			resp_have += (uint64_t)n;
			while (resp_have >= cfg->resp_bytes && s.inflight) {
				resp_have -= cfg->resp_bytes;
				rr_complete(&s, s.tail, now);
				done++;
			}
		}
		nb_pub(&c->live->txns, s.txns);
		nb_note_cpu_often(c->live);
		nb_pub(&c->live->lat_sum_ns, s.lat_sum);
		nb_pub(&c->live->lost, s.lost);
		if (!open_loop && now < c->t_end_ns) {
			/* closed loop: refill to depth (a UDP loss also refilled above). Each request's clock
			 * starts as it is sent, after the bookkeeping above, as sockperf and netperf time it.
			 */
			while (s.inflight < cfg->depth && s.head - s.tail < s.cap)
				if ((r = rr_send(&s, nb_now_ns())) < 0) {
					fail(c, r, "send");
					goto out;
				}
		}
		(void)done;
	}
	r = 0;
out:
	nb_note_cpu(c->live);
	if (!c->rc)
		c->rc = r;
	free(s.t_send);
	free(s.pending);
	free(s.req);
	free(rbuf);
	return c->rc;
}

int nb_gen_crr(struct nb_flow_ctx *c)
{
	const struct nb_test_cfg *cfg = c->cfg;
	size_t out_len = c->hello_len + cfg->req_bytes;
	unsigned char *out = alloc_buf(out_len), *rbuf = alloc_buf(cfg->resp_bytes);
	struct nb_flow_opts o = {.proto = NB_PROTO_TCP,
				 .wait = cfg->wait,
				 .nodelay = cfg->nodelay,
				 .busy_poll_us = cfg->busy_poll_us,
				 .cpu = cfg->cpu_gen};
	uint64_t txns = 0, lat_sum = 0;
	int r = 0;

	if (!out || !rbuf) {
		r = fail(c, -ENOMEM, "buffers");
		goto out;
	}
	memcpy(out, c->hello, c->hello_len);
	int64_t t0 = nb_now_ns();
	while (!nb_stopped(c) && t0 < c->t_end_ns) {
		struct nb_flow *f;
		r = nb_engine_open(c->engine, c->host, c->port, &o, &f);
		if (r < 0) {
			fail(c, r, "connect");
			break;
		}
		/* The responder answers and closes first, so TIME_WAIT sits on its side and this side's ports
		 * are not used up at thousands of connections per second. */
		r = nb_flow_send_all(f, out, out_len);
		ssize_t n = r < 0 ? r : nb_flow_recv_all(f, rbuf, cfg->resp_bytes, t0 + 10 * NB_NS_PER_S);
		f->ops->close(f);
		if (n <= 0) {
			if (!nb_stopped(c))
				fail(c, n == 0 ? -ECONNRESET : (int)n, "transaction");
			r = c->rc;
			break;
		}
		int64_t t1 = nb_now_ns();
		int64_t lat = t1 - t0;
		txns++;
		lat_sum += (uint64_t)lat;
		if (t0 >= c->t_measure_ns && t1 <= c->t_end_ns) {
			nb_hist_record(c->hist, lat);
			c->txns_measured++;
		}
		nb_pub(&c->live->txns, txns);
		nb_note_cpu_often(c->live);
		nb_pub(&c->live->lat_sum_ns, lat_sum);
		t0 = t1;
	}
out:
	nb_note_cpu(c->live);
	free(out);
	free(rbuf);
	return r < 0 ? r : 0;
}
