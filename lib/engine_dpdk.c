/* SPDX-License-Identifier: MIT */
/*
 * The DPDK (kernel-bypass) engine: `--engine dpdk`, built only when meson finds libdpdk (NB_HAVE_DPDK).
 * start() brings up the EAL from nbench's own settings (a unique --file-prefix per process, --no-huge -m 512
 * when no hugepages are reserved, the port as -a (PCI) or --vdev, the user's --dpdk-args last; its output
 * during initialisation is captured so a failure is one line) and one port with one RX and one TX queue,
 * each behind a lock; stop() ends both and removes the EAL's runtime directory, as every failure does.
 *
 * Frames are Ethernet/IPv4/UDP, built and parsed here; ARP for our address is answered here, because a
 * virtual device such as net_af_xdp hands every frame of its queue to us and the kernel never sees them.
 *
 * A flow is a UDP 4-tuple on the port, polled, always spinning. A flow's thread polls the RX queue for all
 * flows whenever it holds the queue's lock, and hands each datagram to its flow: the generator's flows by
 * their own source port (sport_base + slot), the responder's by their sender (they share the listening port).
 * The responder's side also has a poller thread: while no flow thread polls (before START, between tests) it
 * answers ARP and passes each hello from a new sender to the responder, which accepts the flow; a hello
 * repeated by a flow's sender (our ack was lost) is answered by whichever thread polls.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_spinlock.h>
#include <rte_udp.h>

#include "nbench/clock.h"
#include "nbench/engine.h"
#include "nbench/report.h"

/* Ethernet + IPv4 + UDP headers in front of every datagram: the largest datagram is MTU - 28. */
#define HDR_BYTES 42u
#define BURST	  32
/* net_af_xdp needs at least 2048 mbufs per queue in its pool (its UMEM); 2^n - 1 suits the mempool ring. A
 * flow of a test with several flows may hold up to FLOW_RING more (datagrams polled for it by another flow's
 * thread, not yet taken). */
#define POOL_MBUFS 8191
#define POOL_CACHE 256
#define FLOW_RING  256
/* hellos from new senders, polled and not yet passed to the responder */
#define HELLO_RING 64
/* a flow's datagrams taken from the port or its ring and not yet read: two bursts at most */
#define RX_STASH	   (2 * BURST)
#define RING_DESC	   1024
#define ARP_CACHE	   16
#define ARP_OP_OFF	   6 /* offsets in the ARP payload (after the Ethernet header) */
#define ARP_SHA_OFF	   8
#define ARP_SPA_OFF	   14
#define ARP_THA_OFF	   18
#define ARP_TPA_OFF	   24
#define ARP_BYTES	   28
#define RESOLVE_TIMEOUT_NS (3 * NB_NS_PER_S)
#define LINK_WAIT_NS	   (3 * NB_NS_PER_S)
/* A full TX ring is retried this many times without progress before the rest is dropped. */
#define TX_RETRIES 256
/* Spinning reads the clock only every this many empty polls. */
#define SPIN_CLOCK_EVERY 64
/* The responder's poller naps this long between polls once idle for IDLE_AFTER_NS (or while flow threads
 * poll): ARP is still answered within a millisecond, and an idle responder does not hold a CPU. */
#define IDLE_NAP_NS   NB_NS_PER_MS
#define IDLE_AFTER_NS (100 * NB_NS_PER_MS)
#define HELLO_MAX     256

struct dflow;

/* A running instance: the EAL, the port, its flows. */
struct dpdk {
	bool eal_up, port_up;
	uint16_t port_id;
	struct rte_mempool *pool;
	struct rte_ether_addr mac;
	uint32_t ip_be;
	bool csum_offload; /* IPv4 and UDP checksums by the port */
	uint16_t mtu;
	bool have_peer_mac;
	struct rte_ether_addr peer_mac;
	struct {
		uint32_t ip;
		struct rte_ether_addr mac;
	} arp[ARP_CACHE];
	unsigned n_arp, arp_next;
	/* The generator's flows, by slot: a flow's UDP source port is sport_base + slot, which is how a
	 * received datagram finds its flow. The responder's flows (srv), found by their sender. Both changed
	 * only under rx_lock. */
	struct dflow *flows[NB_MAX_FLOWS];
	unsigned n_flows;
	uint16_t sport_base;
	struct dflow *srv[NB_MAX_FLOWS];
	unsigned n_srv;
	/* The responder's side: the listening UDP port (network order, 0: not listening), hellos polled and
	 * not yet passed on, the poller thread, and how many flows have a thread polling (atomic). */
	uint16_t listen_port_be;
	struct nb_listen l;
	struct rte_ring *hellos;
	pthread_t poller;
	int poller_quit;
	unsigned n_live;
	/* The port's one RX and one TX queue are not thread-safe: a test with several flows has a thread per
	 * flow, and whichever holds rx_lock polls for all of them. */
	rte_spinlock_t rx_lock, tx_lock;
	char pmd[32], device[64], driver[32], iface[IF_NAMESIZE];
	uint32_t link_mbps;
	bool link_up;
	unsigned n_xstats;
	struct rte_eth_xstat_name *xnames;
	uint64_t *xbase;
	/* Each mbuf's template tag (a dynamic field, at this offset; -1: none registered): which flow
	 * template its payload holds (0: none). The last tag given out, under tx_lock. */
	int tag_off;
	uint64_t last_tag;
};

static unsigned tx(struct dpdk *d, struct rte_mbuf **pkts, unsigned n);

/*
 * Payloads written once per mbuf (tx_template). A stream's datagrams are the same bytes but their sequence
 * number, and an mbuf freed after it was sent comes back from the pool with its data as it went: an mbuf
 * whose tag is the flow's template still holds the template's payload, and only the sequence number (and
 * the headers, whose checksums are made per frame as always) are written in it. The tag is the one proof:
 * every write of an mbuf's data other than a template's first one sets it to 0, and so does every receive
 * (the pool is shared with the RX queue, and a received frame overwrites the data). A driver that receives
 * into an mbuf and frees it without handing it up would leave a stale tag: such a frame still goes with
 * its own headers and sequence number, only the payload bytes after them (which no receiver reads) would
 * be another frame's.
 */
static inline void tag_set(const struct dpdk *d, struct rte_mbuf *m, uint64_t tag)
{
	if (d->tag_off >= 0)
		*RTE_MBUF_DYNFIELD(m, d->tag_off, uint64_t *) = tag;
}

static inline uint64_t tag_get(const struct dpdk *d, struct rte_mbuf *m)
{
	return d->tag_off >= 0 ? *RTE_MBUF_DYNFIELD(m, d->tag_off, uint64_t *) : 0;
}

/* Registers the tag field (once per process; the same offset again for a later start). */
static void tag_register(struct dpdk *d)
{
	static const struct rte_mbuf_dynfield desc = {
	    .name = "nbench_tx_template", .size = sizeof(uint64_t), .align = __alignof__(uint64_t)};
	d->tag_off = rte_mbuf_dynfield_register(&desc);
}

/* ---- EAL runtime directory ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* The EAL is one per process, and so is its runtime directory: an exit() that skips stop() still removes
 * it (atexit). */
static char rundir[300];

static void rundir_remove(void)
{
	if (!rundir[0])
		return;
	nftw(rundir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	rundir[0] = 0;
}

/* Where the EAL puts a prefix's files: /var/run/dpdk for root, else $XDG_RUNTIME_DIR/dpdk or /tmp/dpdk. */
static void rundir_set(const char *prefix)
{
	const char *base = "/var/run";
	if (getuid() != 0) {
		const char *x = getenv("XDG_RUNTIME_DIR");
		base = x && x[0] ? x : "/tmp";
	}
	snprintf(rundir, sizeof(rundir), "%s/dpdk/%s", base, prefix);
}

static void atexit_cleanup(void)
{
	rundir_remove();
}

/* ---- starting ---- */

static bool hugepages_reserved(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long total = -1;
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "HugePages_Total: %ld", &total) == 1)
				break;
		fclose(f);
	}
	if (total >= 0)
		return total > 0;
	/* no /proc/meminfo line: sum the pools the kernel offers */
	const char *sizes[] = {"hugepages-2048kB", "hugepages-1048576kB"};
	for (unsigned i = 0; i < 2; i++) {
		char p[128];
		snprintf(p, sizeof(p), "/sys/kernel/mm/hugepages/%s/nr_hugepages", sizes[i]);
		f = fopen(p, "r");
		if (!f)
			continue;
		long n = 0;
		if (fscanf(f, "%ld", &n) == 1 && n > 0)
			total = n;
		fclose(f);
	}
	return total > 0;
}

/* "0000:01:00.0" or "01:00.0", optionally followed by ",devargs". */
static bool is_pci(const char *s)
{
	unsigned a, b, c, d;
	char tail = 0;
	char head[64];
	size_t n = strcspn(s, ",");
	if (n >= sizeof(head))
		return false;
	memcpy(head, s, n);
	head[n] = 0;
	if (sscanf(head, "%x:%x:%x.%x%c", &a, &b, &c, &d, &tail) == 4)
		return true;
	return sscanf(head, "%x:%x.%x%c", &a, &b, &c, &tail) == 3;
}

static bool has_arg(const char *args, const char *const *names)
{
	for (; *names; names++) {
		size_t l = strlen(*names);
		for (const char *p = args; (p = strstr(p, *names)); p += l)
			if ((p == args || p[-1] == ' ') && (p[l] == 0 || p[l] == ' ' || p[l] == '='))
				return true;
	}
	return false;
}

/* The most telling line of the EAL's output: a driver's complaint, else the EAL's last word. */
static void eal_reason(const char *out, char *buf, size_t len)
{
	const char *best = NULL, *last_eal = NULL;
	size_t best_l = 0, last_l = 0;
	static const char *const keys[] = {"nvalid", "rror", "ailed",	"annot",   "nrecognized", "requires",
					   "o such", "not ", "unknown", "Unknown", NULL};
	for (const char *p = out; *p;) {
		size_t l = strcspn(p, "\n");
		/* skip the EAL's usage text (printed after a bad argument): its lines are indented or
		 * headings */
		if (!strncmp(p, "Usage:", 6) || p[0] == ' ' || p[0] == '\t' || (l && p[l - 1] == ':')) {
			p += l + (p[l] == '\n');
			continue;
		}
		bool generic = !strncmp(p, "EAL: Error - exiting", 20) || !strncmp(p, "EAL: Bus (", 10) ||
			       !strncmp(p, "EAL: FATAL", 10) || !strncmp(p, "EAL: Detected", 13) ||
			       !strncmp(p, "Usage:", 6);
		if (l > 0 && !generic) {
			if (!strncmp(p, "EAL: ", 5)) {
				last_eal = p;
				last_l = l;
			}
			for (const char *const *k = keys; *k && !best; k++)
				if (memmem(p, l, *k, strlen(*k))) {
					best = p;
					best_l = l;
				}
		}
		p += l + (p[l] == '\n');
	}
	if (!best) {
		best = last_eal;
		best_l = last_l;
	}
	if (!best) {
		snprintf(buf, len, "no reason given");
		return;
	}
	/* "rte_pmd_init_internals(): net_af_packet0: ..." -> "net_af_packet0: ..." */
	const char *fn = memmem(best, best_l, "(): ", 4);
	if (fn && !memchr(best, ' ', (size_t)(fn - best))) {
		best_l -= (size_t)(fn + 4 - best);
		best = fn + 4;
	}
	if (best_l >= len)
		best_l = len - 1;
	memcpy(buf, best, best_l);
	buf[best_l] = 0;
	while (best_l && (buf[best_l - 1] == ' ' || buf[best_l - 1] == '.'))
		buf[--best_l] = 0;
}

/* rte_eal_init with its stdout/stderr captured (the EAL prints usage and notices on stdout, which would
 * corrupt a JSON report). On failure, reason gets the line that explains it. */
static int eal_init_captured(int argc, char **argv, char *reason, size_t rlen, int *ret_errno)
{
	int mfd = memfd_create("nbench-eal", MFD_CLOEXEC);
	int o1 = dup(1), o2 = dup(2);
	fflush(stdout);
	fflush(stderr);
	if (mfd >= 0 && o1 >= 0 && o2 >= 0) {
		dup2(mfd, 1);
		dup2(mfd, 2);
	}
	/* getopt's own message names a bad argument; the CLI turned it off for its parsing */
	int saved_opterr = opterr;
	opterr = 1;
	int r = rte_eal_init(argc, argv);
	*ret_errno = rte_errno;
	opterr = saved_opterr;
	fflush(stdout);
	fflush(stderr);
	if (o1 >= 0) {
		dup2(o1, 1);
		close(o1);
	}
	if (o2 >= 0) {
		dup2(o2, 2);
		close(o2);
	}
	if (mfd >= 0) {
		static char out[32768];
		ssize_t n = pread(mfd, out, sizeof(out) - 1, 0);
		out[n > 0 ? n : 0] = 0;
		eal_reason(out, reason, rlen);
	} else if (r < 0) {
		snprintf(reason, rlen, "%s", rte_strerror(*ret_errno));
	}
	if (mfd >= 0)
		close(mfd);
	return r;
}

static void kernel_driver(const char *iface, char *buf, size_t len)
{
	struct ethtool_drvinfo di = {.cmd = ETHTOOL_GDRVINFO};
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	ifr.ifr_data = (void *)&di;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0)
		snprintf(buf, len, "%s", di.driver);
	close(fd);
}

/* The kernel side of the port: the iface= of a vdev, or the driver bound to a PCI device. */
static void port_facts(struct dpdk *d, const char *spec, const struct rte_eth_dev_info *di)
{
	snprintf(d->pmd, sizeof(d->pmd), "%s", di->driver_name ? di->driver_name : "?");
	char name[RTE_ETH_NAME_MAX_LEN] = "";
	rte_eth_dev_get_name_by_port(d->port_id, name);
	snprintf(d->device, sizeof(d->device), "%s", name);
	const char *ifa = strstr(spec, "iface=");
	if (ifa) {
		ifa += 6;
		size_t l = strcspn(ifa, ",");
		if (l < sizeof(d->iface)) {
			memcpy(d->iface, ifa, l);
			d->iface[l] = 0;
			kernel_driver(d->iface, d->driver, sizeof(d->driver));
		}
	} else if (is_pci(spec)) {
		char p[128], link[256];
		size_t l = strcspn(spec, ",");
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%.*s/driver", (int)l, spec);
		ssize_t n = readlink(p, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = 0;
			const char *b = strrchr(link, '/');
			snprintf(d->driver, sizeof(d->driver), "%.31s", b ? b + 1 : link);
		}
	}
}

static void xstats_snapshot(struct dpdk *d, uint64_t *vals)
{
	struct rte_eth_xstat *xs = calloc(d->n_xstats, sizeof(*xs));
	if (!xs)
		return;
	int n = rte_eth_xstats_get(d->port_id, xs, d->n_xstats);
	for (int i = 0; i < n && (unsigned)i < d->n_xstats; i++)
		if (xs[i].id < d->n_xstats)
			vals[xs[i].id] = xs[i].value;
	free(xs);
}

/*
 * The mbuf pool. net_af_xdp registers the pool's memory as its UMEM and assumes the mbufs lie back to back:
 * the UMEM is populated_size x object size long from the first object (DPDK 22.11, xdp_umem_configure).
 * Without hugepages the EAL's page is 4 KiB, and a default pool keeps every object within one page: one
 * 2368-byte mbuf per page, a 4096-byte stride, so the last ~40% of the mbufs lie beyond the UMEM. The kernel
 * drops a fill-ring or TX descriptor outside the UMEM as invalid, and its mbuf never comes back: the pool
 * drains as those mbufs cycle in, the fill ring empties and the port stops receiving, after the same number
 * of packets every run. RTE_MEMPOOL_F_NO_IOVA_CONTIG packs the objects back to back: without hugepages the
 * IOVA is the virtual address, so an object across a page boundary is still contiguous for a device, and the
 * kernel maps af_xdp's UMEM itself. With hugepages and another driver each object stays within a page, as a
 * NIC doing DMA by physical address needs.
 */
static void obj_span(struct rte_mempool *mp, void *arg, void *obj, unsigned idx)
{
	uintptr_t *lohi = arg;
	(void)mp;
	(void)idx;
	if (!lohi[0] || (uintptr_t)obj < lohi[0])
		lohi[0] = (uintptr_t)obj;
	if ((uintptr_t)obj > lohi[1])
		lohi[1] = (uintptr_t)obj;
}

/* Whether the pool's objects lie back to back, as net_af_xdp's UMEM assumes. */
static bool pool_packed(struct rte_mempool *mp)
{
	uintptr_t lohi[2] = {0, 0};
	rte_mempool_obj_iter(mp, obj_span, lohi);
	size_t stride = rte_mempool_calc_obj_size(mp->elt_size, mp->flags, NULL);
	return mp->nb_mem_chunks == 1 && lohi[1] - lohi[0] == (mp->populated_size - 1) * stride;
}

static struct rte_mempool *pool_create(unsigned n, bool packed, int socket, char *why, size_t whylen)
{
	struct rte_pktmbuf_pool_private priv = {.mbuf_data_room_size = RTE_MBUF_DEFAULT_BUF_SIZE};
	struct rte_mempool *mp = rte_mempool_create_empty(
	    "nbench_pool", n, sizeof(struct rte_mbuf) + RTE_MBUF_DEFAULT_BUF_SIZE, POOL_CACHE, sizeof(priv),
	    socket, packed ? RTE_MEMPOOL_F_NO_IOVA_CONTIG : 0);
	int r = 0;
	why[0] = 0;
	if (!mp) {
		snprintf(why, whylen, "%s", rte_strerror(rte_errno));
		return NULL;
	}
	if ((r = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL)) != 0)
		goto fail;
	rte_pktmbuf_pool_init(mp, &priv);
	if ((r = rte_mempool_populate_default(mp)) < 0)
		goto fail;
	if (packed && !pool_packed(mp)) {
		/* af_xdp's UMEM would not cover every mbuf: the port would stall */
		snprintf(why, whylen, "its mbufs are not back to back, as net_af_xdp needs");
		goto fail;
	}
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
fail:
	if (!why[0])
		snprintf(why, whylen, "%s", rte_strerror(-r));
	rte_mempool_free(mp);
	return NULL;
}

static int port_setup(struct dpdk *d, const struct nb_test_cfg *cfg, const char *probe_msg, char *err,
		      size_t errlen)
{
	struct rte_eth_dev_info di;
	struct rte_eth_conf conf = {0};
	uint16_t pid = RTE_MAX_ETHPORTS, nrx = RING_DESC, ntx = RING_DESC;
	int r;

	RTE_ETH_FOREACH_DEV(pid)
	break;
	if (pid >= RTE_MAX_ETHPORTS || rte_eth_dev_count_avail() == 0) {
		snprintf(err, errlen, "no DPDK port came up from --dpdk-port %s: %s", cfg->dpdk_port,
			 strcmp(probe_msg, "no reason given") ? probe_msg
							      : "does the device or interface exist?");
		return -ENODEV;
	}
	d->port_id = pid;
	if ((r = rte_eth_dev_info_get(pid, &di)) != 0) {
		snprintf(err, errlen, "port %u: cannot read its capabilities: %s", pid, rte_strerror(-r));
		return r;
	}
	uint64_t csum = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	if ((di.tx_offload_capa & csum) == csum) {
		conf.txmode.offloads |= csum;
		d->csum_offload = true;
	}
	if ((r = rte_eth_dev_configure(pid, 1, 1, &conf)) != 0) {
		snprintf(err, errlen, "port %u (%s): configure: %s", pid, di.driver_name, rte_strerror(-r));
		return r;
	}
	rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nrx, &ntx);
	unsigned nmbufs = POOL_MBUFS + (cfg->flows > 1 ? cfg->flows * FLOW_RING : 0);
	tag_register(d);
	bool packed = !rte_eal_has_hugepages() || !strcmp(di.driver_name, "net_af_xdp");
	char why[80];
	d->pool = pool_create(nmbufs, packed, rte_eth_dev_socket_id(pid), why, sizeof(why));
	if (!d->pool) {
		snprintf(err, errlen, "cannot create the mbuf pool (%u mbufs): %s", nmbufs, why);
		return -ENOMEM;
	}
	if ((r = rte_eth_rx_queue_setup(pid, 0, nrx, rte_eth_dev_socket_id(pid), NULL, d->pool)) != 0 ||
	    (r = rte_eth_tx_queue_setup(pid, 0, ntx, rte_eth_dev_socket_id(pid), NULL)) != 0) {
		snprintf(err, errlen, "port %u (%s): queue setup: %s", pid, di.driver_name, rte_strerror(-r));
		return r;
	}
	if ((r = rte_eth_dev_start(pid)) != 0) {
		snprintf(err, errlen, "port %u (%s): start: %s", pid, di.driver_name, rte_strerror(-r));
		return r;
	}
	d->port_up = true;
	rte_eth_macaddr_get(pid, &d->mac);
	if (rte_eth_dev_get_mtu(pid, &d->mtu) != 0 || d->mtu < 68)
		d->mtu = 1500;
	struct rte_eth_link link = {0};
	int64_t end = nb_now_ns() + LINK_WAIT_NS;
	while (rte_eth_link_get_nowait(pid, &link) == 0 && !link.link_status && nb_now_ns() < end)
		nb_sleep_until(nb_now_ns() + 10 * NB_NS_PER_MS);
	d->link_up = link.link_status;
	d->link_mbps = link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed;
	port_facts(d, cfg->dpdk_port, &di);

	int nx = rte_eth_xstats_get_names(pid, NULL, 0);
	if (nx > 0) {
		d->xnames = calloc((size_t)nx, sizeof(*d->xnames));
		d->xbase = calloc((size_t)nx, sizeof(*d->xbase));
		if (d->xnames && d->xbase && rte_eth_xstats_get_names(pid, d->xnames, (unsigned)nx) == nx) {
			d->n_xstats = (unsigned)nx;
			xstats_snapshot(d, d->xbase);
		}
	}
	return 0;
}

/* Checks cfg's --dpdk-* settings into d: 0 or -EINVAL with the message in err. */
static int settings(struct dpdk *d, struct nb_engine *e, const struct nb_test_cfg *cfg, char *err,
		    size_t errlen)
{
	struct in_addr ip;

	if (!cfg->dpdk_port[0]) {
		snprintf(err, errlen,
			 "--engine dpdk needs --dpdk-port (a PCI address or a vdev such as "
			 "net_af_packet0,iface=veth0)");
		return -EINVAL;
	}
	if (!is_pci(cfg->dpdk_port) && strncmp(cfg->dpdk_port, "net_", 4) != 0) {
		snprintf(err, errlen,
			 "--dpdk-port: '%s' is neither a PCI address (0000:01:00.0) nor a virtual device "
			 "(net_af_packet0,iface=veth0)",
			 cfg->dpdk_port);
		return -EINVAL;
	}
	if (!cfg->dpdk_ip[0] || inet_pton(AF_INET, cfg->dpdk_ip, &ip) != 1) {
		snprintf(err, errlen,
			 "--engine dpdk needs --dpdk-ip A.B.C.D, the port's own IPv4 address%s%s%s",
			 cfg->dpdk_ip[0] ? " ('" : "", cfg->dpdk_ip, cfg->dpdk_ip[0] ? "' is not one)" : "");
		return -EINVAL;
	}
	d->have_peer_mac = false;
	if (cfg->dpdk_peer_mac[0]) {
		if (rte_ether_unformat_addr(cfg->dpdk_peer_mac, &d->peer_mac) != 0) {
			snprintf(err, errlen, "--dpdk-peer-mac: '%s' is not a MAC address",
				 cfg->dpdk_peer_mac);
			return -EINVAL;
		}
		d->have_peer_mac = true;
	}
	d->ip_be = ip.s_addr;
	d->tag_off = -1;
	snprintf(e->addr, sizeof(e->addr), "%s", cfg->dpdk_ip);
	rte_spinlock_init(&d->rx_lock);
	rte_spinlock_init(&d->tx_lock);
	/* each process's flows on their own source ports: 49152 + a pid-chosen block of NB_MAX_FLOWS */
	d->sport_base = (uint16_t)(49152 + (unsigned)getpid() % (16384 - NB_MAX_FLOWS));
	return 0;
}

static void dpdk_stop(struct nb_engine *e);

/* Starts the EAL and the port of cfg->dpdk_port with address cfg->dpdk_ip. */
/* The EAL's argv for cfg: nbench's own (a file prefix per process, no telemetry, one lcore, no hugepages
 * when none are reserved, the port as -a or --vdev) unless --dpdk-args says otherwise, then --dpdk-args
 * split at blanks into args (which argv points into). The count, or -EINVAL with the reason in err. */
static int eal_argv(const struct nb_test_cfg *cfg, const char *prefix, char *args, size_t argslen,
		    char **argv, int max, char *err, size_t errlen)
{
	static const char *const lcore_opts[] = {"-l", "-c", "--lcores", NULL};
	static const char *const mem_opts[] = {"-m", "--socket-mem", "--no-huge", NULL};
	static const char *const log_opts[] = {"--log-level", NULL};
	static char a_prefix[80], a_dev[300];
	int argc = 0;

	snprintf(args, argslen, "%s", cfg->dpdk_args);
	snprintf(a_prefix, sizeof(a_prefix), "--file-prefix=%s", prefix);
	argv[argc++] = "nbench";
	argv[argc++] = a_prefix;
	argv[argc++] = "--no-telemetry";
	if (!has_arg(args, lcore_opts))
		argv[argc++] = "-l0";
	if (!has_arg(args, log_opts))
		argv[argc++] =
		    "--log-level=6"; /* RTE_LOG_NOTICE while starting: captured, quoted on failure */
	if (!hugepages_reserved() && !has_arg(args, mem_opts)) {
		argv[argc++] = "--no-huge";
		argv[argc++] = "-m";
		argv[argc++] = "512";
	}
	snprintf(a_dev, sizeof(a_dev), "%s", cfg->dpdk_port);
	if (is_pci(cfg->dpdk_port)) {
		argv[argc++] = "-a";
	} else {
		argv[argc++] = "--no-pci";
		argv[argc++] = "--vdev";
	}
	argv[argc++] = a_dev;
	for (char *save = NULL, *t = strtok_r(args, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (argc >= max - 1) {
			snprintf(err, errlen, "--dpdk-args: too many arguments");
			return -EINVAL;
		}
		argv[argc++] = t;
	}
	argv[argc] = NULL;
	return argc;
}

static int dpdk_start(struct nb_engine *e, const struct nb_test_cfg *cfg, char *err, size_t errlen)
{
	static const char *const log_opts[] = {"--log-level", NULL};
	char prefix[64], args[sizeof(cfg->dpdk_args)], reason[200];
	char *argv[96];
	int argc, r, eno = 0;
	struct dpdk *d = calloc(1, sizeof(*d));

	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	e->priv = d;
	snprintf(prefix, sizeof(prefix), "nbench-%d", (int)getpid());
	if ((r = settings(d, e, cfg, err, errlen)) < 0 ||
	    (r = argc = eal_argv(cfg, prefix, args, sizeof(args), argv, 96, err, errlen)) < 0) {
		free(d);
		return r;
	}
	/* The EAL pins the calling thread to its main lcore, and threads started later inherit that: keep the
	 * placement the user asked for instead. */
	cpu_set_t aff;
	bool have_aff = sched_getaffinity(0, sizeof(aff), &aff) == 0;
	rundir_set(prefix);
	static bool atexit_done;
	if (!atexit_done && atexit(atexit_cleanup) == 0)
		atexit_done = true;
	r = eal_init_captured(argc, argv, reason, sizeof(reason), &eno);
	if (have_aff)
		sched_setaffinity(0, sizeof(aff), &aff);
	if (r < 0) {
		rundir_remove();
		free(d);
		if (eno == EINVAL) {
			snprintf(err, errlen, "bad DPDK EAL arguments: %s", reason);
			return -EINVAL;
		}
		snprintf(err, errlen, "DPDK cannot start --dpdk-port %s: %s", cfg->dpdk_port, reason);
		return eno == EALREADY ? -EBUSY : -ENODEV;
	}
	d->eal_up = true;
	rte_openlog_stream(stderr);
	if (!has_arg(cfg->dpdk_args, log_opts)) /* args is cut into argv's tokens by now */
		rte_log_set_global_level(RTE_LOG_ERR);
	if ((r = port_setup(d, cfg, reason, err, errlen)) < 0) {
		dpdk_stop(e);
		return r;
	}
	e->caps.max_msg_bytes = d->mtu > 28 ? d->mtu - 28u : 0;
	return 0;
}

static void dpdk_unlisten(struct nb_engine *e);

/* Stops the port and the EAL, removes the runtime directory. */
static void dpdk_stop(struct nb_engine *e)
{
	struct dpdk *d = e->priv;
	dpdk_unlisten(e);
	if (d->port_up) {
		rte_eth_dev_stop(d->port_id);
		rte_eth_dev_close(d->port_id);
		d->port_up = false;
	}
	if (d->pool) {
		rte_mempool_free(d->pool);
		d->pool = NULL;
	}
	if (d->eal_up) {
		rte_eal_cleanup();
		d->eal_up = false;
	}
	free(d->xnames);
	free(d->xbase);
	free(d);
	e->priv = NULL;
	rundir_remove();
}

/* The port's facts (PMD, driver, link speed) and its xstats delta since start, for the report. */
static void dpdk_report(struct nb_engine *e, struct nb_report *rep)
{
	struct dpdk *d = e->priv;
	struct nb_dpdk_info *i = &rep->dpdk;
	snprintf(i->pmd, sizeof(i->pmd), "%s", d->pmd);
	snprintf(i->device, sizeof(i->device), "%s", d->device);
	snprintf(i->driver, sizeof(i->driver), "%s", d->driver);
	snprintf(i->iface, sizeof(i->iface), "%s", d->iface);
	i->link_speed_mbps = d->link_mbps;
	i->link_up = d->link_up;
	i->n_xstats = 0;
	uint64_t *now = calloc(d->n_xstats ? d->n_xstats : 1, sizeof(*now));
	if (!now)
		return;
	xstats_snapshot(d, now);
	for (unsigned k = 0; k < d->n_xstats && i->n_xstats < NB_DPDK_MAX_XSTATS; k++) {
		if (now[k] == d->xbase[k])
			continue;
		snprintf(i->xstats[i->n_xstats].name, sizeof(i->xstats[0].name), "%s", d->xnames[k].name);
		i->xstats[i->n_xstats].delta = now[k] - d->xbase[k];
		i->n_xstats++;
	}
	free(now);
	/* a DPDK flow polls: it always spins */
	snprintf(rep->gen_wait, sizeof(rep->gen_wait), "%s", e->caps.wait);
}

/* ---- packets ---- */

static bool arp_lookup(struct dpdk *d, uint32_t ip, struct rte_ether_addr *ret)
{
	for (unsigned i = 0; i < d->n_arp; i++)
		if (d->arp[i].ip == ip) {
			*ret = d->arp[i].mac;
			return true;
		}
	return false;
}

static void arp_learn(struct dpdk *d, uint32_t ip, const uint8_t *mac)
{
	unsigned i;
	for (i = 0; i < d->n_arp; i++)
		if (d->arp[i].ip == ip)
			break;
	if (i == d->n_arp) {
		if (d->n_arp < ARP_CACHE)
			d->n_arp++;
		else
			i = d->arp_next++ % ARP_CACHE;
	}
	d->arp[i].ip = ip;
	memcpy(d->arp[i].mac.addr_bytes, mac, RTE_ETHER_ADDR_LEN);
}

/* Handles m if it is ARP: answers a request for our address (the reply is sent) and learns the sender.
 * Returns true when m was ARP (consumed: freed or sent), false otherwise (untouched). Under rx_lock. */
static bool arp_input(struct dpdk *d, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	if (m->data_len < sizeof(*eh) || eh->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
		return false;
	uint8_t *a = (uint8_t *)(eh + 1);
	if (m->data_len < sizeof(*eh) + ARP_BYTES || a[0] != 0 || a[1] != 1 /* Ethernet */ || a[2] != 0x08 ||
	    a[3] != 0x00 /* IPv4 */ || a[4] != 6 || a[5] != 4) {
		rte_pktmbuf_free(m);
		return true;
	}
	uint16_t op = (uint16_t)(a[ARP_OP_OFF] << 8 | a[ARP_OP_OFF + 1]);
	uint32_t spa, tpa;
	memcpy(&spa, a + ARP_SPA_OFF, 4);
	memcpy(&tpa, a + ARP_TPA_OFF, 4);
	if (tpa == d->ip_be && spa != 0)
		arp_learn(d, spa, a + ARP_SHA_OFF);
	if (op != 1 || tpa != d->ip_be) {
		rte_pktmbuf_free(m);
		return true;
	}
	/* the reply, in place */
	memcpy(eh->dst_addr.addr_bytes, a + ARP_SHA_OFF, RTE_ETHER_ADDR_LEN);
	eh->src_addr = d->mac;
	a[ARP_OP_OFF + 1] = 2;
	memcpy(a + ARP_THA_OFF, a + ARP_SHA_OFF, RTE_ETHER_ADDR_LEN);
	memcpy(a + ARP_TPA_OFF, &spa, 4);
	memcpy(a + ARP_SHA_OFF, d->mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	memcpy(a + ARP_SPA_OFF, &d->ip_be, 4);
	m->ol_flags = 0;
	tx(d, &m, 1);
	return true;
}

static void arp_request(struct dpdk *d, uint32_t ip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(d->pool);
	if (!m)
		return;
	size_t len = sizeof(struct rte_ether_hdr) + ARP_BYTES;
	if (len < RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN)
		len = RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN;
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	if (!p) {
		rte_pktmbuf_free(m);
		return;
	}
	tag_set(d, m, 0);
	memset(p, 0, len);
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)p;
	memset(eh->dst_addr.addr_bytes, 0xff, RTE_ETHER_ADDR_LEN);
	eh->src_addr = d->mac;
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	uint8_t *a = (uint8_t *)(eh + 1);
	static const uint8_t fixed[8] = {0, 1, 0x08, 0, 6, 4, 0, 1};
	memcpy(a, fixed, sizeof(fixed));
	memcpy(a + ARP_SHA_OFF, d->mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	memcpy(a + ARP_SPA_OFF, &d->ip_be, 4);
	memcpy(a + ARP_TPA_OFF, &ip, 4);
	tx(d, &m, 1);
}

/* The MAC of ip_be: the --dpdk-peer-mac, the ARP cache, or an ARP request answered within timeout_ns while
 * polling the port (answering ARP, dropping the rest: no flow of ours is open yet). */
static int resolve(struct dpdk *d, uint32_t ip_be, int64_t timeout_ns, struct rte_ether_addr *ret)
{
	if (d->have_peer_mac) {
		*ret = d->peer_mac;
		return 0;
	}
	int64_t end = nb_now_ns() + timeout_ns, next = 0;
	for (;;) {
		if (arp_lookup(d, ip_be, ret))
			return 0;
		int64_t now = nb_now_ns();
		if (now >= end)
			return -ETIMEDOUT;
		if (now >= next) {
			arp_request(d, ip_be);
			next = now + 200 * NB_NS_PER_MS;
		}
		struct rte_mbuf *pk[BURST];
		rte_spinlock_lock(&d->rx_lock);
		uint16_t n = rte_eth_rx_burst(d->port_id, 0, pk, BURST);
		for (uint16_t i = 0; i < n; i++) {
			tag_set(d, pk[i], 0);
			if (!arp_input(d, pk[i]))
				rte_pktmbuf_free(pk[i]);
		}
		rte_spinlock_unlock(&d->rx_lock);
		if (!n)
			sched_yield();
	}
}

/* Writes Ethernet/IPv4/UDP headers for a payload of len bytes already at hdr + HDR_BYTES, and sets the
 * checksums (in software, or the offload flags of m). All addresses and ports in network order. */
static void udp_hdr(struct dpdk *d, struct rte_mbuf *m, void *hdr, const struct rte_ether_addr *dst_mac,
		    uint32_t dst_ip, uint16_t src_port, uint16_t dst_port, uint16_t len)
{
	struct rte_ether_hdr *eh = hdr;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);

	eh->dst_addr = *dst_mac;
	eh->src_addr = d->mac;
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*uh) + len));
	ip->packet_id = 0;
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->hdr_checksum = 0;
	ip->src_addr = d->ip_be;
	ip->dst_addr = dst_ip;
	uh->src_port = src_port;
	uh->dst_port = dst_port;
	uh->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*uh) + len));
	uh->dgram_cksum = 0;
	m->l2_len = sizeof(*eh);
	m->l3_len = sizeof(*ip);
	if (d->csum_offload) {
		m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
		uh->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	} else {
		/* No offload: the IPv4 header's own checksum only. A zero UDP checksum means "none" in IPv4
		 * (RFC 768), as testpmd's txonly and TRex send by default: a generator that sums every
		 * payload in software spends per frame what they do not. */
		m->ol_flags = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
}

/* The UDP payload of an IPv4/UDP frame for our address: pointer and length, with the sender's address and
 * ports (network order). NULL when m is anything else. */
static void *udp_parse(struct dpdk *d, struct rte_mbuf *m, uint32_t *src_ip, uint16_t *src_port,
		       uint16_t *dst_port, uint16_t *len)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	if (m->data_len < HDR_BYTES || eh->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return NULL;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	unsigned ihl = (ip->version_ihl & 0xf) * 4u;
	if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(*ip) || ip->next_proto_id != IPPROTO_UDP ||
	    ip->dst_addr != d->ip_be)
		return NULL;
	if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
		return NULL; /* fragments are not reassembled: the sizes are kept within the MTU */
	unsigned tot = rte_be_to_cpu_16(ip->total_length);
	if (tot < ihl + sizeof(struct rte_udp_hdr) || sizeof(*eh) + tot > m->data_len)
		return NULL;
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)((char *)ip + ihl);
	unsigned ulen = rte_be_to_cpu_16(uh->dgram_len);
	if (ulen < sizeof(*uh) || ulen > tot - ihl)
		return NULL;
	*src_ip = ip->src_addr;
	*src_port = uh->src_port;
	*dst_port = uh->dst_port;
	*len = (uint16_t)(ulen - sizeof(*uh));
	return uh + 1;
}

/* Sends n packets, retrying a full TX ring a little; frees what did not go. Returns how many went. Any
 * thread may send (the TX queue is locked). */
static unsigned tx(struct dpdk *d, struct rte_mbuf **pkts, unsigned n)
{
	unsigned sent = 0, idle = 0;
	while (sent < n && idle < TX_RETRIES) {
		rte_spinlock_lock(&d->tx_lock);
		uint16_t k = rte_eth_tx_burst(d->port_id, 0, pkts + sent, (uint16_t)(n - sent));
		rte_spinlock_unlock(&d->tx_lock);
		sent += k;
		idle = k ? 0 : idle + 1;
	}
	if (sent < n)
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	return sent;
}

/* A thread the EAL did not start has no lcore id, and without one every mbuf allocation and free goes to
 * the pool's shared ring instead of the thread's cache: each flow thread registers once (cheap to call
 * again), and gives its lcore id back when it exits, so that a responder running test after test does not
 * run out of them. The key is the process's, as the EAL is. */
static pthread_key_t lcore_key;
static pthread_once_t lcore_once = PTHREAD_ONCE_INIT;

static void lcore_release(void *unused)
{
	(void)unused;
	rte_thread_unregister();
}

static void lcore_key_make(void)
{
	pthread_key_create(&lcore_key, lcore_release);
}

static void thread_enter(void)
{
	static __thread bool tried;
	if (tried)
		return;
	tried = true;
	if (rte_lcore_id() != LCORE_ID_ANY)
		return;
	pthread_once(&lcore_once, lcore_key_make);
	if (rte_thread_register() == 0)
		pthread_setspecific(lcore_key, (void *)1);
}

/* ---- flows: a UDP 4-tuple on the port ---- */

struct dflow {
	struct dpdk *d;
	uint32_t dst_ip;       /* network order */
	uint16_t sport, dport; /* network order */
	unsigned slot;
	bool srv;  /* the responder's (in d->srv), else the generator's (in d->flows) */
	bool live; /* its thread has polled or sent: it counts in d->n_live */
	struct rte_ether_addr dst_mac;
	struct rte_ring *ring; /* datagrams another thread polled for this one */
	/* polled but not yet taken: each mbuf's data is the UDP payload */
	struct rte_mbuf *rx[RX_STASH];
	unsigned rx_n, rx_i;
	unsigned bursts;
	int shut; /* SHUT_RDWR: receives end (relaxed atomics: another thread sets it) */
	/* tx_template: datagrams of tmpl_len bytes differ only in their first tmpl_var; their mbufs carry
	 * tmpl_tag (0: no template) */
	uint64_t tmpl_tag;
	uint16_t tmpl_len, tmpl_var;
	/* the responder's: the sender's hello, and our ack, sent again when the hello comes again */
	unsigned char hello[HELLO_MAX], ack[HELLO_MAX];
	uint16_t hello_len, ack_len;
};

/* The generator's flow a datagram to our UDP port dport (network order) belongs to, or NULL. */
static struct dflow *flow_of(struct dpdk *d, uint16_t dport)
{
	unsigned slot = (uint16_t)(rte_be_to_cpu_16(dport) - d->sport_base);
	return slot < NB_MAX_FLOWS ? d->flows[slot] : NULL;
}

/* The responder's flow of the sender ip:port, or NULL. */
static struct dflow *srv_flow_of(struct dpdk *d, uint32_t ip, uint16_t port)
{
	for (unsigned i = 0, seen = 0; i < NB_MAX_FLOWS && seen < d->n_srv; i++) {
		struct dflow *f = d->srv[i];
		if (!f)
			continue;
		seen++;
		if (f->dst_ip == ip && f->dport == port)
			return f;
	}
	return NULL;
}

/* Rebuilds m as the datagram of len bytes at buf to df, and sends it. */
static void reply(struct dflow *df, struct rte_mbuf *m, const void *buf, size_t len)
{
	rte_pktmbuf_reset(m);
	char *p = rte_pktmbuf_append(m, (uint16_t)(HDR_BYTES + len));
	if (!p) {
		rte_pktmbuf_free(m);
		return;
	}
	tag_set(df->d, m, 0);
	memcpy(p + HDR_BYTES, buf, len);
	udp_hdr(df->d, m, p, &df->dst_mac, df->dst_ip, df->sport, df->dport, (uint16_t)len);
	tx(df->d, &m, 1);
}

/* The flow a datagram for us belongs to; NULL when m was consumed here: a hello (a new sender's is queued
 * for the responder, a flow's repeated one answered), or a datagram of no flow (dropped). */
static struct dflow *dispatch(struct dpdk *d, struct rte_mbuf *m, const char *pl, uint32_t sip, uint16_t sp,
			      uint16_t dp, uint16_t len)
{
	if (dp != d->listen_port_be || !d->listen_port_be) {
		struct dflow *to = flow_of(d, dp);
		if (to && sip == to->dst_ip && sp == to->dport)
			return to;
		rte_pktmbuf_free(m);
		return NULL;
	}
	struct dflow *to = srv_flow_of(d, sip, sp);
	if (!to) {
		if (rte_ring_sp_enqueue(d->hellos, m) != 0)
			rte_pktmbuf_free(m);
		return NULL;
	}
	if (len == to->hello_len && !memcmp(pl, to->hello, len)) {
		reply(to, m, to->ack, to->ack_len);
		return NULL;
	}
	return to;
}

/* One RX burst, holding rx_lock: ARP is answered, each flow's datagrams go to it (self's to its stash,
 * another's to its ring; a full ring drops), the rest are dropped. Returns how many frames came. */
static unsigned poll_port_locked(struct dpdk *d, struct dflow *self)
{
	struct rte_mbuf *pk[BURST];
	uint16_t n = rte_eth_rx_burst(d->port_id, 0, pk, BURST);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pk[i];
		uint32_t sip;
		uint16_t sp, dp, len;
		tag_set(d, m, 0); /* its data is a received frame now */
		if (arp_input(d, m))
			continue;
		char *pl = udp_parse(d, m, &sip, &sp, &dp, &len);
		if (!pl) {
			rte_pktmbuf_free(m);
			continue;
		}
		struct dflow *to = dispatch(d, m, pl, sip, sp, dp, len);
		if (!to)
			continue;
		/* the payload becomes the mbuf's data (frames within the MTU fit one segment) */
		m->data_off = (uint16_t)(m->data_off + (pl - rte_pktmbuf_mtod(m, char *)));
		m->data_len = len;
		m->pkt_len = len;
		if (to == self && self->rx_n < RX_STASH)
			self->rx[self->rx_n++] = m;
		else if (rte_ring_sp_enqueue(to->ring, m) != 0)
			rte_pktmbuf_free(m);
	}
	return n;
}

/* A flow's thread polls from now on: the responder's poller leaves the port to it. */
static inline void mark_live(struct dflow *df)
{
	if (!df->live) {
		df->live = true;
		__atomic_add_fetch(&df->d->n_live, 1, __ATOMIC_RELAXED);
	}
}

/* Refills the flow's stash when it is empty: first what other threads polled for it, else one burst from
 * the port when no other thread is polling it. */
static void poll_rx(struct dflow *df)
{
	if (df->rx_i < df->rx_n)
		return;
	df->rx_i = 0;
	df->rx_n = rte_ring_sc_dequeue_burst(df->ring, (void **)df->rx, BURST, NULL);
	if (df->rx_n || !rte_spinlock_trylock(&df->d->rx_lock))
		return;
	/* what another thread put in the ring before this one took the lock is older: it goes first */
	df->rx_n = rte_ring_sc_dequeue_burst(df->ring, (void **)df->rx, BURST, NULL);
	poll_port_locked(df->d, df);
	rte_spinlock_unlock(&df->d->rx_lock);
}

static void flow_free(struct dflow *df)
{
	if (!df)
		return;
	if (df->rx_i < df->rx_n)
		rte_pktmbuf_free_bulk(df->rx + df->rx_i, df->rx_n - df->rx_i);
	if (df->ring) {
		void *m;
		while (rte_ring_sc_dequeue(df->ring, &m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(df->ring);
	}
	free(df);
}

/* A flow in slot of the generator's table (srv false) or the responder's, with its ring; not yet in the
 * table. */
static int flow_new(struct dpdk *d, bool srv, unsigned slot, struct dflow **ret)
{
	struct dflow *df = calloc(1, sizeof(*df));
	char rname[RTE_RING_NAMESIZE];
	if (!df)
		return -ENOMEM;
	df->d = d;
	df->srv = srv;
	df->slot = slot;
	snprintf(rname, sizeof(rname), "nbench_%sflow%u", srv ? "s" : "", slot);
	df->ring = rte_ring_create(rname, FLOW_RING, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (!df->ring) {
		free(df);
		return -ENOMEM;
	}
	*ret = df;
	return 0;
}

/* df's struct nb_flow, and df in its table. */
static int flow_publish(struct nb_engine *e, struct dflow *df, const struct nb_flow_opts *o,
			struct nb_flow **ret)
{
	struct dpdk *d = df->d;
	struct nb_flow *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->ops = &nb_engine_dpdk;
	f->eng = e;
	f->opts = *o;
	f->opts.wait = NB_WAIT_SPIN;
	f->fd = -1;
	f->priv = df;
	rte_spinlock_lock(&d->rx_lock);
	if (df->srv) {
		d->srv[df->slot] = df;
		d->n_srv++;
	} else {
		d->flows[df->slot] = df;
		d->n_flows++;
	}
	rte_spinlock_unlock(&d->rx_lock);
	*ret = f;
	return 0;
}

static int dpdk_open(struct nb_engine *e, const char *host, uint16_t port, const struct nb_flow_opts *o,
		     struct nb_flow **ret)
{
	struct dpdk *d = e->priv;
	struct dflow *df;
	struct in_addr a;
	if (o->proto != NB_PROTO_UDP)
		return -EPROTONOSUPPORT;
	if (inet_pton(AF_INET, host, &a) != 1)
		return -EAFNOSUPPORT;
	unsigned slot = 0;
	while (slot < NB_MAX_FLOWS && d->flows[slot])
		slot++;
	if (slot == NB_MAX_FLOWS)
		return -EBUSY;
	thread_enter();
	int r = flow_new(d, false, slot, &df);
	if (r < 0)
		return r;
	df->dst_ip = a.s_addr;
	df->dport = rte_cpu_to_be_16(port);
	df->sport = rte_cpu_to_be_16((uint16_t)(d->sport_base + slot));
	r = resolve(d, df->dst_ip, RESOLVE_TIMEOUT_NS, &df->dst_mac);
	if (r == 0)
		r = flow_publish(e, df, o, ret);
	if (r < 0) {
		flow_free(df);
		return r == -ETIMEDOUT ? -EHOSTUNREACH : r;
	}
	return 0;
}

/* Builds a datagram of len bytes from buf in m, which was just allocated. */
static void fill(struct dflow *df, struct rte_mbuf *m, const void *buf, size_t len)
{
	char *p = rte_pktmbuf_append(m, (uint16_t)(HDR_BYTES + len));
	tag_set(df->d, m, 0);
	memcpy(p + HDR_BYTES, buf, len);
	udp_hdr(df->d, m, p, &df->dst_mac, df->dst_ip, df->sport, df->dport, (uint16_t)len);
}

/* Builds a datagram of the flow's template from buf (tmpl_len bytes) in m, which was just allocated: the
 * whole payload when m does not hold the template yet, else only its first tmpl_var bytes. The headers are
 * written either way. */
static void fill_tmpl(struct dflow *df, struct rte_mbuf *m, const void *buf)
{
	struct dpdk *d = df->d;
	if (tag_get(d, m) != df->tmpl_tag) {
		fill(df, m, buf, df->tmpl_len);
		tag_set(d, m, df->tmpl_tag);
		return;
	}
	/* allocation put data_off where it was when the template was written */
	char *p = rte_pktmbuf_append(m, (uint16_t)(HDR_BYTES + df->tmpl_len));
	memcpy(p + HDR_BYTES, buf, df->tmpl_var);
	udp_hdr(d, m, p, &df->dst_mac, df->dst_ip, df->sport, df->dport, df->tmpl_len);
}

static int dpdk_tx_template(struct nb_flow *f, size_t len, size_t var_bytes)
{
	struct dflow *df = f->priv;
	struct dpdk *d = df->d;
	if (var_bytes > len || len > f->eng->caps.max_msg_bytes)
		return -EINVAL;
	df->tmpl_tag = 0;
	if (d->tag_off < 0)
		return 0; /* no tag field: every payload is written whole, as before */
	rte_spinlock_lock(&d->tx_lock);
	df->tmpl_tag = ++d->last_tag;
	rte_spinlock_unlock(&d->tx_lock);
	df->tmpl_len = (uint16_t)len;
	df->tmpl_var = (uint16_t)var_bytes;
	return 0;
}

static ssize_t dpdk_send(struct nb_flow *f, const void *buf, size_t len)
{
	struct dflow *df = f->priv;
	thread_enter();
	if (len > f->eng->caps.max_msg_bytes)
		return -EMSGSIZE;
	struct rte_mbuf *m = rte_pktmbuf_alloc(df->d->pool);
	if (!m)
		return -ENOBUFS;
	fill(df, m, buf, len);
	unsigned k = tx(df->d, &m, 1);
	return k ? (ssize_t)len : -ENOBUFS;
}

/* A stream sender never receives, but still answers ARP (the peer's neighbour entry goes stale): every 64
 * bursts it polls, and drops what it polled and did not read since. */
static void sender_poll(struct dflow *df)
{
	if ((++df->bursts & 63) != 0)
		return;
	if (df->rx_i < df->rx_n)
		rte_pktmbuf_free_bulk(df->rx + df->rx_i, df->rx_n - df->rx_i);
	df->rx_i = df->rx_n = 0;
	poll_rx(df);
}

static int dpdk_send_burst(struct nb_flow *f, struct iovec *msgs, unsigned n)
{
	struct dflow *df = f->priv;
	struct rte_mbuf *m[BURST];
	thread_enter();
	mark_live(df);
	if (n > BURST)
		n = BURST;
	for (unsigned i = 0; i < n; i++)
		if (msgs[i].iov_len > f->eng->caps.max_msg_bytes)
			return -EMSGSIZE;
	if (rte_pktmbuf_alloc_bulk(df->d->pool, m, n) != 0)
		return -ENOBUFS;
	for (unsigned i = 0; i < n; i++)
		if (df->tmpl_tag && msgs[i].iov_len == df->tmpl_len)
			fill_tmpl(df, m[i], msgs[i].iov_base);
		else
			fill(df, m[i], msgs[i].iov_base, msgs[i].iov_len);
	unsigned k = tx(df->d, m, n);
	sender_poll(df);
	return k ? (int)k : -ENOBUFS;
}

/* Waits (spinning) until the flow has a datagram: 1, 0 after a shutdown, -ETIMEDOUT. */
static int wait_rx(struct dflow *df, int64_t timeout_ns)
{
	int64_t end = timeout_ns > 0 ? nb_now_ns() + timeout_ns : -1;
	thread_enter();
	mark_live(df);
	for (unsigned i = 1;; i++) {
		if (df->rx_i < df->rx_n)
			return 1;
		if (__atomic_load_n(&df->shut, __ATOMIC_RELAXED))
			return 0;
		poll_rx(df);
		if (df->rx_i < df->rx_n)
			return 1;
		if (timeout_ns == 0)
			return -ETIMEDOUT;
		if (i % SPIN_CLOCK_EVERY == 0) {
			if (end >= 0 && nb_now_ns() >= end)
				return -ETIMEDOUT;
			/* flows outnumbering the CPUs: let the one polling for all (or the peer) run */
			if (df->d->n_flows + df->d->n_srv > 1)
				sched_yield();
		}
	}
}

static size_t take(struct dflow *df, void *buf, size_t len)
{
	struct rte_mbuf *m = df->rx[df->rx_i++];
	size_t n = m->data_len < len ? m->data_len : len;
	memcpy(buf, rte_pktmbuf_mtod(m, void *), n);
	rte_pktmbuf_free(m);
	return n;
}

static ssize_t dpdk_recv(struct nb_flow *f, void *buf, size_t len, int64_t timeout_ns)
{
	struct dflow *df = f->priv;
	int r = wait_rx(df, timeout_ns);
	if (r <= 0)
		return r;
	return (ssize_t)take(df, buf, len);
}

static int dpdk_recv_burst(struct nb_flow *f, struct iovec *msgs, unsigned n, size_t *lens,
			   int64_t timeout_ns)
{
	struct dflow *df = f->priv;
	int r = wait_rx(df, timeout_ns);
	if (r <= 0)
		return r;
	unsigned k = 0;
	while (k < n && df->rx_i < df->rx_n) {
		lens[k] = take(df, msgs[k].iov_base, msgs[k].iov_len);
		k++;
	}
	return (int)k;
}

static int dpdk_shutdown(struct nb_flow *f, int how)
{
	struct dflow *df = f->priv;
	if (how != SHUT_WR)
		__atomic_store_n(&df->shut, 1, __ATOMIC_RELAXED);
	return 0;
}

static void dpdk_close(struct nb_flow *f)
{
	struct dflow *df = f->priv;
	struct dpdk *d = df->d;
	/* no thread polls for it once it is out of the table */
	rte_spinlock_lock(&d->rx_lock);
	if (df->srv) {
		d->srv[df->slot] = NULL;
		d->n_srv--;
	} else {
		d->flows[df->slot] = NULL;
		d->n_flows--;
	}
	rte_spinlock_unlock(&d->rx_lock);
	if (df->live)
		__atomic_sub_fetch(&d->n_live, 1, __ATOMIC_RELAXED);
	flow_free(df);
	free(f);
}

/* ---- the responder's side: hellos on the listening port, flows by their sender ---- */

/* Where a hello came from (network order; the MAC is the sender's, or the router's in front of it). */
struct dpdk_from {
	struct rte_ether_addr mac;
	uint32_t ip;
	uint16_t port;
};

/* Passes a queued hello (a whole frame) to the responder. */
static void hello_input(struct nb_engine *e, struct rte_mbuf *m)
{
	struct dpdk *d = e->priv;
	struct dpdk_from from;
	uint16_t dp, len;
	const char *pl = udp_parse(d, m, &from.ip, &from.port, &dp, &len);
	if (pl) {
		from.mac = rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr;
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = from.port};
		sin.sin_addr.s_addr = from.ip; /* both network order, as udp_parse gives them */
		struct nb_hello h = {.buf = pl,
				     .len = len,
				     .from = &from,
				     .peer = (const struct sockaddr *)&sin,
				     .peer_len = sizeof(sin)};
		d->l.hello(d->l.arg, e, &h);
	}
	rte_pktmbuf_free(m);
}

/* While no flow thread polls, polls the port (ARP; datagrams of flows not yet running go to their rings);
 * always passes new senders' hellos on. */
static void *poller_main(void *arg)
{
	struct nb_engine *e = arg;
	struct dpdk *d = e->priv;
	int64_t busy_at = nb_now_ns();
	thread_enter();
	while (!__atomic_load_n(&d->poller_quit, __ATOMIC_RELAXED)) {
		unsigned n = 0;
		bool flows_poll = __atomic_load_n(&d->n_live, __ATOMIC_RELAXED) > 0;
		if (!flows_poll && rte_spinlock_trylock(&d->rx_lock)) {
			n = poll_port_locked(d, NULL);
			rte_spinlock_unlock(&d->rx_lock);
		}
		struct rte_mbuf *m;
		while (rte_ring_sc_dequeue(d->hellos, (void **)&m) == 0) {
			hello_input(e, m);
			n++;
		}
		int64_t now = nb_now_ns();
		if (n)
			busy_at = now;
		else if (flows_poll || now - busy_at > IDLE_AFTER_NS)
			nb_sleep_until(now + IDLE_NAP_NS);
	}
	return NULL;
}

static int dpdk_listen(struct nb_engine *e, const struct nb_listen *l, int *ret_fd)
{
	struct dpdk *d = e->priv;
	d->hellos =
	    rte_ring_create("nbench_hellos", HELLO_RING, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (!d->hellos)
		return -ENOMEM;
	d->l = *l;
	rte_spinlock_lock(&d->rx_lock);
	d->listen_port_be = rte_cpu_to_be_16(l->port);
	rte_spinlock_unlock(&d->rx_lock);
	if (pthread_create(&d->poller, NULL, poller_main, e) != 0) {
		d->listen_port_be = 0;
		rte_ring_free(d->hellos);
		d->hellos = NULL;
		return -EAGAIN;
	}
	*ret_fd = -1;
	return 0;
}

static void dpdk_unlisten(struct nb_engine *e)
{
	struct dpdk *d = e->priv;
	if (!d->hellos)
		return;
	__atomic_store_n(&d->poller_quit, 1, __ATOMIC_RELAXED);
	pthread_join(d->poller, NULL);
	rte_spinlock_lock(&d->rx_lock);
	d->listen_port_be = 0;
	rte_spinlock_unlock(&d->rx_lock);
	void *m;
	while (rte_ring_sc_dequeue(d->hellos, &m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(d->hellos);
	d->hellos = NULL;
}

static int dpdk_accept(struct nb_engine *e, const struct nb_hello *h, const void *ack, size_t ack_len,
		       const struct nb_flow_opts *o, struct nb_flow **ret)
{
	struct dpdk *d = e->priv;
	const struct dpdk_from *from = h->from;
	struct dflow *df;
	if (o->proto != NB_PROTO_UDP)
		return -EPROTONOSUPPORT;
	if (h->len > HELLO_MAX || ack_len > HELLO_MAX)
		return -EMSGSIZE;
	unsigned slot = 0;
	while (slot < NB_MAX_FLOWS && d->srv[slot])
		slot++;
	if (slot == NB_MAX_FLOWS)
		return -EBUSY;
	int r = flow_new(d, true, slot, &df);
	if (r < 0)
		return r;
	df->dst_ip = from->ip;
	df->dport = from->port;
	df->sport = d->listen_port_be;
	df->dst_mac = from->mac;
	memcpy(df->hello, h->buf, h->len);
	df->hello_len = (uint16_t)h->len;
	memcpy(df->ack, ack, ack_len);
	df->ack_len = (uint16_t)ack_len;
	if ((r = flow_publish(e, df, o, ret)) < 0) {
		flow_free(df);
		return r;
	}
	dpdk_send(*ret, ack, ack_len);
	return 0;
}

/* UDP stream and rr over the port, at the port's own address. */
static const struct nb_engine_caps dpdk_caps = {
    .protos = NB_BIT(NB_PROTO_UDP),
    .tests = NB_BIT(NB_TEST_STREAM) | NB_BIT(NB_TEST_RR),
    .max_msg_bytes = NB_DEFAULT_UDP_MSG_BYTES, /* a 1500-byte MTU until the port says its own */
    .needs_root = true,
    .own_addr = true,
    .dpdk_opts = true,
    .one_test = true,
    .wait = "spin (dpdk poll)",
};

const struct nb_engine_ops nb_engine_dpdk = {
    .name = "dpdk",
    .label = "DPDK",
    .caps = &dpdk_caps,
    .start = dpdk_start,
    .stop = dpdk_stop,
    .report = dpdk_report,
    .open = dpdk_open,
    .listen = dpdk_listen,
    .accept = dpdk_accept,
    .unlisten = dpdk_unlisten,
    .send = dpdk_send,
    .recv = dpdk_recv,
    .send_burst = dpdk_send_burst,
    .tx_template = dpdk_tx_template,
    .recv_burst = dpdk_recv_burst,
    .shutdown = dpdk_shutdown,
    .close = dpdk_close,
};
