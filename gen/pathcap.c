/* SPDX-License-Identifier: MIT */
/* --capture: libpcap on every interface of the path, into one pcapng file (see pathcap.h). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nbench/pathcap.h"
#include "nbench/pcapng.h"
#include "nbench/clock.h"
#include "pcap_ns.h"

#define POLL_MS	    20
#define KERNEL_BUF  (8 << 20)
#define FILE_BUF    (1 << 20)
#define ISB_RESERVE 256 /* bytes kept back per interface for its statistics block */
/* Packets read in one pass over the interfaces are written sorted by time, so a reader sees one packet
 * cross the path hop by hop rather than each interface's packets in a block. */
#define BATCH_PKTS  4096
#define BATCH_BYTES (4u << 20)

struct held {
	uint64_t ts_ns;
	uint32_t ifid, caplen, origlen, off;
};

struct cap_src {
	pcap_t *p;
	int fd;
	uint64_t packets;
};

struct nb_pathcap {
	struct nb_pathcap_opts o;
	struct nb_nic_ref ifs[NB_REPORT_MAX_CAPTURE_IFS];
	struct cap_src src[NB_REPORT_MAX_CAPTURE_IFS];
	FILE *f;
	char *fbuf;
	struct held *held; /* the pass's packets, data in arena */
	unsigned char *arena;
	unsigned n_held;
	uint32_t arena_used;
	uint64_t written, packets, truncated, over_cap;
	int write_err; /* the first write's error */
	unsigned cur;  /* the interface pcap_dispatch is reading */
	pthread_t th;
	bool running;
	int stop;
};

static int held_cmp(const void *a, const void *b)
{
	const struct held *x = a, *y = b;
	return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

/* Writes the held packets in time order, each while the file is under its cap. */
static void flush(struct nb_pathcap *c)
{
	qsort(c->held, c->n_held, sizeof(*c->held), held_cmp);
	for (unsigned k = 0; k < c->n_held; k++) {
		const struct held *h = &c->held[k];
		size_t need = nb_pcapng_epb_bytes(h->caplen);
		if (c->write_err || c->written + need + ISB_RESERVE * c->o.n_ifs > c->o.max_bytes) {
			c->over_cap++;
			continue;
		}
		int r = nb_pcapng_epb(c->f, h->ifid, h->ts_ns, c->arena + h->off, h->caplen, h->origlen);
		if (r < 0) {
			c->write_err = r;
			continue;
		}
		c->written += need;
		c->packets++;
		c->src[h->ifid].packets++;
		c->truncated += h->caplen < h->origlen;
	}
	c->n_held = 0;
	c->arena_used = 0;
}

static void on_packet(unsigned char *arg, const struct pcap_pkthdr *ph, const unsigned char *data)
{
	struct nb_pathcap *c = (struct nb_pathcap *)arg;
	if (c->n_held == BATCH_PKTS || c->arena_used + ph->caplen > BATCH_BYTES)
		flush(c);
	/* tv_usec holds nanoseconds: the capture asked for nanosecond precision */
	uint64_t ts = (uint64_t)ph->ts.tv_sec * NB_NS_PER_S + (uint64_t)ph->ts.tv_usec;
	c->held[c->n_held++] = (struct held){ts, c->cur, ph->caplen, ph->len, c->arena_used};
	memcpy(c->arena + c->arena_used, data, ph->caplen);
	c->arena_used += ph->caplen;
}

/* Reads every interface in turn, a few packets each, until none has more; then writes them. */
static void drain_all(struct nb_pathcap *c)
{
	for (bool more = true; more;) {
		more = false;
		for (unsigned i = 0; i < c->o.n_ifs; i++) {
			c->cur = i;
			more |= pcap_dispatch(c->src[i].p, 64, on_packet, (unsigned char *)c) > 0;
		}
	}
	flush(c);
}

static void *capture_main(void *arg)
{
	struct nb_pathcap *c = arg;
	struct pollfd pfd[NB_REPORT_MAX_CAPTURE_IFS];
	for (unsigned i = 0; i < c->o.n_ifs; i++)
		pfd[i] = (struct pollfd){.fd = c->src[i].fd, .events = POLLIN};
	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED))
		if (poll(pfd, c->o.n_ifs, POLL_MS) > 0)
			drain_all(c);
	drain_all(c);
	return NULL;
}

/* The file's first blocks: the section, then an interface block per interface. */
static int write_head(struct nb_pathcap *c, char *err, size_t errlen)
{
	int r = nb_pcapng_shb(c->f, "nbench " NB_VERSION " --capture");
	for (unsigned i = 0; i < c->o.n_ifs && r == 0; i++) {
		char descr[96];
		snprintf(descr, sizeof(descr), "network namespace %s",
			 c->ifs[i].netns[0] ? c->ifs[i].netns : "(nbench's own)");
		r = nb_pcapng_idb(c->f, (uint16_t)pcap_datalink(c->src[i].p), c->o.snap_bytes,
				  c->ifs[i].ifname, descr);
	}
	if (r < 0)
		snprintf(err, errlen, "--capture: cannot write %s", c->o.file);
	c->written = (uint64_t)ftell(c->f);
	return r;
}

static int open_all(struct nb_pathcap *c, char *err, size_t errlen)
{
	char filter[160];
	snprintf(filter, sizeof(filter), "(tcp or udp) and (port %u or port %u)", c->o.ports[0],
		 c->o.ports[1] ? c->o.ports[1] : c->o.ports[0]);
	for (unsigned i = 0; i < c->o.n_ifs; i++) {
		int r = nb_pcap_open_ns(c->ifs[i].netns, c->ifs[i].ifname, filter, (int)c->o.snap_bytes,
					KERNEL_BUF, &c->src[i].p, &c->src[i].fd, err, errlen);
		if (r < 0)
			return r;
	}
	c->held = malloc(BATCH_PKTS * sizeof(*c->held));
	c->arena = malloc(BATCH_BYTES);
	if (!c->held || !c->arena) {
		snprintf(err, errlen, "--capture: no memory");
		return -ENOMEM;
	}
	c->f = fopen(c->o.file, "wbe");
	if (!c->f) {
		int r = -errno;
		snprintf(err, errlen, "--capture: cannot create %s: %s", c->o.file, strerror(errno));
		return r;
	}
	if ((c->fbuf = malloc(FILE_BUF)))
		setvbuf(c->f, c->fbuf, _IOFBF, FILE_BUF);
	return write_head(c, err, errlen);
}

int nb_pathcap_start(const struct nb_pathcap_opts *o, struct nb_pathcap **ret, char *err, size_t errlen)
{
	if (o->n_ifs < 1 || o->n_ifs > NB_REPORT_MAX_CAPTURE_IFS) {
		snprintf(err, errlen, "--capture: the path has %u interfaces (1 to %u work)", o->n_ifs,
			 NB_REPORT_MAX_CAPTURE_IFS);
		return -EINVAL;
	}
	struct nb_pathcap *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->o = *o;
	memcpy(c->ifs, o->ifs, o->n_ifs * sizeof(*o->ifs));
	c->o.ifs = c->ifs;
	if (!c->o.snap_bytes)
		c->o.snap_bytes = NB_PATHCAP_SNAP_DEFAULT;
	if (!c->o.max_bytes)
		c->o.max_bytes = NB_PATHCAP_MAX_DEFAULT;
	int r = open_all(c, err, errlen);
	if (r == 0 && (r = -pthread_create(&c->th, NULL, capture_main, c)) < 0)
		snprintf(err, errlen, "--capture: cannot start the capture thread");
	if (r < 0) {
		nb_pathcap_free(c);
		return r;
	}
	c->running = true;
	*ret = c;
	return 0;
}

static void stop_thread(struct nb_pathcap *c)
{
	if (!c->running)
		return;
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELAXED);
	pthread_join(c->th, NULL);
	c->running = false;
}

/* Each interface's statistics block, with a comment saying what was cut. */
static int write_tail(struct nb_pathcap *c, struct nb_report_capture *out)
{
	char comment[200];
	snprintf(
	    comment, sizeof(comment),
	    "nbench: %llu packets cut to %u bytes, %llu left out past the %llu-byte cap (all interfaces)",
	    (unsigned long long)c->truncated, c->o.snap_bytes, (unsigned long long)c->over_cap,
	    (unsigned long long)c->o.max_bytes);
	uint64_t now = (uint64_t)nb_realtime_ns();
	int r = 0;
	for (unsigned i = 0; i < c->o.n_ifs; i++) {
		struct pcap_stat st = {0};
		pcap_stats(c->src[i].p, &st);
		struct nb_report_capture_if *e = &out->ifs[i];
		snprintf(e->name, sizeof(e->name), "%s", c->ifs[i].ifname);
		snprintf(e->netns, sizeof(e->netns), "%s", c->ifs[i].netns);
		e->packets = c->src[i].packets;
		e->dropped = st.ps_drop;
		out->dropped += st.ps_drop;
		if (r == 0)
			r = nb_pcapng_isb(c->f, i, now, st.ps_recv, st.ps_drop, i == 0 ? comment : NULL);
	}
	out->n_ifs = c->o.n_ifs;
	return r;
}

int nb_pathcap_finish(struct nb_pathcap *c, struct nb_report_capture *out)
{
	stop_thread(c);
	memset(out, 0, sizeof(*out));
	snprintf(out->file, sizeof(out->file), "%s", c->o.file);
	out->snap_bytes = c->o.snap_bytes;
	out->max_bytes = c->o.max_bytes;
	int r = c->write_err ? c->write_err : write_tail(c, out);
	long size = ftell(c->f);
	if (fclose(c->f) && r == 0)
		r = -EIO;
	c->f = NULL;
	out->packets = c->packets;
	out->truncated = c->truncated;
	out->over_cap = c->over_cap;
	out->file_bytes = size > 0 ? (uint64_t)size : c->written;
	if (r < 0)
		snprintf(out->error, sizeof(out->error), "writing %s failed: %s", c->o.file, strerror(-r));
	return r;
}

void nb_pathcap_free(struct nb_pathcap *c)
{
	if (!c)
		return;
	stop_thread(c);
	for (unsigned i = 0; i < NB_REPORT_MAX_CAPTURE_IFS; i++)
		if (c->src[i].p)
			pcap_close(c->src[i].p);
	if (c->f)
		fclose(c->f);
	free(c->fbuf);
	free(c->held);
	free(c->arena);
	free(c);
}
