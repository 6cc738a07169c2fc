/* SPDX-License-Identifier: MIT */
/* --hops=pcap: capture on the path's interfaces and the split of each round trip into segments; and the
 * backend table's front (nb_hops_*). */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nbench/clock.h"
#include "nbench/hops.h"
#include "nbench/workload.h"
#include "hops_impl.h"
#include "pcap_ns.h"

#define SNAP_BYTES 256 /* link, IP and TCP headers with options, and the marker */
#define POLL_MS	   20

/* CLOCK_REALTIME - CLOCK_MONOTONIC at one moment: pcap's host timestamps are the former, the generator's
 * the latter. Read between two monotonic reads, the closest pair of five. */
struct clock_pair {
	int64_t rt_ns, off_ns;
};

static int64_t ts_ns(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return (int64_t)t.tv_sec * NB_NS_PER_S + t.tv_nsec;
}

static struct clock_pair clock_pair_now(void)
{
	struct clock_pair best = {0, 0};
	int64_t best_gap = INT64_MAX;
	for (int i = 0; i < 5; i++) {
		int64_t m1 = ts_ns(CLOCK_MONOTONIC), rt = ts_ns(CLOCK_REALTIME), m2 = ts_ns(CLOCK_MONOTONIC);
		if (m2 - m1 < best_gap) {
			best_gap = m2 - m1;
			best = (struct clock_pair){rt, rt - (m1 + (m2 - m1) / 2)};
		}
	}
	return best;
}

struct cap_if {
	pcap_t *p;
	int fd;
	int linktype;
};

struct hops_pcap {
	struct nb_hops_opts o;
	struct nb_nic_ref ifs[NB_HOPS_MAX_IFS];
	struct cap_if cap[NB_HOPS_MAX_IFS];
	/* the capture's ring: per flow NB_HOPS_RING_PER_FLOW message pairs, indexed by sequence number */
	struct nb_hops_msg *ring;
	bool *ring_used;
	struct nb_hops_msg *done; /* pairs that left the ring, in order of leaving */
	size_t n_done, cap_done;
	uint64_t evicted; /* sightings that came after their pair had left the ring, or found no room */
	/* the generator's logs */
	struct nb_txn_log *logs;
	struct nb_txn_rec *log_mem;
	struct clock_pair c0, c1;
	pthread_t th;
	bool running;
	int stop;
	unsigned cur_if; /* the interface pcap_dispatch is reading */
};

/* ---- opening a capture inside a namespace ---- */

static int cap_open(struct hops_pcap *h, unsigned i, const char *filter, char *err, size_t errlen)
{
	struct cap_if *c = &h->cap[i];
	int r = nb_pcap_open_ns(h->ifs[i].netns, h->ifs[i].ifname, filter, SNAP_BYTES, 4 << 20, &c->p, &c->fd,
				err, errlen);
	if (r == 0)
		c->linktype = pcap_datalink(c->p);
	return r;
}

/* ---- the capture thread ---- */

/* The payload of an Ethernet frame carrying TCP or UDP over IPv4 or IPv6 (no extension headers). */
static const unsigned char *l4_payload(const unsigned char *b, size_t len, size_t *plen)
{
	size_t o = 14, l4;
	int proto;
	if (len < o + 40)
		return NULL;
	unsigned et = (unsigned)b[12] << 8 | b[13];
	if (et == 0x0800) {
		l4 = o + (size_t)(b[o] & 0x0f) * 4;
		proto = b[o + 9];
	} else if (et == 0x86dd) {
		l4 = o + 40;
		proto = b[o + 6];
	} else {
		return NULL;
	}
	size_t hl = proto == 17 ? 8 : proto == 6 && len > l4 + 12 ? (size_t)(b[l4 + 12] >> 4) * 4 : 0;
	if (!hl || len < l4 + hl)
		return NULL;
	*plen = len - l4 - hl;
	return b + l4 + hl;
}

/* The pair leaves the ring for the finished list (or, that full, falls out). */
static void ring_retire(struct hops_pcap *h, size_t slot)
{
	if (!h->ring_used[slot])
		return;
	h->ring_used[slot] = false;
	if (h->n_done == h->cap_done && h->cap_done < NB_HOPS_MAX_TXNS) {
		size_t cap = h->cap_done * 2;
		struct nb_hops_msg *d = realloc(h->done, cap * sizeof(*d));
		if (d) {
			h->done = d;
			h->cap_done = cap;
		}
	}
	if (h->n_done < h->cap_done)
		h->done[h->n_done++] = h->ring[slot];
	else
		h->evicted++;
}

static void on_packet(unsigned char *arg, const struct pcap_pkthdr *ph, const unsigned char *b)
{
	struct hops_pcap *h = (struct hops_pcap *)arg;
	size_t plen;
	uint64_t seq;
	uint32_t flow;
	const unsigned char *pl = l4_payload(b, ph->caplen, &plen);
	char dir = pl ? nb_mark_get(pl, plen, &seq, &flow) : 0;
	if (!dir || flow >= h->o.flows)
		return;
	size_t slot = (size_t)flow * NB_HOPS_RING_PER_FLOW + (size_t)(seq % NB_HOPS_RING_PER_FLOW);
	struct nb_hops_msg *m = &h->ring[slot];
	if (h->ring_used[slot] && m->seq != seq) {
		if (seq < m->seq) { /* its pair already left */
			h->evicted++;
			return;
		}
		ring_retire(h, slot);
	}
	if (!h->ring_used[slot]) {
		memset(m, 0, sizeof(*m));
		m->flow = flow;
		m->seq = seq;
		h->ring_used[slot] = true;
	}
	int64_t *t = &m->ts_ns[dir == NB_MARK_RESP][h->cur_if];
	if (!*t) /* a retransmission keeps the first sighting */
		*t = (int64_t)ph->ts.tv_sec * NB_NS_PER_S + ph->ts.tv_usec; /* tv_usec holds ns (NANO) */
}

/* Reads every interface in turn, a few packets each, until none has more: one interface's backlog read
 * alone could run so far ahead of another's that the ring reuses the places the other still needs. */
static void drain_all(struct hops_pcap *h)
{
	for (bool more = true; more;) {
		more = false;
		for (unsigned i = 0; i < h->o.n_ifs; i++) {
			h->cur_if = i;
			more |= pcap_dispatch(h->cap[i].p, 32, on_packet, (unsigned char *)h) > 0;
		}
	}
}

static void *capture_main(void *arg)
{
	struct hops_pcap *h = arg;
	struct pollfd pfd[NB_HOPS_MAX_IFS];
	for (unsigned i = 0; i < h->o.n_ifs; i++)
		pfd[i] = (struct pollfd){.fd = h->cap[i].fd, .events = POLLIN};
	while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
		if (poll(pfd, h->o.n_ifs, POLL_MS) > 0)
			drain_all(h);
	}
	drain_all(h);
	return NULL;
}

/* ---- start and finish ---- */

static int alloc_state(struct hops_pcap *h)
{
	size_t slots = (size_t)h->o.flows * NB_HOPS_RING_PER_FLOW;
	h->ring = calloc(slots, sizeof(*h->ring));
	h->ring_used = calloc(slots, sizeof(*h->ring_used));
	h->cap_done = 4096; /* grows to NB_HOPS_MAX_TXNS */
	h->done = malloc(h->cap_done * sizeof(*h->done));
	if (!h->ring || !h->ring_used || !h->done)
		return -ENOMEM;
	return nb_hops_logs_new(h->o.flows, &h->logs, &h->log_mem);
}

static void pcap_free(void *b);

static int pcap_start(const struct nb_hops_opts *o, void **ret, char *err, size_t errlen)
{
	struct hops_pcap *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->o = *o;
	memcpy(h->ifs, o->ifs, o->n_ifs * sizeof(*o->ifs));
	h->o.ifs = h->ifs;
	int r = alloc_state(h);
	if (r < 0) {
		snprintf(err, errlen, "--hops: no memory for the capture");
		pcap_free(h);
		return r;
	}
	/* the protocol, the server's ports (both sides of a NAT), and the marker's magic at payload offset
	 * 12: "nbH" big-endian as BPF loads it */
	char filter[512];
	const char *magic = "0xffffff00 = 0x6e624800";
	snprintf(filter, sizeof(filter),
		 "(udp and (port %u or port %u) and udp[20:4] & %s) or "
		 "(tcp and (port %u or port %u) and tcp[((tcp[12:1] & 0xf0) >> 2) + 12:4] & %s)",
		 o->ports[0], o->ports[1], magic, o->ports[0], o->ports[1], magic);
	for (unsigned i = 0; i < o->n_ifs && r == 0; i++) {
		r = cap_open(h, i, filter, err, errlen);
		if (r == 0 && h->cap[i].linktype != DLT_EN10MB) {
			snprintf(err, errlen, "--hops: %s is not Ethernet (link type %d)", h->ifs[i].ifname,
				 h->cap[i].linktype);
			r = -EPROTONOSUPPORT;
		}
	}
	if (r == 0 && (r = -pthread_create(&h->th, NULL, capture_main, h)) < 0)
		snprintf(err, errlen, "--hops: cannot start the capture thread");
	if (r < 0) {
		pcap_free(h);
		return r;
	}
	h->running = true;
	h->c0 = clock_pair_now();
	*ret = h;
	return 0;
}

static void pcap_hooks(void *b, struct nb_run_hooks *hooks)
{
	struct hops_pcap *h = b;
	hooks->txlogs = h->logs;
	hooks->n_txlogs = h->o.flows;
}

static void stop_thread(struct hops_pcap *h)
{
	if (!h->running)
		return;
	__atomic_store_n(&h->stop, 1, __ATOMIC_RELAXED);
	pthread_join(h->th, NULL);
	h->running = false;
}

static int msg_cmp(const void *a, const void *b)
{
	const struct nb_hops_msg *x = a, *y = b;
	if (x->flow != y->flow)
		return x->flow < y->flow ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Puts the sightings on the generator's clock: the offset drawn as a line between start and finish, so a
 * slewing CLOCK_REALTIME (NTP) moves no timestamp by more than its slew over the run. */
static void to_monotonic(struct hops_pcap *h)
{
	double span = (double)(h->c1.rt_ns - h->c0.rt_ns);
	double slope = span > 0 ? (double)(h->c1.off_ns - h->c0.off_ns) / span : 0;
	for (size_t k = 0; k < h->n_done; k++)
		for (int d = 0; d < 2; d++)
			for (unsigned i = 0; i < h->o.n_ifs; i++) {
				int64_t *t = &h->done[k].ts_ns[d][i];
				if (*t)
					*t -= h->c0.off_ns + (int64_t)(slope * (double)(*t - h->c0.rt_ns));
			}
}

static int pcap_finish(void *b, struct nb_report_hops *out)
{
	struct hops_pcap *h = b;
	stop_thread(h);
	h->c1 = clock_pair_now();
	size_t slots = (size_t)h->o.flows * NB_HOPS_RING_PER_FLOW;
	for (size_t s = 0; s < slots; s++)
		ring_retire(h, s);
	to_monotonic(h);
	qsort(h->done, h->n_done, sizeof(*h->done), msg_cmp);
	struct nb_hops_input in = {
	    .o = &h->o, .msgs = h->done, .n_msgs = h->n_done, .logs = h->logs, .n_logs = h->o.flows};
	int r = nb_hops_decompose(&in, out);
	out->ring_evicted = h->evicted;
	for (unsigned i = 0; i < h->o.n_ifs; i++) {
		struct pcap_stat st;
		if (h->cap[i].p && pcap_stats(h->cap[i].p, &st) == 0)
			out->pcap_dropped += st.ps_drop;
	}
	snprintf(out->clock, sizeof(out->clock),
		 "pcap CLOCK_REALTIME to CLOCK_MONOTONIC: offset at start and end, drift %lld ns",
		 (long long)(h->c1.off_ns - h->c0.off_ns));
	return r;
}

static void pcap_free(void *b)
{
	struct hops_pcap *h = b;
	if (!h)
		return;
	stop_thread(h);
	for (unsigned i = 0; i < NB_HOPS_MAX_IFS; i++)
		if (h->cap[i].p)
			pcap_close(h->cap[i].p);
	free(h->ring);
	free(h->ring_used);
	free(h->done);
	free(h->logs);
	free(h->log_mem);
	free(h);
}

const struct nb_hops_ops nb_hops_pcap_ops = {
    .name = "pcap", .start = pcap_start, .hooks = pcap_hooks, .finish = pcap_finish, .free = pcap_free};
