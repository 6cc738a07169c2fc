/* SPDX-License-Identifier: MIT */
/*
 * What a path is made of, as measured rather than as planned: every interface of every namespace with
 * the settings that change datapath cost (MTU, segmentation offloads, qdisc), conntrack, and the nft
 * ruleset in force. Reports carry this so two runs can be compared knowing what differed.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>
#include <nftables/libnftables.h>

#include "topo_int.h"
#include "vm/vm.h"

/* ETHTOOL_G* value, or -1 when the driver does not say. */
static int ethtool_get(int fd, const char *ifname, uint32_t cmd)
{
	struct ethtool_value ev = {.cmd = cmd};
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ev;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		return -1;
	return ev.data ? 1 : 0;
}

static void add_tristate(cJSON *o, const char *key, int v)
{
	if (v < 0)
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddBoolToObject(o, key, v);
}

static long read_long(const char *path)
{
	char buf[32];
	long v = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		v = strtol(buf, NULL, 10);
	}
	close(fd);
	return v;
}

static char *nft_ruleset(void)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	char *text = NULL;

	if (!ctx)
		return NULL;
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	if (!nft_run_cmd_from_buffer(ctx, "list ruleset")) {
		const char *out = nft_ctx_get_output_buffer(ctx);
		text = strdup(out ? out : "");
	}
	nft_ctx_free(ctx);
	return text;
}

static void describe_links(cJSON *arr, struct nl_sock *sk, int ethfd, const char *ns)
{
	struct nl_cache *links = NULL, *qdiscs = NULL;
	struct nl_object *obj;

	if (rtnl_link_alloc_cache(sk, AF_UNSPEC, &links) < 0)
		return;
	if (rtnl_qdisc_alloc_cache(sk, &qdiscs) < 0)
		qdiscs = NULL;
	for (obj = nl_cache_get_first(links); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_link *l = (struct rtnl_link *)obj;
		const char *name = rtnl_link_get_name(l), *type = rtnl_link_get_type(l);
		struct rtnl_qdisc *q = NULL;
		cJSON *o = cJSON_CreateObject();
		int master = rtnl_link_get_master(l);

		if (!o)
			break;
		cJSON_AddStringToObject(o, "name", name);
		cJSON_AddStringToObject(o, "netns", ns);
		cJSON_AddStringToObject(o, "kind",
					type ? type : (!strcmp(name, "lo") ? "loopback" : "unknown"));
		cJSON_AddNumberToObject(o, "mtu", rtnl_link_get_mtu(l));
		cJSON_AddBoolToObject(o, "up", !!(rtnl_link_get_flags(l) & IFF_UP));
		if (master > 0) {
			char mname[IFNAMSIZ];

			if (rtnl_link_i2name(links, master, mname, sizeof(mname)))
				cJSON_AddStringToObject(o, "master", mname);
		}
		add_tristate(o, "tso", ethtool_get(ethfd, name, ETHTOOL_GTSO));
		add_tristate(o, "gso", ethtool_get(ethfd, name, ETHTOOL_GGSO));
		add_tristate(o, "gro", ethtool_get(ethfd, name, ETHTOOL_GGRO));
		if (qdiscs)
			q = rtnl_qdisc_get_by_parent(qdiscs, rtnl_link_get_ifindex(l), TC_H_ROOT);
		/* no root qdisc object: the device transmits without one (noqueue), as veth and bridge do */
		cJSON_AddStringToObject(o, "qdisc", q ? rtnl_tc_get_kind(TC_CAST(q)) : "noqueue");
		/* a shaped interface says to what (--wire-rate's tbf): the link speed alone would mislead */
		if (q && !strcmp(rtnl_tc_get_kind(TC_CAST(q)), "tbf") && rtnl_qdisc_tbf_get_rate(q) > 0)
			cJSON_AddNumberToObject(o, "rate_bps", 8.0 * rtnl_qdisc_tbf_get_rate(q));
		if (q)
			rtnl_qdisc_put(q);
		cJSON_AddItemToArray(arr, o);
	}
	if (qdiscs)
		nl_cache_free(qdiscs);
	nl_cache_free(links);
}

static cJSON *describe_ns(const char *ns, cJSON *ifaces)
{
	cJSON *o = cJSON_CreateObject(), *ct;
	struct nl_sock *sk = NULL;
	int orig, ethfd = -1;
	char *rules;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", ns);
	if (nb_ns_enter(ns, &orig)) {
		cJSON_AddBoolToObject(o, "exists", false);
		return o;
	}
	cJSON_AddBoolToObject(o, "exists", true);
	sk = nl_socket_alloc();
	if (sk && nl_connect(sk, NETLINK_ROUTE) < 0) {
		nl_socket_free(sk);
		sk = NULL;
	}
	ethfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sk)
		describe_links(ifaces, sk, ethfd, ns);
	cJSON_AddNumberToObject(o, "ip_forward", (double)read_long("/proc/sys/net/ipv4/ip_forward"));
	rules = nft_ruleset();
	ct = cJSON_AddObjectToObject(o, "conntrack");
	if (ct) {
		long count = read_long("/proc/sys/net/netfilter/nf_conntrack_count");

		/* conntrack runs in a namespace once a ruleset there uses it (nat chains or ct expressions)
		 */
		cJSON_AddBoolToObject(ct, "on",
				      rules && (strstr(rules, "type nat") || strstr(rules, " ct ")));
		cJSON_AddBoolToObject(ct, "nat", rules && strstr(rules, "type nat"));
		if (count >= 0)
			cJSON_AddNumberToObject(ct, "count", (double)count);
		else
			cJSON_AddNullToObject(ct, "count");
	}
	cJSON_AddStringToObject(o, "nft_ruleset", rules ? rules : "");
	free(rules);
	if (ethfd >= 0)
		close(ethfd);
	if (sk)
		nl_socket_free(sk);
	nb_ns_leave(orig);
	return o;
}

char *nb_describe(const struct nb_plan *p)
{
	cJSON *o = cJSON_CreateObject(), *arr, *ifaces, *e;
	char *text;

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "schema_version", 1);
	cJSON_AddStringToObject(o, "name", p->name);
	cJSON_AddStringToObject(o, "kind", p->kind);
	nb_ends_json(p, o);
	e = cJSON_GetObjectItemCaseSensitive(o, "server");
	if (e && *p->cgroup)
		cJSON_AddStringToObject(e, "cgroup", p->cgroup);
	arr = cJSON_AddArrayToObject(o, "netns");
	ifaces = cJSON_AddArrayToObject(o, "interfaces");
	for (size_t i = 0; arr && ifaces && i < p->nns; i++) {
		cJSON *ns = describe_ns(p->ns[i], ifaces);

		if (ns)
			cJSON_AddItemToArray(arr, ns);
	}
	nb_vm_describe(p, o);
	nb_docker_describe(p, o);
	text = cJSON_Print(o);
	cJSON_Delete(o);
	return text;
}

static unsigned add_ref(struct nb_nic_ref *out, unsigned n, unsigned max, const char *ns, const char *ifname)
{
	if (n >= max || !ifname[0])
		return n;
	snprintf(out[n].netns, sizeof(out[n].netns), "%s", ns);
	snprintf(out[n].ifname, sizeof(out[n].ifname), "%s", ifname);
	return n + 1;
}

unsigned nb_topo_interfaces(const struct nb_topo *t, struct nb_nic_ref *out, unsigned max)
{
	const struct nb_plan *p = &t->plan;
	unsigned n = 0;

	for (size_t i = 0; i < p->nsteps; i++) {
		const struct nb_step *s = &p->steps[i];
		switch (s->kind) {
		case NB_STEP_VETH:
			n = add_ref(out, n, max, s->ns, s->ifname);
			n = add_ref(out, n, max, s->peer_ns, s->peer);
			break;
		case NB_STEP_BRIDGE:
		case NB_STEP_TAP:
		case NB_STEP_NIC: /* --wire: this host's port, under its name in the path */
		case NB_STEP_VXLAN:
		case NB_STEP_MACVLAN:
		case NB_STEP_DOCKER_NET: /* the engine's bridge */
			n = add_ref(out, n, max, s->ns, s->ifname);
			break;
		case NB_STEP_DOCKER_CTR: { /* the default bridge it is on, its veth's two ends */
			char peer[IFNAMSIZ];

			if (!strcmp(s->dk.network, "bridge") && if_nametoindex("docker0"))
				n = add_ref(out, n, max, "", "docker0");
			if (*s->ns && !nb_docker_veth_peer(s->ns, peer, sizeof(peer)))
				n = add_ref(out, n, max, "", peer);
			if (*s->ns)
				n = add_ref(out, n, max, s->ns, "eth0");
			break;
		}
		default:
			break;
		}
	}
	return n;
}
