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
#include "nbench/serve.h"

#define RECV_BUF_BYTES (256u * 1024)

#define fail nb_flow_fail

int nb_resp_sink(struct nb_flow_ctx *c)
{
	int r = nb_stream_recv(c);
	/* Our end tells the generator that every byte it sent was read. */
	if (c->cfg->proto == NB_PROTO_TCP)
		c->flow->ops->shutdown(c->flow, SHUT_WR);
	return r;
}

int nb_resp_source(struct nb_flow_ctx *c)
{
	/* until STOP, or the test's end with its grace when STOP never comes */
	int r = nb_stream_send(c, c->t_end_ns > 0 ? c->t_end_ns : -1);
	if (c->cfg->proto == NB_PROTO_TCP)
		c->flow->ops->shutdown(c->flow, SHUT_WR);
	return r;
}

/* A response's marker: the request's, its direction turned, when the request carried one. */
static void mark_response(unsigned char *resp)
{
	if (!memcmp(resp + 12, NB_MARK_MAGIC, 3))
		resp[15] = NB_MARK_RESP;
}

/* A TCP peer that closed its end mid-transaction: the generator does so when its test ends with a response
 * still on the way (a 4 MB one takes milliseconds), so a send meets EPIPE, or a receive ECONNRESET once the
 * unread response made its close a reset. That is the flow's end, as a receive of 0 is; a generator that
 * closes early says so itself. */
static bool peer_ended(ssize_t r)
{
	return r == -EPIPE || r == -ECONNRESET;
}

int nb_resp_echo(struct nb_flow_ctx *c)
{
	const struct nb_test_cfg *cfg = c->cfg;
	struct nb_flow *f = c->flow;
	bool udp = cfg->proto == NB_PROTO_UDP;
	size_t rlen = udp ? (size_t)cfg->req_bytes + 64 : RECV_BUF_BYTES;
	unsigned char *rbuf = malloc(rlen), *resp = malloc(cfg->resp_bytes);
	uint64_t have = 0, txns = 0;
	/* the request's marker goes back in its response (--hops matches them by it) */
	size_t mark_len =
	    cfg->req_bytes >= NB_MARK_BYTES && cfg->resp_bytes >= NB_MARK_BYTES ? NB_MARK_BYTES : 0;
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
			if (!udp && peer_ended(n))
				break;
			r = fail(c, (int)n, "recv");
			break;
		}
		if (udp) {
			if ((size_t)n < NB_UDP_HDR_BYTES)
				continue;
			if (nb_udp_hello_again(c, rbuf, (size_t)n))
				continue;
			/* the request's sequence number, and its whole marker when both have room for it */
			memcpy(resp, rbuf, (size_t)n >= mark_len && mark_len ? mark_len : NB_UDP_HDR_BYTES);
			if (mark_len && (size_t)n >= mark_len)
				mark_response(resp);
			ssize_t w = f->ops->send(f, resp, cfg->resp_bytes);
			if (w < 0 && w != -ECONNREFUSED && w != -ENOBUFS) {
				r = fail(c, (int)w, "send");
				break;
			}
			txns++;
		} else {
			/* Pipelined requests may arrive together or split: answer each whole one, with its
			 * marker. */
			for (size_t pos = 0; pos < (size_t)n;) {
				size_t take = (size_t)n - pos;
				if (take > cfg->req_bytes - have)
					take = (size_t)(cfg->req_bytes - have);
				if (have < mark_len)
					memcpy(resp + have, rbuf + pos,
					       take < mark_len - have ? take : (size_t)(mark_len - have));
				have += take;
				pos += take;
				if (have < cfg->req_bytes)
					break;
				have = 0;
				if (mark_len)
					mark_response(resp);
				if ((r = nb_flow_send_all(f, resp, cfg->resp_bytes)) < 0) {
					if (peer_ended(r))
						r = 0;
					else
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
	/* what was answered before a send failed (the peer gone mid-batch) counts too */
	nb_pub(&c->live->txns, txns);
	nb_note_cpu(c->live);
	free(rbuf);
	free(resp);
	return r;
}
