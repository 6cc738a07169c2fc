/* SPDX-License-Identifier: MIT */
/*
 * A path split across two hosts (`nbench serve --paths` and `-H SERVER --path KIND`): the choices the
 * server's agent makes on its host before it builds a half (a container subnet nothing else uses), and the
 * client's half (a route to that subnet via the server), both through the same steps as every path.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/route/route.h>

#include "nbench/fsutil.h"
#include "nicstate.h"
#include "topo_int.h"

/* Whether a.b.c.d/plen overlaps the /24 net (host byte order throughout). */
static bool overlaps(uint32_t addr, uint32_t mask, uint32_t net)
{
	uint32_t m24 = 0xffffff00u, m = mask & m24;

	return (addr & m) == (net & m);
}

/* 172.31.n.0, 10.77.n.0 */
static uint32_t ctr_net(unsigned n)
{
	return (172u << 24) | (31u << 16) | (n << 8);
}

static uint32_t wire_net(unsigned n)
{
	return (10u << 24) | (77u << 16) | (n << 8);
}

/* Every IPv4 route of the main table (/proc/net/route: destination and mask as little-endian hex). */
static bool route_overlaps(uint32_t n)
{
	FILE *f = fopen("/proc/net/route", "re");
	char line[256];
	bool hit = false;

	if (!f)
		return true; /* unknown: take nothing */
	while (!hit && fgets(line, sizeof(line), f)) {
		char ifname[32];
		unsigned dst, gw, flags, refcnt, use, metric, mask;

		if (sscanf(line, "%31s %x %x %x %u %u %u %x", ifname, &dst, &gw, &flags, &refcnt, &use,
			   &metric, &mask) != 8)
			continue; /* the header */
		hit = mask && overlaps(ntohl(dst), ntohl(mask), n);
	}
	fclose(f);
	return hit;
}

static bool addr_overlaps(const struct ifaddrs *ifs, uint32_t n)
{
	for (const struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !i->ifa_netmask)
			continue;
		uint32_t a = ntohl(((const struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
		uint32_t m = ntohl(((const struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr);
		if (overlaps(a, m, n) || overlaps(a, 0xffffffffu, n))
			return true;
	}
	return false;
}

int nb_topo_half_subnet(uint8_t *ret_subnet, char *err, size_t errlen)
{
	struct ifaddrs *ifs = NULL;

	if (getifaddrs(&ifs) < 0) {
		nb_err(err, errlen, "cannot list this host's addresses: %s", strerror(errno));
		return -errno;
	}
	for (unsigned n = 77; n <= 254; n++) {
		if (route_overlaps(ctr_net(n)) || addr_overlaps(ifs, ctr_net(n)))
			continue;
		freeifaddrs(ifs);
		*ret_subnet = (uint8_t)n;
		return 0;
	}
	freeifaddrs(ifs);
	nb_err(err, errlen, "every 172.31.N.0/24 (N 77 to 254) is routed or addressed on this host already");
	return -EADDRNOTAVAIL;
}

/* Whether an instance's state file here names host_net n (one being built has no address up yet). Read
 * straight from the state folder: the instance list knows more than this needs, and calls into here. */
static bool host_net_recorded(unsigned n)
{
	DIR *d = opendir(NB_STATE_DIR);
	struct dirent *de;
	bool hit = false;

	while (d && !hit && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char why[96], *text;
		cJSON *o, *v;

		if (len < 6 || strcmp(de->d_name + len - 5, ".json"))
			continue;
		text = nb_slurp_at(dirfd(d), de->d_name, 1 << 20, why, sizeof(why));
		o = text ? cJSON_Parse(text) : NULL;
		v = cJSON_GetObjectItemCaseSensitive(o, "host_net");
		hit = cJSON_IsNumber(v) && v->valuedouble == n;
		cJSON_Delete(o);
		free(text);
	}
	if (d)
		closedir(d);
	return hit;
}

int nb_topo_host_net(uint8_t *ret, char *err, size_t errlen)
{
	struct ifaddrs *ifs = NULL;

	if (getifaddrs(&ifs) < 0) {
		nb_err(err, errlen, "cannot list this host's addresses: %s", strerror(errno));
		return -errno;
	}
	for (unsigned n = 78; n <= 254; n++) {
		if (route_overlaps(ctr_net(n)) || addr_overlaps(ifs, ctr_net(n)) ||
		    route_overlaps(wire_net(n)) || addr_overlaps(ifs, wire_net(n)) || host_net_recorded(n))
			continue;
		freeifaddrs(ifs);
		*ret = (uint8_t)n;
		return 0;
	}
	freeifaddrs(ifs);
	nb_err(err, errlen,
	       "every pair 10.77.N.0/24, 172.31.N.0/24 (N 78 to 254) is routed or addressed on this host "
	       "already");
	return -EADDRNOTAVAIL;
}

/* The route to net via gw, or (onlink) on the link toward gw. */
static int client_route(bool add, const char *net, const char *gw, bool onlink, char *err, size_t errlen)
{
	struct nb_plan p = {0};
	struct nb_step *s = &p.steps[0];
	struct nb_apply *a = NULL;
	int r;

	p.nsteps = 1;
	s->kind = NB_STEP_ROUTE; /* ns "": this namespace */
	snprintf(s->addr, sizeof(s->addr), "%s", net);
	snprintf(s->via, sizeof(s->via), "%s", onlink ? "" : gw);
	if (nb_nic_route_iface(gw, s->ifname, sizeof(s->ifname)) < 0) {
		nb_err(err, errlen, "no route to %s: cannot route %s via it", gw, net);
		return -EHOSTUNREACH;
	}
	if ((r = nb_apply_open(&p, NULL, &a)) < 0)
		return r;
	if (add) {
		r = nb_step_apply(a, s, err, errlen);
		if (r == -EEXIST)
			nb_err(err, errlen, "a route to %s exists on this host already: it is not replaced",
			       net);
	} else {
		r = nb_step_undo(a, s);
		if (r < 0)
			nb_err(err, errlen, "cannot remove the route to %s %s %s: %s", net,
			       onlink ? "toward" : "via", gw, strerror(-r));
	}
	nb_apply_close(a);
	return r;
}

int nb_topo_client_route(bool add, const char *net, const char *gw, char *err, size_t errlen)
{
	return client_route(add, net, gw, false, err, errlen);
}

int nb_topo_client_route_onlink(bool add, const char *net, const char *toward, char *err, size_t errlen)
{
	return client_route(add, net, toward, true, err, errlen);
}

/* ---- a killed client's routes ---- */

struct sweep {
	struct nl_sock *sk;
	size_t n;
	int first;
};

/* Deletes rt when it is a client's route to a remote half: nbench's protocol number, main table, a /24 of
 * 172.31.0.0/16 (where the agent puts its container subnets). */
static void sweep_one(struct nl_object *obj, void *arg)
{
	struct rtnl_route *rt = (struct rtnl_route *)obj;
	struct sweep *w = arg;
	struct nl_addr *dst = rtnl_route_get_dst(rt);
	const uint8_t *a = dst ? nl_addr_get_binary_addr(dst) : NULL;

	if (rtnl_route_get_protocol(rt) != NB_RTPROT || rtnl_route_get_table(rt) != RT_TABLE_MAIN ||
	    rtnl_route_get_family(rt) != AF_INET || !a || nl_addr_get_prefixlen(dst) != 24 || a[0] != 172 ||
	    a[1] != 31)
		return;
	int r = nb_nl_err(rtnl_route_delete(w->sk, rt, 0));
	if (!r)
		w->n++;
	else if (!w->first && r != -ESRCH)
		w->first = r;
}

int nb_topo_client_routes_sweep(size_t *ret_n)
{
	struct sweep w = {0};
	struct nl_cache *cache = NULL;
	int r = nb_nic_sock(&w.sk);

	if (!r)
		r = nb_nl_err(rtnl_route_alloc_cache(w.sk, AF_INET, 0, &cache));
	if (!r) {
		nl_cache_foreach(cache, sweep_one, &w);
		nl_cache_free(cache);
		r = w.first;
	}
	if (w.sk)
		nl_socket_free(w.sk);
	if (ret_n)
		*ret_n = w.n;
	return r;
}
