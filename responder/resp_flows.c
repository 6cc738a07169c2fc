/* SPDX-License-Identifier: MIT */
/* The responder's per-flow loops: sink, source and echo. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nbench/clock.h"
#include "nbench/proto.h"
#include "nbench/workload.h"

#define UDP_BURST 32
#define RECV_BUF_BYTES (256u * 1024)

static int fail(struct nb_flow_ctx *c, int rc, const char *what)
{
	c->rc = rc;
	snprintf(c->err, sizeof(c->err), "flow %u: %s: %s", c->index, what, strerror(-rc));
	return rc;
}

/* A UDP flow's DATA_HELLO again, because our DATA_ACK was lost: answer it again. True when it was one. */
static bool udp_hello_again(struct nb_flow_ctx *c, const void *buf, size_t len)
{
	if (!c->hello || len != c->hello_len || memcmp(buf, c->hello, len) != 0)
		return false;
	if (c->hello_ack)
		c->flow->ops->send(c->flow, c->hello_ack, c->hello_ack_len);
	return true;
}

int nb_resp_sink(struct nb_flow_ctx *c)
{
	struct nb_flow *f = c->flow;
	bool udp = c->cfg->proto == NB_PROTO_UDP;
	size_t len = udp ? c->cfg->msg_bytes + 64 : RECV_BUF_BYTES;
	unsigned char *buf = malloc(udp ? len * UDP_BURST : len);
	uint64_t bytes = 0, msgs = 0, reord = 0, maxseq = 0;
	int r = 0;

	if (!buf)
		return fail(c, -ENOMEM, "buffer");
	if (udp) {
		struct iovec iov[UDP_BURST];
		size_t lens[UDP_BURST];
		for (unsigned i = 0; i < UDP_BURST; i++)
			iov[i] = (struct iovec){buf + (size_t)i * len, len};
		while (!nb_stopped(c)) {
			int n = nb_flow_recv_burst(f, iov, UDP_BURST, lens, -1);
			if (n == 0 || n == -ETIMEDOUT)
				break; /* shutdown by the controller */
			if (n < 0) {
				if (n == -ECONNREFUSED)
					continue;
				r = fail(c, n, "recv");
				break;
			}
			int64_t t = nb_now_ns();
			for (int i = 0; i < n; i++) {
				if (lens[i] < NB_UDP_HDR_BYTES || udp_hello_again(c, iov[i].iov_base, lens[i]))
					continue;
				nb_seq_account(c->live, &msgs, &reord, &maxseq, nb_seq_get(iov[i].iov_base));
				bytes += lens[i];
			}
			nb_pub(&c->live->msgs_rcvd, msgs);
			nb_note_cpu_often(c->live);
			nb_pub(&c->live->bytes_rcvd, bytes);
			nb_pub(&c->live->reordered, reord);
			nb_pub(&c->live->max_seq, maxseq);
			__atomic_store_n(&c->live->t_last_ns, t, __ATOMIC_RELAXED);
		}
		goto out;
	}
	for (;;) {
		ssize_t n = f->ops->recv(f, buf, len, -1);
		if (n == 0)
			break;
		if (n < 0) {
			if (!nb_stopped(c))
				r = fail(c, (int)n, "recv");
			break;
		}
		bytes += (uint64_t)n;
		nb_pub(&c->live->bytes_rcvd, bytes);
		nb_note_cpu_often(c->live);
	}
	__atomic_store_n(&c->live->t_last_ns, nb_now_ns(), __ATOMIC_RELAXED);
	/* Our end tells the generator that every byte it sent was read. */
	f->ops->shutdown(f, SHUT_WR);
out:
	nb_note_cpu(c->live);
	free(buf);
	return r;
}

int nb_resp_source(struct nb_flow_ctx *c)
{
	struct nb_flow *f = c->flow;
	bool udp = c->cfg->proto == NB_PROTO_UDP;
	size_t len = c->cfg->msg_bytes;
	unsigned char *buf = malloc(udp ? len * UDP_BURST : len);
	uint64_t bytes = 0, seq = 0;
	int r = 0;

	if (!buf)
		return fail(c, -ENOMEM, "buffer");
	memset(buf, 0x5a, udp ? len * UDP_BURST : len);
	if (udp) {
		struct iovec iov[UDP_BURST];
		for (unsigned i = 0; i < UDP_BURST; i++)
			iov[i] = (struct iovec){buf + (size_t)i * len, len};
		while (!nb_stopped(c)) {
			for (unsigned i = 0; i < UDP_BURST; i++)
				nb_seq_put(iov[i].iov_base, seq + i);
			int n = nb_flow_send_burst(f, iov, UDP_BURST);
			if (n < 0) {
				if (n == -ECONNREFUSED || n == -ENOBUFS)
					continue;
				if (!nb_stopped(c))
					r = fail(c, n, "send");
				break;
			}
			seq += (unsigned)n;
			bytes += (uint64_t)n * len;
			nb_pub(&c->live->msgs_sent, seq);
			nb_pub(&c->live->bytes_sent, bytes);
			nb_note_cpu_often(c->live);
		}
		goto out;
	}
	while (!nb_stopped(c)) {
		ssize_t n = f->ops->send(f, buf, len);
		if (n < 0) {
			if (!nb_stopped(c))
				r = fail(c, (int)n, "send");
			break;
		}
		bytes += (uint64_t)n;
		nb_pub(&c->live->bytes_sent, bytes);
		nb_note_cpu_often(c->live);
	}
	f->ops->shutdown(f, SHUT_WR);
out:
	nb_note_cpu(c->live);
	free(buf);
	return r;
}

int nb_resp_echo(struct nb_flow_ctx *c)
{
	const struct nb_test_cfg *cfg = c->cfg;
	struct nb_flow *f = c->flow;
	bool udp = cfg->proto == NB_PROTO_UDP;
	size_t rlen = udp ? (size_t)cfg->req_bytes + 64 : RECV_BUF_BYTES;
	unsigned char *rbuf = malloc(rlen), *resp = malloc(cfg->resp_bytes);
	uint64_t have = 0, txns = 0;
	int r = 0;

	if (!rbuf || !resp) {
		r = fail(c, -ENOMEM, "buffers");
		goto out;
	}
	memset(resp, 0xa5, cfg->resp_bytes);
	for (;;) {
		ssize_t n = f->ops->recv(f, rbuf, rlen, -1);
		if (n == 0 || (n < 0 && nb_stopped(c)))
			break;
		if (n < 0) {
			if (n == -ECONNREFUSED || n == -ETIMEDOUT)
				continue;
			r = fail(c, (int)n, "recv");
			break;
		}
		if (udp) {
			if ((size_t)n < NB_UDP_HDR_BYTES)
				continue;
			if (udp_hello_again(c, rbuf, (size_t)n))
				continue;
			memcpy(resp, rbuf, NB_UDP_HDR_BYTES); /* the request's sequence number */
			ssize_t w = f->ops->send(f, resp, cfg->resp_bytes);
			if (w < 0 && w != -ECONNREFUSED && w != -ENOBUFS) {
				r = fail(c, (int)w, "send");
				break;
			}
			txns++;
		} else {
			/* Pipelined requests may arrive together or split: answer each whole one. */
			have += (uint64_t)n;
			while (have >= cfg->req_bytes) {
				have -= cfg->req_bytes;
				if ((r = nb_flow_send_all(f, resp, cfg->resp_bytes)) < 0) {
					fail(c, r, "send");
					goto out;
				}
				txns++;
			}
		}
		nb_pub(&c->live->txns, txns);
		nb_note_cpu_often(c->live);
	}
out:
	nb_note_cpu(c->live);
	free(rbuf);
	free(resp);
	return r;
}
