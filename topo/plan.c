/* SPDX-License-Identifier: MIT */
/*
 * Path kind -> steps, and steps -> shell script. Pure: no privileges, no side effects, so a plan can be
 * rebuilt from a state file by whoever tears the instance down.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topo_int.h"
#include "vm.h"

/* Private test ranges; every instance has its own namespaces, so instances can share them. */
#define WIRE_REMOTE "10.77.0.1"
#define WIRE_HOST   "10.77.0.2"
#define WIRE_PLEN   "/24"
#define CTR_NET	    "172.31.77.0/24"
#define CTR_GW	    "172.31.77.1"
#define CTR_ADDR    "172.31.77.2"
#define CTR_PLEN    "/24"

static const char *const kinds[] = {"loopback", "native", "host",	"bridge", "nat",
				    "virtio",	"vhost",  "vhost-user", NULL};

const char *const *nb_topo_kinds(void)
{
	return kinds;
}

bool nb_topo_kind_valid(const char *kind)
{
	for (size_t i = 0; kind && kinds[i]; i++)
		if (!strcmp(kind, kinds[i]))
			return true;
	return false;
}

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

int nb_topo_name_check(const char *name, char *err, size_t errlen)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > NB_TOPO_NAME_MAX) {
		nb_err(err, errlen, "invalid instance name '%s': 1 to %d characters of [a-z0-9-]",
		       name ? name : "", NB_TOPO_NAME_MAX);
		return -EINVAL;
	}
	if (name[0] == '-') {
		nb_err(err, errlen, "invalid instance name '%s': must start with a letter or digit", name);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!name_char_ok(name[i])) {
			nb_err(err, errlen, "invalid instance name '%s': only [a-z0-9-] allowed", name);
			return -EINVAL;
		}
	}
	return 0;
}

static const char *const roles[] = {"remote", "host", "ctr"};

void nb_ns_name(char *buf, size_t len, const char *name, const char *role)
{
	snprintf(buf, len, "nb-%s-%s", name, role);
}

static bool name_from(const char *s, size_t n, char ret_name[NB_TOPO_NAME_MAX + 1])
{
	char tmp[NB_TOPO_NAME_MAX + 1];

	if (n == 0 || n > NB_TOPO_NAME_MAX)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (nb_topo_name_check(tmp, NULL, 0))
		return false;
	memcpy(ret_name, tmp, n + 1);
	return true;
}

bool nb_ns_name_parse(const char *s, char ret_name[NB_TOPO_NAME_MAX + 1])
{
	size_t n = strlen(s);

	if (strncmp(s, "nb-", 3))
		return false;
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		size_t rl = strlen(roles[i]);

		if (n < 3 + rl + 2 || s[n - rl - 1] != '-' || strcmp(s + n - rl, roles[i]))
			continue;
		if (name_from(s + 3, n - 3 - rl - 1, ret_name))
			return true;
	}
	return false;
}

bool nb_cgroup_name_parse(const char *s, char ret_name[NB_TOPO_NAME_MAX + 1])
{
	if (strncmp(s, "nbench-", 7))
		return false;
	return name_from(s + 7, strlen(s + 7), ret_name);
}

const char *nb_step_kind_name(enum nb_step_kind k)
{
	static const char *const names[] = {
	    [NB_STEP_NETNS] = "netns",	 [NB_STEP_VETH] = "veth",     [NB_STEP_BRIDGE] = "bridge",
	    [NB_STEP_MASTER] = "master", [NB_STEP_UP] = "link-up",    [NB_STEP_ADDR] = "address",
	    [NB_STEP_ROUTE] = "route",	 [NB_STEP_SYSCTL] = "sysctl", [NB_STEP_NFT] = "nft",
	    [NB_STEP_CGROUP] = "cgroup", [NB_STEP_TAP] = "tap",
	};
	return names[k];
}

/* Building a plan: each helper appends one step; overflow is a programming error caught by the unit of
 * the largest path, so it only sets a flag. */
struct builder {
	struct nb_plan *p;
	bool overflow;
};

static struct nb_step *add(struct builder *b, enum nb_step_kind kind, const char *ns)
{
	struct nb_step *s;

	if (b->p->nsteps >= NB_TOPO_MAX_STEPS) {
		b->overflow = true;
		return NULL;
	}
	s = &b->p->steps[b->p->nsteps++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	if (ns)
		snprintf(s->ns, sizeof(s->ns), "%s", ns);
	return s;
}

static void add_netns(struct builder *b, const char *ns)
{
	struct nb_step *s = add(b, NB_STEP_NETNS, ns);

	if (s && b->p->nns < NB_TOPO_MAX_NS)
		snprintf(b->p->ns[b->p->nns++], NB_NS_NAME_MAX, "%s", ns);
	s = add(b, NB_STEP_UP, ns);
	if (s)
		snprintf(s->ifname, sizeof(s->ifname), "lo");
}

static void add_veth(struct builder *b, const char *ns, const char *ifname, const char *peer_ns,
		     const char *peer)
{
	struct nb_step *s = add(b, NB_STEP_VETH, ns);

	if (!s)
		return;
	snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
	snprintf(s->peer_ns, sizeof(s->peer_ns), "%s", peer_ns);
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
}

static void add_link(struct builder *b, enum nb_step_kind kind, const char *ns, const char *ifname,
		     const char *arg)
{
	struct nb_step *s = add(b, kind, ns);

	if (!s)
		return;
	snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
	if (kind == NB_STEP_MASTER)
		snprintf(s->master, sizeof(s->master), "%s", arg);
	else if (kind == NB_STEP_ADDR)
		snprintf(s->addr, sizeof(s->addr), "%s", arg);
}

static void add_route(struct builder *b, const char *ns, const char *dst, const char *via, const char *dev)
{
	struct nb_step *s = add(b, NB_STEP_ROUTE, ns);

	if (!s)
		return;
	snprintf(s->addr, sizeof(s->addr), "%s", dst);
	snprintf(s->via, sizeof(s->via), "%s", via);
	snprintf(s->ifname, sizeof(s->ifname), "%s", dev);
}

static void add_sysctl(struct builder *b, const char *ns, const char *key, const char *val)
{
	struct nb_step *s = add(b, NB_STEP_SYSCTL, ns);

	if (!s)
		return;
	snprintf(s->key, sizeof(s->key), "%s", key);
	snprintf(s->val, sizeof(s->val), "%s", val);
}

/* Docker's default bridge network in nft terms: its nat DOCKER chain (DNAT of the published port for
 * packets addressed to a local address, not arriving from the bridge), MASQUERADE of the subnet leaving
 * by another interface, and its filter FORWARD chain (policy drop; established back in; the published
 * port in; anything out). One addition to Docker: DNAT'd flows are also masqueraded on the way into the
 * bridge, so the server sees the host's bridge address (as with Docker's hairpin rule and kube-proxy's
 * masquerade) and every reply must come back through conntrack on the host. nft 1.0.6 wants each rule
 * and each closing brace on its own line, and priority -100 rather than "dstnat" on the output hook. */
static char *nat_ruleset(const char *table, const char *br, uint16_t publish, uint16_t port)
{
	char *text = NULL;

	if (asprintf(&text,
		     "table %s {\n"
		     "\tchain docker {\n"
		     "\t\tiifname \"%s\" return\n"
		     "\t\ttcp dport %u dnat to " CTR_ADDR ":%u\n"
		     "\t\tudp dport %u dnat to " CTR_ADDR ":%u\n"
		     "\t}\n"
		     "\tchain prerouting {\n"
		     "\t\ttype nat hook prerouting priority -100; policy accept;\n"
		     "\t\tfib daddr type local jump docker\n"
		     "\t}\n"
		     "\tchain output {\n"
		     "\t\ttype nat hook output priority -100; policy accept;\n"
		     "\t\tip daddr != 127.0.0.0/8 fib daddr type local jump docker\n"
		     "\t}\n"
		     "\tchain postrouting {\n"
		     "\t\ttype nat hook postrouting priority 100; policy accept;\n"
		     "\t\tip saddr " CTR_NET " oifname != \"%s\" masquerade\n"
		     "\t\toifname \"%s\" ct status dnat masquerade\n"
		     "\t}\n"
		     "\tchain docker_fwd {\n"
		     "\t\tip daddr " CTR_ADDR " iifname != \"%s\" tcp dport %u accept\n"
		     "\t\tip daddr " CTR_ADDR " iifname != \"%s\" udp dport %u accept\n"
		     "\t}\n"
		     "\tchain forward {\n"
		     "\t\ttype filter hook forward priority 0; policy drop;\n"
		     "\t\toifname \"%s\" ct state established,related accept\n"
		     "\t\toifname \"%s\" jump docker_fwd\n"
		     "\t\tiifname \"%s\" oifname != \"%s\" accept\n"
		     "\t\tiifname \"%s\" oifname \"%s\" accept\n"
		     "\t}\n"
		     "}\n",
		     table, br, publish, port, publish, port, br, br, br, port, br, port, br, br, br, br, br,
		     br) < 0)
		return NULL;
	return text;
}

int nb_plan_build(const char *kind, const char *name, const struct nb_topo_opts *opts, const char *cgroot,
		  struct nb_plan *ret, char *err, size_t errlen)
{
	struct builder b = {.p = ret};
	char remote[NB_NS_NAME_MAX], host[NB_NS_NAME_MAX], ctr[NB_NS_NAME_MAX];
	char lr[IFNAMSIZ], lh[IFNAMSIZ], lb[IFNAMSIZ], lv[IFNAMSIZ], lc[IFNAMSIZ];
	uint16_t port = opts && opts->server_port ? opts->server_port : NB_DEFAULT_PORT;
	uint16_t publish = opts && opts->publish_port ? opts->publish_port : port;
	bool is_bridge, is_nat;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!nb_topo_kind_valid(kind)) {
		nb_err(
		    err, errlen,
		    "unknown path kind '%s' (loopback, native, host, bridge, nat, virtio, vhost, vhost-user)",
		    kind ? kind : "");
		return -EINVAL;
	}
	r = nb_topo_name_check(name, err, errlen);
	if (r)
		return r;
	snprintf(ret->kind, sizeof(ret->kind), "%s", kind);
	snprintf(ret->name, sizeof(ret->name), "%s", name);
	nb_ns_name(remote, sizeof(remote), name, "remote");
	nb_ns_name(host, sizeof(host), name, "host");
	nb_ns_name(ctr, sizeof(ctr), name, "ctr");
	snprintf(lr, sizeof(lr), "nb-%s-r", name);
	snprintf(lh, sizeof(lh), "nb-%s-h", name);
	snprintf(lb, sizeof(lb), "nb-%s-b", name);
	snprintf(lv, sizeof(lv), "nb-%s-v", name);
	snprintf(lc, sizeof(lc), "nb-%s-c", name);
	ret->server_port = port;
	ret->dial_port = port;

	if (!strcmp(kind, "loopback")) {
		add_netns(&b, host);
		snprintf(ret->client_ns, sizeof(ret->client_ns), "%s", host);
		snprintf(ret->server_ns, sizeof(ret->server_ns), "%s", host);
		snprintf(ret->server_addr, sizeof(ret->server_addr), "127.0.0.1");
		snprintf(ret->dial_addr, sizeof(ret->dial_addr), "127.0.0.1");
		goto out;
	}

	is_bridge = !strcmp(kind, "bridge");
	is_nat = !strcmp(kind, "nat");
	add_netns(&b, remote);
	add_netns(&b, host);
	if (is_bridge || is_nat)
		add_netns(&b, ctr);
	add_veth(&b, remote, lr, host, lh);
	add_link(&b, NB_STEP_ADDR, remote, lr, WIRE_REMOTE WIRE_PLEN);
	add_link(&b, NB_STEP_ADDR, host, lh, WIRE_HOST WIRE_PLEN);
	add_link(&b, NB_STEP_UP, remote, lr, NULL);
	add_link(&b, NB_STEP_UP, host, lh, NULL);
	snprintf(ret->client_ns, sizeof(ret->client_ns), "%s", remote);
	snprintf(ret->server_ns, sizeof(ret->server_ns), "%s", host);
	snprintf(ret->server_addr, sizeof(ret->server_addr), WIRE_HOST);
	snprintf(ret->dial_addr, sizeof(ret->dial_addr), WIRE_HOST);

	if (!strcmp(kind, "host")) {
		struct nb_step *s;

		if (!cgroot || !*cgroot) {
			nb_err(err, errlen, "path 'host' needs a cgroup v2 hierarchy, and none is mounted");
			return -EOPNOTSUPP;
		}
		snprintf(ret->cgroup, sizeof(ret->cgroup), "%s/nbench-%s", cgroot, name);
		ret->sandbox = true;
		s = add(&b, NB_STEP_CGROUP, NULL);
		if (s)
			snprintf(s->path, sizeof(s->path), "%s", ret->cgroup);
		goto out;
	}
	if (!is_bridge && !is_nat && !nb_guest_kind(kind))
		goto out;

	add_link(&b, NB_STEP_BRIDGE, host, lb, NULL);
	add_link(&b, NB_STEP_ADDR, host, lb, CTR_GW CTR_PLEN);
	add_link(&b, NB_STEP_UP, host, lb, NULL);
	if (nb_guest_kind(kind)) { /* as bridge, with a guest on a tap (topo/vm.c) where the container was */
		char lt[IFNAMSIZ];

		snprintf(lt, sizeof(lt), "nb-%s-t", name);
		add_link(&b, NB_STEP_TAP, host, lt, NULL);
		/* vhost-user: the tap is the DPDK backend's port into the bridge, not qemu's */
		if (b.p->nsteps && !strcmp(kind, "vhost-user"))
			b.p->steps[b.p->nsteps - 1].tap_mq = true;
		add_link(&b, NB_STEP_MASTER, host, lt, lb);
		add_link(&b, NB_STEP_UP, host, lt, NULL);
		add_sysctl(&b, host, "net.ipv4.ip_forward", "1");
		add_route(&b, remote, CTR_NET, WIRE_HOST, lr);
		snprintf(ret->server_addr, sizeof(ret->server_addr), CTR_ADDR);
		snprintf(ret->dial_addr, sizeof(ret->dial_addr), CTR_ADDR);
		goto out;
	}
	add_veth(&b, host, lv, ctr, lc);
	add_link(&b, NB_STEP_MASTER, host, lv, lb);
	add_link(&b, NB_STEP_UP, host, lv, NULL);
	add_link(&b, NB_STEP_ADDR, ctr, lc, CTR_ADDR CTR_PLEN);
	add_link(&b, NB_STEP_UP, ctr, lc, NULL);
	add_route(&b, ctr, "default", CTR_GW, lc);
	add_sysctl(&b, host, "net.ipv4.ip_forward", "1");
	snprintf(ret->server_ns, sizeof(ret->server_ns), "%s", ctr);
	snprintf(ret->server_addr, sizeof(ret->server_addr), CTR_ADDR);
	if (is_bridge) {
		add_route(&b, remote, CTR_NET, WIRE_HOST, lr);
		snprintf(ret->dial_addr, sizeof(ret->dial_addr), CTR_ADDR);
	} else {
		struct nb_step *s = add(&b, NB_STEP_NFT, host);
		char tname[32];

		snprintf(tname, sizeof(tname), "nbench_%s", name);
		for (char *c = tname; *c; c++)
			if (*c == '-')
				*c = '_';
		if (s) {
			snprintf(s->table, sizeof(s->table), "ip %s", tname);
			s->text = nat_ruleset(s->table, lb, publish, port);
			if (!s->text) {
				nb_plan_free(ret);
				return -ENOMEM;
			}
		}
		ret->dial_port = publish;
	}
out:
	if (b.overflow) {
		nb_plan_free(ret);
		nb_err(err, errlen, "path '%s' has too many steps", kind);
		return -E2BIG;
	}
	return 0;
}

void nb_plan_free(struct nb_plan *p)
{
	for (size_t i = 0; p && i < p->nsteps; i++) {
		free(p->steps[i].text);
		p->steps[i].text = NULL;
	}
}

/* A growing string; on allocation failure it stays NULL and the caller sees NULL at the end. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool failed;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 1024;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *s = realloc(b->s, cap);
		if (!s) {
			b->failed = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
}

static void script_step(struct sbuf *b, const struct nb_step *s)
{
	switch (s->kind) {
	case NB_STEP_NETNS:
		sb_printf(b, "ip netns add %s\n", s->ns);
		break;
	case NB_STEP_VETH:
		sb_printf(b, "ip -n %s link add %s type veth peer name %s netns %s\n", s->ns, s->ifname,
			  s->peer, s->peer_ns);
		break;
	case NB_STEP_BRIDGE:
		sb_printf(b, "ip -n %s link add %s type bridge\n", s->ns, s->ifname);
		break;
	case NB_STEP_MASTER:
		sb_printf(b, "ip -n %s link set %s master %s\n", s->ns, s->ifname, s->master);
		break;
	case NB_STEP_UP:
		sb_printf(b, "ip -n %s link set %s up\n", s->ns, s->ifname);
		break;
	case NB_STEP_ADDR:
		sb_printf(b, "ip -n %s addr add %s dev %s\n", s->ns, s->addr, s->ifname);
		break;
	case NB_STEP_ROUTE:
		sb_printf(b, "ip -n %s route add %s via %s dev %s\n", s->ns, s->addr, s->via, s->ifname);
		break;
	case NB_STEP_SYSCTL: {
		char key[sizeof(s->key)];

		snprintf(key, sizeof(key), "%s", s->key);
		for (char *c = key; *c; c++)
			if (*c == '.')
				*c = '/';
		sb_printf(b, "ip netns exec %s sh -c 'echo %s > /proc/sys/%s'\n", s->ns, s->val, key);
		break;
	}
	case NB_STEP_NFT:
		sb_printf(b, "ip netns exec %s nft -f - <<'EOF'\n%sEOF\n", s->ns, s->text);
		break;
	case NB_STEP_CGROUP:
		sb_printf(b, "mkdir %s\n", s->path);
		break;
	case NB_STEP_TAP:
		sb_printf(b, "ip -n %s tuntap add dev %s mode tap %s\n", s->ns, s->ifname,
			  s->tap_mq ? "multi_queue" : "vnet_hdr");
		break;
	}
}

char *nb_plan_script(const struct nb_plan *p)
{
	struct sbuf b = {0};

	sb_printf(&b, "#!/bin/bash\n");
	sb_printf(&b,
		  "# nbench topo script %s --name %s: the steps `nbench topo up` applies through netlink.\n",
		  p->kind, p->name);
	sb_printf(&b, "# client: netns %s, dials %s:%u\n", p->client_ns, p->dial_addr, p->dial_port);
	sb_printf(&b, "# server: netns %s%s, listens on %s:%u\n", p->server_ns,
		  p->sandbox ? " (own mount/pid/uts namespaces and cgroup)" : "", p->server_addr,
		  p->server_port);
	sb_printf(&b, "# remove: nbench topo down %s, or:", p->name);
	for (size_t i = 0; i < p->nns; i++)
		sb_printf(&b, " ip netns del %s;", p->ns[i]);
	if (*p->cgroup)
		sb_printf(&b, " rmdir %s;", p->cgroup);
	sb_printf(&b, "\nset -euo pipefail\n");
	for (size_t i = 0; i < p->nsteps; i++)
		script_step(&b, &p->steps[i]);
	char *guest = nb_vm_script(p);
	if (guest)
		sb_printf(&b, "%s", guest);
	free(guest);
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
