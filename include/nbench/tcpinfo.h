/* SPDX-License-Identifier: MIT */
/*
 * A TCP connection's state as the kernel keeps it (getsockopt TCP_INFO), in nbench's units: what iperf3
 * shows as Retr and Cwnd, and the smoothed RTT, its variance and the pacing rate beside them. The generator
 * samples its flows' sockets at every interval and at the end of the measured window; the responder its own
 * at the end, sent back in its RESULT. A flow without a kernel TCP socket (UDP, DPDK, the loop engine) has
 * none: valid false, which every writer shows as absent or null, never as 0.
 *
 * One struct serves one socket at one instant, the change of its counters between two instants (an
 * interval's retransmits) and a sum over flows (nb_tcpinfo_sum): the fields say which they are in each use.
 */
#ifndef NBENCH_TCPINFO_H
#define NBENCH_TCPINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fields an older kernel may not fill (its struct tcp_info is shorter): bits of nb_tcpinfo.have. */
#define NB_TCPINFO_PACING   (1u << 0) /* pacing_rate_bps (3.15); also clear when the rate is unlimited */
#define NB_TCPINFO_DELIVERY (1u << 1) /* delivery_rate_bps (4.9) */
#define NB_TCPINFO_REORD    (1u << 2) /* reord_seen, dsack_dups (4.19) */
#define NB_TCPINFO_ALL	    (NB_TCPINFO_PACING | NB_TCPINFO_DELIVERY | NB_TCPINFO_REORD)

struct nb_tcpinfo {
	bool valid;		  /* false: no TCP state (no kernel TCP socket, or it could not be read) */
	unsigned have;		  /* NB_TCPINFO_* bits of the fields below that hold a figure */
	uint64_t retransmits;	  /* segments retransmitted (tcpi_total_retrans): since the connection opened,
				   * or in a window when a difference (nb_tcpinfo_since) */
	uint64_t cwnd_segs;	  /* congestion window in segments (tcpi_snd_cwnd) */
	uint64_t cwnd_bytes;	  /* cwnd_segs x mss_bytes */
	uint32_t mss_bytes;	  /* sending MSS (tcpi_snd_mss) */
	uint32_t srtt_us;	  /* smoothed round-trip time (tcpi_rtt), microseconds */
	uint32_t rttvar_us;	  /* its mean deviation (tcpi_rttvar), microseconds */
	uint64_t pacing_rate_bps; /* the rate TCP paces to (or would, with fq), bits/s */
	uint64_t delivery_rate_bps; /* the most recent delivery rate sample, bits/s */
	uint64_t reord_seen;	    /* reordering events seen (as retransmits: a count or a difference) */
	uint64_t dsack_dups;	    /* DSACKs received: segments the peer got twice, so retransmits that
				     * were spurious (reordering taken for loss) */
};

/* Fills ret from buf, len bytes of the kernel's struct tcp_info (linux/tcp.h) as getsockopt returned
 * them: fields past len (an older kernel) stay out of ret->have. 0, or -EPROTO (ret invalid) when len is
 * too short for the fields every kernel since 2.6 fills. */
int nb_tcpinfo_parse(const void *buf, size_t len, struct nb_tcpinfo *ret);

/* Reads TCP_INFO of the TCP socket fd into ret (nb_tcpinfo_parse). 0, or -errno with ret invalid: -EBADF
 * for fd < 0 (a flow without a kernel socket), what getsockopt said (-EOPNOTSUPP: not TCP). Callable from
 * any thread while fd is open. */
int nb_tcpinfo_get(int fd, struct nb_tcpinfo *ret);

/* now's state with its counters (retransmits, reord_seen, dsack_dups) made differences from then (an
 * earlier sample of the same socket): a window's. then invalid: now's counters as they are (since the
 * connection opened). A counter that went down (not the same socket) counts 0. */
void nb_tcpinfo_since(const struct nb_tcpinfo *now, const struct nb_tcpinfo *then, struct nb_tcpinfo *ret);

/* Flows' TCP state added up: nb_tcpinfo_sum_add each, then nb_tcpinfo_sum_get. */
struct nb_tcpinfo_sum {
	struct nb_tcpinfo t;
	uint64_t srtt_sum_us, rttvar_sum_us;
	unsigned n; /* valid states added */
};
/* Adds one flow's state (an invalid one is skipped). s starts zeroed. */
void nb_tcpinfo_sum_add(struct nb_tcpinfo_sum *s, const struct nb_tcpinfo *one);
/* The total into ret: counters, windows and rates summed, srtt and rttvar the mean over the flows, mss the
 * largest, have the fields every flow had; invalid when no valid state was added. */
void nb_tcpinfo_sum_get(const struct nb_tcpinfo_sum *s, struct nb_tcpinfo *ret);

#endif
