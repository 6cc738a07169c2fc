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
 * -ETIMEDOUT when it expires; a send has no timeout (see send below for when it waits).
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
	int cpu;	  /* where the flow's thread is pinned, -1 = anywhere (no engine reads it yet) */
};

/* Bit of a protocol or a test kind in struct nb_engine_caps. */
#define NB_BIT(x) (1u << (x))

/* What an engine supports: static in its ops, and its running instance's copy, which start() may narrow
 * (DPDK: the port's MTU sets the largest datagram). */
struct nb_engine_caps {
	unsigned protos;	/* NB_BIT(enum nb_proto) of each protocol its flows carry */
	unsigned tests;		/* NB_BIT(enum nb_test_kind) of each test it runs */
	uint32_t max_msg_bytes; /* largest message (datagram payload); 0: no limit of its own */
	bool
	    needs_root; /* starting it takes root (a device, raw frames): nb_engine_start refuses otherwise */
	bool own_addr;	/* its data goes to its own address, not the control connection's: the
			 * responder names it in TEST_ACK, a generator runs against -H only */
	bool dpdk_opts; /* it takes the --dpdk-* options (its port and address) */
	bool one_test;	/* its responder runs one test at a time */
	bool local;	/* its flows stay inside this process (tests): no responder serves them */
	bool kernel_stack; /* its packets cross this host's kernel stack and interfaces, so --hops sees the
			    * client's side of each round trip; else capture leaves that side unseen */
	const char *wait;  /* how its flows wait whatever --spin says ("spin (dpdk poll)"); NULL: as set */
};

struct nb_flow;
struct nb_engine;

/* A datagram flow's hello as the engine's server side received it: the datagram's payload, and where it
 * came from and went to (the engine's own description, for accept). Valid during the hello call only. */
struct nb_hello {
	const void *buf;
	size_t len;
	const void *from;
	/* The sender's address and port, in the engine-neutral form the responder compares with the control
	 * connection's peer (a UDP flow belongs to its client). */
	const struct sockaddr *peer;
	socklen_t peer_len;
};

/* What the responder listens for on its data port (the control port's number). hello is called with each
 * datagram that reaches the listener rather than a flow (sock: the unconnected socket, which may still get
 * a flow's datagrams until its own socket takes them; DPDK: a sender with no flow), from the responder's main
 * thread (in listen_poll) or from the engine's own poller thread; it may call accept, and ignores what is
 * not a DATA_HELLO. */
struct nb_listen {
	const struct sockaddr *addr; /* the responder's --bind address and port (the sock engine binds it) */
	socklen_t addrlen;
	uint16_t port; /* that port, host order (DPDK's UDP port) */
	void (*hello)(void *arg, struct nb_engine *e, const struct nb_hello *h);
	void *arg;
};

struct nb_engine_ops {
	const char *name;  /* --engine NAME */
	const char *label; /* "DPDK": the engine in messages ("the DPDK responder"); NULL: "the responder" */
	const struct nb_engine_caps *caps; /* before start */

	/* Lifecycle (both may be NULL: nothing to start). start fills the instance nb_engine_start allocated
	 * (priv, caps, addr) from cfg; 0, or -errno with one line in err: -EINVAL for bad usage. stop ends
	 * it once its flows are closed (and, for the sock engine, its listener), and is not called when start
	 * failed. */
	int (*start)(struct nb_engine *e, const struct nb_test_cfg *cfg, char *err, size_t errlen);
	void (*stop)(struct nb_engine *e);
	/* The engine's facts for the report, called after the run (DPDK: port, driver, link, counters that
	 * moved, and gen_wait, since its flows always poll). May be NULL. */
	void (*report)(struct nb_engine *e, struct nb_report *rep);

	/* Client side: opens a data flow to host:port (DPDK: host is a numeric IPv4 address, its MAC found by
	 * ARP). 0 or -errno. */
	int (*open)(struct nb_engine *e, const char *host, uint16_t port, const struct nb_flow_opts *o,
		    struct nb_flow **ret);

	/* Server side, NULL for an engine no responder serves (loop). adopt_fd: a stream flow from a kernel
	 * TCP connection the responder accepted on its control port (takes fd on success); NULL when the
	 * engine carries no TCP. listen: starts handing hellos to l->hello; *ret_fd is a descriptor for the
	 * responder to poll (then call listen_poll), or -1 when the engine polls on its own thread. accept:
	 * makes the flow of h's sender, as o says, and sends it ack once; a hello that comes again (the ack
	 * was lost) is answered by the engine itself (DPDK), or reaches the flow, whose loop answers it
	 * (nb_udp_hello_again), or hello again. unlisten: no more hellos; may be called when listen was not.
	 * Each returns 0 or -errno where it returns int.
	 */
	int (*adopt_fd)(struct nb_engine *e, int fd, const struct nb_flow_opts *o, struct nb_flow **ret);
	int (*listen)(struct nb_engine *e, const struct nb_listen *l, int *ret_fd);
	void (*listen_poll)(struct nb_engine *e);
	int (*accept)(struct nb_engine *e, const struct nb_hello *h, const void *ack, size_t ack_len,
		      const struct nb_flow_opts *o, struct nb_flow **ret);
	void (*unlisten)(struct nb_engine *e);

	/* A flow's data. send: up to len bytes (a stream) or one datagram of len bytes; returns bytes sent or
	 * -errno. sock waits (blocked or spinning, as the flow's wait mode says) until the kernel took at
	 * least one byte; loop waits for room in a stream and drops a datagram that finds none (returning
	 * len, as a full socket buffer loses it); DPDK never waits: -ENOBUFS when the TX queue is full,
	 * -EMSGSIZE above caps.max_msg_bytes. A UDP send may fail with ECONNREFUSED after an ICMP error: the
	 * datagram is lost, not the flow. */
	ssize_t (*send)(struct nb_flow *f, const void *buf, size_t len);
	/* Receives up to len bytes (stream) or one datagram. Returns bytes, 0 at end of stream (or after a
	 * shutdown), -ETIMEDOUT when timeout_ns (< 0: forever, 0: do not wait) passes, or -errno. */
	ssize_t (*recv)(struct nb_flow *f, void *buf, size_t len, int64_t timeout_ns);
	/* Sends up to n datagrams at once (at most the engine's burst: 64 sock, 32 DPDK); returns how many
	 * went, or -errno. May be NULL. */
	int (*send_burst)(struct nb_flow *f, struct iovec *msgs, unsigned n);
	/* A promise about the datagrams of len bytes this flow sends by send_burst from now on: they differ
	 * only in their first var_bytes (a sequence number). An engine that reuses its frame buffers (DPDK's
	 * mbufs) then writes the rest of such a payload once per buffer instead of once per datagram.
	 * send_burst still takes every datagram whole. 0 or -errno; may be NULL (the engine gains nothing
	 * from it). */
	int (*tx_template)(struct nb_flow *f, size_t len, size_t var_bytes);
	/* Receives up to n datagrams; lens[i] gets each one's length. Same timeout rule as recv. May be NULL.
	 */
	int (*recv_burst)(struct nb_flow *f, struct iovec *msgs, unsigned n, size_t *lens,
			  int64_t timeout_ns);
	/* Ends sending (how = SHUT_WR) or wakes every blocked call and ends the flow (SHUT_RDWR): a receive
	 * then returns what is left and 0 instead of waiting. 0 or -errno. */
	int (*shutdown)(struct nb_flow *f, int how);
	/* Frees the flow and its socket or queues. */
	void (*close)(struct nb_flow *f);
};

/* A running engine, made by nb_engine_start. */
struct nb_engine {
	const struct nb_engine_ops *ops;
	struct nb_engine_caps caps; /* ops->caps, as start narrowed them */
	char addr[48];		    /* caps.own_addr: the data address, numeric */
	void *priv;		    /* the engine's own state */
};

/* One data flow; made by open, adopt_fd or accept (or nb_sock_flow_wrap, nb_loop_pair), freed by close. */
struct nb_flow {
	const struct nb_engine_ops *ops;
	struct nb_engine *eng; /* the instance it belongs to (NULL: made outside one, nb_sock_flow_wrap) */
	struct nb_flow_opts opts;
	int fd;			 /* kernel socket, or -1 */
	int64_t rcvtimeo_ns;	 /* cached SO_RCVTIMEO (sock engine) */
	int64_t last_timeout_ns; /* the timeout the previous receive asked for (sock engine) */
	int shut;   /* sock: set by shutdown(SHUT_RDWR): a spinning receive ends, as a blocked one does */
	void *priv; /* the engine's own state of the flow (loop, DPDK) */
};

extern const struct nb_engine_ops nb_engine_sock;
extern const struct nb_engine_ops nb_engine_loop;
extern const struct nb_engine_ops nb_engine_dpdk; /* only with NB_HAVE_DPDK */
/* The registry (lib/engine.c) lists them; find them there by name. */

/* The engine of that name, or NULL. */
const struct nb_engine_ops *nb_engine_find(const char *name);
/* Why an engine this build lacks is not here ("this nbench was built without DPDK (...)"), or NULL when
 * no engine of that name exists anywhere. */
const char *nb_engine_missing(const char *name);
/* Starts an instance of ops for cfg (NULL for an engine without a start op, such as sock) into *ret, to
 * be ended with nb_engine_stop: 0, or -errno with one line in err (-EINVAL: bad usage; -EPERM: the engine
 * needs root and this is not). DPDK's takes seconds (the EAL, the port's link). */
int nb_engine_start(const struct nb_engine_ops *ops, const struct nb_test_cfg *cfg, struct nb_engine **ret,
		    char *err, size_t errlen);
/* Stops and frees e (NULL is fine). */
void nb_engine_stop(struct nb_engine *e);
/* Whether caps include the test kind k over protocol p. */
static inline bool nb_engine_runs(const struct nb_engine_caps *c, enum nb_test_kind k, enum nb_proto p)
{
	return (c->tests & NB_BIT(k)) && (c->protos & NB_BIT(p));
}
/* "stream and rr": the tests caps run, into buf. */
void nb_engine_tests_str(const struct nb_engine_caps *c, char *buf, size_t len);
/* "UDP stream and rr (--proto udp)": what caps run, for a refusal, into buf. */
void nb_engine_caps_str(const struct nb_engine_caps *c, char *buf, size_t len);
/* e's open op: a client flow to host:port. 0 or -errno. */
static inline int nb_engine_open(struct nb_engine *e, const char *host, uint16_t port,
				 const struct nb_flow_opts *o, struct nb_flow **ret)
{
	return e->ops->open(e, host, port, o, ret);
}

/* Sock engine: wraps a connected socket in a flow of no instance (eng NULL), applying o's nodelay and
 * busy-poll. 0, and the flow owns fd; or -errno, and fd is still the caller's. */
int nb_sock_flow_wrap(int fd, const struct nb_flow_opts *o, struct nb_flow **ret);
/* Sock engine: a connected socket (close-on-exec) to host:port, SOCK_STREAM or SOCK_DGRAM, trying each
 * address getaddrinfo gives for 3 s at most. 0, or -errno: -EADDRNOTAVAIL when the name does not resolve,
 * -ETIMEDOUT, -ECONNREFUSED, ... from the last address tried. */
int nb_sock_connect(const char *host, uint16_t port, int socktype, int *ret_fd);
/* After nb_sock_connect failed: true, with getaddrinfo's reason in buf, when host does not resolve (so a
 * caller can say "cannot resolve" instead of a connect error). Resolves again: for error paths only. */
bool nb_sock_name_unresolved(const char *host, char *buf, size_t len);

/* Loop engine: a connected in-memory pair of flows of no instance, each freed with close. A datagram pair
 * keeps message boundaries and, with drop_every > 0, drops every drop_every-th datagram sent from a to b
 * (to test loss accounting). 0 or -ENOMEM. */
int nb_loop_pair(const struct nb_flow_opts *o, unsigned drop_every, struct nb_flow **ret_a,
		 struct nb_flow **ret_b);
/* Loop engine: what happened on the way to f, for tests to check a workload against. */
struct nb_loop_stats {
	size_t peak_bytes; /* the most payload bytes ever waiting at once for f to receive: with requests of
			    * one size, the requests in flight as the receiving side saw them */
	uint64_t dropped;  /* datagrams to f dropped (every drop_every-th, and those finding it full) */
};
void nb_loop_rx_stats(struct nb_flow *f, struct nb_loop_stats *ret);

/* Helpers over any engine. */
/* Sends all len bytes, waiting as the flow's send does. 0, or -errno (what was sent before is unknown). */
int nb_flow_send_all(struct nb_flow *f, const void *buf, size_t len);
/* Receives exactly len bytes by deadline_ns (CLOCK_MONOTONIC, < 0 = none). Returns len, 0 on a clean end of
 * stream before the first byte, -EPIPE on an end of stream part way, -ETIMEDOUT, or -errno. */
ssize_t nb_flow_recv_all(struct nb_flow *f, void *buf, size_t len, int64_t deadline_ns);
/* Bursts over any engine: the engine's own burst op, or one datagram at a time (a receive then takes
 * one). Same results as the ops. */
int nb_flow_send_burst(struct nb_flow *f, struct iovec *msgs, unsigned n);
int nb_flow_recv_burst(struct nb_flow *f, struct iovec *msgs, unsigned n, size_t *lens, int64_t timeout_ns);
/* The flow's tx_template op (see struct nb_engine_ops), or nothing (0) for an engine without one. */
int nb_flow_tx_template(struct nb_flow *f, size_t len, size_t var_bytes);
/* Closes f (NULL is fine). */
static inline void nb_flow_close(struct nb_flow *f)
{
	if (f)
		f->ops->close(f);
}

#endif
