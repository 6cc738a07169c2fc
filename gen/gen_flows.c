/* SPDX-License-Identifier: MIT */
/* The generator's per-flow loops: stream send/receive, request/response, connect/request/response. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "nbench/clock.h"
#include "nbench/gen.h"

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

struct rr_state {
	struct nb_flow_ctx *c;
	const struct nb_test_cfg *cfg;
	struct nb_flow *f;
	bool udp, open_loop;
	bool mark;    /* requests carry the marker (NB_MARK_BYTES or more) */
	bool tsend;   /* and the send time after it (NB_MARK_TSEND_OFF + 8 or more) */
	bool mix;     /* --mix: each request draws its shape, which its marker names */
	unsigned cap; /* power of two */
	int64_t *t_send;
	unsigned char *pending;
	unsigned char *shape; /* --mix: each transaction's shape, by sequence number as t_send */
	struct nb_mix_draw draw;
	uint64_t head, tail; /* next sequence to send; oldest not retired */
	unsigned inflight;
	uint64_t txns, lat_sum, lost;
	unsigned char *req, *rbuf;
	size_t req_len, rbuf_len;
	uint64_t resp_have;	   /* tcp: bytes of the current response received so far */
	int64_t period, next_send; /* open loop: ns between intended sends, the next one */
	struct nb_txn_note *note;  /* --hops=ebpf: this flow's note (workload.h), or NULL */
};

static uint64_t rr_resp_bytes(const struct rr_state *s, uint64_t seq);

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
	if (s->note) {
		s->note->done_seq = seq;
		s->note->t_done_ns = t;
	}
	if (ts >= c->t_measure_ns && t <= c->t_end_ns) {
		nb_hist_record(c->hist, lat);
		c->txns_measured++;
		if (s->mix) {
			c->mix_txns[s->shape[i]]++;
			c->mix_lat_ns[s->shape[i]] += (uint64_t)lat;
		}
		if (c->txlog)
			nb_txn_log_add(c->txlog, seq, ts, t);
	}
	while (s->tail < s->head && !s->pending[s->tail & (s->cap - 1)])
		s->tail++;
}

/* Sends the next request, its latency counted from t_intended. 0, or -errno after nb_flow_fail. */
static int rr_send(struct rr_state *s, int64_t t_intended)
{
	unsigned i = (unsigned)(s->head & (s->cap - 1));
	if (s->udp || s->mark)
		nb_seq_put(s->req, s->head);
	if (s->mix) {
		unsigned k = nb_mix_draw_next(&s->draw);
		s->shape[i] = (unsigned char)k;
		s->req[NB_MARK_SHAPE_AT] = (unsigned char)k;
		s->req_len = s->cfg->mix_req_bytes[k];
	}
	if (s->tsend && s->req_len >= NB_MARK_TSEND_OFF + 8)
		nb_seq_put(s->req + NB_MARK_TSEND_OFF, (uint64_t)t_intended);
	if (s->note) { /* read by the programs during the send call below, in this thread */
		s->note->seq = s->head;
		s->note->t_send_ns = t_intended;
		s->note->req_len = (uint32_t)s->req_len;
		s->note->resp_len = (uint32_t)rr_resp_bytes(s, s->head);
	}
	if (s->udp) {
		ssize_t n = s->f->ops->send(s->f, s->req, s->req_len);
		/* a refused or dropped datagram is a lost transaction, found by its timeout */
		if (n < 0 && n != -ECONNREFUSED && n != -ENOBUFS)
			return fail(s->c, (int)n, "send");
	} else {
		int r = nb_flow_send_all(s->f, s->req, s->req_len);
		if (r < 0)
			return fail(s->c, r, "send");
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
	int64_t to = s->cfg->udp_timeout_ns - s->cfg->udp_timeout_ns / 16;
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

/* --hops=ebpf: the note of this flow's client port, filled in as far as it is known before the first send. */
static void rr_note_init(struct rr_state *s)
{
	struct sockaddr_storage a;
	socklen_t alen = sizeof(a);
	if (!s->c->txnotes || s->f->fd < 0 || getsockname(s->f->fd, (struct sockaddr *)&a, &alen))
		return;
	uint16_t port = ntohs(a.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&a)->sin6_port
						      : ((struct sockaddr_in *)&a)->sin_port);
	s->note = &s->c->txnotes[port];
	*s->note = (struct nb_txn_note){.flow = s->c->index, .done_seq = UINT64_MAX, .valid = 1};
}

/* The ring and buffers: room for twice what may be in flight. 0 or -ENOMEM after nb_flow_fail. */
static int rr_init(struct rr_state *s, struct nb_flow_ctx *c)
{
	const struct nb_test_cfg *cfg = c->cfg;
	*s = (struct rr_state){.c = c, .cfg = cfg, .f = c->flow, .req_len = cfg->req_bytes};
	s->udp = cfg->proto == NB_PROTO_UDP;
	s->open_loop = c->rate_tps > 0;
	unsigned want = s->open_loop ? OPEN_LOOP_CAP : cfg->depth;
	s->rbuf_len = s->udp ? cfg->resp_bytes + 64 : RECV_BUF_BYTES;
	s->period = s->open_loop ? (int64_t)(1e9 / c->rate_tps) : 0;
	if (s->period < 1)
		s->period = 1;
	s->next_send = c->t_start_ns;
	s->cap = 1;
	while (s->cap < want * 2)
		s->cap <<= 1;
	s->t_send = calloc(s->cap, sizeof(*s->t_send));
	s->pending = calloc(s->cap, 1);
	s->shape = calloc(s->cap, 1);
	s->req = alloc_buf(cfg->req_bytes);
	s->rbuf = alloc_buf(s->rbuf_len);
	if (!s->t_send || !s->pending || !s->shape || !s->req || !s->rbuf)
		return fail(c, -ENOMEM, "buffers");
	s->mix = cfg->n_mix > 0;
	nb_mix_draw_init(&s->draw, cfg, c->index, cfg->mix_seed);
	/* written once: per request only the sequence number (and with --mix the shape) changes */
	s->mark = cfg->req_bytes >= NB_MARK_BYTES;
	s->tsend = cfg->req_bytes >= NB_MARK_TSEND_OFF + 8;
	if (s->mark)
		nb_mark_put(s->req, c->index, NB_MARK_REQ);
	rr_note_init(s);
	return 0;
}

static void rr_free(struct rr_state *s)
{
	free(s->t_send);
	free(s->pending);
	free(s->shape);
	free(s->req);
	free(s->rbuf);
}

/* Open loop: sends every request the schedule has made due by now (the ring and cap permitting). */
static int rr_send_due(struct rr_state *s, int64_t now)
{
	int r;
	while (s->next_send <= now && s->head - s->tail < s->cap && s->inflight < OPEN_LOOP_CAP) {
		if ((r = rr_send(s, s->next_send)) < 0)
			return r;
		s->next_send += s->period;
	}
	return 0;
}

/* Closed loop: sends until depth requests are in flight. Each request's clock starts as it is sent,
 * after the bookkeeping of the response that freed its place, as sockperf and netperf time it. */
static int rr_refill(struct rr_state *s)
{
	int r;
	while (s->inflight < s->cfg->depth && s->head - s->tail < s->cap)
		if ((r = rr_send(s, nb_now_ns())) < 0)
			return r;
	return 0;
}

/*
 * How long to wait for a response. Closed loop over TCP: a plain blocking receive, woken by a shutdown at
 * the end; over UDP: the loss timeout. Open loop: until the next thing due (a send, the oldest request's
 * loss timeout, the end).
 */
static int64_t rr_wait_ns(const struct rr_state *s, int64_t now)
{
	if (!s->open_loop)
		return s->udp ? s->cfg->udp_timeout_ns : -1;
	int64_t due = s->c->t_end_ns;
	if (s->next_send < due && s->head - s->tail < s->cap)
		due = s->next_send;
	if (s->udp && s->inflight) {
		int64_t exp = s->t_send[s->tail & (s->cap - 1)] + s->cfg->udp_timeout_ns;
		if (exp < due)
			due = exp;
	}
	return due > now ? due - now : 0;
}

/* No UDP response in time: the overdue requests are lost; the closed loop sends one for each. */
static int rr_on_timeout(struct rr_state *s, int64_t now)
{
	uint64_t before = s->lost;
	int r;
	rr_expire(s, now);
	if (!s->open_loop)
		for (uint64_t k = before; k < s->lost; k++)
			if ((r = rr_send(s, now)) < 0)
				return r;
	nb_pub(&s->c->live->lost, s->lost);
	return 0;
}

/* The response size transaction seq expects: its shape's with --mix. */
static uint64_t rr_resp_bytes(const struct rr_state *s, uint64_t seq)
{
	return s->mix ? s->cfg->mix_resp_bytes[s->shape[seq & (s->cap - 1)]] : s->cfg->resp_bytes;
}

/* n bytes of responses arrived at now: UDP, one datagram naming its request; TCP, in order. */
static void rr_on_response(struct rr_state *s, size_t n, int64_t now)
{
	if (s->udp) {
		uint64_t seq = n >= NB_UDP_HDR_BYTES ? nb_seq_get(s->rbuf) : UINT64_MAX;
		if (seq >= s->tail && seq < s->head && s->pending[seq & (s->cap - 1)])
			rr_complete(s, seq, now);
		rr_expire(s, now);
	} else {
		s->resp_have += n;
		while (s->inflight && s->resp_have >= rr_resp_bytes(s, s->tail)) {
			s->resp_have -= rr_resp_bytes(s, s->tail);
			rr_complete(s, s->tail, now);
		}
	}
	struct nb_flow_live *live = s->c->live;
	nb_pub(&live->txns, s->txns);
	nb_note_cpu_often(live);
	nb_pub(&live->lat_sum_ns, s->lat_sum);
	nb_pub(&live->lost, s->lost);
}

/* A receive that ended the flow: an error unless the test was over. */
static int rr_recv_ended(struct rr_state *s, ssize_t n, int64_t now)
{
	struct nb_flow_ctx *c = s->c;
	if (nb_stopped(c))
		return 0;
	if (n == 0)
		return now < c->t_end_ns ? fail(c, -ECONNRESET, "the responder closed the flow") : 0;
	return fail(c, (int)n, "recv");
}

/*
 * Request/response. In flight transactions are a ring indexed by sequence number: send time (the intended
 * one in open loop, so a stalled responder shows in the latencies rather than hiding as coordinated
 * omission) and whether it is still pending. TCP answers in order, so a response completes the oldest; UDP
 * responses carry the request's sequence number and may be lost, which the timeout detects. The clock is
 * read once per receive and once per closed-loop send.
 */
int nb_gen_rr(struct nb_flow_ctx *c)
{
	struct rr_state s;
	int64_t now = nb_now_ns();
	int r = rr_init(&s, c);

	for (unsigned k = 0; r == 0 && !s.open_loop && k < c->cfg->depth; k++)
		r = rr_send(&s, now);
	while (r == 0 && !nb_stopped(c) && now < c->t_end_ns) {
		if (s.open_loop && (r = rr_send_due(&s, now)) < 0)
			break;
		ssize_t n = s.f->ops->recv(s.f, s.rbuf, s.rbuf_len, rr_wait_ns(&s, now));
		now = nb_now_ns();
		if (n == -ETIMEDOUT || n == -ECONNREFUSED) {
			r = s.udp ? rr_on_timeout(&s, now) : 0;
			continue;
		}
		if (n <= 0) {
			rr_recv_ended(&s, n, now);
			break;
		}
		rr_on_response(&s, (size_t)n, now);
		if (!s.open_loop && now < c->t_end_ns)
			r = rr_refill(&s);
	}
	nb_note_cpu(c->live);
	rr_free(&s);
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
	/* the request's marker (after the hello) names the transaction for --hops: the flow, then per
	 * connection its number and when it began */
	unsigned char *req = out + c->hello_len;
	if (cfg->req_bytes >= NB_MARK_BYTES)
		nb_mark_put(req, c->index, NB_MARK_REQ);
	int64_t t0 = nb_now_ns();
	while (!nb_stopped(c) && t0 < c->t_end_ns) {
		struct nb_flow *f;
		if (cfg->req_bytes >= NB_MARK_BYTES)
			nb_seq_put(req, txns);
		if (cfg->req_bytes >= NB_MARK_TSEND_OFF + 8)
			nb_seq_put(req + NB_MARK_TSEND_OFF, (uint64_t)t0);
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
			if (c->txlog)
				nb_txn_log_add(c->txlog, txns - 1, t0, t1);
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
