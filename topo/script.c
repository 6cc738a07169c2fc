/* SPDX-License-Identifier: MIT */
/*
 * A plan as a runnable bash script of iproute2 and nft commands: the steps `nbench topo up` applies
 * through netlink, one line (or block) per step. Needs no privileges.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbench/fsutil.h"
#include "tc.h"
#include "topo_int.h"
#include "vm/vm.h"

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

/* The VM steps' text comes from topo/vm/. */
static void script_vm(struct sbuf *b, const struct nb_plan *p, const struct nb_step *s)
{
	char *text = nb_vm_script(p, s->kind);

	if (!text)
		b->failed = true;
	else
		sb_printf(b, "%s", text);
	free(text);
}

static void script_sysctl(struct sbuf *b, const struct nb_step *s)
{
	char key[sizeof(s->key)];

	snprintf(key, sizeof(key), "%s", s->key);
	for (char *c = key; *c; c++)
		if (*c == '.')
			*c = '/';
	sb_printf(b, "%s%s%ssh -c 'echo %s > /proc/sys/%s'\n", *s->ns ? "ip netns exec " : "", s->ns,
		  *s->ns ? " " : "", s->val, key);
}

/* The tbf of --wire-rate, with the bucket and queue nb_tc_tbf_size gives the kernel. */
static void script_qdisc(struct sbuf *b, const struct nb_step *s)
{
	uint32_t burst, limit;

	nb_tc_tbf_size(s->rate_bps, &burst, &limit);
	sb_printf(b, "tc %s%s%sqdisc add dev %s root handle 4e42: tbf rate %.0fbit burst %u limit %u\n",
		  *s->ns ? "-n " : "", s->ns, *s->ns ? " " : "", s->ifname, s->rate_bps, burst, limit);
}

/* Step s as the ip(8) command that makes a link, an address or a route; false when s is not one of those. */
static bool script_ip(struct sbuf *b, const struct nb_step *s)
{
	char n[48], pn[48];

	/* "" is the namespace the script runs in (where the Docker engine and a half build) */
	snprintf(n, sizeof(n), "%s%s%s", *s->ns ? "-n " : "", s->ns, *s->ns ? " " : "");
	snprintf(pn, sizeof(pn), "%s%s", *s->peer_ns ? " netns " : "", s->peer_ns);
	switch (s->kind) {
	case NB_STEP_NETNS:
		sb_printf(b, "ip netns add %s\n", s->ns);
		break;
	case NB_STEP_VETH:
		sb_printf(b, "ip %slink add %s type veth peer name %s%s\n", n, s->ifname, s->peer, pn);
		break;
	case NB_STEP_BRIDGE:
		sb_printf(b, "ip %slink add %s type bridge\n", n, s->ifname);
		break;
	case NB_STEP_MASTER:
		sb_printf(b, "ip %slink set %s master %s\n", n, s->ifname, s->master);
		break;
	case NB_STEP_UP:
		sb_printf(b, "ip %slink set %s up\n", n, s->ifname);
		break;
	case NB_STEP_ADDR:
		sb_printf(b, "ip %saddr add %s dev %s\n", n, s->addr, s->ifname);
		break;
	case NB_STEP_ROUTE:
		if (*s->via)
			sb_printf(b, "ip %sroute add %s via %s dev %s proto %d\n", n, s->addr, s->via,
				  s->ifname, NB_RTPROT);
		else
			sb_printf(b, "ip %sroute add %s dev %s proto %d scope link\n", n, s->addr, s->ifname,
				  NB_RTPROT);
		break;
	case NB_STEP_TAP:
		sb_printf(b, "ip %stuntap add dev %s mode tap %s\n", n, s->ifname,
			  s->tap_mq ? "multi_queue" : "vnet_hdr");
		break;
	case NB_STEP_NIC:
		sb_printf(b, "ip link set %s%s%s name %s\n", s->peer, *s->ns ? " netns " : "", s->ns,
			  s->ifname);
		break;
	case NB_STEP_VXLAN:
		sb_printf(b, "ip %slink add %s type vxlan id %u%s%s%s%s%s%s dstport 4789 mtu %u\n", n,
			  s->ifname, s->vni, *s->addr ? " remote " : "", s->addr, *s->via ? " local " : "",
			  s->via, *s->peer ? " dev " : "", s->peer, s->mtu);
		break;
	case NB_STEP_MACVLAN:
		sb_printf(b, "ip %s%s%slink add %s link %s type macvlan mode bridge netns %s\n",
			  *s->peer_ns ? "-n " : "", s->peer_ns, *s->peer_ns ? " " : "", s->ifname,
			  *s->peer ? s->peer : "\"$IFACE_TO_CLIENT\"", s->ns);
		break;
	default:
		return false;
	}
	return true;
}

static void script_step(struct sbuf *b, const struct nb_plan *p, const struct nb_step *s)
{
	char x[48];

	if (script_ip(b, s))
		return;
	snprintf(x, sizeof(x), "%s%s%s", *s->ns ? "ip netns exec " : "", s->ns, *s->ns ? " " : "");
	switch (s->kind) {
	case NB_STEP_SYSCTL:
		script_sysctl(b, s);
		break;
	case NB_STEP_NFT:
		sb_printf(b, "%snft -f - <<'EOF'\n%sEOF\n", x, s->text);
		break;
	case NB_STEP_CGROUP:
		sb_printf(b, "mkdir %s\n", s->path);
		break;
	case NB_STEP_VHOST_USER:
	case NB_STEP_GUEST:
		script_vm(b, p, s);
		break;
	case NB_STEP_DOCKER_NET:
	case NB_STEP_DOCKER_CTR: {
		char *text = nb_docker_script(s);

		if (!text)
			b->failed = true;
		else
			sb_printf(b, "%s", text);
		free(text);
		break;
	}
	case NB_STEP_QDISC:
		script_qdisc(b, s);
		break;
	default: /* script_ip's */
		break;
	}
}

/* The instance's state file, as `nbench topo up` writes it (topo/state.c), so that `nbench topo show` lists
 * what the script built as an instance (partial until its last step) rather than as orphaned objects, and
 * `nbench topo down NAME` takes it down: before the steps (claiming the name, as up does), and marked
 * complete after them. */
static void script_state(struct sbuf *b, const struct nb_plan *p, bool done)
{
	char file[128];
	char *line = done ? NULL : nb_state_script_line(p);

	nb_state_path(file, sizeof(file), p->name);
	if (done) {
		sb_printf(b, "sed -i 's/\"complete\":false/\"complete\":true/' %s\n", file);
		return;
	}
	if (!line) {
		b->failed = true;
		return;
	}
	sb_printf(b,
		  "# the instance's state file, as nbench topo up writes it: topo show lists it, topo down "
		  "removes it\n"
		  "install -d -m 0700 %s %s\n"
		  "(umask 022 && set -o noclobber && cat > %s) 2>/dev/null <<'NBENCH_STATE' || "
		  "{ echo \"instance %s is in use\" >&2; exit 1; }\n%s\nNBENCH_STATE\n",
		  NB_RUN_DIR, NB_STATE_DIR, file, p->name, line);
	free(line);
}

char *nb_plan_script(const struct nb_plan *p)
{
	struct sbuf b = {0};

	sb_printf(&b, "#!/bin/bash\n");
	sb_printf(&b,
		  "# nbench topo script %s --name %s: the steps `nbench topo up` applies through netlink.\n",
		  p->kind, p->name);
	sb_printf(&b, "# client: netns %s, dials %s:%u\n", *p->client_ns ? p->client_ns : "(this one)",
		  p->dial_addr, p->dial_port);
	sb_printf(&b, "# server: netns %s%s, listens on %s:%u\n", *p->server_ns ? p->server_ns : "(this one)",
		  p->sandbox ? " (own mount/pid/uts namespaces and cgroup)" : "", p->server_addr,
		  p->server_port);
	if (p->self_host && !p->host_net)
		sb_printf(&b,
			  "# built in this namespace, the Docker engine's: topo up takes 10.77.N.0/24 and "
			  "172.31.N.0/24 for an N nothing here uses (shown as 10.77.0 and 172.31.77)\n");
	sb_printf(&b, "# remove: nbench topo down %s, or:", p->name);
	for (size_t i = 0; i < p->nns; i++)
		sb_printf(&b, " ip netns del %s;", p->ns[i]);
	if (*p->cgroup)
		sb_printf(&b, " rmdir %s;", p->cgroup);
	if (*p->wire[0])
		sb_printf(&b,
			  "\n# --wire: nbench topo up records %s and %s first and its teardown moves them "
			  "back and restores "
			  "them;\n# this script does not: ip -n NS link set nb-%s-h|r netns 1 name %s|%s, "
			  "then their settings",
			  p->wire[0], p->wire[1], p->name, p->wire[0], p->wire[1]);
	sb_printf(&b, "\nset -euo pipefail\n");
	script_state(&b, p, false);
	for (size_t i = 0; i < p->nsteps; i++)
		script_step(&b, p, &p->steps[i]);
	script_state(&b, p, true);
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
