/* SPDX-License-Identifier: MIT */
/*
 * Engines move a flow's data: kernel sockets ("sock"), an in-memory loop for unit tests ("loop"), DPDK
 * ("dpdk", built only with libdpdk). Each is one table of ops (struct nb_engine_ops) in one file, listed in
 * lib/engine.c's registry. Workloads (gen/, responder/) only see struct nb_flow and these ops; the CLI and
 * the responder ask an engine what it supports (struct nb_engine_caps) instead of knowing it by name. Engines
 * never print and never see argv; every op returns a count, 0 or -errno.
 *
 * Lifecycle: nb_engine_start() makes a running instance (struct nb_engine: for DPDK the EAL and its port),
 * every flow points to it, nb_engine_stop() ends it once its flows are closed.
 *
 * The client side opens flows to host:port. The responder's side: a stream (TCP) flow arrives as a kernel
 * connection on the responder's control port, which the engine adopts (adopt_fd); a datagram (UDP) flow is
 * recognised by its first datagram, a DATA_HELLO, which the engine hands to the responder (listen), and the
 * responder then makes that sender's flow (accept), which answers DATA_ACK.
 *
 * Waiting is the engine's business: a flow opened with NB_WAIT_SPIN polls non-blocking calls, one opened with
 * NB_WAIT_BLOCK sleeps in the kernel (a DPDK flow always polls). A receive takes a timeout and returns
 * -ETIMEDOUT when it expires; a send returns once the data is handed on.
 */
#ifndef NBENCH_ENGINE_H
#define NBENCH_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "nbench/cfg.h"

struct nb_report;

struct nb_flow_opts {
	enum nb_proto proto;
	enum nb_wait wait;
	int busy_poll_us; /* SO_BUSY_POLL, 0 = off */
	bool nodelay;	  /* TCP_NODELAY */
	int cpu;	  /* informational: where the flow's thread runs, -1 = anywhere */
};

/* Bit of a protocol or a test kind in struct nb_engine_caps. */
#define NB_BIT(x) (1u << (x))

/* What an engine supports: static in its ops, and its running instance's copy, which start() may narrow
 * (DPDK: the port's MTU sets the largest datagram). */
struct nb_engine_caps {
	unsigned protos;	/* NB_BIT(enum nb_proto) of each protocol its flows carry */
	unsigned tests;		/* NB_BIT(enum nb_test_kind) of each test it runs */
	uint32_t max_msg_bytes; /* largest message (datagram payload); 0: no limit of its own */
	bool needs_root;	/* starting it takes root (a device, raw frames) */
	bool own_addr;		/* its data goes to its own address, not the control connection's: the
				 * responder names it in TEST_ACK, a generator runs against -H only */
	bool dpdk_opts;		/* it takes the --dpdk-* options (its port and address) */
	bool one_test;		/* its responder runs one test at a time */
	bool local;		/* its flows stay inside this process (tests): no responder serves them */
	const char *wait; /* how its flows wait whatever --spin says ("spin (dpdk poll)"); NULL: as set */
};

struct nb_flow;
struct nb_engine;

/* A datagram flow's hello as the engine's server side received it: the datagram, and where it came from
 * and went to (the engine's own description, for accept). */
struct nb_hello {
	const void *buf;
	size_t len;
	const void *from;
};

/* What the responder listens for on its data port (the control port's number). hello is called for each
 * datagram from a sender that has no flow yet, from the responder's main thread (after listen_poll) or from
 * the engine's own poller thread; it may call accept. */
struct nb_listen {
	const struct sockaddr *addr; /* the responder's --bind address and port */
	socklen_t addrlen;
	uint16_t port;
	void (*hello)(void *arg, struct nb_engine *e, const struct nb_hello *h);
	void *arg;
};

struct nb_engine_ops {
	const char *name;		   /* --engine NAME */
	const char *label;		   /* "the DPDK responder" in messages; NULL: "the responder" */
	const struct nb_engine_caps *caps; /* before start */

	/* Lifecycle (both may be NULL: nothing to start). start fills the instance nb_engine_start allocated
	 * (priv, caps, addr) from cfg; 0, or -errno with one line in err: -EINVAL for bad usage. stop ends
	 * it once its flows are closed, and is not called when start failed. */
	int (*start)(struct nb_engine *e, const struct nb_test_cfg *cfg, char *err, size_t errlen);
	void (*stop)(struct nb_engine *e);
	/* The engine's facts for the report (DPDK: port, driver, link, counters that moved). May be NULL. */
	void (*report)(struct nb_engine *e, struct nb_report *rep);

	/* Client side: opens a data flow to host:port. */
	int (*open)(struct nb_engine *e, const char *host, uint16_t port, const struct nb_flow_opts *o,
		    struct nb_flow **ret);

	/* Server side. adopt_fd: a stream flow from a kernel TCP connection the responder accepted on its
	 * control port (takes fd on success); NULL when the engine carries no TCP. listen: starts handing
	 * hellos to l->hello; *ret_fd is a descriptor for the responder to poll (then call listen_poll), or
	 * -1 when the engine polls on its own thread. accept: makes the flow of h's sender, as o says, and
	 * sends it ack (again whenever the engine itself sees the same hello from it). unlisten: no more
	 * hellos. */
	int (*adopt_fd)(struct nb_engine *e, int fd, const struct nb_flow_opts *o, struct nb_flow **ret);
	int (*listen)(struct nb_engine *e, const struct nb_listen *l, int *ret_fd);
	void (*listen_poll)(struct nb_engine *e);
	int (*accept)(struct nb_engine *e, const struct nb_hello *h, const void *ack, size_t ack_len,
		      const struct nb_flow_opts *o, struct nb_flow **ret);
	void (*unlisten)(struct nb_engine *e);

	/* A flow's data. send: up to len bytes (a stream) or one datagram of len bytes; returns bytes sent or
	 * -errno, waiting (blocked or spinning, as the flow's wait mode says) until at least one byte went.
	 */
	ssize_t (*send)(struct nb_flow *f, const void *buf, size_t len);
	/* Receives up to len bytes (stream) or one datagram. Returns bytes, 0 at end of stream (or after a
	 * shutdown), -ETIMEDOUT when timeout_ns (< 0: forever, 0: do not wait) passes, or -errno. */
	ssize_t (*recv)(struct nb_flow *f, void *buf, size_t len, int64_t timeout_ns);
	/* Sends up to n datagrams at once; returns how many went, or -errno. May be NULL. */
	int (*send_burst)(struct nb_flow *f, struct iovec *msgs, unsigned n);
	/* Receives up to n datagrams; lens[i] gets each one's length. Same timeout rule as recv. May be NULL.
	 */
	int (*recv_burst)(struct nb_flow *f, struct iovec *msgs, unsigned n, size_t *lens,
			  int64_t timeout_ns);
	/* Ends sending (how = SHUT_WR) or wakes every blocked call and ends the flow (SHUT_RDWR). */
	int (*shutdown)(struct nb_flow *f, int how);
	void (*close)(struct nb_flow *f);
};

/* A running engine. */
struct nb_engine {
	const struct nb_engine_ops *ops;
	struct nb_engine_caps caps;
	char addr[48]; /* caps.own_addr: the data address, numeric */
	void *priv;
};

struct nb_flow {
	const struct nb_engine_ops *ops;
	struct nb_engine *eng; /* the instance it belongs to (NULL: made outside one, nb_sock_flow_wrap) */
	struct nb_flow_opts opts;
	int fd;			 /* kernel socket, or -1 */
	int64_t rcvtimeo_ns;	 /* cached SO_RCVTIMEO (sock engine) */
	int64_t last_timeout_ns; /* the timeout the previous receive asked for (sock engine) */
	int shut; /* set by shutdown(SHUT_RDWR): a spinning receive ends, as a blocked one does */
	void *priv;
};

extern const struct nb_engine_ops nb_engine_sock;
extern const struct nb_engine_ops nb_engine_loop;
extern const struct nb_engine_ops nb_engine_dpdk; /* only with NB_HAVE_DPDK */

/* The engine of that name, or NULL. */
const struct nb_engine_ops *nb_engine_find(const char *name);
/* Why an engine this build lacks is not here ("this nbench was built without DPDK (...)"), or NULL when
 * no engine of that name exists anywhere. */
const char *nb_engine_missing(const char *name);
/* Starts an instance of ops for cfg: 0, or -errno with one line in err (-EINVAL: bad usage). */
int nb_engine_start(const struct nb_engine_ops *ops, const struct nb_test_cfg *cfg, struct nb_engine **ret,
		    char *err, size_t errlen);
/* Stops and frees e (NULL is fine). */
void nb_engine_stop(struct nb_engine *e);
/* Whether caps include the test kind k over protocol p. */
static inline bool nb_engine_runs(const struct nb_engine_caps *c, enum nb_test_kind k, enum nb_proto p)
{
	return (c->tests & NB_BIT(k)) && (c->protos & NB_BIT(p));
}
/* "stream and rr": the tests caps run. */
void nb_engine_tests_str(const struct nb_engine_caps *c, char *buf, size_t len);
/* "UDP stream and rr (--proto udp)": what caps run, for a refusal. */
void nb_engine_caps_str(const struct nb_engine_caps *c, char *buf, size_t len);
static inline int nb_engine_open(struct nb_engine *e, const char *host, uint16_t port,
				 const struct nb_flow_opts *o, struct nb_flow **ret)
{
	return e->ops->open(e, host, port, o, ret);
}

/* Sock engine: wraps an accepted or created socket; takes ownership of fd. */
int nb_sock_flow_wrap(int fd, const struct nb_flow_opts *o, struct nb_flow **ret);
/* Sock engine: a connected socket to host:port (SOCK_STREAM or SOCK_DGRAM), connect bounded to 3 s. */
int nb_sock_connect(const char *host, uint16_t port, int socktype, int *ret_fd);
/* Sock engine: applies nodelay/busy-poll of o to fd. */
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
/* Loop engine's listener: open() on the instance e queues the far end of a new pair, taken here. */
int nb_loop_accept(struct nb_engine *e, int64_t timeout_ns, struct nb_flow **ret);

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
