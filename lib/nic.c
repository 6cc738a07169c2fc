/* SPDX-License-Identifier: MIT */
#include "nbench/nic.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netdb.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct nb_nic {
	char ifname[IFNAMSIZ];
	int ifindex;
	int ethfd; /* AF_INET datagram socket of the interface's namespace: ethtool ioctls */
	int nlfd;  /* rtnetlink socket of the same namespace */
};

/* ---- opening: sockets made inside the namespace ---- */

struct open_job {
	const char *netns;
	struct nb_nic *n;
	int rc;
};

static int open_sockets(struct nb_nic *n)
{
	struct ifreq ifr;

	n->ethfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	n->nlfd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (n->ethfd < 0 || n->nlfd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", n->ifname);
	if (ioctl(n->ethfd, SIOCGIFINDEX, &ifr))
		return -errno;
	n->ifindex = ifr.ifr_ifindex;
	return 0;
}

static int ns_fd(const char *netns)
{
	char path[128];
	int fd;

	if (netns[0] == '/')
		snprintf(path, sizeof(path), "%s", netns);
	else if (strchr(netns, '/') ||
		 snprintf(path, sizeof(path), "/run/netns/%s", netns) >= (int)sizeof(path))
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* In its own thread: setns moves only this thread, which ends right after, so the caller never moves. */
static void *open_in_ns(void *arg)
{
	struct open_job *j = arg;
	int fd = ns_fd(j->netns);

	if (fd < 0) {
		j->rc = fd;
		return NULL;
	}
	j->rc = setns(fd, CLONE_NEWNET) ? -errno : open_sockets(j->n);
	close(fd);
	return NULL;
}

int nb_nic_open(const char *netns, const char *ifname, struct nb_nic **ret)
{
	struct nb_nic *n = calloc(1, sizeof(*n));
	struct open_job j = {.netns = netns, .n = n};
	pthread_t th;

	if (!n)
		return -ENOMEM;
	n->ethfd = n->nlfd = -1;
	if (strlen(ifname) >= sizeof(n->ifname)) {
		free(n);
		return -ENAMETOOLONG;
	}
	snprintf(n->ifname, sizeof(n->ifname), "%s", ifname);
	int pr;
	if (!netns || !netns[0])
		j.rc = open_sockets(n);
	else if ((pr = pthread_create(&th, NULL, open_in_ns, &j)) != 0)
		j.rc = -pr; /* not j.rc = -pthread_create(): the thread may have set j.rc already */
	else
		pthread_join(th, NULL);
	if (j.rc < 0) {
		nb_nic_close(n);
		return j.rc;
	}
	*ret = n;
	return 0;
}

void nb_nic_close(struct nb_nic *n)
{
	if (!n)
		return;
	if (n->ethfd >= 0)
		close(n->ethfd);
	if (n->nlfd >= 0)
		close(n->nlfd);
	free(n);
}

/* ---- identity ---- */

static int ethtool(const struct nb_nic *n, void *data)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", n->ifname);
	ifr.ifr_data = data;
	return ioctl(n->ethfd, SIOCETHTOOL, &ifr) ? -errno : 0;
}

static void set_link(struct nb_nic_id *id, uint32_t speed, uint8_t duplex)
{
	id->speed_mbps = speed == 0 || speed == (uint32_t)SPEED_UNKNOWN ? -1 : (int64_t)speed;
	snprintf(id->duplex, sizeof(id->duplex), "%s",
		 duplex == DUPLEX_FULL	 ? "full"
		 : duplex == DUPLEX_HALF ? "half"
					 : "");
}

/* ETHTOOL_GLINKSETTINGS: the first call with no mask words makes the kernel say how many it wants. */
static int link_settings(const struct nb_nic *n, struct nb_nic_id *id)
{
	struct {
		struct ethtool_link_settings s;
		uint32_t masks[3 * 127];
	} req;
	int r;

	memset(&req, 0, sizeof(req));
	req.s.cmd = ETHTOOL_GLINKSETTINGS;
	if ((r = ethtool(n, &req)) < 0)
		return r;
	if (req.s.link_mode_masks_nwords >= 0 || -req.s.link_mode_masks_nwords > 127)
		return -EPROTO;
	req.s.link_mode_masks_nwords = (int8_t)-req.s.link_mode_masks_nwords;
	req.s.cmd = ETHTOOL_GLINKSETTINGS;
	if ((r = ethtool(n, &req)) < 0)
		return r;
	set_link(id, req.s.speed, req.s.duplex);
	return 0;
}

int nb_nic_identify(struct nb_nic *n, struct nb_nic_id *id)
{
	struct ethtool_drvinfo di = {.cmd = ETHTOOL_GDRVINFO};
	struct ethtool_cmd ec = {.cmd = ETHTOOL_GSET};
	struct ifreq ifr;

	memset(id, 0, sizeof(*id));
	snprintf(id->name, sizeof(id->name), "%s", n->ifname);
	id->speed_mbps = -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", n->ifname);
	if (ioctl(n->ethfd, SIOCGIFINDEX, &ifr))
		return -errno;
	if (ethtool(n, &di) == 0) {
		snprintf(id->driver, sizeof(id->driver), "%s", di.driver);
		snprintf(id->driver_version, sizeof(id->driver_version), "%s", di.version);
		snprintf(id->firmware, sizeof(id->firmware), "%s", di.fw_version);
		snprintf(id->bus, sizeof(id->bus), "%s", di.bus_info);
	}
	if (link_settings(n, id) < 0 && ethtool(n, &ec) == 0)
		set_link(id, ethtool_cmd_speed(&ec), ec.duplex);
	/* drivers without firmware or a bus say so in many ways */
	if (!strcmp(id->firmware, "N/A") || !strcmp(id->firmware, "n/a"))
		id->firmware[0] = '\0';
	if (!strcmp(id->bus, "N/A") || !strcmp(id->bus, "n/a"))
		id->bus[0] = '\0';
	return 0;
}

/* ---- counters ---- */

/* struct rtnl_link_stats64's fields in order; a newer kernel's extra fields are left out. */
static const char *const stats64_names[] = {
    "rx_packets",	"tx_packets",	     "rx_bytes",	  "tx_bytes",	     "rx_errors",
    "tx_errors",	"rx_dropped",	     "tx_dropped",	  "multicast",	     "collisions",
    "rx_length_errors", "rx_over_errors",    "rx_crc_errors",	  "rx_frame_errors", "rx_fifo_errors",
    "rx_missed_errors", "tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors",  "tx_heartbeat_errors",
    "tx_window_errors", "rx_compressed",     "tx_compressed",	  "rx_nohandler",    "rx_otherhost_dropped",
};
#define N_STATS64 (sizeof(stats64_names) / sizeof(stats64_names[0]))

static int snap_add(struct nb_nic_snap *s, unsigned *cap, const char *prefix, const char *name, int64_t v)
{
	if (s->n == *cap) {
		unsigned c = *cap ? 2 * *cap : 64;
		struct nb_nic_counter *p = realloc(s->c, c * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->c = p;
		*cap = c;
	}
	snprintf(s->c[s->n].name, sizeof(s->c[0].name), "%s%s", prefix, name);
	s->c[s->n++].value = v;
	return 0;
}

/* RTM_GETLINK for the one interface; its IFLA_STATS64 attribute into s. */
static int link_stats(const struct nb_nic *n, struct nb_nic_snap *s, unsigned *cap)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = {.h = {.nlmsg_len = sizeof(req),
		       .nlmsg_type = RTM_GETLINK,
		       .nlmsg_flags = NLM_F_REQUEST,
		       .nlmsg_seq = 1},
		 .i = {.ifi_family = AF_UNSPEC, .ifi_index = n->ifindex}};
	static __thread char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO * 2))); /* nlmsghdr reads */
	ssize_t len;

	if (send(n->nlfd, &req, sizeof(req), 0) < 0)
		return -errno;
	if ((len = recv(n->nlfd, buf, sizeof(buf), 0)) < 0)
		return -errno;
	for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
		if (h->nlmsg_type == NLMSG_ERROR)
			return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
		if (h->nlmsg_type != RTM_NEWLINK)
			continue;
		struct ifinfomsg *ifi = NLMSG_DATA(h);
		int alen = (int)IFLA_PAYLOAD(h);
		for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
			if (a->rta_type != IFLA_STATS64)
				continue;
			unsigned nv = (unsigned)(RTA_PAYLOAD(a) / sizeof(uint64_t));
			uint64_t v;
			for (unsigned k = 0; k < nv && k < N_STATS64; k++) {
				memcpy(&v, (char *)RTA_DATA(a) + k * sizeof(v), sizeof(v));
				if (snap_add(s, cap, "", stats64_names[k], (int64_t)v) < 0)
					return -ENOMEM;
			}
			return 0;
		}
		return -ENODATA;
	}
	return -EPROTO;
}

/* The driver's own counters, `ethtool -S`: none is fine. */
static int driver_stats(const struct nb_nic *n, struct nb_nic_snap *s, unsigned *cap)
{
	struct {
		struct ethtool_sset_info i;
		uint32_t len;
	} info = {.i = {.cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ULL << ETH_SS_STATS}};
	struct ethtool_gstrings *names = NULL;
	struct ethtool_stats *vals = NULL;
	uint32_t cnt;
	int r = 0;

	if (ethtool(n, &info) < 0 || !(info.i.sset_mask & (1ULL << ETH_SS_STATS)) || !info.len)
		return 0;
	cnt = info.len;
	if (cnt > 65536)
		return -EPROTO;
	names = calloc(1, sizeof(*names) + (size_t)cnt * ETH_GSTRING_LEN);
	vals = calloc(1, sizeof(*vals) + (size_t)cnt * sizeof(uint64_t));
	if (!names || !vals) {
		r = -ENOMEM;
		goto out;
	}
	names->cmd = ETHTOOL_GSTRINGS;
	names->string_set = ETH_SS_STATS;
	names->len = cnt;
	vals->cmd = ETHTOOL_GSTATS;
	vals->n_stats = cnt;
	if (ethtool(n, names) < 0 || ethtool(n, vals) < 0)
		goto out; /* counters the driver will not give are counters the report does not have */
	for (uint32_t k = 0; k < cnt && k < names->len && k < vals->n_stats && r == 0; k++) {
		char nm[ETH_GSTRING_LEN + 1];
		memcpy(nm, names->data + (size_t)k * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		nm[ETH_GSTRING_LEN] = '\0';
		r = snap_add(s, cap, "driver.", nm, (int64_t)vals->data[k]);
	}
out:
	free(names);
	free(vals);
	return r;
}

int nb_nic_snapshot(struct nb_nic *n, struct nb_nic_snap *s)
{
	unsigned cap = 0;
	int r;

	nb_nic_snap_free(s);
	if ((r = link_stats(n, s, &cap)) < 0 || (r = driver_stats(n, s, &cap)) < 0)
		nb_nic_snap_free(s);
	return r;
}

void nb_nic_snap_free(struct nb_nic_snap *s)
{
	free(s->c);
	s->c = NULL;
	s->n = 0;
}

static const struct nb_nic_counter *snap_find(const struct nb_nic_snap *s, unsigned hint, const char *name)
{
	if (hint < s->n && !strcmp(s->c[hint].name, name))
		return &s->c[hint]; /* the same interface lists its counters in the same order */
	for (unsigned i = 0; i < s->n; i++)
		if (!strcmp(s->c[i].name, name))
			return &s->c[i];
	return NULL;
}

int nb_nic_delta(const struct nb_nic_snap *a, const struct nb_nic_snap *b, struct nb_nic_snap *d)
{
	unsigned cap = 0;

	nb_nic_snap_free(d);
	for (unsigned i = 0; i < b->n; i++) {
		const struct nb_nic_counter *was = snap_find(a, i, b->c[i].name);
		int64_t v = b->c[i].value - (was ? was->value : 0);
		if (v && snap_add(d, &cap, "", b->c[i].name, v) < 0) {
			nb_nic_snap_free(d);
			return -ENOMEM;
		}
	}
	return 0;
}

bool nb_nic_counter_is_drop(const char *name)
{
	return strstr(name, "drop") || strstr(name, "discard") || strstr(name, "miss") ||
	       strstr(name, "nohandler");
}

bool nb_nic_counter_is_error(const char *name)
{
	return strstr(name, "err") && !nb_nic_counter_is_drop(name);
}

int nb_nic_route_iface(const char *host, char *ifname, unsigned len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV}, *ai;
	struct sockaddr_storage local;
	socklen_t sl = sizeof(local);
	struct ifaddrs *ifa, *i;
	int fd, r;

	if ((r = getaddrinfo(host, "9", &hints, &ai)) != 0)
		return r == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	/* a UDP connect sends nothing: it only picks the route and with it the source address */
	r = fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) || getsockname(fd, (void *)&local, &sl)
		? -errno
		: 0;
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	if (r < 0)
		return r;
	if (getifaddrs(&ifa))
		return -errno;
	r = -ENODEV;
	for (i = ifa; i && r; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != local.ss_family)
			continue;
		bool same =
		    local.ss_family == AF_INET
			? !memcmp(&((struct sockaddr_in *)i->ifa_addr)->sin_addr,
				  &((struct sockaddr_in *)&local)->sin_addr, sizeof(struct in_addr))
			: !memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
				  &((struct sockaddr_in6 *)&local)->sin6_addr, sizeof(struct in6_addr));
		if (same && snprintf(ifname, len, "%s", i->ifa_name) < (int)len)
			r = 0;
	}
	freeifaddrs(ifa);
	return r;
}

bool nb_nic_name_valid(const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] <= ' ' || (unsigned char)name[i] >= 0x7f || name[i] == '/' ||
		    name[i] == ':')
			return false;
	return len > 0 && len < IFNAMSIZ && strcmp(name, ".") && strcmp(name, "..");
}

int nb_nic_ref_parse(const char *s, struct nb_nic_ref *ret)
{
	const char *colon = strrchr(s, ':'), *name = colon ? colon + 1 : s;
	size_t nslen = colon ? (size_t)(colon - s) : 0;

	memset(ret, 0, sizeof(*ret));
	if (!nb_nic_name_valid(name) || nslen >= sizeof(ret->netns))
		return -EINVAL;
	memcpy(ret->netns, s, nslen);
	memcpy(ret->ifname, name, strlen(name));
	return 0;
}

/* ---- a run's interfaces ---- */

struct watched {
	struct nb_nic *nic;
	struct nb_nic_id id;
	struct nb_nic_snap a, b;
	bool have_a, have_b;
};

struct nb_nic_watch {
	struct watched *w;
	unsigned n;
};

int nb_nic_watch_new(const struct nb_nic_ref *ifs, unsigned n, struct nb_nic_watch **ret)
{
	struct nb_nic_watch *W = calloc(1, sizeof(*W));

	if (!W || !(W->w = calloc(n ? n : 1, sizeof(*W->w)))) {
		free(W);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		struct watched *w = &W->w[W->n];
		if (nb_nic_open(ifs[i].netns, ifs[i].ifname, &w->nic) < 0)
			continue;
		if (nb_nic_identify(w->nic, &w->id) < 0) {
			nb_nic_close(w->nic);
			w->nic = NULL;
			continue;
		}
		snprintf(w->id.netns, sizeof(w->id.netns), "%s", ifs[i].netns);
		W->n++;
	}
	*ret = W;
	return 0;
}

void nb_nic_watch_window(void *arg, bool end)
{
	struct nb_nic_watch *W = arg;

	for (unsigned i = 0; W && i < W->n; i++) {
		struct watched *w = &W->w[i];
		if (!end)
			w->have_a = nb_nic_snapshot(w->nic, &w->a) == 0;
		else if (w->have_a)
			w->have_b = nb_nic_snapshot(w->nic, &w->b) == 0;
	}
}

int nb_nic_watch_each(const struct nb_nic_watch *W,
		      int (*fn)(void *arg, const struct nb_nic_id *id, const struct nb_nic_snap *delta),
		      void *arg)
{
	for (unsigned i = 0; W && i < W->n; i++) {
		const struct watched *w = &W->w[i];
		struct nb_nic_snap d = {0};
		int r = 0;
		if (w->have_b && (r = nb_nic_delta(&w->a, &w->b, &d)) < 0)
			return r;
		r = fn(arg, &w->id, w->have_b ? &d : NULL);
		nb_nic_snap_free(&d);
		if (r)
			return r;
	}
	return 0;
}

void nb_nic_watch_free(struct nb_nic_watch *W)
{
	if (!W)
		return;
	for (unsigned i = 0; i < W->n; i++) {
		nb_nic_close(W->w[i].nic);
		nb_nic_snap_free(&W->w[i].a);
		nb_nic_snap_free(&W->w[i].b);
	}
	free(W->w);
	free(W);
}
