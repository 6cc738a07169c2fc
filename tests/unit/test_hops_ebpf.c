/* SPDX-License-Identifier: MIT */
/* --hops=ebpf's user-space half on made-up aggregates: the kernel's histogram buckets, the chain most
 * transactions took named segment by segment (rr over TCP and UDP, crr), slots of one chain merged, the
 * other chains counted unmatched, and the per-transaction check of the records against the generator's log.
 */
#include <errno.h>
#include <linux/types.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hops_abi.h"
#include "nbench/hops.h"
#include "tap.h"

/* The path: the wire's two ends (client side r, server side h) and, for nat, the bridge and the container's
 * veth ends. */
static const struct nb_nic_ref ifs[5] = {
    {"cl", "x-r"}, {"sv", "x-h"}, {"sv", "x-b"}, {"sv", "x-v"}, {"ct", "x-c"}};

#define TX(i) (2 * (i))
#define RX(i) (2 * (i) + 1)

/* Adds n transactions to segment s of c, each d ns (d + k % 3 ns for the k-th: some spread). */
static void add(struct nb_hops_chain *c, unsigned s, uint64_t n, uint32_t d)
{
	for (uint64_t k = 0; k < n; k++) {
		uint32_t v = d + (uint32_t)(k % 3);
		c->count[s]++;
		c->sum_ns[s] += v;
		c->bins[s][nb_hb_bin(v)]++;
	}
}

static void set_pts(struct nb_hops_chain *c, const uint8_t *pt, unsigned n)
{
	memset(c, 0, sizeof(*c));
	c->n_pts = n;
	for (unsigned k = 0; k < n && k < NB_HOPS_CHAIN_PTS; k++)
		c->pt[k] = pt[k];
}

static void test_bins(void)
{
	/* every value lands in the bucket whose bounds hold it; buckets grow with the value; the exact range
	 * and a bucket at most 1/16 of its values wide */
	uint32_t prev = 0;
	for (uint64_t v = 0; v < (1ull << 32); v = v < 1000 ? v + 1 : v + v / 7 + 1) {
		uint32_t b = nb_hb_bin(v);
		CHECK(b < NB_HB_BINS);
		CHECK(b >= prev);
		prev = b;
		CHECK(nb_hb_bin_low(b) <= v);
		if (b + 1 < NB_HB_BINS)
			CHECK(v < nb_hb_bin_low(b + 1));
		if (v >= 2 * NB_HB_SUB && b + 1 < NB_HB_BINS)
			CHECK((nb_hb_bin_low(b + 1) - nb_hb_bin_low(b)) * NB_HB_SUB <= v);
	}
	CHECK_INT(nb_hb_bin(31), 31);
	CHECK_INT(nb_hb_bin((1ull << 40)), NB_HB_BINS - 1); /* beyond 2^32 ns: the last bucket */
}

static const struct nb_hops_opts opts5 = {
    .ifs = ifs, .n_ifs = 5, .flows = 1, .client_netns = "cl", .server_netns = "ct"};

/* rr over TCP on nat, as the generator's notes give it: the generator's send, TCP's departure, 5
 * interfaces out, the server's socket, its TCP's departure, 5 back, the client's socket and the generator's
 * receive; a second chain missing the bridge (a few) and a
 * duplicate slot of the first (raced). */
static void test_rr_tcp(void)
{
	const uint8_t q = NB_HB_PH_REQ, r = NB_HB_PH_RESP;
	const uint8_t pts[] = {
	    NB_HB_PT(q, NB_HB_AT_USER), NB_HB_PT(q, NB_HB_AT_SEND), NB_HB_PT(q, TX(0)),
	    NB_HB_PT(q, RX(1)),		NB_HB_PT(q, TX(2)),	    NB_HB_PT(q, TX(3)),
	    NB_HB_PT(q, RX(4)),		NB_HB_PT(q, NB_HB_AT_ENQ),  NB_HB_PT(r, NB_HB_AT_SEND),
	    NB_HB_PT(r, TX(4)),		NB_HB_PT(r, RX(3)),	    NB_HB_PT(r, RX(2)),
	    NB_HB_PT(r, TX(1)),		NB_HB_PT(r, RX(0)),	    NB_HB_PT(r, NB_HB_AT_ENQ),
	    NB_HB_PT(r, NB_HB_AT_USER)};
	const unsigned n = sizeof(pts);
	struct nb_hops_chain *c = calloc(3, sizeof(*c));
	set_pts(&c[0], pts, n);
	set_pts(&c[2], pts, n);
	for (unsigned s = 0; s + 1 < n; s++) {
		add(&c[0], s, 600, 1000 + 100 * s);
		add(&c[2], s, 400, 1000 + 100 * s);
	}
	uint8_t other[sizeof(pts)];
	memcpy(other, pts, n);
	memmove(other + 4, other + 5, n - 5); /* the bridge's transmit missed */
	set_pts(&c[1], other, n - 1);
	for (unsigned s = 0; s + 2 < n; s++)
		add(&c[1], s, 7, 50000);
	struct nb_report_hops h;
	memset(&h, 0, sizeof(h));
	CHECK_INT(nb_hops_chains_split(&opts5, c, 3, &h), 0);
	CHECK_INT(h.decomposed, 1000);
	CHECK_INT(h.n, n - 1);
	static const char *const want[][4] = {
	    {"client syscall", "", "", "out"},	       {"client stack out", "", "x-r", "out"},
	    {"hop out", "x-r", "x-h", "out"},	       {"hop out", "x-h", "x-b", "out"},
	    {"hop out", "x-b", "x-v", "out"},	       {"hop out", "x-v", "x-c", "out"},
	    {"server stack in", "x-c", "", "server"},  {"server", "", "", "server"},
	    {"server stack out", "", "x-c", "server"}, {"hop back", "x-c", "x-v", "back"},
	    {"hop back", "x-v", "x-b", "back"},	       {"hop back", "x-b", "x-h", "back"},
	    {"hop back", "x-h", "x-r", "back"},	       {"client stack in", "x-r", "", "back"},
	    {"client wake-up", "", "", "back"}};
	double sum = 0, share = 0;
	for (unsigned s = 0; s < h.n && s < 15; s++) {
		CHECK_STR(h.seg[s].segment, want[s][0]);
		CHECK_STR(h.seg[s].from_if, want[s][1]);
		CHECK_STR(h.seg[s].to_if, want[s][2]);
		CHECK_STR(h.seg[s].direction, want[s][3]);
		CHECK_INT(h.seg[s].samples, 1000);
		CHECK_INT(h.seg[s].unmatched, 7);
		/* values d, d+1, d+2 in 600/400 slots: the exact mean; percentiles within a bucket of it */
		double d = 1000 + 100 * s;
		CHECK(fabs(h.seg[s].mean_ns - (d + 0.999)) < 0.01);
		CHECK(fabs((double)h.seg[s].p50_ns - d) <= d / 16 + 2);
		CHECK(h.seg[s].p50_ns <= h.seg[s].p90_ns && h.seg[s].p90_ns <= h.seg[s].p99_ns);
		sum += h.seg[s].mean_ns;
		share += h.seg[s].share;
	}
	CHECK(fabs(sum - h.rtt_mean_ns) < 1e-6);
	CHECK(fabs(share - 1) < 1e-9);
	CHECK_STR(h.seg[2].netns, "cl>sv"); /* the wire's hop crosses namespaces */
	CHECK_STR(h.seg[7].netns, "ct");    /* the server's own time: its namespace */
	CHECK_STR(h.seg[0].netns, "cl");
	free(c);
}

/* UDP on native, with more than one transaction in flight (no notes: the receive call's end is the last
 * point): no send call point; the server's segment runs from its socket to its transmit. crr: the
 * handshake's segments, then the transaction's. */
static void test_udp_crr(void)
{
	const uint8_t q = NB_HB_PH_REQ, r = NB_HB_PH_RESP, y = NB_HB_PH_SYN, a = NB_HB_PH_SYNACK;
	const uint8_t udp[] = {NB_HB_PT(q, NB_HB_AT_USER), NB_HB_PT(q, TX(0)),	      NB_HB_PT(q, RX(1)),
			       NB_HB_PT(q, NB_HB_AT_ENQ),  NB_HB_PT(r, TX(1)),	      NB_HB_PT(r, RX(0)),
			       NB_HB_PT(r, NB_HB_AT_ENQ),  NB_HB_PT(r, NB_HB_AT_RECV)};
	const uint8_t crr[] = {NB_HB_PT(y, NB_HB_AT_USER), NB_HB_PT(y, NB_HB_AT_CONN), NB_HB_PT(y, TX(0)),
			       NB_HB_PT(y, RX(1)),	   NB_HB_PT(a, TX(1)),	       NB_HB_PT(a, RX(0)),
			       NB_HB_PT(a, NB_HB_AT_EST),  NB_HB_PT(q, NB_HB_AT_SEND), NB_HB_PT(q, TX(0))};
	static const char *const want_udp[] = {"client stack out", "hop out",  "server stack in",
					       "server",	   "hop back", "client stack in",
					       "client wake-up"};
	static const char *const want_crr[] = {"client connect",   "connect out",      "SYN hop out",
					       "server handshake", "SYN-ACK hop back", "connect in",
					       "client app",	   "client stack out"};
	struct nb_hops_chain *c = calloc(1, sizeof(*c));
	struct nb_hops_opts o = opts5;
	o.n_ifs = 2;
	struct nb_report_hops h;
	for (int k = 0; k < 2; k++) {
		const uint8_t *pts = k ? crr : udp;
		unsigned n = k ? sizeof(crr) : sizeof(udp);
		set_pts(c, pts, n);
		for (unsigned s = 0; s + 1 < n; s++)
			add(c, s, 10, 500);
		memset(&h, 0, sizeof(h));
		CHECK_INT(nb_hops_chains_split(&o, c, 1, &h), 0);
		CHECK_INT(h.n, n - 1);
		for (unsigned s = 0; s < h.n; s++)
			CHECK_STR(h.seg[s].segment, k ? want_crr[s] : want_udp[s]);
		CHECK_INT(h.seg[0].unmatched, 0);
	}
	CHECK_STR(h.seg[2].direction, "connect");
	CHECK_STR(h.seg[3].direction, "server");
	/* nothing aggregated */
	set_pts(c, udp, 1);
	CHECK_INT(nb_hops_chains_split(&o, c, 1, &h), -ENODATA);
	CHECK_INT(nb_hops_chains_split(&o, c, 0, &h), -ENODATA);
	free(c);
}

static void test_records(void)
{
	struct nb_txn_rec f0[3] = {{0, 1000, 9000}, {1, 11000, 19000}, {2, 21000, 29000}};
	struct nb_txn_rec f1[1] = {{5, 100, 900}};
	struct nb_txn_log logs[2] = {{.rec = f0, .cap = 3, .n = 3}, {.rec = f1, .cap = 1, .n = 1}};
	struct nb_hops_record r[] = {
	    {0, 0, 1000, 8000, true},	/* consistent: 1000 ns before the receive */
	    {0, 2, 21000, 28800, true}, /* consistent: 200 */
	    {1, 5, 100, 800, true},	/* consistent: 100 */
	    {0, 1, 11001, 18000, true}, /* starts off the generator's send time */
	    {0, 9, 1000, 2000, true},	/* not in the log: not checked */
	    {1, 5, 150, 950, false},	/* after the send (no user time), but past the receive */
	};
	struct nb_report_hops h;
	memset(&h, 0, sizeof(h));
	nb_hops_check_records(r, sizeof(r) / sizeof(r[0]), logs, 2, &h);
	CHECK_INT(h.records_checked, 5);
	CHECK_INT(h.records_consistent, 3);
	CHECK(fabs(h.tail_ns - (1000 + 200 + 100) / 3.0) < 1e-9);
	nb_hops_check_records(r, 0, logs, 2, &h);
	CHECK_INT(h.records_checked, 0);
	CHECK(h.tail_ns == 0);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {TAP_CASE(test_bins), TAP_CASE(test_rr_tcp),
						TAP_CASE(test_udp_crr), TAP_CASE(test_records)};
	return TAP_RUN(cases, argc > 1 ? argv[1] : NULL);
}
