/* SPDX-License-Identifier: MIT */
/*
 * The routes through one interface (route.h), for --wire. Moving a port to another namespace takes
 * every route through it along, in every table, and when it comes back the kernel makes again only its own
 * (the connected and local routes of its addresses, IPv6's link-local and multicast ones). So before the
 * move every other route with a nexthop on the port (IPv4 and IPv6, any table, any scope, any type) is
 * recorded as the kernel dumps it (struct rtmsg and its attributes), and once the port is back with its
 * addresses each is put back through libnl's route object, its nexthops on the port's ifindex of the day.
 * Left out: the kernel's own routes (proto kernel), those an IPv6 router advertisement or a redirect made
 * (they expire and come back by themselves), and cached clones.
 */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/route.h>

#include "route.h"
#include "topo_int.h"

/* The route of a record, as libnl's object; NULL if it will not parse. */
static struct rtnl_route *route_of(const uint8_t *msg, size_t len)
{
	struct nlmsghdr *h = calloc(1, NLMSG_SPACE(len));
	struct rtnl_route *rt = NULL;

	if (!h)
		return NULL;
	h->nlmsg_len = (uint32_t)NLMSG_LENGTH(len);
	h->nlmsg_type = RTM_NEWROUTE;
	memcpy(NLMSG_DATA(h), msg, len);
	if (rtnl_route_parse(h, &rt) < 0)
		rt = NULL;
	free(h);
	return rt;
}

static bool through(struct rtnl_route *rt, int ifindex)
{
	for (int i = 0; i < rtnl_route_get_nnexthops(rt); i++)
		if (rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(rt, i)) == ifindex)
			return true;
	return false;
}

/* Whether rt is a route through ifindex that would not come back by itself. */
static bool kept(struct rtnl_route *rt, int ifindex)
{
	int p = rtnl_route_get_protocol(rt), f = rtnl_route_get_family(rt);

	if ((f != AF_INET && f != AF_INET6) || p == RTPROT_KERNEL || p == RTPROT_RA || p == RTPROT_REDIRECT)
		return false;
	return !(rtnl_route_get_flags(rt) & RTM_F_CLONED) && through(rt, ifindex);
}

struct route_dump {
	int ifindex;
	struct nic_route *out;
	size_t *n;
	int err; /* -E2BIG: more routes, or a larger one, than a record holds */
};

static int route_one(struct nl_msg *msg, void *arg)
{
	struct route_dump *d = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	size_t len = (size_t)nlmsg_datalen(h);
	struct rtnl_route *rt;
	struct nic_route *o;

	if (h->nlmsg_type != RTM_NEWROUTE || !(rt = route_of(nlmsg_data(h), len)))
		return NL_OK;
	if (kept(rt, d->ifindex)) {
		if (*d->n >= NIC_MAX_ROUTES || len > NIC_ROUTE_MAX) {
			d->err = -E2BIG;
		} else {
			o = &d->out[(*d->n)++];
			memset(o, 0, sizeof(*o));
			o->family = rtnl_route_get_family(rt);
			o->table = rtnl_route_get_table(rt);
			if (rtnl_route_get_dst(rt))
				nl_addr2str(rtnl_route_get_dst(rt), o->dst, sizeof(o->dst));
			o->len = (uint32_t)len;
			memcpy(o->msg, nlmsg_data(h), len);
		}
	}
	rtnl_route_put(rt);
	return NL_OK;
}

int nb_route_save(struct nl_sock *sk, int ifindex, struct nic_route *out, size_t *n)
{
	struct rtmsg rtm = {.rtm_family = AF_UNSPEC};
	struct route_dump d = {.ifindex = ifindex, .out = out, .n = n};
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int r;

	if (!cb)
		return -ENOMEM;
	*n = 0;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, route_one, &d);
	r = nl_send_simple(sk, RTM_GETROUTE, NLM_F_DUMP, &rtm, sizeof(rtm));
	if (r >= 0)
		r = nl_recvmsgs(sk, cb);
	nl_cb_put(cb);
	return r < 0 ? nb_nl_err(r) : d.err;
}

/* One recorded route added again, its nexthops on the port moved to ifindex (from was its ifindex when
 * recorded). Only RTNH_F_ONLINK of its flags is asked for: the others (linkdown, dead, offload) are the
 * kernel's to say, and it refuses some of them in a request. */
static int route_put(struct nl_sock *sk, const struct nic_route *o, int from, int ifindex)
{
	struct rtnl_route *rt = route_of(o->msg, o->len);
	int r;

	if (!rt)
		return -EBADMSG;
	for (int i = 0; i < rtnl_route_get_nnexthops(rt); i++) {
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(rt, i);

		if (rtnl_route_nh_get_ifindex(nh) == from)
			rtnl_route_nh_set_ifindex(nh, ifindex);
		rtnl_route_nh_unset_flags(nh, rtnl_route_nh_get_flags(nh) & ~RTNH_F_ONLINK);
	}
	rtnl_route_unset_flags(rt, rtnl_route_get_flags(rt) & ~RTNH_F_ONLINK);
	r = nb_nl_err(rtnl_route_add(sk, rt, NLM_F_EXCL));
	rtnl_route_put(rt);
	return r == -EEXIST ? 0 : r;
}

int nb_route_restore(struct nl_sock *sk, int from, int ifindex, const struct nic_route *routes, size_t n)
{
	bool done[NIC_MAX_ROUTES] = {0}, progress = true;
	size_t left = n;
	int r = 0;

	/* in rounds: a route whose gateway another of them reaches goes in after that one */
	while (left && progress) {
		progress = false;
		for (size_t i = 0; i < n && i < NIC_MAX_ROUTES; i++) {
			if (done[i])
				continue;
			r = route_put(sk, &routes[i], from, ifindex);
			if (!r) {
				done[i] = progress = true;
				left--;
			}
		}
	}
	return r;
}
