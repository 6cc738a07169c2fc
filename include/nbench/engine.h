/* SPDX-License-Identifier: MIT */
/*
 * Engines move a flow's data: kernel sockets ("sock"), an in-memory loop for unit tests ("loop"), later DPDK.
 * Workloads (gen/, responder/) only see struct nb_flow and these ops, so a new engine slots in without
 * touching them. Engines never print and never see argv; every op returns a count, 0 or -errno.
 *
 * Waiting is the engine's business: a flow opened with NB_WAIT_SPIN polls non-blocking calls, one opened with
 * NB_WAIT_BLOCK sleeps in the kernel. A workload passes a timeout and gets -ETIMEDOUT when it expires.
 */
#ifndef NBENCH_ENGINE_H
#define NBENCH_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "nbench/cfg.h"

struct nb_flow_opts {
	enum nb_proto proto;
	enum nb_wait wait;
	int busy_poll_us; /* SO_BUSY_POLL, 0 = off */
	bool nodelay;	  /* TCP_NODELAY */
	int cpu;	  /* informational: where the flow's thread runs, -1 = anywhere */
};

struct nb_flow;

struct nb_engine_ops {
	const char *name;
	/* 0 if the engine can run here, else -errno with the reason in why. */
	int (*probe)(char *why, size_t whylen);
	/* Opens a data flow to host:port (client side). */
	int (*open)(const char *host, uint16_t port, const struct nb_flow_opts *o, struct nb_flow **ret);
	/* Sends up to len bytes (a stream) or one datagram of len bytes. Returns bytes sent or -errno. Blocks
	 * (or spins) until at least one byte went, unless timeout_ns is 0. */
	ssize_t (*send)(struct nb_flow *f, const void *buf, size_t len);
	/* Receives up to len bytes (stream) or one datagram. Returns bytes, 0 at end of stream, -ETIMEDOUT
	 * when timeout_ns (< 0: forever, 0: do not wait) passes, or -errno. */
	ssize_t (*recv)(struct nb_flow *f, void *buf, size_t len, int64_t timeout_ns);
	/* Sends n datagrams at once (sendmmsg); returns how many went, or -errno. May be NULL. */
	int (*send_burst)(struct nb_flow *f, struct iovec *msgs, unsigned n);
	/* Receives up to n datagrams; lens[i] gets each one's length. Same timeout rule as recv. May be NULL.
	 */
	int (*recv_burst)(struct nb_flow *f, struct iovec *msgs, unsigned n, size_t *lens,
			  int64_t timeout_ns);
	/* Ends sending (how = SHUT_WR) or wakes every blocked call and ends the flow (SHUT_RDWR). */
	int (*shutdown)(struct nb_flow *f, int how);
	void (*close)(struct nb_flow *f);
};

struct nb_flow {
	const struct nb_engine_ops *ops;
	struct nb_flow_opts opts;
	int fd;			 /* kernel socket, or -1 */
	int64_t rcvtimeo_ns;	 /* cached SO_RCVTIMEO (sock engine) */
	int64_t last_timeout_ns; /* the timeout the previous receive asked for (sock engine) */
	int shut; /* set by shutdown(SHUT_RDWR): a spinning receive ends, as a blocked one does */
	void *priv;
};

extern const struct nb_engine_ops nb_engine_sock;
extern const struct nb_engine_ops nb_engine_loop;

/* The engine of that name, or NULL. */
const struct nb_engine_ops *nb_engine_find(const char *name);

/* Sock engine: wraps an accepted or created socket; takes ownership of fd. */
int nb_sock_flow_wrap(int fd, const struct nb_flow_opts *o, struct nb_flow **ret);
/* Sock engine: a connected socket to host:port (SOCK_STREAM or SOCK_DGRAM), connect bounded to 3 s. */
int nb_sock_connect(const char *host, uint16_t port, int socktype, int *ret_fd);
/* Sock engine: applies nodelay/busy-poll/non-blocking of o to fd. */
int nb_sock_apply_opts(int fd, const struct nb_flow_opts *o);

/* Loop engine: a connected in-memory pair. A datagram pair keeps message boundaries and, with
 * drop_every > 0, drops every drop_every-th datagram sent from a to b (to test loss accounting). */
int nb_loop_pair(const struct nb_flow_opts *o, unsigned drop_every, struct nb_flow **ret_a,
		 struct nb_flow **ret_b);
/* Loop engine: what happened on the way to f, for tests to check a workload against. */
struct nb_loop_stats {
	size_t peak_bytes; /* the most payload bytes ever waiting at once for f to receive: with requests of
			    * one size, the requests in flight as the receiving side saw them */
	uint64_t dropped;  /* datagrams to f dropped (every drop_every-th, and those finding it full) */
};
void nb_loop_rx_stats(struct nb_flow *f, struct nb_loop_stats *ret);
/* Loop engine's listener: nb_engine_loop.open() queues the far end of a new pair, taken here. */
int nb_loop_accept(int64_t timeout_ns, struct nb_flow **ret);

/* Helpers over any engine. */
/* Sends all len bytes; -errno on error. */
int nb_flow_send_all(struct nb_flow *f, const void *buf, size_t len);
/* Receives exactly len bytes by deadline_ns (CLOCK_MONOTONIC, < 0 = none). Returns len, 0 on a clean end of
 * stream before the first byte, -EPIPE on an end of stream part way, -ETIMEDOUT, or -errno. */
ssize_t nb_flow_recv_all(struct nb_flow *f, void *buf, size_t len, int64_t deadline_ns);
/* Bursts over any engine: the engine's own burst op, or one datagram at a time. Same results as the ops. */
int nb_flow_send_burst(struct nb_flow *f, struct iovec *msgs, unsigned n);
int nb_flow_recv_burst(struct nb_flow *f, struct iovec *msgs, unsigned n, size_t *lens, int64_t timeout_ns);
static inline void nb_flow_close(struct nb_flow *f)
{
	if (f)
		f->ops->close(f);
}

#endif
