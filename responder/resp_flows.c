/* SPDX-License-Identifier: MIT */
/*
 * The responder's flows, over any engine: the thread of each flow and the loop it runs (sink for a forward
 * stream, source for a reverse one, echo for rr), and crr's worker, one thread that answers every short
 * connection of a test. The flows are the engine's (struct nb_flow); what a test is and when its threads
 * start and stop is rtest.c's.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nbench/clock.h"
#include "nbench/proto.h"
#include "resp_int.h"

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

/* An rr flow's echo: its buffers, the marker's length (0: none), where the TCP request in hand stands. */
struct echo {
	struct nb_flow_ctx *c;
	unsigned char *rbuf, *resp;
	size_t rlen, mark_len;
	uint64_t have, txns;
};

/* A UDP request of n bytes (a whole header's at least) answered. 0, or -errno after nb_flow_fail (the flow
 * ends). */
static int echo_udp(struct echo *e, size_t n)
{
	struct nb_flow_ctx *c = e->c;
	/* the request's sequence number, and its whole marker when both have room for it */
	memcpy(e->resp, e->rbuf, n >= e->mark_len && e->mark_len ? e->mark_len : NB_UDP_HDR_BYTES);
	if (e->mark_len && n >= e->mark_len)
		mark_response(e->resp);
	ssize_t w = c->flow->ops->send(c->flow, e->resp, c->cfg->resp_bytes);
	if (w < 0 && w != -ECONNREFUSED && w != -ENOBUFS)
		return fail(c, (int)w, "send");
	e->txns++;
	return 0;
}

/* n more bytes of a TCP flow's requests. Pipelined requests may arrive together or split: each whole one is
 * answered, with its marker. 0; 1 when the peer ended (the flow's end); -errno after nb_flow_fail. */
static int echo_tcp(struct echo *e, size_t n)
{
	const struct nb_test_cfg *cfg = e->c->cfg;
	for (size_t pos = 0; pos < n;) {
		size_t take = n - pos;
		if (take > cfg->req_bytes - e->have)
			take = (size_t)(cfg->req_bytes - e->have);
		if (e->have < e->mark_len)
			memcpy(e->resp + e->have, e->rbuf + pos,
			       take < e->mark_len - e->have ? take : (size_t)(e->mark_len - e->have));
		e->have += take;
		pos += take;
		if (e->have < cfg->req_bytes)
			break;
		e->have = 0;
		if (e->mark_len)
			mark_response(e->resp);
		int r = nb_flow_send_all(e->c->flow, e->resp, cfg->resp_bytes);
		if (r < 0)
			return peer_ended(r) ? 1 : fail(e->c, r, "send");
		e->txns++;
	}
	return 0;
}

int nb_resp_echo(struct nb_flow_ctx *c)
{
	const struct nb_test_cfg *cfg = c->cfg;
	bool udp = cfg->proto == NB_PROTO_UDP;
	struct echo e = {.c = c, .rlen = udp ? (size_t)cfg->req_bytes + 64 : RECV_BUF_BYTES};
	int r = 0;

	e.rbuf = malloc(e.rlen);
	e.resp = malloc(cfg->resp_bytes);
	/* the request's marker goes back in its response (--hops matches them by it) */
	e.mark_len = cfg->req_bytes >= NB_MARK_BYTES && cfg->resp_bytes >= NB_MARK_BYTES ? NB_MARK_BYTES : 0;
	if (!e.rbuf || !e.resp) {
		r = fail(c, -ENOMEM, "buffers");
		goto out;
	}
	memset(e.resp, 0xa5, cfg->resp_bytes);
	for (;;) {
		ssize_t n = c->flow->ops->recv(c->flow, e.rbuf, e.rlen, -1);
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
		if (udp && ((size_t)n < NB_UDP_HDR_BYTES || nb_udp_hello_again(c, e.rbuf, (size_t)n)))
			continue;
		if ((r = udp ? echo_udp(&e, (size_t)n) : echo_tcp(&e, (size_t)n)) != 0)
			break; /* the peer's end (1) or a failure */
		nb_pub(&c->live->txns, e.txns);
		nb_note_cpu_often(c->live);
	}
	r = r > 0 ? 0 : r;
out:
	/* what was answered before a send failed (the peer gone mid-batch) counts too */
	nb_pub(&c->live->txns, e.txns);
	nb_note_cpu(c->live);
	free(e.rbuf);
	free(e.resp);
	return r;
}

/* ---- the threads ---- */

/* This thread's own CPU time, ns. */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * NB_NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* The calling thread on cpu (--cpu-resp), when one is given (>= 0). */
static void pin(int cpu)
{
	if (cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

struct nb_flow_opts nb_resp_flow_opts(const struct nb_test_cfg *cfg)
{
	struct nb_flow_opts o = {.proto = cfg->proto,
				 .wait = cfg->wait,
				 .busy_poll_us = cfg->busy_poll_us,
				 .nodelay = cfg->nodelay,
				 .cpu = cfg->cpu_resp};
	return o;
}

void *nb_resp_flow_main(void *arg)
{
	struct rflow *rf = arg;
	struct test *t = rf->t;
	pin(t->cfg.cpu_resp);
	switch (t->cfg.kind) {
	case NB_TEST_STREAM:
		if (t->cfg.reverse)
			nb_resp_source(&rf->ctx);
		else
			nb_resp_sink(&rf->ctx);
		break;
	case NB_TEST_RR:
		nb_resp_echo(&rf->ctx);
		break;
	case NB_TEST_CRR:
		break;
	}
	rf->cpu_end_ns = thread_cpu_ns();
	return NULL;
}

/* ---- crr: one worker answers all of a test's short connections ---- */

void nb_resp_crr_close(struct test *t, struct crr_conn *c)
{
	/* Out of the set before the close: an epitem outlives close() while anything else still holds the
	 * file, and would then report this freed connection again. */
	epoll_ctl(t->crr_epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd); /* closing first keeps TIME_WAIT on this side */
	pthread_mutex_lock(&t->mu);
	if (c->prev)
		c->prev->next = c->next;
	else
		t->crr_list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	t->crr_conns--;
	pthread_mutex_unlock(&t->mu);
	free(c);
}

/* Answers the test's connections until it stops. */
static void crr_serve(struct test *t)
{
	struct epoll_event ev[64];
	unsigned char *buf = malloc(t->cfg.req_bytes + 4096), *resp = malloc(t->cfg.resp_bytes);
	uint64_t txns = 0;

	pin(t->cfg.cpu_resp);
	if (!buf || !resp)
		goto out;
	memset(resp, 0xa5, t->cfg.resp_bytes);
	while (!__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
		int n = epoll_wait(t->crr_epfd, ev, 64, t->cfg.wait == NB_WAIT_SPIN ? 0 : 200);
		for (int i = 0; i < n; i++) {
			struct crr_conn *c = ev[i].data.ptr;
			if (!c)
				continue; /* the eventfd: stop */
			ssize_t k = recv(c->fd, buf, t->cfg.req_bytes + 4096, MSG_DONTWAIT);
			if (k < 0 && errno == EAGAIN)
				continue;
			if (k > 0) {
				c->have += (uint32_t)k;
				if (c->have < t->cfg.req_bytes)
					continue;
				/* the answer fits the socket buffer of a fresh connection */
				if (send(c->fd, resp, t->cfg.resp_bytes, MSG_NOSIGNAL) ==
				    (ssize_t)t->cfg.resp_bytes)
					__atomic_store_n(&t->crr_txns, ++txns, __ATOMIC_RELAXED);
				if ((txns & 63) == 1) {
					int cpu = sched_getcpu();
					if (cpu >= 0 && cpu < 64)
						__atomic_or_fetch(&t->crr_cpu_mask, 1ULL << cpu,
								  __ATOMIC_RELAXED);
				}
			}
			nb_resp_crr_close(t, c);
		}
	}
out:
	free(buf);
	free(resp);
}

void *nb_resp_crr_main(void *arg)
{
	struct test *t = arg;
	crr_serve(t);
	t->crr_cpu_end_ns = thread_cpu_ns();
	return NULL;
}

int nb_resp_crr_add(struct test *t, int fd)
{
	if (t->crr_conns >= t->crr_max)
		return -EMFILE;
	struct crr_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = fd;
	int one = 1;
	if (t->cfg.nodelay)
		setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data.ptr = c};
	/* EPOLLONESHOT is re-armed below after a partial request; simpler: level-triggered */
	ev.events = EPOLLIN;
	if (epoll_ctl(t->crr_epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(c);
		return -errno;
	}
	c->next = t->crr_list;
	if (c->next)
		c->next->prev = c;
	t->crr_list = c;
	t->crr_conns++;
	return 0;
}
