/* SPDX-License-Identifier: MIT */
/*
 * The whole state of one interface (MTU, up/down, master, addresses, ethtool features, channels, rings,
 * coalescing, and the qdiscs and classes nbench did not find there by default), recorded and put back
 * exactly: what differs only. Shared by --wire (wire.c) and the knob sweeps (knob.c). Everything acts in
 * the calling thread's network namespace. nicstate.c has the link, the addresses, ethtool and the JSON;
 * tc.c the qdiscs and classes.
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
#define NIC_MAX_TC	16
#define NIC_TC_OPTS_MAX 1024
#define NIC_FEAT_BLOCKS 4

struct nic_addr {
	int family;
	char local[64]; /* "ADDR/PLEN" */
	char peer[64], bcast[64];
	int scope;
	unsigned flags;
	char label[IFNAMSIZ];
};

/* A qdisc or class as the kernel dumps it: the header and TCA_KIND/TCA_OPTIONS, replayed verbatim. */
struct nic_tc {
	bool is_class;
	uint32_t handle, parent;
	char kind[16];
	uint8_t opts[NIC_TC_OPTS_MAX];
	uint32_t optlen;
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

/* Records the whole state of interface name into n; 0 or -errno with one line in err. */
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

#endif
