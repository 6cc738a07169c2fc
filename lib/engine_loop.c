/* SPDX-License-Identifier: MIT */
/*
 * The in-memory loop engine: a connected pair of flows inside one process, so workloads (both sides) can be
 * unit-tested without a network. A stream pair is a byte pipe each way; a datagram pair keeps message
 * boundaries and can drop every Nth datagram.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nbench/clock.h"
#include "nbench/engine.h"

#define PIPE_BYTES (1u << 20)

struct pipe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned char *buf;
	size_t head, used; /* ring of PIPE_BYTES */
	bool closed;	   /* writer shut down: readers see end of stream once empty */
	bool aborted;	   /* SHUT_RDWR: every call fails at once */
	unsigned drop_every;
	uint64_t sent;
	size_t payload, peak_payload; /* bytes sent and not yet received (no datagram headers); the most */
	uint64_t dropped;	      /* datagrams dropped: every drop_every-th, and those finding it full */
	unsigned refs;
};

struct loop_end {
	struct pipe *rx, *tx;
	bool dgram;
};

static int pipe_new(unsigned drop_every, struct pipe **ret)
{
	struct pipe *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->buf = malloc(PIPE_BYTES);
	if (!p->buf) {
		free(p);
		return -ENOMEM;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&p->mu, NULL);
	p->drop_every = drop_every;
	p->refs = 2;
	*ret = p;
	return 0;
}

static void pipe_unref(struct pipe *p)
{
	pthread_mutex_lock(&p->mu);
	bool last = --p->refs == 0;
	pthread_mutex_unlock(&p->mu);
	if (!last)
		return;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->buf);
	free(p);
}

static void ring_put(struct pipe *p, const void *src, size_t len)
{
	const unsigned char *s = src;
	size_t tail = (p->head + p->used) % PIPE_BYTES;
	size_t first = len < PIPE_BYTES - tail ? len : PIPE_BYTES - tail;
	memcpy(p->buf + tail, s, first);
	memcpy(p->buf, s + first, len - first);
	p->used += len;
}

static void ring_get(struct pipe *p, void *dst, size_t len)
{
	unsigned char *d = dst;
	size_t first = len < PIPE_BYTES - p->head ? len : PIPE_BYTES - p->head;
	if (d) {
		memcpy(d, p->buf + p->head, first);
		memcpy(d + first, p->buf, len - first);
	}
	p->head = (p->head + len) % PIPE_BYTES;
	p->used -= len;
}

/* Waits on p->cv, the mutex held, until woken (the caller checks again) or the deadline. 0, or -ETIMEDOUT. */
static int pipe_wait(struct pipe *p, int64_t deadline_ns)
{
	if (deadline_ns < 0) {
		pthread_cond_wait(&p->cv, &p->mu);
		return 0;
	}
	struct timespec ts = nb_ns_to_ts(deadline_ns);
	return pthread_cond_timedwait(&p->cv, &p->mu, &ts) == ETIMEDOUT ? -ETIMEDOUT : 0;
}

static ssize_t loop_send(struct nb_flow *f, const void *buf, size_t len)
{
	struct loop_end *e = f->priv;
	struct pipe *p = e->tx;
	size_t need = e->dgram ? len + sizeof(uint32_t) : 1;
	ssize_t r;

	if (e->dgram && need > PIPE_BYTES)
		return -EMSGSIZE;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		if (p->aborted || p->closed) {
			r = -EPIPE;
			goto out;
		}
		if (PIPE_BYTES - p->used >= need)
			break;
		if (e->dgram) { /* a full socket buffer drops datagrams */
			p->dropped++;
			r = (ssize_t)len;
			goto out;
		}
		pipe_wait(p, -1);
	}
	if (e->dgram) {
		p->sent++;
		if (p->drop_every && p->sent % p->drop_every == 0) {
			p->dropped++;
			r = (ssize_t)len;
			goto out;
		}
		uint32_t l = (uint32_t)len;
		ring_put(p, &l, sizeof(l));
		ring_put(p, buf, len);
		r = (ssize_t)len;
		p->payload += len;
	} else {
		size_t n = PIPE_BYTES - p->used;
		if (n > len)
			n = len;
		ring_put(p, buf, n);
		r = (ssize_t)n;
		p->payload += n;
	}
	if (p->payload > p->peak_payload)
		p->peak_payload = p->payload;
	pthread_cond_broadcast(&p->cv);
out:
	pthread_mutex_unlock(&p->mu);
	return r;
}

static ssize_t loop_recv(struct nb_flow *f, void *buf, size_t len, int64_t timeout_ns)
{
	struct loop_end *e = f->priv;
	struct pipe *p = e->rx;
	int64_t deadline = timeout_ns > 0 ? nb_now_ns() + timeout_ns : timeout_ns;
	ssize_t r;

	pthread_mutex_lock(&p->mu);
	while (!p->used) {
		if (p->aborted || p->closed) {
			r = 0;
			goto out;
		}
		if (deadline == 0 || pipe_wait(p, deadline) == -ETIMEDOUT) {
			if (p->used)
				break;
			r = -ETIMEDOUT;
			goto out;
		}
	}
	if (e->dgram) {
		uint32_t l;
		ring_get(p, &l, sizeof(l));
		size_t take = l < len ? l : len;
		ring_get(p, buf, take);
		ring_get(p, NULL,
			 l - take); /* a datagram larger than the buffer is truncated, as recv does */
		r = (ssize_t)take;
		p->payload -= l;
	} else {
		size_t take = p->used < len ? p->used : len;
		ring_get(p, buf, take);
		r = (ssize_t)take;
		p->payload -= take;
	}
	pthread_cond_broadcast(&p->cv);
out:
	pthread_mutex_unlock(&p->mu);
	return r;
}

static void pipe_mark(struct pipe *p, bool abort)
{
	pthread_mutex_lock(&p->mu);
	p->closed = true;
	if (abort)
		p->aborted = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static int loop_shutdown(struct nb_flow *f, int how)
{
	struct loop_end *e = f->priv;
	pipe_mark(e->tx, false);
	if (how == SHUT_RDWR)
		pipe_mark(e->rx, true);
	return 0;
}

static void loop_close(struct nb_flow *f)
{
	struct loop_end *e = f->priv;
	pipe_mark(e->tx, false);
	pipe_mark(e->rx, true);
	pipe_unref(e->rx);
	pipe_unref(e->tx);
	free(e);
	free(f);
}

static int new_end(const struct nb_flow_opts *o, struct pipe *rx, struct pipe *tx, struct nb_flow **ret)
{
	struct nb_flow *f = calloc(1, sizeof(*f));
	struct loop_end *e = calloc(1, sizeof(*e));
	if (!f || !e) {
		free(f);
		free(e);
		return -ENOMEM;
	}
	e->rx = rx;
	e->tx = tx;
	e->dgram = o->proto == NB_PROTO_UDP;
	f->ops = &nb_engine_loop;
	f->opts = *o;
	f->fd = -1;
	f->priv = e;
	*ret = f;
	return 0;
}

void nb_loop_rx_stats(struct nb_flow *f, struct nb_loop_stats *ret)
{
	struct pipe *p = ((struct loop_end *)f->priv)->rx;
	pthread_mutex_lock(&p->mu);
	*ret = (struct nb_loop_stats){.peak_bytes = p->peak_payload, .dropped = p->dropped};
	pthread_mutex_unlock(&p->mu);
}

int nb_loop_pair(const struct nb_flow_opts *o, unsigned drop_every, struct nb_flow **ret_a,
		 struct nb_flow **ret_b)
{
	struct pipe *ab = NULL, *ba = NULL;
	int r = pipe_new(drop_every, &ab);
	if (r < 0)
		return r;
	r = pipe_new(0, &ba);
	if (r < 0)
		goto fail_ab;
	r = new_end(o, ba, ab, ret_a);
	if (r < 0)
		goto fail;
	r = new_end(o, ab, ba, ret_b);
	if (r < 0) {
		free((*ret_a)->priv);
		free(*ret_a);
		goto fail;
	}
	return 0;
fail:
	pipe_unref(ba);
	pipe_unref(ba);
fail_ab:
	pipe_unref(ab);
	pipe_unref(ab);
	return r;
}

/* An instance's far ends: each open() makes a pair and keeps its far end here until stop, so the near end's
 * sends go somewhere. Nothing serves them: the loop engine is refused by every responder (caps.local). */
struct loop_listener {
	pthread_mutex_t mu;
	struct nb_flow *q[64];
	unsigned n;
};

static int loop_start(struct nb_engine *e, const struct nb_test_cfg *cfg, char *err, size_t errlen)
{
	(void)cfg;
	struct loop_listener *l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&l->mu, NULL);
	e->priv = l;
	return 0;
}

static void loop_stop(struct nb_engine *e)
{
	struct loop_listener *l = e->priv;
	for (unsigned i = 0; i < l->n; i++)
		loop_close(l->q[i]);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

static int loop_open(struct nb_engine *e, const char *host, uint16_t port, const struct nb_flow_opts *o,
		     struct nb_flow **ret)
{
	(void)host;
	(void)port;
	struct loop_listener *l = e->priv;
	struct nb_flow *a, *b;
	int r = nb_loop_pair(o, 0, &a, &b);
	if (r < 0)
		return r;
	pthread_mutex_lock(&l->mu);
	if (l->n == 64) {
		pthread_mutex_unlock(&l->mu);
		loop_close(a);
		loop_close(b);
		return -ECONNREFUSED;
	}
	a->eng = b->eng = e;
	l->q[l->n++] = b;
	pthread_mutex_unlock(&l->mu);
	*ret = a;
	return 0;
}

/* Both protocols' semantics in memory; a generator using it reaches no responder. */
static const struct nb_engine_caps loop_caps = {
    .protos = NB_BIT(NB_PROTO_TCP) | NB_BIT(NB_PROTO_UDP),
    .tests = NB_BIT(NB_TEST_STREAM) | NB_BIT(NB_TEST_RR),
    .local = true,
};

const struct nb_engine_ops nb_engine_loop = {
    .name = "loop",
    .caps = &loop_caps,
    .start = loop_start,
    .stop = loop_stop,
    .open = loop_open,
    .send = loop_send,
    .recv = loop_recv,
    .shutdown = loop_shutdown,
    .close = loop_close,
};
