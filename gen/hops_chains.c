/* SPDX-License-Identifier: MIT */
/* --hops=ebpf: the kernel's per-chain aggregates into the report's segments, and the per-transaction
 * sum check of its records against the generator's log. Pure: no kernel, no I/O. */
#include <errno.h>
#include <linux/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hops_abi.h"
#include "nbench/hops.h"

_Static_assert(NB_HOPS_CHAIN_PTS == NB_HB_PTS, "hops.h and hops_abi.h disagree on the points");
_Static_assert(NB_HOPS_CHAIN_BINS == NB_HB_BINS, "hops.h and hops_abi.h disagree on the bins");
_Static_assert(NB_HOPS_CHAIN_PTS - 1 <= NB_REPORT_MAX_HOPS, "a chain's segments must fit the report");

/* What a point is. */
enum kind { K_IF, K_USER, K_SEND, K_ENQ, K_RECV, K_CONN, K_EST, K_OTHER };

static enum kind kind_of(uint8_t pt)
{
	unsigned at = NB_HB_PT_AT(pt);
	if (at < 2 * NB_HB_MAX_IFS)
		return K_IF;
	switch (at) {
	case NB_HB_AT_USER:
		return K_USER;
	case NB_HB_AT_SEND:
		return K_SEND;
	case NB_HB_AT_ENQ:
		return K_ENQ;
	case NB_HB_AT_RECV:
		return K_RECV;
	case NB_HB_AT_CONN:
		return K_CONN;
	case NB_HB_AT_EST:
		return K_EST;
	default:
		return K_OTHER;
	}
}

/* The segment from an interface to an interface. */
static const char *if_if_name(unsigned pa, unsigned pb, bool *server)
{
	static const char *const same[] = {"hop out", "hop back", "SYN hop out", "SYN-ACK hop back"};
	*server = false;
	if (pa == pb)
		return same[pa & 3];
	*server = true;
	return pa == NB_HB_PH_SYN ? "server handshake" : "server";
}

/* The segment from point a to point b: its name, and whether the server's side spends it. */
static const char *seg_name(uint8_t a, uint8_t b, bool *server)
{
	enum kind ka = kind_of(a), kb = kind_of(b);
	unsigned pa = NB_HB_PT_PHASE(a), pb = NB_HB_PT_PHASE(b);
	*server = false;
	if (ka == K_IF && kb == K_IF)
		return if_if_name(pa, pb, server);
	if (ka == K_USER)
		return kb == K_CONN ? "client connect" : kb == K_SEND ? "client syscall" : "client stack out";
	if (kb == K_RECV ||
	    (kb == K_USER && pb == NB_HB_PH_RESP)) /* the receive call's end, or the generator's */
		return ka == K_ENQ ? "client wake-up" : "client stack in";
	if (kb == K_ENQ) {
		*server = pb == NB_HB_PH_REQ;
		return *server ? "server stack in" : "client stack in";
	}
	if (ka == K_ENQ && pa == NB_HB_PH_REQ) {
		*server = true;
		return "server";
	}
	if (ka == K_SEND) {
		*server = pa == NB_HB_PH_RESP;
		return *server ? "server stack out" : "client stack out";
	}
	if (ka == K_CONN)
		return "connect out";
	if (kb == K_EST)
		return "connect in";
	if (ka == K_EST)
		return "client app";
	return "segment";
}

static const char *if_name(const struct nb_hops_opts *o, uint8_t pt)
{
	unsigned i = NB_HB_PT_AT(pt) / 2;
	return kind_of(pt) == K_IF && i < o->n_ifs ? o->ifs[i].ifname : "";
}

static const char *if_netns(const struct nb_hops_opts *o, uint8_t pt)
{
	unsigned i = NB_HB_PT_AT(pt) / 2;
	return kind_of(pt) == K_IF && i < o->n_ifs ? o->ifs[i].netns : NULL;
}

/* Names segment h, from point a to point b. */
static void name_segment(const struct nb_hops_opts *o, uint8_t a, uint8_t b, struct nb_report_hop *h)
{
	static const char *const dirs[] = {"out", "back", "connect", "connect"};
	bool server;
	const char *seg = seg_name(a, b, &server);
	const char *na = if_netns(o, a), *nb = if_netns(o, b);
	memset(h, 0, sizeof(*h));
	snprintf(h->segment, sizeof(h->segment), "%s", seg);
	snprintf(h->direction, sizeof(h->direction), "%s", server ? "server" : dirs[NB_HB_PT_PHASE(b) & 3]);
	snprintf(h->from_if, sizeof(h->from_if), "%s", if_name(o, a));
	snprintf(h->to_if, sizeof(h->to_if), "%s", if_name(o, b));
	if (na && nb && strcmp(na, nb))
		snprintf(h->netns, sizeof(h->netns), "%s>%s", na, nb);
	else if (na && nb)
		snprintf(h->netns, sizeof(h->netns), "%s", na);
	else
		snprintf(h->netns, sizeof(h->netns), "%s",
			 (server ? o->server_netns : o->client_netns)
			     ? (server ? o->server_netns : o->client_netns)
			     : "");
	/* the server's time spans a guest's kernel the probes do not see (a VM path); the client's a DPDK
	 * engine */
	const char *unseen = server ? o->server_unseen : na && nb ? NULL : o->client_unseen;
	snprintf(h->unseen, sizeof(h->unseen), "%s", unseen ? unseen : "");
}

/* The value at percentile p of a segment's bins: the midpoint of the bucket holding the ceil(p% of count)-th
 * smallest. */
static int64_t bins_pct(const uint64_t *bins, uint64_t count, double p)
{
	uint64_t rank = (uint64_t)(p / 100.0 * (double)count + 0.999999), seen = 0;
	if (rank < 1)
		rank = 1;
	for (uint32_t b = 0; b < NB_HB_BINS; b++) {
		seen += bins[b];
		if (seen >= rank) {
			uint64_t lo = nb_hb_bin_low(b),
				 hi = b + 1 < NB_HB_BINS ? nb_hb_bin_low(b + 1) - 1 : lo;
			return (int64_t)(lo + (hi - lo) / 2);
		}
	}
	return 0;
}

static bool same_chain(const struct nb_hops_chain *a, const struct nb_hops_chain *b)
{
	return a->n_pts == b->n_pts && !memcmp(a->pt, b->pt, a->n_pts);
}

/* Chain k's transactions, with every slot holding the same points. */
static uint64_t chain_total(const struct nb_hops_chain *c, unsigned n, unsigned k)
{
	uint64_t t = 0;
	for (unsigned j = 0; j < n; j++)
		if (c[j].n_pts >= 2 && same_chain(&c[j], &c[k]))
			t += c[j].count[0];
	return t;
}

/* Segment s of the chain most transactions took (merged over its slots) into g. */
static void segment_of(const struct nb_hops_chain *c, unsigned n, unsigned best, unsigned s,
		       struct nb_report_hop *g, uint64_t *bins)
{
	uint64_t count = 0, sum = 0;
	memset(bins, 0, NB_HB_BINS * sizeof(*bins));
	for (unsigned j = 0; j < n; j++) {
		if (c[j].n_pts < 2 || !same_chain(&c[j], &c[best]))
			continue;
		count += c[j].count[s];
		sum += c[j].sum_ns[s];
		for (unsigned b = 0; b < NB_HB_BINS; b++)
			bins[b] += c[j].bins[s][b];
	}
	g->samples = count;
	g->mean_ns = count ? (double)sum / (double)count : 0;
	g->p50_ns = bins_pct(bins, count, 50);
	g->p90_ns = bins_pct(bins, count, 90);
	g->p99_ns = bins_pct(bins, count, 99);
}

int nb_hops_chains_split(const struct nb_hops_opts *o, const struct nb_hops_chain *c, unsigned n,
			 struct nb_report_hops *out)
{
	unsigned best = n;
	uint64_t best_total = 0, all = 0;
	out->n = 0;
	out->decomposed = 0;
	out->rtt_mean_ns = 0;
	for (unsigned k = 0; k < n; k++) {
		if (c[k].n_pts < 2 || c[k].n_pts > NB_HOPS_CHAIN_PTS)
			continue;
		all += c[k].count[0];
		uint64_t t = chain_total(c, n, k);
		if (t > best_total) {
			best_total = t;
			best = k;
		}
	}
	if (best == n)
		return -ENODATA;
	uint64_t *bins = malloc(NB_HB_BINS * sizeof(*bins));
	if (!bins)
		return -ENOMEM;
	out->n = c[best].n_pts - 1;
	for (unsigned s = 0; s < out->n; s++) {
		struct nb_report_hop *g = &out->seg[s];
		name_segment(o, c[best].pt[s], c[best].pt[s + 1], g);
		segment_of(c, n, best, s, g, bins);
		g->unmatched = all - best_total;
		out->rtt_mean_ns += g->mean_ns;
	}
	for (unsigned s = 0; s < out->n; s++)
		out->seg[s].share = out->rtt_mean_ns > 0 ? out->seg[s].mean_ns / out->rtt_mean_ns : 0;
	out->decomposed = best_total;
	free(bins);
	return 0;
}

/* ---- the per-transaction sum check ---- */

struct logged {
	uint32_t flow;
	uint64_t seq;
	const struct nb_txn_rec *rec;
};

static int logged_cmp(const void *a, const void *b)
{
	const struct logged *x = a, *y = b;
	if (x->flow != y->flow)
		return x->flow < y->flow ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const struct nb_txn_rec *find_logged(const struct logged *l, size_t n, uint32_t flow, uint64_t seq)
{
	struct logged key = {flow, seq, NULL};
	const struct logged *f = bsearch(&key, l, n, sizeof(*l), logged_cmp);
	return f ? f->rec : NULL;
}

void nb_hops_check_records(const struct nb_hops_record *r, size_t n, const struct nb_txn_log *logs,
			   unsigned n_logs, struct nb_report_hops *out)
{
	size_t total = 0, k = 0;
	out->records_checked = out->records_consistent = 0;
	out->tail_ns = 0;
	for (unsigned f = 0; f < n_logs; f++)
		total += logs[f].n;
	struct logged *l = malloc((total ? total : 1) * sizeof(*l));
	if (!l)
		return;
	for (unsigned f = 0; f < n_logs; f++)
		for (uint32_t j = 0; j < logs[f].n; j++)
			l[k++] = (struct logged){f, logs[f].rec[j].seq, &logs[f].rec[j]};
	qsort(l, total, sizeof(*l), logged_cmp);
	double tail = 0;
	for (size_t i = 0; i < n; i++) {
		const struct nb_txn_rec *g = find_logged(l, total, r[i].flow, r[i].seq);
		if (!g)
			continue;
		out->records_checked++;
		bool start_ok =
		    r[i].from_user ? r[i].t_first_ns == g->t_send_ns : r[i].t_first_ns >= g->t_send_ns;
		if (start_ok && r[i].t_last_ns <= g->t_recv_ns && r[i].t_last_ns >= r[i].t_first_ns) {
			out->records_consistent++;
			tail += (double)(g->t_recv_ns - r[i].t_last_ns);
		}
	}
	out->tail_ns = out->records_consistent ? tail / (double)out->records_consistent : 0;
	free(l);
}
