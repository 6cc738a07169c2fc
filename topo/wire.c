/* SPDX-License-Identifier: MIT */
/*
 * --wire: two interfaces of this host as the wire, and --wire-rate: a tbf at each end of it. Before the
 * first step the whole state of both interfaces is recorded (into the state file, so a teardown after a
 * kill -9 has it): name, ifindex, MTU, up/down, addresses, ethtool features, channels, rings, coalescing,
 * the qdiscs, classes and tc filters nbench did not make (as the kernel dumps them, replayed as they
 * were), and the routes through them that the kernel would not make again (route.c).
 * Moving a link to another namespace drops its addresses, qdiscs, filters and routes; deleting a
 * namespace destroys a veth but hands a physical NIC back to the root namespace under the name it had
 * inside. So the teardown moves both back explicitly, renames them, and puts back what differs, the
 * routes last. Links, addresses, tc and routes through rtnetlink (libnl-3), the rest through the ethtool
 * ioctl; a setting the driver will not read is absent.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "nicstate.h"
#include "topo_int.h"

struct nb_wire_state {
	struct nic_state nic[2]; /* as p->wire */
};

void nb_wire_free(struct nb_wire_state *w)
{
	free(w);
}

int nb_qdisc_step(struct nl_sock *sk, const struct nb_step *s, bool apply)
{
	struct nic_tc o = {.parent = TC_H_ROOT};
	struct rtnl_link *link;
	int ifindex, r = nb_nic_link_get(sk, s->ifname, 0, &link);

	if (r)
		return r;
	ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	if (!apply)
		return nb_tc_send(sk, RTM_DELQDISC, 0, ifindex, &o);
	o.handle = TC_H_MAKE(0x4e420000U, 0); /* "NB": ours */
	nb_tc_tbf_opts(s->rate_bps, &o);
	return nb_tc_send(sk, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex, &o);
}

int nb_wire_save(struct nb_plan *p, char *err, size_t errlen)
{
	char e[200] = "";
	struct nl_sock *sk = NULL;
	int r;

	if (!*p->wire[0])
		return 0;
	p->wire_saved = calloc(1, sizeof(*p->wire_saved));
	if (!p->wire_saved)
		return -ENOMEM;
	r = nb_nic_sock(&sk);
	for (int i = 0; i < 2 && !r; i++) {
		struct nic_state *n = &p->wire_saved->nic[i];

		r = nb_nic_save(sk, p->wire[i], n, e, sizeof(e));
		if (!r && (r = nb_route_save(sk, n->ifindex, n->routes, &n->nroutes)))
			snprintf(e, sizeof(e), "recording the routes through %s: %s", n->name,
				 r == -E2BIG ? "more (or longer) than nbench can record and put back"
					     : strerror(-r));
	}
	if (r) {
		nb_wire_forget(p);
		nb_err(err, errlen, "--wire: %s", e);
	}
	if (sk)
		nl_socket_free(sk);
	return r;
}

/* Whether a route of ifindex is a default route of this namespace (any table). */
struct route_walk {
	int ifindex;
	bool found;
};

static void nh_one(struct rtnl_nexthop *nh, void *arg)
{
	struct route_walk *w = arg;

	w->found |= rtnl_route_nh_get_ifindex(nh) == w->ifindex;
}

static void route_one(struct nl_object *obj, void *arg)
{
	struct rtnl_route *rt = (struct rtnl_route *)obj;
	struct nl_addr *dst = rtnl_route_get_dst(rt);

	if (rtnl_route_get_type(rt) == RTN_UNICAST && (!dst || !nl_addr_get_prefixlen(dst)))
		rtnl_route_foreach_nexthop(rt, nh_one, arg);
}

static int has_default_route(struct nl_sock *sk, int ifindex, bool *ret)
{
	struct nl_cache *cache;
	struct route_walk w = {.ifindex = ifindex};
	int r = nb_nl_err(rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &cache));

	if (r)
		return r;
	nl_cache_foreach(cache, route_one, &w);
	nl_cache_free(cache);
	*ret = w.found;
	return 0;
}

/* Why interface l may not be taken as the wire (force waives it), or NULL. */
static const char *refusal(struct nl_sock *sk, struct rtnl_link *l, char *why, size_t len)
{
	bool dflt = false;

	if (rtnl_link_get_flags(l) & IFF_LOOPBACK)
		return "it is the loopback interface";
	if (!has_default_route(sk, rtnl_link_get_ifindex(l), &dflt) && dflt)
		return "it carries this host's default route";
	if (rtnl_link_get_master(l) > 0) {
		char m[IFNAMSIZ] = "?";

		if_indextoname((unsigned)rtnl_link_get_master(l), m);
		snprintf(why, len, "it is enslaved to %s", m);
		return why;
	}
	if (!(rtnl_link_get_flags(l) & IFF_UP) && !rtnl_link_get_carrier(l))
		return "it is down and has no carrier";
	return NULL;
}

int nb_wire_check(const struct nb_plan *p, char *err, size_t errlen)
{
	struct nl_sock *sk = NULL;
	int r;

	if (!*p->wire[0])
		return 0;
	r = nb_nic_sock(&sk);
	for (int i = 0; i < 2 && !r; i++) {
		struct rtnl_link *l;
		char why[64];
		const char *no;

		r = nb_nic_link_get(sk, p->wire[i], 0, &l);
		if (r) {
			nb_err(err, errlen, "--wire: interface %s: %s", p->wire[i], strerror(-r));
			break;
		}
		no = refusal(sk, l, why, sizeof(why));
		if (no && (!p->force || (rtnl_link_get_flags(l) & IFF_LOOPBACK))) {
			nb_err(err, errlen, "--wire: refusing %s: %s%s", p->wire[i], no,
			       strstr(no, "loopback") ? "" : " (--force takes it anyway)");
			r = -EBUSY;
		}
		rtnl_link_put(l);
	}
	if (sk)
		nl_socket_free(sk);
	return r;
}

/* ---- the step and the restore ---- */

/* Moves link (found through sk) into netns fd under name. */
static int link_move(struct nl_sock *sk, struct rtnl_link *l, int fd, const char *name)
{
	struct rtnl_link *change = rtnl_link_alloc();
	int r;

	if (!change)
		return -ENOMEM;
	rtnl_link_set_ns_fd(change, fd);
	rtnl_link_set_name(change, name);
	r = nb_nl_err(rtnl_link_change(sk, l, change, 0));
	rtnl_link_put(change);
	return r;
}

int nb_nic_step(struct nl_sock *sk, const struct nb_step *s, bool apply)
{
	struct nl_sock *root = NULL;
	struct rtnl_link *l = NULL;
	int fd, r;

	if (apply) {
		fd = nb_ns_open(s->ns);
		r = fd < 0 ? fd : nb_nic_sock(&root);
		if (!r)
			r = nb_nic_link_get(root, s->peer, 0, &l);
		if (!r)
			r = link_move(root, l, fd, s->ifname);
	} else {
		/* back to the namespace this thread is in: where `topo up` found it */
		fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		r = fd < 0 ? -errno : nb_nic_link_get(sk, s->ifname, 0, &l);
		if (!r)
			r = link_move(sk, l, fd, s->peer);
	}
	if (l)
		rtnl_link_put(l);
	if (root)
		nl_socket_free(root);
	if (fd >= 0)
		close(fd);
	return r;
}

/* Finds the interface in this namespace: by its name, or under the name it had inside (a namespace
 * that went away handed it back), renamed back. */
static int nic_find(struct nl_sock *sk, const struct nb_plan *p, int i, struct rtnl_link **ret)
{
	const struct nic_state *n = &p->wire_saved->nic[i];
	char inside[IFNAMSIZ];
	struct rtnl_link *change;
	int r = nb_nic_link_get(sk, n->name, 0, ret);

	if (r != -ENODEV && r != -ENOENT)
		return r;
	snprintf(inside, sizeof(inside), "nb-%s-%s", p->name, i ? "r" : "h");
	r = nb_nic_link_get(sk, inside, 0, ret);
	if (r)
		return r;
	change = rtnl_link_alloc();
	if (!change)
		return -ENOMEM;
	rtnl_link_set_name(change, n->name);
	r = nb_nl_err(rtnl_link_change(sk, *ret, change, 0));
	rtnl_link_put(change);
	return r;
}

static int nic_restore(struct nl_sock *sk, const struct nb_plan *p, int i)
{
	struct rtnl_link *l;
	int r = nic_find(sk, p, i, &l);

	if (r)
		return r;
	r = nb_nic_restore(sk, l, &p->wire_saved->nic[i]);
	rtnl_link_put(l);
	return r;
}

static int routes_restore(struct nl_sock *sk, const struct nb_plan *p, int i)
{
	const struct nic_state *n = &p->wire_saved->nic[i];
	int ifindex = (int)if_nametoindex(n->name);

	return ifindex ? nb_route_restore(sk, n->ifindex, ifindex, n->routes, n->nroutes) : -ENODEV;
}

int nb_wire_restore(const struct nb_plan *p, bool undone)
{
	struct nl_sock *sk;
	int first = 0, r;
	bool gone[2] = {false, false};

	if (!p->wire_saved)
		return 0;
	r = nb_nic_sock(&sk);
	if (r)
		return r;
	/* both ports whole first, then their routes: a gateway is reached through an address of either */
	for (int i = 0; i < 4; i++) {
		r = i < 2 ? nic_restore(sk, p, i) : routes_restore(sk, p, i - 2);
		/* with every step undone no namespace of the path holds it: it is gone (a deleted veth, an
		 * unplugged port) and there is nothing to restore, nor will there be */
		if (i < 2 && undone && (r == -ENODEV || r == -ENOENT)) {
			fprintf(stderr,
				"nbench topo: %s: wire interface %s is gone: nothing of it to restore\n",
				p->name, p->wire_saved->nic[i].name);
			gone[i] = true;
			r = 0;
		}
		if (i >= 2 && gone[i - 2])
			r = 0;
		if (r)
			fprintf(stderr, "nbench topo: %s: restoring %s of wire interface %s: %s\n", p->name,
				i < 2 ? "the state" : "the routes", p->wire_saved->nic[i % 2].name,
				strerror(-r));
		first = first ? first : r;
	}
	nl_socket_free(sk);
	/* a teardown that failed keeps what a later one needs (and the state file that says so) */
	if (!first)
		nb_wire_forget(p);
	return first;
}

void nb_wire_forget(const struct nb_plan *p)
{
	for (int i = 0; p->wire_saved && i < 2; i++)
		nb_nic_forget(&p->wire_saved->nic[i]);
}

/* ---- the state file's "wire" ---- */

cJSON *nb_wire_json(const struct nb_plan *p)
{
	cJSON *o, *a;

	if (!*p->wire[0] && !p->wire_rate_bps)
		return NULL;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "a", p->wire[0]);
	cJSON_AddStringToObject(o, "b", p->wire[1]);
	cJSON_AddNumberToObject(o, "rate_bps", p->wire_rate_bps);
	cJSON_AddBoolToObject(o, "force", p->force);
	if (p->wire_saved) {
		a = cJSON_AddArrayToObject(o, "saved");
		for (int i = 0; a && i < 2; i++)
			cJSON_AddItemToArray(a, nb_nic_json(&p->wire_saved->nic[i]));
	}
	return o;
}

int nb_wire_from_json(struct nb_plan *p, const cJSON *o)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "saved"), *e;
	int i = 0;

	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 2)
		return 0;
	p->wire_saved = calloc(1, sizeof(*p->wire_saved));
	if (!p->wire_saved)
		return -ENOMEM;
	cJSON_ArrayForEach(e, a) nb_nic_read(e, &p->wire_saved->nic[i++]);
	return 0;
}
