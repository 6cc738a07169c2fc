/* SPDX-License-Identifier: MIT */
/*
 * Path kind -> steps. Pure: no privileges, no side effects, so a plan can be rebuilt from a state file by
 * whoever tears the instance down. A plan flows up: plan.c (this) -> apply.c (a step done and undone;
 * script.c renders one instead) -> state.c (state files, teardown) -> topo.c (the public API); topo_int.h
 * has the map of the files.
 *
 * The kinds are one table (kinds[] below): each kind names the kind it extends and says only what it adds
 * or replaces: steps appended to the shared part, a different server end, a different way for the client
 * to reach it, a different guest backend. The kind list, compare's hop hierarchy, the help texts and
 * nb_guest_kind all read this table.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topo_int.h"
#include "nbench/guest.h"

/* Private test ranges; every instance has its own namespaces, so instances can share them. */
#define WIRE_REMOTE "10.77.0.1"
#define WIRE_HOST   "10.77.0.2"
#define WIRE_PLEN   "/24"
#define CTR_NET	    "172.31.77.0/24"
#define CTR_GW	    "172.31.77.1"
#define CTR_ADDR    "172.31.77.2"
#define CTR_PLEN    "/24"
#define CLI_ADDR    "172.31.77.3" /* overlay, docker-bridge: the client's container on the same network */
#define WIRE_CTR    "10.77.0.3"	  /* macvlan: the container on the wire's own segment */
#define LOOPBACK    "127.0.0.1"
#define ANY_ADDR    "0.0.0.0" /* the server listens on every address of its container */
#define OVERLAY_MTU 1450      /* flannel's: 1500 less VXLAN's 50 bytes of outer headers */
#define OVERLAY_VNI 77	      /* the VNI of a one-host overlay; a half's is its subnet's octet */

/* The namespaces of an instance, nb-<name>-<role>, created in this order: role r is nb_ns_role(r - 1). */
enum role { R_NONE, R_REMOTE, R_HOST, R_CTR, R_CLI, R_COUNT };

/* The links of an instance, nb-<name>-<suffix> ("lo" as it is). */
enum link {
	L_NONE,
	L_LO,
	L_WIRE_R,
	L_WIRE_H,
	L_BR,
	L_CTR_V,
	L_CTR_C,
	L_TAP,
	L_BR_R,	 /* overlay: the client side's bridge */
	L_VX_H,	 /* overlay: the VXLAN device on the server side's bridge */
	L_VX_R,	 /* ...and on the client side's */
	L_CLI_V, /* overlay: the client container's veth, bridge end */
	L_CLI_C, /* ...and container end */
	L_MACVLAN,
	L_DOCKER_BR, /* docker-bridge: the Linux bridge of the engine's network */
};
static const char *const link_suffix[] = {
    [L_WIRE_R] = "r", [L_WIRE_H] = "h",	 [L_BR] = "b",	     [L_CTR_V] = "v", [L_CTR_C] = "c",
    [L_TAP] = "t",    [L_BR_R] = "g",	 [L_VX_H] = "x",     [L_VX_R] = "y",  [L_CLI_V] = "w",
    [L_CLI_C] = "k",  [L_MACVLAN] = "m", [L_DOCKER_BR] = "d"};

/* The networks of a Docker step's container. */
enum dk_net { DK_NONE, DK_HOSTNET, DK_DEFAULT, DK_OWN };

static const char *role_name(enum role r)
{
	return nb_ns_role((size_t)r - 1);
}

/* One step with the instance's names left out: roles and links stand for them. */
struct step_tmpl {
	enum nb_step_kind kind;
	enum role ns;
	enum link ifname;
	enum role peer_ns; /* VETH: the peer's namespace */
	enum link other;   /* VETH: the peer; MASTER: the master */
	const char *addr;  /* ADDR: CIDR; ROUTE: destination */
	const char *via;   /* ROUTE: gateway */
	const char *key;   /* SYSCTL: dotted key; the value is "1" */
	bool mq;	   /* TAP: the tap of a DPDK backend (multi-queue, no vnet_hdr) */
	unsigned mtu;	   /* VETH, VXLAN */
	enum dk_net dk;	   /* DOCKER_CTR: its network; addr: where its port is published or its address */
	bool client;	   /* DOCKER_CTR: the client's container */
};

struct frag {
	const struct step_tmpl *steps;
	size_t n;
};
#define FRAG(...)                                                                                            \
	(&(const struct frag){(const struct step_tmpl[]){__VA_ARGS__},                                       \
			      sizeof((const struct step_tmpl[]){__VA_ARGS__}) / sizeof(struct step_tmpl)})

/* Step templates, one per line of `nbench topo script`. */
// clang-format off
#define T_VETH(n, l, pn, pl) {.kind = NB_STEP_VETH, .ns = n, .ifname = l, .peer_ns = pn, .other = pl}
#define T_ADDR(n, l, a)      {.kind = NB_STEP_ADDR, .ns = n, .ifname = l, .addr = a}
#define T_UP(n, l)           {.kind = NB_STEP_UP, .ns = n, .ifname = l}
#define T_MASTER(n, l, m)    {.kind = NB_STEP_MASTER, .ns = n, .ifname = l, .other = m}
#define T_ROUTE(n, l, d, g)  {.kind = NB_STEP_ROUTE, .ns = n, .ifname = l, .addr = d, .via = g}
#define T_TAP(n, l, q)       {.kind = NB_STEP_TAP, .ns = n, .ifname = l, .mq = q}
#define T_VETH_MTU(n, l, pn, pl, m) {.kind = NB_STEP_VETH, .ns = n, .ifname = l, .peer_ns = pn, .other = pl, .mtu = m}
/* VXLAN: remote endpoint r, local l, over the wire's end w */
#define T_VXLAN(n, x, r, l, w) {.kind = NB_STEP_VXLAN, .ns = n, .ifname = x, .addr = r, .via = l, .other = w, \
				.mtu = OVERLAY_MTU}
#define T_DOCKER(n, net, a, c) {.kind = NB_STEP_DOCKER_CTR, .ns = n, .dk = net, .addr = a, .client = c}

/* The wire: a veth pair between "remote" (the client's host) and "host". */
#define WIRE FRAG(T_VETH(R_REMOTE, L_WIRE_R, R_HOST, L_WIRE_H),                                              \
		  T_ADDR(R_REMOTE, L_WIRE_R, WIRE_REMOTE WIRE_PLEN), T_ADDR(R_HOST, L_WIRE_H, WIRE_HOST WIRE_PLEN), \
		  T_UP(R_REMOTE, L_WIRE_R), T_UP(R_HOST, L_WIRE_H))
/* A Linux bridge in "host", the gateway of the container network. */
#define BRIDGE FRAG({.kind = NB_STEP_BRIDGE, .ns = R_HOST, .ifname = L_BR},                                  \
		    T_ADDR(R_HOST, L_BR, CTR_GW CTR_PLEN), T_UP(R_HOST, L_BR))
/* Server ends: the host's own namespace in a sandbox, a container on the bridge, a guest's tap on it. */
#define SANDBOX FRAG({.kind = NB_STEP_CGROUP})
#define CONTAINER FRAG(T_VETH(R_HOST, L_CTR_V, R_CTR, L_CTR_C), T_MASTER(R_HOST, L_CTR_V, L_BR),             \
		       T_UP(R_HOST, L_CTR_V), T_ADDR(R_CTR, L_CTR_C, CTR_ADDR CTR_PLEN), T_UP(R_CTR, L_CTR_C), \
		       T_ROUTE(R_CTR, L_CTR_C, "default", CTR_GW))
#define GUEST_TAP(mq) FRAG(T_TAP(R_HOST, L_TAP, mq), T_MASTER(R_HOST, L_TAP, L_BR), T_UP(R_HOST, L_TAP))
/* How the client reaches the server end: routed to it, or to a port published on the host (NAT). */
#define FORWARD {.kind = NB_STEP_SYSCTL, .ns = R_HOST, .key = "net.ipv4.ip_forward"}
#define ROUTED FRAG(FORWARD, T_ROUTE(R_REMOTE, L_WIRE_R, CTR_NET, WIRE_HOST))
#define PUBLISHED FRAG(FORWARD, {.kind = NB_STEP_NFT, .ns = R_HOST})
/* The server end's processes that are part of the path: a guest, behind a vhost-user backend or not. */
#define GUEST FRAG({.kind = NB_STEP_GUEST, .ns = R_HOST})
#define BACKEND_GUEST FRAG({.kind = NB_STEP_VHOST_USER, .ns = R_HOST}, {.kind = NB_STEP_GUEST, .ns = R_HOST})
/* overlay: on each side of the wire a bridge with a VXLAN device on it, both ends of one tunnel (VNI, UDP
 * port 4789), and a veth from each bridge into a container, MTU as flannel sets it */
#define OVERLAY FRAG({.kind = NB_STEP_BRIDGE, .ns = R_HOST, .ifname = L_BR}, T_UP(R_HOST, L_BR),              \
		     T_VXLAN(R_HOST, L_VX_H, WIRE_REMOTE, WIRE_HOST, L_WIRE_H), T_MASTER(R_HOST, L_VX_H, L_BR),    \
		     T_UP(R_HOST, L_VX_H),                                                                    \
		     {.kind = NB_STEP_BRIDGE, .ns = R_REMOTE, .ifname = L_BR_R}, T_UP(R_REMOTE, L_BR_R),      \
		     T_VXLAN(R_REMOTE, L_VX_R, WIRE_HOST, WIRE_REMOTE, L_WIRE_R),                             \
		     T_MASTER(R_REMOTE, L_VX_R, L_BR_R), T_UP(R_REMOTE, L_VX_R))
#define OVERLAY_ENDS FRAG(T_VETH_MTU(R_HOST, L_CTR_V, R_CTR, L_CTR_C, OVERLAY_MTU), T_MASTER(R_HOST, L_CTR_V, L_BR), \
			  T_UP(R_HOST, L_CTR_V), T_ADDR(R_CTR, L_CTR_C, CTR_ADDR CTR_PLEN), T_UP(R_CTR, L_CTR_C),    \
			  T_VETH_MTU(R_REMOTE, L_CLI_V, R_CLI, L_CLI_C, OVERLAY_MTU),                               \
			  T_MASTER(R_REMOTE, L_CLI_V, L_BR_R), T_UP(R_REMOTE, L_CLI_V),                              \
			  T_ADDR(R_CLI, L_CLI_C, CLI_ADDR CTR_PLEN), T_UP(R_CLI, L_CLI_C))
/* macvlan: the container on a bridge-mode macvlan of the wire's server end, an address of the wire's */
#define MACVLAN FRAG({.kind = NB_STEP_MACVLAN, .ns = R_CTR, .ifname = L_MACVLAN, .peer_ns = R_HOST,            \
		      .other = L_WIRE_H},                                                                     \
		     T_ADDR(R_CTR, L_MACVLAN, WIRE_CTR WIRE_PLEN), T_UP(R_CTR, L_MACVLAN))
/* Docker's engine builds the server end in this network namespace (its own): a container with host
 * networking; one on the default bridge with its port published on an address of the host; or a network
 * of its own with the server's container and the client's on it. */
#define DK_HOST FRAG(T_DOCKER(R_HOST, DK_HOSTNET, NULL, false))
#define DK_PUBLISHED(on) FRAG(T_DOCKER(R_CTR, DK_DEFAULT, on, false))
#define DK_NET FRAG({.kind = NB_STEP_DOCKER_NET, .ns = R_HOST, .ifname = L_DOCKER_BR, .addr = CTR_NET})
#define DK_PAIR FRAG(T_DOCKER(R_CTR, DK_OWN, CTR_ADDR, false), T_DOCKER(R_CLI, DK_OWN, CLI_ADDR, true))
// clang-format on

/* A path kind: what it extends and the one thing it adds. Fields left zero are the parent's. */
struct kind_def {
	const char *name;
	const char *extends;	  /* compare's hop: this kind minus that one; NULL: the floor */
	const struct frag *adds;  /* steps after the parent's shared steps, shared with the children */
	const struct frag *end;	  /* the server end (replaces the parent's) */
	const struct frag *reach; /* how the client gets there (replaces the parent's) */
	const struct frag *start; /* processes started last (replaces the parent's) */
	enum role client, server;
	const char *server_addr, *dial_addr;
	bool publish; /* the client dials the published port */
	enum nb_vm guest;
	/* Whose steps it builds on when not those of the kind it extends (its hop): a Docker path is measured
	 * against nbench's model of it, but built by the engine on the wire alone. */
	const char *steps_from;
	bool self_host; /* "host" is this network namespace, the Docker engine's */
	enum nb_topo_client_reach
	    reach_remote; /* how a client on another host reaches its container subnet */
};

/* README's table, in its order: each row extends a row above it. */
// clang-format off
static const struct kind_def kinds[] = {
    {.name = "loopback", .client = R_HOST, .server = R_HOST, .server_addr = "127.0.0.1", .dial_addr = "127.0.0.1"},
    {.name = "native", .extends = "loopback", .adds = WIRE, .client = R_REMOTE, .server_addr = WIRE_HOST,
     .dial_addr = WIRE_HOST},
    {.name = "host", .extends = "native", .end = SANDBOX},
    {.name = "bridge", .extends = "native", .adds = BRIDGE, .end = CONTAINER, .reach = ROUTED, .server = R_CTR,
     .server_addr = CTR_ADDR, .dial_addr = CTR_ADDR},
    {.name = "nat", .extends = "bridge", .reach = PUBLISHED, .dial_addr = WIRE_HOST, .publish = true},
    {.name = "virtio", .extends = "bridge", .end = GUEST_TAP(false), .start = GUEST, .server = R_HOST,
     .guest = NB_VM_QEMU},
    {.name = "vhost", .extends = "virtio", .guest = NB_VM_VHOST_NET},
    {.name = "vhost-user", .extends = "virtio", .end = GUEST_TAP(true), .start = BACKEND_GUEST,
     .guest = NB_VM_VHOST_USER},
    {.name = "docker-host", .extends = "host", .steps_from = "native", .end = DK_HOST, .self_host = true},
    {.name = "docker-nat", .extends = "nat", .steps_from = "native", .end = DK_PUBLISHED(WIRE_HOST),
     .server = R_CTR, .server_addr = ANY_ADDR, .publish = true, .self_host = true},
    {.name = "docker-proxy", .extends = "docker-nat", .steps_from = "loopback", .end = DK_PUBLISHED(LOOPBACK),
     .server = R_CTR, .server_addr = ANY_ADDR, .publish = true, .self_host = true},
    {.name = "docker-bridge", .extends = "bridge", .steps_from = "loopback", .adds = DK_NET, .end = DK_PAIR,
     .client = R_CLI, .server = R_CTR, .server_addr = CTR_ADDR, .dial_addr = CTR_ADDR, .self_host = true},
    {.name = "overlay", .extends = "bridge", .steps_from = "native", .adds = OVERLAY, .end = OVERLAY_ENDS,
     .client = R_CLI, .server = R_CTR, .server_addr = CTR_ADDR, .dial_addr = CTR_ADDR,
     .reach_remote = NB_REACH_TUNNEL},
    {.name = "macvlan", .extends = "native", .end = MACVLAN, .server = R_CTR, .server_addr = WIRE_CTR,
     .dial_addr = WIRE_CTR, .reach_remote = NB_REACH_ONLINK},
};
// clang-format on
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static const struct kind_def *kind_find(const char *name)
{
	for (size_t i = 0; name && i < NKINDS; i++)
		if (!strcmp(kinds[i].name, name))
			return &kinds[i];
	return NULL;
}

const char *const *nb_topo_kinds(void)
{
	static const char *names[NKINDS + 1];

	for (size_t i = 0; i < NKINDS; i++)
		names[i] = kinds[i].name;
	return names;
}

bool nb_topo_kind_valid(const char *kind)
{
	return kind_find(kind) != NULL;
}

const char *nb_topo_kind_parent(const char *kind)
{
	const struct kind_def *k = kind_find(kind);

	return k ? k->extends : NULL;
}

const char *nb_topo_kinds_join(char *buf, size_t len, const char *sep)
{
	size_t used = 0;

	if (len)
		*buf = '\0';
	for (size_t i = 0; i < NKINDS && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? sep : "", kinds[i].name);

		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}

bool nb_guest_kind(const char *kind)
{
	const struct kind_def *k = kind_find(kind);

	return k && k->guest != NB_VM_NONE;
}

int nb_topo_kind_error(const char *kind, char *err, size_t errlen)
{
	char list[256];

	nb_err(err, errlen, "unknown path kind '%s' (%s)", kind ? kind : "",
	       nb_topo_kinds_join(list, sizeof(list), ", "));
	return -EINVAL;
}

const char *nb_step_kind_name(enum nb_step_kind k)
{
	static const char *const names[] = {
	    [NB_STEP_NETNS] = "netns",
	    [NB_STEP_VETH] = "veth",
	    [NB_STEP_BRIDGE] = "bridge",
	    [NB_STEP_MASTER] = "master",
	    [NB_STEP_UP] = "link-up",
	    [NB_STEP_ADDR] = "address",
	    [NB_STEP_ROUTE] = "route",
	    [NB_STEP_SYSCTL] = "sysctl",
	    [NB_STEP_NFT] = "nft",
	    [NB_STEP_CGROUP] = "cgroup",
	    [NB_STEP_TAP] = "tap",
	    [NB_STEP_VHOST_USER] = "vhost-user",
	    [NB_STEP_GUEST] = "guest",
	    [NB_STEP_NIC] = "nic",
	    [NB_STEP_QDISC] = "qdisc",
	    [NB_STEP_VXLAN] = "vxlan",
	    [NB_STEP_MACVLAN] = "macvlan",
	    [NB_STEP_DOCKER_NET] = "docker-network",
	    [NB_STEP_DOCKER_CTR] = "docker-container",
	};
	return names[k];
}

/* Docker's default bridge network in nft terms: its nat DOCKER chain (DNAT of the published port for
 * packets addressed to a local address, not arriving from the bridge), MASQUERADE of the subnet leaving
 * by another interface, and its filter FORWARD chain (policy drop, or for a half a drop of what else goes
 * into its bridge; established back in; the published
 * port in; anything out). One addition to Docker: DNAT'd flows are also masqueraded on the way into the
 * bridge, so the server sees the host's bridge address (as with Docker's hairpin rule and kube-proxy's
 * masquerade) and every reply must come back through conntrack on the host. nft 1.0.6 wants each rule
 * and each closing brace on its own line, and priority -100 rather than "dstnat" on the output hook. */
static char *nat_ruleset(const char *table, const char *br, uint16_t publish, uint16_t port, const char *only)
{
	char *text = NULL, local[80], out[96], drop[64] = "";
	bool half = only && *only;

	/* a half shares its host's forward hook with others (another half's routed bridge, the host's own
	 * routing): it drops only what goes into its own bridge, where Docker's policy drops everything */
	if (half)
		snprintf(drop, sizeof(drop), "\t\toifname \"%s\" drop\n", br);
	/* a half publishes on the address its client dialed only, as `docker run -p ADDR:P:P` */
	snprintf(local, sizeof(local), only && *only ? "ip daddr %s" : "fib daddr type local", only);
	snprintf(out, sizeof(out),
		 only && *only ? "ip daddr %s" : "ip daddr != 127.0.0.0/8 fib daddr type local", only);
	if (asprintf(&text,
		     "table %s {\n"
		     "\tchain docker {\n"
		     "\t\tiifname \"%s\" return\n"
		     "\t\ttcp dport %u dnat to " CTR_ADDR ":%u\n"
		     "\t\tudp dport %u dnat to " CTR_ADDR ":%u\n"
		     "\t}\n"
		     "\tchain prerouting {\n"
		     "\t\ttype nat hook prerouting priority -100; policy accept;\n"
		     "\t\t%s jump docker\n"
		     "\t}\n"
		     "\tchain output {\n"
		     "\t\ttype nat hook output priority -100; policy accept;\n"
		     "\t\t%s jump docker\n"
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
		     "\t\ttype filter hook forward priority 0; policy %s;\n"
		     "\t\toifname \"%s\" ct state established,related accept\n"
		     "\t\toifname \"%s\" jump docker_fwd\n"
		     "\t\tiifname \"%s\" oifname != \"%s\" accept\n"
		     "\t\tiifname \"%s\" oifname \"%s\" accept\n"
		     "%s"
		     "\t}\n"
		     "}\n",
		     table, br, publish, port, publish, port, local, out, br, br, br, port, br, port,
		     half ? "accept" : "drop", br, br, br, br, br, br, drop) < 0)
		return NULL;
	return text;
}

/* A kind with its parents' fields filled in: the shared steps of every ancestor, then its end and reach. */
struct kind_flat {
	const struct kind_def *def;
	const struct frag *frags[NKINDS + 3];
	size_t nfrags, nshared; /* frags[0..nshared) are the ancestors' and its own shared steps */
	enum role client, server;
	const char *server_addr, *dial_addr;
	bool publish;
	enum nb_vm guest;
	bool self_host;
};

/* The kind whose steps c builds on. */
static const struct kind_def *steps_parent(const struct kind_def *c)
{
	return kind_find(c->steps_from ? c->steps_from : c->extends);
}

static void flatten(const struct kind_def *k, struct kind_flat *f)
{
	const struct kind_def *chain[NKINDS];
	const struct frag *end = NULL, *reach = NULL, *start = NULL;
	size_t n = 0;

	memset(f, 0, sizeof(*f));
	f->def = k;
	for (const struct kind_def *c = k; c && n < NKINDS; c = steps_parent(c))
		chain[n++] = c;
	while (n-- > 0) { /* from the floor up: each level overrides what it sets */
		const struct kind_def *c = chain[n];

		if (c->adds)
			f->frags[f->nfrags++] = c->adds;
		end = c->end ? c->end : end;
		reach = c->reach ? c->reach : reach;
		start = c->start ? c->start : start;
		f->client = c->client ? c->client : f->client;
		f->server = c->server ? c->server : f->server;
		f->server_addr = c->server_addr ? c->server_addr : f->server_addr;
		f->dial_addr = c->dial_addr ? c->dial_addr : f->dial_addr;
		f->publish = c->publish || (f->publish && !c->reach);
		f->guest = c->guest ? c->guest : f->guest;
		f->self_host |= c->self_host;
	}
	f->nshared = f->nfrags;
	if (end)
		f->frags[f->nfrags++] = end;
	if (reach)
		f->frags[f->nfrags++] = reach;
	if (start)
		f->frags[f->nfrags++] = start;
}

/* Building a plan: each step appended; overflow is a programming error caught by the unit test of the
 * largest path, so it only sets a flag. */
struct builder {
	struct nb_plan *p;
	bool half; /* the server half only: no "remote", "host" is the caller's netns ("") */
	const char *cgroot;
	uint16_t publish;
	const char *dial; /* half: the address the client dialed; client_half: the server's */
	const char *peer; /* half: the client's address */
	bool client_half; /* the client's half of a remote overlay: "remote" is the caller's netns */
	bool self_host;	  /* "host" is the caller's netns (the Docker engine's) */
	unsigned bound;	  /* roles whose netns is a container's (bound by its Docker step), as bits */
	bool overflow;
	bool wire; /* the wire's step was added */
};

/* Whether role r is the caller's own network namespace. */
static bool role_is_self(const struct builder *b, enum role r)
{
	return (r == R_HOST && (b->half || b->self_host)) || (r == R_REMOTE && b->client_half);
}

/* Whether steps in role r's namespace are this plan's: a half has the server's side only, a client half
 * the client's only. */
static bool role_here(const struct builder *b, enum role r)
{
	if (b->half)
		return r != R_REMOTE && r != R_CLI;
	if (b->client_half)
		return r == R_REMOTE || r == R_CLI;
	return true;
}

static struct nb_step *add_step_plain(struct builder *b, const struct step_tmpl *t);

static struct nb_step *add(struct builder *b, enum nb_step_kind kind, enum role ns)
{
	struct nb_step *s;

	if (b->p->nsteps >= NB_TOPO_MAX_STEPS) {
		b->overflow = true;
		return NULL;
	}
	s = &b->p->steps[b->p->nsteps++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	snprintf(s->name, sizeof(s->name), "%s", b->p->name);
	if (ns && !role_is_self(b, ns))
		nb_ns_name(s->ns, sizeof(s->ns), b->p->name, role_name(ns));
	return s;
}

static void link_name(char *buf, size_t len, const char *name, enum link l)
{
	if (l == L_LO)
		snprintf(buf, len, "lo");
	else if (l != L_NONE)
		snprintf(buf, len, "nb-%s-%s", name, link_suffix[l]);
}

static void add_netns(struct builder *b, enum role r)
{
	if (!role_here(b, r) || role_is_self(b, r))
		return;
	if (b->bound & 1u << r) { /* a container's, bound by its step: listed, not made */
		if (b->p->nns < NB_TOPO_MAX_NS)
			nb_ns_name(b->p->ns[b->p->nns++], NB_NS_NAME_MAX, b->p->name, role_name(r));
		return;
	}
	struct nb_step *s = add(b, NB_STEP_NETNS, r);

	if (s && b->p->nns < NB_TOPO_MAX_NS)
		snprintf(b->p->ns[b->p->nns++], NB_NS_NAME_MAX, "%s", s->ns);
	s = add(b, NB_STEP_UP, r);
	if (s)
		link_name(s->ifname, sizeof(s->ifname), b->p->name, L_LO);
}

/* The fields that are not names: the cgroup's path, the nft table and its ruleset. */
static int add_special(struct builder *b, struct nb_step *s, char *err, size_t errlen)
{
	struct nb_plan *p = b->p;
	char br[IFNAMSIZ];

	if (!s)
		return 0;
	if (s->kind == NB_STEP_CGROUP) {
		if (!b->cgroot || !*b->cgroot) {
			nb_err(err, errlen, "path '%s' needs a cgroup v2 hierarchy, and none is mounted",
			       p->kind);
			return -EOPNOTSUPP;
		}
		snprintf(p->cgroup, sizeof(p->cgroup), "%s/nbench-%s", b->cgroot, p->name);
		snprintf(s->path, sizeof(s->path), "%s", p->cgroup);
		p->sandbox = true;
	} else if (s->kind == NB_STEP_NFT) {
		snprintf(s->table, sizeof(s->table), "ip nbench_%s", p->name);
		for (char *c = s->table + 3; *c; c++)
			if (*c == '-')
				*c = '_';
		link_name(br, sizeof(br), p->name, L_BR);
		s->text = nat_ruleset(s->table, br, b->publish, p->server_port, b->half ? b->dial : NULL);
		if (!s->text)
			return -ENOMEM;
	}
	return 0;
}

/* The wire made of this host's interfaces (--wire): IF_B moved into "remote", IF_A into "host", each
 * under the name the veth's end would have had, so every later step is the same. */
static void add_nics(struct builder *b)
{
	static const enum role ns[2] = {R_HOST, R_REMOTE};
	static const enum link l[2] = {L_WIRE_H, L_WIRE_R};

	for (int i = 1; i >= 0; i--) {
		struct nb_step *s = add(b, NB_STEP_NIC, ns[i]);

		if (!s)
			return;
		link_name(s->ifname, sizeof(s->ifname), b->p->name, l[i]);
		snprintf(s->peer, sizeof(s->peer), "%s", b->p->wire[i]);
	}
}

/* --wire-rate: a tbf at each end of the wire, so each direction leaves through one. */
static void add_shaping(struct builder *b)
{
	static const enum role ns[2] = {R_REMOTE, R_HOST};
	static const enum link l[2] = {L_WIRE_R, L_WIRE_H};

	for (int i = 0; i < 2; i++) {
		struct nb_step *s = add(b, NB_STEP_QDISC, ns[i]);

		if (!s)
			return;
		link_name(s->ifname, sizeof(s->ifname), b->p->name, l[i]);
		s->rate_bps = b->p->wire_rate_bps;
	}
}

/* The wire's own step: the veth pair, or this host's two interfaces; then its shaping. */
static bool add_wire(struct builder *b, const struct step_tmpl *t)
{
	if (b->half || b->client_half) /* the wire is the hosts' own network: nothing of it is built */
		return !role_here(b, t->ns) || (t->peer_ns && !role_here(b, t->peer_ns)) ||
		       t->ifname == L_WIRE_R || t->ifname == L_WIRE_H;
	if (t->kind != NB_STEP_VETH || t->ifname != L_WIRE_R)
		return false;
	if (*b->p->wire[0])
		add_nics(b);
	else
		add_step_plain(b, t);
	if (b->p->wire_rate_bps > 0)
		add_shaping(b);
	b->wire = true;
	return true;
}

static int add_step(struct builder *b, const struct step_tmpl *t, char *err, size_t errlen)
{
	if (add_wire(b, t))
		return 0;
	return add_special(b, add_step_plain(b, t), err, errlen);
}

/* A VXLAN device's VNI and ends: on one host the wire's two addresses over its ends; in a half the address
 * the client dialed (local) and the client's (remote), routed; in a client half the server's (remote).
 * A half's macvlan: its parent is this host's interface toward the client (found when applied), and its
 * container reaches the client on the link (a route added after it). */
static void tunnel_ends(struct builder *b, struct nb_step *s, const struct step_tmpl *t)
{
	s->vni = b->half || b->client_half ? b->p->subnet : OVERLAY_VNI;
	if (!b->half && !b->client_half)
		return;
	if (t->kind == NB_STEP_MACVLAN) {
		*s->peer = *s->peer_ns = '\0';
		snprintf(s->via, sizeof(s->via), "%s", b->peer ? b->peer : "");
		return;
	}
	*s->peer = '\0'; /* no lower device: routed */
	snprintf(s->addr, sizeof(s->addr), "%s",
		 b->half ? (b->peer ? b->peer : "") : (b->dial ? b->dial : ""));
	snprintf(s->via, sizeof(s->via), "%s", b->half && b->dial ? b->dial : "");
}

/* A Docker step's names: the network nb-<name>-net on bridge nb-<name>-d; the containers nb-<name>-srv
 * (the responder, on the server's port, published) and nb-<name>-cli. */
static void docker_fill(struct builder *b, struct nb_step *s, const struct step_tmpl *t)
{
	static const char *const nets[] = {[DK_HOSTNET] = "host", [DK_DEFAULT] = "bridge"};
	const char *name = b->p->name;

	if (t->kind == NB_STEP_DOCKER_NET) {
		snprintf(s->dk.name, sizeof(s->dk.name), "nb-%s-net", name);
		snprintf(s->via, sizeof(s->via), "%s", CTR_GW);
		return;
	}
	snprintf(s->dk.name, sizeof(s->dk.name), "nb-%s-%s", name, t->client ? "cli" : "srv");
	if (t->dk == DK_OWN)
		snprintf(s->dk.network, sizeof(s->dk.network), "nb-%s-net", name);
	else
		snprintf(s->dk.network, sizeof(s->dk.network), "%s", nets[t->dk]);
	if (t->dk == DK_HOSTNET)
		snprintf(s->addr, sizeof(s->addr), "%s", b->p->server_addr);
	s->dk.client = t->client;
	s->dk.port = b->p->server_port;
	s->dk.publish_port = t->dk == DK_DEFAULT ? b->publish : 0;
}

static struct nb_step *add_step_plain(struct builder *b, const struct step_tmpl *t)
{
	const char *name = b->p->name;
	struct nb_step *s = add(b, t->kind, t->ns);

	if (!s)
		return 0;
	link_name(s->ifname, sizeof(s->ifname), name, t->ifname);
	if (t->peer_ns && !role_is_self(b, t->peer_ns))
		nb_ns_name(s->peer_ns, sizeof(s->peer_ns), name, role_name(t->peer_ns));
	link_name(t->kind == NB_STEP_VETH || t->kind == NB_STEP_VXLAN || t->kind == NB_STEP_MACVLAN
		      ? s->peer
		      : s->master,
		  IFNAMSIZ, name, t->other);
	snprintf(s->addr, sizeof(s->addr), "%s", t->addr ? t->addr : "");
	snprintf(s->via, sizeof(s->via), "%s", t->via ? t->via : "");
	if (t->key) {
		snprintf(s->key, sizeof(s->key), "%s", t->key);
		snprintf(s->val, sizeof(s->val), "1");
	}
	s->tap_mq = t->mq;
	s->mtu = t->mtu;
	if (t->kind == NB_STEP_VXLAN || t->kind == NB_STEP_MACVLAN)
		tunnel_ends(b, s, t);
	if (t->kind == NB_STEP_DOCKER_CTR || t->kind == NB_STEP_DOCKER_NET)
		docker_fill(b, s, t);
	return s;
}

/* Which namespaces the steps and the two ends use. */
static unsigned roles_used(const struct kind_flat *f)
{
	unsigned used = 1u << f->client | 1u << f->server;

	for (size_t i = 0; i < f->nfrags; i++)
		for (size_t j = 0; j < f->frags[i]->n; j++)
			used |= 1u << f->frags[i]->steps[j].ns | 1u << f->frags[i]->steps[j].peer_ns;
	return used & ~1u;
}

static void set_ends(const struct builder *b, const struct kind_flat *f, uint16_t publish)
{
	struct nb_plan *p = b->p;

	nb_ns_name(p->client_ns, sizeof(p->client_ns), p->name, role_name(f->client));
	nb_ns_name(p->server_ns, sizeof(p->server_ns), p->name, role_name(f->server));
	if (role_is_self(b, f->client))
		*p->client_ns = '\0';
	if (role_is_self(b, f->server) || b->client_half)
		*p->server_ns = '\0'; /* this host's own namespace, or (a client half) another host's */
	snprintf(p->server_addr, sizeof(p->server_addr), "%s", f->server_addr);
	snprintf(p->dial_addr, sizeof(p->dial_addr), "%s", f->dial_addr);
	p->dial_port = f->publish ? publish : p->server_port;
	p->vm = f->guest;
}

/* --wire and --wire-rate into the plan, checked as far as a plan can (names, not the interfaces). */
static int wire_opts(struct nb_plan *p, const struct nb_topo_opts *opts, char *err, size_t errlen)
{
	if (!opts)
		return 0;
	if (!*opts->wire_a != !*opts->wire_b || (*opts->wire_a && !strcmp(opts->wire_a, opts->wire_b)) ||
	    strlen(opts->wire_a) >= IFNAMSIZ || strlen(opts->wire_b) >= IFNAMSIZ) {
		nb_err(err, errlen, "--wire wants two different interface names IF_A,IF_B");
		return -EINVAL;
	}
	if (opts->wire_rate_bps &&
	    (opts->wire_rate_bps < NB_WIRE_RATE_MIN_BPS || opts->wire_rate_bps > NB_WIRE_RATE_MAX_BPS)) {
		nb_err(err, errlen, "--wire-rate %.0f bit/s is out of range (1M to 100G)",
		       opts->wire_rate_bps);
		return -ERANGE;
	}
	snprintf(p->wire[0], sizeof(p->wire[0]), "%s", opts->wire_a);
	snprintf(p->wire[1], sizeof(p->wire[1]), "%s", opts->wire_b);
	p->wire_rate_bps = opts->wire_rate_bps;
	p->force = opts->force;
	return 0;
}

/* s with every from (an address prefix such as "172.31.77.") as to; s holds size bytes. */
static void subst(char *s, size_t size, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to);
	char *at;

	for (char *c = s; (at = strstr(c, from)); c = at + tl) {
		if (strlen(s) + tl - fl >= size)
			return;
		memmove(at + tl, at + fl, strlen(at + fl) + 1);
		memcpy(at, to, tl);
	}
}

/* Every address of the plan (ends, steps, rulesets) with the prefix from as to. */
static int retarget(struct nb_plan *p, const char *from, const char *to)
{
	subst(p->server_addr, sizeof(p->server_addr), from, to);
	subst(p->dial_addr, sizeof(p->dial_addr), from, to);
	for (size_t i = 0; i < p->nsteps; i++) {
		struct nb_step *s = &p->steps[i];

		subst(s->addr, sizeof(s->addr), from, to);
		subst(s->via, sizeof(s->via), from, to);
		if (s->text) {
			size_t size = strlen(s->text) + 64;
			char *t = realloc(s->text, size);

			if (!t)
				return -ENOMEM;
			s->text = t;
			subst(s->text, size, from, to); /* a few addresses, each 0 to 2 bytes longer */
		}
	}
	return 0;
}

/* A container subnet of its own (a half's: nb_topo_half_subnet chose it) in every address of the plan. */
static int retarget_subnet(struct nb_plan *p, unsigned n)
{
	char to[16];

	if (!n || n == 77)
		return 0;
	snprintf(to, sizeof(to), "172.31.%u.", n);
	return retarget(p, "172.31.77.", to);
}

/* A kind built in this namespace (self_host) has its wire on 10.77.<n>.0/24 and its network on
 * 172.31.<n>.0/24 (n: nb_topo_host_net), the instances here side by side. */
static int retarget_host_net(struct nb_plan *p, unsigned n)
{
	char to[16];
	int r;

	p->host_net = (uint8_t)n;
	snprintf(to, sizeof(to), "10.77.%u.", n);
	r = n ? retarget(p, "10.77.0.", to) : 0;
	return r ? r : retarget_subnet(p, n);
}

/* A half's ends: the client is on another host; native and host listen on the address it dialed. */
static int half_ends(struct nb_plan *p, const struct nb_topo_opts *opts, char *err, size_t errlen)
{
	if (p->vm) {
		nb_err(err, errlen, "path '%s' runs a guest: the VM paths are not built for a remote client",
		       p->kind);
		return -EOPNOTSUPP;
	}
	if (!*opts->dial_addr || strchr(opts->dial_addr, ':')) {
		nb_err(err, errlen, "a half of path '%s' wants the IPv4 address its client dialed", p->kind);
		return -EINVAL;
	}
	*p->client_ns = '\0';
	/* a macvlan's container takes an address of the container subnet: the wire is the hosts' network */
	if (!strcmp(p->server_addr, WIRE_CTR)) {
		int r = retarget(p, WIRE_CTR, CTR_ADDR);

		if (r)
			return r;
	}
	if (!strcmp(p->server_addr, WIRE_HOST))
		snprintf(p->server_addr, sizeof(p->server_addr), "%s", opts->dial_addr);
	if (!strcmp(p->dial_addr, WIRE_HOST))
		snprintf(p->dial_addr, sizeof(p->dial_addr), "%s", opts->dial_addr);
	p->half = true;
	p->subnet = opts->subnet ? opts->subnet : 77;
	snprintf(p->half_dial, sizeof(p->half_dial), "%s", opts->dial_addr);
	return retarget_subnet(p, p->subnet);
}

/* The roles whose network namespace is a container's (their Docker step binds it), as bits. */
static unsigned roles_bound(const struct kind_flat *f)
{
	unsigned bound = 0;

	for (size_t i = 0; i < f->nfrags; i++)
		for (size_t j = 0; j < f->frags[i]->n; j++)
			if (f->frags[i]->steps[j].kind == NB_STEP_DOCKER_CTR)
				bound |= 1u << f->frags[i]->steps[j].ns;
	return bound;
}

/* Which part of the kind this plan builds (all of it, a server half, a client half) into b. */
static int builder_opts(struct builder *b, const struct kind_flat *f, const struct nb_topo_opts *opts,
			char *err, size_t errlen)
{
	const char *kind = f->def->name;

	b->half = opts && opts->half;
	b->client_half = opts && opts->client_half;
	b->dial = opts ? opts->dial_addr : NULL;
	b->peer = opts && *opts->peer_addr ? opts->peer_addr : NULL;
	b->self_host = f->self_host;
	b->bound = roles_bound(f);
	b->p->self_host = f->self_host;
	b->p->client_half = b->client_half;
	if ((b->half && !strcmp(kind, "loopback")) || ((b->half || b->client_half) && f->self_host)) {
		nb_err(err, errlen, "path '%s' has no half on another host%s", kind,
		       f->self_host ? ": the Docker engine builds it on one host" : "");
		return -EINVAL;
	}
	if ((b->half && !strcmp(kind, "overlay") && !b->peer) ||
	    (b->client_half && strcmp(kind, "overlay"))) {
		nb_err(err, errlen, "path '%s': %s", kind,
		       b->client_half ? "only an overlay has a client half"
				      : "a half wants its client's address");
		return -EINVAL;
	}
	if (b->half && !strcmp(kind, "macvlan") && !b->peer) {
		nb_err(err, errlen, "path 'macvlan': a half wants its client's address");
		return -EINVAL;
	}
	if (b->half || b->client_half) {
		b->p->subnet = opts->subnet ? opts->subnet : 77;
		snprintf(b->p->half_peer, sizeof(b->p->half_peer), "%s", b->peer ? b->peer : "");
		snprintf(b->p->half_dial, sizeof(b->p->half_dial), "%s", b->dial ? b->dial : "");
	}
	return 0;
}

/* A half's macvlan container reaches its client on the link: a route to the client's address (the
 * client routes the container subnet onto the link the same way). */
static void half_macvlan_route(struct builder *b)
{
	struct nb_step *s = add(b, NB_STEP_ROUTE, R_CTR);

	if (!s)
		return;
	link_name(s->ifname, sizeof(s->ifname), b->p->name, L_MACVLAN);
	snprintf(s->addr, sizeof(s->addr), "%s/32", b->peer);
}

int nb_plan_build(const char *kind, const char *name, const struct nb_topo_opts *opts, const char *cgroot,
		  struct nb_plan *ret, char *err, size_t errlen)
{
	const struct kind_def *k = kind_find(kind);
	uint16_t port = opts && opts->server_port ? opts->server_port : NB_DEFAULT_PORT;
	struct builder b = {.p = ret, .cgroot = cgroot};
	struct kind_flat f;
	unsigned roles;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	if (!k)
		return nb_topo_kind_error(kind, err, errlen);
	r = nb_topo_name_check(name, err, errlen);
	if (r)
		return r;
	snprintf(ret->kind, sizeof(ret->kind), "%s", kind);
	snprintf(ret->name, sizeof(ret->name), "%s", name);
	ret->server_port = port;
	r = wire_opts(ret, opts, err, errlen);
	if (r)
		return r;
	b.publish = opts && opts->publish_port ? opts->publish_port : port;
	flatten(k, &f);
	r = builder_opts(&b, &f, opts, err, errlen);
	if (r)
		return r;
	set_ends(&b, &f, b.publish);
	roles = roles_used(&f);
	for (enum role i = R_REMOTE; i < R_COUNT; i++)
		if (roles & 1u << i)
			add_netns(&b, i);
	for (size_t i = 0; i < f.nfrags && !r; i++) {
		if (i == f.nshared)
			ret->nshared = ret->nsteps;
		for (size_t j = 0; j < f.frags[i]->n && !r; j++)
			r = add_step(&b, &f.frags[i]->steps[j], err, errlen);
	}
	if (f.nfrags == f.nshared)
		ret->nshared = ret->nsteps;
	if (!r && !b.wire && (*ret->wire[0] || ret->wire_rate_bps > 0)) {
		nb_err(err, errlen, "path '%s' has no wire for --wire or --wire-rate", kind);
		r = -EINVAL;
	}
	if (!r && b.half)
		r = half_ends(ret, opts, err, errlen);
	if (!r && b.half && !strcmp(kind, "macvlan"))
		half_macvlan_route(&b);
	if (!r && b.client_half)
		r = retarget_subnet(ret, ret->subnet);
	if (!r && b.self_host)
		r = retarget_host_net(ret, opts ? opts->host_net : 0);
	if (!r && b.overflow) {
		nb_err(err, errlen, "path '%s' has too many steps", kind);
		r = -E2BIG;
	}
	if (r)
		nb_plan_free(ret);
	return r;
}

void nb_plan_free(struct nb_plan *p)
{
	if (p) {
		nb_wire_free(p->wire_saved);
		p->wire_saved = NULL;
	}
	for (size_t i = 0; p && i < p->nsteps; i++) {
		free(p->steps[i].text);
		p->steps[i].text = NULL;
	}
}

bool nb_plan_self_host(const char *kind)
{
	const struct kind_def *k = kind_find(kind);
	struct kind_flat f;

	if (!k)
		return false;
	flatten(k, &f);
	return f.self_host;
}

const char *nb_plan_steps_parent(const char *kind)
{
	const struct kind_def *k = kind_find(kind), *p = k ? steps_parent(k) : NULL;

	return p ? p->name : NULL;
}

enum nb_topo_client_reach nb_topo_kind_client_reach(const char *kind)
{
	const struct kind_def *k = kind_find(kind);

	return k ? k->reach_remote : NB_REACH_ROUTED;
}
