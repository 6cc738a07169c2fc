/* SPDX-License-Identifier: MIT */
/* --hops: each transaction's round trip split at the sightings of its request and response. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbench/hops.h"
#include "nbench/workload.h"

#define MAX_POINTS (2 * NB_HOPS_MAX_IFS + 2)

static int i64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest rank of a sorted array. */
static int64_t pct(const int64_t *v, size_t n, double p)
{
	size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
	return v[k ? (k > n ? n : k) - 1 : 0];
}

static const struct nb_hops_msg *find_msg(const struct nb_hops_input *in, uint32_t flow, uint64_t seq)
{
	size_t lo = 0, hi = in->n_msgs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct nb_hops_msg *m = &in->msgs[mid];
		if (m->flow < flow || (m->flow == flow && m->seq < seq))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < in->n_msgs && in->msgs[lo].flow == flow && in->msgs[lo].seq == seq ? &in->msgs[lo] : NULL;
}

/* A crossing of interface i in direction d: its place in the order is its median time after the send; on a
 * tie, tie (the response crosses in the request's order reversed). */
struct crossing {
	int d;
	unsigned i;
	int64_t median_ns;
	int tie;
};

static int crossing_cmp(const void *a, const void *b)
{
	const struct crossing *x = a, *y = b;
	if (x->d != y->d)
		return x->d - y->d;
	if (x->median_ns != y->median_ns)
		return x->median_ns < y->median_ns ? -1 : 1;
	return x->tie - y->tie;
}

/* Ties in the response's order: a bridge and its port can carry one timestamp (the kernel stamps a frame
 * once, where it is queued to the port, and the bridge's capture reads the same stamp), so time alone
 * cannot order them; the request crossed them in the path's order, and the response crosses it backwards. */
static void break_ties(struct crossing *c, unsigned k)
{
	for (unsigned j = 0; j < k; j++) {
		c[j].tie = (int)c[j].i;
		if (c[j].d != 1)
			continue;
		for (unsigned r = 0; r < k; r++)
			if (c[r].d == 0 && c[r].i == c[j].i)
				c[j].tie = -(int)r;
	}
}

/* The interfaces each direction was seen on, in the order crossed; returns how many. */
static unsigned order_crossings(const struct nb_hops_input *in, const struct nb_hops_msg **joined,
				const struct nb_txn_rec **recs, size_t n, struct crossing *out)
{
	int64_t *v = malloc((n ? n : 1) * sizeof(*v));
	unsigned k = 0;
	for (int d = 0; d < 2 && v; d++)
		for (unsigned i = 0; i < in->o->n_ifs; i++) {
			size_t m = 0;
			for (size_t t = 0; t < n; t++)
				if (joined[t] && joined[t]->ts_ns[d][i])
					v[m++] = joined[t]->ts_ns[d][i] - recs[t]->t_send_ns;
			if (!m)
				continue;
			qsort(v, m, sizeof(*v), i64_cmp);
			out[k++] = (struct crossing){d, i, v[m / 2], (int)i};
		}
	free(v);
	for (unsigned j = 0; j < k; j++)
		out[j].tie = (int)out[j].i;
	qsort(out, k, sizeof(*out), crossing_cmp); /* the request's order, by time (and index) */
	break_ties(out, k);
	qsort(out, k, sizeof(*out), crossing_cmp);
	return k;
}

static void name_ns(const struct nb_hops_opts *o, const struct crossing *a, const struct crossing *b,
		    char *buf, size_t len)
{
	const char *x = o->ifs[a->i].netns, *y = o->ifs[b->i].netns;
	if (!strcmp(x, y))
		snprintf(buf, len, "%s", x);
	else
		snprintf(buf, len, "%s>%s", x, y);
}

/* Names segment s between points a and b (NULL: the generator's socket). */
static void name_segment(const struct nb_hops_opts *o, const struct crossing *a, const struct crossing *b,
			 struct nb_report_hop *h)
{
	const char *seg, *dir, *unseen = NULL;
	memset(h, 0, sizeof(*h));
	if (!a) {
		seg = "client stack out", dir = "out", unseen = o->client_unseen;
		snprintf(h->netns, sizeof(h->netns), "%s", o->client_netns ? o->client_netns : "");
	} else if (!b) {
		seg = "client stack in", dir = "back", unseen = o->client_unseen;
		snprintf(h->netns, sizeof(h->netns), "%s", o->client_netns ? o->client_netns : "");
	} else if (a->d != b->d) {
		seg = "server", dir = "server", unseen = o->server_unseen;
		snprintf(h->netns, sizeof(h->netns), "%s", o->server_netns ? o->server_netns : "");
	} else {
		seg = a->d ? "hop back" : "hop out", dir = a->d ? "back" : "out";
		name_ns(o, a, b, h->netns, sizeof(h->netns));
	}
	snprintf(h->segment, sizeof(h->segment), "%s", seg);
	snprintf(h->direction, sizeof(h->direction), "%s", dir);
	snprintf(h->unseen, sizeof(h->unseen), "%s", unseen ? unseen : "");
	snprintf(h->from_if, sizeof(h->from_if), "%s", a ? o->ifs[a->i].ifname : "");
	snprintf(h->to_if, sizeof(h->to_if), "%s", b ? o->ifs[b->i].ifname : "");
}

static void segment_stats(struct nb_report_hop *h, int64_t *v, size_t n, double rtt_mean_ns)
{
	double sum = 0;
	for (size_t k = 0; k < n; k++)
		sum += (double)v[k];
	qsort(v, n, sizeof(*v), i64_cmp);
	h->samples = n;
	h->mean_ns = sum / (double)n;
	h->p50_ns = pct(v, n, 50);
	h->p90_ns = pct(v, n, 90);
	h->p99_ns = pct(v, n, 99);
	h->share = rtt_mean_ns > 0 ? h->mean_ns / rtt_mean_ns : 0;
}

/* The points of transaction t (send, each crossing, receive); false if one is missing. */
static bool points_of(const struct nb_txn_rec *r, const struct nb_hops_msg *m, const struct crossing *cr,
		      unsigned ncr, int64_t *p)
{
	bool all = m != NULL;
	p[0] = r->t_send_ns;
	for (unsigned k = 0; k < ncr; k++) {
		p[k + 1] = m ? m->ts_ns[cr[k].d][cr[k].i] : 0;
		all = all && p[k + 1];
	}
	p[ncr + 1] = r->t_recv_ns;
	return all;
}

static int split(const struct nb_hops_input *in, const struct nb_hops_msg **joined,
		 const struct nb_txn_rec **recs, size_t n, struct nb_report_hops *out)
{
	struct crossing cr[2 * NB_HOPS_MAX_IFS];
	unsigned ncr = order_crossings(in, joined, recs, n, cr), nseg = ncr + 1;
	int64_t *vals = malloc((n ? n : 1) * nseg * sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	size_t good = 0;
	double rtt_sum = 0;
	out->n = nseg;
	for (unsigned s = 0; s < nseg; s++)
		name_segment(in->o, s ? &cr[s - 1] : NULL, s < ncr ? &cr[s] : NULL, &out->seg[s]);
	for (size_t t = 0; t < n; t++) {
		int64_t p[MAX_POINTS];
		if (!points_of(recs[t], joined[t], cr, ncr, p)) {
			for (unsigned s = 0; s < nseg; s++)
				out->seg[s].unmatched +=
				    !(s == 0 || p[s]) || !(s + 1 == nseg || p[s + 1]) || !joined[t];
			continue;
		}
		for (unsigned s = 0; s < nseg; s++)
			vals[(size_t)s * n + good] = p[s + 1] - p[s];
		rtt_sum += (double)(p[nseg] - p[0]);
		good++;
	}
	out->decomposed = good;
	out->rtt_mean_ns = good ? rtt_sum / (double)good : 0;
	for (unsigned s = 0; s < nseg && good; s++)
		segment_stats(&out->seg[s], vals + (size_t)s * n, good, out->rtt_mean_ns);
	free(vals);
	return good ? 0 : -ENODATA;
}

int nb_hops_decompose(const struct nb_hops_input *in, struct nb_report_hops *out)
{
	size_t n = 0;
	for (unsigned f = 0; f < in->n_logs; f++)
		n += in->logs[f].n;
	out->txns = n;
	out->n = 0;
	out->decomposed = 0;
	const struct nb_hops_msg **joined = malloc((n ? n : 1) * sizeof(*joined));
	const struct nb_txn_rec **recs = malloc((n ? n : 1) * sizeof(*recs));
	int r = -ENOMEM;
	if (joined && recs) {
		size_t k = 0;
		for (unsigned f = 0; f < in->n_logs; f++)
			for (uint32_t j = 0; j < in->logs[f].n; j++, k++) {
				recs[k] = &in->logs[f].rec[j];
				joined[k] = find_msg(in, f, recs[k]->seq);
			}
		r = n ? split(in, joined, recs, n, out) : -ENODATA;
	}
	free(joined);
	free(recs);
	return r;
}
