/* SPDX-License-Identifier: MIT */
/*
 * The DPDK (kernel-bypass) engine: one port per process, one RX and one TX queue, Ethernet/IPv4/UDP built and
 * parsed here, ARP answered here. Built only when meson finds libdpdk (NB_HAVE_DPDK).
 *
 * The CLI starts the port (the EAL from nbench's own options: no argv reaches the engine) before a test or
 * `serve`, and stops it afterwards; stopping also removes the EAL's runtime directory. The generator then
 * uses nb_engine_dpdk like any engine (a flow is a UDP 4-tuple on the port, polled, always spinning; with
 * -P N, N flows on N source ports, each in its thread, the one holding the RX queue's lock polling it for
 * all and handing each datagram to its flow by destination port); the responder runs its own packet loop
 * (responder/serve_dpdk.c) over the packet helpers below.
 */
#ifndef NBENCH_DPDK_H
#define NBENCH_DPDK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nbench/cfg.h"
#include "nbench/report.h"

/* Ethernet + IPv4 + UDP headers in front of every datagram: the largest datagram is MTU - 28. */
#define NB_DPDK_HDR_BYTES 42u
#define NB_DPDK_BURST	  32

/* Starts the EAL and the port of cfg->dpdk_port with address cfg->dpdk_ip. 0; -EINVAL for bad usage (bad
 * EAL arguments, a port spec that is neither a PCI address nor a net_* vdev, a bad address) or another
 * -errno, with a one-line message in err. The runtime directory is removed on failure too. */
int nb_dpdk_start(const struct nb_test_cfg *cfg, char *err, size_t errlen);
/* Stops the port and the EAL, removes the runtime directory. Safe to call when not started, and twice. */
void nb_dpdk_stop(void);
/* Adds the port's facts (PMD, driver, link speed) and its xstats delta since nb_dpdk_start to rep. */
void nb_dpdk_fill_report(struct nb_report *rep);
/* The port's IPv4 address, dotted; "" when not started. */
const char *nb_dpdk_ip_str(void);
/* Largest UDP payload the port carries (MTU - 28). */
uint32_t nb_dpdk_max_payload(void);

/* The DPDK responder (responder/serve_dpdk.c): a packet loop thread on the started port that answers
 * DATA_HELLO with DATA_ACK and runs every flow of the current test (echo, sink, source) itself. */
int nb_serve_dpdk_start(char *err, size_t errlen);
void nb_serve_dpdk_stop(void);
bool nb_serve_dpdk_active(void);
/* Runs one test whose TEST message gave cfg, over control connection fd: TEST_ACK {test_id, data_addr},
 * READY once every flow said hello, START/MEASURE/STOP, RESULT. 0 when the session may go on, or -errno. */
int nb_serve_dpdk_test(int fd, const struct nb_test_cfg *cfg);

#ifdef NB_HAVE_DPDK
#include <rte_ether.h>
#include <rte_mbuf.h>

struct nb_engine_ops;
extern const struct nb_engine_ops nb_engine_dpdk;

struct nb_dpdk_port {
	uint16_t port_id;
	struct rte_mempool *pool;
	struct rte_ether_addr mac;
	uint32_t ip_be;
	bool csum_offload; /* IPv4 and UDP checksums by the port */
};
/* The running port, or NULL. */
const struct nb_dpdk_port *nb_dpdk_port(void);

/* Handles m if it is ARP: answers a request for our address (the reply is sent) and learns the sender.
 * Returns true when m was ARP (consumed: freed or sent), false otherwise (untouched). */
bool nb_dpdk_arp_input(struct rte_mbuf *m);
/* The MAC of ip_be: the --dpdk-peer-mac, the ARP cache, or an ARP request answered within timeout_ns while
 * polling the port. 0, -ETIMEDOUT or -errno. Polls the RX queue: call only from the thread owning it. */
int nb_dpdk_resolve(uint32_t ip_be, int64_t timeout_ns, struct rte_ether_addr *ret);

/* Writes Ethernet/IPv4/UDP headers for a payload of len bytes already at hdr + NB_DPDK_HDR_BYTES, and sets
 * the checksums (in software, or the offload flags of m). All addresses and ports in network order. */
void nb_dpdk_udp_hdr(struct rte_mbuf *m, void *hdr, const struct rte_ether_addr *dst_mac, uint32_t dst_ip,
		     uint16_t src_port, uint16_t dst_port, uint16_t len);
/* The UDP payload of an IPv4/UDP frame for our address: pointer and length, with the sender's address and
 * ports (network order). NULL when m is anything else. */
void *nb_dpdk_udp_parse(struct rte_mbuf *m, uint32_t *src_ip, uint16_t *src_port, uint16_t *dst_port,
			uint16_t *len);
/* Sends n packets, retrying a full TX ring a little; frees what did not go. Returns how many went. Any thread
 * may send (the TX queue is locked). */
unsigned nb_dpdk_tx(struct rte_mbuf **pkts, unsigned n);
/* Gives a thread the EAL did not start an lcore id (rte_thread_register), so that its mbuf allocations and
 * frees use a per-thread cache of the pool rather than its shared ring. Cheap to call again. */
void nb_dpdk_thread_enter(void);
#endif

#endif
