/* SPDX-License-Identifier: MIT */
/*
 * One step applied, one step undone. Links, addresses and routes go through a libnl route socket opened
 * inside the step's namespace (a netlink socket stays in the namespace it was created in, so the calling
 * thread only visits the namespace to open it); sysctls and nft rulesets are done while the calling
 * thread visits the namespace, because /proc/sys/net and libnftables follow the thread's namespace.
 * The steps of a VM path's server end (its tap, its vhost-user backend, its guest) are topo/vm/'s, through
 * vm/vm.h; --wire's (NB_STEP_NIC, NB_STEP_QDISC) are wire.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <nftables/libnftables.h>

#include "topo_int.h"
#include "vm/vm.h"

struct nb_apply {
	const struct nb_plan *plan;
	const struct nb_launch *launch;
	struct nb_vm_steps *vm; /* what NB_STEP_VHOST_USER hands on to NB_STEP_GUEST (topo/vm/) */
	struct {
		char ns[NB_NS_NAME_MAX];
		struct nl_sock *sk;
	} socks[NB_TOPO_MAX_NS + 1];
};

int nb_apply_open(const struct nb_plan *p, const struct nb_launch *l, struct nb_apply **ret)
{
	*ret = calloc(1, sizeof(**ret));
	if (!*ret)
		return -ENOMEM;
	(*ret)->plan = p;
	(*ret)->launch = l;
	return 0;
}

static void drop_sock(struct nb_apply *a, const char *ns)
{
	for (size_t i = 0; i < sizeof(a->socks) / sizeof(a->socks[0]); i++) {
		if (a->socks[i].sk && !strcmp(a->socks[i].ns, ns)) {
			nl_socket_free(a->socks[i].sk);
			a->socks[i].sk = NULL;
		}
	}
}

void nb_apply_close(struct nb_apply *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < sizeof(a->socks) / sizeof(a->socks[0]); i++)
		if (a->socks[i].sk)
			nl_socket_free(a->socks[i].sk);
	nb_vm_steps_free(a->vm);
	free(a);
}

static int get_sock(struct nb_apply *a, const char *ns, struct nl_sock **ret)
{
	size_t free_slot = SIZE_MAX;
	struct nl_sock *sk;
	int orig, r;

	for (size_t i = 0; i < sizeof(a->socks) / sizeof(a->socks[0]); i++) {
		if (a->socks[i].sk && !strcmp(a->socks[i].ns, ns)) {
			*ret = a->socks[i].sk;
			return 0;
		}
		if (!a->socks[i].sk && free_slot == SIZE_MAX)
			free_slot = i;
	}
	if (free_slot == SIZE_MAX)
		return -ENOSPC;
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	r = nb_ns_enter(ns, &orig);
	if (r) {
		nl_socket_free(sk);
		return r;
	}
	r = nb_nl_err(nl_connect(sk, NETLINK_ROUTE));
	nb_ns_leave(orig);
	if (r) {
		nl_socket_free(sk);
		return r;
	}
	snprintf(a->socks[free_slot].ns, sizeof(a->socks[free_slot].ns), "%s", ns);
	a->socks[free_slot].sk = sk;
	*ret = sk;
	return 0;
}

static int link_get(struct nl_sock *sk, const char *ifname, struct rtnl_link **ret)
{
	return nb_nl_err(rtnl_link_get_kernel(sk, 0, ifname, ret));
}

static int link_add(struct nl_sock *sk, const struct nb_step *s)
{
	struct rtnl_link *link;
	int r, fd = -1;

	if (s->kind == NB_STEP_VETH) {
		struct rtnl_link *peer;

		fd = nb_ns_open(s->peer_ns);
		if (fd < 0)
			return fd;
		link = rtnl_link_veth_alloc();
		if (!link) {
			close(fd);
			return -ENOMEM;
		}
		peer = rtnl_link_veth_get_peer(link);
		rtnl_link_set_name(peer, s->peer);
		rtnl_link_set_ns_fd(peer, fd);
		if (s->mtu)
			rtnl_link_set_mtu(peer, s->mtu);
		rtnl_link_put(peer);
	} else {
		link = rtnl_link_alloc();
		if (!link)
			return -ENOMEM;
		r = nb_nl_err(rtnl_link_set_type(link, "bridge"));
		if (r) {
			rtnl_link_put(link);
			return r;
		}
	}
	rtnl_link_set_name(link, s->ifname);
	if (s->mtu)
		rtnl_link_set_mtu(link, s->mtu);
	r = nb_nl_err(rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL));
	if (s->kind == NB_STEP_VETH)
		rtnl_link_veth_release(link);
	else
		rtnl_link_put(link);
	if (fd >= 0)
		close(fd);
	return r;
}

static int link_del(struct nl_sock *sk, const char *ifname)
{
	struct rtnl_link *link = rtnl_link_alloc();
	int r;

	if (!link)
		return -ENOMEM;
	rtnl_link_set_name(link, ifname);
	r = nb_nl_err(rtnl_link_delete(sk, link));
	rtnl_link_put(link);
	return r;
}

/* Sets (master >= 0: master ifindex; up: IFF_UP) on ifname. */
static int link_change(struct nl_sock *sk, const char *ifname, const char *master, int up)
{
	struct rtnl_link *orig = NULL, *change = NULL, *m = NULL;
	int r;

	r = link_get(sk, ifname, &orig);
	if (r)
		return r;
	change = rtnl_link_alloc();
	if (!change) {
		r = -ENOMEM;
		goto out;
	}
	if (master) {
		if (*master) {
			r = link_get(sk, master, &m);
			if (r)
				goto out;
			rtnl_link_set_master(change, rtnl_link_get_ifindex(m));
		} else {
			rtnl_link_set_master(change, 0);
		}
	}
	if (up > 0)
		rtnl_link_set_flags(change, IFF_UP);
	else if (up == 0)
		rtnl_link_unset_flags(change, IFF_UP);
	r = nb_nl_err(rtnl_link_change(sk, orig, change, 0));
out:
	if (m)
		rtnl_link_put(m);
	if (change)
		rtnl_link_put(change);
	rtnl_link_put(orig);
	return r;
}

static int addr_op(struct nl_sock *sk, const struct nb_step *s, int ifindex, bool add)
{
	struct rtnl_addr *a = NULL;
	struct nl_addr *local = NULL;
	int r;

	r = nb_nl_err(nl_addr_parse(s->addr, AF_INET, &local));
	if (r)
		goto out;
	a = rtnl_addr_alloc();
	if (!a) {
		r = -ENOMEM;
		goto out;
	}
	rtnl_addr_set_ifindex(a, ifindex);
	r = nb_nl_err(rtnl_addr_set_local(a, local));
	if (r)
		goto out;
	r = nb_nl_err(add ? rtnl_addr_add(sk, a, NLM_F_EXCL) : rtnl_addr_delete(sk, a, 0));
out:
	if (a)
		rtnl_addr_put(a);
	if (local)
		nl_addr_put(local);
	return r;
}

/* The route `ip route add DST via GW dev DEV proto 78` makes: main table, nbench's protocol number, scope
 * universe; without GW, `ip route add DST dev DEV proto 78 scope link` (on the link). */
static int route_op(struct nl_sock *sk, const struct nb_step *s, int ifindex, bool add)
{
	struct rtnl_route *rt = NULL;
	struct rtnl_nexthop *nh = NULL;
	struct nl_addr *dst = NULL, *gw = NULL;
	int r;

	r = nb_nl_err(nl_addr_parse(s->addr, AF_INET, &dst));
	if (!r && *s->via)
		r = nb_nl_err(nl_addr_parse(s->via, AF_INET, &gw));
	if (r)
		goto out;
	rt = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	if (!rt || !nh) {
		r = -ENOMEM;
		goto out;
	}
	rtnl_route_set_family(rt, AF_INET);
	r = nb_nl_err(rtnl_route_set_dst(rt, dst));
	if (r)
		goto out;
	rtnl_route_set_table(rt, RT_TABLE_MAIN);
	rtnl_route_set_protocol(rt, NB_RTPROT);
	rtnl_route_set_scope(rt, gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
	rtnl_route_set_type(rt, RTN_UNICAST);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	if (gw)
		rtnl_route_nh_set_gateway(nh, gw);
	rtnl_route_add_nexthop(rt, nh);
	nh = NULL; /* owned by rt now */
	r = nb_nl_err(add ? rtnl_route_add(sk, rt, NLM_F_EXCL) : rtnl_route_delete(sk, rt, 0));
out:
	if (nh)
		rtnl_route_nh_free(nh);
	if (rt)
		rtnl_route_put(rt);
	if (dst)
		nl_addr_put(dst);
	if (gw)
		nl_addr_put(gw);
	return r;
}

/* The ifindex of ifname, for the steps that name a link. */
static int link_index(struct nl_sock *sk, const char *ifname, int *ret)
{
	struct rtnl_link *link;
	int r = link_get(sk, ifname, &link);

	if (r)
		return r;
	*ret = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	return 0;
}

/* The steps made through rtnetlink in the step's namespace: made (apply) or removed (undo). */
static int nl_step(struct nb_apply *a, const struct nb_step *s, bool apply)
{
	struct nl_sock *sk;
	/* a macvlan is made in its parent's namespace (and born in its own) */
	int ifindex, r = get_sock(a, s->kind == NB_STEP_MACVLAN && apply ? s->peer_ns : s->ns, &sk);

	if (r)
		return r;
	switch (s->kind) {
	case NB_STEP_VETH:
	case NB_STEP_BRIDGE:
		return apply ? link_add(sk, s) : link_del(sk, s->ifname);
	case NB_STEP_TAP: /* made through /dev/net/tun (nb_vm_tap_add) */
		return apply ? -EINVAL : link_del(sk, s->ifname);
	case NB_STEP_MASTER:
		return link_change(sk, s->ifname, apply ? s->master : "", -1);
	case NB_STEP_UP:
		return link_change(sk, s->ifname, NULL, apply);
	case NB_STEP_NIC:
		return nb_nic_step(sk, s, apply);
	case NB_STEP_QDISC:
		return nb_qdisc_step(sk, s, apply);
	case NB_STEP_VXLAN:
	case NB_STEP_MACVLAN:
		return nb_overlay_step(sk, s, apply);
	case NB_STEP_ADDR:
	case NB_STEP_ROUTE:
		r = link_index(sk, s->ifname, &ifindex);
		if (r)
			return r;
		return s->kind == NB_STEP_ADDR ? addr_op(sk, s, ifindex, apply)
					       : route_op(sk, s, ifindex, apply);
	default:
		return -EINVAL;
	}
}

static void sysctl_path(char *buf, size_t len, const char *key)
{
	snprintf(buf, len, "/proc/sys/%s", key);
	for (char *c = buf + strlen("/proc/sys/"); *c; c++)
		if (*c == '.')
			*c = '/';
}

/* In the namespace: reads the old value into old (if not NULL), then writes val. */
static int sysctl_set(const char *ns, const char *key, const char *val, char *old, size_t oldlen)
{
	char path[128];
	int orig, fd, r = 0;
	ssize_t n;

	sysctl_path(path, sizeof(path), key);
	r = nb_ns_enter(ns, &orig);
	if (r)
		return r;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if (old) {
		n = pread(fd, old, oldlen - 1, 0);
		if (n < 0) {
			r = -errno;
			close(fd);
			goto out;
		}
		old[n] = '\0';
		old[strcspn(old, "\n")] = '\0';
	}
	if (write(fd, val, strlen(val)) < 0)
		r = -errno;
	close(fd);
out:
	nb_ns_leave(orig);
	return r;
}

/* Runs nft commands in the namespace; the first line of nft's error text goes to err. */
static int nft_run(const char *ns, const char *cmds, char *err, size_t errlen)
{
	struct nft_ctx *ctx;
	int orig, r;

	r = nb_ns_enter(ns, &orig);
	if (r)
		return r;
	/* Created inside the namespace: libnftables opens its netlink socket where the context is made. */
	ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx) {
		nb_ns_leave(orig);
		return -ENOMEM;
	}
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	r = nft_run_cmd_from_buffer(ctx, cmds) ? -EINVAL : 0;
	if (r && err && errlen) {
		const char *e = nft_ctx_get_error_buffer(ctx);

		snprintf(err, errlen, "%.*s", (int)strcspn(e ? e : "", "\n"), e ? e : "");
		/* nft reports a missing kernel feature as a netlink error text; keep the errno meaning */
		if (e && strstr(e, "Operation not supported"))
			r = -EOPNOTSUPP;
		else if (e && strstr(e, "No such file or directory"))
			r = -ENOENT;
		else if (e && strstr(e, "Operation not permitted"))
			r = -EPERM;
	}
	nft_ctx_free(ctx);
	nb_ns_leave(orig);
	return r;
}

static int cgroup_kill_wait(const char *path)
{
	char file[300], buf[4096];
	struct timespec ts = {0, 10 * 1000 * 1000};
	int fd;

	snprintf(file, sizeof(file), "%s/cgroup.kill", path);
	fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0) {
			/* fall through to killing pid by pid */
		}
		close(fd);
	}
	snprintf(file, sizeof(file), "%s/cgroup.procs", path);
	for (int i = 0; i < 300; i++) {
		ssize_t n;
		char *p, *end;

		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return errno == ENOENT ? 0 : -errno;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return 0;
		buf[n] = '\0';
		for (p = buf; *p; p = end) {
			long pid = strtol(p, &end, 10);

			if (end == p)
				break;
			if (pid > 0)
				kill((pid_t)pid, SIGKILL);
		}
		nanosleep(&ts, NULL);
	}
	return -EBUSY;
}

int nb_cgroup_remove(const char *path)
{
	int r = cgroup_kill_wait(path);

	if (r)
		return r;
	/* rmdir can briefly see EBUSY while the last killed task is being released */
	for (int i = 0; i < 100; i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		if (!rmdir(path) || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		nanosleep(&ts, NULL);
	}
	return -EBUSY;
}

static const char *hint(const struct nb_step *s, int r)
{
	if (r == -EPERM || r == -EACCES)
		return " (needs root: CAP_NET_ADMIN and CAP_SYS_ADMIN)";
	if (r == -EOPNOTSUPP) {
		switch (s->kind) {
		case NB_STEP_BRIDGE:
			return " (kernel has no bridge support: CONFIG_BRIDGE)";
		case NB_STEP_VETH:
			return " (kernel has no veth support: CONFIG_VETH)";
		case NB_STEP_NFT:
			return " (kernel lacks nf_tables/NAT support: CONFIG_NF_TABLES, CONFIG_NFT_NAT)";
		case NB_STEP_NETNS:
			return " (kernel has no network namespaces: CONFIG_NET_NS)";
		case NB_STEP_QDISC:
			return " (kernel has no tbf: CONFIG_NET_SCH_TBF)";
		case NB_STEP_VXLAN:
			return " (kernel has no VXLAN: CONFIG_VXLAN)";
		case NB_STEP_MACVLAN:
			return " (kernel has no macvlan: CONFIG_MACVLAN)";
		default:
			break;
		}
	}
	if ((r == -ENOENT || r == -ENODEV) && s->kind == NB_STEP_TAP)
		return " (no /dev/net/tun: CONFIG_TUN)";
	if (r == -EINVAL && s->kind == NB_STEP_NETNS)
		return " (kernel has no network namespaces: CONFIG_NET_NS)";
	if (r == -EEXIST)
		return " (already exists: instance name in use?)";
	return "";
}

void nb_step_describe(const struct nb_step *s, char *buf, size_t len)
{
	switch (s->kind) {
	case NB_STEP_NETNS:
		snprintf(buf, len, "creating netns %s", s->ns);
		break;
	case NB_STEP_VETH:
		snprintf(buf, len, "creating veth %s (%s) <-> %s (%s)", s->ifname, s->ns, s->peer,
			 s->peer_ns);
		break;
	case NB_STEP_BRIDGE:
		snprintf(buf, len, "creating bridge %s in %s", s->ifname, s->ns);
		break;
	case NB_STEP_MASTER:
		snprintf(buf, len, "enslaving %s to %s in %s", s->ifname, s->master, s->ns);
		break;
	case NB_STEP_UP:
		snprintf(buf, len, "setting %s up in %s", s->ifname, s->ns);
		break;
	case NB_STEP_ADDR:
		snprintf(buf, len, "adding address %s to %s in %s", s->addr, s->ifname, s->ns);
		break;
	case NB_STEP_ROUTE:
		snprintf(buf, len, "adding route %s %s %s in %s", s->addr, *s->via ? "via" : "dev",
			 *s->via ? s->via : s->ifname, s->ns);
		break;
	case NB_STEP_SYSCTL:
		snprintf(buf, len, "setting %s=%s in %s", s->key, s->val, s->ns);
		break;
	case NB_STEP_NFT:
		snprintf(buf, len, "loading nft table %s in %s", s->table, s->ns);
		break;
	case NB_STEP_CGROUP:
		snprintf(buf, len, "creating cgroup %s", s->path);
		break;
	case NB_STEP_TAP:
		snprintf(buf, len, "creating tap %s in %s", s->ifname, s->ns);
		break;
	case NB_STEP_VHOST_USER:
		snprintf(buf, len, "starting the vhost-user backend in %s", s->ns);
		break;
	case NB_STEP_GUEST:
		snprintf(buf, len, "starting the guest in %s", s->ns);
		break;
	case NB_STEP_NIC:
		snprintf(buf, len, "moving %s into %s as %s", s->peer, s->ns, s->ifname);
		break;
	case NB_STEP_QDISC:
		snprintf(buf, len, "shaping %s in %s to %.0f bit/s (tbf)", s->ifname, s->ns, s->rate_bps);
		break;
	case NB_STEP_VXLAN:
		snprintf(buf, len, "creating vxlan %s (id %u, to %s) in %s", s->ifname, s->vni, s->addr,
			 s->ns);
		break;
	case NB_STEP_MACVLAN:
		snprintf(buf, len, "creating macvlan %s of %s in %s", s->ifname,
			 *s->peer ? s->peer : "the link to the client", s->ns);
		break;
	case NB_STEP_DOCKER_NET:
		snprintf(buf, len, "creating Docker network %s", s->dk.name);
		break;
	case NB_STEP_DOCKER_CTR:
		snprintf(buf, len, "starting Docker container %s", s->dk.name);
		break;
	}
}

int nb_step_error(const struct nb_step *s, int r, const char *detail, char *err, size_t errlen)
{
	char what[160];

	nb_step_describe(s, what, sizeof(what));
	nb_err(err, errlen, "%s: %s%s%s%s", what, strerror(-r), hint(s, r), detail && *detail ? ": " : "",
	       detail ? detail : "");
	return r;
}

/* The steps that start processes: their own code says what went wrong (err), in full. */
static int start_step(struct nb_apply *a, struct nb_step *s, char *err, size_t errlen)
{
	int r;

	if (!a->plan || !a->launch)
		return nb_step_error(s, -EINVAL, "no plan to start it from", err, errlen);
	r = nb_vm_step_apply(&a->vm, a->plan, a->launch, s->kind, err, errlen);
	s->done = !r;
	return r;
}

int nb_step_apply(struct nb_apply *a, struct nb_step *s, char *err, size_t errlen)
{
	char nfterr[256] = "";
	int r;

	switch (s->kind) {
	case NB_STEP_VHOST_USER:
	case NB_STEP_GUEST:
		return start_step(a, s, err, errlen);
	case NB_STEP_DOCKER_NET:
	case NB_STEP_DOCKER_CTR: /* its own code says what went wrong, with the engine's words */
		r = nb_docker_step(s, true, err, errlen);
		s->done = !r;
		return r;
	case NB_STEP_NETNS:
		r = nb_ns_create(s->ns);
		break;
	case NB_STEP_CGROUP:
		r = mkdir(s->path, 0755) ? -errno : 0;
		break;
	case NB_STEP_SYSCTL:
		r = sysctl_set(s->ns, s->key, s->val, s->old, sizeof(s->old));
		break;
	case NB_STEP_NFT:
		r = nft_run(s->ns, s->text, nfterr, sizeof(nfterr));
		break;
	case NB_STEP_TAP:
		r = nb_vm_tap_add(s->ns, s->ifname, s->tap_mq);
		break;
	default:
		r = nl_step(a, s, true);
	}
	if (r)
		return nb_step_error(s, r, nfterr, err, errlen);
	s->done = true;
	return 0;
}

static bool gone(int r)
{
	return r == -ENOENT || r == -ENODEV || r == -EADDRNOTAVAIL || r == -ESRCH;
}

int nb_step_undo(struct nb_apply *a, struct nb_step *s)
{
	char cmd[96];
	int r;

	switch (s->kind) {
	case NB_STEP_CGROUP:
		return nb_cgroup_remove(s->path);
	/* found by the instance's name (pidfiles, run directory), whether or not the state file names them */
	case NB_STEP_GUEST:
	case NB_STEP_VHOST_USER:
		nb_vm_step_undo(s->kind, s->name);
		s->done = false;
		return 0;
	case NB_STEP_NETNS:
		drop_sock(a, s->ns);
		return nb_ns_delete(s->ns);
	case NB_STEP_DOCKER_NET:
	case NB_STEP_DOCKER_CTR:
		if (*s->ns)
			drop_sock(a, s->ns);
		r = nb_docker_step(s, false, NULL, 0);
		if (!r)
			s->done = false;
		return r;
	default:
		break;
	}
	/* Everything else lives in a namespace; if that is gone, so is the object. */
	if (!nb_ns_exists(s->ns))
		return 0;
	if (s->kind == NB_STEP_SYSCTL) {
		r = *s->old ? sysctl_set(s->ns, s->key, s->old, NULL, 0) : 0;
	} else if (s->kind == NB_STEP_NFT) {
		snprintf(cmd, sizeof(cmd), "delete table %s\n", s->table);
		nft_run(s->ns, cmd, NULL, 0);
		/* libnftables says only "failed" without its error buffer; a table that is not there is the
		 * usual reason, and whatever is left dies with the namespace. */
		r = 0;
	} else {
		r = nl_step(a, s, false);
	}
	if (gone(r))
		r = 0;
	if (!r)
		s->done = false;
	return r;
}
