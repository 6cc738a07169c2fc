/* SPDX-License-Identifier: MIT */
/*
 * The DPDK engine. One port per process with one RX and one TX queue, each behind a lock (the generator's
 * handshake, then its flow threads; the responder's packet loop). Frames are Ethernet/IPv4/UDP,
 * built and parsed here; ARP for our address is answered here, because a virtual device such as
 * net_af_xdp hands every frame of its queue to us and the kernel never sees them.
 *
 * The EAL comes up from nbench's own settings: a unique --file-prefix per process, --no-huge -m 512 when no
 * hugepages are reserved, the port as -a (PCI) or --vdev, the user's --dpdk-args last. Its output during
 * initialisation is captured so a failure is one line; its runtime directory is removed on every exit path.
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
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_spinlock.h>
#include <rte_udp.h>

#include "nbench/clock.h"
#include "nbench/dpdk.h"
#include "nbench/engine.h"

/* net_af_xdp needs at least 2048 mbufs per queue in its pool (its UMEM); 2^n - 1 suits the mempool ring. A
 * flow of a test with several flows may hold up to FLOW_RING more (datagrams polled for it by another flow's
 * thread, not yet taken). */
#define POOL_MBUFS 8191
#define POOL_CACHE 256
#define FLOW_RING  256
/* a flow's datagrams taken from the port or its ring and not yet read: two bursts at most */
#define RX_STASH	   (2 * NB_DPDK_BURST)
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

static struct {
	bool eal_up, port_up;
	char rundir[300];
	struct nb_dpdk_port p;
	char ip_str[16];
	uint16_t mtu;
	bool have_peer_mac;
	struct rte_ether_addr peer_mac;
	struct {
		uint32_t ip;
		struct rte_ether_addr mac;
	} arp[ARP_CACHE];
	unsigned n_arp, arp_next;
	/* The generator's flows on the port, by slot; a flow's UDP source port is sport_base + slot, which is
	 * how a received datagram finds its flow. Changed only under rx_lock. */
	struct dflow *flows[NB_MAX_FLOWS];
	unsigned n_flows;
	uint16_t sport_base;
	/* The port's one RX and one TX queue are not thread-safe: a test with several flows has a thread per
	 * flow, and whichever holds rx_lock polls for all of them. */
	rte_spinlock_t rx_lock, tx_lock;
	char pmd[32], device[64], driver[32], iface[IF_NAMESIZE];
	uint32_t link_mbps;
	bool link_up;
	unsigned n_xstats;
	struct rte_eth_xstat_name *xnames;
	uint64_t *xbase;
} D;

const struct nb_dpdk_port *nb_dpdk_port(void)
{
	return D.port_up ? &D.p : NULL;
}

const char *nb_dpdk_ip_str(void)
{
	return D.port_up ? D.ip_str : "";
}

uint32_t nb_dpdk_max_payload(void)
{
	return D.mtu > 28 ? D.mtu - 28u : 0;
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

static void rundir_remove(void)
{
	if (!D.rundir[0])
		return;
	nftw(D.rundir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	D.rundir[0] = 0;
}

/* Where the EAL puts a prefix's files: /var/run/dpdk for root, else $XDG_RUNTIME_DIR/dpdk or /tmp/dpdk. */
static void rundir_set(const char *prefix)
{
	const char *base = "/var/run";
	if (getuid() != 0) {
		const char *x = getenv("XDG_RUNTIME_DIR");
		base = x && x[0] ? x : "/tmp";
	}
	snprintf(D.rundir, sizeof(D.rundir), "%s/dpdk/%s", base, prefix);
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
static void port_facts(const char *spec, const struct rte_eth_dev_info *di)
{
	snprintf(D.pmd, sizeof(D.pmd), "%s", di->driver_name ? di->driver_name : "?");
	char name[RTE_ETH_NAME_MAX_LEN] = "";
	rte_eth_dev_get_name_by_port(D.p.port_id, name);
	snprintf(D.device, sizeof(D.device), "%s", name);
	const char *ifa = strstr(spec, "iface=");
	if (ifa) {
		ifa += 6;
		size_t l = strcspn(ifa, ",");
		if (l < sizeof(D.iface)) {
			memcpy(D.iface, ifa, l);
			D.iface[l] = 0;
			kernel_driver(D.iface, D.driver, sizeof(D.driver));
		}
	} else if (is_pci(spec)) {
		char p[128], link[256];
		size_t l = strcspn(spec, ",");
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%.*s/driver", (int)l, spec);
		ssize_t n = readlink(p, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = 0;
			const char *b = strrchr(link, '/');
			snprintf(D.driver, sizeof(D.driver), "%.31s", b ? b + 1 : link);
		}
	}
}

static void xstats_snapshot(uint64_t *vals)
{
	struct rte_eth_xstat *xs = calloc(D.n_xstats, sizeof(*xs));
	if (!xs)
		return;
	int n = rte_eth_xstats_get(D.p.port_id, xs, D.n_xstats);
	for (int i = 0; i < n && (unsigned)i < D.n_xstats; i++)
		if (xs[i].id < D.n_xstats)
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

static int port_setup(const struct nb_test_cfg *cfg, const char *probe_msg, char *err, size_t errlen)
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
	D.p.port_id = pid;
	if ((r = rte_eth_dev_info_get(pid, &di)) != 0) {
		snprintf(err, errlen, "port %u: cannot read its capabilities: %s", pid, rte_strerror(-r));
		return r;
	}
	uint64_t csum = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	if ((di.tx_offload_capa & csum) == csum) {
		conf.txmode.offloads |= csum;
		D.p.csum_offload = true;
	}
	if ((r = rte_eth_dev_configure(pid, 1, 1, &conf)) != 0) {
		snprintf(err, errlen, "port %u (%s): configure: %s", pid, di.driver_name, rte_strerror(-r));
		return r;
	}
	rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nrx, &ntx);
	unsigned nmbufs = POOL_MBUFS + (cfg->flows > 1 ? cfg->flows * FLOW_RING : 0);
	bool packed = !rte_eal_has_hugepages() || !strcmp(di.driver_name, "net_af_xdp");
	char why[80];
	D.p.pool = pool_create(nmbufs, packed, rte_eth_dev_socket_id(pid), why, sizeof(why));
	if (!D.p.pool) {
		snprintf(err, errlen, "cannot create the mbuf pool (%u mbufs): %s", nmbufs, why);
		return -ENOMEM;
	}
	if ((r = rte_eth_rx_queue_setup(pid, 0, nrx, rte_eth_dev_socket_id(pid), NULL, D.p.pool)) != 0 ||
	    (r = rte_eth_tx_queue_setup(pid, 0, ntx, rte_eth_dev_socket_id(pid), NULL)) != 0) {
		snprintf(err, errlen, "port %u (%s): queue setup: %s", pid, di.driver_name, rte_strerror(-r));
		return r;
	}
	if ((r = rte_eth_dev_start(pid)) != 0) {
		snprintf(err, errlen, "port %u (%s): start: %s", pid, di.driver_name, rte_strerror(-r));
		return r;
	}
	D.port_up = true;
	rte_eth_macaddr_get(pid, &D.p.mac);
	if (rte_eth_dev_get_mtu(pid, &D.mtu) != 0 || D.mtu < 68)
		D.mtu = 1500;
	struct rte_eth_link link = {0};
	int64_t end = nb_now_ns() + LINK_WAIT_NS;
	while (rte_eth_link_get_nowait(pid, &link) == 0 && !link.link_status && nb_now_ns() < end)
		nb_sleep_until(nb_now_ns() + 10 * NB_NS_PER_MS);
	D.link_up = link.link_status;
	D.link_mbps = link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed;
	port_facts(cfg->dpdk_port, &di);

	int nx = rte_eth_xstats_get_names(pid, NULL, 0);
	if (nx > 0) {
		D.xnames = calloc((size_t)nx, sizeof(*D.xnames));
		D.xbase = calloc((size_t)nx, sizeof(*D.xbase));
		if (D.xnames && D.xbase && rte_eth_xstats_get_names(pid, D.xnames, (unsigned)nx) == nx) {
			D.n_xstats = (unsigned)nx;
			xstats_snapshot(D.xbase);
		}
	}
	return 0;
}

int nb_dpdk_start(const struct nb_test_cfg *cfg, char *err, size_t errlen)
{
	static const char *const lcore_opts[] = {"-l", "-c", "--lcores", NULL};
	static const char *const mem_opts[] = {"-m", "--socket-mem", "--no-huge", NULL};
	static const char *const log_opts[] = {"--log-level", NULL};
	char prefix[64], args[sizeof(cfg->dpdk_args)];
	char *argv[96];
	int argc = 0, r, eno = 0;
	struct in_addr ip;

	if (D.eal_up) {
		snprintf(err, errlen, "the DPDK port is already started");
		return -EBUSY;
	}
	if (!cfg->dpdk_port[0]) {
		snprintf(err, errlen,
			 "--engine dpdk needs --dpdk-port (a PCI address or a vdev such as "
			 "net_af_packet0,iface=veth0)");
		return -EINVAL;
	}
	bool pci = is_pci(cfg->dpdk_port);
	if (!pci && strncmp(cfg->dpdk_port, "net_", 4) != 0) {
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
	D.have_peer_mac = false;
	if (cfg->dpdk_peer_mac[0]) {
		if (rte_ether_unformat_addr(cfg->dpdk_peer_mac, &D.peer_mac) != 0) {
			snprintf(err, errlen, "--dpdk-peer-mac: '%s' is not a MAC address",
				 cfg->dpdk_peer_mac);
			return -EINVAL;
		}
		D.have_peer_mac = true;
	}
	D.p.ip_be = ip.s_addr;
	snprintf(D.ip_str, sizeof(D.ip_str), "%s", cfg->dpdk_ip);
	rte_spinlock_init(&D.rx_lock);
	rte_spinlock_init(&D.tx_lock);
	/* each process's flows on their own source ports: 49152 + a pid-chosen block of NB_MAX_FLOWS */
	D.sport_base = (uint16_t)(49152 + (unsigned)getpid() % (16384 - NB_MAX_FLOWS));

	snprintf(prefix, sizeof(prefix), "nbench-%d", (int)getpid());
	snprintf(args, sizeof(args), "%s", cfg->dpdk_args);
	static char a_prefix[80], a_dev[300];
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
	if (pci) {
		argv[argc++] = "-a";
	} else {
		argv[argc++] = "--no-pci";
		argv[argc++] = "--vdev";
	}
	argv[argc++] = a_dev;
	for (char *save = NULL, *t = strtok_r(args, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (argc >= (int)(sizeof(argv) / sizeof(argv[0])) - 1) {
			snprintf(err, errlen, "--dpdk-args: too many arguments");
			return -EINVAL;
		}
		argv[argc++] = t;
	}
	argv[argc] = NULL;

	/* The EAL pins the calling thread to its main lcore, and threads started later inherit that: keep the
	 * placement the user asked for instead. */
	cpu_set_t aff;
	bool have_aff = sched_getaffinity(0, sizeof(aff), &aff) == 0;
	rundir_set(prefix);
	static bool atexit_done;
	if (!atexit_done && atexit(atexit_cleanup) == 0)
		atexit_done = true;
	char reason[200];
	r = eal_init_captured(argc, argv, reason, sizeof(reason), &eno);
	if (have_aff)
		sched_setaffinity(0, sizeof(aff), &aff);
	if (r < 0) {
		rundir_remove();
		if (eno == EINVAL) {
			snprintf(err, errlen, "bad DPDK EAL arguments: %s", reason);
			return -EINVAL;
		}
		snprintf(err, errlen, "DPDK cannot start --dpdk-port %s: %s", cfg->dpdk_port, reason);
		return eno == EALREADY ? -EBUSY : -ENODEV;
	}
	D.eal_up = true;
	rte_openlog_stream(stderr);
	if (!has_arg(args, log_opts))
		rte_log_set_global_level(RTE_LOG_ERR);
	if ((r = port_setup(cfg, reason, err, errlen)) < 0) {
		nb_dpdk_stop();
		return r;
	}
	return 0;
}

void nb_dpdk_stop(void)
{
	if (D.port_up) {
		rte_eth_dev_stop(D.p.port_id);
		rte_eth_dev_close(D.p.port_id);
		D.port_up = false;
	}
	if (D.p.pool) {
		rte_mempool_free(D.p.pool);
		D.p.pool = NULL;
	}
	if (D.eal_up) {
		rte_eal_cleanup();
		D.eal_up = false;
	}
	free(D.xnames);
	free(D.xbase);
	D.xnames = NULL;
	D.xbase = NULL;
	D.n_xstats = 0;
	D.n_arp = 0;
	rundir_remove();
}

void nb_dpdk_fill_report(struct nb_report *rep)
{
	struct nb_dpdk_info *d = &rep->dpdk;
	if (!D.port_up)
		return;
	snprintf(d->pmd, sizeof(d->pmd), "%s", D.pmd);
	snprintf(d->device, sizeof(d->device), "%s", D.device);
	snprintf(d->driver, sizeof(d->driver), "%s", D.driver);
	snprintf(d->iface, sizeof(d->iface), "%s", D.iface);
	d->link_speed_mbps = D.link_mbps;
	d->link_up = D.link_up;
	d->n_xstats = 0;
	uint64_t *now = calloc(D.n_xstats ? D.n_xstats : 1, sizeof(*now));
	if (!now)
		return;
	xstats_snapshot(now);
	for (unsigned i = 0; i < D.n_xstats && d->n_xstats < NB_DPDK_MAX_XSTATS; i++) {
		if (now[i] == D.xbase[i])
			continue;
		snprintf(d->xstats[d->n_xstats].name, sizeof(d->xstats[0].name), "%s", D.xnames[i].name);
		d->xstats[d->n_xstats].delta = now[i] - D.xbase[i];
		d->n_xstats++;
	}
	free(now);
	/* a DPDK flow polls: it always spins */
	snprintf(rep->gen_wait, sizeof(rep->gen_wait), "spin (dpdk poll)");
}

/* ---- packets ---- */

static bool arp_lookup(uint32_t ip, struct rte_ether_addr *ret)
{
	for (unsigned i = 0; i < D.n_arp; i++)
		if (D.arp[i].ip == ip) {
			*ret = D.arp[i].mac;
			return true;
		}
	return false;
}

static void arp_learn(uint32_t ip, const uint8_t *mac)
{
	unsigned i;
	for (i = 0; i < D.n_arp; i++)
		if (D.arp[i].ip == ip)
			break;
	if (i == D.n_arp) {
		if (D.n_arp < ARP_CACHE)
			D.n_arp++;
		else
			i = D.arp_next++ % ARP_CACHE;
	}
	D.arp[i].ip = ip;
	memcpy(D.arp[i].mac.addr_bytes, mac, RTE_ETHER_ADDR_LEN);
}

bool nb_dpdk_arp_input(struct rte_mbuf *m)
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
	if (tpa == D.p.ip_be && spa != 0)
		arp_learn(spa, a + ARP_SHA_OFF);
	if (op != 1 || tpa != D.p.ip_be) {
		rte_pktmbuf_free(m);
		return true;
	}
	/* the reply, in place */
	memcpy(eh->dst_addr.addr_bytes, a + ARP_SHA_OFF, RTE_ETHER_ADDR_LEN);
	eh->src_addr = D.p.mac;
	a[ARP_OP_OFF + 1] = 2;
	memcpy(a + ARP_THA_OFF, a + ARP_SHA_OFF, RTE_ETHER_ADDR_LEN);
	memcpy(a + ARP_TPA_OFF, &spa, 4);
	memcpy(a + ARP_SHA_OFF, D.p.mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	memcpy(a + ARP_SPA_OFF, &D.p.ip_be, 4);
	m->ol_flags = 0;
	nb_dpdk_tx(&m, 1);
	return true;
}

static void arp_request(uint32_t ip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(D.p.pool);
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
	memset(p, 0, len);
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)p;
	memset(eh->dst_addr.addr_bytes, 0xff, RTE_ETHER_ADDR_LEN);
	eh->src_addr = D.p.mac;
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	uint8_t *a = (uint8_t *)(eh + 1);
	static const uint8_t fixed[8] = {0, 1, 0x08, 0, 6, 4, 0, 1};
	memcpy(a, fixed, sizeof(fixed));
	memcpy(a + ARP_SHA_OFF, D.p.mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	memcpy(a + ARP_SPA_OFF, &D.p.ip_be, 4);
	memcpy(a + ARP_TPA_OFF, &ip, 4);
	nb_dpdk_tx(&m, 1);
}

int nb_dpdk_resolve(uint32_t ip_be, int64_t timeout_ns, struct rte_ether_addr *ret)
{
	if (!D.port_up)
		return -ENODEV;
	if (D.have_peer_mac) {
		*ret = D.peer_mac;
		return 0;
	}
	int64_t end = nb_now_ns() + timeout_ns, next = 0;
	for (;;) {
		if (arp_lookup(ip_be, ret))
			return 0;
		int64_t now = nb_now_ns();
		if (now >= end)
			return -ETIMEDOUT;
		if (now >= next) {
			arp_request(ip_be);
			next = now + 200 * NB_NS_PER_MS;
		}
		struct rte_mbuf *pk[NB_DPDK_BURST];
		rte_spinlock_lock(&D.rx_lock);
		uint16_t n = rte_eth_rx_burst(D.p.port_id, 0, pk, NB_DPDK_BURST);
		for (uint16_t i = 0; i < n; i++)
			if (!nb_dpdk_arp_input(pk[i]))
				rte_pktmbuf_free(pk[i]);
		rte_spinlock_unlock(&D.rx_lock);
		if (!n)
			sched_yield();
	}
}

void nb_dpdk_udp_hdr(struct rte_mbuf *m, void *hdr, const struct rte_ether_addr *dst_mac, uint32_t dst_ip,
		     uint16_t src_port, uint16_t dst_port, uint16_t len)
{
	struct rte_ether_hdr *eh = hdr;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);

	eh->dst_addr = *dst_mac;
	eh->src_addr = D.p.mac;
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*uh) + len));
	ip->packet_id = 0;
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->hdr_checksum = 0;
	ip->src_addr = D.p.ip_be;
	ip->dst_addr = dst_ip;
	uh->src_port = src_port;
	uh->dst_port = dst_port;
	uh->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*uh) + len));
	uh->dgram_cksum = 0;
	m->l2_len = sizeof(*eh);
	m->l3_len = sizeof(*ip);
	if (D.p.csum_offload) {
		m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
		uh->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	} else {
		m->ol_flags = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		uh->dgram_cksum = rte_ipv4_udptcp_cksum(ip, uh);
	}
}

void *nb_dpdk_udp_parse(struct rte_mbuf *m, uint32_t *src_ip, uint16_t *src_port, uint16_t *dst_port,
			uint16_t *len)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	if (m->data_len < NB_DPDK_HDR_BYTES || eh->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return NULL;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	unsigned ihl = (ip->version_ihl & 0xf) * 4u;
	if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(*ip) || ip->next_proto_id != IPPROTO_UDP ||
	    ip->dst_addr != D.p.ip_be)
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

unsigned nb_dpdk_tx(struct rte_mbuf **pkts, unsigned n)
{
	unsigned sent = 0, idle = 0;
	while (sent < n && idle < TX_RETRIES) {
		rte_spinlock_lock(&D.tx_lock);
		uint16_t k = rte_eth_tx_burst(D.p.port_id, 0, pkts + sent, (uint16_t)(n - sent));
		rte_spinlock_unlock(&D.tx_lock);
		sent += k;
		idle = k ? 0 : idle + 1;
	}
	if (sent < n)
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	return sent;
}

void nb_dpdk_thread_enter(void)
{
	/* a thread the EAL did not start has no lcore id, and without one every mbuf allocation and free
	 * goes to the pool's shared ring instead of the thread's cache */
	static __thread bool tried;
	if (!tried && rte_lcore_id() == LCORE_ID_ANY) {
		tried = true;
		rte_thread_register();
	}
}

/* ---- the engine: a flow is a UDP 4-tuple on the port ---- */

struct dflow {
	uint32_t dst_ip;       /* network order */
	uint16_t sport, dport; /* network order */
	unsigned slot;
	struct rte_ether_addr dst_mac;
	struct rte_ring *ring; /* datagrams another flow's thread polled for this one */
	/* polled but not yet taken: each mbuf's data is the UDP payload */
	struct rte_mbuf *rx[RX_STASH];
	unsigned rx_n, rx_i;
	unsigned bursts;
	int shut; /* SHUT_RDWR: receives end (relaxed atomics: another thread sets it) */
};

static int dpdk_probe(char *why, size_t whylen)
{
	if (D.port_up)
		return 0;
	snprintf(why, whylen, "the DPDK port is not started (--dpdk-port, --dpdk-ip)");
	return -ENODEV;
}

/* The flow a datagram to our UDP port dport (network order) belongs to, or NULL. Under rx_lock. */
static struct dflow *flow_of(uint16_t dport)
{
	unsigned slot = (uint16_t)(rte_be_to_cpu_16(dport) - D.sport_base);
	return slot < NB_MAX_FLOWS ? D.flows[slot] : NULL;
}

/* One RX burst, holding rx_lock: ARP is answered, each flow's datagrams go to it (self's to its stash,
 * another's to its ring; a full ring drops), the rest are dropped. */
static void poll_port_locked(struct dflow *self)
{
	struct rte_mbuf *pk[NB_DPDK_BURST];
	uint16_t n = rte_eth_rx_burst(D.p.port_id, 0, pk, NB_DPDK_BURST);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pk[i];
		uint32_t sip;
		uint16_t sp, dp, len;
		if (nb_dpdk_arp_input(m))
			continue;
		char *pl = nb_dpdk_udp_parse(m, &sip, &sp, &dp, &len);
		struct dflow *to = pl ? flow_of(dp) : NULL;
		if (!to || sip != to->dst_ip || sp != to->dport) {
			rte_pktmbuf_free(m);
			continue;
		}
		/* the payload becomes the mbuf's data (frames within the MTU fit one segment) */
		m->data_off = (uint16_t)(m->data_off + (pl - rte_pktmbuf_mtod(m, char *)));
		m->data_len = len;
		m->pkt_len = len;
		if (to == self && self->rx_n < RX_STASH)
			self->rx[self->rx_n++] = m;
		else if (rte_ring_sp_enqueue(to->ring, m) != 0)
			rte_pktmbuf_free(m);
	}
}

/* Refills the flow's stash when it is empty: first what other threads polled for it, else one burst from
 * the port when no other thread is polling it. */
static void poll_rx(struct dflow *df)
{
	if (df->rx_i < df->rx_n)
		return;
	df->rx_i = 0;
	df->rx_n = rte_ring_sc_dequeue_burst(df->ring, (void **)df->rx, NB_DPDK_BURST, NULL);
	if (df->rx_n || !rte_spinlock_trylock(&D.rx_lock))
		return;
	/* what another thread put in the ring before this one took the lock is older: it goes first */
	df->rx_n = rte_ring_sc_dequeue_burst(df->ring, (void **)df->rx, NB_DPDK_BURST, NULL);
	poll_port_locked(df);
	rte_spinlock_unlock(&D.rx_lock);
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

static int dpdk_open(const char *host, uint16_t port, const struct nb_flow_opts *o, struct nb_flow **ret)
{
	struct in_addr a;
	if (!D.port_up)
		return -ENODEV;
	if (o->proto != NB_PROTO_UDP)
		return -EPROTONOSUPPORT;
	if (inet_pton(AF_INET, host, &a) != 1)
		return -EAFNOSUPPORT;
	unsigned slot = 0;
	while (slot < NB_MAX_FLOWS && D.flows[slot])
		slot++;
	if (slot == NB_MAX_FLOWS)
		return -EBUSY;
	nb_dpdk_thread_enter();
	struct nb_flow *f = calloc(1, sizeof(*f));
	struct dflow *df = calloc(1, sizeof(*df));
	char rname[RTE_RING_NAMESIZE];
	snprintf(rname, sizeof(rname), "nbench_flow%u", slot);
	if (df)
		df->ring = rte_ring_create(rname, FLOW_RING, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (!f || !df || !df->ring) {
		free(f);
		flow_free(df);
		return -ENOMEM;
	}
	df->slot = slot;
	df->dst_ip = a.s_addr;
	df->dport = rte_cpu_to_be_16(port);
	df->sport = rte_cpu_to_be_16((uint16_t)(D.sport_base + slot));
	int r = nb_dpdk_resolve(df->dst_ip, RESOLVE_TIMEOUT_NS, &df->dst_mac);
	if (r < 0) {
		free(f);
		flow_free(df);
		return r == -ETIMEDOUT ? -EHOSTUNREACH : r;
	}
	f->ops = &nb_engine_dpdk;
	f->opts = *o;
	f->opts.wait = NB_WAIT_SPIN;
	f->fd = -1;
	f->priv = df;
	rte_spinlock_lock(&D.rx_lock);
	D.flows[slot] = df;
	D.n_flows++;
	rte_spinlock_unlock(&D.rx_lock);
	*ret = f;
	return 0;
}

/* Builds a datagram of len bytes from buf in m, which was just allocated. */
static void fill(struct dflow *df, struct rte_mbuf *m, const void *buf, size_t len)
{
	char *p = rte_pktmbuf_append(m, (uint16_t)(NB_DPDK_HDR_BYTES + len));
	memcpy(p + NB_DPDK_HDR_BYTES, buf, len);
	nb_dpdk_udp_hdr(m, p, &df->dst_mac, df->dst_ip, df->sport, df->dport, (uint16_t)len);
}

static ssize_t dpdk_send(struct nb_flow *f, const void *buf, size_t len)
{
	struct dflow *df = f->priv;
	nb_dpdk_thread_enter();
	if (len > nb_dpdk_max_payload())
		return -EMSGSIZE;
	struct rte_mbuf *m = rte_pktmbuf_alloc(D.p.pool);
	if (!m)
		return -ENOBUFS;
	fill(df, m, buf, len);
	unsigned k = nb_dpdk_tx(&m, 1);
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
	struct rte_mbuf *m[NB_DPDK_BURST];
	nb_dpdk_thread_enter();
	if (n > NB_DPDK_BURST)
		n = NB_DPDK_BURST;
	for (unsigned i = 0; i < n; i++)
		if (msgs[i].iov_len > nb_dpdk_max_payload())
			return -EMSGSIZE;
	if (rte_pktmbuf_alloc_bulk(D.p.pool, m, n) != 0)
		return -ENOBUFS;
	for (unsigned i = 0; i < n; i++)
		fill(df, m[i], msgs[i].iov_base, msgs[i].iov_len);
	unsigned k = nb_dpdk_tx(m, n);
	sender_poll(df);
	return k ? (int)k : -ENOBUFS;
}

/* Waits (spinning) until the flow has a datagram: 1, 0 after a shutdown, -ETIMEDOUT. */
static int wait_rx(struct dflow *df, int64_t timeout_ns)
{
	int64_t end = timeout_ns > 0 ? nb_now_ns() + timeout_ns : -1;
	nb_dpdk_thread_enter();
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
			if (D.n_flows > 1)
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
	/* no thread polls for it once it is out of the table */
	rte_spinlock_lock(&D.rx_lock);
	D.flows[df->slot] = NULL;
	D.n_flows--;
	rte_spinlock_unlock(&D.rx_lock);
	flow_free(df);
	free(f);
}

const struct nb_engine_ops nb_engine_dpdk = {
    .name = "dpdk",
    .probe = dpdk_probe,
    .open = dpdk_open,
    .send = dpdk_send,
    .recv = dpdk_recv,
    .send_burst = dpdk_send_burst,
    .recv_burst = dpdk_recv_burst,
    .shutdown = dpdk_shutdown,
    .close = dpdk_close,
};
