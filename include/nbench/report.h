/* SPDX-License-Identifier: MIT */
/*
 * One report structure per test; text, JSON and CSV are pure functions of it. JSON has iperf3's shape:
 * { "schema_version", "start": {meta, settings, placement, path, dpdk}, "intervals": [...], "end": {...} },
 * "dpdk" (and "end"'s "dpdk_xstats") only when the run used a DPDK port. "start.interfaces" names the
 * hardware of the path (driver, firmware, bus, link), "end.interfaces" what it counted in the measured
 * window; "start.server_interfaces" and "end.server_interfaces" the same of the responder's host, for a
 * responder on another host (-H).
 */
#ifndef NBENCH_REPORT_H
#define NBENCH_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "nbench/cfg.h"
#include "nbench/cpu.h"
#include "nbench/hist.h"
#include "nbench/nic.h"
#include "nbench/sysinfo.h"
#include "nbench/tcpinfo.h"

#define NB_REPORT_SCHEMA_VERSION 1
#define NB_DPDK_MAX_XSTATS	 32

/* One interim line: what happened between start_s and end_s (seconds since the test started, warm-up
 * included; intervals inside the warm-up are marked). */
struct nb_interval {
	double start_s, end_s;
	bool warmup;
	uint64_t bytes;	  /* stream: bytes moved by the side that prints (sent forward, received reverse) */
	uint64_t packets; /* udp stream: datagrams */
	uint64_t txns;	  /* rr/crr: completed transactions */
	uint64_t lost;	  /* udp rr: requests timed out in this interval (a udp stream's is always 0: its loss
			   * is known only at the end) */
	double bps;	  /* bytes*8 / (end-start) */
	double tps;	  /* txns / (end-start) */
	double mean_lat_ns; /* rr/crr: mean latency of the transactions completed in the interval */
	/* TCP stream and rr: the generator's sockets, summed over the flows (nb_tcpinfo_sum): retransmits
	 * (and the reordering counters) in the interval, cwnd, RTT and rates at its end; invalid: none */
	struct nb_tcpinfo tcp;
};

struct nb_flow_result {
	uint64_t bytes_sent, bytes_rcvd; /* payload bytes over the whole run (warm-up included) */
	uint64_t msgs_sent, msgs_rcvd;	 /* datagrams (udp) */
	uint64_t lost;	    /* udp stream: datagrams sent - received (each side's count); udp rr: timeouts */
	uint64_t reordered; /* udp stream: at the receiver */
	uint64_t txns;	    /* rr/crr, measured window only */
	double goodput_bps; /* stream: at the receiver, over the measured window */
	int cpu;	    /* CPU the flow's thread last ran on, -1 unknown */
	/* TCP stream and rr: the flow's socket on each side, its counters over the measured window and the
	 * rest at its end (the generator's at the window's end, the responder's at STOP); invalid: none (a
	 * UDP or crr flow, an engine without a kernel socket, a responder that did not send it) */
	struct nb_tcpinfo tcp, server_tcp;
};

/* One interface of the path: what it is and, when both ends of the measured window were snapshotted, the
 * counters that changed in it. */
struct nb_report_iface {
	struct nb_nic_id id;
	bool counted;		  /* delta holds the window's changes (false: not measured) */
	struct nb_nic_snap delta; /* owned; only counters that changed */
	bool server;		  /* the responder's side, from its RESULT (its id.netns is the server's) */
	unsigned left_out;	  /* server: changed counters the responder did not send (its limit) */
};

/* --hops: one segment of the round trip, from one timestamp to the next (the generator's send, the
 * interfaces in the order the message crosses them, the generator's receive). */
struct nb_report_hop {
	char segment[24]; /* "client stack out", "hop out", "server", "hop back", "client stack in" */
	char from_if[16]; /* "" for the generator's socket */
	char to_if[16];
	char direction[8]; /* "out" (request), "server", "back" (response) */
	char netns[136];   /* where the time is spent: "a" or "a>b" when the hop crosses namespaces */
	char unseen[64];   /* what the segment spans that no capture sees ("the VM guest"), "" none */
	int64_t p50_ns, p90_ns, p99_ns;
	double mean_ns;
	double share;	  /* mean_ns / the mean round trip of the decomposed transactions */
	uint64_t samples; /* transactions decomposed */
	uint64_t
	    unmatched; /* measured transactions whose two timestamps of this segment were not both seen */
};

#define NB_REPORT_MAX_HOPS 40

/* --hops: the decomposition of the capture run and what capture cost. */
struct nb_report_hops {
	char backend[8]; /* "pcap" or "ebpf" */
	unsigned n;
	struct nb_report_hop seg[NB_REPORT_MAX_HOPS];
	uint64_t txns;	       /* transactions the generator logged */
	uint64_t decomposed;   /* of them, seen on every interface both ways */
	double rtt_mean_ns;    /* mean round trip of the decomposed ones: the segments' means sum to it */
	double rtt_without_ns; /* mean round trip of the runs without capture (0: none) */
	double rtt_with_ns;    /* mean round trip of the runs with capture */
	int64_t rtt_p50_without_ns, rtt_p50_with_ns; /* their medians (rr --hops' one run each); 0: unknown */
	unsigned runs_without, runs_with;
	uint64_t ring_evicted; /* messages that fell out of the capture's ring unmatched */
	uint64_t pcap_dropped; /* packets the kernel dropped before libpcap read them */
	char clock[96];	       /* how capture and generator timestamps were put on one clock */
	/* ebpf only */
	double probe_hits;	     /* program runs on the test's packets and sockets per transaction */
	uint64_t records_checked;    /* transactions' records found in the generator's log */
	uint64_t records_consistent; /* of them, starting at its logged send and ending by its receive */
	double tail_ns;		     /* mean time from the last kernel point to the generator's receive */
};

/* --capture: what the pcapng file holds and what was cut from it. */
#define NB_REPORT_MAX_CAPTURE_IFS 16
struct nb_report_capture {
	char file[256];
	uint32_t snap_bytes; /* bytes kept per packet */
	uint64_t max_bytes;  /* the file's size cap */
	uint64_t file_bytes; /* what was written */
	uint64_t packets;    /* written */
	uint64_t truncated;  /* of them, cut to snap_bytes */
	uint64_t over_cap;   /* left out: the file was at its cap */
	uint64_t dropped;    /* dropped by the kernel before libpcap read them */
	unsigned n_ifs;
	struct nb_report_capture_if {
		char name[16];
		char netns[64];
		uint64_t packets, dropped;
	} ifs[NB_REPORT_MAX_CAPTURE_IFS];
	char error[160]; /* "" or why the file is incomplete */
};

struct nb_report {
	/* meta */
	char nbench_version[16];
	char timestamp[32]; /* ISO 8601 UTC of the start */
	char cmdline[512];
	struct nb_sysinfo client; /* the generator's host */
	struct nb_sysinfo server; /* the responder's host, from the handshake */
	bool same_host;		  /* equal boot ids: one machine, one system-wide CPU figure */
	int server_pid;		  /* from the handshake; -1 unknown */

	struct nb_test_cfg cfg; /* effective settings */

	/* placement: where each side ran and how it waited. "0", "0,1", "any" ("" is written as "any");
	 * resp_cpus "unknown" when no RESULT came */
	char gen_cpus[64];
	char resp_cpus[64];
	char gen_wait[32]; /* "block", "spin", "block+busy_poll=50us" */
	char resp_wait[32];

	/* path (topo) */
	char path[32]; /* "" = none (-H) */
	char topo_name[32];
	char *path_json; /* topo's description, JSON text, owned; may be NULL */

	struct nb_interval *intervals; /* owned: nb_report_add_interval */
	unsigned n_intervals, cap_intervals;
	struct nb_flow_result *flows; /* owned: nb_report_set_flows (crr: one, for all its connections) */
	unsigned n_flows;

	/* summary of the measured window */
	double duration_s;
	/* stream */
	uint64_t bytes_sent, bytes_rcvd; /* totals over all flows, whole run: equal for a finished TCP run */
	double goodput_bps;		 /* at the receiver */
	uint64_t msgs_sent, msgs_rcvd, lost, reordered; /* udp stream */
	double loss_pct;				/* lost / msgs_sent x 100 */
	/* rr / crr */
	uint64_t txns; /* sent and completed inside the measured window */
	double tps;
	uint64_t timeouts; /* udp rr: lost requests or responses */
	struct nb_hist_stats lat;
	/* rr --mix: per shape of cfg.mix, the transactions counted in lat and their mean latency (0: none) */
	struct nb_report_mix {
		uint64_t txns;
		double mean_lat_ns;
	} mix[NB_MAX_MIX];
	/* TCP stream and rr: the flows' tcp and server_tcp summed (nb_tcpinfo_sum); invalid: none */
	struct nb_tcpinfo tcp, server_tcp;
	/* cpu: cpu is system-wide on the generator's host (both ends when same_host); server_cpu is the
	 * responder host's when it is another machine. */
	struct nb_cpu_cost cpu;
	struct nb_cpu_cost server_cpu;
	bool server_cpu_valid;

	struct nb_report_hops *hops;	   /* owned; NULL: no --hops */
	struct nb_report_capture *capture; /* owned; NULL: no --capture */

	struct nb_report_iface *ifaces; /* owned: nb_report_add_iface, nb_report_add_server_iface */
	unsigned n_ifaces;

	/* rr --load: the probe (this report's rr) ran beside a paced stream to the same responder; idle is
	 * the same probe run alone just before, the baseline */
	struct nb_report_load {
		bool on;
		enum nb_proto proto;		  /* the stream's */
		double offered_bps, achieved_bps; /* its paced payload rate and its goodput at the receiver */
		double loss_pct;		  /* udp: its loss */
		uint64_t idle_txns, idle_timeouts;
		double idle_tps;
		struct nb_hist_stats idle_lat;
	} load;

	bool complete; /* false: the run failed part way; figures cover what was measured */
	char error[256];
	char notes[4][160]; /* warnings worth a line in every format (disturbed CPU, emulation, ...) */
	unsigned n_notes;

	/* --engine dpdk: the generator's port (pmd[0] == 0 when the run used no DPDK port) */
	struct nb_dpdk_info {
		char pmd[32];	 /* the poll-mode driver: "net_af_packet" */
		char device[64]; /* "net_af_packet0", a PCI address */
		char driver[32]; /* the kernel's driver under it: the vdev's interface's, or the PCI one */
		char iface[16];	 /* a vdev's kernel interface */
		uint32_t link_speed_mbps; /* 0 = unknown */
		bool link_up;
		unsigned n_xstats;
		struct {
			char name[64];
			uint64_t delta;
		} xstats[NB_DPDK_MAX_XSTATS]; /* the port's extended counters that moved during the run */
	} dpdk;
};

/* An empty report: this build's version, server_pid -1, CPU sources "none". */
void nb_report_init(struct nb_report *r);
/* Frees what r owns (intervals, flows, path_json), not r; NULL is fine. */
void nb_report_free(struct nb_report *r);
/* Appends a copy of iv. 0 or -ENOMEM. */
int nb_report_add_interval(struct nb_report *r, const struct nb_interval *iv);
/* Adds a note (cut at 159 bytes); past the fourth, notes are dropped: the first ones explain the rest. */
void nb_report_note(struct nb_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends interface id with the counter changes of the measured window (copied; NULL: not measured).
 * 0 or -ENOMEM. */
int nb_report_add_iface(struct nb_report *r, const struct nb_nic_id *id, const struct nb_nic_snap *delta);
/* nb_report_add_iface for an interface of the responder's host (from its RESULT), marked as the server's;
 * left_out: its changed counters the responder did not send. 0 or -ENOMEM. */
int nb_report_add_server_iface(struct nb_report *r, const struct nb_nic_id *id,
			       const struct nb_nic_snap *delta, unsigned left_out);
/* Notes which drop and error counters of the interfaces (the client's, then the server's) went up in the
 * measured window; nothing when none did. */
void nb_report_note_iface_drops(struct nb_report *r);
/* Adds each interface w watched (nb_report_add_iface: its identity and, when both snapshots were taken, its
 * counter deltas); then notes moved drop or error counters (nb_report_note_iface_drops). 0 or -ENOMEM. */
int nb_report_add_watch(struct nb_report *r, const struct nb_nic_watch *w);

/* Full renderings to out. 0, or -EIO (a write failed), -ENOMEM (JSON). */
int nb_report_write_text(const struct nb_report *r, FILE *out);
/* The container engine of a path as one line, from its description (path_json's "docker": the engine's
 * version, storage driver, iptables backend, cgroup version and driver, the userland proxy, the server
 * container's network and cgroup limits), into buf; "" when the path has none. Text, CSV and JSON reports
 * carry it. */
void nb_report_engine(const char *path_json, char *buf, size_t len);
/* The text report with every changed counter of each interface (-v, --nic-counters), where
 * nb_report_write_text gives each interface's traffic, drops and errors on one line. */
int nb_report_write_text_counters(const struct nb_report *r, FILE *out);
/* nb_report_write_text's flags: every changed counter (as nb_report_write_text_counters); no head, for a
 * report whose head nb_report_write_text_head printed before the interim lines. */
enum { NB_TEXT_COUNTERS = 1, NB_TEXT_NO_HEAD = 2 };
int nb_report_write_text_flags(const struct nb_report *r, unsigned flags, FILE *out);
/* The text report's head, what runs where (its title line, the settings and the hosts, then a blank line):
 * all of it is known once the first interval ends, so a live run prints it before the interim lines and
 * the rest after them with NB_TEXT_NO_HEAD. The full report is the same lines without the interim ones. */
void nb_report_write_text_head(const struct nb_report *r, FILE *out);
int nb_report_write_json(const struct nb_report *r, FILE *out);
int nb_report_write_csv(const struct nb_report *r, FILE *out, bool header);

/* Interim text lines as the test runs: a header once, then a line per interval (not flushed). */
void nb_report_text_interval_header(const struct nb_test_cfg *cfg, FILE *out);
void nb_report_text_interval(const struct nb_test_cfg *cfg, const struct nb_interval *iv, FILE *out);

/* --hops: the waterfall table of h on path (text), its "hops" array (JSON; NULL on no memory) and its
 * rows (CSV: path, segment, interfaces, direction, netns, unseen, statistics; a header line first when
 * header). The full writers add them when r->hops is set: text after the CPU, JSON as end.hops and
 * end.hops_capture, CSV as a second table after a blank line. */
struct cJSON;
void nb_report_text_hops(const struct nb_report_hops *h, const char *path, FILE *out);
struct cJSON *nb_report_hops_json(const struct nb_report_hops *h);
void nb_report_write_hops_csv(const struct nb_report_hops *h, const char *path, FILE *out, bool header);

/* --capture: the line (text) and the object (JSON end.capture; NULL on no memory) of c. The full writers
 * add them when r->capture is set. */
void nb_report_text_capture(const struct nb_report_capture *c, FILE *out);
struct cJSON *nb_report_capture_json(const struct nb_report_capture *c);

/* --hops=ebpf: what one probe hit costs the round trip, the overhead shared out over the hits (of the
 * medians when both runs' are known, else of the means); NAN when it is not known. Each segment holds about
 * one probe's cost. */
double nb_report_hops_probe_ns(const struct nb_report_hops *h);

/* Allocates r->flows as n zeroed entries (cpu = -1), replacing any previous array. 0 or -ENOMEM. */
int nb_report_set_flows(struct nb_report *r, unsigned n);

/* The run's host and NIC context as a single run's report has it in "start", added to the object o: hosts:
 * "client", "server" (each host's name, kernel, CPU; null when never heard from) and "same_host"; nics:
 * "dpdk" (the DPDK port's PMD, device and kernel driver, when that engine ran), "interfaces" and
 * "server_interfaces" (each one's driver, driver version, firmware, bus, link). Reports of many runs
 * (throughput, sweep) carry one run's. */
void nb_report_hosts_json(const struct nb_report *r, struct cJSON *o);
void nb_report_nics_json(const struct nb_report *r, struct cJSON *o);

/* The report's latency_ns object ({min, mean, p50, p90, p99, p999, max, stddev}, ns) of a histogram's
 * figures: rr/crr's end.latency_ns, rr --load's idle probe, throughput --latency's probes. */
struct cJSON *nb_report_latency_json(const struct nb_hist_stats *h);

#endif
