// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * --hops=ebpf, the kernel side: stamps each message of the test where it crosses an interface of the path
 * and where it enters and leaves the two sockets, and adds each finished transaction's segments to per-CPU
 * aggregates. Nothing is sent to user space while the test runs: the loader (gen/hops_bpf.c) reads the
 * aggregates and the newest transactions' records after it.
 *
 * Which messages: packets of the test's protocol to or from the server's ports (both sides of a NAT), on
 * the interfaces the loader listed by (network namespace inode, ifindex); and send/receive calls on sockets
 * with those ports in the client's or the server's namespace. Which transaction a packet belongs to, by what
 * NAT does not change: for UDP the marker at the start of the payload (flow, sequence number; workload.h's
 * NB_MARK_*); for TCP the sequence number, which the send hook ties to the marker it reads from the
 * application's buffer (the payload of a TCP skb lives in page fragments, out of easy reach); for crr the
 * client's initial sequence number, which every packet of the connection carries in its seq or ack field.
 *
 * Hooks, all tracepoints (tp_btf; kprobes and fentry are not needed, and some kernels refuse them: this
 * machine's refuses even an empty fentry program). Each run of a program costs ~100-200 ns here (an AMD
 * EPYC VM; dispatch, a clock read, the lookups), which is what --hops' overhead is made of:
 * net_dev_start_xmit (an interface transmits) and netif_receive_skb (an interface receives, in the softirq
 * that processes it, where a packet capture's receive tap also sits); tcp_sendmsg_locked (a send reached TCP;
 * the application's buffer is readable there); sk_data_ready (the message is in the receiving socket and its
 * reader is woken); sock_recv_length (the receive call returns); for crr inet_sock_set_state (connect() sends
 * the SYN; the SYN-ACK makes the connection established). The generator writes its own send time into each
 * request after the marker, so the first segment starts where the generator's clock did. netif_rx is not
 * hooked: on a veth it fires in the sender's context right after the transmit, so it would add a second point
 * per interface whose segment is only the enqueue to the peer's backlog.
 */
#include "kernel_min.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "hops_abi.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

#define ETH_P_IP   0x0800
#define ETH_P_IPV6 0x86dd
#define TCP_SYN	   0x02
#define TCP_ACK	   0x10
#define MSG_PEEK   2
/* A generator's send time further than this before the first kernel point is not one (1 s). */
#define USER_MAX_NS 1000000000ull
#define FNV_BASIS   14695981039346656037ull
#define FNV_PRIME   1099511628211ull

const volatile struct nb_hb_cfg cfg = {};

/* Set by the loader while the programs are attached for a run. */
__u32 armed;
/* The generator's measured window (CLOCK_MONOTONIC), set by the loader once the test starts: only
 * transactions sent from win_lo_ns and complete by win_hi_ns are aggregated, as the generator measures. */
__u64 win_lo_ns = ~0ull;
__u64 win_hi_ns;

/* The chains seen so far: their hash (to find them) and their points (for the loader to name). */
__u32 n_chains;
__u64 chain_hash[NB_HB_CHAINS];
__u8 chain_n[NB_HB_CHAINS];
__u8 chain_pts[NB_HB_CHAINS][NB_HB_PTS];

/* rr over TCP: the sequence number each message starts at, from the send hook, to its marker. Direct
 * mapped: a few messages are in flight per flow, so a slot is reused long after its message arrived. */
struct nb_hb_seq seqs[NB_HB_SEQ_SLOTS];

/* Per socket, direct mapped by its address: the record a response waits in for the receive call to
 * finish it (pend), and crr's connect() start until the SYN shows which connection it is (conn). */
struct nb_hb_sk pend[NB_HB_SK_SLOTS];
struct nb_hb_sk conn[NB_HB_SK_SLOTS];

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NB_HB_TXNS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct nb_hb_txn);
} txns SEC(".maps");

/* rr with notes: the generator's, by client port (hops_abi.h), written by it through a mapping */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NB_HB_NOTES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct nb_hb_note);
} notes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NB_HB_CHAINS);
	__type(key, __u32);
	__type(value, struct nb_hb_sums);
} sums SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NB_HB_CHAINS *NB_HB_PTS);
	__type(key, __u32);
	__type(value, struct nb_hb_bins);
} bins SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NB_HB_C_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 c)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &c);
	if (v)
		(*v)++;
}

/* NBENCH_HOPS_FLOOR=2: what a hook costs that takes one timestamp and does nothing else */
__u64 floor_sink;
static __always_inline void floor_clock(void)
{
	if (cfg.floor == 2)
		floor_sink = bpf_ktime_get_ns();
}

static __always_inline bool is_port(__u16 p)
{
	for (__u32 i = 0; i < 4; i++)
		if (i < cfg.n_ports && cfg.ports[i] == p)
			return true;
	return false;
}

static __always_inline __u32 sk_slot(const void *sk)
{
	return (__u32)(((__u64)sk >> 6) * 2654435761u) & (NB_HB_SK_SLOTS - 1);
}

/* ---- the marker (workload.h): u64 sequence, u24 flow, u8 shape, "nbH", 'q' or 'r'; then the send time ----
 */

static __always_inline bool mark_ok(const __u8 *m)
{
	return m[12] == 'n' && m[13] == 'b' && m[14] == 'H' && (m[15] == 'q' || m[15] == 'r');
}

static __always_inline __u64 le64(const __u8 *m)
{
	__u64 s = 0;
	for (int i = 7; i >= 0; i--)
		s = s << 8 | m[i];
	return s;
}

/* 24 bits: the marker's byte 11 is an rr --mix request's shape (workload.h) */
static __always_inline __u32 mark_flow(const __u8 *m)
{
	return (__u32)m[8] | (__u32)m[9] << 8 | (__u32)m[10] << 16;
}

static __always_inline __u32 mark_phase(const __u8 *m)
{
	return m[15] == 'q' ? NB_HB_PH_REQ : NB_HB_PH_RESP;
}

/* ---- records ---- */

static __always_inline __u32 rr_idx(__u32 flow, __u64 seq)
{
	__u32 per = 1u << (cfg.txn_shift & 31);
	return ((flow << (cfg.txn_shift & 31)) | ((__u32)seq & (per - 1))) & (NB_HB_TXNS - 1);
}

static __always_inline __u32 crr_idx(__u32 isn)
{
	return (isn * 2654435761u) >> (32 - 14);
}

/* The open record of (flow, seq), or NULL. */
static __always_inline struct nb_hb_txn *txn_find(__u32 flow, __u64 seq)
{
	__u32 idx = rr_idx(flow, seq);
	struct nb_hb_txn *t = bpf_map_lookup_elem(&txns, &idx);
	return t && t->state == NB_HB_ST_OPEN && t->seq == seq && t->flow == flow ? t : NULL;
}

/* The same, counting a miss (a sighting whose record was taken by a later transaction, or never made). */
static __always_inline struct nb_hb_txn *txn_rr(__u32 flow, __u64 seq)
{
	struct nb_hb_txn *t = txn_find(flow, seq);
	if (!t)
		count(NB_HB_C_NOSLOT);
	return t;
}

/* crr: the open record of the connection whose client ISN is isn, or NULL. */
static __always_inline struct nb_hb_txn *txn_crr(__u32 isn)
{
	__u32 idx = crr_idx(isn);
	struct nb_hb_txn *t = bpf_map_lookup_elem(&txns, &idx);
	if (!t || t->state != NB_HB_ST_OPEN || t->key != isn) {
		count(NB_HB_C_NOSLOT);
		return NULL;
	}
	return t;
}

/* Starts record idx with its first kernel point pt, stamped t_ns. */
static __always_inline struct nb_hb_txn *txn_open(__u32 idx, __u32 flow, __u64 seq, __u32 key, __u8 pt,
						  __u64 t_ns)
{
	struct nb_hb_txn *t = bpf_map_lookup_elem(&txns, &idx);
	if (!t)
		return NULL;
	t->state = NB_HB_ST_FREE;
	t->seq = seq;
	t->flow = flow;
	t->key = key;
	t->marked = 0;
	t->bad = 0;
	t->hash = (FNV_BASIS ^ pt) * FNV_PRIME;
	t->t_user_ns = 0;
	t->seen[0] = 0;
	t->seen[1] = 0;
	t->seen[(pt >> 6) & 1] = 1ull << (pt & 63);
	t->pt[0] = pt;
	t->dt_ns[0] = 0;
	t->n = 1;
	t->t0_ns = t_ns;
	t->state = NB_HB_ST_OPEN;
	return t;
}

/* The generator's send time u (0: none) becomes t's first point, when it is one. */
static __always_inline void set_user(struct nb_hb_txn *t, __u64 u)
{
	if (u && u <= t->t0_ns && t->t0_ns - u < USER_MAX_NS)
		t->t_user_ns = u;
}

/* Stamps point pt of t at when, unless it has one already (a retransmission keeps the first sighting); the
 * chain's hash and its time order follow as the points come. */
static __always_inline void add_point_at(struct nb_hb_txn *t, __u8 pt, __u64 when)
{
	__u32 w = (pt >> 6) & 1;
	__u64 bit = 1ull << (pt & 63);
	if (t->seen[w] & bit)
		return;
	__u32 n = t->n;
	if (n >= NB_HB_PTS - 1 || n < 1) {
		count(NB_HB_C_FULL);
		return;
	}
	__u32 dt = (__u32)(when - t->t0_ns);
	t->seen[w] |= bit;
	t->pt[n] = pt;
	t->dt_ns[n] = dt;
	t->n = n + 1;
	t->hash = (t->hash ^ pt) * FNV_PRIME;
	/* points stamped on two CPUs at once may be stored out of order */
	if (dt < t->dt_ns[(n - 1) & (NB_HB_PTS - 1)])
		t->bad = 1;
}

static __always_inline void add_point(struct nb_hb_txn *t, __u8 pt)
{
	add_point_at(t, pt, bpf_ktime_get_ns());
}

/* finish()'s copy of a new chain's points runs through bpf_loop (once per chain); its loop over the
 * segments is a plain bounded loop, not unrolled (the verifier walks it an iteration at a time; unrolled,
 * a 31-point chain took it a minute) and without a call per iteration (bpf_loop's). */
struct fin {
	struct nb_hb_txn *t;
	__u32 n, u; /* kernel points; 1 when the generator's send time leads the chain */
	__u32 c;    /* the chain slot */
	__u64 hash;
};

/* Point i of the chain ([the generator's send] and the kernel points). */
static __always_inline __u8 fin_pt(const struct fin *f, __u32 i)
{
	if (f->u && i == 0)
		return NB_HB_PT(cfg.crr ? NB_HB_PH_SYN : NB_HB_PH_REQ, NB_HB_AT_USER);
	return f->t->pt[(i - f->u) & (NB_HB_PTS - 1)];
}

static long fin_copy_cb(__u64 i, void *arg)
{
	struct fin *f = arg;
	chain_pts[f->c & (NB_HB_CHAINS - 1)][i & (NB_HB_PTS - 1)] = fin_pt(f, (__u32)i);
	return 0;
}

/* Segment i + 1, d ns (from point i to i + 1), into the chain's aggregates. */
static __always_inline void fin_seg(const struct fin *f, struct nb_hb_sums *g, __u32 i, __u32 d)
{
	i &= NB_HB_PTS - 1;
	g->count[i]++;
	g->sum_ns[i] += d;
	__u32 key = f->c * NB_HB_PTS + i;
	struct nb_hb_bins *h = bpf_map_lookup_elem(&bins, &key);
	__u32 b = nb_hb_bin(d);
	barrier_var(b); /* the compiler knows b < NB_HB_BINS; the verifier must be shown */
	if (h && b < NB_HB_BINS)
		h->bins[b]++;
}

/* The chain slot of f's points (found by their hash, or taken), NB_HB_CHAINS when none is left. */
static __always_inline __u32 chain_of(struct fin *f, __u32 m)
{
	__u32 have = n_chains;
	for (__u32 c = 0; c < NB_HB_CHAINS; c++) {
		if (c >= have)
			break;
		if (chain_hash[c] == f->hash)
			return c;
	}
	__u32 c = __sync_fetch_and_add(&n_chains, 1);
	if (c >= NB_HB_CHAINS)
		return NB_HB_CHAINS;
	f->c = c;
	bpf_loop(m, fin_copy_cb, f, 0);
	chain_n[c] = m;
	chain_hash[c] = f->hash;
	return c;
}

static __always_inline void set_state(struct nb_hb_txn *t, __u32 st, __u32 counter)
{
	t->state = st;
	count(counter);
}

/* The transaction's last point is in, at last_ns: its segments go into their chain's aggregates. */
static __always_inline void finish(struct nb_hb_txn *t, __u64 last_ns)
{
	/* the chain: its kernel points' hash, and whether the generator's send time leads it */
	struct fin f = {
	    .t = t, .n = t->n, .u = t->t_user_ns ? 1 : 0, .hash = t->hash ^ (t->t_user_ns ? 1 : 0)};
	__u64 first = t->t_user_ns ? t->t_user_ns : t->t0_ns;
	if (first < win_lo_ns || last_ns > win_hi_ns)
		return set_state(t, NB_HB_ST_LATE, NB_HB_C_LATE);
	__u32 m = f.n + f.u;
	if (f.n < 1 || f.n > NB_HB_PTS - 1 || m < 2)
		return;
	if (t->bad)
		return set_state(t, NB_HB_ST_LATE, NB_HB_C_FULL);
	f.c = chain_of(&f, m);
	if (f.c >= NB_HB_CHAINS)
		return set_state(t, NB_HB_ST_LATE, NB_HB_C_FULL);
	__u32 ck = f.c;
	struct nb_hb_sums *g = bpf_map_lookup_elem(&sums, &ck);
	if (!g)
		return;
	if (f.u) /* the generator's send to the first kernel point */
		fin_seg(&f, g, 0, (__u32)(t->t0_ns - t->t_user_ns));
	__u32 prev = 0; /* the kernel points' times after the first */
#pragma clang loop unroll(disable)
	for (__u32 k = 1; k < NB_HB_PTS - 1; k++) {
		if (k >= f.n)
			break;
		__u32 dt = t->dt_ns[k & (NB_HB_PTS - 1)];
		fin_seg(&f, g, k - 1 + f.u, dt - prev);
		prev = dt;
	}
	t->chain = (__u8)f.c;
	set_state(t, NB_HB_ST_DONE, NB_HB_C_DONE);
}

/* ---- sockets of the test ---- */

/* Which end sk is: 1 the server (in the server's namespace, its local port one of the test's), 2 the client
 * (in the client's, the peer's port one of them), 0 neither. */
static __always_inline int sock_end(const struct sock *sk)
{
	if (!sk) /* a packet's socket: none once it left its sender's stack */
		return 0;
	__u32 ns = sk->__sk_common.skc_net.net->ns.inum;
	if (ns == cfg.netns_server && is_port(sk->__sk_common.skc_num))
		return 1;
	if (ns == cfg.netns_client && is_port(bpf_ntohs(sk->__sk_common.skc_dport)))
		return 2;
	return 0;
}

/* sk as the tcp_sock it is, for direct loads (no helper call; the verifier types each against the kernel's
 * own struct) */
static __always_inline const struct tcp_sock *tcp_of(const struct sock *sk)
{
	return bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct tcp_sock));
}

static __always_inline __u32 tcp_u32(const struct sock *sk, bool rcv_nxt)
{
	const struct tcp_sock *tp = tcp_of(sk);
	return rcv_nxt ? tp->rcv_nxt : tp->write_seq;
}

/* ---- packets ---- */

struct pkt {
	__u16 sport, dport;
	__u32 seq, ack, paylen;
	__u8 flags;
	bool udp, marked;
	__u8 mark[24]; /* UDP: the marker and the send time */
};

/* The headers' bytes as they are on the wire. The programs read them with direct loads through
 * bpf_rdonly_cast (the verifier checks each against the kernel's own struct iphdr ... and the JIT emits a
 * plain load with an exception-table entry): no helper call per packet. */
struct nb_ip4 {
	__u8 vihl, tos;
	__be16 tot_len, id, frag_off;
	__u8 ttl, protocol;
};
struct nb_ip6 {
	__u8 vtc, flow[3];
	__be16 payload_len;
	__u8 nexthdr, hop_limit;
};
struct nb_tcp {
	__be16 source, dest;
	__be32 seq, ack_seq;
	__u8 doff_res, flags;
};
struct nb_udp {
	__be16 source, dest, len, check;
};

/* The TCP or UDP header at l4 and, for UDP, the marker and the send time when they are in the skb's
 * linear part (linear: the bytes from l4 on that are). */
static __always_inline bool parse_l4(unsigned char *l4, __u8 proto, __u32 iplen, __u32 linear, struct pkt *p)
{
	if (proto == 17) {
		const struct nb_udp *u = bpf_rdonly_cast(l4, bpf_core_type_id_kernel(struct udphdr));
		p->sport = bpf_ntohs(u->source);
		p->dport = bpf_ntohs(u->dest);
		p->udp = true;
		p->paylen = iplen - 8;
		if (linear < 8 + 24 || p->paylen < 16 || bpf_probe_read_kernel(p->mark, 24, l4 + 8)) {
			count(NB_HB_C_SHORT);
			return true;
		}
		p->marked = true;
		return true;
	}
	if (proto != 6)
		return false;
	const struct nb_tcp *t = bpf_rdonly_cast(l4, bpf_core_type_id_kernel(struct tcphdr));
	p->sport = bpf_ntohs(t->source);
	p->dport = bpf_ntohs(t->dest);
	p->seq = bpf_ntohl(t->seq);
	p->ack = bpf_ntohl(t->ack_seq);
	__u32 doff = (t->doff_res >> 4) * 4;
	p->flags = t->flags;
	p->paylen = iplen > doff ? iplen - doff : 0;
	return true;
}

/* The test's TCP or UDP header of skb (at xmit the data starts at the link header, at receive at the
 * network header). IPv4 without options and IPv6 without extension headers, as the test sends. */
static __always_inline bool parse(struct sk_buff *skb, bool xmit, struct pkt *p)
{
	unsigned char *head = skb->head, *data = skb->data;
	__u32 off = xmit ? skb->network_header : (__u32)(data - head);
	__u32 linear = skb->len - skb->data_len - (off - (__u32)(data - head));
	__u16 proto = bpf_ntohs(skb->protocol);
	if (proto == ETH_P_IP) {
		const struct nb_ip4 *ip = bpf_rdonly_cast(head + off, bpf_core_type_id_kernel(struct iphdr));
		if (ip->vihl != 0x45 || (bpf_ntohs(ip->frag_off) & 0x3fff)) /* options, or a fragment */
			return false;
		return parse_l4(head + off + 20, ip->protocol, (__u32)bpf_ntohs(ip->tot_len) - 20,
				linear - 20, p);
	}
	if (proto == ETH_P_IPV6) {
		const struct nb_ip6 *ip =
		    bpf_rdonly_cast(head + off, bpf_core_type_id_kernel(struct ipv6hdr));
		if ((ip->vtc >> 4) != 6)
			return false;
		return parse_l4(head + off + 40, ip->nexthdr, bpf_ntohs(ip->payload_len), linear - 40, p);
	}
	return false;
}

/* The path's interface number of dev, or -1. */
static __always_inline int if_of(struct net_device *dev)
{
	if (!dev)
		return -1;
	__u32 ifindex = dev->ifindex;
	__u32 ns = dev->nd_net.net->ns.inum;
	__u32 h = nb_hb_if_hash(ns, ifindex);
	for (__u32 k = 0; k < NB_HB_IF_PROBE; k++) {
		const volatile struct nb_hb_if *e = &cfg.ifs[(h + k) & (NB_HB_IF_SLOTS - 1)];
		if (!e->netns_ino)
			return -1;
		if (e->netns_ino == ns && e->ifindex == ifindex)
			return (int)e->idx;
	}
	return -1;
}

static __always_inline struct nb_hb_seq *seq_ent(__u32 seq, __u32 phase)
{
	return &seqs[(((seq ^ phase) * 2654435761u) >> (32 - 12)) & (NB_HB_SEQ_SLOTS - 1)];
}

/* rr over TCP: the record of the message whose sequence number entry (seq, phase) is, or NULL (quiet). */
static __always_inline struct nb_hb_txn *txn_find_seq(__u32 seq, __u32 phase)
{
	struct nb_hb_seq *e = seq_ent(seq, phase);
	if (!e->used || e->seq != seq || e->phase != phase)
		return NULL;
	return txn_find(e->flow, e->msg);
}

/* rr over TCP: the record of the message starting at seq. */
static __always_inline struct nb_hb_txn *txn_of_seq(__u32 seq, __u32 phase)
{
	struct nb_hb_txn *t = txn_find_seq(seq, phase);
	if (!t)
		count(NB_HB_C_NOSLOT);
	return t;
}

/* ---- rr with notes (cfg.notes): the generator says which transaction a send is ---- */

static __always_inline struct nb_hb_note *note_of(__u16 port)
{
	__u32 k = port;
	struct nb_hb_note *n = bpf_map_lookup_elem(&notes, &k);
	return n && n->valid ? n : NULL;
}

/* The generator received n's done_seq's response at t_done_ns: that transaction's last point, and its
 * end (once: a finished record is no longer open). */
static __always_inline void note_done(const struct nb_hb_note *n)
{
	__u64 at = n->t_done_ns;
	struct nb_hb_txn *t = at ? txn_find(n->flow, n->done_seq) : NULL;
	if (!t)
		return;
	add_point_at(t, NB_HB_PT(NB_HB_PH_RESP, NB_HB_AT_USER), at);
	finish(t, at);
}

static __always_inline void seq_put(__u32 tcp_seq, __u32 phase, __u32 flow, __u64 msg)
{
	struct nb_hb_seq *e = seq_ent(tcp_seq, phase);
	e->used = 0;
	e->seq = tcp_seq;
	e->phase = phase;
	e->flow = flow;
	e->msg = msg;
	e->used = 1;
}

/* TCP's departure time of a packet its socket sends, when it is one to believe (not ahead of now, not from
 * long ago), else 0. */
static __always_inline __u64 departure(const struct sk_buff *skb, __u64 now)
{
	__u64 ts = skb->tstamp;
	return ts && ts <= now && now - ts < 1000000 ? ts : 0;
}

/* rr over TCP: a packet of a request the client's socket transmits, the first of the request its note names
 * (true; false: not the client's socket's, or a later packet): opens the record at TCP's departure time,
 * ties the request's first sequence number and the acknowledgment that answers it (its last + 1) to it, and
 * ends the transaction before. Asked before the sequence number's entry, which is cold until then. */
static __always_inline bool rr_open_tcp(struct sk_buff *skb, const struct pkt *p, __u8 pt_if)
{
	if (sock_end(skb->sk) != 2) /* past the client's own transmit the packet has no socket */
		return false;
	struct nb_hb_note *n = note_of(p->sport);
	if (!n)
		return false;
	__u32 flow = n->flow;
	__u64 seq = n->seq;
	if (txn_find(flow, seq)) /* a later packet of a request already open */
		return false;
	__u64 now = bpf_ktime_get_ns(), dep = departure(skb, now);
	struct nb_hb_txn *t = txn_open(rr_idx(flow, seq), flow, seq, 0,
				       dep ? NB_HB_PT(NB_HB_PH_REQ, NB_HB_AT_SEND) : pt_if, dep ? dep : now);
	if (!t)
		return true;
	t->resp_len = n->resp_len;
	t->resp_end = 0;
	set_user(t, n->t_send_ns);
	if (dep)
		add_point_at(t, pt_if, now);
	seq_put(p->seq, NB_HB_PH_REQ, flow, seq);
	seq_put(p->seq + n->req_len, NB_HB_PH_RESP, flow, seq);
	note_done(n);
	return true;
}

/* rr over TCP with notes: a packet of a response (its acknowledgment names the request) seen at pt_if.
 * The server's own transmit also gives TCP's departure time, and where the response ends. */
static __always_inline void rr_resp_tcp(struct sk_buff *skb, const struct pkt *p, __u8 pt_if, bool rx)
{
	struct nb_hb_txn *t = txn_of_seq(p->ack, NB_HB_PH_RESP);
	if (!t)
		return;
	__u64 now = bpf_ktime_get_ns();
	if (!rx && NB_HB_PT_PHASE(t->pt[(t->n - 1) & (NB_HB_PTS - 1)]) == NB_HB_PH_REQ &&
	    sock_end(skb->sk) == 1) {
		__u64 dep = departure(skb, now);
		if (dep)
			add_point_at(t, NB_HB_PT(NB_HB_PH_RESP, NB_HB_AT_SEND), dep);
		t->resp_end = p->seq + t->resp_len;
	}
	add_point_at(t, pt_if, now);
}

/* UDP: the record of a marked datagram; the request's first sighting opens it. */
static __always_inline struct nb_hb_txn *udp_txn(const struct pkt *p, __u32 *phase, __u8 pt_if)
{
	__u32 flow = mark_flow(p->mark);
	__u64 seq = le64(p->mark);
	*phase = mark_phase(p->mark);
	struct nb_hb_txn *t = txn_find(flow, seq);
	if (t)
		return t;
	if (*phase != NB_HB_PH_REQ) {
		count(NB_HB_C_NOSLOT);
		return NULL;
	}
	t = txn_open(rr_idx(flow, seq), flow, seq, 0, NB_HB_PT(NB_HB_PH_REQ, pt_if), bpf_ktime_get_ns());
	if (t && cfg.tsend)
		set_user(t, le64(p->mark + 16));
	if (cfg.notes) {
		struct nb_hb_note *n = note_of(p->sport);
		if (n)
			note_done(n);
	}
	return NULL; /* its point is in */
}

/* crr: a SYN the client's socket sends opens the connection's record, from connect()'s start when the
 * state change was seen. */
static __always_inline void crr_syn(struct sk_buff *skb, const struct pkt *p, __u8 pt)
{
	__u32 isn = p->seq;
	struct sock *sk = skb->sk;
	struct nb_hb_sk *c = &conn[sk_slot(sk)];
	__u64 now = bpf_ktime_get_ns();
	if (c->used && c->sk == (__u64)sk && now - c->t_ns < USER_MAX_NS) {
		c->used = 0;
		struct nb_hb_txn *t =
		    txn_open(crr_idx(isn), 0, 0, isn, NB_HB_PT(NB_HB_PH_SYN, NB_HB_AT_CONN), c->t_ns);
		if (t)
			add_point(t, pt);
		return;
	}
	txn_open(crr_idx(isn), 0, 0, isn, pt, now);
}

/* crr: the record of the connection whose server sends from server ISN + 1 = seq (the SYN-ACK said). */
static __always_inline struct nb_hb_txn *crr_of_srv_seq(__u32 seq)
{
	struct nb_hb_seq *e = seq_ent(seq, NB_HB_PH_RESP);
	if (!e->used || e->seq != seq) {
		count(NB_HB_C_NOSLOT);
		return NULL;
	}
	return txn_crr((__u32)e->msg);
}

/* crr: the record and phase of a TCP packet of a connection (SYN-ACK, the request, the response). The
 * SYN-ACK's first sighting ties the server's sequence numbers to the connection. */
static __always_inline struct nb_hb_txn *crr_of_pkt(const struct pkt *p, bool req, __u32 *phase)
{
	if ((p->flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK)) {
		*phase = NB_HB_PH_SYNACK;
		struct nb_hb_txn *t = txn_crr(p->ack - 1);
		if (t && !(t->seen[1] & (0xffffffffull << 32))) { /* its first SYN-ACK sighting */
			struct nb_hb_seq *e = seq_ent(p->seq + 1, NB_HB_PH_RESP);
			e->used = 0;
			e->seq = p->seq + 1;
			e->phase = NB_HB_PH_RESP;
			e->msg = t->key;
			e->used = 1;
		}
		return t;
	}
	if (!p->paylen || (p->flags & TCP_SYN))
		return NULL;
	*phase = req ? NB_HB_PH_REQ : NB_HB_PH_RESP;
	return req ? txn_crr(p->seq - 1) : crr_of_srv_seq(p->seq);
}

static __always_inline void on_dev(struct sk_buff *skb, struct net_device *dev, __u32 rx)
{
	if (cfg.floor)
		return floor_clock();
	if (!armed)
		return;
	int i = if_of(dev);
	if (i < 0 || i >= (int)NB_HB_MAX_IFS)
		return;
	count(NB_HB_C_PKTS);
	struct pkt p = {};
	if (!parse(skb, !rx, &p) || p.udp != (cfg.proto == 17))
		return;
	bool req = is_port(p.dport);
	if (!req && !is_port(p.sport))
		return;
	__u8 where = (__u8)(2 * (__u32)i + rx);
	struct nb_hb_txn *t;
	__u32 phase;
	if (p.udp) {
		if (!p.marked || !mark_ok(p.mark))
			return;
		t = udp_txn(&p, &phase, where);
	} else if (cfg.crr) {
		if ((p.flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
			phase = NB_HB_PH_SYN;
			t = txn_crr(p.seq);
			if (!t && req && !rx) /* the first sighting: the client's transmit */
				crr_syn(skb, &p, NB_HB_PT(NB_HB_PH_SYN, where));
		} else {
			t = crr_of_pkt(&p, req, &phase);
		}
	} else if (cfg.notes) {
		if (!p.paylen)
			return;
		if (!req)
			return rr_resp_tcp(skb, &p, NB_HB_PT(NB_HB_PH_RESP, where), rx);
		phase = NB_HB_PH_REQ;
		if (!rx && rr_open_tcp(skb, &p, NB_HB_PT(phase, where)))
			return;
		t = txn_find_seq(p.seq, phase);
	} else {
		if (!p.paylen)
			return;
		phase = req ? NB_HB_PH_REQ : NB_HB_PH_RESP;
		t = txn_of_seq(p.seq, phase);
	}
	if (t)
		add_point(t, NB_HB_PT(phase, where));
}

SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(nb_xmit, struct sk_buff *skb, struct net_device *dev)
{
	on_dev(skb, dev, 0);
	return 0;
}

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(nb_receive, struct sk_buff *skb)
{
	on_dev(skb, skb->dev, 1);
	return 0;
}

/* ---- sockets ---- */

/* The len (12 or 24) bytes at offset off of what the application sends into m: the marker and the send
 * time, or a frame's header. */
static __always_inline bool user_mark(const struct msghdr *msg, __u32 off, __u32 len, __u8 *m)
{
	const struct iov_iter *it = &msg->msg_iter;
	__u8 type = it->iter_type;
	void *base;
	if (type == bpf_core_enum_value(enum iter_type, ITER_UBUF)) {
		base = it->ubuf;
	} else if (type == bpf_core_enum_value(enum iter_type, ITER_IOVEC)) {
		const struct iovec *iov;
		if (bpf_core_field_exists(it->__iov))
			iov = it->__iov;
		else
			iov = BPF_CORE_READ((struct iov_iter___old *)it, iov);
		base = BPF_CORE_READ(iov, iov_base);
	} else {
		return false;
	}
	base += it->iov_offset + off;
	return !bpf_probe_read_user(m, len == 12 ? 12 : 24, base);
}

/* rr over TCP: a marked message reaches TCP at sequence number wseq. The client's request opens its
 * transaction's record. */
static __always_inline void rr_send(const __u8 *m, __u32 wseq)
{
	__u32 flow = mark_flow(m), phase = mark_phase(m);
	__u64 seq = le64(m);
	seq_put(wseq, phase, flow, seq);
	__u8 pt = NB_HB_PT(phase, NB_HB_AT_SEND);
	if (phase == NB_HB_PH_REQ) {
		struct nb_hb_txn *t = txn_open(rr_idx(flow, seq), flow, seq, 0, pt, bpf_ktime_get_ns());
		if (t && cfg.tsend)
			set_user(t, le64(m + 16));
		return;
	}
	struct nb_hb_txn *t = txn_rr(flow, seq);
	if (t)
		add_point(t, pt);
}

/* crr: the client's request (the marker after the hello frame names the transaction; the frame's header,
 * proto.h's, ends with its body's length, big-endian, at offset 8) or the server's response. */
static __always_inline void crr_send(const struct sock *sk, const struct msghdr *msg, int end)
{
	__u32 wseq = tcp_u32(sk, false);
	if (end == 1) {
		struct nb_hb_txn *t = crr_of_srv_seq(wseq);
		if (t)
			add_point(t, NB_HB_PT(NB_HB_PH_RESP, NB_HB_AT_SEND));
		return;
	}
	struct nb_hb_txn *t = txn_crr(wseq - 1);
	__u8 m[24];
	if (!t)
		return;
	if (user_mark(msg, 0, 12, m)) {
		__u32 off = 12 + ((__u32)m[8] << 24 | (__u32)m[9] << 16 | (__u32)m[10] << 8 | m[11]);
		if (off < 4096 && user_mark(msg, off, 24, m) && mark_ok(m)) {
			t->flow = mark_flow(m);
			t->seq = le64(m);
			t->marked = 1;
			if (cfg.tsend)
				set_user(t, le64(m + 16));
		}
	}
	add_point(t, NB_HB_PT(NB_HB_PH_REQ, NB_HB_AT_SEND));
}

SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(nb_tcp_send, const struct sock *sk, const struct msghdr *msg, const struct sk_buff *skb,
	     int size_goal)
{
	if (cfg.floor) {
		floor_clock();
		return 0;
	}
	if (!armed)
		return 0;
	int end = sock_end(sk);
	if (!end)
		return 0;
	count(NB_HB_C_SOCK);
	if (cfg.crr) {
		crr_send(sk, msg, end);
		return 0;
	}
	__u8 m[24];
	if (user_mark(msg, 0, 24, m) && mark_ok(m))
		rr_send(m, tcp_u32(sk, false));
	return 0;
}

/* The message is in the receiving socket's queue; a response's record waits there for the receive call. */
static __always_inline void enqueued(const struct sock *sk, struct nb_hb_txn *t, __u32 phase)
{
	add_point(t, NB_HB_PT(phase, NB_HB_AT_ENQ));
	if (phase != NB_HB_PH_RESP || cfg.notes) /* with notes, the generator's next one ends it */
		return;
	struct nb_hb_sk *e = &pend[sk_slot(sk)];
	e->sk = (__u64)sk;
	e->idx = cfg.crr ? crr_idx(t->key) : rr_idx(t->flow, t->seq);
	e->used = 1;
}

/* TCP: the record of the message that ends at rcv_nxt (a message is in once its last byte is). */
static __always_inline struct nb_hb_txn *tcp_enq_txn(const struct sock *sk, int end)
{
	__u32 nxt = tcp_u32(sk, true);
	if (cfg.notes && end == 1) /* the request's acknowledgment will be rcv_nxt */
		return txn_of_seq(nxt, NB_HB_PH_RESP);
	if (cfg.notes) { /* the response acknowledged the request; it is in once its last byte is */
		struct nb_hb_txn *t = txn_of_seq(tcp_of(sk)->snd_una, NB_HB_PH_RESP);
		return t && t->resp_end == nxt ? t : NULL;
	}
	if (cfg.crr && end == 1) /* the request's first byte was the client's ISN + 1 */
		return txn_crr(nxt - (__u32)tcp_of(sk)->bytes_received - 1);
	if (cfg.crr)
		return crr_of_srv_seq(nxt - cfg.resp_bytes);
	if (end == 1)
		return txn_of_seq(nxt - cfg.req_bytes, NB_HB_PH_REQ);
	return txn_of_seq(nxt - cfg.resp_bytes, NB_HB_PH_RESP);
}

/* UDP: the record of the datagram at the tail of the socket's receive queue. */
static __always_inline struct nb_hb_txn *udp_enq_txn(const struct sock *sk)
{
	struct sk_buff *skb = sk->sk_receive_queue.prev;
	__u8 m[16];
	if (!skb || (void *)skb == (void *)&sk->sk_receive_queue)
		return NULL;
	unsigned char *head = skb->head;
	if (bpf_probe_read_kernel(m, sizeof(m), head + skb->transport_header + 8) || !mark_ok(m))
		return NULL;
	return txn_rr(mark_flow(m), le64(m));
}

SEC("tp_btf/sk_data_ready")
int BPF_PROG(nb_data_ready, const struct sock *sk)
{
	if (cfg.floor) {
		floor_clock();
		return 0;
	}
	if (!armed)
		return 0;
	int end = sock_end(sk);
	if (!end)
		return 0;
	count(NB_HB_C_SOCK);
	struct nb_hb_txn *t = cfg.proto == 17 ? udp_enq_txn(sk) : tcp_enq_txn(sk, end);
	if (t)
		enqueued(sk, t, end == 1 ? NB_HB_PH_REQ : NB_HB_PH_RESP);
	return 0;
}

/* A receive call returned data on a socket with a response waiting: the transaction's last point. */
SEC("tp_btf/sock_recv_length")
int BPF_PROG(nb_recv, struct sock *sk, int ret, int flags)
{
	if (cfg.floor || ret <= 0 || (flags & MSG_PEEK))
		return 0;
	struct nb_hb_sk *e = &pend[sk_slot(sk)];
	if (!e->used || e->sk != (__u64)sk)
		return 0;
	e->used = 0;
	count(NB_HB_C_SOCK);
	__u32 idx = e->idx;
	struct nb_hb_txn *t = bpf_map_lookup_elem(&txns, &idx);
	if (!t || t->state != NB_HB_ST_OPEN)
		return 0;
	__u64 now = bpf_ktime_get_ns();
	add_point_at(t, NB_HB_PT(NB_HB_PH_RESP, NB_HB_AT_RECV), now);
	finish(t, now);
	return 0;
}

/* crr: connect() starts (the SYN's record opens from here when the SYN is seen) and completes. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(nb_state, const struct sock *sk, const int oldstate, const int newstate)
{
	if (cfg.floor || !armed || !cfg.crr || sock_end(sk) != 2)
		return 0;
	count(NB_HB_C_SOCK);
	if (newstate == TCP_SYN_SENT) {
		struct nb_hb_sk *c = &conn[sk_slot(sk)];
		c->sk = (__u64)sk;
		c->t_ns = bpf_ktime_get_ns();
		c->used = 1;
	} else if (oldstate == TCP_SYN_SENT && newstate == TCP_ESTABLISHED) {
		struct nb_hb_txn *t = txn_crr(tcp_u32(sk, false) - 1);
		if (t)
			add_point(t, NB_HB_PT(NB_HB_PH_SYNACK, NB_HB_AT_EST));
	}
	return 0;
}
