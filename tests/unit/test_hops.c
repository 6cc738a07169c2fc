/* SPDX-License-Identifier: MIT */
/* --hops' decomposition on made-up sightings: the order of the interfaces found from the data, segments that
 * add up to each round trip, unmatched transactions counted, the markers written and read back. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "nbench/hops.h"
#include "nbench/workload.h"
#include "tap.h"

/* Three interfaces given out of order (b, a, c); the request crosses a, b, c, the response c, b, a. */
static const struct nb_nic_ref ifs[3] = {{"nsb", "b"}, {"nsa", "a"}, {"nsc", "c"}};

static void fill(struct nb_hops_msg *m, uint64_t seq, int64_t t0, int64_t j)
{
	memset(m, 0, sizeof(*m));
	m->seq = seq;
	/* a at +100, b at +300+j, c at +600; back: c +2600, b +2900, a +3100+j */
	m->ts_ns[0][1] = t0 + 100, m->ts_ns[0][0] = t0 + 300 + j, m->ts_ns[0][2] = t0 + 600;
	m->ts_ns[1][2] = t0 + 2600, m->ts_ns[1][0] = t0 + 2900, m->ts_ns[1][1] = t0 + 3100 + j;
}

static void test_split(void)
{
	enum { N = 100 };
	struct nb_hops_msg msgs[N];
	struct nb_txn_rec rec[N + 1];
	for (unsigned k = 0; k < N; k++) {
		int64_t t0 = 1000000 * (int64_t)k;
		fill(&msgs[k], k, t0, (int64_t)k);
		rec[k] = (struct nb_txn_rec){k, t0, t0 + 4000 + (int64_t)k};
	}
	msgs[7].ts_ns[1][0] = 0;		  /* b missed response 7 */
	rec[N] = (struct nb_txn_rec){N, 0, 5000}; /* never captured */
	struct nb_txn_log log = {.rec = rec, .cap = N + 1, .n = N + 1};
	struct nb_hops_opts o = {.ifs = ifs,
				 .n_ifs = 3,
				 .flows = 1,
				 .client_netns = "cl",
				 .server_netns = "sv",
				 .server_unseen = "guest"};
	struct nb_hops_input in = {.o = &o, .msgs = msgs, .n_msgs = N, .logs = &log, .n_logs = 1};
	struct nb_report_hops h;
	memset(&h, 0, sizeof(h));
	CHECK_INT(nb_hops_decompose(&in, &h), 0);
	CHECK_INT(h.txns, N + 1);
	CHECK_INT(h.decomposed, N - 1);
	CHECK_INT(h.n, 7);
	const char *want[7][3] = {{"client stack out", "", "a"}, {"hop out", "a", "b"},
				  {"hop out", "b", "c"},	 {"server", "c", "c"},
				  {"hop back", "c", "b"},	 {"hop back", "b", "a"},
				  {"client stack in", "a", ""}};
	double sum = 0;
	for (unsigned s = 0; s < 7; s++) {
		CHECK_STR(h.seg[s].segment, want[s][0]);
		CHECK_STR(h.seg[s].from_if, want[s][1]);
		CHECK_STR(h.seg[s].to_if, want[s][2]);
		CHECK_INT(h.seg[s].samples, N - 1);
		sum += h.seg[s].mean_ns;
	}
	CHECK(fabs(sum - h.rtt_mean_ns) < 1e-6);
	CHECK_STR(h.seg[1].netns, "nsa>nsb");
	CHECK_STR(h.seg[3].netns, "sv");
	CHECK_STR(h.seg[3].unseen, "guest");
	CHECK_STR(h.seg[0].netns, "cl");
	CHECK_INT(h.seg[0].p50_ns, 100);
	CHECK_INT(h.seg[3].p99_ns, 2000);
	/* a->b out is 200+j for j in 0..99 without 7: nearest-rank p50 of 99 values is the 50th */
	CHECK_INT(h.seg[1].p50_ns, 200 + 50);
	/* transaction 7 lacks b's response sighting: c>b and b>a unmatched; N was never captured: all */
	CHECK_INT(h.seg[4].unmatched, 2);
	CHECK_INT(h.seg[5].unmatched, 2);
	CHECK_INT(h.seg[0].unmatched, 1);
	double shares = 0;
	for (unsigned s = 0; s < 7; s++)
		shares += h.seg[s].share;
	CHECK(fabs(shares - 1) < 1e-9);
}

static void test_nothing(void)
{
	struct nb_txn_log log = {0};
	struct nb_hops_opts o = {.ifs = ifs, .n_ifs = 3, .flows = 1};
	struct nb_hops_input in = {.o = &o, .logs = &log, .n_logs = 1};
	struct nb_report_hops h;
	memset(&h, 0, sizeof(h));
	CHECK_INT(nb_hops_decompose(&in, &h), -ENODATA);
	CHECK_INT(h.n, 0);
}

static void test_marker(void)
{
	unsigned char b[32];
	uint64_t seq = 0;
	uint32_t flow = 0;
	memset(b, 0x5a, sizeof(b));
	CHECK_INT(nb_mark_get(b, sizeof(b), &seq, &flow), 0);
	nb_mark_put(b, 258, NB_MARK_REQ);
	nb_seq_put(b, 0x1122334455667788ull);
	CHECK_INT(nb_mark_get(b, sizeof(b), &seq, &flow), NB_MARK_REQ);
	CHECK(seq == 0x1122334455667788ull);
	CHECK_INT(flow, 258);
	CHECK_INT(nb_mark_get(b, NB_MARK_BYTES - 1, &seq, &flow), 0);
	b[15] = NB_MARK_RESP;
	CHECK_INT(nb_mark_get(b, sizeof(b), &seq, &flow), NB_MARK_RESP);
}

int main(int argc, char **argv)
{
	static const struct tap_case cases[] = {TAP_CASE(test_split), TAP_CASE(test_nothing),
						TAP_CASE(test_marker)};
	return TAP_RUN(cases, argc > 1 ? argv[1] : NULL);
}
