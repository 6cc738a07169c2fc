/* SPDX-License-Identifier: MIT */
/*
 * The effective settings of one test: what the CLI fills in, what the control protocol carries to the
 * responder, and what every report echoes. Units are in the names.
 */
#ifndef NBENCH_CFG_H
#define NBENCH_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NB_DEFAULT_PORT	   12865 /* netperf's control port; users know it is a benchmark port */
#define NB_MAX_FLOWS	   256
#define NB_MAX_MSG_BYTES   (64u << 20)
#define NB_MAX_UDP_BYTES   65507u
#define NB_MAX_DEPTH	   4096
#define NB_UDP_HDR_BYTES   8u /* every UDP datagram of a test starts with a 64-bit sequence number */
#define NB_MAX_DURATION_NS (86400LL * 1000000000LL)
#define NB_MAX_MIX	   8	   /* rr --mix: message shapes in one run */
#define NB_MAX_MIX_WEIGHT  1000000 /* a shape's weight: 1 .. this */

enum nb_test_kind { NB_TEST_STREAM, NB_TEST_RR, NB_TEST_CRR }; /* "kind" in the settings echo */
enum nb_proto { NB_PROTO_TCP, NB_PROTO_UDP };
enum nb_wait { NB_WAIT_BLOCK, NB_WAIT_SPIN };

struct nb_test_cfg {
	enum nb_test_kind kind;
	enum nb_proto proto;
	char engine[16];     /* --engine: "sock" (default), "dpdk", "loop" */
	char host[256];	     /* responder's address as the user gave it */
	uint16_t port;	     /* control port = TCP data port = UDP port */
	int64_t duration_ns; /* measured part, after warm-up */
	int64_t warmup_ns;   /* discarded from every figure */
	int64_t interval_ns; /* interim lines; 0 = none */
	unsigned flows;	     /* -P (crr runs one connection at a time whatever it says) */
	bool reverse;	     /* stream: server sends, client receives */
	uint32_t msg_bytes;  /* stream write / datagram size; 0 = the protocol's default (nb_cfg_msg_bytes) */
	uint32_t req_bytes;  /* rr request (with a mix: the largest shape's, what buffers must hold) */
	uint32_t resp_bytes; /* rr response (with a mix: the largest shape's) */
	unsigned depth;	     /* rr transactions in flight per flow */
	double rate_tps; /* rr: open loop total transactions/s, split evenly over flows; 0 = closed loop */
	double rate_bps; /* stream: paced total payload bits/s, split evenly over flows; 0 = unpaced */
	int64_t udp_timeout_ns; /* a UDP request unanswered this long is lost */
	/* rr --mix: n_mix shapes of request and response (0: every request req_bytes, every response
	 * resp_bytes), shape k drawn for a request with probability mix_weight[k] / the weights' sum. The
	 * request carries its shape's index in its marker (workload.h), so the responder answers each with
	 * its own shape's response. mix_seed seeds each flow's draw (with the flow's index: flows draw apart,
	 * runs repeat). Parallel arrays, not an array of structs: GCC 12's __builtin_clear_padding leaves a
	 * struct holding one uncleared, and the codec tests compare this struct byte for byte. */
	uint32_t n_mix;
	uint32_t mix_seed;
	uint32_t mix_req_bytes[NB_MAX_MIX], mix_resp_bytes[NB_MAX_MIX], mix_weight[NB_MAX_MIX];
	int cpu_gen;	   /* the generator's flow threads' CPU; -1 = not pinned */
	int cpu_resp;	   /* the responder's flow threads' CPU; -1 = not pinned */
	enum nb_wait wait; /* block in the kernel or spin on non-blocking calls */
	int busy_poll_us;  /* SO_BUSY_POLL; 0 = off */
	bool nodelay;	   /* TCP_NODELAY (rr/crr default on) */
	/* --engine dpdk: this side's port, local (never sent to the peer) */
	char dpdk_port[256];	/* PCI address or vdev spec ("net_af_packet0,iface=veth0") */
	char dpdk_args[512];	/* extra EAL arguments, split at spaces */
	char dpdk_ip[16];	/* the port's IPv4 address */
	char dpdk_peer_mac[18]; /* the peer's MAC when ARP cannot be used; "" = ARP */
};

/* Fills in the defaults of the given test kind: TCP, engine sock, 10 s, interim lines every second, one flow,
 * 100-byte requests and 200-byte responses, depth 1, nodelay for rr/crr, msg_bytes 0 (the protocol's). */
void nb_cfg_defaults(struct nb_test_cfg *cfg, enum nb_test_kind kind);

/* Checks the settings against each other and their limits. 0, or -EINVAL with a one-line message in
 * err (no trailing newline) naming the problem. */
int nb_cfg_check(const struct nb_test_cfg *cfg, char *err, size_t errlen);

/* Parses --mix "REQ:RESP[@WEIGHT],..." (sizes with the units' suffixes, weight 1 when left out) into cfg's
 * mix, and sets req_bytes and resp_bytes to the largest of them. 0, or -EINVAL with a one-line message in
 * err. The sizes' limits against the protocol are nb_cfg_check's. */
int nb_cfg_parse_mix(struct nb_test_cfg *cfg, const char *s, char *err, size_t errlen);
/* The largest request and response of cfg's mix into req_bytes and resp_bytes (after setting mix). */
void nb_cfg_mix_resolve(struct nb_test_cfg *cfg);

/* Names as the CLI and the reports spell them ("stream", "udp", "spin"); "?" for a value out of range. */
const char *nb_test_kind_name(enum nb_test_kind k);
const char *nb_proto_name(enum nb_proto p);
const char *nb_wait_name(enum nb_wait w);
/* The reverse, case-insensitive: 0, or -EINVAL for an unknown name or NULL. */
int nb_test_kind_parse(const char *s, enum nb_test_kind *ret);
int nb_proto_parse(const char *s, enum nb_proto *ret);
int nb_wait_parse(const char *s, enum nb_wait *ret);

#define NB_DEFAULT_TCP_MSG_BYTES (128u << 10) /* large writes so TSO/GSO/GRO apply */
#define NB_DEFAULT_UDP_MSG_BYTES 1472u	      /* fills a 1500-byte MTU: 1500 - 20 (IPv4) - 8 (UDP) */
#define NB_MAX_RATE_BPS		 1e13	      /* stream --rate: 10 Tbit/s */
#define NB_MAX_BUSY_POLL_US	 1000000

/* The stream message size in effect: msg_bytes, or the protocol's default when it is 0. */
uint32_t nb_cfg_msg_bytes(const struct nb_test_cfg *cfg);

/* Replaces "default for the protocol" values (msg_bytes 0) by the actual ones. Call once the CLI has set
 * the protocol; nb_cfg_check accepts either form. */
void nb_cfg_resolve(struct nb_test_cfg *cfg);

/* nb_cfg_check for the responder, on settings it received: cpu_gen is not checked (it names a CPU of the
 * generator's machine) and cpu_resp is checked against this machine's CPUs (nb_cfg_check only checks it
 * against CPU_SETSIZE, since the responder may be another machine). 0, or -EINVAL with a message. */
int nb_cfg_check_responder(const struct nb_test_cfg *cfg, char *err, size_t errlen);

#endif
