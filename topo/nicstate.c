/* SPDX-License-Identifier: MIT */
/*
 * One interface's state, recorded and restored (nicstate.h): its link, addresses and ethtool settings
 * here (rtnetlink through libnl-3, and the ethtool ioctl), its qdiscs and classes through tc.c, and the
 * whole as JSON for state files.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
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

/* ---- rtnetlink in this thread's namespace ---- */

int nb_nic_sock(struct nl_sock **ret)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk)
		return -ENOMEM;
	r = nb_nl_err(nl_connect(sk, NETLINK_ROUTE));
	if (r) {
		nl_socket_free(sk);
		return r;
	}
	*ret = sk;
	return 0;
}

int nb_nic_link_get(struct nl_sock *sk, const char *name, int ifindex, struct rtnl_link **ret)
{
	return nb_nl_err(rtnl_link_get_kernel(sk, ifindex, name, ret));
}

/* ---- ethtool ---- */

int nb_eth_ioctl(const char *name, void *data)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = data;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		r = -errno;
	close(fd);
	return r;
}

void nb_eth_save(const char *name, struct nic_state *n)
{
	struct {
		struct ethtool_gfeatures g;
		struct ethtool_get_features_block b[NIC_FEAT_BLOCKS];
	} f = {.g = {.cmd = ETHTOOL_GFEATURES, .size = NIC_FEAT_BLOCKS}};

	if (!nb_eth_ioctl(name, &f)) {
		n->has_features = true;
		n->nfeat = f.g.size < NIC_FEAT_BLOCKS ? f.g.size : NIC_FEAT_BLOCKS;
		for (uint32_t i = 0; i < n->nfeat; i++) {
			n->feat_avail[i] = f.b[i].available;
			n->feat_req[i] = f.b[i].requested;
		}
	}
	n->ch.cmd = ETHTOOL_GCHANNELS;
	n->has_channels = !nb_eth_ioctl(name, &n->ch);
	n->ring.cmd = ETHTOOL_GRINGPARAM;
	n->has_rings = !nb_eth_ioctl(name, &n->ring);
	n->coal.cmd = ETHTOOL_GCOALESCE;
	n->has_coal = !nb_eth_ioctl(name, &n->coal);
}

/* Sets what differs from the record; the first error. */
int nb_eth_restore(const char *name, const struct nic_state *n)
{
	struct nic_state now = {0};
	int first = 0, r;

	nb_eth_save(name, &now);
	if (n->has_features && now.has_features && memcmp(now.feat_req, n->feat_req, sizeof(n->feat_req))) {
		struct {
			struct ethtool_sfeatures s;
			struct ethtool_set_features_block b[NIC_FEAT_BLOCKS];
		} f = {.s = {.cmd = ETHTOOL_SFEATURES, .size = n->nfeat}};

		for (uint32_t i = 0; i < n->nfeat; i++) {
			f.b[i].valid = n->feat_avail[i];
			f.b[i].requested = n->feat_req[i];
		}
		r = nb_eth_ioctl(name, &f);
		first =
		    r < 0 ? r : first; /* > 0: some bits could not be set as asked; checked by the tests */
	}
#define SET(has, field, cmd_set)                                                                             \
	if (n->has && now.has && memcmp(&now.field, &n->field, sizeof(n->field))) {                          \
		typeof(now.field) v = n->field;                                                              \
		v.cmd = cmd_set;                                                                             \
		r = nb_eth_ioctl(name, &v);                                                                  \
		first = first ? first : r;                                                                   \
	}
	SET(has_channels, ch, ETHTOOL_SCHANNELS)
	SET(has_rings, ring, ETHTOOL_SRINGPARAM)
	SET(has_coal, coal, ETHTOOL_SCOALESCE)
#undef SET
	return first;
}

/* ---- links and addresses ---- */

struct addr_walk {
	int ifindex;
	struct nic_state *n;
};

static void addr_one(struct nl_object *obj, void *arg)
{
	struct addr_walk *w = arg;
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	struct nic_addr *o;

	if (rtnl_addr_get_ifindex(a) != w->ifindex || w->n->naddrs >= NIC_MAX_ADDRS)
		return;
	o = &w->n->addrs[w->n->naddrs++];
	memset(o, 0, sizeof(*o));
	o->family = rtnl_addr_get_family(a);
	if (rtnl_addr_get_local(a))
		nl_addr2str(rtnl_addr_get_local(a), o->local, sizeof(o->local));
	if (rtnl_addr_get_peer(a))
		nl_addr2str(rtnl_addr_get_peer(a), o->peer, sizeof(o->peer));
	if (rtnl_addr_get_broadcast(a))
		nl_addr2str(rtnl_addr_get_broadcast(a), o->bcast, sizeof(o->bcast));
	o->scope = rtnl_addr_get_scope(a);
	o->flags = (unsigned)rtnl_addr_get_flags(a);
	if (rtnl_addr_get_label(a))
		snprintf(o->label, sizeof(o->label), "%s", rtnl_addr_get_label(a));
}

static int addrs_save(struct nl_sock *sk, struct nic_state *n)
{
	struct nl_cache *cache;
	struct addr_walk w = {.ifindex = n->ifindex, .n = n};
	int r = nb_nl_err(rtnl_addr_alloc_cache(sk, &cache));

	if (r)
		return r;
	n->naddrs = 0;
	nl_cache_foreach(cache, addr_one, &w);
	nl_cache_free(cache);
	return 0;
}

int nb_addr_put(struct nl_sock *sk, int ifindex, const struct nic_addr *o)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *x = NULL;
	int r = a ? 0 : -ENOMEM;

	if (r)
		return r;
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_family(a, o->family);
	if (!(r = nb_nl_err(nl_addr_parse(o->local, o->family, &x)))) {
		r = nb_nl_err(rtnl_addr_set_local(a, x));
		nl_addr_put(x);
	}
	if (!r && *o->peer && !(r = nb_nl_err(nl_addr_parse(o->peer, o->family, &x)))) {
		r = nb_nl_err(rtnl_addr_set_peer(a, x));
		nl_addr_put(x);
	}
	if (!r && *o->bcast && !(r = nb_nl_err(nl_addr_parse(o->bcast, o->family, &x)))) {
		r = nb_nl_err(rtnl_addr_set_broadcast(a, x));
		nl_addr_put(x);
	}
	rtnl_addr_set_scope(a, o->scope);
	rtnl_addr_set_flags(a, o->flags);
	if (*o->label)
		rtnl_addr_set_label(a, o->label);
	if (!r)
		r = nb_nl_err(rtnl_addr_add(sk, a, 0));
	rtnl_addr_put(a);
	return r == -EEXIST ? 0 : r;
}

/* The programs of n's eBPF filters kept through the run (nb_tc_keep), or why not in err. */
static int keep(const struct nic_state *n, char *err, size_t errlen)
{
	uint32_t id = 0;
	int r = nb_tc_keep(n->name, n->filters, n->nfilters, &id);

	if (r == -ENOMEDIUM)
		nb_err(err, errlen,
		       "recording %s: the program of its eBPF tc filter (id %u) is kept in a bpf filesystem "
		       "while the port is away, and /sys/fs/bpf is none (mount -t bpf bpf /sys/fs/bpf)",
		       n->name, id);
	else if (r)
		nb_err(err, errlen, "recording %s: keeping the program of its eBPF tc filter (id %u): %s",
		       n->name, id, strerror(-r));
	if (r)
		nb_nic_forget(n);
	return r;
}

int nb_nic_save(struct nl_sock *sk, const char *name, struct nic_state *n, char *err, size_t errlen)
{
	struct rtnl_link *l;
	int r = nb_nic_link_get(sk, name, 0, &l);

	if (r) {
		nb_err(err, errlen, "interface %s: %s", name, strerror(-r));
		return r;
	}
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->ifindex = rtnl_link_get_ifindex(l);
	n->up = rtnl_link_get_flags(l) & IFF_UP;
	n->mtu = rtnl_link_get_mtu(l);
	if (rtnl_link_get_master(l) > 0 && !if_indextoname((unsigned)rtnl_link_get_master(l), n->master))
		n->master[0] = '\0';
	rtnl_link_put(l);
	r = addrs_save(sk, n);
	if (!r)
		r = nb_tc_save(sk, n->ifindex, n->tc, &n->ntc);
	if (!r)
		r = nb_tc_filters_save(sk, n->ifindex, n->tc, n->ntc, n->filters, &n->nfilters);
	if (r == -E2BIG)
		nb_err(err, errlen,
		       "recording %s: more qdiscs, classes or tc filters (or larger ones) than nbench can "
		       "record "
		       "and put back (%d, %d, %d bytes of options each)",
		       name, NIC_MAX_TC, NIC_MAX_FILTERS, NIC_TC_OPTS_MAX);
	else if (r)
		nb_err(err, errlen, "recording %s: %s", name, strerror(-r));
	if (r)
		return r;
	nb_eth_save(name, n);
	return keep(n, err, errlen);
}

static cJSON *words_json(const void *v, size_t size)
{
	const uint32_t *w = v;
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < size / 4; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(w[i]));
	return a;
}

static bool words_read(const cJSON *a, void *v, size_t size)
{
	uint32_t *w = v;
	size_t i = 0;
	const cJSON *x;

	if (!cJSON_IsArray(a) || (size_t)cJSON_GetArraySize(a) != size / 4)
		return false;
	cJSON_ArrayForEach(x, a) w[i++] = cJSON_IsNumber(x) ? (uint32_t)x->valuedouble : 0;
	return true;
}

static cJSON *hex_json(const uint8_t *b, size_t n)
{
	char *s = malloc(2 * n + 1);
	cJSON *o;

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", b[i]);
	s[2 * n] = '\0';
	o = cJSON_CreateString(s);
	free(s);
	return o;
}

static uint32_t hex_read(const char *s, uint8_t *b, size_t max)
{
	size_t n = s ? strlen(s) / 2 : 0;

	if (n > max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned x;

		if (sscanf(s + 2 * i, "%2x", &x) != 1)
			return 0;
		b[i] = (uint8_t)x;
	}
	return (uint32_t)n;
}

static cJSON *addrs_json(const struct nic_state *n)
{
	cJSON *a = cJSON_CreateArray(), *e;

	for (size_t i = 0; a && i < n->naddrs; i++) {
		const struct nic_addr *x = &n->addrs[i];

		e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "family", x->family);
		cJSON_AddStringToObject(e, "local", x->local);
		cJSON_AddStringToObject(e, "peer", x->peer);
		cJSON_AddStringToObject(e, "broadcast", x->bcast);
		cJSON_AddNumberToObject(e, "scope", x->scope);
		cJSON_AddNumberToObject(e, "flags", x->flags);
		cJSON_AddStringToObject(e, "label", x->label);
		cJSON_AddItemToArray(a, e);
	}
	return a;
}

/* qdiscs and classes, or filters (with their priority, protocol and chain) */
static cJSON *tc_json(const struct nic_tc *t, size_t n, bool filters)
{
	cJSON *a = cJSON_CreateArray(), *e;

	for (size_t i = 0; a && i < n; i++) {
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "type", filters ? "filter" : t[i].is_class ? "class" : "qdisc");
		cJSON_AddNumberToObject(e, "handle", t[i].handle);
		cJSON_AddNumberToObject(e, "parent", t[i].parent);
		if (filters) {
			cJSON_AddNumberToObject(e, "info", t[i].info);
			cJSON_AddNumberToObject(e, "chain", t[i].chain);
		}
		cJSON_AddStringToObject(e, "kind", t[i].kind);
		cJSON_AddItemToObject(e, "options", hex_json(t[i].opts, t[i].optlen));
		cJSON_AddItemToArray(a, e);
	}
	return a;
}

/* each with its family, table and destination for people; "netlink" is what is put back */
static cJSON *routes_json(const struct nic_state *n)
{
	cJSON *a = cJSON_CreateArray(), *e;

	for (size_t i = 0; a && i < n->nroutes; i++) {
		const struct nic_route *x = &n->routes[i];

		e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "family", x->family);
		cJSON_AddNumberToObject(e, "table", x->table);
		cJSON_AddStringToObject(e, "dst", x->dst);
		cJSON_AddItemToObject(e, "netlink", hex_json(x->msg, x->len));
		cJSON_AddItemToArray(a, e);
	}
	return a;
}

cJSON *nb_nic_json(const struct nic_state *n)
{
	cJSON *o = cJSON_CreateObject(), *e;

	cJSON_AddStringToObject(o, "name", n->name);
	cJSON_AddNumberToObject(o, "ifindex", n->ifindex);
	cJSON_AddBoolToObject(o, "up", n->up);
	cJSON_AddNumberToObject(o, "mtu", n->mtu);
	cJSON_AddStringToObject(o, "master", n->master);
	cJSON_AddItemToObject(o, "addresses", addrs_json(n));
	if (n->has_features) {
		e = cJSON_AddObjectToObject(o, "features");
		cJSON_AddItemToObject(e, "changeable", words_json(n->feat_avail, n->nfeat * 4));
		cJSON_AddItemToObject(e, "requested", words_json(n->feat_req, n->nfeat * 4));
	}
	/* absent: the driver would not say */
	if (n->has_channels)
		cJSON_AddItemToObject(o, "channels", words_json(&n->ch, sizeof(n->ch)));
	if (n->has_rings)
		cJSON_AddItemToObject(o, "rings", words_json(&n->ring, sizeof(n->ring)));
	if (n->has_coal)
		cJSON_AddItemToObject(o, "coalescing", words_json(&n->coal, sizeof(n->coal)));
	cJSON_AddItemToObject(o, "tc", tc_json(n->tc, n->ntc, false));
	cJSON_AddItemToObject(o, "filters", tc_json(n->filters, n->nfilters, true));
	cJSON_AddItemToObject(o, "routes", routes_json(n));
	return o;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void str(const cJSON *o, const char *k, char *buf, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	snprintf(buf, len, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static void addrs_read(const cJSON *a, struct nic_state *n)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, a)
	{
		struct nic_addr *x;

		if (n->naddrs >= NIC_MAX_ADDRS)
			break;
		x = &n->addrs[n->naddrs++];
		x->family = (int)num(e, "family");
		str(e, "local", x->local, sizeof(x->local));
		str(e, "peer", x->peer, sizeof(x->peer));
		str(e, "broadcast", x->bcast, sizeof(x->bcast));
		x->scope = (int)num(e, "scope");
		x->flags = (unsigned)num(e, "flags");
		str(e, "label", x->label, sizeof(x->label));
	}
}

/* Into t (max entries); the number read. */
static size_t tc_read(const cJSON *a, struct nic_tc *t, size_t max)
{
	const cJSON *e;
	size_t n = 0;

	cJSON_ArrayForEach(e, a)
	{
		char type[8], hex[2 * NIC_TC_OPTS_MAX + 1];

		if (n >= max)
			break;
		str(e, "type", type, sizeof(type));
		t[n].is_class = !strcmp(type, "class");
		t[n].handle = (uint32_t)num(e, "handle");
		t[n].parent = (uint32_t)num(e, "parent");
		t[n].info = (uint32_t)num(e, "info");
		t[n].chain = (uint32_t)num(e, "chain");
		str(e, "kind", t[n].kind, sizeof(t[n].kind));
		str(e, "options", hex, sizeof(hex));
		t[n].optlen = hex_read(hex, t[n].opts, sizeof(t[n].opts));
		n++;
	}
	return n;
}

static void routes_read(const cJSON *a, struct nic_state *n)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, a)
	{
		struct nic_route *x;
		char hex[2 * NIC_ROUTE_MAX + 1];

		if (n->nroutes >= NIC_MAX_ROUTES)
			break;
		x = &n->routes[n->nroutes++];
		x->family = (int)num(e, "family");
		x->table = (uint32_t)num(e, "table");
		str(e, "dst", x->dst, sizeof(x->dst));
		str(e, "netlink", hex, sizeof(hex));
		x->len = hex_read(hex, x->msg, sizeof(x->msg));
	}
}

void nb_nic_read(const cJSON *o, struct nic_state *n)
{
	const cJSON *a;

	memset(n, 0, sizeof(*n));
	str(o, "name", n->name, sizeof(n->name));
	n->ifindex = (int)num(o, "ifindex");
	n->up = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "up"));
	n->mtu = (uint32_t)num(o, "mtu");
	str(o, "master", n->master, sizeof(n->master));
	addrs_read(cJSON_GetObjectItemCaseSensitive(o, "addresses"), n);
	a = cJSON_GetObjectItemCaseSensitive(o, "features");
	if (a) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(a, "changeable");
		int nb = cJSON_GetArraySize(c);

		n->nfeat = nb > 0 && nb <= NIC_FEAT_BLOCKS ? (uint32_t)nb : 0;
		n->has_features =
		    n->nfeat && words_read(c, n->feat_avail, n->nfeat * 4) &&
		    words_read(cJSON_GetObjectItemCaseSensitive(a, "requested"), n->feat_req, n->nfeat * 4);
	}
	n->has_channels = words_read(cJSON_GetObjectItemCaseSensitive(o, "channels"), &n->ch, sizeof(n->ch));
	n->has_rings = words_read(cJSON_GetObjectItemCaseSensitive(o, "rings"), &n->ring, sizeof(n->ring));
	n->has_coal =
	    words_read(cJSON_GetObjectItemCaseSensitive(o, "coalescing"), &n->coal, sizeof(n->coal));
	n->ntc = tc_read(cJSON_GetObjectItemCaseSensitive(o, "tc"), n->tc, NIC_MAX_TC);
	n->nfilters = tc_read(cJSON_GetObjectItemCaseSensitive(o, "filters"), n->filters, NIC_MAX_FILTERS);
	routes_read(cJSON_GetObjectItemCaseSensitive(o, "routes"), n);
}

int nb_nic_restore(struct nl_sock *sk, struct rtnl_link *l, const struct nic_state *n)
{
	struct rtnl_link *change = rtnl_link_alloc();
	int first, r;

	if (!change)
		return -ENOMEM;
	if (rtnl_link_get_mtu(l) != n->mtu)
		rtnl_link_set_mtu(change, n->mtu);
	first = nb_eth_restore(n->name, n);
	/* a port taken from its bridge or bond with --force goes back to it (moving it to a namespace and
	 * back released it); a master that is gone meanwhile is an error, not a reason to stop */
	int master = n->master[0] ? (int)if_nametoindex(n->master) : 0;
	if (n->master[0] && !master)
		first = first ? first : -ENODEV;
	else if (master != rtnl_link_get_master(l))
		rtnl_link_set_master(change, master);
	if (n->up)
		rtnl_link_set_flags(change, IFF_UP);
	else
		rtnl_link_unset_flags(change, IFF_UP);
	r = nb_nl_err(rtnl_link_change(sk, l, change, 0));
	first = first ? first : r;
	for (size_t j = 0; j < n->naddrs; j++) {
		r = nb_addr_put(sk, rtnl_link_get_ifindex(l), &n->addrs[j]);
		first = first ? first : r;
	}
	r = nb_tc_restore(sk, rtnl_link_get_ifindex(l), n->tc, n->ntc);
	if (!r)
		r = nb_tc_filters_restore(sk, rtnl_link_get_ifindex(l), n->name, n->filters, n->nfilters);
	rtnl_link_put(change);
	return first ? first : r;
}

void nb_nic_forget(const struct nic_state *n)
{
	nb_tc_forget(n->name, n->filters, n->nfilters);
}
