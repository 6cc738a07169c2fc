/* SPDX-License-Identifier: MIT */
/*
 * The whole state of one interface (MTU, up/down, master, addresses, ethtool features, channels, rings,
 * coalescing, the qdiscs, classes and tc filters nbench did not find there by default, and for --wire the
 * routes through it), recorded and put back exactly: what differs only. Shared by --wire (wire.c) and the
 * knob sweeps (knob.c). Everything acts in the calling thread's network namespace. nicstate.c has the link,
 * the addresses, ethtool, the JSON and the whole; the parts below it, tc.h (qdiscs, classes and filters)
 * and route.h (routes), know nothing of the whole.
 */
#ifndef NB_TOPO_NICSTATE_H
#define NB_TOPO_NICSTATE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/ethtool.h>

#include "route.h"
#include "tc.h"

struct nl_sock;
struct rtnl_link;
struct cJSON;

#define NIC_MAX_ADDRS	16
#define NIC_FEAT_BLOCKS 4

struct nic_addr {
	int family;
	char local[64]; /* "ADDR/PLEN" */
	char peer[64], bcast[64];
	int scope;
	unsigned flags;
	char label[IFNAMSIZ];
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
	struct nic_route routes[NIC_MAX_ROUTES]; /* --wire only (wire.c): a knob changes no route */
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

/* The record of n is done with: what it kept outside itself goes (nb_tc_forget). */
void nb_nic_forget(const struct nic_state *n);

/* n as JSON (for state files), and back. */
struct cJSON *nb_nic_json(const struct nic_state *n);
void nb_nic_read(const struct cJSON *o, struct nic_state *n);

#endif
