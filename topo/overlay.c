/* SPDX-License-Identifier: MIT */
/*
 * The links of the overlay and macvlan paths, through libnl-route-3 as apply.c makes the others.
 *
 * overlay: a VXLAN device on each side (VNI s->vni, UDP 4789 as the IANA port and Docker's overlay driver
 * use; flannel's default is the kernel's 8472), unicast to the other side's endpoint with learning on, as a
 * bridge port; MTU 1450 (flannel's: 1500 less 50 bytes of outer Ethernet, IP, UDP and VXLAN headers).
 * macvlan: a bridge-mode macvlan of the wire's server end, made in its parent's namespace and moved into
 * the container's as it is created, as Docker's macvlan driver and CNI's plugin do.
 */
#include <errno.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/vxlan.h>

#include "nbench/nic.h"
#include "topo_int.h"

#define VXLAN_PORT 4789

static int link_index_of(struct nl_sock *sk, const char *ifname, int *ret)
{
	struct rtnl_link *l;
	int r = nb_nl_err(rtnl_link_get_kernel(sk, 0, ifname, &l));

	if (r)
		return r;
	*ret = rtnl_link_get_ifindex(l);
	rtnl_link_put(l);
	return 0;
}

/* addr (an IPv4 address, no length) into *ret; "" leaves it NULL. */
static int addr_of(const char *addr, struct nl_addr **ret)
{
	*ret = NULL;
	return *addr ? nb_nl_err(nl_addr_parse(addr, AF_INET, ret)) : 0;
}

static int vxlan_add(struct nl_sock *sk, const struct nb_step *s)
{
	struct rtnl_link *l = rtnl_link_vxlan_alloc();
	struct nl_addr *remote = NULL, *local = NULL;
	int lower = 0, r;

	if (!l)
		return -ENOMEM;
	r = addr_of(s->addr, &remote);
	if (!r)
		r = addr_of(s->via, &local);
	if (!r && *s->peer)
		r = link_index_of(sk, s->peer, &lower);
	if (r)
		goto out;
	rtnl_link_set_name(l, s->ifname);
	rtnl_link_vxlan_set_id(l, s->vni);
	if (remote)
		rtnl_link_vxlan_set_group(l, remote); /* a unicast "group" is the remote endpoint */
	if (local)
		rtnl_link_vxlan_set_local(l, local);
	if (lower)
		rtnl_link_vxlan_set_link(l, (uint32_t)lower);
	rtnl_link_vxlan_set_port(l, VXLAN_PORT);
	rtnl_link_vxlan_set_learning(l, 1);
	if (s->mtu)
		rtnl_link_set_mtu(l, s->mtu);
	r = nb_nl_err(rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL));
out:
	if (remote)
		nl_addr_put(remote);
	if (local)
		nl_addr_put(local);
	rtnl_link_put(l);
	return r;
}

/* sk is a socket of the parent's namespace; the macvlan is born in s->ns. A half's parent is this host's
 * interface toward its client (s->via). */
static int macvlan_add(struct nl_sock *sk, const struct nb_step *s)
{
	struct rtnl_link *l = rtnl_link_macvlan_alloc();
	char parent[IFNAMSIZ];
	int pidx = 0, fd = -1, r = 0;

	if (!l)
		return -ENOMEM;
	snprintf(parent, sizeof(parent), "%s", s->peer);
	if (!*parent && nb_nic_route_iface(s->via, parent, sizeof(parent)) < 0)
		r = -EHOSTUNREACH;
	if (!r)
		r = link_index_of(sk, parent, &pidx);
	if (!r && (fd = nb_ns_open(s->ns)) < 0)
		r = fd;
	if (!r) {
		rtnl_link_set_name(l, s->ifname);
		rtnl_link_set_link(l, pidx);
		rtnl_link_macvlan_set_mode(l, rtnl_link_macvlan_str2mode("bridge"));
		rtnl_link_set_ns_fd(l, fd);
		r = nb_nl_err(rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL));
	}
	if (fd >= 0)
		close(fd);
	rtnl_link_put(l);
	return r;
}

int nb_overlay_step(struct nl_sock *sk, const struct nb_step *s, bool apply)
{
	struct rtnl_link *l;
	int r;

	if (apply)
		return s->kind == NB_STEP_VXLAN ? vxlan_add(sk, s) : macvlan_add(sk, s);
	l = rtnl_link_alloc();
	if (!l)
		return -ENOMEM;
	rtnl_link_set_name(l, s->ifname);
	r = nb_nl_err(rtnl_link_delete(sk, l));
	rtnl_link_put(l);
	return r;
}
