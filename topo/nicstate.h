/* SPDX-License-Identifier: MIT */
/*
 * The whole state of one interface (MTU, up/down, master, addresses, ethtool features, channels, rings,
 * coalescing, the qdiscs, classes and tc filters nbench did not find there by default, and for --wire the
 * routes through it), recorded and put back exactly: what differs only. Shared by --wire (wire.c) and the
 * knob sweeps (knob.c). Everything acts in the calling thread's network namespace. nicstate.c has the link,
 * the addresses, ethtool and the JSON; tc.c the qdiscs, classes and filters; route.c the routes.
 */
#ifndef NB_TOPO_NICSTATE_H
#define NB_TOPO_NICSTATE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/ethtool.h>

struct nl_sock;
struct rtnl_link;
struct cJSON;

#define NIC_MAX_ADDRS	16
#define NIC_MAX_TC	16   /* qdiscs and classes */
#define NIC_MAX_FILTERS 16   /* tc filters (a u32 hash table counts as one) */
#define NIC_TC_OPTS_MAX 2048 /* bytes of one TCA_OPTIONS (a filter's carries its actions) */
#define NIC_MAX_ROUTES	32
#define NIC_ROUTE_MAX	512 /* bytes of one route's message (struct rtmsg and its attributes) */
#define NIC_FEAT_BLOCKS 4

struct nic_addr {
	int family;
	char local[64]; /* "ADDR/PLEN" */
	char peer[64], bcast[64];
	int scope;
	unsigned flags;
	char label[IFNAMSIZ];
};

/* A qdisc, class or filter as the kernel dumps it: the header and TCA_KIND/TCA_OPTIONS (a filter's chain
 * too), replayed verbatim. */
struct nic_tc {
	bool is_class;
	uint32_t handle, parent;
	uint32_t info;	/* a filter's tcm_info: its priority << 16 | its protocol (network order) */
	uint32_t chain; /* a filter's chain */
	char kind[16];
	uint8_t opts[NIC_TC_OPTS_MAX];
	uint32_t optlen;
};

/* A route through the interface as the kernel dumps it: struct rtmsg and its attributes. */
struct nic_route {
	int family;
	uint32_t table;
	char dst[64]; /* for people: the state file names it */
	uint32_t len;
	uint8_t msg[NIC_ROUTE_MAX];
};

struct nic_state {
	char name[IFNAMSIZ];
	int ifindex;
	bool up;
	uint32_t mtu;
	char master[IFNAMSIZ]; /* the bridge or bond it was enslaved to ("" none): taken with --force */
	struct nic_addr addrs[NIC_MAX_ADDRS];
	size_t naddrs;
	bool has_features, has_channels, has_rings, has_coal;
	uint32_t nfeat;							 /* blocks */
	uint32_t feat_avail[NIC_FEAT_BLOCKS], feat_req[NIC_FEAT_BLOCKS]; /* changeable; requested */
	struct ethtool_channels ch;
	struct ethtool_ringparam ring;
	struct ethtool_coalesce coal;
	struct nic_tc tc[NIC_MAX_TC];
	size_t ntc;
	struct nic_tc filters[NIC_MAX_FILTERS];
	size_t nfilters;
	struct nic_route routes[NIC_MAX_ROUTES]; /* --wire only (nb_route_save): a knob changes no route */
	size_t nroutes;
};

/* ---- nicstate.c ---- */

/* A route netlink socket in this thread's namespace. */
int nb_nic_sock(struct nl_sock **ret);
/* The link called name (or of ifindex when name is NULL). */
int nb_nic_link_get(struct nl_sock *sk, const char *name, int ifindex, struct rtnl_link **ret);

/* SIOCETHTOOL on name with data; 0 or -errno (> 0 from ETHTOOL_SFEATURES: not every bit as asked). */
int nb_eth_ioctl(const char *name, void *data);
/* n's features, channels, rings and coalescing; what the driver will not read stays absent. */
void nb_eth_save(const char *name, struct nic_state *n);
/* Sets what differs from n; the first error. */
int nb_eth_restore(const char *name, const struct nic_state *n);

/* Records the whole state of interface name into n; 0 or -errno with one line in err. The programs of its
 * eBPF tc filters are kept alive (nb_tc_keep) until nb_tc_forget(n). */
int nb_nic_save(struct nl_sock *sk, const char *name, struct nic_state *n, char *err, size_t errlen);
/* Puts link l (found through sk) back into state n where it differs; the first error. */
int nb_nic_restore(struct nl_sock *sk, struct rtnl_link *l, const struct nic_state *n);

/* n as JSON (for state files), and back. */
struct cJSON *nb_nic_json(const struct nic_state *n);
void nb_nic_read(const struct cJSON *o, struct nic_state *n);

/* ---- tc.c ---- */

/* The qdiscs, then the classes, of ifindex that the kernel did not make by default (handle 0). */
int nb_tc_save(struct nl_sock *sk, int ifindex, struct nic_tc *out, size_t *n);
/* One RTM_NEW* / RTM_DEL* for a qdisc or class; o->opts (o->optlen bytes) is TCA_OPTIONS' payload. */
int nb_tc_send(struct nl_sock *sk, int type, int flags, int ifindex, const struct nic_tc *o);
/* The tbf of --wire-rate (and of a qdisc sweep) at rate_bps: its bucket and its queue, bytes. */
void nb_tc_tbf_size(double rate_bps, uint32_t *ret_burst, uint32_t *ret_limit);
/* o's kind and options: that tbf. */
void nb_tc_tbf_opts(double rate_bps, struct nic_tc *o);
/* Replays n's qdiscs and classes over those of ifindex unless they are the same already. */
int nb_tc_restore(struct nl_sock *sk, int ifindex, const struct nic_state *n);
/* The filters of every qdisc and class of n (nb_tc_save first) on ifindex, clsact's and ingress's
 * included, into n->filters; -E2BIG when they do not fit. */
int nb_tc_filters_save(struct nl_sock *sk, int ifindex, struct nic_state *n);
/* Replays n's filters on ifindex (after nb_tc_restore); one that is there already counts as done. */
int nb_tc_filters_restore(struct nl_sock *sk, int ifindex, const struct nic_state *n);
/* Keeps the program of every eBPF filter of n alive (pinned under /sys/fs/bpf/nbench) for as long as the
 * record may be replayed: the filter, its only holder, dies with the port's move. 0 or -errno (-ENOMEDIUM:
 * no bpf filesystem at /sys/fs/bpf) with the program's id in ret_id. */
int nb_tc_keep(const struct nic_state *n, uint32_t *ret_id);
/* The record is done with: its programs' pins go. */
void nb_tc_forget(const struct nic_state *n);

/* ---- route.c ---- */

/* The routes through n->ifindex that the kernel would not make again by itself into n->routes; -E2BIG
 * when they do not fit. */
int nb_route_save(struct nl_sock *sk, struct nic_state *n);
/* Puts n's routes back with their nexthops on ifindex (the interface's index now); one that is there
 * already counts as done. The first error. */
int nb_route_restore(struct nl_sock *sk, int ifindex, const struct nic_state *n);

#endif
