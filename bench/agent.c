/* SPDX-License-Identifier: MIT */
/*
 * `nbench serve --paths` (agent.h): the agent that builds the server half of a path on this host for an
 * authenticated remote client.
 *
 * A half is a path instance (nb_topo_opts.half) with a responder of its own, started with the agent's key
 * and within the limits the agent's responder gives it (nb_half_limits: its share of the memory budget, the
 * agent's --max-sessions and --idle-timeout): the client's tests go to it, at the address and port of the
 * grant. Builds are one at a time, so two halves never pick the same subnet or port.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_int.h"
#include "nbench/agent.h"
#include "nbench/clock.h"
#include "nbench/engine.h"
#include "nbench/nic.h"
#include "nbench/proto.h"
#include "nbench/topo.h"

static pthread_mutex_t build_mu = PTHREAD_MUTEX_INITIALIZER;

/* A port free for both TCP and UDP on addr (the responder takes both), or 0. */
static uint16_t free_port(const char *addr)
{
	for (int i = 0; i < 32; i++) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		socklen_t sl = sizeof(sa);
		int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
		    u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		uint16_t port = 0;

		inet_pton(AF_INET, addr, &sa.sin_addr);
		if (t >= 0 && u >= 0 && !bind(t, (struct sockaddr *)&sa, sizeof(sa)) &&
		    !getsockname(t, (struct sockaddr *)&sa, &sl) &&
		    !bind(u, (struct sockaddr *)&sa, sizeof(sa)))
			port = ntohs(sa.sin_port);
		if (t >= 0)
			close(t);
		if (u >= 0)
			close(u);
		if (port)
			return port;
	}
	return 0;
}

/* The interfaces the half's responder reports (--nic [NETNS:]IF): this host's by which the client's
 * traffic comes in (the route to peer), then the half's own (bridge, veth ends). Those of the agent's network
 * namespace are named by its /proc path when the responder runs in another. Returns how many of max. */
static unsigned half_nics(struct nb_topo *t, const char *peer, char (*args)[96], unsigned max)
{
	struct nb_nic_ref refs[NB_RESULT_MAX_IFACES] = {0};
	unsigned n = !nb_nic_route_iface(peer, refs[0].ifname, sizeof(refs[0].ifname));
	char self[32] = "";

	if (nb_topo_server_netns(t)[0])
		snprintf(self, sizeof(self), "/proc/%d/ns/net", (int)getpid());
	n += nb_topo_interfaces(t, refs + n, NB_RESULT_MAX_IFACES - n);
	n = n < max ? n : max;
	for (unsigned i = 0; i < n; i++) {
		const struct nb_nic_ref *f = &refs[i];
		snprintf(args[i], sizeof(args[i]), "%.63s:%.15s", f->netns[0] ? f->netns : self, f->ifname);
	}
	return n;
}

/* The half's limits as its responder's option values: --max-mem B,B (its share, in all and per test),
 * --max-sessions, --idle-timeout. */
struct half_args {
	char mem[48], sessions[16], idle[32];
};

static void half_args(const struct nb_half_limits *lim, struct half_args *ret)
{
	snprintf(ret->mem, sizeof(ret->mem), "%llu,%llu", (unsigned long long)lim->max_mem_bytes,
		 (unsigned long long)lim->max_mem_bytes);
	snprintf(ret->sessions, sizeof(ret->sessions), "%u", lim->max_sessions);
	snprintf(ret->idle, sizeof(ret->idle), "%lldns", (long long)lim->idle_timeout_ns);
}

/* The half's own responder, keyed like the agent and within lim, in the half's server end, reporting the
 * half's interfaces. */
static int start_responder(struct nb_agent *ag, struct nb_topo *t, const char *peer,
			   const struct nb_half_limits *lim, char *err, size_t errlen)
{
	char nics[NB_RESULT_MAX_IFACES][96];
	struct half_args la;
	half_args(lim, &la);
	char *extra[6 + 2 * NB_RESULT_MAX_IFACES] = {"--max-mem", la.mem,	    "--max-sessions",
						     la.sessions, "--idle-timeout", la.idle};
	unsigned k = 6;
	for (unsigned i = 0, nn = half_nics(t, peer, nics, NB_RESULT_MAX_IFACES); i < nn; i++) {
		extra[k++] = "--nic";
		extra[k++] = nics[i];
	}
	pid_t pid = nb_target_spawn(t, NULL, ag->key_file, extra, k);
	/* a container on a macvlan or an overlay is not reachable from its own host: asked from inside */
	int r = pid < 0 ? (int)pid
		: nb_topo_kind_client_reach(nb_topo_kind(t)) != NB_REACH_ROUTED
		    ? nb_topo_wait_server(t, 10 * NB_NS_PER_S)
		    : nb_target_wait_listening(nb_topo_dial_addr(t), nb_topo_dial_port(t), 10 * NB_NS_PER_S,
					       NULL);

	if (r < 0)
		snprintf(err, errlen, "its responder did not come up: %s", strerror(-r));
	return r;
}

static int build_half(struct nb_agent *ag, const char *kind, const char *local, const char *peer,
		      const struct nb_half_limits *lim, struct nb_topo **ret, char *err, size_t errlen)
{
	struct nb_topo_opts o = {.half = true};
	int r;

	if ((r = nb_topo_half_subnet(&o.subnet, err, errlen)) < 0)
		return r;
	snprintf(o.dial_addr, sizeof(o.dial_addr), "%s", local);
	snprintf(o.peer_addr, sizeof(o.peer_addr), "%s",
		 peer); /* an overlay's tunnel, a macvlan's route back */
	o.server_port = o.publish_port = free_port(local);
	if (!o.server_port) {
		snprintf(err, errlen, "no free port on %s", local);
		return -EADDRINUSE;
	}
	if ((r = nb_topo_up_ex(kind, NULL, &o, ret, err, errlen)) < 0)
		return r;
	if ((r = start_responder(ag, *ret, peer, lim, err, errlen)) < 0) {
		nb_topo_down(*ret, true);
		*ret = NULL;
	}
	return r;
}

/* The native half: the agent's own responder, as it is. */
static void native_grant(struct nb_agent *ag, const char *local, struct nb_path_grant *g)
{
	snprintf(g->dial_addr, sizeof(g->dial_addr), "%s", local);
	g->dial_port = ag->port;
	snprintf(g->path_json, sizeof(g->path_json),
		 "{\"kind\":\"native\",\"remote\":true,\"server\":{\"addr\":\"%s\",\"port\":%u}}", local,
		 ag->port);
}

static int agent_build(void *arg, const char *kind, const char *local, const char *peer,
		       const struct nb_half_limits *lim, void **ret_half, struct nb_path_grant *g, char *err,
		       size_t errlen)
{
	struct nb_agent *ag = arg;
	struct nb_topo *t = NULL;
	int r;

	if (!nb_topo_kind_valid(kind)) {
		snprintf(err, errlen, "unknown path kind");
		return -EINVAL;
	}
	snprintf(g->kind, sizeof(g->kind), "%s", kind);
	if (!strcmp(kind, "native")) {
		native_grant(ag, local, g);
		*ret_half = ag; /* nothing to tear down */
		return 0;
	}
	pthread_mutex_lock(&build_mu);
	r = build_half(ag, kind, local, peer, lim, &t, err, errlen);
	pthread_mutex_unlock(&build_mu);
	if (r < 0)
		return r;
	snprintf(g->name, sizeof(g->name), "%s", nb_topo_name(t));
	snprintf(g->dial_addr, sizeof(g->dial_addr), "%s", nb_topo_dial_addr(t));
	g->dial_port = nb_topo_dial_port(t);
	if (strcmp(g->dial_addr, local)) { /* routed to the container: the client's half is that route */
		struct in_addr a;
		inet_pton(AF_INET, g->dial_addr, &a);
		a.s_addr &= htonl(0xffffff00u);
		char net[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &a, net, sizeof(net));
		snprintf(g->route_net, sizeof(g->route_net), "%s/24", net);
	}
	char *desc = nb_topo_describe_json(t);
	snprintf(g->path_json, sizeof(g->path_json), "%s",
		 desc && strlen(desc) < sizeof(g->path_json) ? desc : "{}");
	free(desc);
	*ret_half = t;
	return 0;
}

static void agent_teardown(void *arg, void *half)
{
	if (half == arg)
		return;
	pthread_mutex_lock(&build_mu); /* the halves' shared sysctls: one build or teardown at a time */
	nb_topo_down(half, true);
	pthread_mutex_unlock(&build_mu);
}

void nb_agent_ops(struct nb_agent *ag, struct nb_path_ops *ret)
{
	*ret = (struct nb_path_ops){.build = agent_build, .teardown = agent_teardown, .arg = ag};
}
